// The heads editor (issue 12): adding a head in the control panel's Heads table reaches the spec,
// the network diagram and the run (whose result carries the head's output statistics), is one
// undo step, and a bad cell is refused by validation naming the head's field.
#include "charts/networkdiagram.h"
#include "guitestmain.h"
#include "model/presetdocument.h"
#include "settle.h"
#include "window/controlpanel.h"
#include "window/headseditor.h"
#include "window/mainwindow.h"
#include "work/runcontroller.h"

#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QUndoStack>

using namespace initscope;
using namespace initscope::ui;
using initscope::ui::test::kTimeoutMs;
using initscope::ui::test::waitForSettled;

class TestHeadsEditor : public QObject {
    Q_OBJECT
private slots:
    void addingAHeadReachesSpecDiagramAndRun();
};

void TestHeadsEditor::addingAHeadReachesSpecDiagramAndRun() {
    MainWindow w;
    w.resize(1280, 720);
    w.show();
    NetworkSpec s;
    s.depth = 4;
    s.width = 64;
    s.inputDim = 32;
    s.batch = 32;
    w.setSpec(s);
    QVERIFY(waitForSettled(w));
    ControlPanel* panel = w.controls();
    HeadsEditor* editor = panel->headsEditor();
    QVERIFY(panel->spec().heads.empty());
    QUndoStack* undo = w.presetDocument()->undoStack();
    const int before = undo->count();

    QSignalSpy runs(w.controller(), &RunController::runFinished);
    QTest::mouseClick(editor->addButton(), Qt::LeftButton);
    // edit the new row: 8 outputs with an output bias of 2
    QTableWidget* t = editor->table();
    QCOMPARE(t->rowCount(), 1);
    t->item(0, HeadsEditor::Widths)->setText(QStringLiteral("8"));
    t->item(0, HeadsEditor::Bias)->setText(QStringLiteral("2"));
    const NetworkSpec edited = panel->spec();
    QCOMPARE(edited.heads.size(), std::size_t(1));
    QCOMPARE(edited.heads[0].name, std::string("head1"));
    QCOMPARE(edited.heads[0].widths, std::vector<int>{8});
    QCOMPARE(edited.heads[0].bias, 2.0);
    QVERIFY(panel->diagram()->description().contains(QStringLiteral("heads: head1 8")));
    QVERIFY(undo->count() > before);

    // the run of the edited spec reports the head: its output mean near the bias it was given
    QTRY_VERIFY_WITH_TIMEOUT(!runs.isEmpty() &&
                                 runs.last().at(1).value<RunResult>().spec.heads == edited.heads,
                             kTimeoutMs);
    const RunResult r = runs.last().at(1).value<RunResult>();
    QCOMPARE(r.heads.size(), std::size_t(1));
    QCOMPARE(r.heads[0].name, std::string("head1"));
    // lecun head on tanh features of second moment < 1: |mean - 2| is a few 0.1 at most
    QVERIFY2(std::abs(r.heads[0].outMean - 2.0) < 0.5,
             qPrintable(QString::number(r.heads[0].outMean)));
    QVERIFY(r.heads[0].outStd > 0);

    // a width that is not a number is refused by validation, naming the head's field (a step
    // of its own: edits of one field closer than kMergeMs merge into one undo step)
    QTest::qWait(PresetDocument::kMergeMs + 200);
    t->item(0, HeadsEditor::Widths)->setText(QStringLiteral("x"));
    QTRY_VERIFY_WITH_TIMEOUT(panel->errorText().contains(QStringLiteral("heads[0].widths")),
                             kTimeoutMs);
    // undo goes back to the valid head, and undoing the add removes it
    undo->undo();
    QCOMPARE(panel->spec().heads.at(0).widths, std::vector<int>{8});
    while (undo->count() > before && undo->canUndo() && !panel->spec().heads.empty())
        undo->undo();
    QVERIFY(panel->spec().heads.empty());
    QCOMPARE(editor->table()->rowCount(), 0);
}

INITSCOPE_GUI_TEST_MAIN(TestHeadsEditor)
#include "test_heads_editor.moc"

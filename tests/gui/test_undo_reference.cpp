// The settings' undo history and the A/B reference run (issue 10): every change of the settings
// is one undo step holding the whole spec (a drag is one step), undo restores the controls and
// reruns, the title's modified mark follows the saved state, a preset load undoes as one step;
// a pinned run is drawn faded on every layer chart, labelled with what differs, over its own
// layers, and exports (figure and CSV) keep it.
#include "charts/layercharts.h"
#include "export/exportdialog.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "model/presetdocument.h"
#include "model/presetio.h"
#include "settle.h"
#include "spec/preset.h"
#include "spec/spec.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"

#include <QAction>
#include <QComboBox>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QLineSeries>
#include <QPushButton>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QValueAxis>

#include <cmath>

using namespace initscope;
using namespace initscope::ui;

namespace {
using test::waitForSettled;

NetworkSpec tanhSpec() {
    NetworkSpec s = test::windowTestSpec();
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.gain = 1.0;
    return s;
}

/// A window showing `spec`, settled, with an empty undo history.
void start(MainWindow& w, const NetworkSpec& spec) {
    w.presetDocument()->setDialogsEnabled(false);
    w.resize(1280, 720);
    w.setSpec(spec);
    w.presetDocument()->clearHistory();
    w.show();
    QVERIFY(waitForSettled(w));
}

QAction* action(MainWindow& w, const char* name) {
    return w.findChild<QAction*>(QLatin1String(name));
}

QString readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

/// The measured q of every layer of the run shown (what a pinned reference must redraw).
std::vector<double> shownQ(const MainWindow& w) {
    std::vector<double> q;
    for (const LayerStats& s : w.figureData().layers)
        q.push_back(s.q);
    return q;
}

void compareCurve(const QList<QPointF>& points, const std::vector<double>& values) {
    QCOMPARE(points.size(), static_cast<qsizetype>(values.size()));
    for (qsizetype i = 0; i < points.size(); ++i) {
        QCOMPARE(points[i].x(), static_cast<double>(i + 1));
        QCOMPARE(points[i].y(), values[static_cast<std::size_t>(i)]); // the same doubles
    }
}

/// With INITSCOPE_TEST_SHOTS=<dir>, saves what the window looks like.
void shot(QWidget& w, const QString& name) {
    const QString dir = qEnvironmentVariable("INITSCOPE_TEST_SHOTS");
    if (dir.isEmpty())
        return;
    QCoreApplication::processEvents();
    w.grab().save(dir + QLatin1Char('/') + name + QStringLiteral(".png"));
}
} // namespace

class TestUndoReference : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // keep the user's settings (recent files) out of the test
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("initscope-test"));
        QCoreApplication::setApplicationName(QStringLiteral("initscope-test"));
    }

    // Two edits are two steps; undo restores the whole spec in the controls and runs it, without
    // a new step; redo goes forward again; Edit > Undo names the field and the change; the
    // actions are enabled only when there is something to undo or redo.
    void undoRedoRestoresSpecAndControls() {
        MainWindow w;
        start(w, tanhSpec());
        QUndoStack* stack = w.presetDocument()->undoStack();
        QAction* undo = action(w, "undoAction");
        QAction* redo = action(w, "redoAction");
        QVERIFY(undo && redo);
        QVERIFY(!undo->isEnabled());
        QVERIFY(!redo->isEnabled());
        const NetworkSpec a = w.controls()->spec();
        w.controls()->gainControl()->spinBox()->setValue(1.5);
        const NetworkSpec b = w.controls()->spec();
        QCOMPARE(b.gain, 1.5);
        w.controls()->depthControl()->spinBox()->setValue(30);
        const NetworkSpec c = w.controls()->spec();
        QCOMPARE(stack->count(), 2);
        QVERIFY(undo->isEnabled());
        QCOMPARE(undo->text(), QStringLiteral("&Undo depth 20 \u2192 30"));
        QVERIFY(waitForSettled(w));

        undo->trigger();
        QCOMPARE(w.controls()->spec(), b);
        QCOMPARE(w.controls()->depthControl()->value(), 20);
        QCOMPARE(w.controls()->gainControl()->value(), 1.5);
        QCOMPARE(undo->text(), QStringLiteral("&Undo gain 1 \u2192 1.5"));
        QCOMPARE(redo->text(), QStringLiteral("&Redo depth 20 \u2192 30"));
        QVERIFY(waitForSettled(w)); // it reran: the charts show the restored spec
        QCOMPARE(w.displayedSpec(), b);
        undo->trigger();
        QCOMPARE(w.controls()->spec(), a);
        QVERIFY(!undo->isEnabled());
        QCOMPARE(stack->count(), 2); // undo itself recorded nothing
        QCOMPARE(stack->index(), 0);
        QVERIFY(waitForSettled(w));
        QCOMPARE(w.displayedSpec(), a);

        redo->trigger();
        redo->trigger();
        QCOMPARE(w.controls()->spec(), c);
        QVERIFY(!redo->isEnabled());
        QCOMPARE(stack->count(), 2);
        // a new change after an undo drops the steps after it
        undo->trigger();
        w.controls()->activationCombo()->setCurrentIndex(
            w.controls()->activationCombo()->findText(QStringLiteral("relu")));
        QCOMPARE(stack->count(), 2);
        QVERIFY(!redo->isEnabled());
        QCOMPARE(undo->text(), QStringLiteral("&Undo activation tanh \u2192 relu"));
        QVERIFY(waitForSettled(w));
    }

    // The keys: Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo, also while a number box has the
    // focus (it has no typing of its own to undo).
    void shortcutsUndoAndRedo() {
        MainWindow w;
        start(w, tanhSpec());
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w)); // window shortcuts need the active window
        FieldSpinBox* gain = w.controls()->gainControl()->spinBox();
        gain->setValue(2.0);
        gain->setFocus();
        QTRY_VERIFY(gain->hasFocus());
        QTest::keyClick(gain, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(w.controls()->spec().gain, 1.0);
        QTest::keyClick(gain, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(w.controls()->spec().gain, 2.0);
        QTest::keyClick(gain, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(w.controls()->spec().gain, 1.0);
        QTest::keyClick(gain, Qt::Key_Y, Qt::ControlModifier);
        QCOMPARE(w.controls()->spec().gain, 2.0);
        // while typed text waits for Enter, Ctrl+Z is the box's own: it undoes the typing
        QUndoStack* stack = w.presetDocument()->undoStack();
        const int index = stack->index();
        QTest::keyClick(gain, Qt::Key_End);
        QTest::keyClicks(gain, QStringLiteral("5"));
        QCOMPARE(gain->text(), QStringLiteral("25"));
        QTest::keyClick(gain, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(gain->text(), QStringLiteral("2"));
        QCOMPARE(stack->index(), index);
        QTest::keyClick(gain, Qt::Key_Return);
        QCOMPARE(w.controls()->spec().gain, 2.0);
        QTest::keyClick(gain, Qt::Key_Z, Qt::ControlModifier); // applied: the settings' again
        QCOMPARE(w.controls()->spec().gain, 1.0);
        QVERIFY(waitForSettled(w));
    }

    // A slider drag is one step however long it takes; changes of one field more than kMergeMs
    // apart are two; a gain button is a step of its own; a drag back to the start is none.
    void dragIsOneStep() {
        MainWindow w;
        start(w, tanhSpec());
        QUndoStack* stack = w.presetDocument()->undoStack();
        GainControl* gain = w.controls()->gainControl();
        QSlider* slider = gain->slider();
        // a drag that ends where it began (gain 1) leaves no step
        QCOMPARE(stack->count(), 0);
        const int count = stack->count();
        const int at = slider->value();
        slider->setSliderDown(true);
        slider->setValue(at + 50);
        slider->setValue(at);
        slider->setSliderDown(false);
        QCOMPARE(stack->count(), count);
        const int start0 = slider->value();
        slider->setSliderDown(true);
        for (int step = 1; step <= 40; ++step) {
            slider->setValue(start0 + 7 * step);
            if (step == 20)
                QTest::qWait(PresetDocument::kMergeMs + 200); // a slow drag is still one drag
        }
        slider->setSliderDown(false);
        QCOMPARE(stack->count(), 1);
        const double dragged = w.controls()->spec().gain;
        QVERIFY(dragged > 1.5);
        QVERIFY(stack->undoText().startsWith(QStringLiteral("gain 1 \u2192 ")));
        stack->undo();
        QCOMPARE(w.controls()->spec().gain, 1.0);
        QCOMPARE(slider->value(), start0);
        stack->redo();
        QCOMPARE(w.controls()->spec().gain, dragged);

        // the same field again, after a pause: a step of its own
        QTest::qWait(PresetDocument::kMergeMs + 200);
        gain->spinBox()->setValue(0.5);
        QCOMPARE(stack->count(), 2);
        // a gain button right after: its own step, named after the button
        auto* critical = w.controls()->findChild<QPushButton*>(QStringLiteral("criticalButton"));
        QVERIFY(critical);
        critical->click();
        QCOMPARE(stack->count(), 3);
        QVERIFY2(stack->undoText().endsWith(QStringLiteral("(critical)")),
                 qPrintable(stack->undoText()));
        stack->undo();
        QCOMPARE(w.controls()->spec().gain, 0.5);
        stack->redo();

        QVERIFY(waitForSettled(w));
    }

    // The title's modified mark follows the saved state: set by an edit, cleared by undoing
    // back to the saved spec, set again by redo; a save is the new clean state.
    void titleMarkFollowsCleanState() {
        QTemporaryDir dir;
        MainWindow w;
        start(w, tanhSpec());
        PresetDocument* doc = w.presetDocument();
        const QString path = dir.filePath(QStringLiteral("lecture.json"));
        QVERIFY2(doc->saveAs(path), qPrintable(doc->lastError()));
        QVERIFY(!w.isWindowModified());
        QVERIFY(w.windowTitle().contains(QStringLiteral("lecture.json[*]")));
        w.controls()->gainControl()->spinBox()->setValue(1.76);
        QVERIFY(w.isWindowModified());
        doc->undoStack()->undo();
        QVERIFY(doc->undoStack()->isClean());
        QVERIFY(!w.isWindowModified());
        doc->undoStack()->redo();
        QVERIFY(w.isWindowModified());
        QVERIFY(doc->save());
        QVERIFY(!w.isWindowModified());
        doc->undoStack()->undo(); // before the save: modified against the file
        QVERIFY(w.isWindowModified());
        QVERIFY(waitForSettled(w));
    }

    // Loading a preset is one undo step: undo brings back the spec, the file, the title and its
    // saved state; redo loads it again.
    void undoPresetLoad() {
        QTemporaryDir dir;
        MainWindow w;
        start(w, tanhSpec());
        PresetDocument* doc = w.presetDocument();
        const QString a = dir.filePath(QStringLiteral("a.json"));
        QVERIFY(doc->saveAs(a));
        const NetworkSpec specA = w.controls()->spec();
        const QString titleA = w.windowTitle();

        Preset other;
        other.name = "other";
        other.title = "Other experiment";
        other.view = "correlation";
        other.spec = test::windowTestSpec();
        other.spec.activation = ActivationKind::Relu;
        other.spec.init = InitScheme::HeNormal;
        other.spec.depth = 12;
        const QString b = dir.filePath(QStringLiteral("b.json"));
        QString error;
        QVERIFY2(savePreset(other, b, &error), qPrintable(error));
        const int before = doc->undoStack()->count();
        QVERIFY2(doc->openFile(b), qPrintable(doc->lastError()));
        QCOMPARE(doc->undoStack()->count(), before + 1); // the load, not one step per field
        QCOMPARE(w.controls()->spec(), other.spec);
        QVERIFY(w.windowTitle().contains(QStringLiteral("b.json")));
        QVERIFY(!w.isWindowModified());
        QCOMPARE(doc->undoStack()->undoText(), QStringLiteral("open b.json"));

        doc->undoStack()->undo();
        QCOMPARE(w.controls()->spec(), specA);
        QCOMPARE(w.controls()->depthControl()->value(), specA.depth);
        QCOMPARE(w.windowTitle(), titleA);
        QCOMPARE(doc->currentFile(), QFileInfo(a).absoluteFilePath());
        QVERIFY(!w.isWindowModified()); // a.json's saved spec again
        QVERIFY(waitForSettled(w));
        QCOMPARE(w.displayedSpec(), specA);

        doc->undoStack()->redo();
        QCOMPARE(w.controls()->spec(), other.spec);
        QCOMPARE(doc->currentFile(), QFileInfo(b).absoluteFilePath());
        QVERIFY(!w.isWindowModified());
        QVERIFY(waitForSettled(w));
    }

    // Pin tanh at gain 1, change the gain to 1.76: the signal chart draws the pinned run's q
    // per layer (the same values) beside the new run's, labelled with what differs; so do the
    // gradient, correlation and statistic charts; the CSV and SVG exports keep it; clearing
    // removes it (and the CSV's reference column).
    void pinnedReferenceOverlay() {
        QTemporaryDir dir;
        MainWindow w;
        start(w, tanhSpec());
        QAction* pin = w.pinAction();
        QAction* clear = w.clearReferenceAction();
        QVERIFY(pin->isEnabled());
        QVERIFY(!clear->isEnabled());
        const std::vector<double> pinnedQ = shownQ(w);
        std::vector<double> pinnedC, pinnedG;
        for (const LayerStats& s : w.figureData().layers) {
            pinnedC.push_back(s.correlation);
            pinnedG.push_back(s.gradH2);
        }
        pin->trigger();
        QVERIFY(w.reference());
        QVERIFY(clear->isEnabled());
        LayerChart* signal = w.signalChart();
        const int ref = signal->seriesIndex(QStringLiteral("q_reference"));
        QVERIFY(ref >= 0);
        compareCurve(signal->points(ref), pinnedQ);
        QCOMPARE(signal->series(ref)->name(), QStringLiteral("reference: same settings"));

        w.controls()->gainControl()->spinBox()->setValue(1.76);
        QVERIFY(waitForSettled(w));
        QVERIFY(w.reference()); // survives the change
        QCOMPARE(signal->series(ref)->name(), QStringLiteral("reference: gain 1 (now 1.76)"));
        compareCurve(signal->points(ref), pinnedQ);
        // the measured curve is the new run's, and differs (q grows with the gain)
        const QList<QPointF> now = signal->points(0);
        QCOMPARE(now.size(), static_cast<qsizetype>(pinnedQ.size()));
        QVERIFY(now.back().y() > 1.5 * pinnedQ.back());
        // in the legend, faded (lighter, thinner) and solid, unlike the dashed prediction
        const QPen refPen = signal->series(ref)->pen();
        const QPen measuredPen = signal->series(0)->pen();
        QVERIFY(refPen.widthF() < measuredPen.widthF());
        QCOMPARE(refPen.style(), Qt::SolidLine);
        QVERIFY(refPen.color().lightness() > measuredPen.color().lightness());
        shot(w, QStringLiteral("reference-signal"));

        // every layer chart
        w.syncAllViews();
        LayerChart* corr = w.correlationChart();
        compareCurve(corr->points(corr->seriesIndex(QStringLiteral("correlation_reference"))),
                     pinnedC);
        LayerChart* grad = w.gradientChart();
        const int gref = grad->seriesIndex(QStringLiteral("grad_h2_reference"));
        compareCurve(grad->points(gref), pinnedG);
        QCOMPARE(grad->series(gref)->name(), QStringLiteral("reference: gain 1 (now 1.76)"));
        QVERIFY(w.showView(QStringLiteral("gradients")));
        shot(w, QStringLiteral("reference-gradients"));
        QVERIFY(w.showView(QStringLiteral("statistic")));
        QVERIFY(w.showStatistic(QStringLiteral("q")));
        QVERIFY(waitForSettled(w));
        compareCurve(w.statisticChart()->points(
                         w.statisticChart()->seriesIndex(QStringLiteral("q_reference"))),
                     pinnedQ);
        QVERIFY(w.showStatistic(QStringLiteral("dead_fraction")));
        QVERIFY(w.statisticChart()->showsReference());

        // exports keep both runs
        QVERIFY(w.showView(QStringLiteral("signal")));
        const QString csv = dir.filePath(QStringLiteral("signal.csv"));
        QString error;
        QVERIFY2(w.exportView(csv, &error), qPrintable(error));
        const QStringList lines = readAll(csv).trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.value(0), QStringLiteral("layer,q,q_predicted,q_reference"));
        QCOMPARE(lines.size(), static_cast<qsizetype>(pinnedQ.size()) + 1);
        for (std::size_t l = 0; l < pinnedQ.size(); ++l)
            QCOMPARE(
                lines[static_cast<qsizetype>(l) + 1].split(QLatin1Char(',')).value(3).toDouble(),
                pinnedQ[l]);
        const QString svg = dir.filePath(QStringLiteral("signal.svg"));
        QVERIFY2(w.exportView(svg, &error), qPrintable(error));
        const QString svgText = readAll(svg);
        QVERIFY2(svgText.contains(QStringLiteral("reference: gain 1 (now 1.76)")),
                 "the SVG's legend names the reference");
        // a lecture export of every view the window can name
        ExportRequest request;
        request.view = QStringLiteral("signal");
        request.path = dir.filePath(QStringLiteral("lecture.svg"));
        QVERIFY2(w.exportFigures(request, &error), qPrintable(error));
        QVERIFY(readAll(request.path).contains(QStringLiteral("reference: gain 1")));
        if (const QString shots = qEnvironmentVariable("INITSCOPE_TEST_SHOTS"); !shots.isEmpty()) {
            request.path = shots + QStringLiteral("/reference-lecture.png");
            QVERIFY2(w.exportFigures(request, &error), qPrintable(error));
        }

        clear->trigger();
        QVERIFY(!w.reference());
        QVERIFY(!clear->isEnabled());
        QVERIFY(signal->points(ref).isEmpty());
        QVERIFY(!signal->showsReference());
        QVERIFY2(w.exportView(csv, &error), qPrintable(error));
        QCOMPARE(readAll(csv).section(QLatin1Char('\n'), 0, 0),
                 QStringLiteral("layer,q,q_predicted")); // the CLI's schema again
    }

    // A reference of another depth is drawn over its own layers and the axis covers both; the
    // label names every differing field up to two, then an ellipsis.
    void referenceOfAnotherDepth() {
        MainWindow w;
        start(w, tanhSpec());
        const std::vector<double> pinnedQ = shownQ(w);
        QVERIFY(w.pinReference());
        NetworkSpec shallow = w.controls()->spec();
        shallow.depth = 8;
        w.setSpec(shallow);
        QVERIFY(waitForSettled(w));
        LayerChart* signal = w.signalChart();
        const int ref = signal->seriesIndex(QStringLiteral("q_reference"));
        compareCurve(signal->points(ref), pinnedQ); // all 20 layers
        QCOMPARE(signal->points(0).size(), 8);
        auto* x = qobject_cast<QValueAxis*>(signal->chart()->axes(Qt::Horizontal).value(0));
        QVERIFY(x);
        QVERIFY(x->max() >= 20);
        QCOMPARE(signal->series(ref)->name(), QStringLiteral("reference: depth 20 (now 8)"));

        NetworkSpec more = shallow;
        more.gain = 2.0;
        more.seed = 7;
        w.setSpec(more);
        QVERIFY(waitForSettled(w));
        QCOMPARE(signal->series(ref)->name(),
                 QStringLiteral("reference: depth 20 (now 8), gain 1 (now 2), \u2026"));
        // it stays through a preset load too (A/B of two presets)
        w.presetDocument()->applyPreset(*findBundledPreset("he-relu"));
        QVERIFY(waitForSettled(w));
        QVERIFY(w.reference());
        w.syncAllViews();
        QVERIFY(signal->showsReference());
    }

    // Nothing is pinned before a run has finished.
    void pinNeedsFinishedRun() {
        MainWindow w;
        w.presetDocument()->setDialogsEnabled(false);
        // no event loop has run: nothing is shown yet
        QVERIFY(!w.pinAction()->isEnabled());
        QVERIFY(!w.pinReference());
        QVERIFY(!w.reference());
        w.setSpec(tanhSpec());
        QVERIFY(waitForSettled(w));
        QTRY_VERIFY(w.pinAction()->isEnabled());
        QVERIFY(w.pinReference());
    }
};

INITSCOPE_GUI_TEST_MAIN(TestUndoReference)
#include "test_undo_reference.moc"

// The data chooser of the control panel sets the spec's data, standardize and input_dim and
// disables what real data makes meaningless; the Inputs view shows the first inputs of the
// batch as the network sees them (images for Fashion-MNIST, a heatmap otherwise).
#include "core/data.h"
#include "guitestmain.h"
#include "views/inputsview.h"
#include "window/controlpanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>

using namespace initscope;
using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 60000; // the first Fashion-MNIST load on a loaded 2-core machine
bool havePackage() {
    return std::filesystem::exists(std::filesystem::path(kFashionMnistDir) /
                                   "train-images-idx3-ubyte.gz");
}
} // namespace

class TestInputs : public QObject {
    Q_OBJECT
private slots:
    void chooserSetsFashionMnist() {
        if (!havePackage())
            QSKIP("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        ControlPanel p;
        QSignalSpy edited(&p, &ControlPanel::specEdited);
        QComboBox* data = p.dataCombo();
        QVERIFY2(!p.standardizeBox()->isEnabled(), "standardize needs real data");
        QVERIFY(p.fieldControl(QStringLiteral("input_mean"))->isEnabled());
        data->setCurrentIndex(data->findData(QStringLiteral("fashion-mnist")));
        QCOMPARE(edited.count(), 1);
        NetworkSpec s = p.spec();
        QCOMPARE(s.data, std::string("fashion-mnist"));
        QCOMPARE(s.inputDim, kFashionMnistDim);
        QVERIFY(s.standardize);
        QVERIFY(validate(s).empty());
        QVERIFY(p.standardizeBox()->isEnabled());
        QVERIFY(!p.fieldControl(QStringLiteral("input_dim"))->isEnabled());
        QVERIFY(!p.fieldControl(QStringLiteral("input_mean"))->isEnabled());
        p.standardizeBox()->setChecked(false);
        QVERIFY(!p.spec().standardize);
        // back to gaussian: standardize disabled again, and the spec valid (its default)
        data->setCurrentIndex(data->findData(QStringLiteral("gaussian")));
        s = p.spec();
        QCOMPARE(s.data, std::string("gaussian"));
        QVERIFY(!p.standardizeBox()->isEnabled());
        // a spec with real data shows in the controls and reads back unchanged
        NetworkSpec f;
        f.data = "fashion-mnist";
        f.inputDim = kFashionMnistDim;
        f.standardize = false;
        p.setSpec(f);
        QCOMPARE(p.spec(), f);
        QCOMPARE(data->currentData().toString(), QStringLiteral("fashion-mnist"));
    }

    void chooserTakesACsvFileAndRefusesABadOne() {
        QTemporaryDir dir;
        const QString good = dir.filePath(QStringLiteral("three.csv"));
        QFile g(good);
        QVERIFY(g.open(QIODevice::WriteOnly));
        g.write("x,y,z\n1,2,3\n4,5,6\n");
        g.close();
        ControlPanel p;
        QSignalSpy read(&p, &ControlPanel::csvFileRead);
        p.chooseCsvFile(good); // read on the panel's worker thread
        QTRY_COMPARE_WITH_TIMEOUT(read.count(), 1, kTimeoutMs);
        QCOMPARE(read.first().at(1).toBool(), true);
        NetworkSpec s = p.spec();
        QCOMPARE(s.data, good.toStdString());
        QCOMPARE(s.inputDim, 3);
        QCOMPARE(p.dataCombo()->currentText(), QStringLiteral("three.csv"));
        p.setSpec(s);
        QCOMPARE(p.spec(), s);
        const QString bad = dir.filePath(QStringLiteral("bad.csv"));
        QFile b(bad);
        QVERIFY(b.open(QIODevice::WriteOnly));
        b.write("1,2\n1\n");
        b.close();
        QSignalSpy messages(&p, &ControlPanel::message);
        p.chooseCsvFile(bad);
        QTRY_COMPARE_WITH_TIMEOUT(read.count(), 2, kTimeoutMs);
        QCOMPARE(read.last().at(1).toBool(), false);
        QCOMPARE(messages.count(), 2); // "Reading ...", then the refusal
        QCOMPARE(messages.last().first().toString(),
                 QStringLiteral("data: %1 line 2: expected 2 numbers, got 1").arg(bad));
        QCOMPARE(p.spec().data, good.toStdString()); // the file in use stays
    }

    void viewShowsImagesAsTheNetworkSeesThem() {
        if (!havePackage())
            QSKIP("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        InputsView v;
        v.resize(300, 400);
        v.show();
        NetworkSpec s;
        s.data = "fashion-mnist";
        s.inputDim = kFashionMnistDim;
        s.standardize = false;
        v.setSpec(s);
        QTRY_VERIFY_WITH_TIMEOUT(v.shownCount() == InputsView::kShown, kTimeoutMs);
        QVERIFY(v.showsImages());
        QVERIFY2(v.captionText().contains(QStringLiteral("raw pixels")),
                 qPrintable(v.captionText()));
        QVERIFY2(v.captionText().contains(QStringLiteral("Values 0 .. 255")),
                 qPrintable(v.captionText()));
        s.standardize = true;
        v.setSpec(s);
        QTRY_VERIFY_WITH_TIMEOUT(v.captionText().contains(QStringLiteral("standardised")),
                                 kTimeoutMs);
        NetworkSpec g; // gaussian, batch above the 16 shown
        v.setSpec(g);
        QTRY_VERIFY_WITH_TIMEOUT(v.captionText().contains(QStringLiteral("gaussian")), kTimeoutMs);
        QVERIFY(!v.showsImages());
        QCOMPARE(v.shownCount(), InputsView::kShown);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestInputs)
#include "test_inputs.moc"

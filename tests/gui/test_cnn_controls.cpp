// The cnn family's controls (issue 11, CNN): channels, input channels, kernel, image size and
// conv fan are shown for arch cnn only, round-trip the spec, make a cnn's width and input dim
// follow the family (C S^2 units, C0 S^2 inputs), and a cnn run fills the window's charts.
#include "charts/layercharts.h"
#include "charts/networkdiagram.h"
#include "guitestmain.h"
#include "settle.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"

#include <QComboBox>
#include <QSignalSpy>
#include <QSpinBox>

using namespace initscope;
using namespace initscope::ui;
using initscope::ui::test::waitForSettled;

namespace {
NetworkSpec cnnSpec() {
    NetworkSpec s;
    s.arch = Arch::Cnn;
    s.depth = 6;
    s.channels = 8;
    s.inputChannels = 3;
    s.kernel = 5;
    s.image = 6;
    s.inputDim = 3 * 36;
    s.convFan = ConvFan::ChannelsOnly;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.batch = 16;
    return s;
}
const char* const kCnnFields[] = {"channels", "input_channels", "kernel", "image", "conv_fan"};
} // namespace

class TestCnnControls : public QObject {
    Q_OBJECT
private slots:
    void shownOnlyForCnnAndRoundTrip();
    void editsFollowTheFamily();
    void windowRunsACnn();
};

void TestCnnControls::shownOnlyForCnnAndRoundTrip() {
    ControlPanel panel;
    panel.show();
    for (const char* f : kCnnFields) {
        QWidget* w = panel.findChild<QWidget*>(QString::fromLatin1(f));
        QVERIFY2(w, f);
        QVERIFY2(!w->isVisible(), f); // an mlp has no conv fields
    }
    panel.setSpec(cnnSpec());
    for (const char* f : kCnnFields)
        QVERIFY2(panel.findChild<QWidget*>(QString::fromLatin1(f))->isVisible(), f);
    const NetworkSpec back = panel.spec();
    QCOMPARE(back, cnnSpec());
    QVERIFY(validate(back).empty());
    QVERIFY(!panel.findChild<QWidget*>(QStringLiteral("width"))->isEnabled());
    QVERIFY(!panel.findChild<QWidget*>(QStringLiteral("input_dim"))->isEnabled());
    auto* diagram = panel.findChild<NetworkDiagram*>(QStringLiteral("networkDiagram"));
    QVERIFY(diagram);
    QVERIFY2(diagram->description().startsWith(QStringLiteral("cnn: 6\u00d76\u00d73 images")),
             qPrintable(diagram->description()));
    QVERIFY(diagram->description().contains(QStringLiteral("channels-only")));
    // back to an mlp: the rows are hidden and the spec carries the conv defaults
    NetworkSpec mlp;
    panel.setSpec(mlp);
    for (const char* f : kCnnFields)
        QVERIFY2(!panel.findChild<QWidget*>(QString::fromLatin1(f))->isVisible(), f);
    QCOMPARE(panel.spec(), mlp);
}

void TestCnnControls::editsFollowTheFamily() {
    ControlPanel panel;
    panel.show();
    panel.setSpec(cnnSpec());
    QSignalSpy edited(&panel, &ControlPanel::specEdited);
    auto* image = panel.findChild<QSpinBox*>(QStringLiteral("image"));
    QVERIFY(image);
    image->setValue(10);
    QVERIFY(!edited.isEmpty());
    NetworkSpec s = panel.spec();
    QCOMPARE(s.image, 10);
    QCOMPARE(s.inputDim, 3 * 100); // the input dim follows the image
    QCOMPARE(panel.findChild<QSpinBox*>(QStringLiteral("input_dim"))->value(), 300);
    auto* fan = panel.findChild<QComboBox*>(QStringLiteral("conv_fan"));
    fan->setCurrentIndex(fan->findData(static_cast<int>(ConvFan::Full)));
    QCOMPARE(panel.spec().convFan, ConvFan::Full);
    // delta-orthogonal has no fans to forget: the conv fan is disabled
    auto* init = panel.findChild<QComboBox*>(QStringLiteral("init"));
    init->setCurrentIndex(init->findData(static_cast<int>(InitScheme::DeltaOrthogonal)));
    QVERIFY(!fan->isEnabled());
    QVERIFY(validate(panel.spec()).empty());
    // the depth counts conv layers
    auto* depth = panel.findChild<LogIntControl*>(QStringLiteral("depth"));
    QCOMPARE(depth->spinBox()->suffix(), QStringLiteral(" conv layers"));
}

void TestCnnControls::windowRunsACnn() {
    MainWindow w;
    w.resize(1280, 720);
    w.show();
    w.setSpec(cnnSpec());
    QVERIFY(waitForSettled(w));
    QCOMPARE(w.signalChart()->points(0).size(), qsizetype{6}); // one point per conv layer
    // the forgotten k^2 (k = 5, He): q grows by 25 per layer, measured
    const auto pts = w.signalChart()->points(0);
    for (qsizetype i = 1; i < pts.size(); ++i) {
        const double ratio = pts[i].y() / pts[i - 1].y();
        QVERIFY2(ratio > 10 && ratio < 60, qPrintable(QString::number(ratio)));
    }
}

INITSCOPE_GUI_TEST_MAIN(TestCnnControls)
#include "test_cnn_controls.moc"

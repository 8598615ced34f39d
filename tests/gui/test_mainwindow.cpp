// The main window end to end: a control change starts a run whose drawn values are the
// engine's; rapid changes settle on the final settings; the critical button reaches chi1 = 1;
// invalid input is reported, not crashed on; closing mid-run joins the worker.
#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "guitestmain.h"
#include "network/engine.h"
#include "settle.h"
#include "theory/meanfield.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "work/runcontroller.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>

#include <cmath>
#include <memory>

using namespace initscope;
using namespace initscope::ui;

namespace {
using test::kTimeoutMs;
using test::waitForSettled;

NetworkSpec testSpec() {
    return test::windowTestSpec();
}

/// Relative closeness. The drawn value is the engine's double passed through unchanged, and the
/// engine is deterministic (same spec and seed give bit-identical statistics, whether the network
/// was drawn fresh or rescaled from its cache), so the tolerance is only a guard against a
/// last-bit difference in float32 rounding of a rescaled cached network.
bool close(double a, double b) {
    return std::abs(a - b) <= 1e-6 * std::max(std::abs(a), std::abs(b));
}

/// The drawn series equal the engine's statistics of `spec` (finite, and positive on log axes).
void compareWithEngine(MainWindow& w, const NetworkSpec& spec) {
    w.syncAllViews(); // frames update only the visible view
    Engine engine;
    const RunResult r = engine.run(spec);
    auto check = [&](LayerChart* chart, int series, auto value, bool logAxis) {
        std::vector<QPointF> expected;
        for (const LayerStats& s : r.layers) {
            const double v = value(s);
            if (std::isfinite(v) && (!logAxis || v > 0))
                expected.emplace_back(s.index, v);
        }
        const QList<QPointF> drawn = chart->points(series);
        QCOMPARE(static_cast<std::size_t>(drawn.size()), expected.size());
        for (qsizetype i = 0; i < drawn.size(); ++i) {
            QCOMPARE(drawn[i].x(), expected[static_cast<std::size_t>(i)].x());
            QVERIFY2(close(drawn[i].y(), expected[static_cast<std::size_t>(i)].y()),
                     qPrintable(QString("%1 series %2 layer %3: drawn %4, engine %5")
                                    .arg(chart->objectName())
                                    .arg(series)
                                    .arg(drawn[i].x())
                                    .arg(drawn[i].y(), 0, 'g', 17)
                                    .arg(expected[static_cast<std::size_t>(i)].y(), 0, 'g', 17)));
        }
    };
    check(
        w.signalChart(), 0, [](const LayerStats& s) { return s.q; }, true);
    check(
        w.correlationChart(), 0, [](const LayerStats& s) { return s.correlation; }, false);
    check(
        w.gradientChart(), 0, [](const LayerStats& s) { return s.gradH2; }, true);
    check(
        w.gradientChart(), 1, [](const LayerStats& s) { return s.gradW2; }, true);
    // predicted curve: the engine's theory for this spec
    const QList<QPointF> tq = w.signalChart()->points(1);
    std::size_t n = 0;
    for (double v : r.theory.q)
        n += std::isfinite(v) && v > 0;
    QCOMPARE(static_cast<std::size_t>(tq.size()), n);
    for (const QPointF& p : tq)
        QVERIFY(close(p.y(), r.theory.q[static_cast<std::size_t>(p.x()) - 1]));
    QCOMPARE(w.distributionView()->heatmap().layersDone, spec.depth);
    QCOMPARE(w.activationView()->heatmap().layersDone, spec.depth);
}
} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    // Changing a control starts a new run, the series update, and what is drawn equals the
    // engine's statistics for the new spec.
    void controlChangeUpdatesCharts() {
        MainWindow w;
        w.setSpec(testSpec());
        w.show();
        QVERIFY(waitForSettled(w));
        compareWithEngine(w, w.controls()->spec());

        QSignalSpy started(w.controller(), &RunController::runStarted);
        QSignalSpy updated(&w, &MainWindow::chartsUpdated);
        w.controls()->depthControl()->spinBox()->setValue(27);
        QTRY_VERIFY_WITH_TIMEOUT(started.count() >= 1, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(!updated.isEmpty(), kTimeoutMs);
        QVERIFY(waitForSettled(w));
        QCOMPARE(w.displayedSpec().depth, 27);
        compareWithEngine(w, w.controls()->spec());

        // the gain slider (what a drag moves) also reruns
        w.controls()->gainControl()->slider()->setValue(
            w.controls()->gainControl()->slider()->value() + 150);
        QVERIFY(waitForSettled(w));
        QVERIFY(std::abs(w.displayedSpec().gain - 1.0) > 0.1);
        compareWithEngine(w, w.controls()->spec());
    }

    // 200 rapid changes while runs are computing: no crash, and the final charts equal a fresh
    // run of the final settings.
    void rapidChangesSettleOnFinalSettings() {
        MainWindow w;
        NetworkSpec spec = testSpec();
        spec.depth = 40;
        spec.width = 128;
        w.setSpec(spec);
        w.show();
        QRandomGenerator rng(7);
        ControlPanel* c = w.controls();
        for (int i = 0; i < 200; ++i) {
            switch (i % 5) {
            case 0:
            case 1:
                c->gainControl()->slider()->setValue(static_cast<int>(rng.bounded(2500, 3500)));
                break;
            case 2:
                c->depthControl()->spinBox()->setValue(static_cast<int>(rng.bounded(5, 60)));
                break;
            case 3:
                c->activationCombo()->setCurrentIndex(
                    static_cast<int>(rng.bounded(c->activationCombo()->count())));
                break;
            case 4:
                c->widthControl()->spinBox()->setValue(static_cast<int>(rng.bounded(16, 160)));
                break;
            }
            QTest::qWait(static_cast<int>(rng.bounded(0, 4))); // let runs start and be cancelled
        }
        QVERIFY(waitForSettled(w));
        compareWithEngine(w, c->spec());
    }

    void criticalButtonGivesChiOne_data() {
        QTest::addColumn<QString>("activation");
        QTest::addColumn<QString>("init");
        QTest::addColumn<double>("sigmaB2");
        QTest::addColumn<int>("inputDim");
        QTest::newRow("tanh lecun") << "tanh"
                                    << "lecun-normal" << 0.0 << 256;
        QTest::newRow("tanh xavier, sigma_b^2 0.05") << "tanh"
                                                     << "xavier-normal" << 0.05 << 100;
        QTest::newRow("erf he, sigma_b^2 0.3") << "erf"
                                               << "he-uniform" << 0.3 << 256;
        QTest::newRow("relu orthogonal") << "relu"
                                         << "orthogonal" << 0.0 << 256;
        QTest::newRow("sigmoid lecun, sigma_b^2 0.1") << "sigmoid"
                                                      << "lecun-uniform" << 0.1 << 256;
    }
    // The "critical" button sets the gain whose effective sigma_w^2 gives chi1 = 1 (within 1e-6)
    // for the current activation and sigma_b^2, whatever the scheme's base variance.
    void criticalButtonGivesChiOne() {
        QFETCH(QString, activation);
        QFETCH(QString, init);
        QFETCH(double, sigmaB2);
        QFETCH(int, inputDim);
        NetworkSpec spec = testSpec();
        spec.activation = *parseActivation(activation.toStdString());
        QVERIFY(parseInitScheme(init.toStdString(), spec.init));
        spec.sigmaB2 = sigmaB2;
        spec.biasInit = sigmaB2 > 0 ? BiasInit::Normal : BiasInit::Zeros;
        spec.inputDim = inputDim;
        spec.gain = 0.5; // away from every critical gain, so the button must change it
        MainWindow w;
        w.setSpec(spec);
        w.show();
        auto* button = w.findChild<QPushButton*>(QStringLiteral("criticalButton"));
        QVERIFY(button);
        QTest::mouseClick(button, Qt::LeftButton);
        const NetworkSpec after = w.controls()->spec();
        QVERIFY(after.gain != spec.gain);
        const double sw2 = effectiveSigmaW2(after, ControlPanel::referenceLayer(after));
        const Activation act(after.activation, after.activationSlope);
        const double chi1 = meanfield::fixedPoint(act, sw2, effectiveSigmaB2(after)).chi1;
        QVERIFY2(std::abs(chi1 - 1.0) < 1e-6,
                 qPrintable(QString("chi1 = %1 at sigma_w^2 = %2").arg(chi1, 0, 'g', 12).arg(sw2)));
        QVERIFY(waitForSettled(w));
        auto* phase = w.controls()->readoutLabel(QStringLiteral("phase"));
        QVERIFY(phase->text().contains(QStringLiteral("critical")));
    }

    // Xavier and He set the effective sigma_w^2 of their formulas.
    void xavierAndHeButtons() {
        NetworkSpec spec = testSpec();
        spec.init = InitScheme::LecunNormal;
        spec.activation = ActivationKind::LeakyRelu;
        spec.activationSlope = 0.2;
        MainWindow w;
        w.setSpec(spec);
        QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("heButton")), Qt::LeftButton);
        NetworkSpec s = w.controls()->spec();
        QVERIFY(std::abs(effectiveSigmaW2(s, 2) - 2.0 / 1.04) < 1e-7);
        QTest::mouseClick(w.findChild<QPushButton*>(QStringLiteral("xavierButton")),
                          Qt::LeftButton);
        s = w.controls()->spec();
        QVERIFY(std::abs(effectiveSigmaW2(s, 2) - 1.0) < 1e-7); // equal widths: 2N/(N+N)
    }

    // A size over the memory budget is refused with a message naming the field; nothing runs,
    // nothing crashes, and a valid edit afterwards runs again.
    void invalidInputIsReported() {
        MainWindow w;
        w.setSpec(testSpec());
        w.show();
        QVERIFY(waitForSettled(w));
        w.controls()->widthControl()->spinBox()->setValue(Limits::kMaxWidth);
        w.controls()->depthControl()->spinBox()->setValue(Limits::kMaxDepth);
        const std::vector<SpecError> errors = validate(w.controls()->spec());
        QVERIFY(!errors.empty());
        QTRY_VERIFY_WITH_TIMEOUT(
            w.controls()->errorText().contains(QString::fromStdString(errors.front().message)),
            kTimeoutMs);
        QVERIFY(w.statusText().startsWith(QStringLiteral("Not run")));
        w.controls()->depthControl()->spinBox()->setValue(10);
        w.controls()->widthControl()->spinBox()->setValue(64);
        QVERIFY(waitForSettled(w));
        QVERIFY(w.controls()->errorText().isEmpty());
    }

    // Naive N(0, 1) weights at width 512 in a linear network grow q by ~512 per layer and
    // overflow float32 within ~15 layers: the charts stop at the last finite layer and name the
    // first non-finite one; nothing non-finite is drawn.
    void overflowIsMarkedNotDrawn() {
        NetworkSpec spec = testSpec();
        spec.activation = ActivationKind::Linear;
        spec.init = InitScheme::Normal;
        spec.initValue = 1.0;
        spec.width = 512;
        spec.inputDim = 512;
        spec.depth = 30;
        MainWindow w;
        w.setSpec(spec);
        w.show();
        QVERIFY(waitForSettled(w));
        w.syncAllViews();
        const int k = w.signalChart()->nonfiniteFrom();
        QVERIFY2(k > 1 && k <= 30, qPrintable(QString("first non-finite layer %1").arg(k)));
        QVERIFY(w.signalChart()->titleText().contains(
            QStringLiteral("non-finite from layer %1").arg(k)));
        for (const QPointF& p : w.signalChart()->points(0)) {
            QVERIFY(std::isfinite(p.y()));
            QVERIFY(p.x() < k);
        }
        QCOMPARE(w.distributionView()->nonfiniteNote(),
                 QStringLiteral("non-finite from layer %1").arg(k));
    }

    // Every view exports to PNG, SVG and PDF; the CSV holds the drawn values, one row per layer.
    // A bad suffix is refused with a message, and nothing is written.
    void exportWritesFiles() {
        MainWindow w;
        w.setSpec(testSpec());
        w.show();
        QVERIFY(waitForSettled(w));
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        for (const QString& view : MainWindow::viewNames()) {
            QVERIFY(w.showView(view));
            for (const char* suffix : {"png", "svg", "pdf"}) {
                const QString path = dir.filePath(QStringLiteral("%1.%2").arg(view, suffix));
                QString error;
                QVERIFY2(w.exportView(path, &error), qPrintable(error));
                QVERIFY2(QFileInfo(path).size() > 1000, qPrintable(path));
            }
        }
        // the export shows the latest titles (Qt Charts lays titles out lazily)
        QVERIFY(w.showView(QStringLiteral("gradients")));
        const QString svgPath = dir.filePath(QStringLiteral("g.svg"));
        QVERIFY(w.exportView(svgPath));
        QFile svg(svgPath);
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QString title = w.gradientChart()->titleText();
        const QString measured = title.section(QStringLiteral(": "), 1).section(' ', 0, 0);
        QVERIFY2(!measured.isEmpty() && QString::fromUtf8(svg.readAll()).contains(measured),
                 qPrintable(title));
        const QString csvPath = dir.filePath(QStringLiteral("values.csv"));
        QVERIFY(w.exportView(csvPath));
        QFile f(csvPath);
        QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split('\n');
        QCOMPARE(lines.size(), testSpec().depth + 1);
        // the visible (gradients) chart's own columns, its values
        const QList<QPointF> g = w.gradientChart()->points(0);
        QCOMPARE(lines[0], QStringLiteral("layer,grad_h2,grad_w2,grad_h2_predicted"));
        QCOMPARE(lines[1].split(',')[1].toDouble(), g[0].y());
        QString error;
        QVERIFY(!w.exportView(dir.filePath(QStringLiteral("x.bmp")), &error));
        QVERIFY(error.contains(QStringLiteral(".png")));
        QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("x.bmp"))));
    }

    // Closing the window mid-run cancels the run and joins the worker (no thread left behind).
    void closeMidRunJoinsThreads() {
        const int before = RunController::liveWorkerThreads();
        auto w = std::make_unique<MainWindow>();
        NetworkSpec spec = testSpec();
        spec.depth = 2000; // seconds of work: still running when the window closes
        spec.width = 256;
        spec.inputDim = 256;
        spec.batch = 64;
        QVERIFY(validate(spec).empty());
        // Close from inside the delivery of the deep run's start (not the default run's): that
        // event is queued before any of the run's 2000 layers, so the run is computing when it
        // arrives. Waiting for a later layer, or polling, let a GUI thread starved by a loaded
        // machine first drain a queue in which the whole run had already finished.
        bool closed = false, busyAtClose = false;
        connect(w->controller(), &RunController::runStarted, this,
                [&](quint64, const NetworkSpec& s) {
                    if (!closed && s.depth == spec.depth) {
                        busyAtClose = w->controller()->busy();
                        w->close();
                        closed = true;
                    }
                });
        w->setSpec(spec);
        w->show();
        QTRY_VERIFY_WITH_TIMEOUT(closed, kTimeoutMs);
        QVERIFY(busyAtClose);
        w.reset();
        QCOMPARE(RunController::liveWorkerThreads(), before);
    }

    // One rule for the biases: sigma_b^2 applies only to normal biases. Switching the bias init
    // to zeros disables its control and shows (and runs, and gives the Critical button) 0;
    // switching back brings the user's value back.
    void biasControlsFollowTheBiasInit() {
        ControlPanel panel;
        NetworkSpec s;
        s.biasInit = BiasInit::Normal;
        s.sigmaB2 = 0.05;
        panel.setSpec(s);
        auto* bias = panel.findChild<QComboBox*>(QStringLiteral("bias_init"));
        auto* sb2 = panel.findChild<QDoubleSpinBox*>(QStringLiteral("sigma_b2"));
        auto* value = panel.findChild<QDoubleSpinBox*>(QStringLiteral("bias_value"));
        QVERIFY(bias && sb2 && value);
        QVERIFY(sb2->isEnabled());
        QVERIFY(!value->isEnabled());
        bias->setCurrentIndex(bias->findData(static_cast<int>(BiasInit::Zeros)));
        QVERIFY(!sb2->isEnabled());
        QCOMPARE(sb2->value(), 0.0);
        QCOMPARE(panel.spec().sigmaB2, 0.0);
        QVERIFY(validate(panel.spec()).empty());
        // the critical gain is tanh's at sigma_b^2 = 0 (sigma_w^2 = 1), not at 0.05 (1.76)
        panel.setCriticalGain();
        QVERIFY(std::abs(effectiveSigmaW2(panel.spec(), 2) - 1.0) < 1e-6);
        bias->setCurrentIndex(bias->findData(static_cast<int>(BiasInit::Constant)));
        QVERIFY(value->isEnabled());
        QVERIFY(!sb2->isEnabled());
        bias->setCurrentIndex(bias->findData(static_cast<int>(BiasInit::Normal)));
        QVERIFY(sb2->isEnabled());
        QCOMPARE(sb2->value(), 0.05);
        QCOMPARE(panel.spec().sigmaB2, 0.05);
    }

    // A seed above 2^31 - 1 (any of the engine's 2^64) is kept exactly, shown and typed.
    void largeSeedIsKept() {
        ControlPanel panel;
        NetworkSpec s;
        s.seed = 3000000001ULL;
        panel.setSpec(s);
        QCOMPARE(panel.spec().seed, 3000000001ULL);
        auto* seed = panel.findChild<QLineEdit*>(QStringLiteral("seed"));
        QVERIFY(seed);
        QCOMPARE(seed->text(), QStringLiteral("3000000001"));
        QSignalSpy edited(&panel, &ControlPanel::specEdited);
        seed->setText(QStringLiteral("18446744073709551615"));
        emit seed->editingFinished();
        QCOMPARE(panel.spec().seed, 18446744073709551615ULL);
        QCOMPARE(edited.count(), 1);
        // beyond 2^64 - 1: refused with a message, the seed that runs is kept
        QSignalSpy message(&panel, &ControlPanel::message);
        seed->setText(QStringLiteral("18446744073709551616"));
        emit seed->editingFinished();
        QCOMPARE(panel.spec().seed, 18446744073709551615ULL);
        QCOMPARE(message.count(), 1);
        QVERIFY(message.front().front().toString().contains(QStringLiteral("Seed")));
    }

    // Scenario 9: the readout shows the critical input scale the engine computed for the run.
    void readoutShowsCriticalInputScale() {
        MainWindow w;
        NetworkSpec s = testSpec();
        s.activation = ActivationKind::Relu;
        s.init = InitScheme::HeNormal;
        s.loss = Loss::Mse;
        s.inputScale = 10.0;
        w.setSpec(s);
        w.show();
        QVERIFY(waitForSettled(w));
        Engine engine;
        const RunResult r = engine.run(w.controls()->spec());
        QVERIFY(std::isfinite(r.criticalInputScale));
        QLabel* label = w.controls()->readoutLabel(QStringLiteral("critical_input_scale"));
        QVERIFY(label);
        // shown to 6 significant digits
        QTRY_VERIFY_WITH_TIMEOUT(
            std::abs(label->text().toDouble() / r.criticalInputScale - 1) < 1e-5, kTimeoutMs);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"

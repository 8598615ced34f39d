// The analysis views of issue 5: the phase diagram's critical line is meanfield's, a click sets
// both controls; the Jacobian and NTK views draw the engine's numbers for the spec; sweeps are
// deterministic and stream every point; ensemble bands contain their mean; destroying a view or
// the window mid-computation cancels and joins its worker promptly.
#include "charts/layercharts.h"
#include "guitestmain.h"
#include "theory/meanfield.h"
#include "views/analysisviews.h"
#include "views/ensembleview.h"
#include "views/jacobianview.h"
#include "views/ntkview.h"
#include "views/phaseview.h"
#include "views/sweepview.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"

#include <QChart>
#include <QChartView>
#include <QElapsedTimer>
#include <QLineSeries>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <cmath>
#include <memory>

using namespace initscope;
using namespace initscope::ui;

namespace {
// generous: a loaded 2-core machine is slow, and QTRY returns as soon as it holds
constexpr int kTimeoutMs = 120000;

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 8;
    s.width = 48;
    s.inputDim = 48;
    s.batch = 16;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.gain = 1.5;
    return s;
}

/// A spec whose NTK by depth takes many seconds (L^2 K N^2 flops for the backward passes of all
/// depths) after a short forward pass (L K N^2, not cancellable in the engine): something to
/// interrupt. ReLU, whose analytic kernel has closed forms: the analytic recursion (also not
/// cancellable) then takes milliseconds.
NetworkSpec heavySpec() {
    NetworkSpec s;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.depth = 200;
    s.width = 256;
    s.inputDim = 256;
    s.batch = 64;
    return s;
}
} // namespace

class TestAnalysisViews : public QObject {
    Q_OBJECT
private slots:
    void phaseCriticalLineIsMeanField();
    void phaseClickSetsBothControls();
    void jacobianShowsEngineNumbers();
    void ntkShowsEngineNumbers();
    void sweepIsDeterministicAndStreamsAllPoints();
    void ensembleBandsContainTheMean();
    void destroyingMidComputationJoins();
};

// Each row's critical sigma_w^2 is meanfield::criticalSigmaW2 at that row's sigma_b^2 (the
// engine computes both from the same routine; 1e-4 is the tolerance for the line).
void TestAnalysisViews::phaseCriticalLineIsMeanField() {
    PhaseView view;
    QSignalSpy done(&view, &PhaseView::diagramComplete);
    view.resize(800, 600);
    view.show();
    view.setSpec(smallSpec());
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1, kTimeoutMs);
    const std::vector<QPointF> line = view.criticalLine();
    QCOMPARE(static_cast<int>(line.size()), PhaseView::sigmaB2Axis().steps);
    const Activation tanh(ActivationKind::Tanh);
    int finite = 0;
    for (const QPointF& p : line) {
        const double expected = meanfield::criticalSigmaW2(tanh, p.y());
        if (!std::isfinite(expected)) {
            QVERIFY(!std::isfinite(p.x()));
            continue;
        }
        ++finite;
        QVERIFY2(std::abs(p.x() - expected) <= 1e-4 * std::max(1.0, expected),
                 qPrintable(
                     QStringLiteral("sigma_b2 %1: %2 vs %3").arg(p.y()).arg(p.x()).arg(expected)));
    }
    QVERIFY(finite > 10);
    // tanh at sigma_b^2 = 0 is critical at sigma_w^2 = 1 (THEORY.md)
    QVERIFY(std::abs(line.front().x() - 1.0) < 1e-4);
    // the heatmap was filled: every colour of a row is not one colour
    const QImage img = view.heatmap()->grid().image;
    QVERIFY(!img.isNull());
    QVERIFY(img.pixel(0, img.height() / 2) != img.pixel(img.width() - 1, img.height() / 2));
    // the xi_c colouring is another image of the same diagram (no recomputation)
    const int computed = view.computations();
    view.setColour(PhaseView::Colour::XiC);
    QVERIFY(view.heatmap()->grid().image != img);
    QCOMPARE(view.computations(), computed);
    if (qEnvironmentVariableIsSet("INITSCOPE_SHOT_DIR")) // for looking at the view
        view.grab().save(qEnvironmentVariable("INITSCOPE_SHOT_DIR") + QStringLiteral("/xic.png"));
    // chi1 of a received cell is meanfield's chi1 there
    const QPointF c = PhaseView::cellCentre(5, 30);
    const meanfield::FixedPoint fp = meanfield::fixedPoint(tanh, c.x(), c.y());
    QVERIFY(std::abs(view.chi1At(5, 30) - fp.chi1) < 1e-12 * std::max(1.0, fp.chi1));
}

void TestAnalysisViews::phaseClickSetsBothControls() {
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    NetworkSpec s = smallSpec();
    s.init = InitScheme::XavierNormal; // a scheme whose gain is not sigma_w^2 itself
    s.biasInit = BiasInit::Zeros;
    s.sigmaB2 = 0;
    window.setSpec(s);
    QVERIFY(window.showView(QStringLiteral("phase")));
    PhaseView* phase = window.analysisViews()->phase();
    QTRY_VERIFY_WITH_TIMEOUT(phase->complete(), kTimeoutMs);
    const int computed = phase->computations();
    // Ctrl+E's path: the visible analysis view is saved as drawn
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("phase.png"));
    QString error;
    QVERIFY2(window.exportView(png, &error), qPrintable(error));
    QVERIFY(QImage(png).width() > 300);
    const int i = 20, j = 40;
    const QPointF cell = PhaseView::cellCentre(i, j);
    GridHeatmap* map = phase->heatmap();
    const QPoint at = map->toWidget(cell).toPoint();
    QTest::mouseClick(map, Qt::LeftButton, Qt::NoModifier, at);
    const NetworkSpec now = window.controls()->spec();
    QCOMPARE(now.biasInit, BiasInit::Normal);
    QVERIFY(std::abs(now.sigmaB2 - cell.y()) < 1e-9);
    const double sw2 = effectiveSigmaW2(now, ControlPanel::referenceLayer(now));
    QVERIFY2(std::abs(sw2 - cell.x()) < 1e-6 * cell.x(),
             qPrintable(QStringLiteral("%1 vs %2").arg(sw2).arg(cell.x())));
    QCOMPARE(now.init, InitScheme::XavierNormal);
    // the run of the new settings moves the marker there; the diagram is not recomputed
    QTRY_VERIFY_WITH_TIMEOUT(std::abs(map->marker().x() - cell.x()) < 1e-6 &&
                                 std::abs(map->marker().y() - cell.y()) < 1e-9,
                             kTimeoutMs);
    QVERIFY(phase->complete());
    QCOMPARE(phase->computations(), computed);
    // a new activation recomputes the diagram
    NetworkSpec relu = window.controls()->spec();
    relu.activation = ActivationKind::Relu;
    window.setSpec(relu);
    QTRY_COMPARE_WITH_TIMEOUT(phase->computations(), computed + 1, kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(phase->complete(), kTimeoutMs);
    // ReLU: chi1 = sigma_w^2 / 2 on every row (THEORY.md)
    QVERIFY(std::abs(phase->chi1At(10, 20) - PhaseView::cellCentre(10, 20).x() / 2) < 1e-9);
}

void TestAnalysisViews::jacobianShowsEngineNumbers() {
    JacobianView view;
    QSignalSpy shown(&view, &JacobianView::resultShown);
    view.resize(900, 600);
    view.show();
    view.setInputs(3);
    const NetworkSpec spec = smallSpec();
    view.setSpec(spec);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1 && view.result().spec == spec, kTimeoutMs);
    const JacobianResult expected = computeJacobian(spec, 3);
    const JacobianResult& got = view.result();
    QCOMPARE(got.inputs.size(), expected.inputs.size());
    for (std::size_t b = 0; b < got.inputs.size(); ++b)
        QCOMPARE(got.inputs[b].singularValues, expected.inputs[b].singularValues);
    QCOMPARE(got.meanSq, expected.meanSq);
    QCOMPARE(got.theoryMeanSq, expected.theoryMeanSq);
    QVERIFY(view.summaryText().contains(QString::number(expected.meanSq, 'g', 4)));
    QVERIFY(view.summaryText().contains(QString::number(expected.theoryMeanSq, 'g', 4)));
    // each histogram holds every positive singular value of its input once
    const auto series = view.chartView()->chart()->series();
    auto* first = qobject_cast<QLineSeries*>(series.front());
    QVERIFY(first);
    double total = 0;
    const QList<QPointF> pts = first->points();
    for (qsizetype k = 1; k + 1 < pts.size(); k += 2)
        total += pts[k].y();
    QCOMPARE(total, static_cast<double>(expected.inputs[0].singularValues.size()));
}

void TestAnalysisViews::ntkShowsEngineNumbers() {
    NtkView view;
    QSignalSpy shown(&view, &NtkView::resultShown);
    view.resize(1000, 800);
    view.show();
    view.setInputs(8);
    const NetworkSpec spec = smallSpec();
    view.setSpec(spec);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1 && view.result().spec == spec, kTimeoutMs);
    NtkOptions options;
    options.inputs = 8;
    const NtkResult expected = computeNtk(spec, options);
    const NtkResult& got = view.result();
    QCOMPARE(got.empirical.eigenvalues, expected.empirical.eigenvalues);
    QCOMPARE(got.empirical.condition, expected.empirical.condition);
    QCOMPARE(got.analytic.eigenvalues, expected.analytic.eigenvalues);
    QCOMPARE(got.conditionByDepth, expected.conditionByDepth);
    QCOMPARE(view.streamedConditions(), expected.conditionByDepth);
    // the drawn spectrum is the engine's eigenvalues
    QLineSeries* eig = nullptr;
    for (QAbstractSeries* s : view.spectrumChart()->chart()->series())
        if (s->objectName() == QLatin1String("empirical"))
            eig = qobject_cast<QLineSeries*>(s);
    QVERIFY(eig);
    const QList<QPointF> pts = eig->points();
    QCOMPARE(pts.size(), static_cast<qsizetype>(expected.empirical.eigenvalues.size()));
    for (qsizetype k = 0; k < pts.size(); ++k)
        QCOMPARE(pts[k].y(), expected.empirical.eigenvalues[static_cast<std::size_t>(k)]);
    QCOMPARE(view.kernelMap()->grid().image.width(), 8);
    QVERIFY(view.summaryText().contains(QString::number(expected.empirical.condition, 'g', 4)));
}

void TestAnalysisViews::sweepIsDeterministicAndStreamsAllPoints() {
    SweepView view;
    view.resize(900, 600);
    view.show(); // the first show starts a sweep of the defaults; the configured ones replace it
    const NetworkSpec spec = smallSpec();
    view.setSpec(spec);
    QVERIFY(view.configure(QStringLiteral("input_grad2"), QStringLiteral("gain"), 0.5, 2.0, 6));
    std::vector<std::vector<QPointF>> runs;
    for (int round = 0; round < 2; ++round) {
        QSignalSpy points(&view, &SweepView::pointAdded);
        QSignalSpy finished(&view, &SweepView::sweepFinished);
        view.start();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kTimeoutMs);
        QCOMPARE(finished.last().at(0).toBool(), true);
        QCOMPARE(points.count(), 6);
        QCOMPARE(view.progressBar()->value(), 6);
        runs.push_back(view.points());
    }
    QCOMPARE(runs[0], runs[1]);
    if (qEnvironmentVariableIsSet("INITSCOPE_SHOT_DIR")) { // for looking at the view
        QVERIFY(view.configure(QStringLiteral("ntk_condition"), QStringLiteral("depth"), 1, 40, 8));
        QSignalSpy finished(&view, &SweepView::sweepFinished);
        view.start();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kTimeoutMs);
        view.grab().save(qEnvironmentVariable("INITSCOPE_SHOT_DIR") + QStringLiteral("/sweep.png"));
    }
    // the engine's sweep gives the same numbers (log-spaced: the gain axis is logarithmic)
    Engine engine;
    SweepAxis axis{"gain", 0.5, 2.0, 6};
    axis.logSpaced = true;
    const std::vector<SweepPoint> ref = runSweep(engine, spec, axis);
    for (std::size_t k = 0; k < ref.size(); ++k) {
        QCOMPARE(runs[0][k].x(), ref[k].value);
        QCOMPARE(runs[0][k].y(), scalarStatistic(ref[k].result, "input_grad2"));
    }
}

void TestAnalysisViews::ensembleBandsContainTheMean() {
    EnsembleView view;
    QSignalSpy shown(&view, &EnsembleView::resultShown);
    view.resize(900, 900);
    view.show();
    view.setEnsemble(true, 4);
    view.setSpec(smallSpec());
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && view.seedsShown() == 4, kTimeoutMs);
    QCOMPARE(view.bands().size(), std::size_t{3});
    for (const LayerBand& b : view.bands()) {
        QCOMPARE(b.mean.size(), std::size_t{8});
        for (std::size_t l = 0; l < b.mean.size(); ++l) {
            QVERIFY(b.min[l] <= b.mean[l] && b.mean[l] <= b.max[l]);
            QVERIFY(b.min[l] <= b.q10[l] && b.q10[l] <= b.q90[l] && b.q90[l] <= b.max[l]);
        }
    }
    // drawn: the mean series is the band's mean
    const QList<QPointF> mean = view.signalChart()->points(0);
    QCOMPARE(mean.size(), qsizetype{8});
    QCOMPARE(mean[3].y(), view.bands()[0].mean[3]);
}

// The NTK by depth of heavySpec() on 64 inputs takes many seconds; destroying the view (or the
// window) while it runs must cancel it at the next layer and join within a fraction of that.
void TestAnalysisViews::destroyingMidComputationJoins() {
    {
        auto view = std::make_unique<NtkView>();
        view->show();
        view->setInputs(64);
        view->setSpec(heavySpec());
        QTRY_VERIFY_WITH_TIMEOUT(view->summaryText().startsWith(QStringLiteral("Computing")),
                                 kTimeoutMs);
        QTest::qWait(1000); // past the forward pass, into the backward passes
        QVERIFY(view->busy());
        QElapsedTimer t;
        t.start();
        view.reset();
        qInfo("NTK view destroyed mid-computation: joined in %lld ms", t.elapsed());
        QVERIFY2(t.elapsed() < 3000, qPrintable(QString::number(t.elapsed())));
    }
    {
        auto window = std::make_unique<MainWindow>();
        window->show();
        window->setSpec(heavySpec());
        QVERIFY(window->showView(QStringLiteral("sweep")));
        // the sweep starts once the settings have stopped changing (debounced)
        // close in the same turn of the event loop that saw it running (a fixed wait first
        // let a lightly loaded machine finish the whole sweep before the close)
        QTRY_VERIFY_WITH_TIMEOUT(window->analysisViews()->sweep()->running(), kTimeoutMs);
        window->close();
        QElapsedTimer t;
        t.start();
        window.reset();
        qInfo("window destroyed mid-sweep: joined in %lld ms", t.elapsed());
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString::number(t.elapsed())));
    }
}

INITSCOPE_GUI_TEST_MAIN(TestAnalysisViews)
#include "test_analysisviews.moc"

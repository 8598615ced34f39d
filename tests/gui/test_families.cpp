// Every view for every family (issue 11): the per-layer charts and heatmaps name their x axis by
// the stage of the family ("layer l" for an mlp, "block l" for a resnet), the CSV x column too;
// the NTK view computes a resnet's kernel, its by-depth axis counting blocks; the phase view
// says whose mean field it draws; the ensemble and sweep views run a resnet; the control
// panel's diagram describes the network and follows the controls.
#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "charts/networkdiagram.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "settle.h"
#include "views/analysisviews.h"
#include "views/ensembleview.h"
#include "views/jacobianview.h"
#include "views/ntkview.h"
#include "views/phaseview.h"
#include "views/sweepview.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"

#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QValueAxis>

#include <cmath>

using namespace initscope;
using namespace initscope::ui;
using initscope::ui::test::kTimeoutMs;
using initscope::ui::test::waitForSettled;

namespace {
/// A small resnet: 10 blocks of x + 1 F(x), branches of 2 layers, relu, He.
NetworkSpec resnetSpec() {
    NetworkSpec s;
    s.arch = Arch::Resnet;
    s.depth = 10;
    s.width = 64;
    s.inputDim = 64;
    s.branchDepth = 2;
    s.residualScale = ResidualScale::One;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.batch = 16;
    return s;
}

QString xAxisTitle(const LayerChart* chart) {
    const auto axes = chart->chart()->axes(Qt::Horizontal);
    return axes.isEmpty() ? QString() : axes.front()->titleText();
}
} // namespace

class TestFamilies : public QObject {
    Q_OBJECT
private slots:
    void chartsNameTheStage();
    void ntkComputesResnetByBlock();
    void phaseSaysWhoseMeanField();
    void ensembleAndSweepRunAResnet();
    void diagramDescribesAndFollowsTheControls();
    void jacobianNamesTheStream();
    void rnnControlsAndRun();
};

// The window's per-layer views after a finished run: "block l" for a resnet on every chart and
// heatmap and as the CSV x column; an mlp's texts are the old ones, byte for byte.
void TestFamilies::chartsNameTheStage() {
    MainWindow w;
    w.resize(1280, 720);
    w.show();
    w.setSpec(resnetSpec());
    QVERIFY(waitForSettled(w));
    for (const QString& view : figureNames())
        QVERIFY(w.showView(view)); // each tab pushes its data when shown
    QVERIFY(waitForSettled(w));
    for (LayerChart* c :
         {w.signalChart(), w.gradientChart(), w.correlationChart(), w.statisticChart()}) {
        QCOMPARE(xAxisTitle(c), QStringLiteral("block l"));
        QVERIFY2(figureCsv(c).startsWith(QStringLiteral("block,")), qPrintable(c->objectName()));
        QVERIFY(!c->points(0).isEmpty()); // a resnet's run is drawn, not just relabelled
    }
    QCOMPARE(w.signalChart()->points(0).size(), qsizetype{10}); // one point per block
    QVERIFY2(w.signalChart()->titleText().contains(QStringLiteral("at block 10")),
             qPrintable(w.signalChart()->titleText()));
    QVERIFY(w.signalChart()->titleText().contains(QStringLiteral("residual stream")));
    QCOMPARE(w.signalChart()->yLabel(), QStringLiteral("q\u02e1 = mean of x\u00b2 (log)"));
    auto* depth = w.controls()->findChild<LogIntControl*>(QStringLiteral("depth"));
    QVERIFY(depth);
    QCOMPARE(depth->spinBox()->suffix(), QStringLiteral(" blocks"));
    for (HeatmapWidget* h : {w.distributionView(), w.activationView()}) {
        QCOMPARE(h->xAxisTitle(), QStringLiteral("block l"));
        QVERIFY(figureCsv(h).startsWith(QStringLiteral("block,")));
    }
    QVERIFY(w.distributionView()->title().contains(QStringLiteral("per block")));
    QCOMPARE(w.distributionView()->heatmap().yLabel, QStringLiteral("residual stream x"));

    // back to an mlp: the old texts exactly (the goldens and other tests read them)
    NetworkSpec mlp = test::windowTestSpec();
    w.setSpec(mlp);
    QVERIFY(w.showView(QStringLiteral("signal")));
    QVERIFY(waitForSettled(w));
    QCOMPARE(xAxisTitle(w.signalChart()), QStringLiteral("layer l"));
    QVERIFY(figureCsv(w.signalChart()).startsWith(QStringLiteral("layer,q,q_predicted\n")));
    QVERIFY(w.signalChart()->titleText().contains(
        QStringLiteral("Signal: length q\u02e1 of the pre-activations")));
    QVERIFY(w.signalChart()->titleText().contains(QStringLiteral("at layer 20")));
    QCOMPARE(w.signalChart()->yLabel(), QStringLiteral("q\u02e1 = mean of h\u00b2 (log)"));
    QCOMPARE(depth->spinBox()->suffix(), QStringLiteral(" layers"));
    QVERIFY(w.showView(QStringLiteral("distribution")));
    QCOMPARE(w.distributionView()->xAxisTitle(), QStringLiteral("layer l"));
    QCOMPARE(w.distributionView()->title(),
             QStringLiteral("Distribution of pre-activations h per layer"));
    QCOMPARE(w.distributionView()->heatmap().yLabel, QStringLiteral("pre-activation h"));
    QVERIFY(figureCsv(w.distributionView()).startsWith(QStringLiteral("layer,h,share\n")));

    // an exported figure of a resnet run names the stage the same way
    FigureData d;
    d.spec = resnetSpec();
    d.layers.resize(10);
    for (int l = 1; l <= 10; ++l) {
        d.layers[static_cast<std::size_t>(l - 1)].index = l;
        d.layers[static_cast<std::size_t>(l - 1)].q = l;
    }
    auto fig = makeFigure(QStringLiteral("signal"), d);
    QVERIFY(fig);
    QCOMPARE(xAxisTitle(qobject_cast<LayerChart*>(fig.get())), QStringLiteral("block l"));
}

// The NTK view computes a resnet (ntkresnet.cpp): charts shown, no refusal, the by-depth axis
// and the titles counting blocks; back to an mlp, they say layers and depth again.
void TestFamilies::ntkComputesResnetByBlock() {
    NtkView view;
    view.resize(900, 600);
    view.show();
    view.setInputs(8);
    QSignalSpy shown(&view, &NtkView::resultShown);
    view.setSpec(resnetSpec());
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), kTimeoutMs);
    QVERIFY(!view.refused());
    QVERIFY(view.spectrumChart()->isVisible());
    QVERIFY(view.kernelMap()->isVisible());
    QVERIFY2(view.spectrumChart()->chart()->title().contains(QStringLiteral("10 blocks")),
             qPrintable(view.spectrumChart()->chart()->title()));
    const auto condAxes = view.findChildren<QChartView*>();
    bool blockAxis = false;
    for (const QChartView* cv : condAxes)
        for (const QAbstractAxis* ax : cv->chart()->axes(Qt::Horizontal))
            blockAxis = blockAxis || ax->titleText().startsWith(QStringLiteral("blocks m"));
    QVERIFY(blockAxis);

    NetworkSpec mlp = resnetSpec();
    mlp.arch = Arch::Mlp;
    mlp.depth = 4;
    shown.clear();
    view.setSpec(mlp);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), kTimeoutMs);
    QVERIFY(view.spectrumChart()->chart()->title().contains(QStringLiteral("depth 4")));
}

void TestFamilies::phaseSaysWhoseMeanField() {
    PhaseView view;
    view.resize(800, 600);
    view.setSpec(resnetSpec());
    QVERIFY(view.familyNote().contains(QStringLiteral("mlp")));
    QVERIFY(view.familyNote().contains(QStringLiteral("branch")));
    QVERIFY(view.heatmap()->title().contains(QStringLiteral("mlp")));
    NetworkSpec mlp = resnetSpec();
    mlp.arch = Arch::Mlp;
    view.setSpec(mlp);
    QVERIFY(view.familyNote().isEmpty());
    QVERIFY(!view.heatmap()->title().contains(QStringLiteral("mlp")));
    // computed and shown, the diagram's title still says whose mean field it is
    QSignalSpy done(&view, &PhaseView::diagramComplete);
    view.setSpec(resnetSpec());
    view.show();
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), kTimeoutMs);
    QVERIFY2(
        view.heatmap()->title().contains(QStringLiteral("an mlp of relu (each resnet branch)")),
        qPrintable(view.heatmap()->title()));
}

// Both run Engine::run on the spec: a resnet's ensemble has one band point per block on charts
// labelled by block, and a sweep over its gain gives every point.
void TestFamilies::ensembleAndSweepRunAResnet() {
    {
        EnsembleView view;
        QSignalSpy shown(&view, &EnsembleView::resultShown);
        view.resize(900, 900);
        view.show();
        view.setEnsemble(true, 3);
        view.setSpec(resnetSpec());
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && view.seedsShown() == 3, kTimeoutMs);
        QCOMPARE(view.bands()[0].mean.size(), std::size_t{10});
        QCOMPARE(view.signalChart()->points(0).size(), qsizetype{10});
        for (const QPointF& p : view.signalChart()->points(0))
            QVERIFY(std::isfinite(p.y()) && p.y() > 0);
        QCOMPARE(xAxisTitle(view.signalChart()), QStringLiteral("block l"));
    }
    {
        SweepView view;
        view.resize(900, 600);
        view.show();
        view.setSpec(resnetSpec());
        QVERIFY(view.configure(QStringLiteral("input_grad2"), QStringLiteral("gain"), 0.5, 2.0, 4));
        QSignalSpy finished(&view, &SweepView::sweepFinished);
        view.start();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kTimeoutMs);
        QCOMPARE(finished.last().at(0).toBool(), true);
        QCOMPARE(view.points().size(), std::size_t{4});
        for (const QPointF& p : view.points())
            QVERIFY(std::isfinite(p.y()) && p.y() > 0);
    }
}

// The diagram sits in the control panel, is compact, and its text says what the controls say.
void TestFamilies::diagramDescribesAndFollowsTheControls() {
    MainWindow w;
    w.resize(1280, 720);
    w.show();
    w.setSpec(resnetSpec());
    NetworkDiagram* d = w.controls()->findChild<NetworkDiagram*>(QStringLiteral("networkDiagram"));
    QVERIFY(d);
    QCOMPARE(d, w.controls()->diagram());
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(d->isVisible());
    QVERIFY2(d->height() >= 50 && d->height() <= 90, qPrintable(QString::number(d->height())));
    QVERIFY2(d->width() >= 180, qPrintable(QString::number(d->width())));
    QCOMPARE(d->description(),
             QStringLiteral("resnet: 10 blocks of x + 1\u00b7F(x), branch 2 layers of 64, relu"));
    QCOMPARE(d->toolTip(), d->description());
    QCOMPARE(d->accessibleDescription(), d->description());

    // the controls, edited as a user does: the branch depth, then the residual scale
    auto* branch = w.controls()->findChild<QSpinBox*>(QStringLiteral("branch_depth"));
    QVERIFY(branch);
    branch->setValue(3);
    QVERIFY(d->description().contains(QStringLiteral("branch 3 layers")));
    auto* scale = w.controls()->findChild<QComboBox*>(QStringLiteral("residual_scale"));
    QVERIFY(scale);
    scale->setCurrentIndex(scale->findData(static_cast<int>(ResidualScale::InvSqrtDepth)));
    // gamma = 1/sqrt(10) = 0.316 to three digits
    QVERIFY2(d->description().contains(QStringLiteral("x + 0.316\u00b7F(x)")),
             qPrintable(d->description()));
    auto* arch = w.controls()->findChild<QComboBox*>(QStringLiteral("arch"));
    QVERIFY(arch);
    arch->setCurrentIndex(arch->findData(static_cast<int>(Arch::Mlp)));
    QVERIFY2(d->description().startsWith(QStringLiteral("mlp: x (64) \u2192 10 layers of 64")),
             qPrintable(d->description()));
    // painting draws something: lines and text (pixels far from the background), and the
    // drawing of a resnet is not the drawing of an mlp
    auto inked = [d] {
        const QImage img = d->grab().toImage();
        const int base = qGray(d->palette().color(QPalette::Base).rgb());
        int n = 0;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                n += std::abs(qGray(img.pixel(x, y)) - base) > 80;
        return std::make_pair(n, img);
    };
    const auto [mlpInk, mlpImage] = inked();
    QVERIFY2(mlpInk > 300, qPrintable(QString::number(mlpInk)));
    arch->setCurrentIndex(arch->findData(static_cast<int>(Arch::Resnet)));
    QVERIFY(d->description().startsWith(QStringLiteral("resnet: 10 blocks")));
    const auto [resnetInk, resnetImage] = inked();
    QVERIFY2(resnetInk > 300, qPrintable(QString::number(resnetInk)));
    QVERIFY(mlpImage != resnetImage);
}

INITSCOPE_GUI_TEST_MAIN(TestFamilies)
// The Jacobian view of a resnet is of the stream, dx^L/dx^0, and its mean field the product of
// 1 + gamma^2 chi_F over the blocks; zero-gamma shows every singular value exactly 1.
void TestFamilies::jacobianNamesTheStream() {
    JacobianView view;
    view.resize(900, 600);
    view.show();
    view.setInputs(2);
    NetworkSpec s = resnetSpec();
    s.residualScale = ResidualScale::Zero;
    QSignalSpy shown(&view, &JacobianView::resultShown);
    view.setSpec(s);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), kTimeoutMs);
    const QString title = view.chartView()->chart()->title();
    QVERIFY2(title.contains(QStringLiteral("10 residual blocks")), qPrintable(title));
    QVERIFY2(title.contains(QStringLiteral("\u2202x\u1d38/\u2202x\u2070")), qPrintable(title));
    QVERIFY2(view.summaryText().contains(QStringLiteral("(1 + \u03b3\u00b2\u03c7_F)")),
             qPrintable(view.summaryText()));
    for (const JacobianInput& in : view.result().inputs)
        for (double sv : in.singularValues)
            QVERIFY2(std::abs(sv - 1.0) <= 1e-12, qPrintable(QString::number(sv, 'g', 17)));
    const auto axes = view.chartView()->chart()->axes(Qt::Horizontal);
    QVERIFY(!axes.isEmpty());
    QVERIFY(axes.front()->titleText().contains(QStringLiteral("\u2202x\u1d38/\u2202x\u2070")));
}

// An rnn in the window: the family's own controls show (W's scheme, the input schedule) and the
// resnet's hide, depth and width are named time steps and hidden units, a run draws one point
// per time step on charts whose axis is "time step t", and the diagram says what it draws.
void TestFamilies::rnnControlsAndRun() {
    MainWindow w;
    w.resize(1280, 720);
    w.show();
    NetworkSpec s;
    s.arch = Arch::Rnn;
    s.depth = 12;
    s.width = 64;
    s.inputDim = 16;
    s.batch = 16;
    s.recurrentInit = RecurrentInit::Scheme;
    s.recurrentScheme = InitScheme::Orthogonal;
    w.setSpec(s);
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(waitForSettled(w));
    ControlPanel* c = w.controls();
    auto* recurrent = c->findChild<QComboBox*>(QStringLiteral("recurrent_init"));
    auto* input = c->findChild<QComboBox*>(QStringLiteral("rnn_input"));
    auto* branch = c->findChild<QSpinBox*>(QStringLiteral("branch_depth"));
    auto* arch = c->findChild<QComboBox*>(QStringLiteral("arch"));
    QVERIFY(recurrent && input && branch && arch);
    QVERIFY(recurrent->isVisibleTo(c) && recurrent->isEnabled());
    QVERIFY(input->isVisibleTo(c));
    QVERIFY(!branch->isVisibleTo(c));
    QCOMPARE(recurrent->currentText(), QStringLiteral("orthogonal"));
    QCOMPARE(input->currentText(), QStringLiteral("every-step"));
    auto* depth = c->findChild<LogIntControl*>(QStringLiteral("depth"));
    QVERIFY(depth);
    QCOMPARE(depth->spinBox()->suffix(), QStringLiteral(" steps"));
    bool named = false;
    for (QLabel* l : c->findChildren<QLabel*>())
        named = named || l->text() == QStringLiteral("Time steps T");
    QVERIFY(named);
    QVERIFY2(
        c->diagram()->description().startsWith(QStringLiteral("rnn: 12 time steps, 64 hidden")),
        qPrintable(c->diagram()->description()));

    for (const QString& view : figureNames())
        QVERIFY(w.showView(view));
    QVERIFY(waitForSettled(w));
    for (LayerChart* chart : {w.signalChart(), w.gradientChart(), w.correlationChart()}) {
        QCOMPARE(xAxisTitle(chart), QStringLiteral("time step t"));
        QCOMPARE(chart->points(0).size(), qsizetype{12}); // drawn: one point per time step
        for (const QPointF& p : chart->points(0))
            QVERIFY(std::isfinite(p.y()));
    }
    QVERIFY(w.signalChart()->titleText().contains(QStringLiteral("hidden pre-activations")));
    QCOMPARE(w.distributionView()->xAxisTitle(), QStringLiteral("time step t"));

    // the schedule edited as a user does reaches the spec; an mlp hides the recurrent controls
    input->setCurrentIndex(input->findData(static_cast<int>(RnnInput::FirstStep)));
    QCOMPARE(c->spec().rnnInput, RnnInput::FirstStep);
    QVERIFY(c->diagram()->description().contains(QStringLiteral("at t = 1 only")));
    QVERIFY(validate(c->spec()).empty());
    arch->setCurrentIndex(arch->findData(static_cast<int>(Arch::Mlp)));
    QVERIFY(!recurrent->isVisibleTo(c));
    QVERIFY(branch->isVisibleTo(c));
    QCOMPARE(depth->spinBox()->suffix(), QStringLiteral(" layers"));
    QCOMPARE(c->spec().recurrentInit, RecurrentInit::None);
    QVERIFY(validate(c->spec()).empty());
}

#include "test_families.moc"

#include "views/viewregistry.h"

#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "export/figure.h"
#include "spec/preset.h"
#include "views/ensembleview.h"
#include "views/jacobianview.h"
#include "views/mamlview.h"
#include "views/ntkview.h"
#include "views/phaseview.h"
#include "views/pinnview.h"
#include "views/rlview.h"
#include "views/sweepview.h"
#include "views/trainabilityview.h"
#include "views/trainview.h"

#include <QCoreApplication>
#include <QMetaObject>

#include <concepts>

namespace initscope::ui {

namespace {
constexpr const char* kContext = "initscope::ui::Views";

using Done = std::function<void()>;

/// A layer view's row: `make` builds and feeds a fresh chart of a run.
ViewInfo layerView(const char* name, const char* title, const char* toolTip, QKeySequence key,
                   std::function<std::unique_ptr<QWidget>(const FigureData&)> make) {
    ViewInfo v;
    v.name = QString::fromLatin1(name);
    v.title = title;
    v.toolTip = toolTip;
    v.shortcut = key;
    v.group = ViewGroup::Layers;
    v.makeFigure = std::move(make);
    return v;
}

/// An analysis view's row for class V: made, fed its spec and copied through V's own members
/// (setSpec, showSameAs); `parts`, `start` and `apply` are the view's own.
template <class V>
ViewInfo analysisView(const char* name, const char* title, const char* toolTip, QKeySequence key,
                      ViewGroup group, std::vector<QWidget*> (*parts)(V*),
                      void (*start)(V*, const Done&), void (*apply)(V*, const Preset&) = nullptr,
                      QString (*problems)(V*) = nullptr) {
    ViewInfo v;
    v.name = QString::fromLatin1(name);
    v.title = title;
    v.toolTip = toolTip;
    v.shortcut = key;
    v.group = group;
    v.type = &V::staticMetaObject;
    v.make = [n = v.name]() -> QWidget* {
        auto* w = new V;
        w->setObjectName(n);
        return w;
    };
    v.setSpec = [](QWidget* w, const NetworkSpec& spec) { static_cast<V*>(w)->setSpec(spec); };
    if (apply)
        v.applyPreset = [apply](QWidget* w, const Preset& p) { apply(static_cast<V*>(w), p); };
    v.figureParts = [parts](QWidget* w) { return parts(static_cast<V*>(w)); };
    v.copy = [n = v.name](const QWidget* w) -> std::unique_ptr<QWidget> {
        auto copy = std::make_unique<V>();
        copy->setObjectName(n);
        copy->showSameAs(*static_cast<const V*>(w));
        return copy;
    };
    if (start)
        v.startFigure = [start](QWidget* w, const Done& done) { start(static_cast<V*>(w), done); };
    if (problems)
        v.figureProblems = [problems](QWidget* w) { return problems(static_cast<V*>(w)); };
    else if constexpr (requires(const V& view) {
                           { view.problems() } -> std::convertible_to<QString>;
                       })
        v.figureProblems = [](QWidget* w) { return static_cast<const V*>(w)->problems(); };
    return v;
}

bool opens(const Preset& p, const char* view) {
    return p.view == view;
}

std::vector<ViewInfo> buildRegistry() {
    const auto ctrl = [](Qt::Key k) { return QKeySequence(Qt::CTRL | k); };
    std::vector<ViewInfo> r;
    // ---- the layer views: the run of the controls, layer by layer
    r.push_back(
        layerView("signal", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Signal"),
                  QT_TRANSLATE_NOOP("initscope::ui::Views",
                                    "Signal length q per layer, measured and mean-field predicted"),
                  ctrl(Qt::Key_1), [](const FigureData& d) -> std::unique_ptr<QWidget> {
                      LayerChart* c = makeSignalChart();
                      std::unique_ptr<QWidget> owner(c);
                      feedSignal(c, d.view());
                      return owner;
                  }));
    r.push_back(layerView(
        "gradients", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Gradients"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Backpropagated gradient norms per layer, measured and predicted"),
        ctrl(Qt::Key_2), [](const FigureData& d) -> std::unique_ptr<QWidget> {
            LayerChart* c = makeGradientChart();
            std::unique_ptr<QWidget> owner(c);
            feedGradients(c, d.view());
            return owner;
        }));
    r.push_back(layerView(
        "correlation", QT_TRANSLATE_NOOP("initscope::ui::Views", "C&orrelation"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Correlation of two inputs' signals per layer, measured and predicted"),
        ctrl(Qt::Key_3), [](const FigureData& d) -> std::unique_ptr<QWidget> {
            LayerChart* c = makeCorrelationChart();
            std::unique_ptr<QWidget> owner(c);
            feedCorrelation(c, d.view());
            return owner;
        }));
    r.push_back(layerView("distribution",
                          QT_TRANSLATE_NOOP("initscope::ui::Views", "&Distribution"),
                          QT_TRANSLATE_NOOP("initscope::ui::Views",
                                            "Histogram of the pre-activations of every layer"),
                          ctrl(Qt::Key_4), [](const FigureData& d) -> std::unique_ptr<QWidget> {
                              HeatmapWidget* h = makeDistributionView();
                              std::unique_ptr<QWidget> owner(h);
                              showHeatmap(h, d.distribution, d.spec);
                              return owner;
                          }));
    r.push_back(layerView(
        "activations", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Activations"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "The activations of single units, layer by layer"),
        ctrl(Qt::Key_5), [](const FigureData& d) -> std::unique_ptr<QWidget> {
            HeatmapWidget* h = makeActivationView();
            std::unique_ptr<QWidget> owner(h);
            showHeatmap(h, d.perLayerActivations ? d.activationsPerLayer : d.activations, d.spec);
            return owner;
        }));
    r.push_back(
        layerView("statistic", QT_TRANSLATE_NOOP("initscope::ui::Views", "S&tatistic"),
                  QT_TRANSLATE_NOOP("initscope::ui::Views",
                                    "Any per-layer statistic of the run, chosen from a list"),
                  ctrl(Qt::Key_T), [](const FigureData& d) -> std::unique_ptr<QWidget> {
                      LayerChart* c = makeStatisticChart(d.statistic);
                      std::unique_ptr<QWidget> owner(c);
                      feedStatistic(c, d.view(), c->property("initscopeStatistic").toString());
                      return owner;
                  }));

    // ---- analysis views: each computes on its own worker
    r.push_back(analysisView<PhaseView>(
        "phase", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Phase"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Ordered and chaotic phases over sigma_w^2 and sigma_b^2; a click "
                          "sets the controls"),
        ctrl(Qt::Key_6), ViewGroup::Analysis,
        [](PhaseView* v) -> std::vector<QWidget*> { return {v->heatmap()}; },
        [](PhaseView* v, const Done& done) {
            QObject::connect(v, &PhaseView::diagramComplete, v, done);
        }));
    r.push_back(analysisView<JacobianView>(
        "jacobian", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Jacobian"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Singular values of the input-output Jacobian (dynamical isometry)"),
        ctrl(Qt::Key_7), ViewGroup::Analysis,
        [](JacobianView* v) -> std::vector<QWidget*> { return {v->chartView()}; },
        [](JacobianView* v, const Done& done) {
            QObject::connect(v, &JacobianView::resultShown, v, done);
        },
        [](JacobianView* v, const Preset& p) {
            if (opens(p, "jacobian") && p.viewInputs > 0)
                v->setInputs(p.viewInputs);
        }));
    r.push_back(analysisView<NtkView>(
        "ntk", QT_TRANSLATE_NOOP("initscope::ui::Views", "&NTK"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "The neural tangent kernel: its spectrum, condition and the kernel"),
        ctrl(Qt::Key_8), ViewGroup::Analysis,
        [](NtkView* v) -> std::vector<QWidget*> {
            return {v->spectrumChart(), v->conditionChart(), v->kernelMap()};
        },
        [](NtkView* v, const Done& done) { QObject::connect(v, &NtkView::resultShown, v, done); },
        [](NtkView* v, const Preset& p) {
            if (opens(p, "ntk") && p.viewInputs > 0)
                v->setInputs(p.viewInputs);
        }));
    r.push_back(analysisView<EnsembleView>(
        "ensemble", QT_TRANSLATE_NOOP("initscope::ui::Views", "&Ensemble"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Signal, gradients and correlation over many seeds, with bands"),
        ctrl(Qt::Key_9), ViewGroup::Analysis,
        [](EnsembleView* v) -> std::vector<QWidget*> {
            return {v->signalChart(), v->gradientChart(), v->correlationChart()};
        },
        [](EnsembleView* v, const Done& done) {
            QObject::connect(v, &EnsembleView::resultShown, v, done);
        }));
    r.push_back(analysisView<SweepView>(
        "sweep", QT_TRANSLATE_NOOP("initscope::ui::Views", "S&weep"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "A run scalar against one setting swept over a range"),
        ctrl(Qt::Key_0), ViewGroup::Analysis,
        [](SweepView* v) -> std::vector<QWidget*> { return {v->chartView()}; },
        [](SweepView* v, const Done& done) {
            QObject::connect(v, &SweepView::sweepFinished, v, done);
        }));

    // ---- training
    r.push_back(analysisView<TrainView>(
        "training", QT_TRANSLATE_NOOP("initscope::ui::Views", "T&raining"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Train the network: loss, accuracy and a statistic per step"),
        {}, ViewGroup::Training,
        [](TrainView* v) -> std::vector<QWidget*> {
            return {v->lossChart(), v->accuracyChart(), v->statisticChart(), v->heatmap()};
        },
        [](TrainView* v, const Done& done) {
            QObject::connect(v, &TrainView::trainingEnded, v, done);
            v->start(); // the window waits for Start; an export trains the preset's steps
        },
        [](TrainView* v, const Preset& p) {
            if (p.train) // any preset's train block (the lessons open this view with one)
                v->setTrainSpec(*p.train);
            if (p.train && !p.statistic.empty()) // the statistic its lesson is about
                v->setStatistic(QString::fromStdString(p.statistic));
        },
        [](TrainView* v) { return v->failure().isEmpty() ? v->problems() : v->failure(); }));
    // ---- applications (tab order: training, pinn, maml, trainability, rl)
    r.push_back(analysisView<PinnView>(
        "pinn", QT_TRANSLATE_NOOP("initscope::ui::Views", "P&INN"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "A physics-informed network: the initialization's frequency bias"),
        {}, ViewGroup::Applications,
        [](PinnView* v) -> std::vector<QWidget*> {
            return {v->lawChart(), v->trainingChart(), v->initMap(), v->smallMap(), v->largeMap()};
        },
        [](PinnView* v, const Done& done) { QObject::connect(v, &PinnView::finished, v, done); },
        [](PinnView* v, const Preset& p) {
            if (opens(p, "pinn"))
                v->setSettings(p.pinn.value_or(PinnSpec{}));
        }));
    r.push_back(analysisView<MamlView>(
        "maml", QT_TRANSLATE_NOOP("initscope::ui::Views", "&MAML"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Meta-learning an initialization: the learned sigma_w^2 per layer"),
        {}, ViewGroup::Applications,
        [](MamlView* v) -> std::vector<QWidget*> {
            return {v->sigmaChart(), v->saturationChart(), v->gradientChart(), v->lossChart()};
        },
        [](MamlView* v, const Done& done) { QObject::connect(v, &MamlView::resultShown, v, done); },
        [](MamlView* v, const Preset& p) {
            if (opens(p, "maml") && p.maml)
                v->setSettings(*p.maml);
        }));
    r.push_back(analysisView<TrainabilityView>(
        "trainability", QT_TRANSLATE_NOOP("initscope::ui::Views", "Trainabilit&y"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Which depths and sigma_w^2 train: a map of trained networks"),
        {}, ViewGroup::Training,
        [](TrainabilityView* v) -> std::vector<QWidget*> { return {v->heatmap()}; },
        [](TrainabilityView* v, const Done& done) {
            QObject::connect(v, &TrainabilityView::mapComplete, v, done);
            v->start(); // the window waits for Start; an export draws the whole map
        },
        [](TrainabilityView* v, const Preset& p) {
            if (opens(p, "trainability") && p.trainability)
                v->setSettings(*p.trainability);
        }));
    r.push_back(analysisView<RlView>(
        "rl", QT_TRANSLATE_NOOP("initscope::ui::Views", "R&L"),
        QT_TRANSLATE_NOOP("initscope::ui::Views",
                          "Optimism through the output bias: Q-learning on a bandit"),
        {}, ViewGroup::Applications,
        [](RlView* v) -> std::vector<QWidget*> {
            return {v->histogramChart(), v->regretChart(), v->triedChart(), v->qChart()};
        },
        [](RlView* v, const Done& done) {
            QObject::connect(v, &RlView::resultShown, v, done);
            v->setRunsLongEstimates(true); // the window waits for Run on those; an export runs
        },
        [](RlView* v, const Preset& p) {
            if (opens(p, "rl") && p.rl)
                v->setRlSpec(*p.rl);
        }));
    return r;
}
} // namespace

QString ViewInfo::tabTitle() const {
    return QCoreApplication::translate(kContext, title);
}

QString ViewInfo::toolTipText() const {
    return QCoreApplication::translate(kContext, toolTip);
}

const std::vector<ViewInfo>& viewRegistry() {
    static const std::vector<ViewInfo> r = buildRegistry();
    return r;
}

const ViewInfo* findView(const QString& name) {
    const QString n = name.toLower();
    for (const ViewInfo& v : viewRegistry())
        if (v.name == n)
            return &v;
    return nullptr;
}

const ViewInfo* findView(const QWidget* widget) {
    if (!widget)
        return nullptr;
    for (const ViewInfo& v : viewRegistry())
        if (v.type && widget->metaObject()->inherits(v.type))
            return &v;
    return nullptr;
}

QString viewGroupTitle(ViewGroup group) {
    switch (group) {
    case ViewGroup::Layers:
        return QCoreApplication::translate(kContext, "Layers");
    case ViewGroup::Analysis:
        return QCoreApplication::translate(kContext, "Analysis");
    case ViewGroup::Training:
        return QCoreApplication::translate(kContext, "Training");
    case ViewGroup::Applications:
        return QCoreApplication::translate(kContext, "Applications");
    }
    return {};
}

namespace {
template <class Keep> QStringList namesWhere(Keep keep) {
    QStringList out;
    for (const ViewInfo& v : viewRegistry())
        if (keep(v))
            out << v.name;
    return out;
}
} // namespace

QStringList viewNames() {
    return namesWhere([](const ViewInfo&) { return true; });
}

QStringList layerViewNames() {
    return namesWhere([](const ViewInfo& v) { return v.isLayerView(); });
}

QStringList analysisViewNames() {
    return namesWhere([](const ViewInfo& v) { return !v.isLayerView(); });
}

QStringList exportableViewNames() {
    return namesWhere(
        [](const ViewInfo& v) { return v.isLayerView() || static_cast<bool>(v.startFigure); });
}

} // namespace initscope::ui

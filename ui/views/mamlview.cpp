#include "views/mamlview.h"

#include "charts/viewcharts.h"
#include "network/engine.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPen>
#include <QProgressBar>
#include <QPushButton>
#include <QShowEvent>
#include <QSpinBox>
#include <QVBoxLayout>

#include <QValueAxis>
#include <initializer_list>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {

constexpr MamlTasks kFamilies[2] = {MamlTasks::Steep, MamlTasks::Gentle};

QString familyName(MamlTasks t) {
    return QString::fromStdString(mamlTasksName(t));
}

/// steep in warm colours (solid), gentle in cool ones (dashed); a shade per layer.
QColor familyColor(int family, int layer) {
    static const int steep[] = {1, 3, 5, 6}, gentle[] = {0, 9, 2, 4};
    return charts::color(family == 0 ? steep[layer % 4] : gentle[layer % 4]);
}

QString familyRanges(MamlTasks t) {
    const SineFamily f = sineFamily(t);
    return QObject::tr("A \u2208 [%1, %2], \u03c9 \u2208 [%3, %4]")
        .arg(f.ampLo)
        .arg(f.ampHi)
        .arg(f.freqLo)
        .arg(f.freqHi);
}

} // namespace

MamlView::MamlView(QWidget* parent) : QWidget(parent) {
    const MamlViewSettings d;
    depth_ = new QSpinBox;
    depth_->setRange(1, 6);
    depth_->setValue(2);
    depth_->setToolTip(tr("tanh layers of the network (the one-unit linear readout follows)"));
    width_ = new QSpinBox;
    width_->setRange(4, 256);
    width_->setValue(40);
    width_->setSuffix(tr(" units"));
    metaSteps_ = new QSpinBox;
    metaSteps_->setRange(1, MamlViewSettings::kMaxViewMetaSteps);
    metaSteps_->setValue(d.metaSteps);
    metaSteps_->setToolTip(tr("Outer (Adam) updates of the initialisation, each over a batch of "
                              "8 tasks"));
    innerSteps_ = new QSpinBox;
    innerSteps_->setRange(1, MamlSpec::kMaxInnerSteps);
    innerSteps_->setValue(d.innerSteps);
    innerSteps_->setToolTip(tr("SGD steps on a task's support points before its query loss"));
    support_ = new QSpinBox;
    support_->setRange(1, MamlSpec::kMaxPoints);
    support_->setValue(d.support);
    support_->setSuffix(tr(" points"));
    support_->setToolTip(
        tr("Points of a task's support set K, which the inner steps fit (the "
           "steep family needs about 50 and 10 inner steps at 0.02 to be fitted)"));
    query_ = new QSpinBox;
    query_->setRange(1, MamlSpec::kMaxPoints);
    query_->setValue(d.query);
    query_->setSuffix(tr(" points"));
    query_->setToolTip(tr("Points of a task's query set, whose loss after the inner steps the "
                          "meta-step lowers"));
    innerLr_ = new QDoubleSpinBox;
    innerLr_->setDecimals(4);
    innerLr_->setRange(1e-4, 1.0);
    innerLr_->setSingleStep(0.001);
    innerLr_->setValue(d.innerLr);
    innerLr_->setToolTip(tr("Inner SGD rate \u03b1"));
    metaLr_ = new QDoubleSpinBox;
    metaLr_->setDecimals(4);
    metaLr_->setRange(1e-4, 0.1);
    metaLr_->setSingleStep(0.0005);
    metaLr_->setValue(d.metaLr);
    metaLr_->setToolTip(tr("Adam's rate \u03b2 on the initialisation"));
    seeds_ = new QSpinBox;
    seeds_->setRange(1, MamlViewSettings::kMaxSeeds);
    seeds_->setValue(d.seeds);
    seeds_->setToolTip(tr("Seeds per family (seed, seed + 1, ...): the curves are their means"));
    start_ = new QPushButton(tr("Start"));
    start_->setObjectName(QStringLiteral("mamlStart"));
    stop_ = new QPushButton(tr("Stop"));
    progress_ = new QProgressBar;
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setFormat(tr("not started"));
    progress_->setTextVisible(true);
    status_ = new QLabel;
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    loadFamily_ = new QComboBox;
    loadFamily_->addItem(tr("steep"), QStringLiteral("steep"));
    loadFamily_->addItem(tr("gentle"), QStringLiteral("gentle"));
    load_ = new QPushButton(tr("Load learned init"));
    load_->setObjectName(QStringLiteral("mamlLoad"));
    loadLabel_ = new QLabel;
    loadLabel_->setWordWrap(true);

    auto* form = new QGridLayout;
    form->addWidget(new QLabel(tr("Depth")), 0, 0);
    form->addWidget(depth_, 0, 1);
    form->addWidget(new QLabel(tr("Width")), 0, 2);
    form->addWidget(width_, 0, 3);
    form->addWidget(new QLabel(tr("Meta-steps")), 0, 4);
    form->addWidget(metaSteps_, 0, 5);
    form->addWidget(new QLabel(tr("Seeds")), 0, 6);
    form->addWidget(seeds_, 0, 7);
    form->addWidget(new QLabel(tr("Inner steps k")), 1, 0);
    form->addWidget(innerSteps_, 1, 1);
    form->addWidget(new QLabel(tr("Inner LR \u03b1")), 1, 2);
    form->addWidget(innerLr_, 1, 3);
    form->addWidget(new QLabel(tr("Meta LR \u03b2")), 1, 4);
    form->addWidget(metaLr_, 1, 5);
    form->addWidget(new QLabel(tr("Support K")), 2, 0);
    form->addWidget(support_, 2, 1);
    form->addWidget(new QLabel(tr("Query")), 2, 2);
    form->addWidget(query_, 2, 3);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(stop_);
    buttons->addWidget(progress_, 1);
    buttons->addWidget(new QLabel(tr("Family")));
    buttons->addWidget(loadFamily_);
    buttons->addWidget(load_);

    // ---- charts ----
    sigmaView_ = charts::makeView(tr("\u03c3_w\u00b2 = fan_in \u00b7 Var(W) per layer"));
    sigmaView_->setObjectName(QStringLiteral("sigma_w2"));
    sigmaView_->setToolTip(tr("Solid: steep family, dashed: gentle; L1, L2, ...: the tanh layers, "
                              "out: the readout. Meta-step 0 is the Xavier start."));
    sigmaX_ = charts::valueAxis(sigmaView_->chart(), tr("meta-step"), Qt::AlignBottom,
                                QStringLiteral("%d"));
    sigmaY_ = charts::logAxis(sigmaView_->chart(), tr("\u03c3_w\u00b2 (log)"), Qt::AlignLeft);
    sigmaY_->setRange(0.01, 10);
    charts::restyle(sigmaView_);

    const auto familyChart = [&](const QString& title, const QString& name, const QString& yTitle,
                                 bool log, QValueAxis*& x, QValueAxis** yLin, QLogValueAxis** yLog,
                                 QLineSeries** series) {
        QChartView* v = charts::makeView(title);
        v->setObjectName(name);
        x = charts::valueAxis(v->chart(), tr("meta-step"), Qt::AlignBottom, QStringLiteral("%d"));
        QAbstractAxis* y = nullptr;
        if (log) {
            *yLog = charts::logAxis(v->chart(), yTitle, Qt::AlignLeft);
            (*yLog)->setRange(0.01, 10);
            y = *yLog;
        } else {
            *yLin = charts::valueAxis(v->chart(), yTitle, Qt::AlignLeft, QStringLiteral("%.2f"));
            (*yLin)->setRange(0, 1);
            y = *yLin;
        }
        for (int f = 0; f < 2; ++f) {
            series[f] = charts::addLine(v->chart(), familyName(kFamilies[f]), familyColor(f, 0),
                                        f == 1, x, y);
            series[f]->setObjectName(familyName(kFamilies[f]) + QLatin1Char('_') + name);
        }
        charts::lineLegend(v->chart());
        charts::restyle(v);
        return v;
    };
    satView_ =
        familyChart(tr("Saturated units: |\u03c6'| < 0.05"), QStringLiteral("saturated_fraction"),
                    tr("fraction"), false, satX_, &satY_, nullptr, satSeries_);
    gradView_ =
        familyChart(tr("Inner gradient norm at the init"), QStringLiteral("inner_grad_norm"),
                    tr("\u2016\u2207L\u2016 (log)"), true, gradX_, nullptr, &gradY_, gradSeries_);
    lossView_ =
        familyChart(tr("Query loss after adaptation"), QStringLiteral("post_adaptation_loss"),
                    tr("MSE (log)"), true, lossX_, nullptr, &lossY_, lossSeries_);

    // an explicit minimum: the charts' own hints (title, axes, a legend in a column) would keep
    // the window from fitting a 1280 x 720 projector
    for (QWidget* v : std::initializer_list<QWidget*>{sigmaView_, satView_, gradView_, lossView_})
        v->setMinimumSize(200, 130);
    auto* grid = new QGridLayout;
    grid->addWidget(sigmaView_, 0, 0);
    grid->addWidget(satView_, 0, 1);
    grid->addWidget(gradView_, 1, 0);
    grid->addWidget(lossView_, 1, 1);
    auto* top = new QVBoxLayout(this);
    top->addLayout(form);
    top->addLayout(buttons);
    top->addWidget(status_);
    top->addWidget(loadLabel_);
    top->addLayout(grid, 1);

    connect(start_, &QPushButton::clicked, this, &MamlView::start);
    connect(stop_, &QPushButton::clicked, this, &MamlView::stop);
    connect(load_, &QPushButton::clicked, this, [this] {
        MamlTasks t = MamlTasks::Steep;
        parseMamlTasks(loadFamily_->currentData().toString().toStdString(), t);
        if (LoadedWeightsPtr w = learnedWeights(t))
            emit weightsRequested(w);
    });
    connect(loadFamily_, &QComboBox::currentIndexChanged, this, [this] { updateLoadText(); });
    status_->setText(tr("Meta-learns the init of a tanh net on sine tasks y = A sin(\u03c9x + p), "
                        "x \u2208 [-5, 5]: steep %1 against gentle %2; second-order MAML, "
                        "Adam on the init.")
                         .arg(familyRanges(MamlTasks::Steep), familyRanges(MamlTasks::Gentle)));
    updateButtons();
    updateLoadText();
}

MamlView::~MamlView() = default; // the worker cancels and joins

void MamlView::setSpec(const NetworkSpec& spec) {
    spec_ = spec;
    // a spec maml can meta-learn (a preset of this view, a loaded learned init) gives its shape
    if (!running_ && spec.arch == Arch::Mlp && spec.inputDim == 1 &&
        spec.activation == ActivationKind::Tanh && spec.widths.empty() &&
        spec.depth <= depth_->maximum() && spec.width >= width_->minimum() &&
        spec.width <= width_->maximum()) {
        depth_->setValue(spec.depth);
        width_->setValue(spec.width);
    }
}

void MamlView::setSettings(const MamlViewSettings& s) {
    metaSteps_->setValue(s.metaSteps);
    innerSteps_->setValue(s.innerSteps);
    innerLr_->setValue(s.innerLr);
    metaLr_->setValue(s.metaLr);
    seeds_->setValue(s.seeds);
    support_->setValue(s.support);
    query_->setValue(s.query);
    shown_.recordEvery = s.recordEvery;
    // new settings: measured afresh when the view is (or next becomes) visible
    if (running_)
        stop();
    started_ = false;
    if (isVisible())
        start();
}

QString MamlView::problems() const {
    const std::vector<SpecError> errors =
        validateMaml(networkSpec(), mamlSpecOf(settings(), kFamilies[0]));
    return QString::fromStdString(firstMessage(errors));
}

MamlViewSettings MamlView::settings() const {
    MamlViewSettings s;
    s.metaSteps = metaSteps_->value();
    s.innerSteps = innerSteps_->value();
    s.innerLr = innerLr_->value();
    s.metaLr = metaLr_->value();
    s.seeds = seeds_->value();
    s.support = support_->value();
    s.query = query_->value();
    s.recordEvery = std::max(1, std::min(shown_.recordEvery, s.metaSteps));
    return s;
}

NetworkSpec MamlView::networkSpec() const {
    NetworkSpec n = mamlDefaultSpec();
    n.depth = depth_->value();
    n.width = width_->value();
    n.seed = spec_.seed;
    n.threads = spec_.threads;
    return n;
}

QString MamlView::statusText() const {
    return status_->text();
}

QString MamlView::loadText() const {
    return loadLabel_->text();
}

void MamlView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (!started_)
        start(); // opened (a preset, the tour, the tab): show the measurement, not empty charts
}

void MamlView::updateButtons() {
    start_->setEnabled(!running_);
    stop_->setEnabled(running_);
    for (QWidget* w : std::initializer_list<QWidget*>{depth_, width_, metaSteps_, innerSteps_,
                                                      innerLr_, metaLr_, seeds_, support_, query_})
        w->setEnabled(!running_);
    load_->setEnabled(learnedSpec(MamlTasks::Steep) || learnedSpec(MamlTasks::Gentle));
}

std::optional<NetworkSpec> MamlView::learnedSpec(MamlTasks tasks) const {
    MamlRecord mean;
    int n = 0;
    for (const Run& r : runs_) {
        if (r.tasks != tasks || !r.done || r.records.empty())
            continue;
        const MamlRecord& last = r.records.back();
        if (n == 0) {
            mean.sigmaW2.assign(last.sigmaW2.size(), 0.0);
            mean.sigmaB2.assign(last.sigmaB2.size(), 0.0);
        }
        for (std::size_t l = 0; l < last.sigmaW2.size() && l < mean.sigmaW2.size(); ++l) {
            mean.sigmaW2[l] += last.sigmaW2[l];
            mean.sigmaB2[l] += last.sigmaB2[l];
        }
        ++n;
    }
    if (n == 0)
        return std::nullopt;
    for (std::size_t l = 0; l < mean.sigmaW2.size(); ++l) {
        mean.sigmaW2[l] /= n;
        mean.sigmaB2[l] /= n;
    }
    return mamlLearnedSpec(shownNet_, mean);
}

LoadedWeightsPtr MamlView::learnedWeights(MamlTasks tasks) const {
    for (const Run& r : runs_) {
        if (r.tasks != tasks || !r.done || r.records.empty() || r.learned.empty())
            continue;
        NetworkSpec net = shownNet_;
        net.seed = r.seed;
        auto w = std::make_shared<LoadedWeights>();
        w->spec = mamlLearnedSpec(net, r.records.back());
        w->weights = mamlWeights(net, r.learned).trunk;
        w->source = tr("MAML learned init, meta-step %1, %2 family, seed %3")
                        .arg(r.records.back().metaStep)
                        .arg(familyName(tasks))
                        .arg(r.seed);
        return w;
    }
    return nullptr;
}

void MamlView::updateLoadText() {
    MamlTasks t = MamlTasks::Steep;
    parseMamlTasks(loadFamily_->currentData().toString().toStdString(), t);
    const auto s = learnedSpec(t);
    if (!s) {
        loadLabel_->setText(
            tr("Load learned init: available once a %1 run has finished.").arg(familyName(t)));
        return;
    }
    const LoadedWeightsPtr w = learnedWeights(t);
    const int L = s->depth;
    loadLabel_->setText(
        tr("Load learned init (%1, seed %2) runs the main views on the learned weights "
           "themselves: depth %3, width %4, input_dim 1, tanh, every W and b of the trunk as "
           "meta-learned (the readout is not part of the main run). The controls show the "
           "closest spec, for the theory curves: lecun-normal with gain %5 = the learned "
           "\u03c3_w\u00b2 of layer%6, normal biases with \u03c3_b\u00b2 = %7.")
            .arg(familyName(t))
            .arg(w ? w->spec.seed : s->seed)
            .arg(L)
            .arg(s->width)
            .arg(w ? w->spec.gain : s->gain, 0, 'f', 3)
            .arg(L >= 3   ? tr("s 2..%1").arg(L)
                 : L == 2 ? tr(" 2")
                          : tr(" 1"))
            .arg(w ? w->spec.sigmaB2 : s->sigmaB2, 0, 'g', 3));
}

void MamlView::start() {
    if (running_)
        return;
    started_ = true;
    shown_ = settings();
    shownNet_ = networkSpec();
    if (const QString problem = problems(); !problem.isEmpty()) {
        status_->setText(tr("Cannot run: %1").arg(problem));
        return;
    }
    runs_.clear();
    for (int s = 0; s < shown_.seeds; ++s)
        for (MamlTasks t : kFamilies) {
            Run r;
            r.tasks = t;
            r.seed = shownNet_.seed + std::uint64_t(s);
            runs_.push_back(std::move(r));
        }
    running_ = true;
    stepsDone_ = 0;
    const int total = static_cast<int>(runs_.size()) * shown_.metaSteps;
    progress_->setRange(0, total);
    progress_->setValue(0);
    progress_->setFormat(tr("%v / %m meta-steps"));
    draw();
    updateButtons();
    updateLoadText();

    const NetworkSpec net = shownNet_;
    const MamlViewSettings vs = shown_;
    std::vector<std::pair<MamlTasks, std::uint64_t>> plan;
    for (const Run& r : runs_)
        plan.emplace_back(r.tasks, r.seed);
    worker_.submit([this, net, vs, plan](quint64 gen, std::atomic<bool>& cancel) {
        class Sink : public MamlSink {
        public:
            Sink(MamlView* v, JobWorker& w, quint64 g, int run) : v_(v), w_(w), g_(g), run_(run) {}
            void record(const MamlRecord& r) override {
                w_.post(g_, [v = v_, run = run_, r] { v->received(run, r); });
            }
            void progress(int done) override {
                // a tick every 10 meta-steps is plenty for the bar
                if (done % 10 == 0)
                    w_.post(g_, [v = v_, run = run_, done] {
                        v->stepsDone_ = run * v->shown_.metaSteps + done;
                        v->progress_->setValue(v->stepsDone_);
                    });
            }

        private:
            MamlView* v_;
            JobWorker& w_;
            quint64 g_;
            int run_;
        };
        for (int i = 0; i < static_cast<int>(plan.size()); ++i) {
            if (cancel.load())
                return;
            NetworkSpec s = net;
            s.seed = plan[std::size_t(i)].second;
            Sink sink(this, worker_, gen, i);
            QString error;
            std::vector<double> learned;
            try {
                learned =
                    runMaml(s, mamlSpecOf(vs, plan[std::size_t(i)].first), &sink, &cancel).learned;
            } catch (const std::exception& e) {
                error = QString::fromUtf8(e.what());
            }
            if (cancel.load())
                return;
            worker_.post(gen, [this, i, error, l = std::move(learned)]() mutable {
                runDone(i, error, std::move(l));
            });
        }
    });
}

void MamlView::stop() {
    if (!running_)
        return;
    worker_.cancel();
    running_ = false;
    progress_->setFormat(tr("stopped at %v / %m meta-steps"));
    status_->setText(tr("Stopped: the curves show the meta-steps done."));
    updateButtons();
}

void MamlView::received(int run, const MamlRecord& r) {
    if (run < 0 || run >= static_cast<int>(runs_.size()))
        return;
    runs_[std::size_t(run)].records.push_back(r);
    draw();
}

void MamlView::runDone(int run, const QString& error, std::vector<double> learned) {
    if (run < 0 || run >= static_cast<int>(runs_.size()))
        return;
    runs_[std::size_t(run)].done = true;
    runs_[std::size_t(run)].learned = std::move(learned);
    if (!error.isEmpty()) {
        running_ = false;
        status_->setText(tr("Meta-learning failed: %1").arg(error));
        updateButtons();
        return;
    }
    const bool all = std::all_of(runs_.begin(), runs_.end(), [](const Run& x) { return x.done; });
    if (all)
        running_ = false;
    updateButtons();
    updateLoadText();
    if (!all)
        return;
    progress_->setValue(progress_->maximum());
    progress_->setFormat(
        tr("done: %1 runs of %2 meta-steps").arg(runs_.size()).arg(shown_.metaSteps));
    // the measured summary: first and last record of each family, means over the seeds
    QString text;
    for (int f = 0; f < 2; ++f) {
        std::vector<double> first, last;
        double sat0 = 0, sat1 = 0, g0 = 0, g1 = 0;
        int n = 0;
        for (const Run& x : runs_) {
            if (x.tasks != kFamilies[f] || x.records.empty())
                continue;
            const MamlRecord &a = x.records.front(), &b = x.records.back();
            if (first.empty()) {
                first.assign(a.sigmaW2.size(), 0.0);
                last.assign(b.sigmaW2.size(), 0.0);
            }
            for (std::size_t l = 0; l < first.size(); ++l) {
                first[l] += a.sigmaW2[l];
                last[l] += b.sigmaW2[l];
            }
            sat0 += a.saturatedFraction;
            sat1 += b.saturatedFraction;
            g0 += a.innerGradNorm;
            g1 += b.innerGradNorm;
            ++n;
        }
        if (n == 0)
            continue;
        QStringList a, b;
        for (std::size_t l = 0; l < first.size(); ++l) {
            a << QString::number(first[l] / n, 'f', 2);
            b << QString::number(last[l] / n, 'f', 2);
        }
        text += tr("%1: \u03c3_w\u00b2 per layer %2 \u2192 %3, saturated %4 \u2192 %5, "
                   "inner gradient %6 \u2192 %7. ")
                    .arg(familyName(kFamilies[f]), a.join(QStringLiteral(", ")),
                         b.join(QStringLiteral(", ")))
                    .arg(sat0 / n, 0, 'f', 3)
                    .arg(sat1 / n, 0, 'f', 3)
                    .arg(g0 / n, 0, 'f', 2)
                    .arg(g1 / n, 0, 'f', 2);
    }
    status_->setText(tr("Means over %1 seeds after %2 meta-steps. %3")
                         .arg(shown_.seeds)
                         .arg(shown_.metaSteps)
                         .arg(text));
    emit resultShown();
}

template <class F> QList<QPointF> MamlView::meanCurve(MamlTasks tasks, F&& value) const {
    // record i of every seed of the family (the seeds record at the same meta-steps)
    QList<QPointF> out;
    for (std::size_t i = 0;; ++i) {
        double sum = 0;
        int n = 0, step = 0;
        for (const Run& r : runs_)
            if (r.tasks == tasks && i < r.records.size()) {
                const double v = value(r.records[i]);
                if (!std::isfinite(v))
                    continue;
                sum += v;
                step = r.records[i].metaStep;
                ++n;
            }
        if (n == 0)
            break;
        out.append({double(step), sum / n});
    }
    return out;
}

void MamlView::draw() {
    const int layers = shownNet_.depth + 1;
    QChart* c = sigmaView_->chart();
    if (static_cast<int>(sigmaSeries_.size()) != 2 * layers) {
        for (QLineSeries* s : sigmaSeries_) {
            c->removeSeries(s);
            delete s;
        }
        sigmaSeries_.clear();
        for (int f = 0; f < 2; ++f)
            for (int l = 0; l < layers; ++l) {
                const QString layerName = l == layers - 1 ? tr("out") : tr("L%1").arg(l + 1);
                QLineSeries* s =
                    charts::addLine(c, tr("%1 %2").arg(familyName(kFamilies[f]), layerName),
                                    familyColor(f, l), f == 1, sigmaX_, sigmaY_);
                s->setObjectName(QStringLiteral("%1_sigma_w2_%2")
                                     .arg(familyName(kFamilies[f]))
                                     .arg(l == layers - 1 ? QStringLiteral("readout")
                                                          : QStringLiteral("layer%1").arg(l + 1)));
                sigmaSeries_.push_back(s);
            }
        charts::lineLegend(c);
        c->legend()->setAlignment(Qt::AlignRight); // one entry per layer and family: a column
    }
    double last = 10;
    for (const Run& r : runs_)
        if (!r.records.empty())
            last = std::max(last, double(r.records.back().metaStep));
    for (QValueAxis* x : {sigmaX_, satX_, gradX_, lossX_})
        charts::integerTicks(x, 0, last, 5);
    std::vector<double> sw, gn, ls;
    double satHi = 0;
    QList<QPointF> sig[2][8], sat[2], grad[2], loss[2];
    for (int f = 0; f < 2; ++f) {
        for (int l = 0; l < layers && l < 8; ++l) {
            sig[f][l] = meanCurve(kFamilies[f], [l](const MamlRecord& x) {
                return std::size_t(l) < x.sigmaW2.size() ? x.sigmaW2[std::size_t(l)] : kNaN;
            });
            for (const QPointF& p : sig[f][l])
                sw.push_back(p.y());
        }
        sat[f] = meanCurve(kFamilies[f], [](const MamlRecord& x) { return x.saturatedFraction; });
        grad[f] = meanCurve(kFamilies[f], [](const MamlRecord& x) { return x.innerGradNorm; });
        loss[f] = meanCurve(kFamilies[f], [](const MamlRecord& x) { return x.postLoss; });
        for (const QPointF& p : sat[f])
            satHi = std::max(satHi, p.y());
        for (const QPointF& p : grad[f])
            gn.push_back(p.y());
        for (const QPointF& p : loss[f])
            ls.push_back(p.y());
    }
    // axes before points (a log axis without a valid range would stroke infinities)
    charts::fitLog(sigmaY_, sw);
    charts::fitLog(gradY_, gn);
    charts::fitLog(lossY_, ls);
    charts::fitLinear(satY_, 0, std::max(0.05, satHi), 0.05);
    satY_->setMin(0); // a fraction: the padding below 0 would show an impossible range
    for (int f = 0; f < 2; ++f) {
        for (int l = 0; l < layers && l < 8; ++l)
            charts::setPoints(sigmaSeries_[std::size_t(f * layers + l)], sig[f][l]);
        charts::setPoints(satSeries_[f], sat[f]);
        charts::setPoints(gradSeries_[f], grad[f]);
        charts::setPoints(lossSeries_[f], loss[f]);
    }
}

void MamlView::showSameAs(const MamlView& other) {
    started_ = true;
    depth_->setValue(other.depth_->value());
    width_->setValue(other.width_->value());
    setSettings(other.shown_);
    shown_ = other.shown_;
    shownNet_ = other.shownNet_;
    spec_ = other.spec_;
    runs_ = other.runs_;
    status_->setText(other.status_->text());
    draw();
    updateButtons();
    updateLoadText();
}

} // namespace initscope::ui

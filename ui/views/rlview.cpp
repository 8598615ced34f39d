#include "views/rlview.h"

#include "charts/viewcharts.h"

#include <QChart>
#include <QChartView>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

namespace initscope::ui {

namespace {
QString num(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 3) : QStringLiteral("n/a");
}

const char* const kInitKeys[] = {"zero", "optimistic", "optimistic_large"};

/// The inits by their CLI/JSON names (short, so that four legend entries fit a chart; what each
/// one is, with its Q_opt and weight variance, is in the summary line and the controls).
QString initLabel(int i) {
    switch (i) {
    case 0:
        return QObject::tr("zero");
    case 1:
        return QObject::tr("optimistic");
    default:
        return QObject::tr("optimistic-large");
    }
}

/// Progress of the three inits, summed (they run side by side).
class Progress : public RlSink {
public:
    Progress(JobWorker& w, quint64 gen, QProgressBar* bar, int episodes)
        : worker_(w), gen_(gen), bar_(bar), done_{0, 0, 0}, episodes_(episodes) {}
    void progress(int init, int episode, int /*episodes*/) override {
        done_[static_cast<std::size_t>(init)] = episode;
        const int sum = done_[0] + done_[1] + done_[2];
        // at most ~100 updates of the bar
        if (sum - last_ < 3 * episodes_ / 100 && sum != 3 * episodes_)
            return;
        last_ = sum;
        QProgressBar* bar = bar_;
        worker_.post(gen_, [bar, sum] { bar->setValue(sum); });
    }

private:
    JobWorker& worker_;
    quint64 gen_;
    QProgressBar* bar_;
    std::array<int, 3> done_;
    int episodes_;
    int last_ = 0;
};
} // namespace

RlView::RlView(QWidget* parent)
    : QWidget(parent), refresh_(this, kDebounceMs, [this] { compute(false); }) {
    const RlSpec defaults;
    qOpt_ = new QDoubleSpinBox;
    qOpt_->setObjectName(QStringLiteral("rlQOpt"));
    qOpt_->setRange(-1000, 1000);
    qOpt_->setDecimals(2);
    qOpt_->setSingleStep(0.25);
    qOpt_->setValue(defaults.qOpt);
    qOpt_->setToolTip(tr("Q_opt: the readout bias of the two optimistic inits (rewards are in "
                         "[0, 1], so Q_opt >= 1 is optimistic for every action)."));
    episodes_ = new QSpinBox;
    episodes_->setObjectName(QStringLiteral("rlEpisodes"));
    episodes_->setRange(1, RlSpec::kMaxEpisodes);
    episodes_->setSingleStep(500);
    episodes_->setValue(defaults.episodes);
    episodes_->setToolTip(tr("Episodes (one state, one greedy action, one reward, one SGD "
                             "update each)."));
    actions_ = new QSpinBox;
    actions_->setObjectName(QStringLiteral("rlActions"));
    actions_->setRange(2, RlSpec::kMaxActions);
    actions_->setValue(defaults.actions);
    actions_->setToolTip(tr("K: arms of the bandit, outputs of the Q-network."));
    states_ = new QSpinBox;
    states_->setObjectName(QStringLiteral("rlStates"));
    states_->setRange(1, RlSpec::kMaxStates);
    states_->setValue(defaults.states);
    states_->setToolTip(tr("S: the bandit's states (Gaussian feature vectors of the spec's "
                           "input distribution)."));
    largeGain_ = new QDoubleSpinBox;
    largeGain_->setObjectName(QStringLiteral("rlLargeGain"));
    largeGain_->setRange(1e-3, 1e6);
    largeGain_->setDecimals(1);
    largeGain_->setValue(defaults.largeGain);
    largeGain_->setToolTip(tr("The readout weight variance multiplier of the third init (its "
                              "Q-values spread sqrt(G) times wider)."));
    lr_ = new QDoubleSpinBox;
    lr_->setObjectName(QStringLiteral("rlLearningRate"));
    lr_->setRange(1e-5, 10);
    lr_->setDecimals(4);
    lr_->setSingleStep(0.005);
    lr_->setValue(defaults.learningRate);
    lr_->setToolTip(tr("SGD step of the Q-learning updates."));
    for (QDoubleSpinBox* b : {qOpt_, largeGain_, lr_})
        connect(b, &QDoubleSpinBox::valueChanged, this, [this] { refresh_.restart(); });
    for (QSpinBox* b : {episodes_, actions_, states_})
        connect(b, &QSpinBox::valueChanged, this, [this] { refresh_.restart(); });

    run_ = new QPushButton(tr("Run"));
    run_->setObjectName(QStringLiteral("rlRun"));
    cancel_ = new QPushButton(tr("Cancel"));
    cancel_->setObjectName(QStringLiteral("rlCancel"));
    cancel_->setEnabled(false);
    connect(run_, &QPushButton::clicked, this, &RlView::run);
    connect(cancel_, &QPushButton::clicked, this, &RlView::cancel);
    progress_ = new QProgressBar;
    progress_->setObjectName(QStringLiteral("rlProgress"));
    progress_->setTextVisible(true);
    progress_->setFormat(tr("not started"));
    progress_->setValue(0);
    summary_ = new QLabel(tr("Waiting for the first result..."));
    summary_->setObjectName(QStringLiteral("rlSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    // the charts
    histView_ = charts::makeView(tr("Initial Q-values over states x actions"));
    histView_->setObjectName(QStringLiteral("rlHistogram"));
    QChart* hc = histView_->chart();
    histX_ = charts::valueAxis(hc, tr("initial Q(s, a)"), Qt::AlignBottom);
    histY_ = charts::valueAxis(hc, tr("(state, action) pairs per bin"), Qt::AlignLeft,
                               QStringLiteral("%d"));
    for (int i = 0; i < 3; ++i) {
        QLineSeries* s = charts::addLine(hc, initLabel(i),
                                         charts::color(i == 0   ? 0
                                                       : i == 1 ? 1
                                                                : 2),
                                         false, histX_, histY_, 2.0);
        s->setObjectName(QStringLiteral("initial_q_%1").arg(kInitKeys[i]));
        hist_.push_back(s);
    }
    for (int i = 0; i < 2; ++i) {
        QLineSeries* s = charts::addLine(hc, i == 0 ? tr("bias 0") : tr("bias Q_opt"),
                                         charts::color(i == 0 ? 0 : 1), true, histX_, histY_, 1.2);
        s->setObjectName(i == 0 ? QStringLiteral("bias_zero") : QStringLiteral("bias_q_opt"));
        biasLines_.push_back(s);
    }
    charts::restyle(histView_);

    const auto curveChart = [&](const QString& title, const QString& yTitle, const QString& name,
                                QValueAxis*& x, QValueAxis*& y, std::vector<QLineSeries*>& series,
                                const QString& key) {
        QChartView* v = charts::makeView(title);
        v->setObjectName(name);
        QChart* c = v->chart();
        x = charts::valueAxis(c, tr("episode"), Qt::AlignBottom, QStringLiteral("%d"));
        y = charts::valueAxis(c, yTitle, Qt::AlignLeft);
        for (int i = 0; i < 3; ++i) {
            QLineSeries* s = charts::addLine(c, initLabel(i), charts::color(i), false, x, y, 2.0);
            s->setObjectName(QStringLiteral("%1_%2").arg(key, kInitKeys[i]));
            series.push_back(s);
        }
        return v;
    };
    regretView_ = curveChart(tr("Cumulative regret (lower is better)"),
                             tr("regret \u03a3 (max\u2090 \u03bc \u2212 \u03bc(s, a\u209c))"),
                             QStringLiteral("rlRegret"), regretX_, regretY_, regret_,
                             QStringLiteral("regret"));
    regretNone_ = charts::addLine(regretView_->chart(), tr("random actions (expected)"),
                                  charts::color(3), true, regretX_, regretY_, 1.2);
    regretNone_->setObjectName(QStringLiteral("regret_random"));
    charts::restyle(regretView_);
    triedView_ = curveChart(tr("Actions tried per state"),
                            tr("distinct actions (mean over states)"), QStringLiteral("rlTried"),
                            triedX_, triedY_, tried_, QStringLiteral("actions_tried"));
    charts::restyle(triedView_);
    qView_ = curveChart(tr("Mean Q-value over states x actions"), tr("mean Q(s, a)"),
                        QStringLiteral("rlQ"), qX_, qY_, qMean_, QStringLiteral("q_mean"));
    muMean_ = charts::addLine(qView_->chart(), tr("true mean reward \u03bc"), charts::color(3),
                              true, qX_, qY_, 1.2);
    muMean_->setObjectName(QStringLiteral("mean_mu"));
    charts::restyle(qView_);
    for (QChartView* v : {histView_, regretView_, triedView_, qView_})
        charts::lineLegend(v->chart());

    // two rows, so that the window still fits a 1280 x 720 projector
    auto* controls = new QVBoxLayout;
    auto* row1 = new QHBoxLayout;
    auto* row2 = new QHBoxLayout;
    controls->addLayout(row1);
    controls->addLayout(row2);
    const auto add = [](QHBoxLayout* row, const QString& label, QWidget* w) {
        row->addWidget(new QLabel(label));
        row->addWidget(w);
    };
    add(row1, tr("Q_opt (reward units):"), qOpt_);
    add(row1, tr("Episodes:"), episodes_);
    add(row1, tr("Actions K:"), actions_);
    add(row1, tr("States S:"), states_);
    row1->addStretch(1);
    add(row2, tr("Large-weight variance x:"), largeGain_);
    add(row2, tr("SGD rate:"), lr_);
    row2->addWidget(run_);
    row2->addWidget(cancel_);
    row2->addWidget(progress_, 1);
    auto* grid = new QGridLayout;
    grid->addWidget(histView_, 0, 0);
    grid->addWidget(regretView_, 0, 1);
    grid->addWidget(triedView_, 1, 0);
    grid->addWidget(qView_, 1, 1);
    for (QChartView* v : {histView_, regretView_, triedView_, qView_})
        v->setMinimumSize(200, 150);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(summary_);
    layout->addLayout(grid, 1);
}

RlView::~RlView() = default;

void RlView::setSpec(const NetworkSpec& spec) {
    refresh_.setSpec(spec);
}

RlSpec RlView::rlSpec() const {
    RlSpec r;
    r.qOpt = qOpt_->value();
    r.episodes = episodes_->value();
    r.actions = actions_->value();
    r.states = states_->value();
    r.largeGain = largeGain_->value();
    r.learningRate = lr_->value();
    r.recordEvery = std::max(1, r.episodes / 100);
    return r;
}

void RlView::setRlSpec(const RlSpec& rl) {
    qOpt_->setValue(rl.qOpt);
    episodes_->setValue(rl.episodes);
    actions_->setValue(rl.actions);
    states_->setValue(rl.states);
    largeGain_->setValue(rl.largeGain);
    lr_->setValue(rl.learningRate);
}

QString RlView::summaryText() const {
    return summary_->text();
}

void RlView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh_.shown();
    for (QChartView* v : {histView_, regretView_, triedView_, qView_})
        charts::refreshLegend(v->chart());
}

void RlView::run() {
    compute(true);
}

void RlView::cancel() {
    worker_.cancel();
    setRunning(false);
    progress_->setFormat(tr("cancelled"));
    summary_->setText(tr("Cancelled; the charts show the last complete result (if any)."));
}

void RlView::setRunning(bool on) {
    running_ = on;
    cancel_->setEnabled(on);
}

QString RlView::problems() const {
    const NetworkSpec& spec = refresh_.spec();
    std::vector<SpecError> errors = validate(spec);
    for (auto& e : validateRl(spec, rlSpec()))
        errors.push_back(std::move(e));
    return QString::fromStdString(firstMessage(errors));
}

void RlView::compute(bool force) {
    const NetworkSpec spec = refresh_.spec();
    const RlSpec rl = rlSpec();
    if (const QString problem = problems(); !problem.isEmpty()) {
        worker_.cancel();
        setRunning(false);
        summary_->setText(tr("Not computed: %1").arg(problem));
        return;
    }
    const double estimate = estimateRlSeconds(spec, rl);
    if (!force && !runsLong_ && estimate > kAutoRunSeconds) {
        worker_.cancel();
        setRunning(false);
        summary_->setText(tr("Estimated %1 s for this trunk (depth %2, width %3): press Run to "
                             "start.")
                              .arg(estimate, 0, 'f', 0)
                              .arg(spec.depth)
                              .arg(spec.width));
        return;
    }
    progress_->setRange(0, 3 * rl.episodes);
    progress_->setValue(0);
    progress_->setFormat(tr("%v / %m episodes (3 inits)"));
    summary_->setText(tr("Q-learning %1 episodes for each of the three inits (about %2 s)...")
                          .arg(rl.episodes)
                          .arg(estimate, 0, 'g', 2));
    setRunning(true);
    worker_.submit([this, spec, rl](quint64 gen, const std::atomic<bool>& cancel) {
        Progress sink(worker_, gen, progress_, rl.episodes);
        RlResult r;
        try {
            r = runRl(spec, rl, &sink, &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] {
                setRunning(false);
                summary_->setText(tr("Not computed: %1").arg(m));
            });
            return;
        }
        if (r.cancelled)
            return;
        worker_.post(gen, [this, r = std::move(r)] {
            setRunning(false);
            display(r);
        });
    });
}

void RlView::showSameAs(const RlView& other) {
    {
        const QSignalBlocker b0(qOpt_), b1(episodes_), b2(actions_), b3(states_), b4(largeGain_),
            b5(lr_);
        setRlSpec(other.rlSpec());
    }
    refresh_.markCurrent(other.refresh_.spec());
    if (!other.result_.inits.empty())
        display(other.result_);
}

void RlView::display(const RlResult& r) {
    result_ = r;
    progress_->setRange(0, 1);
    progress_->setValue(1);
    progress_->setFormat(tr("done in %1 s").arg(r.seconds, 0, 'f', 2));
    const std::size_t n = r.inits.size();
    // histograms as step outlines over the common edges
    double maxCount = 1;
    const int bins = static_cast<int>(r.histEdges.size()) - 1;
    for (std::size_t i = 0; i < 3; ++i) {
        QList<QPointF> pts;
        if (i < n && bins > 0) {
            const auto& c = r.histCounts[i];
            pts.append(QPointF(r.histEdges[0], 0));
            for (int b = 0; b < bins; ++b) {
                const double v = c[static_cast<std::size_t>(b)];
                maxCount = std::max(maxCount, v);
                pts.append(QPointF(r.histEdges[static_cast<std::size_t>(b)], v));
                pts.append(QPointF(r.histEdges[static_cast<std::size_t>(b) + 1], v));
            }
            pts.append(QPointF(r.histEdges.back(), 0));
        }
        hist_[i]->setName(initLabel(static_cast<int>(i)));
        charts::setPoints(hist_[i], pts);
    }
    if (bins > 0)
        charts::fitLinear(histX_, r.histEdges.front(), r.histEdges.back());
    charts::integerTicks(histY_, 0, std::ceil(maxCount * 1.1), 8);
    const double top = histY_->max();
    charts::setPoints(biasLines_[0], {{0.0, 0.0}, {0.0, top}});
    charts::setPoints(biasLines_[1], {{r.rl.qOpt, 0.0}, {r.rl.qOpt, top}});
    biasLines_[1]->setName(tr("bias Q_opt = %1").arg(r.rl.qOpt));

    const double last = r.steps.empty() ? 1.0 : r.steps.back();
    const auto curves = [&](std::vector<QLineSeries*>& series, QValueAxis* x, QValueAxis* y,
                            auto member, double lo0, double hi0) {
        double lo = lo0, hi = hi0;
        for (std::size_t i = 0; i < 3; ++i) {
            QList<QPointF> pts;
            if (i < n) {
                const std::vector<double>& v = r.inits[i].*member;
                for (std::size_t k = 0; k < v.size() && k < r.steps.size(); ++k)
                    if (std::isfinite(v[k])) {
                        pts.append(QPointF(r.steps[k], v[k]));
                        lo = std::min(lo, v[k]);
                        hi = std::max(hi, v[k]);
                    }
            }
            series[i]->setName(initLabel(static_cast<int>(i)));
            charts::setPoints(series[i], pts);
        }
        charts::integerTicks(x, 0, last, 6);
        charts::fitLinear(y, lo, hi);
        return std::pair{lo, hi};
    };
    const double randomRegret = (r.bestMeanReward - r.meanMu) * last;
    curves(regret_, regretX_, regretY_, &RlInitResult::regret, 0.0, 0.0);
    charts::setPoints(regretNone_, {{0.0, 0.0}, {last, randomRegret}});
    // the random policy's line may leave the curves' range: clip it to the axis range
    if (randomRegret > regretY_->max())
        charts::setPoints(regretNone_,
                          {{0.0, 0.0}, {last * regretY_->max() / randomRegret, regretY_->max()}});
    curves(tried_, triedX_, triedY_, &RlInitResult::actionsTried, 0.0, 1.0);
    triedY_->setRange(0, r.rl.actions);
    charts::integerTicks(triedY_, 0, r.rl.actions, 9);
    curves(qMean_, qX_, qY_, &RlInitResult::qMeanCurve, r.meanMu, r.meanMu);
    charts::setPoints(muMean_, {{0.0, r.meanMu}, {last, r.meanMu}});

    QString text;
    if (n == 3) {
        const auto& z = r.inits[0];
        const auto& o = r.inits[1];
        const auto& l = r.inits[2];
        text = tr("<b>Initial Q</b> mean \u00b1 sd (theory sd): zero %1 \u00b1 %2 (%3), "
                  "optimistic %4 \u00b1 %5, large %6 \u00b1 %7 (%8). "
                  "<b>After %9 episodes</b>: regret %10 / %11 / %12, actions tried per state "
                  "%13 / %14 / %15 of %16 (zero / optimistic / large; random actions: regret "
                  "%17). %18 s.")
                   .arg(num(z.qMean), num(z.qStd), num(z.qStdTheory), num(o.qMean), num(o.qStd),
                        num(l.qMean), num(l.qStd), num(l.qStdTheory))
                   .arg(r.rl.episodes)
                   .arg(num(z.regret.back()), num(o.regret.back()), num(l.regret.back()),
                        num(z.actionsTried.back()), num(o.actionsTried.back()),
                        num(l.actionsTried.back()))
                   .arg(r.rl.actions)
                   .arg(num(randomRegret))
                   .arg(r.seconds, 0, 'f', 2);
    }
    summary_->setText(text);
    histView_->chart()->setTitle(tr("Initial Q-values over %1 states x %2 actions (trunk depth "
                                    "%3, width %4, %5)")
                                     .arg(r.rl.states)
                                     .arg(r.rl.actions)
                                     .arg(r.spec.depth)
                                     .arg(r.spec.width)
                                     .arg(QString::fromStdString(initSchemeName(r.spec.init))));
    emit resultShown();
}

} // namespace initscope::ui

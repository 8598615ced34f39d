#include "views/ensembleview.h"

#include "charts/layercharts.h"
#include "charts/viewcharts.h"
#include "export/figure.h"

#include <QAreaSeries>
#include <QChart>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QProgressBar>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <cmath>

namespace initscope::ui {

BandOverlay attachBand(LayerChart* chart, const QString& name, const QString& key,
                       const QColor& color) {
    BandOverlay b;
    QColor edge = color;
    edge.setAlpha(110);
    b.lower = chart->addSeries(name + QStringLiteral(" (lower)"), key + QStringLiteral("_lower"),
                               edge, false);
    b.upper = chart->addSeries(name + QStringLiteral(" (upper)"), key + QStringLiteral("_upper"),
                               edge, false);
    QChart* c = chart->chart();
    for (int i : {b.lower, b.upper}) {
        chart->series(i)->setPen(QPen(edge, 0.8));
        chart->setInLegend(i, false); // the fill stands for the band
    }
    auto* upper = new QLineSeries;
    auto* lower = new QLineSeries;
    b.area = new QAreaSeries(upper, lower);
    upper->setParent(b.area);
    lower->setParent(b.area);
    b.area->setName(name);
    QColor fill = color;
    fill.setAlpha(90);
    b.area->setBrush(fill);
    b.area->setPen(Qt::NoPen);
    c->addSeries(b.area);
    for (QAbstractAxis* a : c->axes())
        b.area->attachAxis(a);
    return b;
}

void setBand(LayerChart* chart, const BandOverlay& band, const std::vector<QPointF>& lower,
             const std::vector<QPointF>& upper, bool visible) {
    chart->setSeries(band.lower, visible ? lower : std::vector<QPointF>{});
    chart->setSeries(band.upper, visible ? upper : std::vector<QPointF>{});
    // the area fills between the points drawn (on a log axis only the positive ones), matched
    // by layer so that both edges have the same x values
    QList<QPointF> lo, hi;
    const QList<QPointF> a = chart->points(band.lower), b = chart->points(band.upper);
    for (const QPointF& p : a)
        for (const QPointF& q : b)
            if (p.x() == q.x()) {
                lo.append(p);
                hi.append(q);
                break;
            }
    band.area->lowerSeries()->replace(lo);
    band.area->upperSeries()->replace(hi);
    band.area->setVisible(visible);
    for (QLegendMarker* m : chart->chart()->legend()->markers(band.area))
        m->setVisible(visible);
}

EnsembleView::EnsembleView(QWidget* parent)
    : QWidget(parent), refresh_(this, kDebounceMs, [this] { compute(); }),
      engine_(std::make_unique<Engine>()) {
    charts_[0] = new LayerChart(tr("Signal q\u02e1 over seeds"), tr("q\u02e1 (log)"), true);
    charts_[1] = new LayerChart(tr("Gradients over seeds"),
                                tr("E\u2016\u03b4\u02e1\u2016\u00b2 (log)"), true);
    charts_[2] =
        new LayerChart(tr("Correlation c\u02e1 over seeds"), tr("c\u02e1 (mean cosine)"), false);
    charts_[2]->setYBounds(-1.0, 1.0);
    charts_[2]->setMinSpan(0.25);
    const QString names[3] = {QStringLiteral("q\u02e1"),
                              QStringLiteral("E\u2016\u03b4\u02e1\u2016\u00b2"),
                              QStringLiteral("c\u02e1")};
    const QString keys[3] = {QStringLiteral("q"), QStringLiteral("grad_h2"),
                             QStringLiteral("correlation")};
    auto* split = new QSplitter(Qt::Vertical);
    for (int i = 0; i < 3; ++i) {
        charts_[i]->setObjectName(QStringLiteral("ensembleChart%1").arg(i));
        charts_[i]->addSeries(tr("mean %1 over seeds").arg(names[i]),
                              keys[i] + QStringLiteral("_mean"), charts::color(0), false);
        charts_[i]->addSeries(tr("mean-field %1 (predicted)").arg(names[i]),
                              keys[i] + QStringLiteral("_predicted"), charts::color(1), true);
        overlays_[i] = attachBand(charts_[i], tr("band across seeds"),
                                  keys[i] + QStringLiteral("_band"), charts::color(0));
        split->addWidget(charts_[i]);
    }
    enabled_ = new QCheckBox(tr("Seed ensemble"));
    enabled_->setObjectName(QStringLiteral("ensembleEnabled"));
    enabled_->setChecked(true);
    enabled_->setToolTip(tr("Run the same settings with seeds s, s+1, ... in parallel and draw "
                            "the mean with a band: finite-width fluctuations."));
    seeds_ = new QSpinBox;
    seeds_->setObjectName(QStringLiteral("ensembleSeeds"));
    seeds_->setRange(2, 64);
    seeds_->setValue(8);
    seeds_->setSuffix(tr(" seeds"));
    band_ = new QComboBox;
    band_->setObjectName(QStringLiteral("ensembleBand"));
    band_->addItems({tr("10\u201390 % band"), tr("min\u2013max band")});
    progress_ = new QProgressBar;
    progress_->setMaximumWidth(220);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    auto restart = [this] { refresh_.restart(); };
    connect(enabled_, &QCheckBox::toggled, this, restart);
    connect(seeds_, &QSpinBox::valueChanged, this, restart);
    connect(band_, &QComboBox::currentIndexChanged, this, [this] { draw(); });
    auto* top = new QHBoxLayout;
    top->addWidget(enabled_);
    top->addWidget(seeds_);
    top->addWidget(band_);
    top->addWidget(progress_);
    top->addWidget(summary_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    // Three readable charts (220 px each) are taller than a 1280 x 720 projector leaves the
    // tab: the column scrolls rather than squeezing them to unreadable strips.
    auto* scroll = new QScrollArea;
    scroll->setObjectName(QStringLiteral("ensembleScroll"));
    scroll->setWidget(split);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumHeight(240);
    layout->addWidget(scroll, 1);
}

EnsembleView::~EnsembleView() = default;

void EnsembleView::setSpec(const NetworkSpec& spec) {
    refresh_.setSpec(spec);
}

void EnsembleView::setEnsemble(bool on, int seeds) {
    enabled_->setChecked(on);
    seeds_->setValue(seeds);
}

void EnsembleView::showSameAs(const EnsembleView& other) {
    const QSignalBlocker a(enabled_), b(seeds_), c(band_);
    enabled_->setChecked(other.enabled_->isChecked());
    seeds_->setValue(other.seeds_->value());
    band_->setCurrentIndex(other.band_->currentIndex());
    refresh_.markCurrent(other.refresh_.spec());
    bands_ = other.bands_;
    theory_ = other.theory_;
    seedsShown_ = other.seedsShown_;
    depthShown_ = other.depthShown_;
    stageShown_ = other.stageShown_;
    draw();
}

void EnsembleView::setBand(Band band) {
    band_->setCurrentIndex(band == Band::Quantiles ? 0 : 1);
}

void EnsembleView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    refresh_.shown();
}

QString EnsembleView::problems() const {
    const std::vector<SpecError> errors =
        validateEnsemble(refresh_.spec(), enabled_->isChecked() ? seeds_->value() : 1);
    return QString::fromStdString(firstMessage(errors));
}

void EnsembleView::compute() {
    const NetworkSpec spec = refresh_.spec();
    const int seeds = enabled_->isChecked() ? seeds_->value() : 1;
    if (const QString problem = problems(); !problem.isEmpty()) {
        worker_.cancel();
        summary_->setText(tr("Not run: %1").arg(problem));
        return;
    }
    progress_->setRange(0, seeds);
    progress_->setValue(0);
    progress_->setFormat(tr("%v / %m runs"));
    summary_->setText(tr("Running %1 seeds...").arg(seeds));
    Engine* engine = engine_.get();
    worker_.submit([this, engine, spec, seeds](quint64 gen, const std::atomic<bool>& cancel) {
        EnsembleResult r;
        try {
            int done = 0;
            r = runEnsemble(
                *engine, spec, seeds,
                [&](const RunResult&, int) {
                    ++done;
                    worker_.post(gen, [this, done] { progress_->setValue(done); });
                },
                &cancel);
        } catch (const std::exception& e) {
            const QString m = QString::fromUtf8(e.what());
            worker_.post(gen, [this, m] { summary_->setText(tr("Not run: %1").arg(m)); });
            return;
        }
        if (r.cancelled || r.runs.empty())
            return;
        std::vector<LayerBand> bands{layerBand(r.runs, "q"), layerBand(r.runs, "grad_h2"),
                                     layerBand(r.runs, "correlation")};
        TheoryCurves theory = r.runs.front().theory;
        const double seconds = r.seconds;
        worker_.post(gen, [this, bands = std::move(bands), theory, seeds, seconds, spec] {
            bands_ = bands;
            theory_ = theory;
            seedsShown_ = seeds;
            depthShown_ = spec.depth;
            stageShown_ = stageName(spec);
            draw();
            summary_->setText(tr("%1 seeds (%2 \u2013 %3) in %4 ms; the band grows where "
                                 "finite width matters.")
                                  .arg(seeds)
                                  .arg(spec.seed)
                                  .arg(spec.seed + static_cast<std::uint64_t>(seeds) - 1)
                                  .arg(seconds * 1e3, 0, 'f', 0));
            emit resultShown();
        });
    });
}

void EnsembleView::draw() {
    if (bands_.size() != 3)
        return;
    const bool quantiles = band_->currentIndex() == 0;
    const std::vector<double>* theory[3] = {&theory_.q, &theory_.gradH2, &theory_.c};
    for (int i = 0; i < 3; ++i) {
        const LayerBand& b = bands_[static_cast<std::size_t>(i)];
        std::vector<QPointF> mean, lo, hi, th;
        for (std::size_t l = 0; l < b.mean.size(); ++l) {
            const double x = static_cast<double>(l + 1);
            mean.emplace_back(x, b.mean[l]);
            lo.emplace_back(x, quantiles ? b.q10[l] : b.min[l]);
            hi.emplace_back(x, quantiles ? b.q90[l] : b.max[l]);
        }
        for (std::size_t l = 0; l < theory[i]->size(); ++l)
            th.emplace_back(static_cast<double>(l + 1), (*theory[i])[l]);
        LayerChart* c = charts_[i];
        c->setStage(stageShown_);
        c->setDepth(depthShown_);
        c->setSeries(0, mean);
        c->setSeries(1, th);
        ui::setBand(c, overlays_[i], lo, hi, seedsShown_ > 1);
        c->setTitleSuffix(seedsShown_ > 1 ? tr("mean of %1 seeds, %2")
                                                .arg(seedsShown_)
                                                .arg(quantiles ? tr("10\u201390 % band")
                                                               : tr("min\u2013max band"))
                                          : tr("one seed"));
        c->rescale();
    }
}

} // namespace initscope::ui

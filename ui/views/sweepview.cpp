#include "views/sweepview.h"

#include "analysis/ensemble.h"
#include "analysis/ntk.h"
#include "charts/viewcharts.h"
#include "core/cost.h"
#include "stats/statschema.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

namespace {
QString describe(const QString& statistic) {
    if (statistic == QLatin1String("ntk_condition")) // the view's own, not a run scalar
        return QObject::tr("NTK condition number \u03bb_max/\u03bb_min");
    const RunScalar* s = findRunScalar(statistic.toStdString());
    return s && s->title ? QObject::tr(s->title) : statistic;
}

/// `arch`: the family of the swept spec (a resnet's depth counts its residual blocks).
QString axisLabel(const QString& axis, Arch arch) {
    if (axis == QLatin1String("gain"))
        return QObject::tr("variance gain (multiplies Var(W))");
    if (axis == QLatin1String("depth"))
        return arch == Arch::Resnet ? QObject::tr("depth L (residual blocks)")
               : arch == Arch::Rnn  ? QObject::tr("depth T (time steps)")
                                    : QObject::tr("depth L (layers)");
    if (axis == QLatin1String("sigma_b2"))
        return QObject::tr("bias variance \u03c3_b\u00b2");
    if (axis == QLatin1String("input_scale"))
        return QObject::tr("input scale s (std of x)");
    return QObject::tr("width N (units)");
}

/// Least-squares slope of log y against log x over the positive points (NaN with < 2).
double logLogSlope(const std::vector<QPointF>& pts) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (const QPointF& p : pts) {
        if (!(p.x() > 0) || !(p.y() > 0) || !std::isfinite(p.y()))
            continue;
        const double x = std::log(p.x()), y = std::log(p.y());
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        ++n;
    }
    const double d = n * sxx - sx * sx;
    return n >= 2 && d > 0 ? (n * sxy - sx * sy) / d : std::nan("");
}
} // namespace

SweepView::SweepView(QWidget* parent) : QWidget(parent), engine_(std::make_unique<Engine>()) {
    statistic_ = new QComboBox;
    statistic_->setObjectName(QStringLiteral("sweepStatistic"));
    statistic_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    statistic_->setMinimumContentsLength(24);
    for (const QString& s : statistics())
        statistic_->addItem(describe(s), s);
    statistic_->setCurrentIndex(
        static_cast<int>(statistics().indexOf(QStringLiteral("input_grad2"))));
    axis_ = new QComboBox;
    axis_->setObjectName(QStringLiteral("sweepAxis"));
    for (const QString& a : axes())
        axis_->addItem(a, a);
    from_ = new QDoubleSpinBox;
    to_ = new QDoubleSpinBox;
    for (QDoubleSpinBox* s : {from_, to_}) {
        s->setDecimals(4);
        s->setRange(0, 1e6);
    }
    from_->setValue(0.5);
    to_->setValue(2.0);
    steps_ = new QSpinBox;
    steps_->setRange(2, 200);
    steps_->setValue(13);
    steps_->setToolTip(tr("Number of points, both ends included; each point is a full run."));
    logX_ = new QCheckBox(tr("log x"));
    logX_->setChecked(true);
    logY_ = new QCheckBox(tr("log y"));
    logY_->setChecked(true);
    start_ = new QPushButton(tr("Run sweep"));
    start_->setObjectName(QStringLiteral("sweepStart"));
    stop_ = new QPushButton(tr("Cancel"));
    stop_->setObjectName(QStringLiteral("sweepStop"));
    stop_->setEnabled(false);
    progress_ = new QProgressBar;
    progress_->setObjectName(QStringLiteral("sweepProgress"));
    progress_->setFormat(tr("%v / %m points"));
    progress_->setRange(0, steps_->value());
    progress_->setValue(0);
    summary_ = new QLabel;
    summary_->setWordWrap(true);
    connect(axis_, &QComboBox::currentIndexChanged, this, [this] {
        // a range that shows something for each axis; integer axes get integer steps
        struct Default {
            double from, to;
            int steps;
            bool logX;
        };
        const QString a = axis_->currentData().toString();
        const Default d = a == QLatin1String("depth")         ? Default{1, 100, 12, true}
                          : a == QLatin1String("width")       ? Default{16, 1024, 7, true}
                          : a == QLatin1String("sigma_b2")    ? Default{0, 0.5, 11, false}
                          : a == QLatin1String("input_scale") ? Default{0.1, 10, 11, true}
                                                              : Default{0.5, 2, 13, true};
        const bool integer = a == QLatin1String("depth") || a == QLatin1String("width");
        for (QDoubleSpinBox* box : {from_, to_}) {
            box->setSingleStep(integer ? 1 : 0.01);
            box->setDecimals(integer ? 0 : 4);
        }
        from_->setValue(d.from);
        to_->setValue(d.to);
        steps_->setValue(d.steps);
        logX_->setChecked(d.logX);
    });
    restart_.setSingleShot(true);
    restart_.setInterval(300);
    connect(&restart_, &QTimer::timeout, this, &SweepView::start);
    connect(start_, &QPushButton::clicked, this, &SweepView::start);
    connect(stop_, &QPushButton::clicked, this, &SweepView::stop);
    connect(logX_, &QCheckBox::toggled, this, [this] { setAxisKinds(); });
    connect(logY_, &QCheckBox::toggled, this, [this] { setAxisKinds(); });
    connect(&worker_, &JobWorker::jobDone, this, [this](quint64 gen) {
        if (gen != worker_.generation())
            return;
        start_->setEnabled(true);
        stop_->setEnabled(false);
        const bool complete = static_cast<int>(points_.size()) == expected_;
        emit sweepFinished(complete);
    });

    auto* row1 = new QHBoxLayout;
    row1->addWidget(new QLabel(tr("Statistic:")));
    row1->addWidget(statistic_, 1);
    // the range on a row of its own: one row of everything was ~990 px wide, wider than the
    // views' share of a 1280 x 720 projector
    auto* rowRange = new QHBoxLayout;
    rowRange->addWidget(new QLabel(tr("against")));
    rowRange->addWidget(axis_);
    rowRange->addWidget(new QLabel(tr("from")));
    rowRange->addWidget(from_);
    rowRange->addWidget(new QLabel(tr("to")));
    rowRange->addWidget(to_);
    rowRange->addWidget(new QLabel(tr("points")));
    rowRange->addWidget(steps_);
    rowRange->addWidget(logX_);
    rowRange->addWidget(logY_);
    auto* row2 = new QHBoxLayout;
    row2->addWidget(start_);
    row2->addWidget(stop_);
    row2->addWidget(progress_);
    row2->addWidget(summary_, 1);

    view_ = charts::makeView(tr("Sweep"));
    view_->setObjectName(QStringLiteral("sweepChart"));
    QChart* c = view_->chart();
    xLin_ = charts::valueAxis(c, QString(), Qt::AlignBottom);
    xLog_ = charts::logAxis(c, QString(), Qt::AlignBottom);
    yLin_ = charts::valueAxis(c, QString(), Qt::AlignLeft);
    yLog_ = charts::logAxis(c, QString(), Qt::AlignLeft);
    charts::restyle(view_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row1);
    layout->addLayout(rowRange);
    layout->addLayout(row2);
    layout->addWidget(view_, 1);
    setAxisKinds();
    summary_->setText(tr("Press Run sweep: every point is a full run of the current settings "
                         "with one value changed."));
}

SweepView::~SweepView() = default;

void SweepView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) // the first look shows a curve, not an empty chart
        restart_.start();
}

QStringList SweepView::statistics() {
    QStringList out;
    for (const std::string& s : scalarStatisticNames())
        out << QString::fromStdString(s);
    out << QStringLiteral("ntk_condition");
    return out;
}

QStringList SweepView::axes() {
    return {QStringLiteral("gain"), QStringLiteral("depth"), QStringLiteral("sigma_b2"),
            QStringLiteral("input_scale"), QStringLiteral("width")};
}

void SweepView::setSpec(const NetworkSpec& spec) {
    // a change of the swept field alone (e.g. the gain slider during a gain sweep) is no change:
    // compare both with that field set to the same value
    const std::string axis = axis_->currentData().toString().toStdString();
    spec_ = spec;
    if (startedOnce_ && sweepSpec(spec, axis, 1.0) == sweepSpec(base_, axis, 1.0))
        return;
    stale_ = true;
    if (isVisible())
        restart_.start();
}

QString SweepView::summaryText() const {
    return summary_->text();
}

bool SweepView::configure(const QString& statistic, const QString& axis, double from, double to,
                          int steps) {
    const int s = statistic_->findData(statistic), a = axis_->findData(axis);
    if (s < 0 || a < 0)
        return false;
    statistic_->setCurrentIndex(s);
    axis_->setCurrentIndex(a);
    from_->setValue(from);
    to_->setValue(to);
    steps_->setValue(steps);
    return true;
}

void SweepView::showSameAs(const SweepView& other) {
    const QSignalBlocker a(statistic_), b(axis_), c(from_), d(to_), e(steps_), f(logX_), g(logY_);
    statistic_->setCurrentIndex(other.statistic_->currentIndex());
    axis_->setCurrentIndex(other.axis_->currentIndex());
    from_->setDecimals(other.from_->decimals());
    to_->setDecimals(other.to_->decimals());
    from_->setValue(other.from_->value());
    to_->setValue(other.to_->value());
    steps_->setValue(other.steps_->value());
    logX_->setChecked(other.logX_->isChecked());
    logY_->setChecked(other.logY_->isChecked());
    spec_ = other.spec_;
    base_ = other.base_;
    points_ = other.points_;
    shownStatistic_ = other.shownStatistic_;
    shownAxis_ = other.shownAxis_;
    expected_ = other.expected_;
    startedOnce_ = true;
    stale_ = false; // showing the copy does not start a sweep
    summary_->setText(other.summary_->text());
    setAxisKinds(); // the series on the chosen axes, drawn
}

void SweepView::setAxisKinds() {
    QChart* c = view_->chart();
    const bool lx = logX_->isChecked(), ly = logY_->isChecked();
    xLin_->setVisible(!lx);
    xLog_->setVisible(lx);
    yLin_->setVisible(!ly);
    yLog_->setVisible(ly);
    // a fresh pair of series on the chosen axes (a series cannot move between axes cleanly)
    const QList<QPointF> old = line_ ? line_->points() : QList<QPointF>{};
    if (line_) {
        c->removeSeries(line_);
        c->removeSeries(dots_);
        delete line_;
        delete dots_;
    }
    QAbstractAxis* x = lx ? static_cast<QAbstractAxis*>(xLog_) : xLin_;
    QAbstractAxis* y = ly ? static_cast<QAbstractAxis*>(yLog_) : yLin_;
    line_ = charts::addLine(c, tr("measured"), charts::color(0), false, x, y);
    line_->setObjectName(QStringLiteral("measured")); // CSV key (figureCsv)
    dots_ = new QScatterSeries;
    dots_->setMarkerSize(7);
    dots_->setColor(charts::color(0));
    dots_->setBorderColor(charts::color(0));
    c->addSeries(dots_);
    dots_->attachAxis(x);
    dots_->attachAxis(y);
    for (QLegendMarker* m : c->legend()->markers(dots_))
        m->setVisible(false);
    redraw();
}

void SweepView::start() {
    const QString statistic = statistic_->currentData().toString();
    const QString axisName = axis_->currentData().toString();
    SweepAxis axis{axisName.toStdString(), std::min(from_->value(), to_->value()),
                   std::max(from_->value(), to_->value()), steps_->value()};
    if (logX_->isChecked() && !(axis.from > 0))
        logX_->setChecked(false); // 0 has no place on a log axis
    // samples evenly spaced on the axis as drawn: on a log axis 1, 2, 4, ... not 1, 183, 365
    axis.logSpaced = logX_->isChecked();
    axis.integer = axisName == QLatin1String("depth") || axisName == QLatin1String("width");
    const int count = static_cast<int>(axis.values().size());
    const NetworkSpec base = spec_;
    for (double v : axis.values()) {
        const std::vector<SpecError> errors = sweepPointErrors(base, axis.name, v);
        if (!errors.empty()) {
            summary_->setText(
                tr("Not run: %1").arg(QString::fromStdString(errors.front().message)));
            return;
        }
    }
    restart_.stop();
    startedOnce_ = true;
    stale_ = false;
    base_ = base;
    points_.clear();
    shownStatistic_ = statistic;
    shownAxis_ = axisName;
    expected_ = count;
    // the cost model, before the work: a sweep of hours is announced, not discovered
    double estimate = 0;
    if (statistic == QLatin1String("ntk_condition")) {
        NtkOptions o;
        o.byDepth = false;
        o.analytic = false;
        for (double v : axis.values()) {
            const NetworkSpec s = sweepSpec(base, axis.name, v);
            o.inputs = std::min(kNtkInputs, s.batch);
            estimate += estimateNtkSeconds(s, o);
        }
    } else {
        estimate = estimateSweepSeconds(base, axis);
    }
    const QString duration = QString::fromStdString(formatDuration(estimate));
    progress_->setRange(0, count);
    progress_->setValue(0);
    progress_->setFormat(tr("%v / %m points (%1 in all)").arg(duration));
    start_->setEnabled(false);
    stop_->setEnabled(true);
    summary_->setText(
        tr("Sweeping %1 over %2 points, estimated %3...").arg(axisName).arg(count).arg(duration));
    redraw();
    Engine* engine = engine_.get();
    worker_.submit(
        [this, engine, base, axis, statistic](quint64 gen, const std::atomic<bool>& cancel) {
            const std::string stat = statistic.toStdString();
            const std::vector<double> values = axis.values();
            auto deliver = [&](int index, double v, double y) {
                worker_.post(gen, [this, index, v, y] {
                    points_.emplace_back(v, y);
                    std::sort(points_.begin(), points_.end(),
                              [](const QPointF& a, const QPointF& b) { return a.x() < b.x(); });
                    progress_->setValue(static_cast<int>(points_.size()));
                    redraw();
                    emit pointAdded(index, v, y);
                });
            };
            try {
                if (stat == "ntk_condition") {
                    for (std::size_t i = 0; i < values.size() && !cancel.load(); ++i) {
                        const NetworkSpec s = sweepSpec(base, axis.name, values[i]);
                        deliver(static_cast<int>(i), values[i],
                                ntkCondition(s, std::min(kNtkInputs, s.batch)));
                    }
                } else {
                    runSweep(
                        *engine, base, axis,
                        [&](const SweepPoint& p, int index) {
                            if (!p.result.cancelled)
                                deliver(index, p.value, scalarStatistic(p.result, stat));
                        },
                        &cancel);
                }
            } catch (const std::exception& e) {
                const QString m = QString::fromUtf8(e.what());
                worker_.post(gen, [this, m] { summary_->setText(tr("Sweep failed: %1").arg(m)); });
            }
        });
}

void SweepView::stop() {
    worker_.cancel();
    start_->setEnabled(true);
    stop_->setEnabled(false);
    summary_->setText(tr("Cancelled after %1 of %2 points.").arg(points_.size()).arg(expected_));
    emit sweepFinished(false);
}

void SweepView::redraw() {
    const bool lx = logX_->isChecked(), ly = logY_->isChecked();
    QList<QPointF> pts;
    std::vector<double> xs, ys;
    for (const QPointF& p : points_) {
        if (!std::isfinite(p.y()) || (ly && !(p.y() > 0)) || (lx && !(p.x() > 0)))
            continue;
        pts.append(p);
        xs.push_back(p.x());
        ys.push_back(p.y());
    }
    charts::setPoints(line_, pts);
    dots_->replace(pts);
    const QString stat =
        shownStatistic_.isEmpty() ? statistic_->currentData().toString() : shownStatistic_;
    const QString axis = shownAxis_.isEmpty() ? axis_->currentData().toString() : shownAxis_;
    line_->setName(describe(stat));
    for (QAbstractAxis* a :
         {static_cast<QAbstractAxis*>(xLin_), static_cast<QAbstractAxis*>(xLog_)})
        a->setTitleText(axisLabel(axis, base_.arch) + (lx ? tr(" (log)") : QString()));
    for (QAbstractAxis* a :
         {static_cast<QAbstractAxis*>(yLin_), static_cast<QAbstractAxis*>(yLog_)})
        a->setTitleText(describe(stat) + (ly ? tr(" (log)") : QString()));
    const double lo = std::min(from_->value(), to_->value()),
                 hi = std::max(from_->value(), to_->value());
    if (lx && lo > 0) {
        // base-10 labels leave a range under two decades with one label or none: use base 2
        const bool narrow = hi / lo < 100;
        xLog_->setBase(narrow ? 2 : 10);
        xLog_->setRange(lo / 1.05, hi * 1.05);
        // powers of 2 as plain numbers; decades in the format of every log axis
        xLog_->setLabelFormat(narrow ? QStringLiteral("%g")
                                     : QString::fromLatin1(charts::kLogLabelFormat));
        xLog_->setMinorTickCount(narrow ? 1 : 8);
    } else {
        charts::fitLinear(xLin_, lo, hi);
    }
    if (!ys.empty()) {
        if (ly) {
            charts::fitLog(yLog_, ys);
        } else {
            const auto [a, b] = std::minmax_element(ys.begin(), ys.end());
            charts::fitLinear(yLin_, *a, *b, 1e-12);
        }
    }
    QString title = tr("%1 against %2").arg(describe(stat), axis);
    const double slope = logLogSlope(points_);
    if (lx && ly && points_.size() >= 2 && std::isfinite(slope)) // a power law's exponent
        title += tr(" \u2014 log-log slope %1").arg(slope, 0, 'g', 4);
    view_->chart()->setTitle(title);
    if (!points_.empty() && static_cast<int>(points_.size()) == expected_)
        summary_->setText(tr("%1 points around depth %2, width %3, %4, %5 (the settings "
                             "when the sweep started). Log-log slope %6 (the exponent of a "
                             "power law).")
                              .arg(points_.size())
                              .arg(base_.depth)
                              .arg(base_.width)
                              .arg(QString::fromStdString(activationName(base_.activation)),
                                   QString::fromStdString(initSchemeName(base_.init)))
                              .arg(slope, 0, 'g', 4));
}

} // namespace initscope::ui

#include "charts/layercharts.h"

#include "charts/viewcharts.h"

#include <QApplication>
#include <QCursor>
#include <QEvent>
#include <QGraphicsLayout>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QToolTip>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace initscope::ui {

namespace {
bool isDark(const QPalette& p) {
    return p.color(QPalette::Window).lightness() < 128;
}

double niceStep(double span, int maxTicks) {
    const double raw = span / std::max(1, maxTicks);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw)
            return m * mag;
    return 10 * mag;
}
} // namespace

LayerChart::LayerChart(const QString& title, const QString& yLabel, bool logY, QWidget* parent)
    // The chart is handed to the constructor: QChartView(parent) would make a default chart
    // that setChart() then releases without deleting (a leak per chart, seen under ASan).
    : QChartView(new QChart, parent), title_(title), logY_(logY) {
    QChart* c = chart();
    setRenderHint(QPainter::Antialiasing);
    c->setAnimationOptions(QChart::NoAnimation);
    c->legend()->setAlignment(Qt::AlignBottom);
    c->legend()->setShowToolTips(true);
    charts::lineLegend(c);
    c->setMargins(QMargins(6, 6, 6, 6));

    xAxis_ = new QValueAxis;
    xAxis_->setTitleText(xAxisTitle());
    c->addAxis(xAxis_, Qt::AlignBottom);
    if (logY_) {
        yLog_ = charts::logAxis(c, yLabel, Qt::AlignLeft);
    } else {
        yLinear_ = new QValueAxis;
        yLinear_->setTitleText(yLabel);
        yLinear_->setLabelFormat(QStringLiteral("%.2f"));
        c->addAxis(yLinear_, Qt::AlignLeft);
    }
    marker_ = new QLineSeries;
    c->addSeries(marker_);
    marker_->attachAxis(xAxis_);
    marker_->attachAxis(logY_ ? static_cast<QAbstractAxis*>(yLog_) : yLinear_);
    applyPalette();
    setDepth(1);
    setTitleSuffix({});
    setMinimumSize(320, 220);
}

int LayerChart::addSeries(const QString& name, const QString& key, const QColor& color,
                          bool predicted) {
    auto* s = new QLineSeries;
    s->setName(name);
    s->setObjectName(key);
    chart()->addSeries(s);
    s->attachAxis(xAxis_);
    s->attachAxis(logY_ ? static_cast<QAbstractAxis*>(yLog_) : yLinear_);
    series_.push_back(s);
    styles_.push_back({color, predicted});
    restack();
    // Hovering a line shows the value of the nearest layer.
    connect(s, &QLineSeries::hovered, this, [this, s](const QPointF& at, bool entered) {
        if (!entered) {
            QToolTip::hideText();
            return;
        }
        const QList<QPointF> pts = s->points();
        if (pts.isEmpty())
            return;
        const auto nearest = std::min_element(pts.begin(), pts.end(), [&](auto& a, auto& b) {
            return std::abs(a.x() - at.x()) < std::abs(b.x() - at.x());
        });
        QToolTip::showText(QCursor::pos(),
                           tr("%1\n%2 %3: %4")
                               .arg(s->name(), stage_)
                               .arg(nearest->x())
                               .arg(nearest->y(), 0, 'g', 6),
                           this);
    });
    applyPalette();
    return static_cast<int>(series_.size()) - 1;
}

int LayerChart::addReferenceSeries(int measured, const QString& key) {
    const QColor color = styles_.at(static_cast<std::size_t>(measured)).color;
    const int i = addSeries(QString(), key, color, false);
    styles_[static_cast<std::size_t>(i)].reference = true;
    restack();
    applySeriesPens();
    return i;
}

bool LayerChart::showsReference() const {
    for (std::size_t i = 0; i < series_.size(); ++i)
        if (styles_[i].reference && !series_[i]->points().isEmpty())
            return true;
    return false;
}

int LayerChart::seriesIndex(const QString& key) const {
    for (std::size_t i = 0; i < series_.size(); ++i)
        if (series_[i]->objectName() == key)
            return static_cast<int>(i);
    return -1;
}

void LayerChart::setSeriesName(int index, const QString& name) {
    QLineSeries* s = series(index);
    if (s->name() != name)
        s->setName(name);
}

void LayerChart::setSeries(int index, const std::vector<QPointF>& points) {
    QList<QPointF> shown;
    shown.reserve(static_cast<qsizetype>(points.size()));
    for (const auto& p : points) {
        if (!std::isfinite(p.y()) || !std::isfinite(p.x()))
            continue;
        if (logY_ && !(p.y() > 0))
            continue;
        shown.push_back(p);
    }
    QLineSeries* s = series_.at(static_cast<std::size_t>(index));
    s->replace(shown);
    // a line through one point draws nothing: show that point as a dot
    s->setPointsVisible(shown.size() == 1);
    charts::legendFollowsData(chart(), s,
                              !shown.isEmpty() && styles_[static_cast<std::size_t>(index)].listed);
}

void LayerChart::setInLegend(int index, bool listed) {
    styles_.at(static_cast<std::size_t>(index)).listed = listed;
    charts::legendFollowsData(chart(), series(index), listed && !points(index).isEmpty());
}

void LayerChart::restack() {
    QChart* c = chart();
    QAbstractAxis* y = logY_ ? static_cast<QAbstractAxis*>(yLog_) : yLinear_;
    auto readd = [&](QLineSeries* s) {
        s->setProperty("initscopeListed", QVariant()); // a new legend marker: set it again
        c->removeSeries(s);
        c->addSeries(s);
        s->attachAxis(xAxis_);
        s->attachAxis(y);
    };
    // the reference beneath everything, then the predictions beneath the measurements
    for (std::size_t i = 0; i < series_.size(); ++i)
        if (styles_[i].reference)
            readd(series_[i]);
    for (bool predicted : {true, false})
        for (std::size_t i = 0; i < series_.size(); ++i)
            if (styles_[i].predicted == predicted && !styles_[i].reference)
                readd(series_[i]);
    readd(marker_);
    charts::legendFollowsData(c, marker_, nonfiniteFrom_ > 0);
    for (std::size_t i = 0; i < series_.size(); ++i)
        charts::legendFollowsData(c, series_[i],
                                  styles_[i].listed && !series_[i]->points().isEmpty());
}

QList<QPointF> LayerChart::points(int index) const {
    return series_.at(static_cast<std::size_t>(index))->points();
}

void LayerChart::setDepth(int depth) {
    depth_ = std::max(1, depth);
    // half a layer beyond the first and the last: their points are not drawn on the frame
    charts::integerTicks(xAxis_, 0.5, depth_ + 0.5);
}

void LayerChart::setNonfiniteFrom(int layer) {
    nonfiniteFrom_ = layer;
    marker_->setName(layer > 0 ? tr("non-finite from %1 %2").arg(stage_).arg(layer) : QString());
    const auto markers = chart()->legend()->markers(marker_);
    for (auto* m : markers)
        m->setVisible(layer > 0);
    setTitleSuffix(suffix_);
    // the marker's points are placed by rescale(), which knows the y range
}

QString LayerChart::titleText() const {
    return chart()->title();
}

void LayerChart::setTitleSuffix(const QString& suffix) {
    suffix_ = suffix;
    // which run and its state first: a title too long for a narrow chart loses its numbers, never
    // the mark that the curves are stale
    QString t = QStringLiteral("<b>%1</b>").arg(title_.toHtmlEscaped());
    if (!runLabel_.isEmpty())
        t += QStringLiteral(" <span style='color:#808080'>[%1]</span>")
                 .arg(runLabel_.toHtmlEscaped());
    if (!stateNote_.isEmpty())
        t += QStringLiteral(" <span style='color:#c06000'><b>&mdash; %1</b></span>")
                 .arg(stateNote_.toHtmlEscaped());
    if (!suffix_.isEmpty())
        t += (twoLineTitle_ ? QStringLiteral("<br>%1") : QStringLiteral(" &mdash; %1"))
                 .arg(suffix_.toHtmlEscaped());
    if (nonfiniteFrom_ > 0)
        t += QStringLiteral(" <span style='color:#d03030'>(non-finite from %1 %2)</span>")
                 .arg(stage_.toHtmlEscaped())
                 .arg(nonfiniteFrom_);
    chart()->setTitle(t);
}

void LayerChart::setTitle(const QString& title) {
    if (title == title_)
        return;
    title_ = title;
    setTitleSuffix(suffix_);
}

void LayerChart::setStage(const QString& stage) {
    if (stage == stage_ || stage.isEmpty())
        return;
    stage_ = stage;
    xAxis_->setTitleText(xAxisTitle());
    setNonfiniteFrom(nonfiniteFrom_); // renames the marker, redraws the title
}

void LayerChart::setYLabel(const QString& label) {
    if (logY_)
        yLog_->setTitleText(label);
    else
        yLinear_->setTitleText(label);
}

QString LayerChart::yLabel() const {
    return logY_ ? yLog_->titleText() : yLinear_->titleText();
}

QString LayerChart::xAxisTitle() const {
    // an rnn's stages are time steps t; the others' layers or blocks l
    return stage_ == QLatin1String("time step") ? tr("time step t") : tr("%1 l").arg(stage_);
}

void LayerChart::setStateNote(const QString& note) {
    if (note == stateNote_)
        return;
    stateNote_ = note;
    // only the pens and the title: a whole applyPalette() resets the chart's theme and legend,
    // too slow (and flickering) for a mark that follows a slider drag
    applySeriesPens();
    setTitleSuffix(suffix_);
}

void LayerChart::setRunLabel(const QString& label) {
    if (label == runLabel_)
        return;
    runLabel_ = label;
    setTitleSuffix(suffix_);
}

void LayerChart::rescale() {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (auto* s : series_) {
        for (const QPointF& p : s->points()) {
            lo = std::min(lo, p.y());
            hi = std::max(hi, p.y());
        }
    }
    double axisLo = 0, axisHi = 1;
    if (logY_) {
        std::vector<double> ys;
        for (auto* s : series_)
            for (const QPointF& p : s->points())
                ys.push_back(p.y());
        if (ys.empty())
            ys = {0.1, 10};
        std::tie(axisLo, axisHi) = charts::fitLog(yLog_, ys);
    } else {
        if (!(hi >= lo)) {
            lo = 0;
            hi = 1;
        }
        lo = std::max(lo, yBoundLo_);
        hi = std::min(hi, yBoundHi_);
        const double span = std::max({hi - lo, minSpan_, 1e-9});
        if (hi - lo < span) {
            const double mid = 0.5 * (hi + lo);
            lo = mid - 0.5 * span;
            hi = mid + 0.5 * span;
            if (lo < yBoundLo_) {
                hi += yBoundLo_ - lo;
                lo = yBoundLo_;
            }
            if (hi > yBoundHi_) {
                lo -= hi - yBoundHi_;
                hi = yBoundHi_;
            }
        }
        const double step = niceStep(hi - lo, 8);
        axisLo = std::max(yBoundLo_, std::floor(lo / step) * step);
        axisHi = std::min(yBoundHi_, std::ceil(hi / step) * step);
        if (axisHi <= axisLo)
            axisHi = axisLo + step;
        // A curve at an end of the axis (c = 1 at the top of the correlation chart) would be
        // drawn on the frame: leave 4 % of the span free there (ticks stay at multiples of step)
        const double pad = 0.04 * (axisHi - axisLo);
        if (hi > axisHi - 0.25 * pad)
            axisHi += pad;
        if (lo < axisLo + 0.25 * pad)
            axisLo -= pad;
        yLinear_->setRange(axisLo, axisHi);
        const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
        yLinear_->setLabelFormat(QStringLiteral("%.%1f").arg(decimals));
        // Ticks counted from 0 (not from axisLo + k * step, whose rounding labelled 0 as -0.0)
        yLinear_->setTickType(QValueAxis::TicksDynamic);
        yLinear_->setTickAnchor(0);
        yLinear_->setTickInterval(step);
    }
    if (nonfiniteFrom_ > 0) {
        const double x = nonfiniteFrom_ - 0.5;
        marker_->replace(QList<QPointF>{{x, axisLo}, {x, axisHi}});
    } else {
        marker_->clear();
    }
}

void LayerChart::clearData() {
    for (auto* s : series_)
        s->clear();
    setNonfiniteFrom(0);
    marker_->clear();
}

void LayerChart::flushLayout() {
    if (QGraphicsLayout* l = chart()->layout())
        l->activate();
}

void LayerChart::applyPalette() {
    const QPalette pal = palette();
    chart()->setTheme(isDark(pal) ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    chart()->setBackgroundBrush(pal.color(QPalette::Base));
    chart()->setTitleBrush(pal.color(QPalette::Text));
    chart()->legend()->setLabelColor(pal.color(QPalette::Text));
    QFont tf = font();
    tf.setPointSizeF(tf.pointSizeF() * 1.1);
    chart()->setTitleFont(tf);
    for (QAbstractAxis* a : chart()->axes()) {
        a->setLabelsColor(pal.color(QPalette::Text));
        a->setTitleBrush(pal.color(QPalette::Text));
        QColor grid = pal.color(QPalette::Mid);
        grid.setAlpha(110);
        a->setGridLineColor(grid);
        a->setMinorGridLineColor(QColor(grid.red(), grid.green(), grid.blue(), 45));
    }
    applySeriesPens();
    QPen mpen(QColor(220, 40, 40));
    mpen.setWidthF(2.0);
    mpen.setStyle(Qt::DotLine);
    marker_->setPen(mpen);
    setTitleSuffix(suffix_);
    setNonfiniteFrom(nonfiniteFrom_);
}

void LayerChart::applySeriesPens() {
    const QPalette pal = palette();
    for (std::size_t i = 0; i < series_.size(); ++i) {
        QColor col = styles_[i].color;
        if (isDark(pal))
            col = col.lighter(135);
        if (styles_[i].reference) {
            // faded: 45 % of the way to the background, thinner, solid
            const QColor bg = pal.color(QPalette::Base);
            auto mix = [](int a, int b) { return (11 * a + 9 * b) / 20; };
            QPen pen(QColor(mix(col.red(), bg.red()), mix(col.green(), bg.green()),
                            mix(col.blue(), bg.blue())));
            pen.setWidthF(1.6 * lineScale_);
            series_[i]->setPen(pen);
            continue;
        }
        if (!stateNote_.isEmpty()) { // not the current run: grey, the hue only hinted
            const int g = qGray(col.rgb());
            col = QColor((col.red() + 3 * g) / 4, (col.green() + 3 * g) / 4,
                         (col.blue() + 3 * g) / 4, 150);
        }
        QPen pen(col);
        pen.setWidthF((styles_[i].predicted ? 2.0 : 2.4) * lineScale_);
        if (styles_[i].predicted)
            pen.setStyle(Qt::DashLine);
        series_[i]->setPen(pen);
    }
}

void LayerChart::setLineScale(double scale) {
    if (scale == lineScale_)
        return;
    lineScale_ = scale;
    applySeriesPens();
}

void LayerChart::setTwoLineTitle(bool on) {
    if (on == twoLineTitle_)
        return;
    twoLineTitle_ = on;
    setTitleSuffix(suffix_);
}

void LayerChart::showEvent(QShowEvent* event) {
    QChartView::showEvent(event);
    charts::refreshLegend(chart());
}

void LayerChart::changeEvent(QEvent* event) {
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyPalette();
}

} // namespace initscope::ui

#include "export/figure.h"

#include "charts/gridheatmap.h"
#include "charts/heatmapwidget.h"
#include "charts/layercharts.h"
#include "charts/viewcharts.h"
#include "export/export.h"
#include "model/specdiff.h"
#include "network/engine.h"
#include "spec/preset.h"
#include "stats/statschema.h"
#include "views/viewregistry.h"

#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QCoreApplication>
#include <QEventLoop>
#include <QFileInfo>
#include <QGraphicsLayout>
#include <QLayout>
#include <QLegend>
#include <QLineSeries>
#include <QPalette>
#include <QSplitter>
#include <QStyle>
#include <QTimer>
#include <QXYSeries>

#include <algorithm>
#include <cmath>
#include <functional>

namespace initscope::ui {

namespace {
const QColor kMeasured(31, 119, 180);
const QColor kPredicted(214, 39, 40);
const QColor kSecond(44, 160, 44);

QString tr(const char* text) {
    return QCoreApplication::translate("initscope::ui::Figure", text);
}

/// Geometric-mean ratio per layer between the first and the last finite positive value of
/// `v` (index l-1), i.e. (v_first / v_last)^(1 / (last - first)).
double perLayerRatio(const std::vector<double>& v) {
    int first = -1, last = -1;
    for (int i = 0; i < static_cast<int>(v.size()); ++i) {
        if (std::isfinite(v[static_cast<std::size_t>(i)]) && v[static_cast<std::size_t>(i)] > 0) {
            if (first < 0)
                first = i;
            last = i;
        }
    }
    if (first < 0 || last <= first)
        return std::nan("");
    return std::pow(v[static_cast<std::size_t>(first)] / v[static_cast<std::size_t>(last)],
                    1.0 / (last - first));
}

QString num(double v) {
    return std::isfinite(v) ? QString::number(v, 'g', 4) : QStringLiteral("n/a");
}

QString csvNumber(double x) {
    return std::isfinite(x) ? QString::number(x, 'g', 17) : QString();
}

/// A CSV field: quoted when it holds a comma, quote or line break.
QString csvField(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) &&
        !s.contains(QLatin1Char('\n')))
        return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

/// The chart's x axis: the layers of the run and of its reference, whichever is deeper.
int shownDepth(const RunView& r) {
    return std::max(r.spec.depth, r.reference ? r.reference->spec.depth : 0);
}

/// The reference run's `value` per layer in series `key` of `chart` (empty without a
/// reference). The first reference series of a chart is named by what differs from the run
/// shown; a further one (the gradient chart's weight gradient) by its quantity.
void feedReference(LayerChart* chart, const QString& key, const RunView& r,
                   const std::function<double(const LayerStats&)>& value,
                   const QString& quantity = QString()) {
    const int index = chart->seriesIndex(key);
    if (index < 0)
        return;
    std::vector<QPointF> points;
    if (r.reference)
        for (const LayerStats& s : r.reference->layers)
            if (s.index >= 1)
                points.emplace_back(s.index, value(s));
    chart->setSeriesName(
        index,
        !r.reference ? QString()
        : quantity.isEmpty()
            ? referenceLabel(r.reference->spec, r.spec)
            : QCoreApplication::translate("initscope::ui::Figure", "reference %1").arg(quantity));
    chart->setSeries(index, points);
}

QPalette paperPalette() {
    QPalette p = QApplication::style()->standardPalette();
    for (auto group : {QPalette::Active, QPalette::Inactive, QPalette::Disabled}) {
        p.setColor(group, QPalette::Base, Qt::white);
        p.setColor(group, QPalette::Window, Qt::white);
        p.setColor(group, QPalette::Text, Qt::black);
        p.setColor(group, QPalette::WindowText, Qt::black);
        p.setColor(group, QPalette::Mid, QColor(120, 120, 120));
    }
    return p;
}
} // namespace

QStringList figureNames() {
    return layerViewNames();
}

QStringList analysisFigureNames() {
    QStringList out;
    for (const QString& name : exportableViewNames())
        if (!findView(name)->isLayerView())
            out << name;
    return out;
}

FigureData figureDataFromResult(const RunResult& result) {
    FigureData d;
    d.spec = result.spec;
    d.theory = result.theory;
    d.layers.resize(static_cast<std::size_t>(std::max(0, result.spec.depth)));
    HeatmapAccumulator heatmaps(result.spec.depth);
    for (const LayerStats& s : result.layers) {
        if (s.index < 1 || s.index > result.spec.depth)
            continue;
        heatmaps.add(s);
        LayerStats copy = s;
        copy.sample.clear(); // the activation heatmap carries it, as in the window
        d.layers[static_cast<std::size_t>(s.index - 1)] = std::move(copy);
        if (d.firstNonfinite == 0 && (s.nonfinite > 0 || !std::isfinite(s.q)))
            d.firstNonfinite = s.index;
    }
    if (result.firstNonfiniteLayer > 0)
        d.firstNonfinite = result.firstNonfiniteLayer;
    d.distribution = heatmaps.renderDistribution();
    d.activations = heatmaps.renderActivations(false);
    d.activationsPerLayer = heatmaps.renderActivations(true);
    return d;
}

QString stageName(const NetworkSpec& spec) {
    return spec.arch == Arch::Resnet ? tr("block")
           : spec.arch == Arch::Rnn  ? QStringLiteral("time step") // the axes' key: not translated
                                     : tr("layer");
}

namespace {
QString signalTitle(const NetworkSpec& spec) {
    if (spec.arch == Arch::Rnn)
        return tr("Signal: length q\u209c of the hidden pre-activations h\u209c");
    return spec.arch == Arch::Resnet ? tr("Signal: length q\u02e1 of the residual stream x\u02e1")
                                     : tr("Signal: length q\u02e1 of the pre-activations");
}
QString signalYLabel(const NetworkSpec& spec) {
    if (spec.arch == Arch::Rnn)
        return tr("q\u209c = mean of h\u209c\u00b2 (log)");
    return spec.arch == Arch::Resnet ? tr("q\u02e1 = mean of x\u00b2 (log)")
                                     : tr("q\u02e1 = mean of h\u00b2 (log)");
}
QString distributionTitle(const NetworkSpec& spec) {
    if (spec.arch == Arch::Rnn)
        return tr("Distribution of the hidden pre-activations h\u209c per time step");
    return spec.arch == Arch::Resnet ? tr("Distribution of the residual stream x per block")
                                     : tr("Distribution of pre-activations h per layer");
}
} // namespace

void setHeatmapFamily(HeatmapWidget* h, const NetworkSpec& spec) {
    h->setStage(stageName(spec));
    if (h->objectName() == QLatin1String("distribution"))
        h->setTitle(distributionTitle(spec));
}

void showHeatmap(HeatmapWidget* h, const HeatmapImage& image, const NetworkSpec& spec) {
    setHeatmapFamily(h, spec);
    if (spec.arch != Arch::Resnet) {
        h->setHeatmap(image);
        return;
    }
    HeatmapImage named = image; // a copy for its labels (a resnet only; QImage is shared)
    if (named.yKey == QLatin1String("h"))
        named.yLabel = tr("residual stream x");
    named.colorLabel.replace(QLatin1String("layer"), QLatin1String("block"));
    h->setHeatmap(named);
}

LayerChart* makeSignalChart() {
    auto* c = new LayerChart(signalTitle(NetworkSpec{}), signalYLabel(NetworkSpec{}), true);
    c->setObjectName(QStringLiteral("signal"));
    c->addSeries(tr("measured q\u02e1"), QStringLiteral("q"), kMeasured, false);
    c->addSeries(tr("mean-field q\u02e1 (predicted)"), QStringLiteral("q_predicted"), kPredicted,
                 true);
    c->addReferenceSeries(0, QStringLiteral("q_reference"));
    return c;
}

LayerChart* makeGradientChart() {
    auto* c = new LayerChart(tr("Gradients"), tr("squared gradient norm (log)"), true);
    c->setObjectName(QStringLiteral("gradients"));
    c->addSeries(tr("measured E\u2016\u03b4\u02e1\u2016\u00b2"), QStringLiteral("grad_h2"),
                 kMeasured, false);
    c->addSeries(tr("measured \u2016\u2202L/\u2202W\u02e1\u2016\u00b2"), QStringLiteral("grad_w2"),
                 kSecond, false);
    c->addSeries(tr("predicted E\u2016\u03b4\u02e1\u2016\u00b2"),
                 QStringLiteral("grad_h2_predicted"), kPredicted, true);
    c->addReferenceSeries(0, QStringLiteral("grad_h2_reference"));
    c->addReferenceSeries(1, QStringLiteral("grad_w2_reference"));
    return c;
}

LayerChart* makeCorrelationChart() {
    auto* c = new LayerChart(tr("Correlation c\u02e1 between inputs"),
                             tr("c\u02e1 = mean cos(h_a, h_b)"), false);
    c->setObjectName(QStringLiteral("correlation"));
    c->setYBounds(-1.0, 1.0);
    c->setMinSpan(0.25);
    c->addSeries(tr("measured c\u02e1"), QStringLiteral("correlation"), kMeasured, false);
    c->addSeries(tr("mean-field c\u02e1 (predicted)"), QStringLiteral("correlation_predicted"),
                 kPredicted, true);
    c->addReferenceSeries(0, QStringLiteral("correlation_reference"));
    return c;
}

HeatmapWidget* makeDistributionView() {
    auto* h = new HeatmapWidget(distributionTitle(NetworkSpec{}));
    h->setObjectName(QStringLiteral("distribution"));
    return h;
}

HeatmapWidget* makeActivationView() {
    auto* h = new HeatmapWidget(tr("Activations of every unit for input 0"));
    h->setObjectName(QStringLiteral("activations"));
    return h;
}

void feedSignal(LayerChart* chart, const RunView& r) {
    std::vector<QPointF> q, tq;
    for (const LayerStats& s : r.layers)
        if (s.index >= 1)
            q.emplace_back(s.index, s.q);
    for (std::size_t i = 0; i < r.theory.q.size(); ++i)
        tq.emplace_back(static_cast<double>(i + 1), r.theory.q[i]);
    chart->setStage(stageName(r.spec));
    chart->setTitle(signalTitle(r.spec));
    chart->setYLabel(signalYLabel(r.spec));
    chart->setDepth(shownDepth(r));
    chart->setNonfiniteFrom(r.firstNonfinite);
    chart->setSeries(0, q);
    chart->setSeries(1, tq);
    feedReference(chart, QStringLiteral("q_reference"), r, [](const LayerStats& s) { return s.q; });
    QString suffix;
    // the deepest layer with a finite measurement, against its prediction
    auto last =
        std::find_if(q.rbegin(), q.rend(), [](const QPointF& p) { return std::isfinite(p.y()); });
    if (last != q.rend()) {
        const auto l = static_cast<std::size_t>(last->x());
        suffix = tr("q\u02e1 at %1 %2: %3 measured, %4 predicted")
                     .arg(chart->stage())
                     .arg(l)
                     .arg(num(last->y()))
                     .arg(num(l <= r.theory.q.size() ? r.theory.q[l - 1] : std::nan("")));
    }
    chart->setTitleSuffix(suffix);
    chart->rescale();
}

void feedGradients(LayerChart* chart, const RunView& r) {
    const int depth = r.spec.depth;
    std::vector<QPointF> gh, gw, tg;
    std::vector<double> measured(static_cast<std::size_t>(std::max(0, depth)), std::nan(""));
    for (const LayerStats& s : r.layers) {
        if (s.index < 1 || s.index > depth || !s.hasGradients)
            continue;
        gh.emplace_back(s.index, s.gradH2);
        gw.emplace_back(s.index, s.gradW2);
        measured[static_cast<std::size_t>(s.index - 1)] = s.gradH2;
    }
    for (std::size_t i = 0; i < r.theory.gradH2.size(); ++i)
        tg.emplace_back(static_cast<double>(i + 1), r.theory.gradH2[i]);
    chart->setStage(stageName(r.spec));
    chart->setDepth(shownDepth(r));
    chart->setNonfiniteFrom(r.firstNonfinite);
    chart->setSeries(0, gh);
    chart->setSeries(1, gw);
    chart->setSeries(2, tg);
    const auto gradient = [](double LayerStats::*field) {
        return [field](const LayerStats& s) { return s.hasGradients ? s.*field : std::nan(""); };
    };
    feedReference(chart, QStringLiteral("grad_h2_reference"), r, gradient(&LayerStats::gradH2));
    feedReference(chart, QStringLiteral("grad_w2_reference"), r, gradient(&LayerStats::gradW2),
                  tr("\u2016\u2202L/\u2202W\u02e1\u2016\u00b2"));
    // geometric mean of the predicted per-layer ratios E||d^l||^2 / E||d^{l+1}||^2
    double predicted = std::nan("");
    double sum = 0;
    int n = 0;
    for (double v : r.theory.gradRatio) {
        if (std::isfinite(v) && v > 0) {
            sum += std::log(v);
            ++n;
        }
    }
    if (n > 0)
        predicted = std::exp(sum / n);
    if (r.spec.arch == Arch::Rnn) // one step back in time: delta_t over delta_{t+1}
        chart->setTitleSuffix(tr("ratio per step back in time E\u2016\u03b4\u209c\u2016\u00b2/"
                                 "E\u2016\u03b4\u209c\u208a\u2081\u2016\u00b2: "
                                 "%1 measured, %2 predicted")
                                  .arg(num(perLayerRatio(measured)), num(predicted)));
    else
        chart->setTitleSuffix(
            tr("per-%1 ratio E\u2016\u03b4\u02e1\u2016\u00b2/"
               "E\u2016\u03b4\u02e1\u207a\u00b9\u2016\u00b2: "
               "%2 measured, %3 predicted")
                .arg(chart->stage(), num(perLayerRatio(measured)), num(predicted)));
    chart->rescale();
}

void feedCorrelation(LayerChart* chart, const RunView& r) {
    std::vector<QPointF> c, tc;
    for (const LayerStats& s : r.layers)
        if (s.index >= 1)
            c.emplace_back(s.index, s.correlation);
    for (std::size_t i = 0; i < r.theory.c.size(); ++i)
        tc.emplace_back(static_cast<double>(i + 1), r.theory.c[i]);
    chart->setStage(stageName(r.spec));
    chart->setDepth(shownDepth(r));
    chart->setNonfiniteFrom(r.firstNonfinite);
    chart->setSeries(0, c);
    chart->setSeries(1, tc);
    feedReference(chart, QStringLiteral("correlation_reference"), r,
                  [](const LayerStats& s) { return s.correlation; });
    chart->setTitleSuffix(std::isfinite(r.theory.cStar) ? tr("c* = %1").arg(num(r.theory.cStar))
                                                        : QString());
    chart->rescale();
}

namespace {
// The rows of the engine's statistics schema (statschema.h); their titles and axis labels are
// translated in this context.
const LayerStatistic* statisticInfo(const QString& key) {
    return findLayerStatistic(key.toStdString());
}

QString trStat(const char* text) {
    return QCoreApplication::translate("initscope::ui::Figure", text);
}
} // namespace

QStringList statisticKeys() {
    QStringList keys;
    for (const LayerStatistic& s : layerStatistics())
        keys << QString::fromLatin1(s.key);
    return keys;
}

QString statisticLabel(const QString& key) {
    const LayerStatistic* s = statisticInfo(key);
    return s ? trStat(s->title) : key;
}

bool statisticLogY(const QString& key) {
    const LayerStatistic* s = statisticInfo(key);
    return s && s->logScale;
}

double statisticValue(const LayerStats& s, const QString& key) {
    const LayerStatistic* info = statisticInfo(key);
    if (!info || s.index < 1 || !info->available(s))
        return std::nan("");
    return info->value(s);
}

LayerChart* makeStatisticChart(const QString& requested) {
    const LayerStatistic* s = statisticInfo(requested);
    if (!s)
        s = &layerStatistics().front();
    const QString key = QString::fromLatin1(s->key);
    auto* c = new LayerChart(trStat(s->title), trStat(s->axis), s->logScale);
    c->setObjectName(QStringLiteral("statistic"));
    c->setProperty("initscopeStatistic", key);
    if (std::isfinite(s->lo) || std::isfinite(s->hi))
        c->setYBounds(std::isfinite(s->lo) ? s->lo : -1e300, std::isfinite(s->hi) ? s->hi : 1e300);
    // a statistic that is exactly constant (unit_spread = 0 under symmetry) is drawn on a
    // readable axis, not one of width 1e-9
    if (!s->logScale)
        c->setMinSpan(s->minSpan);
    c->addSeries(tr("measured %1").arg(key), key, kMeasured, false);
    if (s->theory)
        c->addSeries(tr("mean-field %1 (predicted)").arg(key), key + QStringLiteral("_predicted"),
                     kPredicted, true);
    c->addReferenceSeries(0, key + QStringLiteral("_reference"));
    return c;
}

void feedStatistic(LayerChart* chart, const RunView& r, const QString& key) {
    std::vector<QPointF> measured, predicted;
    for (const LayerStats& s : r.layers)
        if (s.index >= 1)
            measured.emplace_back(s.index, statisticValue(s, key));
    chart->setStage(stageName(r.spec));
    chart->setDepth(shownDepth(r));
    chart->setNonfiniteFrom(r.firstNonfinite);
    chart->setSeries(0, measured);
    feedReference(chart, key + QStringLiteral("_reference"), r,
                  [&key](const LayerStats& s) { return statisticValue(s, key); });
    const LayerStatistic* info = statisticInfo(key);
    if (const std::vector<double>* t = info && info->theory ? &(r.theory.*info->theory) : nullptr;
        t && chart->seriesCount() > 1) {
        for (std::size_t i = 0; i < t->size(); ++i)
            predicted.emplace_back(static_cast<double>(i + 1), (*t)[i]);
        chart->setSeries(1, predicted);
    }
    // the deepest layer with a finite value, for reading it off without hovering
    auto last = std::find_if(measured.rbegin(), measured.rend(),
                             [](const QPointF& p) { return std::isfinite(p.y()); });
    chart->setTitleSuffix(
        last != measured.rend()
            ? tr("%1 at %2 %3: %4").arg(key, chart->stage()).arg(last->x()).arg(num(last->y()))
            : QString());
    chart->rescale();
}

std::unique_ptr<QWidget> makeFigure(const QString& name, const FigureData& data) {
    const ViewInfo* v = findView(name);
    return v && v->makeFigure ? v->makeFigure(data) : nullptr;
}

namespace {
/// The figure inside an analysis view, without its combo boxes and buttons (empty: not one).
std::vector<QWidget*> figureParts(QWidget* view) {
    const ViewInfo* v = findView(view);
    return v && v->figureParts ? v->figureParts(view) : std::vector<QWidget*>{};
}
} // namespace

namespace {
/// The chart views of a figure: the figure itself, or the charts inside an analysis view.
std::vector<QChartView*> chartViews(QWidget* figure) {
    if (auto* v = qobject_cast<QChartView*>(figure))
        return {v};
    std::vector<QChartView*> out;
    for (QWidget* w : figureParts(figure)) {
        if (auto* v = qobject_cast<QChartView*>(w))
            out.push_back(v);
        for (QChartView* c : w->findChildren<QChartView*>())
            out.push_back(c);
    }
    return out;
}

/// Lays out every chart of `figure` at its current size now (Qt Charts does it on posted
/// layout requests, and an export renders before the event loop would deliver them).
void settleLayout(QWidget* figure) {
    for (int pass = 0; pass < 2; ++pass) {
        QCoreApplication::sendPostedEvents();
        if (figure->layout())
            figure->layout()->activate();
        for (QChartView* v : chartViews(figure)) {
            v->chart()->resize(QSizeF(v->size()));
            QCoreApplication::sendPostedEvents();
            if (auto* chart = qobject_cast<LayerChart*>(v)) {
                chart->flushLayout();
                chart->rescale();
            } else if (QGraphicsLayout* l = v->chart()->layout()) {
                l->activate();
            }
            if (QGraphicsLayout* l = v->chart()->legend()->layout())
                l->activate();
        }
    }
    QCoreApplication::sendPostedEvents();
}
} // namespace

void applyPaperStyle(QWidget* figure) {
    figure->ensurePolished();
    figure->setAttribute(Qt::WA_DontShowOnScreen);
    figure->setPalette(paperPalette()); // the charts re-theme themselves on the palette change
    for (QChartView* v : chartViews(figure)) {
        v->setFrameShape(QFrame::NoFrame);
        v->chart()->setBackgroundRoundness(0);
        v->chart()->setDropShadowEnabled(false);
        // A legend laid out before the theme change above keeps stale entries (one label,
        // no markers, in an offscreen copy); setting its font lays it out again.
        v->chart()->legend()->setFont(v->font());
    }
}

void applyLectureStyle(QWidget* figure, QSize size) {
    // Sizes for a figure of 1200 x 750 logical pixels shown on a slide: text must stay readable
    // from the back of a lecture hall, lines visible on a projector. A smaller or larger figure
    // fills the same slide scaled, so its text scales too, by the square root of the size ratio
    // (400 x 300: 0.58) so that a small figure keeps room for its data and stays legible.
    // A view of n panels (NTK: 3) gives each about 1/n of the area.
    const QSize reference = FigureOptions{}.size;
    const double panels = std::max<std::size_t>(1, figureParts(figure).size());
    const double ratio = std::min(static_cast<double>(size.width()) / reference.width(),
                                  static_cast<double>(size.height()) / reference.height()) /
                         std::sqrt(panels);
    const double scale = std::clamp(std::sqrt(ratio), 0.45, 2.0);
    const double kTextPt = 15 * scale, kTitlePt = 17 * scale;
    QFont f = figure->font();
    f.setPointSizeF(kTextPt);
    figure->setFont(f); // the heatmaps draw everything from the widget font
    for (QWidget* w : figureParts(figure))
        w->setFont(f);
    applyPaperStyle(figure);
    for (QChartView* v : chartViews(figure)) {
        QChart* c = v->chart();
        QFont title = f;
        title.setPointSizeF(kTitlePt);
        title.setBold(c->titleFont().bold());
        c->setTitleFont(title);
        c->legend()->setFont(f);
        for (QAbstractAxis* a : c->axes()) {
            a->setLabelsFont(f);
            a->setTitleFont(f);
            QPen line = a->linePen();
            line.setWidthF(1.5);
            a->setLinePen(line);
        }
        for (QAbstractSeries* s : c->series()) {
            if (auto* line = qobject_cast<QLineSeries*>(s)) {
                QPen pen = line->pen();
                pen.setWidthF(pen.widthF() * 2.0);
                line->setPen(pen);
            }
        }
        c->setMargins(QMargins(12, 12, 12, 12));
        // a chart alone: the numbers after its title on a line of their own (they would not fit
        // beside it); the panels of a view keep their height for data (fitTitle wraps them)
        if (v == figure) {
            QString t = c->title();
            t.replace(QStringLiteral(" &mdash; "), QStringLiteral("<br>"));
            c->setTitle(t);
        }
    }
}

namespace {
/// One row per layer that any series has a point at; one column per series, named by its key.
/// The reference's columns only while one is drawn: without it the schema is the CLI's.
QString layerChartCsv(const LayerChart* chart) {
    std::vector<int> columns;
    const bool reference = chart->showsReference();
    for (int i = 0; i < chart->seriesCount(); ++i)
        if (reference || !chart->isReference(i))
            columns.push_back(i);
    std::vector<double> xs;
    for (int i : columns)
        for (const QPointF& p : chart->points(i))
            xs.push_back(p.x());
    std::sort(xs.begin(), xs.end());
    xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
    QString out = csvField(chart->stage());
    for (int i : columns)
        out += QLatin1Char(',') + csvField(chart->series(i)->objectName());
    out += QLatin1Char('\n');
    std::vector<QList<QPointF>> pts;
    for (int i : columns)
        pts.push_back(chart->points(i));
    std::vector<qsizetype> next(pts.size(), 0);
    for (double x : xs) {
        out += QString::number(x, 'g', 17);
        for (std::size_t i = 0; i < pts.size(); ++i) {
            out += QLatin1Char(',');
            if (next[i] < pts[i].size() && pts[i][next[i]].x() == x)
                out += csvNumber(pts[i][next[i]++].y());
        }
        out += QLatin1Char('\n');
    }
    return out;
}

/// Rows of the long CSV of an analysis view ("panel,series,x,y,value"): every point of every
/// named series of `view`'s chart (value empty).
void appendChartRows(QString& out, const QString& panel, QChartView* view) {
    for (QAbstractSeries* s : view->chart()->series()) {
        auto* xy = qobject_cast<QXYSeries*>(s);
        // unnamed series are drawing aids (the sweep's dots repeat its line; the band's fill)
        if (!xy || xy->objectName().isEmpty() || !xy->isVisible())
            continue;
        for (const QPointF& p : xy->points())
            out += QStringLiteral("%1,%2,%3,%4,\n")
                       .arg(csvField(panel), csvField(xy->objectName()), csvNumber(p.x()),
                            csvNumber(p.y()));
    }
}

/// Cell centres and values of a grid heatmap, as rows of the long CSV (series = value key).
void appendGridRows(QString& out, const QString& panel, const GridImage& g) {
    const int w = g.image.width(), h = g.image.height();
    if (w <= 0 || h <= 0 || g.values.size() != static_cast<std::size_t>(w) * h)
        return;
    const double dx = (g.xRight - g.xLeft) / w, dy = (g.yBottom - g.yTop) / h;
    for (int row = 0; row < h; ++row)
        for (int col = 0; col < w; ++col) {
            const double v = g.values[static_cast<std::size_t>(row) * w + col];
            if (std::isnan(v))
                continue;
            out += QStringLiteral("%1,%2,%3,%4,%5\n")
                       .arg(csvField(panel), csvField(g.valueKey),
                            csvNumber(g.xLeft + (col + 0.5) * dx),
                            csvNumber(g.yTop + (row + 0.5) * dy), csvNumber(v));
        }
}

/// The overlays of a grid heatmap that has CSV keys for them (x, y; empty value).
void appendOverlayRows(QString& out, const QString& panel, const GridHeatmap* g) {
    const std::pair<const QPolygonF*, QString> curves[] = {
        {&g->overlay(), g->overlayKey()}, {&g->secondOverlay(), g->secondOverlayKey()}};
    for (const auto& [curve, key] : curves) {
        if (key.isEmpty())
            continue;
        for (const QPointF& p : *curve)
            if (std::isfinite(p.x()) && std::isfinite(p.y()))
                out += QStringLiteral("%1,%2,%3,%4,\n")
                           .arg(csvField(panel), csvField(key), csvNumber(p.x()), csvNumber(p.y()));
    }
}
} // namespace

QString figureCsv(const QWidget* figure) {
    if (auto* chart = qobject_cast<const LayerChart*>(figure))
        return layerChartCsv(chart);
    if (auto* map = qobject_cast<const HeatmapWidget*>(figure)) {
        const HeatmapImage& h = map->heatmap();
        QString out = QStringLiteral("%1,%2,%3\n")
                          .arg(csvField(map->stage()), csvField(h.yKey), csvField(h.valueKey));
        const int rows = static_cast<int>(h.rowY.size());
        if (h.depth <= 0 ||
            h.values.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(h.depth))
            return out;
        // layer by layer, y ascending (image rows run from the top)
        for (int x = 0; x < h.depth; ++x) {
            for (int row = rows - 1; row >= 0; --row) {
                const float v =
                    h.values[static_cast<std::size_t>(row) * static_cast<std::size_t>(h.depth) +
                             static_cast<std::size_t>(x)];
                out += QStringLiteral("%1,%2,%3\n")
                           .arg(x + 1)
                           .arg(csvNumber(h.rowY[static_cast<std::size_t>(row)]),
                                csvNumber(static_cast<double>(v)));
            }
        }
        return out;
    }
    // an analysis view: one long table for its panels (charts and grid heatmaps)
    QString out = QStringLiteral("panel,series,x,y,value\n");
    for (QWidget* part : figureParts(const_cast<QWidget*>(figure))) {
        if (auto* v = qobject_cast<QChartView*>(part))
            appendChartRows(out, part->objectName(), v);
        else if (auto* g = qobject_cast<GridHeatmap*>(part)) {
            appendGridRows(out, part->objectName(), g->grid());
            appendOverlayRows(out, part->objectName(), g);
        }
        for (QChartView* v : part->findChildren<QChartView*>())
            appendChartRows(out, v->objectName(), v);
    }
    return out;
}

bool exportFigureWidget(QWidget* figure, const QString& name, const QString& path,
                        const FigureOptions& options, QString* error) {
    if (QFileInfo(path).suffix().toLower() == QLatin1String("csv"))
        return saveText(figureCsv(figure), path, error);
    if (options.lecture)
        applyLectureStyle(figure, options.size);
    else
        applyPaperStyle(figure);
    const bool view = !figureParts(figure).empty();
    if (view) {
        // the figure alone: the view's controls and notes are not part of a slide
        const std::vector<QWidget*> parts = figureParts(figure);
        for (QWidget* child : figure->findChildren<QWidget*>(Qt::FindDirectChildrenOnly)) {
            const bool holdsPart = std::any_of(parts.begin(), parts.end(), [&](QWidget* p) {
                return p == child || child->isAncestorOf(p);
            });
            if (!holdsPart)
                child->hide();
        }
        if (figure->layout())
            figure->layout()->setContentsMargins(0, 0, 0, 0);
        // the requested size rules, not the minimum sizes that keep the window's tab usable
        for (QWidget* w : figure->findChildren<QWidget*>())
            w->setMinimumSize(1, 1);
        figure->setMinimumSize(1, 1);
        for (QSplitter* s : figure->findChildren<QSplitter*>())
            s->setHandleWidth(0); // no grip between the panels of a slide
        figure->show(); // offscreen (WA_DontShowOnScreen): lays the view out as in the window
    }
    if (!view)
        figure->setMinimumSize(1, 1);
    figure->resize(options.size);
    settleLayout(figure);
    QRect source;
    if (view) {
        // grow the view by whatever its layout keeps around the figure, so the figure itself
        // has the requested size
        source = figureRect(figure);
        figure->resize(figure->size() + (options.size - source.size()));
        settleLayout(figure);
        // exactly the requested size even where a layout rounds a few pixels differently
        source = QRect(figureRect(figure).topLeft(), options.size);
    }
    // long titles and labels wrap (or shrink) instead of being cut, once the charts have their
    // sizes: the title and legend first, then what depends on the plot area they leave
    for (QChartView* v : chartViews(figure))
        charts::fitTitle(v->chart());
    settleLayout(figure);
    for (QChartView* v : chartViews(figure))
        charts::fitLabels(v->chart());
    settleLayout(figure);
    ExportOptions e;
    e.scale = options.scale;
    e.presetJson = options.presetJson;
    e.title = QStringLiteral("initscope %1").arg(name);
    e.source = source;
    return exportWidget(figure, path, e, error);
}

bool exportFigure(const QString& name, const FigureData& data, const QString& path,
                  const FigureOptions& options, QString* error) {
    std::unique_ptr<QWidget> figure = makeFigure(name, data);
    if (!figure) {
        if (error)
            *error = tr("There is no chart named '%1' (one of: %2).")
                         .arg(name, figureNames().join(QStringLiteral(", ")));
        return false;
    }
    return exportFigureWidget(figure.get(), name, path, options, error);
}

std::unique_ptr<QWidget> copyAnalysisFigure(const QWidget* view) {
    const ViewInfo* v = findView(view);
    return v && v->copy ? v->copy(view) : nullptr;
}

QRect figureRect(QWidget* view) {
    QRect r;
    for (QWidget* w : figureParts(view))
        r |= QRect(w->mapTo(view, QPoint(0, 0)), w->size());
    return r.isEmpty() ? view->rect() : r;
}

std::unique_ptr<QWidget> startAnalysisFigure(const QString& name, const Preset& preset, QSize size,
                                             const std::function<void()>& done, QString* problem) {
    const ViewInfo* v = findView(name);
    if (!v || !v->startFigure)
        return nullptr;
    std::unique_ptr<QWidget> view(v->make());
    if (v->applyPreset)
        v->applyPreset(view.get(), preset);
    v->setSpec(view.get(), preset.spec);
    if (const QString p = analysisFigureProblems(view.get()); !p.isEmpty()) {
        if (problem)
            *problem = p;
        return nullptr; // it would never start, so `done` would never come
    }
    v->startFigure(view.get(), done);
    view->setAttribute(Qt::WA_DontShowOnScreen);
    view->resize(size);
    view->show(); // offscreen: starts the computation, as selecting the tab does
    return view;
}

QString analysisFigureProblems(QWidget* view) {
    const ViewInfo* v = findView(view);
    return v && v->figureProblems ? v->figureProblems(view) : QString();
}

namespace {
/// Shows a fresh analysis view offscreen with `spec`, waits (event loop) until its worker's
/// result is drawn, and exports it through exportFigureWidget: the GUI tab's widget and code.
bool exportAnalysisFigure(const QString& name, const Preset& preset, const QString& path,
                          const FigureOptions& options, QString* error) {
    constexpr int kTimeoutMs = 3600000; // a trainability map takes minutes
    QEventLoop loop;
    bool done = false;
    QString problem;
    const std::unique_ptr<QWidget> view = startAnalysisFigure(
        name, preset, options.size,
        [&] {
            done = true;
            loop.quit();
        },
        &problem);
    if (!view) {
        if (error)
            *error = tr("--chart %1: %2").arg(name, problem);
        return false;
    }
    QTimer::singleShot(kTimeoutMs, &loop, &QEventLoop::quit);
    if (!done)
        loop.exec();
    if (!done) {
        if (error)
            *error = tr("--chart %1: no result within %2 s").arg(name).arg(kTimeoutMs / 1000);
        return false;
    }
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents(); // the last streamed values (posted before the result)
    if (const QString failed = analysisFigureProblems(view.get()); !failed.isEmpty()) {
        if (error)
            *error = tr("--chart %1: %2").arg(name, failed);
        return false;
    }
    QString message;
    if (!exportFigureWidget(view.get(), name, path, options, &message)) {
        if (error)
            *error = tr("--out: %1").arg(message);
        return false;
    }
    return true;
}
} // namespace

bool exportPresetFigure(const Preset& preset, const QString& chart, const QString& path,
                        const FigureOptions& options, QString* error) {
    auto fail = [error](const QString& m) {
        if (error)
            *error = m;
        return false;
    };
    const QStringList all = exportableViewNames();
    if (!all.contains(chart.toLower()))
        return fail(tr("--chart: unknown chart '%1' (one of: %2)")
                        .arg(chart, all.join(QStringLiteral(", "))));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (!QStringList{QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf"),
                     QStringLiteral("csv")}
             .contains(suffix))
        return fail(tr("--out %1: the file name must end in .png, .svg, .pdf or .csv").arg(path));
    if (!findView(chart)->isLayerView())
        return exportAnalysisFigure(chart.toLower(), preset, path, options, error);
    Engine engine;
    const RunResult result = engine.run(preset.spec); // throws SpecInvalid for a bad spec
    FigureData data = figureDataFromResult(result);
    if (!preset.statistic.empty())
        data.statistic = QString::fromStdString(preset.statistic);
    QString message;
    if (!exportFigure(chart, data, path, options, &message))
        return fail(tr("--out: %1").arg(message));
    return true;
}

} // namespace initscope::ui

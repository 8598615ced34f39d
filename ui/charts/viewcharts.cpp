#include "charts/viewcharts.h"

#include <QChart>
#include <QCoreApplication>
#include <QEvent>
#include <QFontMetricsF>
#include <QGraphicsLayout>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPen>
#include <QTextDocument>
#include <QValueAxis>

#include <algorithm>
#include <array>
#include <cmath>

namespace initscope::ui::charts {

QColor color(int i) {
    static const std::array<QColor, 10> k{
        QColor(31, 119, 180),  QColor(214, 39, 40), QColor(44, 160, 44),   QColor(255, 127, 14),
        QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
        QColor(188, 189, 34),  QColor(23, 190, 207)};
    return k[static_cast<std::size_t>(std::abs(i)) % k.size()];
}

namespace {
/// Follows the application palette (light or dark), as LayerChart does.
class ThemedChartView : public QChartView {
public:
    explicit ThemedChartView(QChart* chart) : QChartView(chart) { applyPalette(); }

protected:
    void showEvent(QShowEvent* event) override {
        QChartView::showEvent(event);
        refreshLegend(chart());
    }
    void changeEvent(QEvent* event) override {
        QChartView::changeEvent(event);
        if (event->type() == QEvent::PaletteChange)
            applyPalette();
    }

private:
    void applyPalette() {
        const QPalette pal = palette();
        QChart* c = chart();
        c->setBackgroundBrush(pal.color(QPalette::Base));
        c->setTitleBrush(pal.color(QPalette::Text));
        c->legend()->setLabelColor(pal.color(QPalette::Text));
        QColor grid = pal.color(QPalette::Mid);
        grid.setAlpha(110);
        for (QAbstractAxis* a : c->axes()) {
            a->setLabelsColor(pal.color(QPalette::Text));
            a->setTitleBrush(pal.color(QPalette::Text));
            a->setGridLineColor(grid);
            a->setMinorGridLineColor(QColor(grid.red(), grid.green(), grid.blue(), 45));
        }
    }
};
} // namespace

void restyle(QChartView* view) {
    // axes added after construction pick up the palette here
    QEvent e(QEvent::PaletteChange);
    QCoreApplication::sendEvent(view, &e);
}

QChartView* makeView(const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    QFont f = chart->titleFont();
    f.setBold(true);
    chart->setTitleFont(f);
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->legend()->setAlignment(Qt::AlignBottom);
    lineLegend(chart);
    chart->setMargins(QMargins(6, 6, 6, 6));
    auto* view = new ThemedChartView(chart);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(300, 220);
    return view;
}

QValueAxis* valueAxis(QChart* chart, const QString& title, Qt::Alignment side,
                      const QString& format) {
    auto* a = new QValueAxis;
    a->setTitleText(title);
    a->setLabelFormat(format);
    chart->addAxis(a, side);
    return a;
}

QLogValueAxis* logAxis(QChart* chart, const QString& title, Qt::Alignment side) {
    auto* a = new QLogValueAxis;
    a->setTitleText(title);
    a->setBase(10);
    a->setLabelFormat(QString::fromLatin1(kLogLabelFormat));
    a->setMinorTickCount(8);
    a->setRange(0.1, 10);
    chart->addAxis(a, side);
    return a;
}

QLineSeries* addLine(QChart* chart, const QString& name, const QColor& c, bool dashed,
                     QAbstractAxis* x, QAbstractAxis* y, qreal width) {
    auto* s = new QLineSeries;
    s->setName(name);
    chart->addSeries(s);
    s->attachAxis(x);
    s->attachAxis(y);
    QPen pen(c, width);
    if (dashed)
        pen.setStyle(Qt::DashLine);
    s->setPen(pen);
    legendFollowsData(chart, s, false); // listed once it has points (setPoints)
    return s;
}

std::pair<double, double> fitLog(QLogValueAxis* axis, const std::vector<double>& ys) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (double y : ys) {
        if (std::isfinite(y) && y > 0) {
            lo = std::min(lo, y);
            hi = std::max(hi, y);
        }
    }
    if (!(hi >= lo))
        return {axis->min(), axis->max()};
    constexpr double kSpareDecades = 0.1;
    int a = static_cast<int>(std::floor(std::log10(lo) - kSpareDecades));
    int b = static_cast<int>(std::ceil(std::log10(hi) + kSpareDecades));
    if (b - a < 1)
        b = a + 1;
    // One label per decade until they crowd; then every k-th decade (base 10^k).
    const int perLabel = std::max(1, (b - a + 9) / 10);
    a = static_cast<int>(std::floor(static_cast<double>(a) / perLabel)) * perLabel;
    b = static_cast<int>(std::ceil(static_cast<double>(b) / perLabel)) * perLabel;
    axis->setBase(std::pow(10.0, perLabel));
    // 2, 3, ..., 9 times each decade, as on log paper (minor ticks are spaced linearly in value)
    axis->setMinorTickCount(perLabel == 1 ? 8 : 0);
    axis->setLabelFormat(QString::fromLatin1(kLogLabelFormat));
    const double axisLo = std::pow(10.0, a), axisHi = std::pow(10.0, b);
    // a hair of padding: QLogValueAxis drops the label of an end that rounds inside the range
    axis->setRange(axisLo * 0.999, axisHi * 1.001);
    return {axisLo, axisHi};
}

void integerTicks(QValueAxis* axis, double lo, double hi, int maxTicks) {
    axis->setRange(lo, hi);
    const double raw = std::max(1.0, (hi - lo) / std::max(1, maxTicks));
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = 10 * mag;
    for (double m : {1.0, 2.0, 5.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    axis->setTickType(QValueAxis::TicksDynamic);
    axis->setTickAnchor(0);
    axis->setTickInterval(step);
    axis->setLabelFormat(QStringLiteral("%d"));
}

void lineLegend(QChart* chart) {
    chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
}

void refreshLegend(QChart* chart) {
    if (QGraphicsLayout* l = chart->legend()->layout())
        l->invalidate();
}

void legendFollowsData(QChart* chart, QAbstractSeries* series, bool hasPoints) {
    // only on a change: every frame sets the points again
    const QVariant listed = series->property("initscopeListed");
    if (listed.isValid() && listed.toBool() == hasPoints)
        return;
    series->setProperty("initscopeListed", hasPoints);
    for (QLegendMarker* m : chart->legend()->markers(series))
        m->setVisible(hasPoints);
    refreshLegend(chart);
}

namespace {
/// Width of `html` laid out on one line in `font`, as Qt Charts measures a title.
qreal htmlWidth(const QString& html, const QFont& font) {
    QTextDocument doc;
    doc.setDefaultFont(font);
    doc.setHtml(html);
    return doc.size().width();
}

/// `line` split at spaces that are not inside an HTML tag.
QStringList words(const QString& line) {
    QStringList out;
    QString cur;
    bool inTag = false;
    for (QChar ch : line) {
        if (ch == QLatin1Char('<'))
            inTag = true;
        else if (ch == QLatin1Char('>'))
            inTag = false;
        if (ch == QLatin1Char(' ') && !inTag) {
            if (!cur.isEmpty())
                out << cur;
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.isEmpty())
        out << cur;
    return out;
}

/// `html` broken into lines that each fit `avail` in `font` (explicit <br> kept); `font`
/// shrinks while one word alone is wider than that.
QString wrapHtml(const QString& html, QFont& font, qreal avail) {
    const QStringList forced = html.split(QStringLiteral("<br>"));
    QStringList lines;
    for (int attempt = 0; attempt < 12; ++attempt) {
        lines.clear();
        bool wordTooWide = false;
        for (const QString& f : forced) {
            QString cur;
            for (const QString& w : words(f)) {
                const QString candidate = cur.isEmpty() ? w : cur + QLatin1Char(' ') + w;
                if (cur.isEmpty() || htmlWidth(candidate, font) <= avail) {
                    cur = candidate;
                } else {
                    lines << cur;
                    cur = w;
                }
                if (htmlWidth(w, font) > avail)
                    wordTooWide = true;
            }
            lines << cur;
        }
        if (!wordTooWide || font.pointSizeF() < 6)
            break;
        font.setPointSizeF(font.pointSizeF() * 0.9);
    }
    return lines.join(QStringLiteral("<br>"));
}

/// A 1, 2, 5 x 10^k step of at least `raw`.
double niceAtLeast(double raw) {
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0})
        if (m * mag >= raw * (1 - 1e-9))
            return m * mag;
    return 10 * mag;
}
} // namespace

void fitTitle(QChart* chart) {
    const QString title = chart->title();
    if (title.isEmpty())
        return;
    // the title's rectangle: the chart inside its margins; 5 % to spare because a line that
    // starts inside a tag opened on the line before is measured without that tag
    const qreal avail =
        0.92 * (chart->size().width() - chart->margins().left() - chart->margins().right()) - 12;
    if (!(avail > 20))
        return;
    QFont font = chart->titleFont();
    const QString wrapped = wrapHtml(title, font, avail);
    chart->setTitleFont(font);
    chart->setTitle(wrapped);
}

void fitLabels(QChart* chart) {
    const QRectF plot = chart->plotArea();
    if (plot.width() < 10 || plot.height() < 10)
        return;
    for (QAbstractAxis* a : chart->axes()) {
        const bool vertical = a->orientation() == Qt::Vertical;
        const qreal side = vertical ? plot.height() : plot.width();
        a->setTruncateLabels(false);
        if (!a->titleText().isEmpty()) {
            QFont f = a->titleFont();
            const QString t = wrapHtml(a->titleText(), f, 0.95 * side);
            a->setTitleFont(f);
            a->setTitleText(t);
        }
        const QFontMetricsF fm(a->labelsFont());
        if (auto* v = qobject_cast<QValueAxis*>(a);
            v && v->tickType() == QValueAxis::TicksDynamic && v->tickInterval() > 0) {
            // room per label: its width plus a gap across, two line heights up
            const double widest = std::max(std::abs(v->min()), std::abs(v->max()));
            const qreal label = vertical ? 2 * fm.height()
                                         : fm.horizontalAdvance(QString::number(widest, 'g', 6)) +
                                               fm.averageCharWidth() * 3;
            const double fits = std::max(1.0, side / label);
            const double span = v->max() - v->min();
            if (span / v->tickInterval() > fits)
                v->setTickInterval(niceAtLeast(span / fits));
        } else if (auto* l = qobject_cast<QLogValueAxis*>(a); l && l->min() > 0) {
            const qreal label = vertical ? 2 * fm.height() : fm.horizontalAdvance("1e+00") * 1.6;
            const double decades = std::log10(l->max() / l->min());
            const double perLabel = std::log10(l->base());
            if (perLabel > 0 && decades / perLabel > side / label) {
                const int k = static_cast<int>(std::ceil(decades * label / side));
                l->setBase(std::pow(10.0, k));
                l->setMinorTickCount(0);
            }
        }
    }
    // the legend's entries in one row (Qt Charts cuts labels that do not fit)
    QLegend* legend = chart->legend();
    if (!legend->isVisible())
        return;
    const qreal avail =
        chart->size().width() - chart->margins().left() - chart->margins().right() - 16;
    QFont f = legend->font();
    for (int attempt = 0; attempt < 10 && f.pointSizeF() >= 6; ++attempt) {
        const QFontMetricsF fm(f);
        qreal need = 0;
        for (QLegendMarker* m : legend->markers())
            if (m->isVisible() && !m->label().isEmpty())
                need += fm.horizontalAdvance(m->label()) + 3 * fm.height(); // sample and gap
        if (need <= avail)
            break;
        f.setPointSizeF(f.pointSizeF() * 0.9);
    }
    legend->setFont(f);
}

void fitLinear(QValueAxis* axis, double lo, double hi, double minSpan) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || hi < lo)
        return;
    if (hi - lo < minSpan) {
        const double m = (lo + hi) / 2;
        lo = m - minSpan / 2;
        hi = m + minSpan / 2;
    }
    const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(1e-9, std::abs(hi) * 0.05 + 0.5);
    axis->setRange(lo - pad, hi + pad);
    axis->applyNiceNumbers();
}

void setPoints(QXYSeries* series, const QList<QPointF>& points, bool markers) {
    series->replace(points);
    series->setPointsVisible(markers || points.size() == 1);
    if (series->chart())
        legendFollowsData(series->chart(), series, !points.isEmpty());
}

QList<QPointF> drawable(const std::vector<QPointF>& points, bool positive) {
    QList<QPointF> out;
    for (const QPointF& p : points)
        if (std::isfinite(p.x()) && std::isfinite(p.y()) && (!positive || p.y() > 0))
            out.append(p);
    return out;
}

} // namespace initscope::ui::charts

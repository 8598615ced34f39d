#include "viewcharts.h"

#include <QChart>
#include <QCoreApplication>
#include <QEvent>
#include <QLegend>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QPen>
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
    a->setLabelFormat(QStringLiteral("%.0e"));
    a->setMinorTickCount(-1);
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
    return s;
}

void fitLog(QLogValueAxis* axis, const std::vector<double>& ys) {
    double lo = HUGE_VAL, hi = -HUGE_VAL;
    for (double y : ys) {
        if (std::isfinite(y) && y > 0) {
            lo = std::min(lo, y);
            hi = std::max(hi, y);
        }
    }
    if (!(hi >= lo))
        return;
    double a = std::floor(std::log10(lo) + 1e-9), b = std::ceil(std::log10(hi) - 1e-9);
    if (b - a < 1)
        b = a + 1;
    // a hair of padding: QLogValueAxis drops the label of an end that rounds inside the range
    axis->setRange(std::pow(10.0, a) * 0.999, std::pow(10.0, b) * 1.001);
    axis->setLabelFormat(b - a > 4 || a < -2 || b > 3 ? QStringLiteral("%.0e")
                                                      : QStringLiteral("%g"));
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

QList<QPointF> drawable(const std::vector<QPointF>& points, bool positive) {
    QList<QPointF> out;
    for (const QPointF& p : points)
        if (std::isfinite(p.x()) && std::isfinite(p.y()) && (!positive || p.y() > 0))
            out.append(p);
    return out;
}

} // namespace initscope::ui::charts

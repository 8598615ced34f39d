#include "charts/gridheatmap.h"

#include "charts/colormap.h"
#include "charts/heatmapwidget.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>

#include <algorithm>
#include <array>
#include <cmath>

namespace initscope::ui {

QRgb diverging(double t) {
    static constexpr std::array<std::array<int, 3>, 11> k{{{5, 48, 97},
                                                           {33, 102, 172},
                                                           {67, 147, 195},
                                                           {146, 197, 222},
                                                           {209, 229, 240},
                                                           {247, 247, 247},
                                                           {253, 219, 199},
                                                           {244, 165, 130},
                                                           {214, 96, 77},
                                                           {178, 24, 43},
                                                           {103, 0, 31}}};
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    const double x = t * 10;
    const int i = std::min(9, static_cast<int>(x));
    const double f = x - i;
    auto mix = [&](int c) {
        return static_cast<int>(
            std::lround(k[static_cast<std::size_t>(i)][static_cast<std::size_t>(c)] * (1 - f) +
                        k[static_cast<std::size_t>(i + 1)][static_cast<std::size_t>(c)] * f));
    };
    return qRgb(mix(0), mix(1), mix(2));
}

namespace {
/// Widest tick label the margins leave room for.
const QString kWidestTick = QStringLiteral("-0.0000");

QString tickText(double v) {
    if (v != 0 && (std::abs(v) >= 1e4 || std::abs(v) < 1e-3))
        return QString::number(v, 'g', 3);
    return QString::number(v, 'g', 4);
}

} // namespace

std::vector<double> axisTicks(double lo, double hi, int maxTicks, bool integer) {
    std::vector<double> t = niceTicks(lo, hi, maxTicks);
    if (!integer)
        return t;
    // niceTicks adds its step up: 0.1 ten times is 1.0000000000000002, a whole number all the same
    std::vector<double> whole;
    for (double v : t)
        if (const double r = std::round(v);
            std::abs(v - r) < 1e-6 && (whole.empty() || whole.back() != r))
            whole.push_back(r);
    if (whole.size() < 2) { // a step below 1 over a short range: every whole number in it
        whole.clear();
        for (double v = std::ceil(lo);
             v <= std::floor(hi) && static_cast<int>(whole.size()) < std::max(2, maxTicks); ++v)
            whole.push_back(v);
    }
    return whole;
}

std::vector<double> logColorTicks(double vMin, double vMax, int maxLabels, int maxTicks) {
    // 1, 2, 5 x 10^k inside the range; decades only when those would crowd
    std::vector<double> all, decades;
    for (int d = static_cast<int>(std::floor(vMin)) - 1; d <= std::ceil(vMax); ++d)
        for (double m : {1.0, 2.0, 5.0}) {
            const double t = d + std::log10(m);
            if (t >= vMin - 1e-9 && t <= vMax + 1e-9) {
                all.push_back(t);
                if (m == 1.0)
                    decades.push_back(t);
            }
        }
    if (all.size() < 2) { // a narrow range (q from 2.7 to 2.85): nice values within it
        std::vector<double> nice;
        for (double v : niceTicks(std::pow(10.0, vMin), std::pow(10.0, vMax), maxTicks))
            nice.push_back(std::log10(v));
        return nice.size() >= 2 ? nice : all;
    }
    return static_cast<int>(all.size()) > maxLabels ? decades : all;
}

GridHeatmap::GridHeatmap(const QString& title, QWidget* parent) : QWidget(parent), title_(title) {
    setMouseTracking(true);
}

void GridHeatmap::setGrid(const GridImage& grid) {
    grid_ = grid;
    update();
}

void GridHeatmap::setEmptyText(const QString& text) {
    emptyText_ = text;
    update();
}

void GridHeatmap::setTitle(const QString& title) {
    title_ = title;
    update();
}

void GridHeatmap::setOverlay(const QPolygonF& curve, const QString& legend) {
    overlay_ = curve;
    overlayLegend_ = legend;
    update();
}

void GridHeatmap::setSecondOverlay(const QPolygonF& curve, const QString& legend) {
    overlay2_ = curve;
    overlay2Legend_ = legend;
    update();
}

void GridHeatmap::setOverlayKeys(const QString& first, const QString& second) {
    overlayKey_ = first;
    overlay2Key_ = second;
}

void GridHeatmap::setMarker(QPointF p, const QString& legend) {
    marker_ = p;
    markerLegend_ = legend;
    update();
}

double GridImage::fraction(double v) const {
    double t;
    if (std::isfinite(vCentre) && vMin < vCentre && vCentre < vMax)
        t = v < vCentre ? 0.5 * (v - vMin) / (vCentre - vMin)
                        : 0.5 + 0.5 * (v - vCentre) / (vMax - vCentre);
    else
        t = vMax > vMin ? (v - vMin) / (vMax - vMin) : 0.5;
    return std::clamp(t, 0.0, 1.0);
}

QFont GridHeatmap::titleFont() const {
    QFont f = font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.15);
    return f;
}

bool GridHeatmap::hasLegend() const {
    return !overlay_.isEmpty() || !overlay2_.isEmpty() ||
           (std::isfinite(marker_.x()) && std::isfinite(marker_.y()));
}

GridHeatmap::Margins GridHeatmap::margins() const {
    const QFontMetrics fm(font()), tfm(titleFont());
    // the title wraps (never cut) within the width
    const int titleH = tfm.boundingRect(QRect(0, 0, std::max(50, width() - 8), 10000),
                                        Qt::AlignHCenter | Qt::TextWordWrap, title_)
                           .height();
    const int tick = fm.horizontalAdvance(kWidestTick);
    Margins m;
    m.top = titleH + 10;
    m.left = fm.height() + 10 + tick + 8;
    m.right = 16 + 16 + 7 + tick + fm.height() + 8;
    m.bottom = 6 + fm.height() + 6 + fm.height() + 6 + (hasLegend() ? fm.height() + 10 : 0);
    return m;
}

QRect GridHeatmap::plotRect() const {
    const Margins m = margins();
    QRect r(m.left, m.top, std::max(10, width() - m.left - m.right),
            std::max(10, height() - m.top - m.bottom));
    if (grid_.squareCells && !grid_.isNull()) {
        // a K x K matrix: square, centred in the room there is
        const int side = std::min(r.width(), r.height());
        r = QRect(r.left() + (r.width() - side) / 2, r.top() + (r.height() - side) / 2, side, side);
    }
    return r;
}

QRect GridHeatmap::legendRect() const {
    if (!hasLegend())
        return {};
    const QFontMetrics fm(font());
    const int h = fm.height() + 6;
    return QRect(4, height() - h - 4, width() - 8, h);
}

QPointF GridHeatmap::toData(QPointF w) const {
    const QRectF p = plotRect();
    const GridImage& g = grid_;
    return {g.xLeft + (w.x() - p.left()) / p.width() * (g.xRight - g.xLeft),
            g.yTop + (w.y() - p.top()) / p.height() * (g.yBottom - g.yTop)};
}

QPointF GridHeatmap::toWidget(QPointF d) const {
    const QRectF p = plotRect();
    const GridImage& g = grid_;
    return {p.left() + (d.x() - g.xLeft) / (g.xRight - g.xLeft) * p.width(),
            p.top() + (d.y() - g.yTop) / (g.yBottom - g.yTop) * p.height()};
}

void GridHeatmap::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QPalette pal = palette();
    painter.fillRect(rect(), pal.color(QPalette::Base));
    const QColor text = pal.color(QPalette::Text);
    const QRect plot = plotRect();
    const QFontMetrics fm(font());

    painter.setFont(titleFont());
    painter.setPen(text);
    painter.drawText(QRect(4, 4, width() - 8, plot.top() - 8),
                     Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, title_);
    painter.setFont(font());
    painter.setPen(pal.color(QPalette::Mid));
    painter.drawRect(plot.adjusted(0, 0, -1, -1));
    const GridImage& g = grid_;
    if (g.isNull()) {
        painter.setPen(text);
        painter.drawText(plot, Qt::AlignCenter | Qt::TextWordWrap,
                         emptyText_.isEmpty() ? tr("computing...") : emptyText_);
        return;
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(plot, g.image);

    // axes
    painter.setPen(text);
    const double xLo = std::min(g.xLeft, g.xRight), xHi = std::max(g.xLeft, g.xRight);
    for (double t : axisTicks(xLo, xHi, std::max(2, plot.width() / 70), g.integerX)) {
        const int x = static_cast<int>(std::lround(toWidget({t, g.yBottom}).x()));
        painter.drawLine(x, plot.bottom(), x, plot.bottom() + 5);
        const QString s = tickText(t);
        painter.drawText(x - fm.horizontalAdvance(s) / 2, plot.bottom() + 6 + fm.ascent(), s);
    }
    painter.setFont(fittedFont(font(), g.xLabel, plot.width()));
    painter.drawText(
        QRect(plot.left(), plot.bottom() + 8 + fm.height(), plot.width(), fm.height() + 4),
        Qt::AlignCenter, g.xLabel);
    painter.setFont(font());
    const double yLo = std::min(g.yTop, g.yBottom), yHi = std::max(g.yTop, g.yBottom);
    for (double t : axisTicks(yLo, yHi, std::max(2, plot.height() / 40), g.integerY)) {
        const int y = static_cast<int>(std::lround(toWidget({g.xLeft, t}).y()));
        painter.drawLine(plot.left() - 5, y, plot.left(), y);
        const QString s = tickText(t);
        painter.drawText(plot.left() - 8 - fm.horizontalAdvance(s), y + fm.ascent() / 2 - 1, s);
    }
    painter.save();
    painter.translate(plot.left() - 8 - fm.horizontalAdvance(kWidestTick) - fm.height() / 2 - 2,
                      plot.center().y());
    painter.rotate(-90);
    painter.setFont(fittedFont(font(), g.yLabel, plot.height()));
    painter.drawText(
        QRect(-plot.height() / 2, -fm.height() / 2 - 2, plot.height(), fm.height() + 4),
        Qt::AlignCenter, g.yLabel);
    painter.restore();

    // colour bar
    const QRect bar(plot.right() + 16, plot.top(), 16, plot.height());
    QImage barImage(1, 256, QImage::Format_RGB32);
    for (int i = 0; i < 256; ++i)
        barImage.setPixel(0, 255 - i, g.divergingMap ? diverging(i / 255.0) : viridis(i / 255.0));
    // the bar's colours are the map's, evenly; a tick sits where its value's colour is
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    painter.drawImage(bar, barImage);
    painter.setPen(pal.color(QPalette::Mid));
    painter.drawRect(bar.adjusted(0, 0, -1, -1));
    painter.setPen(text);
    if (g.vMax > g.vMin) {
        auto tick = [&](double t, const QString& label) {
            const int y =
                static_cast<int>(std::lround(bar.bottom() - g.fraction(t) * bar.height()));
            painter.drawLine(bar.right(), y, bar.right() + 4, y);
            painter.drawText(bar.right() + 7, y + fm.ascent() / 2 - 1, label);
        };
        if (g.logColor) {
            for (double t : logColorTicks(g.vMin, g.vMax, bar.height() / (fm.height() + 6),
                                          std::max(2, bar.height() / 40)))
                tick(t, tickText(std::pow(10.0, t)));
        } else {
            for (double t : niceTicks(g.vMin, g.vMax, std::max(2, bar.height() / 40)))
                tick(t, tickText(t));
        }
    }
    painter.save();
    painter.translate(bar.right() + 7 + fm.horizontalAdvance(kWidestTick) + fm.height() / 2 + 2,
                      plot.center().y());
    painter.rotate(90);
    painter.setFont(fittedFont(font(), g.colorLabel, plot.height()));
    painter.drawText(
        QRect(-plot.height() / 2, -fm.height() / 2 - 2, plot.height(), fm.height() + 4),
        Qt::AlignCenter, g.colorLabel);
    painter.restore();

    painter.setRenderHint(QPainter::Antialiasing, true);
    // the legend: one row below the axis label, entries side by side (never over the data)
    const QRect legendRow = legendRect();
    int legendX = std::max(legendRow.left(), plot.left());
    auto legend = [&](const QString& s, const QPen& pen, bool dot) {
        painter.save();
        painter.setClipping(false);
        const QRect box(legendX, legendRow.top(), fm.horizontalAdvance(s) + 38, legendRow.height());
        legendX = box.right() + 16;
        painter.setPen(pen);
        const int cy = box.center().y();
        if (dot) {
            painter.setBrush(QColor(255, 210, 0));
            painter.drawEllipse(QPointF(box.left() + 14, cy), 5, 5);
            painter.setBrush(Qt::NoBrush);
        } else {
            painter.drawLine(box.left() + 4, cy, box.left() + 26, cy);
        }
        painter.setPen(text);
        painter.drawText(box.adjusted(32, 0, 0, 0), Qt::AlignVCenter | Qt::AlignLeft, s);
        painter.restore();
    };
    painter.setClipRect(plot);
    if (!overlay_.isEmpty()) {
        QPainterPath path;
        bool open = false;
        for (const QPointF& d : overlay_) {
            if (!std::isfinite(d.x()) || !std::isfinite(d.y())) {
                open = false;
                continue;
            }
            const QPointF w = toWidget(d);
            if (open)
                path.lineTo(w);
            else
                path.moveTo(w);
            open = true;
        }
        QPen halo(QColor(255, 255, 255, 200), 5);
        painter.strokePath(path, halo);
        QPen line(Qt::black, 2.5, Qt::DashLine);
        painter.strokePath(path, line);
        legend(overlayLegend_, line, false);
    }
    if (!overlay2_.isEmpty()) {
        QPainterPath path;
        bool open = false;
        for (const QPointF& d : overlay2_) {
            if (!std::isfinite(d.x()) || !std::isfinite(d.y())) {
                open = false;
                continue;
            }
            const QPointF w = toWidget(d);
            if (open)
                path.lineTo(w);
            else
                path.moveTo(w);
            open = true;
        }
        painter.strokePath(path, QPen(QColor(0, 0, 0, 170), 5));
        QPen line(Qt::white, 2.5, Qt::DotLine);
        painter.strokePath(path, line);
        QPen legendPen(Qt::black, 2.5, Qt::DotLine);
        legend(overlay2Legend_, legendPen, false);
    }
    if (std::isfinite(marker_.x()) && std::isfinite(marker_.y())) {
        const QPointF w = toWidget(marker_);
        QPen pen(Qt::black, 2.5);
        painter.setPen(QPen(Qt::white, 5));
        painter.drawEllipse(w, 7, 7);
        painter.setPen(pen);
        painter.setBrush(QColor(255, 210, 0));
        painter.drawEllipse(w, 7, 7);
        painter.setBrush(Qt::NoBrush);
        legend(markerLegend_, pen, true);
    }
    painter.setClipping(false);
    if (g.rows > 0 && g.rowsDone < g.rows) {
        painter.setPen(text);
        painter.drawText(plot.adjusted(0, 0, -6, -4), Qt::AlignRight | Qt::AlignBottom,
                         tr("%1 / %2 rows").arg(g.rowsDone).arg(g.rows));
    }
}

void GridHeatmap::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && !grid_.isNull() &&
        plotRect().contains(event->position().toPoint()))
        emit clicked(toData(event->position()));
    QWidget::mousePressEvent(event);
}

void GridHeatmap::mouseMoveEvent(QMouseEvent* event) {
    if (grid_.isNull() || !plotRect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const QPointF d = toData(event->position());
    QToolTip::showText(event->globalPosition().toPoint(),
                       QStringLiteral("%1 = %2, %3 = %4")
                           .arg(grid_.xLabel)
                           .arg(d.x(), 0, 'g', 4)
                           .arg(grid_.yLabel)
                           .arg(d.y(), 0, 'g', 4),
                       this);
}

} // namespace initscope::ui

#include "charts/heatmapwidget.h"

#include "charts/colormap.h"
#include "charts/viewcharts.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <cmath>

namespace initscope::ui {

std::vector<double> niceTicks(double lo, double hi, int maxTicks) {
    std::vector<double> ticks;
    if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi) || maxTicks < 2)
        return ticks;
    const double raw = (hi - lo) / (maxTicks - 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    // the nice steps around raw: 0.5, 1, 2, 5, 10 times its decade
    const double steps[] = {0.5 * mag, mag, 2 * mag, 5 * mag, 10 * mag};
    int k = 1;
    while (k < 4 && steps[k] < raw)
        ++k;
    auto ticksOf = [&](double step) {
        std::vector<double> out;
        const double first = std::ceil(lo / step - 1e-9) * step;
        for (double t = first; t <= hi + step * 1e-9; t += step)
            out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
        return out;
    };
    ticks = ticksOf(steps[k]);
    // a range a little wider than a nice step (cell edges half a cell beyond 0 and 1) would
    // get one tick: the next smaller step gives two, one more than maxTicks asks
    if (ticks.size() < 2)
        ticks = ticksOf(steps[k - 1]);
    return ticks;
}

QFont fittedFont(QFont font, const QString& text, int width) {
    while (font.pointSizeF() > 6 && QFontMetrics(font).horizontalAdvance(text) > width)
        font.setPointSizeF(font.pointSizeF() * 0.9);
    return font;
}

namespace {
constexpr int kLeft = 78, kRight = 120, kTop = 34, kBottom = 52;

/// Room around the plot for the title, tick labels, axis titles and the colour bar: the
/// constants above at the desktop font, more for a larger font (the lecture style of exports).
struct Margins {
    int left, right, top, bottom;
};
QFont titleFontOf(const QFont& font) {
    QFont f = font;
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.15);
    return f;
}

/// The title's height wrapped to `width` (a long title wraps; it is never cut).
int titleHeight(const QFont& font, const QString& title, int width) {
    return QFontMetrics(titleFontOf(font))
        .boundingRect(QRect(0, 0, std::max(50, width - 8), 10000),
                      Qt::AlignHCenter | Qt::TextWordWrap, title)
        .height();
}

Margins margins(const QFont& font, const QString& title, int width) {
    const QFontMetrics fm(font);
    const int h = fm.height();
    const int tick = fm.horizontalAdvance(QStringLiteral("-0.0001"));
    return {std::max(kLeft, tick + h + 26), std::max(kRight, tick + h + 62),
            std::max(kTop, titleHeight(font, title, width) + 12), std::max(kBottom, 2 * h + 18)};
}

QString tickText(double v) {
    if (v != 0 && (std::abs(v) >= 1e4 || std::abs(v) < 1e-3))
        return QString::number(v, 'g', 3);
    return QString::number(v, 'g', 4);
}
} // namespace

HeatmapWidget::HeatmapWidget(const QString& title, QWidget* parent)
    : QWidget(parent), title_(title), colorBar_(1, 256, QImage::Format_RGB32) {
    for (int i = 0; i < 256; ++i)
        colorBar_.setPixel(0, 255 - i, viridis(i / 255.0));
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent, false);
}

void HeatmapWidget::setHeatmap(const HeatmapImage& heatmap) {
    heatmap_ = heatmap;
    update();
}

void HeatmapWidget::clear() {
    heatmap_ = HeatmapImage{};
    update();
}

void HeatmapWidget::setStateNote(const QString& note) {
    if (note == stateNote_)
        return;
    stateNote_ = note;
    update();
}

void HeatmapWidget::setRunLabel(const QString& label) {
    if (label == runLabel_)
        return;
    runLabel_ = label;
    update();
}

void HeatmapWidget::setTitle(const QString& title) {
    if (title == title_)
        return;
    title_ = title;
    update();
}

void HeatmapWidget::setStage(const QString& stage) {
    if (stage == stage_ || stage.isEmpty())
        return;
    stage_ = stage;
    update();
}

QString HeatmapWidget::xAxisTitle() const {
    // an rnn's stages are time steps t; the others' layers or blocks l
    return stage_ == QLatin1String("time step") ? tr("time step t") : tr("%1 l").arg(stage_);
}

QString HeatmapWidget::shownTitle() const {
    QString t = title_;
    if (!runLabel_.isEmpty())
        t += QStringLiteral(" [%1]").arg(runLabel_);
    if (!stateNote_.isEmpty())
        t += QStringLiteral(" \u2014 ") + stateNote_;
    return t;
}

QString HeatmapWidget::nonfiniteNote() const {
    if (heatmap_.firstNonfinite <= 0)
        return {};
    return tr("non-finite from %1 %2").arg(stage_).arg(heatmap_.firstNonfinite);
}

QRect HeatmapWidget::plotRect() const {
    const Margins m = margins(font(), shownTitle(), width());
    return QRect(m.left, m.top, std::max(10, width() - m.left - m.right),
                 std::max(10, height() - m.top - m.bottom));
}

QRect HeatmapWidget::colorBarRect() const {
    const QRect p = plotRect();
    return QRect(p.right() + 18, p.top(), 16, p.height());
}

void HeatmapWidget::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QPalette pal = palette();
    painter.fillRect(rect(), pal.color(QPalette::Base));
    const QColor text = pal.color(QPalette::Text);
    const QRect plot = plotRect();
    const QFontMetrics fm(font());

    painter.setFont(titleFontOf(font()));
    painter.setPen(text);
    painter.drawText(QRect(4, 4, width() - 8, plot.top() - 6),
                     Qt::AlignHCenter | Qt::AlignVCenter | Qt::TextWordWrap, shownTitle());
    painter.setFont(font());

    painter.setPen(pal.color(QPalette::Mid));
    painter.drawRect(plot.adjusted(0, 0, -1, -1));
    if (heatmap_.isNull() || heatmap_.depth <= 0) {
        painter.setPen(text);
        painter.drawText(plot, Qt::AlignCenter, tr("waiting for the first %1s...").arg(stage_));
        return;
    }
    const HeatmapImage& h = heatmap_;
    // Nearest-neighbour scaling: every layer stays a crisp column.
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(plot, h.image);
    if (!stateNote_.isEmpty()) { // not the current run: faded towards the background
        QColor veil = pal.color(QPalette::Base);
        veil.setAlpha(150);
        painter.fillRect(plot, veil);
    }

    // x axis: layers (column j spans [j + 0.5, j + 1.5])
    painter.setPen(text);
    auto xToPx = [&](double layer) { return plot.left() + (layer - 0.5) / h.depth * plot.width(); };
    // at least a few: niceTicks(1, 16, 2) would step by 20 and label no layer at all
    const int maxXTicks = std::max(4, plot.width() / 70);
    for (double t : niceTicks(1, h.depth, maxXTicks)) {
        if (t < 1 || std::abs(t - std::round(t)) > 1e-9)
            continue;
        const int x = static_cast<int>(std::lround(xToPx(t)));
        painter.drawLine(x, plot.bottom(), x, plot.bottom() + 5);
        const QString s = tickText(t);
        painter.drawText(x - fm.horizontalAdvance(s) / 2, plot.bottom() + 6 + fm.ascent(), s);
    }
    painter.drawText(
        QRect(plot.left(), plot.bottom() + 8 + fm.height(), plot.width(), fm.height() + 4),
        Qt::AlignCenter, xAxisTitle());

    // y axis
    auto yToPx = [&](double v) {
        return plot.bottom() - (v - h.yMin) / (h.yMax - h.yMin) * plot.height();
    };
    const int maxYTicks = std::max(2, plot.height() / 40);
    for (double t : niceTicks(h.yMin, h.yMax, maxYTicks)) {
        const int y = static_cast<int>(std::lround(yToPx(t)));
        painter.drawLine(plot.left() - 5, y, plot.left(), y);
        const QString s = tickText(t);
        painter.drawText(plot.left() - 8 - fm.horizontalAdvance(s), y + fm.ascent() / 2 - 1, s);
    }
    painter.save();
    painter.translate(14, plot.center().y());
    painter.rotate(-90);
    painter.setFont(fittedFont(font(), h.yLabel, plot.height()));
    painter.drawText(
        QRect(-plot.height() / 2, -fm.height() / 2 - 2, plot.height(), fm.height() + 4),
        Qt::AlignCenter, h.yLabel);
    painter.restore();

    // colour bar
    const QRect bar = colorBarRect();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    painter.drawImage(bar, colorBar_);
    painter.setPen(pal.color(QPalette::Mid));
    painter.drawRect(bar.adjusted(0, 0, -1, -1));
    painter.setPen(text);
    const int maxBarTicks = std::max(2, bar.height() / 40);
    for (double t : niceTicks(h.vMin, h.vMax, maxBarTicks)) {
        if (h.logColor && std::abs(t - std::round(t)) > 1e-9)
            continue; // decades only on a log bar
        const int y = static_cast<int>(
            std::lround(bar.bottom() - (t - h.vMin) / (h.vMax - h.vMin) * bar.height()));
        painter.drawLine(bar.right(), y, bar.right() + 4, y);
        // decades in the format of every log axis (1e-05 .. 1e+00)
        const QString s = h.logColor ? QString::asprintf(charts::kLogLabelFormat, std::pow(10.0, t))
                                     : tickText(t);
        painter.drawText(bar.right() + 7, y + fm.ascent() / 2 - 1, s);
    }
    painter.save();
    painter.translate(width() - 12, plot.center().y());
    painter.rotate(90);
    painter.setFont(fittedFont(font(), h.colorLabel, plot.height()));
    painter.drawText(
        QRect(-plot.height() / 2, -fm.height() / 2 - 2, plot.height(), fm.height() + 4),
        Qt::AlignCenter, h.colorLabel);
    painter.restore();

    // non-finite marker: a red line at the first bad layer and its name
    if (h.firstNonfinite > 0) {
        const int x = static_cast<int>(std::lround(xToPx(h.firstNonfinite - 0.5)));
        QPen pen(QColor(220, 40, 40));
        pen.setWidth(2);
        painter.setPen(pen);
        painter.drawLine(x, plot.top(), x, plot.bottom());
        const QString note = nonfiniteNote();
        QRect box = fm.boundingRect(note).adjusted(-6, -3, 6, 3);
        box.moveTopLeft(QPoint(std::min(x + 6, plot.right() - box.width()), plot.top() + 6));
        painter.fillRect(box, QColor(255, 255, 255, 220));
        painter.setPen(QColor(180, 20, 20));
        painter.drawText(box, Qt::AlignCenter, note);
    }
    if (h.layersDone < h.depth) {
        painter.setPen(text);
        painter.drawText(plot.adjusted(0, 0, -6, -4), Qt::AlignRight | Qt::AlignBottom,
                         tr("%1 / %2 %3s").arg(h.layersDone).arg(h.depth).arg(stage_));
    }
}

void HeatmapWidget::mouseMoveEvent(QMouseEvent* event) {
    const QRect plot = plotRect();
    const QPoint p = event->position().toPoint();
    if (heatmap_.isNull() || !plot.contains(p)) {
        QToolTip::hideText();
        return;
    }
    const int layer = 1 + static_cast<int>((p.x() - plot.left()) *
                                           static_cast<double>(heatmap_.depth) / plot.width());
    const double y = heatmap_.yMin + (plot.bottom() - p.y()) / static_cast<double>(plot.height()) *
                                         (heatmap_.yMax - heatmap_.yMin);
    QToolTip::showText(
        event->globalPosition().toPoint(),
        tr("%1 %2, %3 = %4").arg(stage_).arg(layer).arg(heatmap_.yLabel).arg(y, 0, 'g', 3), this);
}

} // namespace initscope::ui

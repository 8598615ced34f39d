// Small helpers shared by the analysis views (phase, Jacobian, NTK, ensemble, sweep): a chart
// with a title and a bottom legend, titled axes, styled series, and a log axis that only ever
// gets a finite positive range.
#pragma once

#include <QChartView>
#include <QColor>
#include <QPointF>

#include <vector>

class QAbstractAxis;
class QLineSeries;
class QLogValueAxis;
class QValueAxis;

namespace initscope::ui::charts {

/// Colours of the views: measured (blue), predicted (red), a third and fourth quantity, then
/// more for per-input series.
QColor color(int i);

/// A chart view with `title`, legend at the bottom, no animation, following the application
/// palette (light or dark).
QChartView* makeView(const QString& title);
/// Applies the palette to axes added after makeView().
void restyle(QChartView* view);
QValueAxis* valueAxis(QChart* chart, const QString& title, Qt::Alignment side,
                      const QString& format = QStringLiteral("%.3g"));
QLogValueAxis* logAxis(QChart* chart, const QString& title, Qt::Alignment side);
/// A line series in `chart` attached to x and y; dashed for predictions.
QLineSeries* addLine(QChart* chart, const QString& name, const QColor& color, bool dashed,
                     QAbstractAxis* x, QAbstractAxis* y, qreal width = 2.0);
/// Sets the range of a log axis to cover the finite positive values of `ys` (whole decades,
/// at least one decade wide); leaves it alone when there are none.
void fitLog(QLogValueAxis* axis, const std::vector<double>& ys);
/// Sets a linear axis to [lo, hi] padded by 5 % (at least `minSpan` wide).
void fitLinear(QValueAxis* axis, double lo, double hi, double minSpan = 0);
/// The points with finite y (and y > 0 when `positive`).
QList<QPointF> drawable(const std::vector<QPointF>& points, bool positive);

} // namespace initscope::ui::charts

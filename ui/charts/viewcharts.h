// Small helpers shared by the analysis views (phase, Jacobian, NTK, ensemble, sweep): a chart
// with a title and a bottom legend, titled axes, styled series, and a log axis that only ever
// gets a finite positive range.
#pragma once

#include <QChartView>
#include <QColor>
#include <QPointF>

#include <utility>
#include <vector>

class QAbstractAxis;
class QAbstractSeries;
class QChart;
class QLineSeries;
class QLogValueAxis;
class QValueAxis;
class QXYSeries;

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
/// The number format of every decade-labelled log axis: 1e-02, 1e+00, 1e+03 (one form whatever
/// the range, so no chart reads "100" where another reads "1e+02").
inline constexpr const char* kLogLabelFormat = "%.0e";
/// Sets a log axis to whole decades covering the finite positive values of `ys` with a tenth
/// of a decade to spare at each end (a constant curve is never drawn on the frame), at least one
/// decade wide, labelled at each decade (every k-th when more than ten would crowd) with minor
/// ticks between; returns the range set. With no such values the axis keeps its range.
std::pair<double, double> fitLog(QLogValueAxis* axis, const std::vector<double>& ys);
/// Integer ticks (1, 2, 5 x 10^k, at least 1) on a linear axis over [lo, hi], about `maxTicks`:
/// layer, depth and rank axes never label 1 1 2 2 3.
void integerTicks(QValueAxis* axis, double lo, double hi, int maxTicks = 10);
/// Legend entries drawn as samples of the series (a dashed line for a dashed series), not as
/// colour squares.
void lineLegend(QChart* chart);
/// Shows the legend entry of `series` only while it has points: an empty curve is not listed.
void legendFollowsData(QChart* chart, QAbstractSeries* series, bool hasPoints);
/// Lays the legend of `chart` out again: Qt Charts keeps a stale layout (markers without
/// labels) for entries shown or hidden while the chart was not visible. Call on show.
void refreshLegend(QChart* chart);
/// Breaks `chart`'s title into lines (at spaces outside HTML tags) so that every line fits the
/// chart's width, and shrinks its font when one word alone does not fit: Qt Charts would cut
/// a long title with an ellipsis. Call once the chart has its final size.
void fitTitle(QChart* chart);
/// The rest of a chart's text, fitted the same way once its plot area is laid out: axis titles
/// wrapped (or shrunk) to the plot's side, tick labels never cut and thinned where they would
/// overlap, the legend's font shrunk until its entries fit one row.
void fitLabels(QChart* chart);
/// Sets a linear axis to [lo, hi] padded by 5 % (at least `minSpan` wide).
void fitLinear(QValueAxis* axis, double lo, double hi, double minSpan = 0);
/// Sets the points of `series`: a single point is drawn as a dot (a line through one point draws
/// nothing), `markers` draws every point; the legend lists the series only while it has points.
void setPoints(QXYSeries* series, const QList<QPointF>& points, bool markers = false);
/// The points with finite y (and y > 0 when `positive`).
QList<QPointF> drawable(const std::vector<QPointF>& points, bool positive);

} // namespace initscope::ui::charts

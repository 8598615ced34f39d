// A heatmap over two numeric axes (the phase diagram's (sigma_w^2, sigma_b^2) grid, the NTK's
// K x K kernel): a QImage rendered off the GUI thread, drawn with axes, tick labels, a colour
// bar, an optional overlay curve (the critical line) and a marker (the current setting).
// Only paints; the image arrives as a value.
#pragma once

#include <QImage>
#include <QPointF>
#include <QPolygonF>
#include <QString>
#include <QWidget>

#include <vector>

namespace initscope::ui {

/// Diverging blue-white-red colour at t in [0, 1] (clamped), white at 0.5: ColorBrewer RdBu
/// (Brewer 2003), reversed so that low values are blue.
QRgb diverging(double t);

/// Cell (i, j) of `image` covers x in [xLeft + j dx, xLeft + (j+1) dx] and the row i from the top.
/// yTop may be smaller than yBottom (a matrix drawn with row 0 at the top).
struct GridImage {
    QImage image;
    double xLeft = 0, xRight = 1, yTop = 1, yBottom = 0; // outer cell edges
    double vMin = 0, vMax = 1; // colour-bar range (log10 of the value when logColor)
    // When finite, the middle of the colour map sits at this value and each half of the map
    // spans its own side (vMin..vCentre, vCentre..vMax), as the colour bar shows: chi1 = 1 is
    // white however far the data reach on either side.
    double vCentre = qQNaN();
    /// Where `v` falls on the colour map, 0..1 (clamped).
    double fraction(double v) const;
    bool logColor = false;
    bool divergingMap = false; // else viridis
    QString xLabel, yLabel, colorLabel;
    int rowsDone = 0, rows = 0; // progress note while rows are still arriving
    bool squareCells = false;   // a matrix (the NTK kernel): cells drawn square, plot centred
    // index axes (layers, inputs, depths): ticks at whole numbers only, never "layer 1.5"
    bool integerX = false, integerY = false;
    // The values the colours encode, for CSV export: values[row * width + column], rows from
    // the top as in `image`, NaN where none; valueKey names the CSV column (snake_case).
    std::vector<double> values;
    QString valueKey;
    bool isNull() const { return image.isNull(); }
};

/// niceTicks over [lo, hi], and on an index axis (`integer`) only its whole numbers: a step of
/// 0.5 over cells 1..3 keeps 1, 2, 3, never "layer 1.5".
std::vector<double> axisTicks(double lo, double hi, int maxTicks, bool integer);
/// Where a log10 colour bar over [vMin, vMax] (log10 values) is labelled: 1, 2, 5 x 10^k inside
/// it (decades only when more than maxLabels), or, when fewer than two of those fall inside (a
/// narrow range), up to maxTicks nice values of the range itself; log10 positions.
std::vector<double> logColorTicks(double vMin, double vMax, int maxLabels, int maxTicks);

class GridHeatmap : public QWidget {
    Q_OBJECT
public:
    explicit GridHeatmap(const QString& title, QWidget* parent = nullptr);

    void setGrid(const GridImage& grid);
    void setTitle(const QString& title);
    /// What the plot says while it has no grid (default "computing...").
    void setEmptyText(const QString& text);
    QString title() const { return title_; }
    const GridImage& grid() const { return grid_; }
    /// A curve in data coordinates (NaN points break it), drawn over the image.
    void setOverlay(const QPolygonF& curve, const QString& legend);
    /// A marker at data coordinates (NaN hides it).
    void setMarker(QPointF p, const QString& legend);
    QPointF marker() const { return marker_; }
    /// A second curve (dotted, white on a dark halo), e.g. xi_c beside 6 xi_c; NaN points break it.
    void setSecondOverlay(const QPolygonF& curve, const QString& legend);
    /// snake_case series names under which the overlays' points go into the CSV of an analysis
    /// view (empty, the default: the overlay is not exported).
    void setOverlayKeys(const QString& first, const QString& second);
    const QPolygonF& overlay() const { return overlay_; }
    const QPolygonF& secondOverlay() const { return overlay2_; }
    QString overlayKey() const { return overlayKey_; }
    QString secondOverlayKey() const { return overlay2Key_; }
    /// Where the image is drawn, in widget coordinates.
    QRect plotRect() const;
    /// Data coordinates of a widget position inside plotRect().
    QPointF toData(QPointF widgetPos) const;
    QPointF toWidget(QPointF data) const;

    QSize sizeHint() const override { return {640, 480}; }
    /// Rows of the legend (critical line, marker), drawn below the plot, never over data.
    QRect legendRect() const;
    QSize minimumSizeHint() const override { return {300, 220}; }

signals:
    /// A left click inside the plot, in data coordinates.
    void clicked(QPointF data);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    struct Margins {
        int left, right, top, bottom;
    };
    /// Space around the plot for title, ticks, labels, colour bar and legend, from the font.
    Margins margins() const;
    QFont titleFont() const;
    bool hasLegend() const;

    QString title_;
    QString emptyText_;
    GridImage grid_;
    QPolygonF overlay_;
    QString overlayLegend_, markerLegend_;
    QPointF marker_{qQNaN(), qQNaN()};
    QPolygonF overlay2_;
    QString overlay2Legend_, overlayKey_, overlay2Key_;
};

} // namespace initscope::ui

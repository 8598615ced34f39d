// Per-layer line charts (Qt Charts): measured statistics solid, mean-field predictions dashed,
// a marker for the first non-finite layer. The charts only display values handed to them.
#pragma once

#include <QChartView>
#include <QList>
#include <QPointF>

#include <vector>

class QLineSeries;
class QLogValueAxis;
class QValueAxis;

namespace initscope::ui {

class LayerChart : public QChartView {
    Q_OBJECT
public:
    /// `logY`: the y axis is logarithmic; non-positive and non-finite points are left out.
    LayerChart(const QString& title, const QString& yLabel, bool logY, QWidget* parent = nullptr);

    /// Adds a series; returns its index. `key` names its CSV column (snake_case, e.g.
    /// "q_predicted"). `predicted` series are drawn dashed and beneath the measured ones, so a
    /// measurement that matches its prediction stays visible.
    int addSeries(const QString& name, const QString& key, const QColor& color, bool predicted);
    /// Adds the faded twin of measured series `measured` for a pinned reference run: its colour
    /// lightened, thinner, solid (a prediction is dashed), drawn beneath every other series and
    /// never greyed by a state note (the reference is a finished run). `key`: its CSV column
    /// ("q_reference"), written only while a reference is drawn. Named by the caller
    /// (setSeriesName) after what differs.
    int addReferenceSeries(int measured, const QString& key);
    bool isReference(int index) const {
        return styles_.at(static_cast<std::size_t>(index)).reference;
    }
    /// Whether a reference series has points (a reference run is drawn).
    bool showsReference() const;
    /// The index of the series with CSV key `key`, -1 if none.
    int seriesIndex(const QString& key) const;
    void setSeriesName(int index, const QString& name);
    /// Leaves series `index` out of the legend (the edges of a band); by default a series is
    /// listed while it has points.
    void setInLegend(int index, bool listed);
    /// Replaces a series' points (y per layer, x = layer index l). Non-finite y are skipped, and on
    /// a log axis so are y <= 0; they are never drawn.
    void setSeries(int index, const std::vector<QPointF>& points);
    /// Layers 1..depth on the x axis, integer ticks.
    void setDepth(int depth);
    /// Marks "non-finite from layer k" (0 removes the marker).
    void setNonfiniteFrom(int layer);
    void setTitleSuffix(const QString& suffix);
    /// Replaces the chart's title (before its suffix): a family names its quantity its way.
    void setTitle(const QString& title);
    /// What one point of the x axis is, by the family of the run drawn: "layer" (mlp, the
    /// default) or "block" (resnet). Names the x axis ("layer l"), the tooltips, the non-finite
    /// marker and the CSV x column.
    void setStage(const QString& stage);
    QString stage() const { return stage_; }
    QString xAxisTitle() const;
    /// Renames the y axis (a family's quantity: a resnet's stream x instead of h).
    void setYLabel(const QString& label);
    QString yLabel() const;
    /// Marks the drawn data as not the current whole run ("stale: settings changed", "partial:
    /// cancelled at layer 7", "failed: ..."): the note follows the title and the curves are drawn
    /// grey. An empty note shows the data as current.
    void setStateNote(const QString& note);
    QString stateNote() const { return stateNote_; }
    /// Names the run drawn ("run #12"), after the title; empty: none named (exports).
    void setRunLabel(const QString& label);
    QString runLabel() const { return runLabel_; }
    /// Recomputes the y range from the visible data.
    void rescale();
    void clearData();

    int seriesCount() const { return static_cast<int>(series_.size()); }
    QLineSeries* series(int index) const { return series_.at(static_cast<std::size_t>(index)); }
    /// The points drawn for series `index` (what a test compares with the engine).
    QList<QPointF> points(int index) const;
    int nonfiniteFrom() const { return nonfiniteFrom_; }
    QString titleText() const;
    /// Fixed y range for charts whose quantity is bounded (correlation: [-1, 1]).
    void setYBounds(double lo, double hi) { yBoundLo_ = lo, yBoundHi_ = hi; }
    /// Smallest y span of a linear axis, so noise around a constant is not blown up to full
    /// height (correlation: 0.25).
    void setMinSpan(double span) { minSpan_ = span; }

    /// Applies pending title and axis changes now (Qt Charts lays them out on the next event
    /// loop pass; rendering for export comes before that).
    void flushLayout();

    /// Re-applies the chart theme and series pens after a palette change.
    void applyPalette();
    /// Multiplies the width of every line (presentation mode: 2, thick lines for a projector).
    void setLineScale(double scale);
    double lineScale() const { return lineScale_; }
    /// The numbers after the title on a line of their own (presentation mode's large title).
    void setTwoLineTitle(bool on);

protected:
    void changeEvent(QEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    struct SeriesStyle {
        QColor color;
        bool predicted;
        bool listed = true;
        bool reference = false;
    };
    /// Re-adds the series so that predicted ones are drawn first (Qt Charts draws series of one
    /// kind in the order they were added) and the non-finite marker last.
    void restack();
    /// The series' pens from their styles, greyed while a state note is shown.
    void applySeriesPens();
    QString title_, suffix_, stateNote_, runLabel_;
    QString stage_ = QStringLiteral("layer");
    bool logY_;
    int depth_ = 1;
    int nonfiniteFrom_ = 0;
    double yBoundLo_ = -1e300, yBoundHi_ = 1e300;
    double minSpan_ = 0;
    double lineScale_ = 1;
    bool twoLineTitle_ = false;
    std::vector<QLineSeries*> series_;
    std::vector<SeriesStyle> styles_;
    QLineSeries* marker_ = nullptr;
    QValueAxis* xAxis_ = nullptr;
    QValueAxis* yLinear_ = nullptr;
    QLogValueAxis* yLog_ = nullptr;
};

} // namespace initscope::ui

// Draws a HeatmapImage with a title, axes, tick labels, a colour bar and the non-finite marker.
// Only paints: the image itself was rendered on the run's worker thread.
#pragma once

#include "charts/heatmap.h"

#include <QWidget>

namespace initscope::ui {

/// "Nice" tick positions (1, 2, 5 x 10^k steps) covering [lo, hi], at most about maxTicks.
std::vector<double> niceTicks(double lo, double hi, int maxTicks);
/// `font`, smaller where `text` would be wider than `width` (an axis label is shrunk, never cut).
QFont fittedFont(QFont font, const QString& text, int width);

class HeatmapWidget : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapWidget(const QString& title, QWidget* parent = nullptr);

    void setHeatmap(const HeatmapImage& heatmap);
    void clear();
    const HeatmapImage& heatmap() const { return heatmap_; }
    QString title() const { return title_; }
    void setTitle(const QString& title);
    /// What a column is, by the family of the run drawn: "layer" (mlp, the default) or "block"
    /// (resnet); names the x axis, the tooltip, the progress and the non-finite marker.
    void setStage(const QString& stage);
    QString stage() const { return stage_; }
    /// The x axis title as drawn ("layer l").
    QString xAxisTitle() const;
    /// Marks the image as not the current whole run (see LayerChart::setStateNote): the note
    /// follows the title and the image is drawn faded. Empty: current.
    void setStateNote(const QString& note);
    QString stateNote() const { return stateNote_; }
    /// Names the run drawn ("run #12"), after the title.
    void setRunLabel(const QString& label);
    QString runLabel() const { return runLabel_; }
    /// The title as drawn, with the state note.
    QString shownTitle() const;
    /// Text of the non-finite marker ("non-finite from layer 15"), empty when none.
    QString nonfiniteNote() const;
    /// Where the image is drawn, in widget coordinates (for tests and tooltips).
    QRect plotRect() const;

    QSize sizeHint() const override { return {720, 480}; }
    QSize minimumSizeHint() const override { return {320, 220}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    QRect colorBarRect() const;
    QString title_, stateNote_, runLabel_;
    QString stage_ = QStringLiteral("layer");
    HeatmapImage heatmap_;
    QImage colorBar_; // 1 x 256 gradient, made once
};

} // namespace initscope::ui

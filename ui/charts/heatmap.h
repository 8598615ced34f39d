// Heatmap images of a run, rendered off the GUI thread (in the run's worker) and handed to the
// GUI as values: the layer x pre-activation distribution and the layer x unit activation map.
#pragma once

#include "core/stats.h"

#include <QImage>
#include <QMetaType>
#include <QString>

#include <vector>

namespace initscope::ui {

/// A rendered heatmap plus everything needed to draw its axes and colour bar.
/// Column j of `image` is layer j + 1; row 0 is the top (yMax). Cells not yet computed are
/// transparent; cells of non-finite layers are nonfiniteColor().
struct HeatmapImage {
    QImage image;
    int depth = 0;      // columns = layers 1..depth (x axis from 0.5 to depth + 0.5)
    int layersDone = 0; // columns filled so far
    double yMin = 0, yMax = 1;
    double vMin = 0, vMax = 1; // colour-bar range (log10 of the value when logColor)
    bool logColor = false;
    QString yLabel, colorLabel;
    QString yKey, valueKey; // CSV column names of y and of the value (snake_case)
    int firstNonfinite = 0; // first layer with non-finite values, 0 if none
    // The values the colours encode, for CSV export: values[row * depth + column] (share of the
    // layer's values in the bin, or the activation, scaled as drawn), NaN where nothing is drawn
    // or the layer is non-finite; rowY[row] is the y of image row `row` (bin centre, unit index).
    std::vector<float> values;
    std::vector<double> rowY;
    bool isNull() const { return image.isNull(); }
};

/// Collects the per-layer columns of one run and renders both heatmaps. Lives on the worker
/// thread of that run; not shared.
class HeatmapAccumulator {
public:
    /// Share of a layer's values per bin below which the distribution colour saturates at the
    /// bottom of the map (one value in 10^5).
    static constexpr double kMinShare = 1e-5;
    /// Activation maps of wide layers show at most this many units (every k-th unit): a column
    /// is never drawn taller than a screen anyway.
    static constexpr int kMaxRows = 1024;

    explicit HeatmapAccumulator(int depth = 0);
    void add(const LayerStats& stats);
    int layers() const { return static_cast<int>(columns_.size()); }

    HeatmapImage renderDistribution() const;
    /// `perLayer`: each column scaled to its own max |a| (colour = a / max|a^l|), which shows the
    /// structure of layers whose signal has vanished; identical units stay one colour.
    HeatmapImage renderActivations(bool perLayer = false) const;

private:
    struct Column {
        int index = 0;
        bool finite = true;
        double lo = 0, hi = 0;
        std::vector<double> share; // histogram count / total, per bin
        std::vector<float> sample; // a^l of input 0
    };
    int depth_ = 0;
    int firstNonfinite_ = 0;
    std::vector<Column> columns_;
};

} // namespace initscope::ui

Q_DECLARE_METATYPE(initscope::ui::HeatmapImage)

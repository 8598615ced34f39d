// Figures: the chart widgets of each view, built and fed by one code path for the live window,
// the export of a figure for slides, and initscope-cli export. A figure for export is a fresh
// copy of the view's widget, fed the same run, styled (optionally for a lecture: large fonts,
// thick lines, white background) and rendered offscreen, so the window is never disturbed and
// the CLI's figure is the GUI's figure.
#pragma once

#include "apps/rl.h"
#include "charts/heatmap.h"
#include "core/stats.h"
#include "spec/spec.h"

#include <QRect>
#include <QSize>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <vector>

class QWidget;

namespace initscope {
struct Preset;
} // namespace initscope

namespace initscope::ui {

class HeatmapWidget;
class LayerChart;

/// A finished run pinned as the reference (A/B): every layer chart draws its measured curves
/// faded beside the run shown, over its own layers, labelled by the settings that differ
/// (referenceLabel, e.g. "reference: gain 1 (now 1.76)").
struct ReferenceRun {
    NetworkSpec spec;
    std::vector<LayerStats> layers; // index l-1
    quint64 generation = 0;         // the window's run number, 0 when none
};

/// The run a figure draws, by reference (the window's live run is not copied every frame).
struct RunView {
    const NetworkSpec& spec;
    const TheoryCurves& theory;
    const std::vector<LayerStats>& layers; // index l-1; entries with index 0 are not done yet
    int firstNonfinite = 0;
    const ReferenceRun* reference = nullptr; // drawn faded beside it (null: none)
};

/// A whole run as a value: what an exported figure or the CLI draws.
struct FigureData {
    NetworkSpec spec;
    TheoryCurves theory;
    std::vector<LayerStats> layers;
    int firstNonfinite = 0;
    HeatmapImage distribution, activations, activationsPerLayer;
    bool perLayerActivations = false;        // the activations view scales each layer to its range
    QString statistic = QStringLiteral("q"); // what the statistic view draws (statisticKeys())
    std::shared_ptr<const ReferenceRun> reference; // the pinned run (the window's; null: none)
    RunView view() const { return {spec, theory, layers, firstNonfinite, reference.get()}; }
};

/// Turns a finished engine run (layers with their activation samples) into figure data: the same
/// heatmap rendering the run controller does on its worker.
FigureData figureDataFromResult(const RunResult& result);

/// The layer views (viewregistry.h layerViewNames()): signal, gradients, correlation,
/// distribution, activations, statistic.
QStringList figureNames();
/// The analysis views a figure can be exported of without the window (viewregistry.h: those
/// with a startFigure): computed on their own workers; an export draws the view's figure
/// (without its controls) in the same way.
QStringList analysisFigureNames();

/// What one step of the x axis of a per-layer view is, by the family: "layer" for an mlp,
/// "block" for a resnet (its LayerStats are the residual stream after each block).
QString stageName(const NetworkSpec& spec);

// ---- the widgets of each view (the main window builds its tabs from these)
LayerChart* makeSignalChart();
LayerChart* makeGradientChart();
LayerChart* makeCorrelationChart();
HeatmapWidget* makeDistributionView();
HeatmapWidget* makeActivationView();

/// The statistic view: any per-layer statistic of LayerStats, by its CSV key (statisticKeys(),
/// the engine's presetStatistics()), on a log or linear y axis as suits it, with the mean-field
/// prediction beside it where THEORY.md has one (q, correlation, grad_h2).
QStringList statisticKeys();
/// "unit spread (0 = every unit identical)": the chooser's text for `key`.
QString statisticLabel(const QString& key);
/// The value of statistic `key` of one layer (NaN where undefined, or not yet computed).
double statisticValue(const LayerStats& stats, const QString& key);
/// Whether the statistic is drawn on a log axis.
bool statisticLogY(const QString& key);
LayerChart* makeStatisticChart(const QString& key);

// ---- feeding them a run
/// Names heatmap `h` (a distribution or activation view) for the family of `spec`: its title
/// and its x axis ("layer l", "block l"). Call before setHeatmap.
void setHeatmapFamily(HeatmapWidget* h, const NetworkSpec& spec);
/// setHeatmapFamily, then shows `image` with its axis labels in the family's terms (a resnet's
/// distribution is of its stream x, per block); the CSV keys stay.
void showHeatmap(HeatmapWidget* h, const HeatmapImage& image, const NetworkSpec& spec);
void feedSignal(LayerChart* chart, const RunView& run);
void feedGradients(LayerChart* chart, const RunView& run);
void feedCorrelation(LayerChart* chart, const RunView& run);
/// `chart` from makeStatisticChart(key).
void feedStatistic(LayerChart* chart, const RunView& run, const QString& key);

/// The rectangle of an analysis view (phase, jacobian, ntk, sweep tab) that holds its figure,
/// without its controls; the whole widget for any other widget.
QRect figureRect(QWidget* view);

/// A fresh widget for view `name` fed with `data`, not shown; null for an unknown name.
std::unique_ptr<QWidget> makeFigure(const QString& name, const FigureData& data);

struct FigureOptions {
    QSize size{1200, 750}; // logical size of the figure
    double scale = 2.0;    // PNG pixels per logical pixel (2 = sharp on slides and HiDPI)
    bool lecture = true;   // applyLectureStyle, else applyPaperStyle
    QString presetJson;    // embedded in PNG and SVG (empty: none)
};

/// Large fonts, thick lines, white background, no frame: for slides. Call before rendering.
/// `size`: the figure's size; text scales with it (see the definition).
void applyLectureStyle(QWidget* figure, QSize size = FigureOptions{}.size);
/// A light theme with a white background whatever the desktop theme (exports of a dark window
/// would otherwise be dark).
void applyPaperStyle(QWidget* figure);

/// The exact values behind a figure as CSV, the same from every export path: a header of
/// snake_case keys, then one row per point. Layer charts: one row per layer, one column per
/// series ("layer,q,q_predicted"; empty where a series has no finite value), and with a pinned
/// reference run its measured columns too ("layer,q,q_predicted,q_reference"; the rows cover
/// the layers of both runs). Layer heatmaps: one
/// row per cell ("layer,h,share", "layer,unit,activation"). Analysis views: one long table
/// "panel,series,x,y,value" over their panels (value: the colour of a grid heatmap's cell).
QString figureCsv(const QWidget* figure);

/// The one export path: styles `figure` (a widget from makeFigure or copyAnalysisFigure, or an
/// analysis view made for the export) as `options` say, lays it out so that its figure has
/// `options.size` (an analysis view's controls hidden), wraps titles that would be cut, and
/// writes `path` (.png, .svg, .pdf or .csv) through ui/export. Changes `figure`: pass a copy.
bool exportFigureWidget(QWidget* figure, const QString& name, const QString& path,
                        const FigureOptions& options, QString* error);

/// Exports view `name` of `data` to `path` (.png, .svg, .pdf or .csv) through exportFigureWidget.
bool exportFigure(const QString& name, const FigureData& data, const QString& path,
                  const FigureOptions& options, QString* error);

/// A fresh, unshown analysis view showing what `view` (any analysis view, viewregistry.h)
/// shows: its settings and its last result, copied, not computed again. Null for another
/// widget.
std::unique_ptr<QWidget> copyAnalysisFigure(const QWidget* view);

/// A fresh analysis view `name` (analysisFigureNames()) of `preset`: the view's settings the
/// preset carries (its row's applyPreset), then its spec; shown offscreen at `size`, its
/// computation started on the view's own worker; `done` is called (on the GUI thread) once its
/// result is drawn, and the view is then ready for exportFigureWidget. Null for another name.
/// The one path of initscope-cli export and the tour export. The trainability view starts
/// training at once (it takes minutes), as does the training view. Null with `problem` set when
/// the preset's settings are ones the view cannot start with.
std::unique_ptr<QWidget> startAnalysisFigure(const QString& name, const Preset& preset, QSize size,
                                             const std::function<void()>& done,
                                             QString* problem = nullptr);
/// Why the view started by startAnalysisFigure cannot show its figure (ViewInfo::figureProblems:
/// after `done`, a computation that failed), or empty.
QString analysisFigureProblems(QWidget* view);

/// Runs `preset` on the calling thread and exports its view `chart`: initscope-cli export.
/// Needs a QApplication. On failure returns false and sets `error` (naming the option).
bool exportPresetFigure(const Preset& preset, const QString& chart, const QString& path,
                        const FigureOptions& options, QString* error);

} // namespace initscope::ui

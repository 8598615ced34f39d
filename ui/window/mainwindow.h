// The main window: controls dock, live views (tabs), progress, menus and shortcuts.
//
// Results arrive from the RunController as queued values and are only stored here; a ~30 Hz frame
// timer pushes what changed into the charts. While a newer run has not finished, the charts keep
// the last shown run for up to kHoldMs, so a slider drag shows whole curves instead of flicker.
#pragma once

#include "charts/heatmap.h"
#include "core/stats.h"
#include "spec/spec.h"

#include <QElapsedTimer>
#include <QMainWindow>
#include <QTimer>

#include <functional>
#include <map>
#include <memory>
#include <vector>

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QTabWidget;
class QDockWidget;

namespace initscope::ui {

class AnalysisViews;
class ControlPanel;
class HeatmapWidget;
class InputsView;
class LayerChart;
class PerfMonitor;
class PresetDocument;
class PresentationMode;
class TourController;
class RunController;
struct ExportRequest;
struct FigureData;
struct ReferenceRun;
struct LoadedWeights;
using LoadedWeightsPtr = std::shared_ptr<const LoadedWeights>;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    static constexpr int kFrameMs = 33;  // chart refresh (about 30 Hz)
    static constexpr int kSubmitMs = 33; // at most one new run request per frame while dragging
    static constexpr int kHoldMs = 120;  // longest time a finished run is kept on screen while a
                                         // newer one is still computing

    explicit MainWindow(bool perfLog = false, QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Sets every control from `spec` and starts a run.
    void setSpec(const NetworkSpec& spec);
    /// Selects a view by its name in the registry (viewregistry.h viewNames(): a layer view or
    /// an analysis view), or "inputs" (the Inputs dock); false for another name.
    bool showView(const QString& name);
    /// The layer views (viewregistry.h layerViewNames()): what "every view" exports.
    static QStringList viewNames();
    /// Name of the visible view (one of viewregistry.h viewNames()).
    QString currentView() const;
    /// The tab page of view `name`, or null.
    QWidget* viewPage(const QString& name) const;
    /// Presets: open, save, recent files, the browser dock, drag and drop.
    PresetDocument* presetDocument() const { return presets_; }
    /// The tour (Tour menu, PageDown / PageUp) and presentation mode (F5, Esc leaves).
    TourController* tour() const { return tour_; }
    PresentationMode* presentation() const { return presentation_; }

    // ---- for tests and the benchmark
    ControlPanel* controls() const { return controls_; }
    RunController* controller() const { return controller_; }
    LayerChart* signalChart() const { return signal_; }
    LayerChart* gradientChart() const { return gradients_; }
    LayerChart* correlationChart() const { return correlation_; }
    HeatmapWidget* distributionView() const { return distribution_; }
    HeatmapWidget* activationView() const { return activations_; }
    /// The statistic view's chart (replaced when another statistic is chosen).
    LayerChart* statisticChart() const { return statistic_; }
    /// Chooses what the statistic view draws (a key of statisticKeys()); false if unknown.
    bool showStatistic(const QString& key);
    QString currentStatistic() const;
    /// The analysis views (phase, Jacobian, NTK, ensemble, sweep).
    AnalysisViews* analysisViews() const { return analysis_; }
    InputsView* inputsView() const { return inputs_; }
    /// Shows and raises the Inputs dock (tabbed with the controls).
    void showInputs();
    PerfMonitor* perfMonitor() const { return perf_; }
    /// Generation whose data the charts show, and whether that run had finished when shown.
    quint64 displayedGeneration() const { return displayedGen_; }
    bool displayedComplete() const { return displayedComplete_; }
    /// The spec of the run shown.
    const NetworkSpec& displayedSpec() const { return displayedSpec_; }
    QString statusText() const;
    /// The progress bar's text ("run #12: layer 7/50 backward", "run #12 failed: ...").
    QString progressText() const;
    /// What the layer views say about the run they show: empty when it is the current whole run,
    /// else "stale: settings changed", "partial: cancelled at layer k", "failed: <reason>", ...
    QString shownState() const;
    /// Cancels the run in progress (Esc); its layers so far stay on screen marked partial.
    void stopRun();
    /// Brings every view, not only the visible one, up to the data shown (frames update only
    /// the visible view; the others catch up when selected). For tests and export.
    void syncAllViews();
    /// Saves the visible view as drawn (.png, .svg, .pdf) or the values behind it (.csv, the
    /// schema of figureCsv): the export dialog's path at the view's size, plain style.
    bool exportView(const QString& path, QString* error = nullptr);
    /// The shown run as figure data (what an exported figure draws).
    FigureData figureData() const;
    /// Writes the figures of an export request (see ExportDialog); the experiment on screen is
    /// embedded in PNG and SVG files.
    bool exportFigures(const ExportRequest& request, QString* error = nullptr);

    /// A/B: pins the run shown, if it finished, as the reference every layer chart draws faded
    /// beside the runs that follow (View > Pin as reference, Ctrl+B). It stays through changes
    /// of the settings and preset loads until cleared. False (and nothing pinned) when the run
    /// shown is not a finished run.
    bool pinReference();
    /// Removes the reference (Ctrl+Shift+B).
    void clearReference();
    /// The pinned run, or null.
    const ReferenceRun* reference() const { return reference_.get(); }
    QAction* pinAction() const { return pinAction_; }
    QAction* clearReferenceAction() const { return clearReferenceAction_; }

    /// Whether closing (Quit, the window's close button) asks before dropping an unsaved
    /// experiment. On by default, except on the offscreen and minimal platforms (tests) and with
    /// INITSCOPE_NO_CLOSE_PROMPT=1; initscope --export turns it off.
    void setConfirmClose(bool on) { confirmClose_ = on; }
    bool confirmClose() const { return confirmClose_; }
    /// Restores the window size, dock layout, tab, theme and, with `experiment`, the last
    /// experiment from the settings, and from then on saves them when the window closes.
    /// Returns whether an experiment was restored.
    bool restoreSession(bool experiment = true);
    /// Saves the window size, dock layout, tab, theme and the experiment on screen.
    bool saveSession(QString* error = nullptr);
    QString theme() const { return theme_; }

    // ---- work-W: weights loaded from a view (the MAML view's learned init) instead of draws
    /// Runs the main views on `weights` (their spec goes into the controls). The rule while they
    /// are loaded: an edit of a field that would redraw or reshape them (every field but batch,
    /// input_mean, input_scale, learning_rate, loss, hist_bins, threads, memory_budget_gib)
    /// unloads them, with a message naming the field; the edit is applied on drawn weights.
    void loadWeights(const LoadedWeightsPtr& weights);
    /// Back to the spec's drawn weights (the "Use drawn weights" button); `why` for the message.
    void unloadWeights(const QString& why = QString());
    const LoadedWeights* loadedWeights() const { return loaded_.get(); }
    /// The weights the run shown was computed on (null: the spec's draws).
    LoadedWeightsPtr shownWeights() const;
    /// The label beside the progress bar ("weights: MAML learned init, meta-step 500, ...").
    QString weightsText() const;
    /// The last message of a load or unload.
    QString weightsMessage() const { return weightsMessage_; }
    /// What a preset saved now (`forFigure`: the experiment embedded in a figure exported now)
    /// does not hold: the loaded weights, which it reopens as weights drawn from its spec; empty
    /// when the views run on drawn weights.
    QString weightsNotSaved(bool forFigure) const;
    /// Says weightsNotSaved(forFigure) in a window-modal box when it is not empty.
    void tellWeightsNotSaved(bool forFigure);
    /// The first field (snake_case) of `edited` that would redraw or reshape the weights loaded
    /// for `loaded`; empty when none.
    static QString weightField(const NetworkSpec& loaded, const NetworkSpec& edited);

public slots:
    void rerun();
    void exportDialog();
    /// "system" (the platform palette), "light" or "dark".
    void setTheme(const QString& theme);
    void showAbout();

signals:
    /// The charts now show generation `generation` (complete = the run had finished).
    void chartsUpdated(quint64 generation, bool complete);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    struct LiveRun {
        quint64 generation = 0;
        NetworkSpec spec;
        TheoryCurves theory;
        std::vector<LayerStats> layers; // index l-1
        int forwardDone = 0, backwardDone = 0;
        bool finished = false;
        bool backwardSkipped = false; // cut after its forward pass (see RunController)
        int firstNonfinite = 0;
        bool cancelled = false; // stopped by the user (Esc) before it finished
        double seconds = -1;    // run time once finished
        double inputGrad2 = 0;  // E||dL/dx||^2 once finished
        HeatmapImage distribution, activations, activationsPerLayer;
        bool dirty = false;
    };

    void buildMenus();
    void scheduleRun();
    void submitNow();
    void frame();
    /// Brings the layer view on `page` up to the run shown if it is stale (else nothing).
    void pushView(QWidget* page);
    void pushSignal();
    void pushGradients();
    void pushCorrelation();
    void pushHeatmaps();
    void pushStatistic();
    void pushProgress();
    /// Names the shown run and its state in every layer view and the status bar.
    void markViews();
    /// Moves the run shown out of live_ before live_ is dropped.
    void keepShownRun();
    /// Redraws the layer views from the run shown (after the reference changed).
    void refreshViews();

    void onStarted(quint64 gen, const NetworkSpec& spec, const TheoryCurves& theory);
    void onForward(quint64 gen, const LayerStats& stats);
    void onBackward(quint64 gen, const LayerStats& stats);
    void onHeatmaps(quint64 gen, const HeatmapImage& distribution, const HeatmapImage& activations,
                    const HeatmapImage& activationsPerLayer);
    void onFinished(quint64 gen, const RunResult& result);
    void onFailed(quint64 gen, const QString& field, const QString& message);
    /// A run is ready to be shown whole: finished, or its forward pass complete and its backward
    /// skipped while only forward views are visible.
    bool ready(const LiveRun& run) const;
    bool gradientsVisible() const;

    RunController* controller_;
    ControlPanel* controls_;
    QDockWidget* dock_;
    QDockWidget* inputsDock_ = nullptr;
    InputsView* inputs_ = nullptr;
    QTabWidget* tabs_;
    LayerChart* signal_;
    LayerChart* gradients_;
    LayerChart* correlation_;
    HeatmapWidget* distribution_;
    HeatmapWidget* activations_;
    QCheckBox* perLayer_;
    QWidget* statisticPage_;
    QComboBox* statisticChoice_;
    /// The window's part of a layer view of the registry: its tab page, the chart an export of
    /// it is sized by, how the shown run reaches it, and whether it shows an older run.
    struct LayerView {
        QWidget* page;
        std::function<QWidget*()> figure;
        void (MainWindow::*push)();
        bool stale = true;
    };
    std::map<QString, LayerView> layerViews_; // by registry name
    LayerChart* statistic_;
    QProgressBar* progress_;
    QLabel* status_;
    PerfMonitor* perf_;
    AnalysisViews* analysis_ = nullptr;
    PresetDocument* presets_ = nullptr;
    TourController* tour_ = nullptr;
    PresentationMode* presentation_ = nullptr;

    bool confirmClose_ = true;
    bool rememberSession_ = false; // restoreSession() was called: save on close
    QString theme_ = QStringLiteral("system");
    QList<QAction*> themeActions_;
    std::shared_ptr<const ReferenceRun> reference_; // the pinned run (A/B), null: none
    QAction* pinAction_ = nullptr;
    QAction* clearReferenceAction_ = nullptr;

    QTimer frameTimer_, submitTimer_;
    bool submitPending_ = false;
    LiveRun live_;     // the newest run, filling as its values arrive
    LiveRun complete_; // the last finished run, kept when a newer one starts before a frame
                       // could show it (runs can start back to back)
    const LiveRun* shown_ = &live_; // what the views show
    quint64 requestedGen_ = 0;
    quint64 displayedGen_ = 0;
    quint64 completeCounted_ = 0;
    bool displayedComplete_ = false;
    NetworkSpec displayedSpec_;
    NetworkSpec submittedSpec_; // the spec of the latest request (valid or not)
    QString notRun_;            // why the latest settings were not run (invalid), else empty
    quint64 failedGen_ = 0;     // the latest run that failed, and why
    QString failure_;
    QElapsedTimer sinceDisplay_;

    // ---- work-W: loaded weights
    void showWeightsState();
    LoadedWeightsPtr loaded_;                        // null: the spec's draws
    bool closing_ = false;                           // inside closeEvent's save: no box after it
    std::map<quint64, LoadedWeightsPtr> runWeights_; // requested generation -> its weights
    QWidget* weightsBox_ = nullptr;                  // label + unload button (status bar)
    QLabel* weightsLabel_ = nullptr;
    QString weightsMessage_;
};

} // namespace initscope::ui

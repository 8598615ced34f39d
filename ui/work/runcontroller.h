// Runs the engine off the GUI thread and hands its results to the GUI thread as values.
//
// One long-lived worker thread (the ui's JobWorker, as every view has) owns one Engine (kept across
// runs: it caches the random draws, so a change of gain only rescales the same network). Every
// request gets a generation id; a newer request sets the cancel flag of the run in progress, and
// results of a superseded generation are dropped on arrival, so a superseded run is never shown.
// The destructor cancels and joins the worker, also mid-run.
//
// While a slider is dragged, cancelling on every mouse move would abandon each run before its
// last layer whenever a run takes longer than the interval between moves, and the charts would
// never show a whole network. A request may therefore ask to supersede the run in progress only
// once it has finished (Supersede::AfterCurrent): the newest such request waits in a one-slot
// queue, and if the run in progress is still going kMaxWaitMs after the request, the worker
// cancels it then (checked between layers), so the latency stays bounded.
#pragma once

#include "charts/heatmap.h"
#include "network/engine.h"
#include "network/network.h"
#include "work/jobworker.h"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <atomic>
#include <chrono>
#include <memory>

namespace initscope::ui {

/// Weights to run instead of the spec's random draws (the MAML view's learned init): an immutable
/// value, shared by the GUI thread and the worker as a shared_ptr<const LoadedWeights>.
struct LoadedWeights {
    NetworkSpec spec;     // the spec they belong to (an mlp of their shape)
    DenseWeights weights; // W^l, b^l for l = 1..L ([0] empty): Engine::runWithWeights
    QString source;       // "MAML learned init, meta-step 500, steep family, seed 1"
};
using LoadedWeightsPtr = std::shared_ptr<const LoadedWeights>;

class RunController : public QObject {
    Q_OBJECT
public:
    explicit RunController(QObject* parent = nullptr);
    ~RunController() override;

    /// Cancel: cancel the run in progress now. AfterCurrent: let it finish, or cancel it once
    /// the request has waited kMaxWaitMs.
    using Supersede = JobWorker::Supersede;
    static constexpr int kMaxWaitMs = 150;

    /// Queues a run of `spec` (replacing any queued one); returns its generation id.
    quint64 request(const NetworkSpec& spec, Supersede how = Supersede::Cancel);
    /// The same on `weights` (Engine::runWithWeights) when not null: the layer statistics, each
    /// layer's sigma_w2 and the theory are those of the given weights.
    quint64 request(const NetworkSpec& spec, LoadedWeightsPtr weights,
                    Supersede how = Supersede::Cancel);
    /// Cancels the run in progress and any queued request (the latest generation stays current,
    /// so nothing of it arrives any more).
    void cancelAll();
    /// The latest requested generation (0 before the first request).
    quint64 generation() const { return worker_.generation(); }
    /// True while a request is queued or running.
    bool busy() const;

    /// Minimum interval between two heatmap renderings of one run (the last layer always renders).
    static constexpr int kHeatmapIntervalMs = 40;

    /// Whether the backward pass is wanted when a newer request is already waiting. The GUI
    /// clears it while no gradient view is visible: a run that has finished its forward pass is
    /// then cut before its backward pass when a newer request waits (runBackwardSkipped), which
    /// roughly halves the time per update of a drag over the forward views.
    void setGradientsWanted(bool wanted) { gradientsWanted_ = wanted; }

    /// Worker threads of all controllers that are currently alive (for shutdown tests).
    static int liveWorkerThreads() { return JobWorker::liveThreads(); }

signals:
    void runStarted(quint64 generation, const initscope::NetworkSpec& spec,
                    const initscope::TheoryCurves& theory);
    /// A layer's forward statistics (`sample` is left empty: the activation heatmap carries it).
    void forwardLayer(quint64 generation, const initscope::LayerStats& stats);
    void backwardLayer(quint64 generation, const initscope::LayerStats& stats);
    /// `activationsPerLayer`: the same activations, each layer scaled to its own range.
    void heatmapsReady(quint64 generation, const initscope::ui::HeatmapImage& distribution,
                       const initscope::ui::HeatmapImage& activations,
                       const initscope::ui::HeatmapImage& activationsPerLayer);
    /// The whole result (layers without `sample`), after every layer signal of the run.
    void runFinished(quint64 generation, const initscope::RunResult& result);
    /// The run's forward pass is complete and its backward pass was skipped for a newer request;
    /// no runFinished follows for this generation.
    void runBackwardSkipped(quint64 generation);
    /// The spec was refused or the run failed; `field` names the offending field when known.
    void runFailed(quint64 generation, const QString& field, const QString& message);

private:
    class Sink;
    friend class Sink;

    /// The job of one request, on the worker thread.
    void runJob(const NetworkSpec& spec, const LoadedWeightsPtr& weights, quint64 generation,
                std::atomic<bool>& cancel);
    // Worker thread, between layers: cancels the run if a waiting request has waited longer than
    // kMaxWaitMs and the run is not about to finish (its estimated remaining time, from the
    // share of layers done in `elapsed`, is over half of kMaxWaitMs).
    void enforceMaxWait(std::atomic<bool>& cancel, double doneFraction,
                        std::chrono::steady_clock::duration elapsed);
    // Called on the worker thread: queue a call on the GUI thread that emits only if current.
    template <typename F> void post(quint64 generation, F&& emitter);

    Engine engine_; // used on the worker thread only
    std::atomic<bool> gradientsWanted_{true};
    JobWorker worker_; // last member: its thread starts after everything it uses exists
};

} // namespace initscope::ui

Q_DECLARE_METATYPE(initscope::NetworkSpec)
Q_DECLARE_METATYPE(initscope::TheoryCurves)
Q_DECLARE_METATYPE(initscope::LayerStats)
Q_DECLARE_METATYPE(initscope::RunResult)
Q_DECLARE_METATYPE(initscope::ui::LoadedWeightsPtr)

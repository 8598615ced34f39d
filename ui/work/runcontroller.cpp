#include "work/runcontroller.h"

#include <QMetaObject>

#include <cmath>

#include <chrono>

namespace initscope::ui {

namespace {
void registerMetaTypes() {
    qRegisterMetaType<initscope::NetworkSpec>();
    qRegisterMetaType<initscope::TheoryCurves>();
    qRegisterMetaType<initscope::LayerStats>();
    qRegisterMetaType<initscope::RunResult>();
    qRegisterMetaType<initscope::ui::HeatmapImage>();
    qRegisterMetaType<initscope::ui::LoadedWeightsPtr>();
}
} // namespace

template <typename F> void RunController::post(quint64 generation, F&& emitter) {
    // The worker is the context object: if it is gone the call is discarded, and its generation
    // check drops results that a newer request superseded while they were queued.
    worker_.post(generation, std::forward<F>(emitter));
}

/// Adapts the engine's sink (called on the worker thread) to queued Qt calls. Copies every value;
/// renders the heatmaps here, on the worker, at most every kHeatmapIntervalMs.
class RunController::Sink : public RunSink {
public:
    Sink(RunController* owner, quint64 generation, std::atomic<bool>& cancel)
        : owner_(owner), generation_(generation), cancel_(cancel) {}

    void started(const NetworkSpec& spec, const TheoryCurves& theory) override {
        heatmaps_ = HeatmapAccumulator(spec.depth);
        depth_ = spec.depth;
        owner_->post(generation_, [o = owner_, g = generation_, spec, theory] {
            emit o->runStarted(g, spec, theory);
        });
    }

    void forwardLayer(const LayerStats& stats) override {
        ++layersDone_;
        owner_->enforceMaxWait(cancel_, doneFraction(), std::chrono::steady_clock::now() - t0_);
        heatmaps_.add(stats);
        LayerStats copy = stats;
        copy.sample.clear();
        copy.sample.shrink_to_fit();
        owner_->post(generation_, [o = owner_, g = generation_, s = std::move(copy)] {
            emit o->forwardLayer(g, s);
        });
        // Rendering takes the worker's time from the run: at most every kHeatmapIntervalMs, and
        // never more than a quarter of the time (large maps take milliseconds to render).
        const auto now = std::chrono::steady_clock::now();
        const auto interval = std::max<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(kHeatmapIntervalMs), 4 * lastRenderCost_);
        if (stats.index >= depth_ || now - lastRender_ >= interval) {
            renderHeatmaps();
            lastRender_ = std::chrono::steady_clock::now();
            lastRenderCost_ = lastRender_ - now;
        }
        // Forward pass complete, nobody looks at gradients, a newer request waits: stop here
        // (the engine checks the flag right after this call, before its backward pass).
        if (stats.index >= depth_ && !owner_->gradientsWanted_ && owner_->worker_.hasPending() &&
            !cancel_.load()) {
            cancel_.store(true);
            owner_->post(generation_,
                         [o = owner_, g = generation_] { emit o->runBackwardSkipped(g); });
        }
    }

    void backwardLayer(const LayerStats& stats) override {
        ++layersDone_;
        owner_->enforceMaxWait(cancel_, doneFraction(), std::chrono::steady_clock::now() - t0_);
        LayerStats copy = stats;
        copy.sample.clear();
        copy.sample.shrink_to_fit();
        owner_->post(generation_, [o = owner_, g = generation_, s = std::move(copy)] {
            emit o->backwardLayer(g, s);
        });
    }

    void finished(const RunResult& result) override {
        if (heatmaps_.layers() > 0 && !renderedAll_)
            renderHeatmaps();
        RunResult copy = result;
        for (auto& l : copy.layers) {
            l.sample.clear();
            l.sample.shrink_to_fit();
        }
        owner_->post(generation_, [o = owner_, g = generation_, r = std::move(copy)] {
            emit o->runFinished(g, r);
        });
    }

private:
    double doneFraction() const {
        return depth_ > 0 ? static_cast<double>(layersDone_) / (2.0 * depth_) : 0.0;
    }
    void renderHeatmaps() {
        if (!owner_->worker_.isCurrent(generation_))
            return; // superseded: nobody will look at it
        renderedAll_ = heatmaps_.layers() >= depth_;
        owner_->post(generation_, [o = owner_, g = generation_, d = heatmaps_.renderDistribution(),
                                   a = heatmaps_.renderActivations(false),
                                   n = heatmaps_.renderActivations(true)] {
            emit o->heatmapsReady(g, d, a, n);
        });
    }

    RunController* owner_;
    quint64 generation_;
    std::atomic<bool>& cancel_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
    int depth_ = 0;
    int layersDone_ = 0; // forward + backward
    bool renderedAll_ = false;
    HeatmapAccumulator heatmaps_;
    std::chrono::steady_clock::time_point lastRender_{};
    std::chrono::steady_clock::duration lastRenderCost_{};
};

RunController::RunController(QObject* parent) : QObject(parent) {
    registerMetaTypes();
}

RunController::~RunController() = default; // the worker cancels the run and joins

quint64 RunController::request(const NetworkSpec& spec, Supersede how) {
    return request(spec, nullptr, how);
}

quint64 RunController::request(const NetworkSpec& spec, LoadedWeightsPtr weights, Supersede how) {
    return worker_.submit(
        [this, spec, w = std::move(weights)](quint64 generation, std::atomic<bool>& cancel) {
            runJob(spec, w, generation, cancel);
        },
        how);
}

void RunController::enforceMaxWait(std::atomic<bool>& cancel, double doneFraction,
                                   std::chrono::steady_clock::duration elapsed) {
    using std::chrono::milliseconds;
    const auto waited = worker_.pendingWaited();
    if (!waited || *waited <= milliseconds(kMaxWaitMs))
        return;
    if (doneFraction > 0) {
        const double remaining = std::chrono::duration<double, std::milli>(elapsed).count() *
                                 (1 - doneFraction) / doneFraction;
        if (remaining < 0.5 * kMaxWaitMs)
            return; // about to finish: finishing shows a whole network sooner than restarting
    }
    worker_.supersedeByPending(cancel);
}

void RunController::cancelAll() {
    worker_.cancel(); // nothing requested so far is shown any more
}

bool RunController::busy() const {
    return worker_.busy();
}

void RunController::runJob(const NetworkSpec& spec, const LoadedWeightsPtr& weights,
                           quint64 generation, std::atomic<bool>& cancel) {
    Sink sink(this, generation, cancel);
    try {
        if (weights)
            engine_.runWithWeights(spec, weights->weights, &sink, &cancel);
        else
            engine_.run(spec, &sink, &cancel);
    } catch (const SpecInvalid& e) {
        const auto& errors = e.errors();
        const QString field =
            errors.empty() ? QString() : QString::fromStdString(errors.front().field);
        QString message;
        for (const auto& err : errors)
            message += (message.isEmpty() ? "" : "\n") + QString::fromStdString(err.message);
        post(generation,
             [this, generation, field, message] { emit runFailed(generation, field, message); });
    } catch (const std::exception& e) {
        post(generation, [this, generation, m = QString::fromUtf8(e.what())] {
            emit runFailed(generation, QString(), tr("The run failed: %1").arg(m));
        });
    }
}

} // namespace initscope::ui

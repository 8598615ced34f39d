#include "runcontroller.h"

#include <QMetaObject>

#include <chrono>

namespace initscope::ui {

std::atomic<int> RunController::liveWorkers_{0};

namespace {
void registerMetaTypes() {
    qRegisterMetaType<initscope::NetworkSpec>();
    qRegisterMetaType<initscope::TheoryCurves>();
    qRegisterMetaType<initscope::LayerStats>();
    qRegisterMetaType<initscope::RunResult>();
    qRegisterMetaType<initscope::ui::HeatmapImage>();
}
} // namespace

template <typename F> void RunController::post(quint64 generation, F&& emitter) {
    // The context object is the controller: if it is gone the call is discarded, and the
    // generation check drops results that a newer request superseded while they were queued.
    QMetaObject::invokeMethod(
        this,
        [this, generation, f = std::forward<F>(emitter)]() mutable {
            if (isCurrent(generation))
                f();
        },
        Qt::QueuedConnection);
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
        if (stats.index >= depth_ && !owner_->gradientsWanted_ && owner_->hasPending() &&
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
        if (!owner_->isCurrent(generation_))
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
    ++liveWorkers_; // counted from here so that the count never misses a thread being started
    worker_ = std::jthread([this](std::stop_token stop) { workerLoop(stop); });
}

RunController::~RunController() {
    {
        std::lock_guard lock(mutex_);
        pending_.reset();
        if (runningCancel_)
            runningCancel_->store(true);
    }
    worker_.request_stop(); // wakes the wait through the stop token
    if (worker_.joinable())
        worker_.join();
}

quint64 RunController::request(const NetworkSpec& spec, Supersede how) {
    const quint64 gen = ++generation_;
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        // the wait is bounded from the first request that started waiting
        const auto since = pending_ ? pending_->waitingSince : now;
        pending_ = Job{spec, gen, std::make_shared<std::atomic<bool>>(false), since};
        // AfterCurrent supersedes nothing yet, not even a run that has just finished and whose
        // results are still on their way to the GUI thread.
        if (how == Supersede::Cancel) {
            dropBelow_ = gen;
            if (runningCancel_)
                runningCancel_->store(true);
        }
    }
    wake_.notify_one();
    return gen;
}

void RunController::enforceMaxWait(std::atomic<bool>& cancel, double doneFraction,
                                   std::chrono::steady_clock::duration elapsed) {
    using std::chrono::milliseconds;
    std::lock_guard lock(mutex_);
    if (!pending_ ||
        std::chrono::steady_clock::now() - pending_->waitingSince <= milliseconds(kMaxWaitMs))
        return;
    if (doneFraction > 0) {
        const double remaining = std::chrono::duration<double, std::milli>(elapsed).count() *
                                 (1 - doneFraction) / doneFraction;
        if (remaining < 0.5 * kMaxWaitMs)
            return; // about to finish: finishing shows a whole network sooner than restarting
    }
    dropBelow_ = pending_->generation;
    cancel.store(true);
}

bool RunController::hasPending() const {
    std::lock_guard lock(mutex_);
    return pending_.has_value();
}

void RunController::cancelAll() {
    std::lock_guard lock(mutex_);
    pending_.reset();
    dropBelow_ = generation_.load() + 1; // nothing requested so far is shown any more
    if (runningCancel_)
        runningCancel_->store(true);
}

bool RunController::busy() const {
    std::lock_guard lock(mutex_);
    return pending_.has_value() || runningCancel_ != nullptr;
}

void RunController::workerLoop(std::stop_token stop) {
    while (!stop.stop_requested()) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            if (!wake_.wait(lock, stop, [this] { return pending_.has_value(); }))
                break; // stop requested
            job = std::move(*pending_);
            pending_.reset();
            runningCancel_ = job.cancel;
        }
        Sink sink(this, job.generation, *job.cancel);
        try {
            engine_.run(job.spec, &sink, job.cancel.get());
        } catch (const SpecInvalid& e) {
            const auto& errors = e.errors();
            const QString field =
                errors.empty() ? QString() : QString::fromStdString(errors.front().field);
            QString message;
            for (const auto& err : errors)
                message += (message.isEmpty() ? "" : "\n") + QString::fromStdString(err.message);
            post(job.generation,
                 [this, g = job.generation, field, message] { emit runFailed(g, field, message); });
        } catch (const std::exception& e) {
            post(job.generation, [this, g = job.generation, m = QString::fromUtf8(e.what())] {
                emit runFailed(g, QString(), tr("The run failed: %1").arg(m));
            });
        }
        std::lock_guard lock(mutex_);
        runningCancel_.reset();
    }
    --liveWorkers_;
}

} // namespace initscope::ui

// The one background worker of the ui: the main run (RunController) and every analysis view
// (phase, Jacobian, NTK, ensemble, sweep, inputs) each own one. A single long-lived thread, a
// single pending job slot and generation ids, in the shape of Qt's mandelbrot example:
//   - submit(job, Supersede::Cancel): a newer job cancels the one running and drops its results;
//   - submit(job, Supersede::AfterCurrent): the newer job waits for the running one, whose
//     results are still shown (a dragged slider: each run shows a whole network); the running job
//     can supersede itself by the waiting one (supersedeByPending) when it has waited too long;
//   - cancel() cancels the running and pending jobs and drops whatever is still in flight;
//   - the destructor cancels and joins, also mid-computation.
// Results come back to the GUI thread through post(): a queued call that is dropped when a newer
// job superseded its generation meanwhile, or when the worker is gone.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace initscope::ui {

class JobWorker : public QObject {
    Q_OBJECT
public:
    /// A job runs on the worker thread; it polls `cancel` (set when superseded or shut down) and
    /// hands results over with post(generation, ...).
    using Job = std::function<void(quint64 generation, std::atomic<bool>& cancel)>;

    enum class Supersede {
        Cancel,       // cancel the job in progress now, drop its results
        AfterCurrent, // let it finish (its results still count); it may give way itself
    };

    explicit JobWorker(QObject* parent = nullptr);
    ~JobWorker() override; // cancels the running job and joins the thread

    /// Queues `job` as the only pending one (an older pending job is dropped); returns its
    /// generation.
    quint64 submit(Job job, Supersede how = Supersede::Cancel);
    /// Cancels the running and pending jobs; their posted results are dropped.
    void cancel();
    /// Generation of the newest submitted job (0 before the first).
    quint64 generation() const { return generation_.load(); }
    /// True while a job is pending or running.
    bool busy() const { return busy_.load(); }
    /// Whether results of `generation` are still wanted (no Cancel-submit or cancel() since).
    bool isCurrent(quint64 generation) const { return generation >= dropBelow_.load(); }

    /// From a job: true while a newer job waits (AfterCurrent).
    bool hasPending() const;
    /// From a job: how long the waiting job has waited, counted from the first job that started
    /// waiting since the running one began (empty when none waits).
    std::optional<std::chrono::steady_clock::duration> pendingWaited() const;
    /// From a job: gives way to the waiting job now: the running job's later results are
    /// dropped and `cancel` (the running job's flag) is set.
    void supersedeByPending(std::atomic<bool>& cancel);

    /// From a job: runs `f` on the GUI thread unless its generation was superseded meanwhile.
    template <class F> void post(quint64 generation, F&& f) {
        QMetaObject::invokeMethod(
            this,
            [this, generation, g = std::forward<F>(f)]() mutable {
                if (isCurrent(generation))
                    g();
            },
            Qt::QueuedConnection);
    }

    /// Worker threads of all JobWorkers that are alive now (for shutdown tests).
    static int liveThreads() { return liveThreads_.load(); }

signals:
    /// The job of `generation` returned (finished or cancelled), on the GUI thread.
    void jobDone(quint64 generation);

private:
    void loop();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    Job pending_;
    quint64 pendingGeneration_ = 0;
    std::chrono::steady_clock::time_point waitingSince_;
    std::shared_ptr<std::atomic<bool>> running_; // cancel flag of the job running now
    bool stop_ = false;
    std::atomic<quint64> generation_{0}; // newest submitted
    std::atomic<quint64> dropBelow_{0};  // results of older generations are dropped
    std::atomic<bool> busy_{false};
    static std::atomic<int> liveThreads_;
    std::thread thread_; // last: started after every other member exists
};

} // namespace initscope::ui

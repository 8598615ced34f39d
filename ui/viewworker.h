// One background thread per analysis view (phase, Jacobian, NTK, ensemble, sweep), in the shape
// of Qt's mandelbrot example: a single pending job slot, a newer job cancels the one running,
// and the destructor cancels and joins (also mid-computation).
//
// Results come back to the GUI thread through post(): a queued call that is dropped when a newer
// job has been submitted since (generation ids), or when the worker is gone.
#pragma once

#include <QMetaObject>
#include <QObject>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace initscope::ui {

class ViewWorker : public QObject {
    Q_OBJECT
public:
    /// A job runs on the worker thread; it polls `cancel` (set when superseded or shut down) and
    /// hands results over with post(generation, ...).
    using Job = std::function<void(quint64 generation, const std::atomic<bool>& cancel)>;

    explicit ViewWorker(QObject* parent = nullptr);
    ~ViewWorker() override; // cancels the running job and joins the thread

    /// Queues `job` as the only pending one (an older pending job is dropped, a running one is
    /// cancelled); returns its generation.
    quint64 submit(Job job);
    /// Cancels the running and pending jobs; their posted results are dropped.
    void cancel();
    /// Generation of the newest submitted job (0 before the first).
    quint64 generation() const { return generation_.load(); }
    /// True while a job is pending or running.
    bool busy() const { return busy_.load(); }

    /// From a job: runs `f` on the GUI thread unless a newer job was submitted meanwhile.
    template <class F> void post(quint64 generation, F&& f) {
        QMetaObject::invokeMethod(
            this,
            [this, generation, g = std::forward<F>(f)]() mutable {
                if (generation == generation_.load())
                    g();
            },
            Qt::QueuedConnection);
    }

signals:
    /// The job of `generation` returned (finished or cancelled), on the GUI thread.
    void jobDone(quint64 generation);

private:
    void loop();

    std::mutex mutex_;
    std::condition_variable wake_;
    Job pending_;
    quint64 pendingGeneration_ = 0;
    std::shared_ptr<std::atomic<bool>> running_; // cancel flag of the job running now
    bool stop_ = false;
    std::atomic<quint64> generation_{0};
    std::atomic<bool> busy_{false};
    std::thread thread_; // last: started after every other member exists
};

} // namespace initscope::ui

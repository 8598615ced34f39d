#include "work/jobworker.h"

namespace initscope::ui {

std::atomic<int> JobWorker::liveThreads_{0};

JobWorker::JobWorker(QObject* parent) : QObject(parent) {
    ++liveThreads_; // counted from here so that the count never misses a thread being started
    thread_ = std::thread([this] { loop(); });
}

JobWorker::~JobWorker() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        pending_ = nullptr;
        if (running_)
            running_->store(true);
    }
    wake_.notify_all();
    thread_.join();
}

quint64 JobWorker::submit(Job job, Supersede how) {
    std::lock_guard lock(mutex_);
    const quint64 gen = generation_.fetch_add(1) + 1;
    // the wait is bounded from the first job that started waiting
    if (!pending_)
        waitingSince_ = std::chrono::steady_clock::now();
    pending_ = std::move(job);
    pendingGeneration_ = gen;
    // AfterCurrent supersedes nothing yet, not even a job that has just finished and whose
    // results are still on their way to the GUI thread.
    if (how == Supersede::Cancel) {
        dropBelow_.store(gen);
        if (running_)
            running_->store(true);
    }
    busy_.store(true);
    wake_.notify_all();
    return gen;
}

void JobWorker::cancel() {
    std::lock_guard lock(mutex_);
    dropBelow_.store(generation_.load() + 1); // drops whatever is still in flight
    pending_ = nullptr;
    if (running_)
        running_->store(true);
}

bool JobWorker::hasPending() const {
    std::lock_guard lock(mutex_);
    return static_cast<bool>(pending_);
}

std::optional<std::chrono::steady_clock::duration> JobWorker::pendingWaited() const {
    std::lock_guard lock(mutex_);
    if (!pending_)
        return std::nullopt;
    return std::chrono::steady_clock::now() - waitingSince_;
}

void JobWorker::supersedeByPending(std::atomic<bool>& cancel) {
    std::lock_guard lock(mutex_);
    if (!pending_)
        return;
    dropBelow_.store(pendingGeneration_);
    cancel.store(true);
}

void JobWorker::loop() {
    for (;;) {
        Job job;
        quint64 gen = 0;
        auto flag = std::make_shared<std::atomic<bool>>(false);
        {
            std::unique_lock lock(mutex_);
            running_.reset();
            if (!pending_)
                busy_.store(false);
            wake_.wait(lock, [this] { return stop_ || pending_; });
            if (stop_)
                break;
            job = std::move(pending_);
            pending_ = nullptr;
            gen = pendingGeneration_;
            running_ = flag;
        }
        job(gen, *flag);
        QMetaObject::invokeMethod(
            this, [this, gen] { emit jobDone(gen); }, Qt::QueuedConnection);
    }
    --liveThreads_;
}

} // namespace initscope::ui

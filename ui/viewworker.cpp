#include "viewworker.h"

namespace initscope::ui {

ViewWorker::ViewWorker(QObject* parent) : QObject(parent), thread_([this] { loop(); }) {}

ViewWorker::~ViewWorker() {
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

quint64 ViewWorker::submit(Job job) {
    std::lock_guard lock(mutex_);
    const quint64 gen = generation_.fetch_add(1) + 1;
    pending_ = std::move(job);
    pendingGeneration_ = gen;
    if (running_)
        running_->store(true);
    busy_.store(true);
    wake_.notify_all();
    return gen;
}

void ViewWorker::cancel() {
    std::lock_guard lock(mutex_);
    generation_.fetch_add(1); // drops whatever is still in flight
    pending_ = nullptr;
    if (running_)
        running_->store(true);
}

void ViewWorker::loop() {
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
                return;
            job = std::move(pending_);
            pending_ = nullptr;
            gen = pendingGeneration_;
            running_ = flag;
        }
        job(gen, *flag);
        QMetaObject::invokeMethod(
            this, [this, gen] { emit jobDone(gen); }, Qt::QueuedConnection);
    }
}

} // namespace initscope::ui

// How an analysis view follows the settings: a new spec, or a change of one of the view's own
// options, marks it stale and schedules a recomputation after a short pause (so a dragged slider
// does not start one computation per step); a hidden view only remembers that it is stale and
// recomputes when it is shown. Shared by the Jacobian, NTK and ensemble views.
#pragma once

#include "spec/spec.h"

#include <QTimer>
#include <QWidget>

#include <functional>
#include <utility>

namespace initscope::ui {

class ViewRefresh {
public:
    /// `compute` runs on the GUI thread and must only hand the work to a worker.
    ViewRefresh(QWidget* view, int debounceMs, std::function<void()> compute)
        : view_(view), compute_(std::move(compute)) {
        timer_.setSingleShot(true);
        timer_.setInterval(debounceMs);
        QObject::connect(&timer_, &QTimer::timeout, view, [this] {
            if (view_->isVisible()) {
                stale_ = false;
                compute_();
            } else {
                stale_ = true;
            }
        });
    }

    /// A new spec: nothing is scheduled when it is the one already computed.
    void setSpec(const NetworkSpec& spec) {
        if (spec == spec_ && !stale_)
            return;
        spec_ = spec;
        restart();
    }
    /// One of the view's own options changed: recompute the same spec.
    void restart() {
        stale_ = true;
        timer_.start();
    }
    /// Call from the view's showEvent.
    void shown() {
        if (stale_)
            timer_.start(0);
    }
    /// The view shows a result of `spec` copied from another view: nothing to compute.
    void markCurrent(const NetworkSpec& spec) {
        spec_ = spec;
        stale_ = false;
        timer_.stop();
    }
    const NetworkSpec& spec() const { return spec_; }

private:
    QWidget* view_;
    std::function<void()> compute_;
    QTimer timer_;
    NetworkSpec spec_;
    bool stale_ = true;
};

} // namespace initscope::ui

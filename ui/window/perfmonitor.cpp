#include "window/perfmonitor.h"

#include <algorithm>
#include <cstdio>

namespace initscope::ui {

namespace {
double median(std::vector<int> v) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
} // namespace

PerfMonitor::PerfMonitor(bool logToStderr, QObject* parent) : QObject(parent), log_(logToStderr) {
    probeTimer_.setTimerType(Qt::PreciseTimer);
    probeTimer_.setInterval(kProbeMs);
    connect(&probeTimer_, &QTimer::timeout, this, &PerfMonitor::probe);
    secondTimer_.setTimerType(Qt::PreciseTimer);
    secondTimer_.setInterval(1000);
    connect(&secondTimer_, &QTimer::timeout, this, &PerfMonitor::second);
    if (log_)
        start();
}

void PerfMonitor::start() {
    sinceProbe_.start();
    probeTimer_.start();
    secondTimer_.start();
}

void PerfMonitor::noteChartUpdate(bool completeRun) {
    if (!active())
        return;
    ++updates_;
    if (completeRun)
        ++complete_;
}

void PerfMonitor::noteFrameCost(double ms) {
    maxFrameThisSecond_ = std::max(maxFrameThisSecond_, ms);
}

void PerfMonitor::probe() {
    const double gap = static_cast<double>(sinceProbe_.nsecsElapsed()) / 1e6;
    sinceProbe_.restart();
    maxStallThisSecond_ = std::max(maxStallThisSecond_, gap - kProbeMs);
}

void PerfMonitor::second() {
    updatesPerSecond_.push_back(updates_);
    completePerSecond_.push_back(complete_);
    requestsPerSecond_.push_back(requested_);
    maxStall_ = std::max(maxStall_, maxStallThisSecond_);
    maxFrame_ = std::max(maxFrame_, maxFrameThisSecond_);
    if (log_) {
        std::fprintf(stderr,
                     "perf: chart updates/s %d, complete runs shown/s %d, runs requested/s %d, "
                     "max event-loop stall %.1f ms, max frame cost %.1f ms\n",
                     updates_, complete_, requested_, maxStallThisSecond_, maxFrameThisSecond_);
    }
    updates_ = complete_ = requested_ = 0;
    maxStallThisSecond_ = maxFrameThisSecond_ = 0;
}

PerfMonitor::Summary PerfMonitor::summary() const {
    Summary s;
    s.seconds = static_cast<int>(updatesPerSecond_.size());
    s.medianUpdatesPerSecond = median(updatesPerSecond_);
    s.medianCompleteRunsPerSecond = median(completePerSecond_);
    s.medianRequestsPerSecond = median(requestsPerSecond_);
    s.maxStallMs = maxStall_;
    s.maxFrameMs = maxFrame_;
    return s;
}

void PerfMonitor::reset() {
    updates_ = complete_ = requested_ = 0;
    maxStallThisSecond_ = maxFrameThisSecond_ = 0;
    updatesPerSecond_.clear();
    completePerSecond_.clear();
    requestsPerSecond_.clear();
    maxStall_ = maxFrame_ = 0;
    sinceProbe_.restart();
    secondTimer_.start(); // restart the second boundary
}

} // namespace initscope::ui

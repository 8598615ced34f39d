// Instrumentation of the GUI's responsiveness: chart updates per second and event-loop stalls.
// Enabled by INITSCOPE_PERF_LOG=1 or --perf-log (one line per second on stderr), and used by the
// drag benchmark (tests/bench) to report the median update rate and the longest stall.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <vector>

namespace initscope::ui {

class PerfMonitor : public QObject {
    Q_OBJECT
public:
    /// Probe interval: a stall is the delay of this timer beyond its interval.
    static constexpr int kProbeMs = 5;

    /// Probes (and logs once a second) only when `logToStderr`; otherwise idle until start().
    explicit PerfMonitor(bool logToStderr, QObject* parent = nullptr);
    /// Starts probing without logging (the benchmark reads summary()).
    void start();
    bool active() const { return probeTimer_.isActive(); }

    /// A frame pushed new data to the charts; `completeRun` when it showed a finished run.
    void noteChartUpdate(bool completeRun);
    /// Time the GUI thread spent pushing one frame into the charts.
    void noteFrameCost(double ms);
    void noteRunRequested() { ++requested_; }

    struct Summary {
        int seconds = 0;
        double medianUpdatesPerSecond = 0;
        double medianCompleteRunsPerSecond = 0;
        double medianRequestsPerSecond = 0;
        double maxStallMs = 0;
        double maxFrameMs = 0;
    };
    /// Figures since the last reset (whole seconds only).
    Summary summary() const;
    void reset();

private:
    void probe();
    void second();

    bool log_;
    QTimer probeTimer_, secondTimer_;
    QElapsedTimer sinceProbe_;
    int updates_ = 0, complete_ = 0, requested_ = 0;
    double maxStallThisSecond_ = 0, maxFrameThisSecond_ = 0;
    std::vector<int> updatesPerSecond_, completePerSecond_, requestsPerSecond_;
    double maxStall_ = 0, maxFrame_ = 0;
};

} // namespace initscope::ui

// Drag benchmark: drives the real main window (offscreen) with simulated gain-slider moves at
// 60 Hz over the default network (depth 50, width 256, batch 128) and reports, as JSON, the
// median chart updates per second, complete runs shown per second and the longest event-loop
// stall (a 5 ms probe timer's delay beyond its interval). Timings only: not a pass/fail test.
//
//   bench_gui_drag [seconds=10] [depth=50] [width=256] [batch=128] [activation=tanh]
//                  [view=signal]
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "window/perfmonitor.h"
#include "work/runcontroller.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QSlider>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace initscope;
using namespace initscope::ui;

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const QStringList args = QApplication::arguments();
    auto arg = [&](int i, int fallback) { return args.size() > i ? args[i].toInt() : fallback; };
    const int seconds = arg(1, 10);
    NetworkSpec spec;
    spec.depth = arg(2, 50);
    spec.width = arg(3, 256);
    spec.inputDim = spec.width;
    spec.batch = arg(4, 128);
    if (args.size() > 5) {
        const auto a = parseActivation(args[5].toStdString());
        if (!a) {
            std::fprintf(stderr, "unknown activation %s\n", qPrintable(args[5]));
            return 2;
        }
        spec.activation = *a;
    }

    MainWindow w(qEnvironmentVariableIntValue("INITSCOPE_PERF_LOG") == 1);
    w.resize(1600, 1000);
    w.setSpec(spec);
    const QString view = args.size() > 6 ? args[6] : QStringLiteral("signal");
    if (!w.showView(view)) {
        std::fprintf(stderr, "unknown view %s\n", qPrintable(view));
        return 2;
    }
    w.show();
    // first complete run
    QElapsedTimer wait;
    wait.start();
    while (!(w.displayedComplete() && w.displayedGeneration() == w.controller()->generation()) &&
           wait.elapsed() < 60000)
        QApplication::processEvents(QEventLoop::AllEvents, 10);

    std::vector<double> runMs;
    std::size_t runsStarted = 0;
    QObject::connect(w.controller(), &RunController::runStarted, [&] { ++runsStarted; });
    QObject::connect(w.controller(), &RunController::runFinished,
                     [&](quint64, const RunResult& r) { runMs.push_back(r.seconds * 1e3); });

    // Gain from 0.5 to 2 and back (log slider positions), one move per 16 ms (a 60 Hz mouse).
    QSlider* slider = w.controls()->gainControl()->slider();
    const int lo = 2699, hi = 3301, step = 4;
    int pos = 3000, dir = 1;
    slider->setSliderDown(true);
    QTimer mouse;
    mouse.setTimerType(Qt::PreciseTimer);
    QObject::connect(&mouse, &QTimer::timeout, [&] {
        pos += dir * step;
        if (pos >= hi || pos <= lo)
            dir = -dir;
        slider->setValue(pos);
    });
    mouse.start(16);
    // one second of warm-up, then measure
    QTimer::singleShot(1000, [&] {
        if (!w.perfMonitor()->active())
            w.perfMonitor()->start();
        w.perfMonitor()->reset();
        runMs.clear();
        runsStarted = 0;
    });
    QTimer::singleShot(1000 + seconds * 1000 + 50, &app, &QApplication::quit);
    QApplication::exec();
    mouse.stop();
    slider->setSliderDown(false);

    const PerfMonitor::Summary s = w.perfMonitor()->summary();
    std::sort(runMs.begin(), runMs.end());
    const double medianRun = runMs.empty() ? 0 : runMs[runMs.size() / 2];
    std::printf(
        "{\"view\": \"%s\", \"activation\": \"%s\", \"depth\": %d, \"width\": %d, \"batch\": %d, "
        "\"seconds\": %d,\n"
        " \"median_chart_updates_per_s\": %.1f, \"median_complete_runs_shown_per_s\": "
        "%.1f,\n \"median_runs_requested_per_s\": %.1f, \"slider_moves_per_s\": %.1f,\n"
        " \"max_event_loop_stall_ms\": %.1f, \"max_frame_cost_ms\": %.1f,\n"
        " \"runs_started\": %zu, \"runs_finished\": %zu, \"median_run_ms\": %.1f}\n",
        qPrintable(view), activationName(spec.activation).c_str(), spec.depth, spec.width,
        spec.batch, s.seconds, s.medianUpdatesPerSecond, s.medianCompleteRunsPerSecond,
        s.medianRequestsPerSecond, 1000.0 / 16, s.maxStallMs, s.maxFrameMs, runsStarted,
        runMs.size(), medianRun);
    return 0;
}

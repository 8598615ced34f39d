// Waiting for the main window to show a finished run, shared by the GUI tests.
#pragma once

#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "work/runcontroller.h"

#include <QTest>

namespace initscope::ui::test {

/// Generous: a loaded 2-core machine can take seconds for what takes milliseconds idle (a phase
/// diagram took 30 s on a bare machine under load), and QTRY returns as soon as it holds.
inline constexpr int kTimeoutMs = 120000;

/// The main-window tests' network: small enough to run in milliseconds, deep enough to chart.
inline NetworkSpec windowTestSpec() {
    NetworkSpec s;
    s.depth = 20;
    s.width = 96;
    s.inputDim = 96;
    s.batch = 32;
    return s;
}

/// Waits until the charts show a finished run of exactly the spec in the controls.
inline bool waitForSettled(MainWindow& w) {
    return QTest::qWaitFor(
        [&] {
            return w.displayedComplete() &&
                   w.displayedGeneration() == w.controller()->generation() &&
                   w.displayedSpec() == w.controls()->spec();
        },
        kTimeoutMs);
}

} // namespace initscope::ui::test

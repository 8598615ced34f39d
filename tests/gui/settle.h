// Waiting for the main window to show a finished run, shared by the GUI tests.
#pragma once

#include "controlpanel.h"
#include "mainwindow.h"
#include "runcontroller.h"

#include <QTest>

namespace initscope::ui::test {

/// Generous: a loaded 2-core CI machine can take seconds for what takes milliseconds idle.
inline constexpr int kTimeoutMs =
    120000; // generous: a loaded 2-core machine is slow, and QTRY returns as soon as it holds

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

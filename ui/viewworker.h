// The former name of the ui's one job worker (jobworker.h).
#pragma once

#include "jobworker.h"

namespace initscope::ui {
using ViewWorker = JobWorker;
} // namespace initscope::ui

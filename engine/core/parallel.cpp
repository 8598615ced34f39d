#include "core/parallel.h"

#include <oneapi/tbb/info.h>

#include <algorithm>

#ifdef INITSCOPE_OPENBLAS
extern "C" void openblas_set_num_threads(int);
#endif

namespace initscope::detail {

void singleThreadedBlas() {
#ifdef INITSCOPE_OPENBLAS
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
#endif
}

int workerCount(int requested) {
    const int cores = tbb::info::default_concurrency();
    return requested > 0 ? std::min(requested, cores) : cores;
}

} // namespace initscope::detail

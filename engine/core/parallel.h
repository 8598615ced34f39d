// Shared plumbing of the analysis kernels (Jacobian, NTK, phase diagram, ensembles): a task arena
// of the spec's thread count, OpenBLAS kept single-threaded (TBB owns the parallelism, as in the
// Engine), and a mutex that serialises progress callbacks so a GUI adapter never sees two at once.
#pragma once

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include <atomic>
#include <mutex>

namespace initscope::detail {

/// Sets OpenBLAS (when linked) to one thread per call; idempotent and thread-safe.
void singleThreadedBlas();

/// Worker count for spec.threads (0 = all cores), capped at the cores like Engine::run.
int workerCount(int requested);

/// Runs f() inside a task arena of workerCount(threads) workers.
template <class F> void inArena(int threads, F&& f);

/// parallel_for over [0, n) with one index per task (simple_partitioner): every index does the
/// same arithmetic whatever the thread count, which keeps results bit-identical.
template <class F> void forEachIndex(int n, F&& f) {
    tbb::parallel_for(
        tbb::blocked_range<int>(0, n, 1),
        [&](const tbb::blocked_range<int>& r) {
            for (int i = r.begin(); i != r.end(); ++i)
                f(i);
        },
        tbb::simple_partitioner());
}

inline bool isCancelled(const std::atomic<bool>* cancel) {
    return cancel && cancel->load(std::memory_order_relaxed);
}

} // namespace initscope::detail

#include <oneapi/tbb/task_arena.h>

template <class F> void initscope::detail::inArena(int threads, F&& f) {
    singleThreadedBlas();
    tbb::task_arena arena(workerCount(threads));
    arena.execute(f);
}

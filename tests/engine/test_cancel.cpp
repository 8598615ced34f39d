// Cancelling is answered inside long stages, not only between layers: a run, a Jacobian and an
// NTK cancelled from another thread while they draw one huge weight matrix (width 16384: 2^28
// normals, seconds of Box-Muller) return within a bound far below the draw's own duration. Also:
// drawing in cancellable blocks gives the very stream one uninterrupted fill gives.
#include "engine.h"
#include "jacobian.h"
#include "ntk.h"
#include "rng.h"
#include "weights.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>

using namespace initscope;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A 16384 x 16384 middle layer between narrow ends: its weight draw is the whole cost (one
// input, so the products after it are matrix-vector products; narrow ends keep the Jacobian's
// products small).
NetworkSpec hugeLayer() {
    NetworkSpec s;
    s.depth = 3;
    s.widths = {16384, 16384, 64};
    s.inputDim = 64;
    s.batch = 1;
    s.init = InitScheme::HeNormal;
    s.threads = 1;
    s.memoryBudgetGiB = 8; // the estimates count the whole 16384^2 layer (1 GiB in float)
    return s;
}

// The bound on the return latency after cancel is set: 0.5 s. The work between two looks at the
// flag is one draw block (2^18 normals, about 3 ms here) or one layer's matrix-vector product
// (2^28 multiply-adds, about 0.1 s); 0.5 s leaves room for a loaded shared machine. The test can
// fail: the full draw takes (measured below) several times the bound, so an uninterruptible draw
// returns late; where a machine is so fast that it would not, the test skips rather than pass
// without meaning.
constexpr double kBoundSeconds = 0.5;
constexpr double kDelaySeconds = 0.15; // cancel this long after the start: mid-draw

double fullDrawSecondsEstimate() {
    // time 16 blocks, scale to the 2^28 entries of the huge layer
    std::vector<float> buf(16 * kDrawBlock);
    Rng rng(1, Stream::Weights, 1);
    const auto t0 = Clock::now();
    rng.fillNormal(buf.data(), buf.size());
    return secondsSince(t0) * (double(1 << 28) / double(buf.size()));
}

/// Runs `work` on a thread, sets `cancel` after kDelaySeconds, returns the seconds from the store
/// to work's return; `cancelledOut` tells whether work reported a cancel.
double cancelLatency(const std::function<bool(const std::atomic<bool>*)>& work,
                     bool& cancelledOut) {
    std::atomic<bool> cancel{false};
    std::atomic<bool> done{false};
    Clock::time_point finishedAt;
    std::thread t([&] {
        cancelledOut = work(&cancel);
        finishedAt = Clock::now();
        done = true;
    });
    std::this_thread::sleep_for(std::chrono::duration<double>(kDelaySeconds));
    const bool finishedEarly = done.load();
    const auto storedAt = Clock::now();
    cancel = true;
    t.join();
    if (finishedEarly)
        return -1; // finished before the cancel: nothing measured
    return std::chrono::duration<double>(finishedAt - storedAt).count();
}

} // namespace

TEST(Cancel, BlockedDrawIsTheSameStream) {
    // exact: the blocks are even, so no Box-Muller pair straddles two blocks
    const std::size_t n = 3 * kDrawBlock + 7;
    std::vector<float> whole(n);
    Rng(9, Stream::Weights, 4).fillNormal(whole.data(), n);
    std::atomic<bool> never{false};
    const MatrixF z = drawStandard(DrawKind::Normal, 9, 4, 1, static_cast<int>(n), &never);
    EXPECT_EQ(std::memcmp(z.data(), whole.data(), n * sizeof(float)), 0);
}

TEST(Cancel, RunAnswersMidDraw) {
    const double full = fullDrawSecondsEstimate();
    if (full < 4 * kBoundSeconds)
        GTEST_SKIP() << "the full draw takes only " << full << " s here: not a meaningful test";
    Engine engine;
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) { return engine.run(hugeLayer(), nullptr, c).cancelled; },
        cancelled);
    ASSERT_GE(latency, 0) << "the run finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "full draw about " << full << " s";
    std::printf("cancel latency %.4f s; the uninterrupted draw takes about %.2f s\n", latency,
                full);
}

TEST(Cancel, JacobianAnswersMidDraw) {
    const double full = fullDrawSecondsEstimate();
    if (full < 4 * kBoundSeconds)
        GTEST_SKIP() << "the full draw takes only " << full << " s here: not a meaningful test";
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) {
            return computeJacobian(hugeLayer(), 1, {}, c).cancelled;
        },
        cancelled);
    ASSERT_GE(latency, 0) << "the Jacobian finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "full draw about " << full << " s";
    std::printf("cancel latency %.4f s; the uninterrupted draw takes about %.2f s\n", latency,
                full);
}

TEST(Cancel, NtkAnswersMidDraw) {
    const double full = fullDrawSecondsEstimate();
    if (full < 4 * kBoundSeconds)
        GTEST_SKIP() << "the full draw takes only " << full << " s here: not a meaningful test";
    NtkOptions o;
    o.inputs = 1;
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) { return computeNtk(hugeLayer(), o, {}, c).cancelled; },
        cancelled);
    ASSERT_GE(latency, 0) << "the NTK finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "full draw about " << full << " s";
    std::printf("cancel latency %.4f s; the uninterrupted draw takes about %.2f s\n", latency,
                full);
}

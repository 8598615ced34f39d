// Cancelling is answered inside long stages, not only between layers: a run, a Jacobian and an
// NTK cancelled from another thread while they draw one huge weight matrix (width 16384: 2^28
// normals, seconds of Box-Muller) return within a bound far below the draw's own duration; so do
// a run whose weights are already drawn (cached) while it multiplies them (forward and backward),
// an NTK in its forward products and the analytic NTK inside one layer's pair expectations. Also:
// drawing in cancellable blocks gives the very stream one uninterrupted fill gives.
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "core/rng.h"
#include "network/drawcache.h"
#include "network/engine.h"
#include "network/weights.h"

#include <Eigen/Core>

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

/// Runs `work` on a thread, sets `cancel` kDelaySeconds after `work` has set its `armed` flag
/// (at once, or when it reaches the stage to cancel in), returns the seconds from the store to
/// work's return; `cancelledOut` tells whether work reported a cancel.
double cancelLatencyArmed(
    const std::function<bool(const std::atomic<bool>*, std::atomic<bool>& armed)>& work,
    bool& cancelledOut) {
    std::atomic<bool> cancel{false};
    std::atomic<bool> armed{false};
    std::atomic<bool> done{false};
    Clock::time_point finishedAt;
    std::thread t([&] {
        cancelledOut = work(&cancel, armed);
        finishedAt = Clock::now();
        done = true;
    });
    while (!armed.load() && !done.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::duration<double>(kDelaySeconds));
    const bool finishedEarly = done.load();
    const auto storedAt = Clock::now();
    cancel = true;
    t.join();
    if (finishedEarly)
        return -1; // finished before the cancel: nothing measured
    return std::chrono::duration<double>(finishedAt - storedAt).count();
}

/// Runs `work` on a thread, sets `cancel` after kDelaySeconds (see cancelLatencyArmed).
double cancelLatency(const std::function<bool(const std::atomic<bool>*)>& work,
                     bool& cancelledOut) {
    return cancelLatencyArmed(
        [&](const std::atomic<bool>* c, std::atomic<bool>& armed) {
            armed = true;
            return work(c);
        },
        cancelledOut);
}

// The GEMM cases: a run or an NTK of kGemmBatch inputs through the huge layer, its weights drawn
// beforehand (the shared draw cache holds them), so the products are the whole cost.
constexpr int kGemmBatch = 1024;

/// Fills the shared draw cache with hugeLayer()'s draws (a batch-1 run: the weights' draws do not
/// depend on the batch), so that the GEMM cases below measure products, not the draw.
void warmHugeLayer() {
    NetworkSpec s = hugeLayer();
    s.batch = 1;
    s.threads = 0;
    Engine().run(s);
}

/// The seconds of the huge layer's forward product for `cols` inputs on this machine's cores,
/// from one timed 1024-row block scaled up (the run splits it into such blocks).
double hugeProductSecondsEstimate(int cols) {
    const int n = 16384, rows = 1024;
    MatrixF z = MatrixF::Random(rows, n), x = MatrixF::Random(n, 64), h(rows, 64);
    const auto t0 = Clock::now();
    h.noalias() = z * x;
    const double block = secondsSince(t0);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return block * (n / rows) * (cols / 64.0) / cores;
}

/// Sets `armed` when the run reaches the backward pass of layer 2 (the huge one): RunSink calls
/// come from the run's thread after layer 3's backward values are final.
struct ArmAtBackward : RunSink {
    std::atomic<bool>* armed = nullptr;
    void backwardLayer(const LayerStats& st) override {
        if (st.index == 3)
            *armed = true;
    }
};

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

// The bound and the skips as above: the uncancelled product of the huge layer for 1024 inputs is
// 2^38 multiply-adds, seconds here (estimated from one block; skipped when it would not exceed 4
// times the bound); the work between two looks at the flag is one 1024-row block of a 64-input
// chunk (2^30 multiply-adds, tens of milliseconds).
TEST(Cancel, RunAnswersMidForwardProductWithCachedWeights) {
    const double product = hugeProductSecondsEstimate(kGemmBatch);
    if (product < 4 * kBoundSeconds)
        GTEST_SKIP() << "the product takes only " << product << " s here: not a meaningful test";
    warmHugeLayer();
    NetworkSpec s = hugeLayer();
    s.batch = kGemmBatch;
    s.threads = 0;
    Engine engine;
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) { return engine.run(s, nullptr, c).cancelled; }, cancelled);
    ASSERT_GE(latency, 0) << "the run finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "forward product about " << product << " s";
    std::printf("cancel latency %.4f s; the uncancelled forward product takes about %.2f s\n",
                latency, product);
}

TEST(Cancel, RunAnswersMidBackwardProductWithCachedWeights) {
    const double product = hugeProductSecondsEstimate(kGemmBatch); // W^T delta costs the same
    if (product < 4 * kBoundSeconds)
        GTEST_SKIP() << "the product takes only " << product << " s here: not a meaningful test";
    warmHugeLayer();
    NetworkSpec s = hugeLayer();
    s.batch = kGemmBatch;
    s.threads = 0;
    Engine engine;
    bool cancelled = false;
    const double latency = cancelLatencyArmed(
        [&](const std::atomic<bool>* c, std::atomic<bool>& armed) {
            ArmAtBackward sink;
            sink.armed = &armed;
            return engine.run(s, &sink, c).cancelled;
        },
        cancelled);
    ASSERT_GE(latency, 0) << "the run finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "backward product about " << product << " s";
    std::printf("cancel latency %.4f s; the uncancelled backward product takes about %.2f s\n",
                latency, product);
}

// The NTK with its draws cached: first the weights' float copy (a second of first-touch page
// faults for the huge layer, in column blocks of 2^22 entries with a look between), then the
// forward pass of K = 1024 inputs in 64-row blocks (2^30 multiply-adds each), both far shorter
// than the product the skip refers to.
TEST(Cancel, NtkAnswersWithCachedWeights) {
    const double product = hugeProductSecondsEstimate(kGemmBatch);
    if (product < 4 * kBoundSeconds)
        GTEST_SKIP() << "the product takes only " << product << " s here: not a meaningful test";
    warmHugeLayer();
    NetworkSpec s = hugeLayer();
    s.batch = kGemmBatch;
    s.threads = 0;
    NtkOptions o;
    o.inputs = kGemmBatch;
    o.analytic = false;
    o.byDepth = false;
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) { return computeNtk(s, o, {}, c).cancelled; }, cancelled);
    ASSERT_GE(latency, 0) << "the NTK finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "forward product about " << product << " s";
    std::printf("cancel latency %.4f s; the uncancelled forward product takes about %.2f s\n",
                latency, product);
}

// The analytic NTK of hard-tanh on inputs whose pair correlations all exceed
// kHardTanhDirectCorrelation (0.9, ntk.cpp): every pair's expectations are a direct Gaussian
// integral
// (~10 microseconds), so one layer of K = 1024 inputs is seconds; the flag is looked at per row of
// pairs (at most 1023 integrals). The cost of the layer is estimated from 64 inputs' (2016 pairs)
// and the test skips when it would not exceed 4 times the bound.
TEST(Cancel, AnalyticNtkAnswersInsideALayer) {
    NetworkSpec s;
    s.depth = 3;
    s.width = 256;
    s.activation = ActivationKind::HardTanh;
    s.init = InitScheme::XavierNormal;
    const auto gram = [](int k) { // unit lengths, every correlation 0.95
        Eigen::MatrixXd g = Eigen::MatrixXd::Constant(k, k, 0.95);
        g.diagonal().setOnes();
        return g;
    };
    const int K = 1024, k0 = 64;
    const Activation act(s.activation, s.activationSlope);
    const auto t0 = Clock::now();
    const PairExpectations e = pairExpectations(act, gram(k0));
    const double layer = secondsSince(t0) * (double(K) * (K - 1)) / (double(k0) * (k0 - 1));
    ASSERT_TRUE(e.phiPhi.allFinite());
    if (layer < 4 * kBoundSeconds)
        GTEST_SKIP() << "one layer takes only " << layer << " s here: not a meaningful test";
    const Eigen::MatrixXd g = gram(K);
    bool cancelled = false;
    const double latency = cancelLatency(
        [&](const std::atomic<bool>* c) {
            const NtkKernel k = analyticNtk(s, g, nullptr, c);
            return k.theta.size() == 0 && c->load(); // the cancelled call's empty kernel
        },
        cancelled);
    ASSERT_GE(latency, 0) << "the analytic NTK finished before the cancel";
    EXPECT_TRUE(cancelled);
    EXPECT_LT(latency, kBoundSeconds) << "one layer about " << layer << " s";
    std::printf("cancel latency %.4f s; one uncancelled layer takes about %.2f s\n", latency,
                layer);
}

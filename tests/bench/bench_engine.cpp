// Engine benchmark (issue 2): the sweep job against this machine's SGEMM rate measured in the
// same run, and the latency of one slider update. Medians over repetitions; ratios, not
// absolute times, are the figures to compare across (noisy, shared) machines.
#include "analysis/sweep.h"
#include "network/conv.h"
#include "network/engine.h"
#include "network/weights.h"

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

using namespace initscope;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// GFLOP/s of float GEMMs of the engine's shape (N x N times N x 64 column blocks), all cores.
double sgemmRate(int n, int batch, int threads, int reps) {
    MatrixF w = drawStandard(DrawKind::Normal, 1, 1, n, n);
    MatrixF a = drawStandard(DrawKind::Normal, 1, 2, n, batch);
    MatrixF h(n, batch);
    tbb::task_arena arena(threads);
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
        const int inner = 20;
        const auto t0 = Clock::now();
        arena.execute([&] {
            for (int i = 0; i < inner; ++i)
                tbb::parallel_for(0, (batch + 63) / 64, [&](int c) {
                    const int c0 = c * 64, m = std::min(64, batch - c0);
                    h.middleCols(c0, m).noalias() = w * a.middleCols(c0, m);
                });
        });
        const double t = seconds(t0, Clock::now());
        rates.push_back(2.0 * n * n * batch * inner / t / 1e9);
    }
    return median(rates);
}

/// GFLOP/s of the float GEMMs of a conv layer's forward product (C_out x k^2 C_in times one
/// im2col group of k^2 C_in x S^2 G), `tasks` of them in parallel as the engine's chunks run.
double convGemmRate(int cout, int patch, int cols, int tasks, int threads, int reps) {
    MatrixF w = drawStandard(DrawKind::Normal, 1, 1, cout, patch);
    MatrixF col = drawStandard(DrawKind::Normal, 1, 2, patch, cols);
    std::vector<MatrixF> h(static_cast<std::size_t>(tasks), MatrixF(cout, cols));
    tbb::task_arena arena(threads);
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
        const int inner = 10;
        const auto t0 = Clock::now();
        arena.execute([&] {
            for (int i = 0; i < inner; ++i)
                tbb::parallel_for(
                    0, tasks, [&](int t) { h[static_cast<std::size_t>(t)].noalias() = w * col; });
        });
        const double t = seconds(t0, Clock::now());
        rates.push_back(2.0 * cout * patch * double(cols) * tasks * inner / t / 1e9);
    }
    return median(rates);
}

} // namespace

int main() {
    const int threads = tbb::info::default_concurrency();
    std::printf("initscope engine benchmark: %d threads\n\n", threads);

    // 1. The sweep job of issue 2.
    NetworkSpec s;
    s.depth = 50;
    s.width = 512;
    s.inputDim = 512;
    s.batch = 256;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    SweepAxis axis{"sigma_w2", 0.5, 4.0, 16};
    // forward W A, backward W^T Delta, and dW = Delta A^T: three N x N x B products per layer
    const double flops = 16.0 * s.depth * 3.0 * 2.0 * s.width * s.width * s.batch;
    std::vector<double> jobTimes, boundTimes;
    for (int rep = 0; rep < 5; ++rep) {
        const double rate = sgemmRate(s.width, s.batch, threads, 3);
        Engine engine; // fresh: includes drawing the network once
        const auto t0 = Clock::now();
        runSweep(engine, s, axis);
        jobTimes.push_back(seconds(t0, Clock::now()));
        boundTimes.push_back(flops / (rate * 1e9));
    }
    const double job = median(jobTimes), bound = median(boundTimes);
    std::printf("sweep job (depth 50, width 512, batch 256, tanh, 16 sigma_w^2 points):\n");
    std::printf("  %.1f GFLOP of products; SGEMM rate here %.1f GFLOP/s (%d threads)\n",
                flops / 1e9, flops / bound / 1e9, threads);
    std::printf("  median time %.3f s, SGEMM bound %.3f s, ratio %.2f (target <= 1.5)\n\n", job,
                bound, job / bound);

    // 2. One slider update: same network, new gain (cached draws), everything computed.
    NetworkSpec u;
    u.depth = 50;
    u.width = 256;
    u.inputDim = 256;
    u.batch = 128;
    u.activation = ActivationKind::Tanh;
    u.biasInit = BiasInit::Normal;
    u.sigmaB2 = 0.05;
    Engine engine;
    engine.run(u); // warm: draws cached, as after the first frame in the GUI
    std::vector<double> lat;
    for (int i = 0; i < 40; ++i) {
        u.gain = 1.0 + 0.02 * i;
        const auto t0 = Clock::now();
        engine.run(u);
        lat.push_back(seconds(t0, Clock::now()) * 1e3);
    }
    Engine cold;
    const auto c0 = Clock::now();
    cold.run(u);
    const double coldMs = seconds(c0, Clock::now()) * 1e3;
    // the same three products per layer as the sweep, at the rate of this run's shapes: a figure
    // that compares across machines, where the milliseconds do not
    const double uflops = u.depth * 3.0 * 2.0 * u.width * u.width * u.batch;
    const double urate = sgemmRate(u.width, u.batch, threads, 5);
    std::printf("single update (depth 50, width 256, batch 128, forward + backward + stats):\n");
    std::printf("  median %.1f ms, max %.1f ms over %zu gain steps (target <= 30 ms); first run "
                "with drawing %.1f ms\n",
                median(lat), *std::max_element(lat.begin(), lat.end()), lat.size(), coldMs);
    std::printf("  %.2f GFLOP of products; SGEMM rate of the same shapes %.1f GFLOP/s: bound "
                "%.1f ms, ratio %.2f\n",
                uflops / 1e9, urate, uflops / urate / 1e6, median(lat) / (uflops / urate / 1e6));

    // 3. A cnn run (im2col + GEMM): three products per layer of C_out x k^2 C_in x S^2 B
    // (forward, W^T delta, dW), against the SGEMM rate of the same product shapes.
    NetworkSpec c;
    c.arch = Arch::Cnn;
    c.depth = 10;
    c.channels = 64;
    c.inputChannels = 64;
    c.kernel = 3;
    c.image = 16;
    c.inputDim = 64 * 16 * 16;
    c.batch = 128;
    c.activation = ActivationKind::Relu;
    c.init = InitScheme::HeNormal;
    const int patch = 9 * 64, pixels = 256;
    const int group = convGroupImages(patch, pixels);
    const double cflops = 3.0 * c.depth * 2.0 * 64 * patch * double(pixels) * c.batch;
    std::vector<double> cnnTimes, cnnBounds;
    Engine cnnEngine;
    cnnEngine.run(c); // draws cached: the timing is the propagation
    for (int rep = 0; rep < 5; ++rep) {
        const double rate =
            convGemmRate(64, patch, pixels * group, (c.batch + group - 1) / group, threads, 3);
        const auto t0 = Clock::now();
        cnnEngine.run(c);
        cnnTimes.push_back(seconds(t0, Clock::now()));
        cnnBounds.push_back(cflops / (rate * 1e9));
    }
    const double cj = median(cnnTimes), cb = median(cnnBounds);
    std::printf("\ncnn run (depth 10, 64 channels, 3x3, 16x16 images, batch 128, relu):\n");
    std::printf("  %.1f GFLOP of products; SGEMM rate of the same shapes %.1f GFLOP/s\n",
                cflops / 1e9, cflops / cb / 1e9);
    std::printf("  median time %.3f s, SGEMM bound %.3f s, ratio %.2f (im2col, col2im and the "
                "statistics on top)\n",
                cj, cb, cj / cb);

    // 4. An rnn run (BPTT): per step with an input, U x_t, U^T delta_t and delta_t x_t^T (N x N_x
    // x B each); per step t >= 2 also W a_{t-1}, W^T delta_t and delta_t a_{t-1}^T (N x N x B).
    // N = N_x, so every product has the SGEMM shape of the mlp's layers above.
    NetworkSpec r;
    r.arch = Arch::Rnn;
    r.depth = 50; // time steps
    r.width = 256;
    r.inputDim = 256;
    r.batch = 128;
    r.activation = ActivationKind::Tanh;
    r.recurrentInit = RecurrentInit::Scheme;
    r.recurrentScheme = InitScheme::Orthogonal;
    const double rflops =
        2.0 * r.batch * 3.0 *
        (double(r.depth) * r.width * r.inputDim + double(r.depth - 1) * r.width * r.width);
    std::vector<double> rnnTimes, rnnBounds;
    Engine rnnEngine;
    rnnEngine.run(r); // draws and the sequence's inputs cached: the timing is the propagation
    for (int rep = 0; rep < 7; ++rep) {
        const double rate = sgemmRate(r.width, r.batch, threads, 3);
        const auto t0 = Clock::now();
        rnnEngine.run(r);
        rnnTimes.push_back(seconds(t0, Clock::now()));
        rnnBounds.push_back(rflops / (rate * 1e9));
    }
    const double rj = median(rnnTimes), rb = median(rnnBounds);
    std::printf("\nrnn run (50 time steps, N = N_x = 256, batch 128, tanh, orthogonal W):\n");
    std::printf("  %.2f GFLOP of products; SGEMM rate of the same shapes %.1f GFLOP/s\n",
                rflops / 1e9, rflops / rb / 1e9);
    std::printf("  median time %.1f ms, SGEMM bound %.1f ms, ratio %.2f (the statistics of every "
                "step on top)\n",
                rj * 1e3, rb * 1e3, rj / rb);
    return 0;
}

// Training timings (not a pass/fail test): the Fashion-MNIST mlp of issue 12 (depth 4, width
// 256, batch 128, He + ReLU, SGD at 0.05, 300 steps) and its test accuracy on the 10000 t10k
// images. "bare" is the work a PyTorch loop does (tests/bench/torch_train_peer.py: 300 updates
// and one test evaluation); "trainNetwork" adds what the CLI records (the layer statistics of
// steps 0 and 300 on the probe batch and the test accuracy at step 0). The data set is read once
// before the timings, as the peer script does. Prints the median of the repetitions.
//   build/release/tests/bench/bench_train [threads] [repetitions]
// It also prints the job's SGEMM bound: its products' FLOPs at the rate of products of the
// trainer's shapes on the same threads, measured in the same run. (At the machine's peak rate on
// large square products, about 100 GFLOP/s a core here, the same FLOPs take 0.42 s on 2 cores.)
//
// Measured (idle 2-core AMD EPYC Zen 4 VM, medians of 3, back to back with the peer): 2 threads
// 0.60 s (bound 0.45-0.48 s: 1.3x) against torch's 3.44 s at its default threads (0.17x) and
// 0.75-0.80 s at its best (1 intra-op thread, OpenBLAS on 2): 0.76-0.80x; 1 thread each 1.05 s
// against 1.08 s (bound 0.86 s). Half torch's best (0.38-0.40 s) lies below even the peak-rate
// bound: not reachable on this machine.
#include "core/data.h"
#include "core/parallel.h"
#include "network/weights.h"
#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

using namespace initscope;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// FLOPs of the job's matrix products: per step the forward products W a of every layer, the
/// backward products W^T delta of every layer above the first, and dW = delta a^T of every layer;
/// then the forward products of the test evaluation.
double jobFlops(int inputDim, int depth, int width, int classes, int batch, int steps, int test) {
    double layer = 0, above = 0; // sum of fanIn * fanOut: all layers, and all but the first
    int in = inputDim;
    for (int l = 0; l <= depth; ++l) {
        const int out = l < depth ? width : classes;
        layer += double(in) * out;
        if (l > 0)
            above += double(in) * out;
        in = out;
    }
    return 2.0 * batch * steps * (2 * layer + above) + 2.0 * test * layer;
}

/// GFLOP/s of float products of the job's shapes (width x width times width x 64 column blocks,
/// the trainer's chunk), as many in parallel as there are threads. Median of the repetitions.
double sgemmRate(int width, int threads, int reps) {
    const int cols = 64, tasks = 2 * detail::workerCount(threads);
    const MatrixF w = drawStandard(DrawKind::Normal, 1, 1, width, width);
    const MatrixF a = drawStandard(DrawKind::Normal, 1, 2, width, cols * tasks);
    MatrixF h(width, cols * tasks);
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) {
        const int inner = 200;
        const auto t0 = std::chrono::steady_clock::now();
        detail::inArena(threads, [&] {
            for (int i = 0; i < inner; ++i)
                detail::forEachIndex(tasks, [&](int t) {
                    h.middleCols(t * cols, cols).noalias() = w * a.middleCols(t * cols, cols);
                });
        });
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rates.push_back(2.0 * width * width * cols * tasks * inner / sec / 1e9);
    }
    return median(rates);
}

} // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
    const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
    NetworkSpec s;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    s.depth = 4;
    s.width = 256;
    s.batch = 128;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.threads = threads;
    TrainSpec t;
    t.steps = 300;
    t.learningRate = 0.05;

    auto t0 = std::chrono::steady_clock::now();
    loadFashionMnist();
    const double load =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("Fashion-MNIST read and standardisation statistics: %.3f s (once per process)\n",
                load);

    std::vector<double> bare, full, bareCpu;
    double accBare = 0, accFull = 0;
    for (int r = 0; r < reps; ++r) {
        t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        Trainer tr(s, t);
        MatrixF x;
        Targets y;
        TrainParams g;
        for (int step = 0; step < t.steps; ++step) {
            tr.batch(step, x, y);
            tr.lossAndGradients(x, y, &g);
            tr.apply(g);
        }
        accBare = tr.test().accuracy;
        bare.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        bareCpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        const TrainResult res = trainNetwork(s, t);
        full.push_back(res.seconds);
        accFull = res.testAccuracy;
    }
    std::printf("bare loop (300 updates + test):     median %.3f s  (min %.3f, %d runs)  test "
                "accuracy %.4f\n",
                median(bare), *std::min_element(bare.begin(), bare.end()), reps, accBare);
    std::printf("bare loop, CPU time of all threads: median %.3f s  (on a loaded machine the "
                "fairer measure of work)\n",
                median(bareCpu));
    std::printf("trainNetwork (+ 2 probes, 2 tests): median %.3f s  (min %.3f, %d runs)  test "
                "accuracy %.4f\n",
                median(full), *std::min_element(full.begin(), full.end()), reps, accFull);
    const double flops = jobFlops(s.inputDim, s.depth, s.width, 10, s.batch, t.steps, 10000);
    const double rate = sgemmRate(s.width, threads, 5);
    std::printf("SGEMM bound: %.1f GFLOP of products at %.1f GFLOP/s (%d threads) = %.3f s; bare "
                "loop / bound = %.2f\n",
                flops / 1e9, rate, detail::workerCount(threads), flops / (rate * 1e9),
                median(bare) / (flops / (rate * 1e9)));
    return 0;
}

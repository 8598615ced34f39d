// Training timings (not a pass/fail test): the Fashion-MNIST mlp of issue 12 (depth 4, width
// 256, batch 128, He + ReLU, SGD at 0.05, 300 steps) and its test accuracy on the 10000 t10k
// images. "bare" is the work a PyTorch loop does (tests/bench/torch_train_peer.py: 300 updates
// and one test evaluation); "trainNetwork" adds what the CLI records (the layer statistics of
// steps 0 and 300 on the probe batch and the test accuracy at step 0). The data set is read once
// before the timings, as the peer script does. Prints the median of the repetitions.
//   build/release/tests/bench/bench_train [threads] [repetitions]
// Measured (2-core AMD EPYC VM shared with other builds, load 6-9; 4 launches of 2 repetitions,
// alternating with the peer; medians of the launches' medians): 1 thread 3.55 s wall, 1.72 s
// CPU, accuracy 0.8416, against PyTorch 1.13 5.04 s wall, 2.41 s CPU, accuracy 0.8409 (seeds 1,
// 2): 0.70x the wall time, 0.71x the CPU time. 2 threads: 3.97 s against 55.0 s (torch's
// threads spin on shared cores): 0.07x. Half PyTorch's time is not reached: 63% of the CPU time
// is OpenBLAS's sgemm kernel (the one torch calls too, at 85 GFLOP/s), 15% its packing of the
// operands and 4% zeroing the products' outputs; the rest is under 4% each.
#include "core/data.h"
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
    return 0;
}

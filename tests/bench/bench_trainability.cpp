// Trainability map timing (not a pass/fail test), issue 12: 4 depths x 4 gains to depth 100 at
// width 128, 200 SGD steps each (tanh, sigma_b^2 = 0.05, batch 128, Fashion-MNIST, 10000 test
// images per cell), as `initscope-cli trainability --depth-range 25:100:4 --sigma-w2-range 1:4:4
// --steps 200 --width 128 --sigma-b2 0.05` computes it. Prints every cell's time, the map's
// total, the median over the repetitions and the cost model's estimate.
//   build/release/tests/bench/bench_trainability [threads] [repetitions]
#include "core/data.h"
#include "train/trainability.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace initscope;

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 0;
    const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
    NetworkSpec s;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    s.width = 128;
    s.batch = 128;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.threads = threads;
    TrainSpec t;
    t.steps = 200;
    TrainabilityGrid g;
    g.depth = {25, 100, 4};
    g.sigmaW2 = {1, 4, 4};
    loadFashionMnist(); // read once, as every later map in a process finds it cached
    std::printf("estimate (cost model): %.1f s\n", estimateTrainabilitySeconds(s, t, g));
    std::vector<double> totals;
    for (int r = 0; r < reps; ++r) {
        const TrainabilityMap m = computeTrainabilityMap(s, t, g);
        for (const TrainabilityCell& c : m.cells)
            std::printf("  depth %3d  sigma_w2 %.2f  %6.2f s  test accuracy %.4f\n", c.depth,
                        c.sigmaW2, c.seconds, c.testAccuracy);
        std::printf("map %d: %.1f s\n", r + 1, m.seconds);
        totals.push_back(m.seconds);
    }
    std::sort(totals.begin(), totals.end());
    std::printf("median of %d: %.1f s\n", reps, totals[totals.size() / 2]);
    return 0;
}

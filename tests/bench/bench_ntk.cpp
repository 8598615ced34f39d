// NTK, Jacobian and phase-diagram timings (not a pass/fail test). The target: the NTK of
// depth 50, width 512, K = 64 (with the condition number at every depth and the analytic kernel)
// in under one second on 2 cores. Prints the median of the repetitions.
//   build/release/tests/bench/bench_ntk [threads] [repetitions]
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "theory/meanfield.h"
#include "theory/phase.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

using namespace initscope;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void report(const char* name, int reps, const std::function<double()>& f) {
    std::vector<double> t;
    for (int i = 0; i < reps; ++i)
        t.push_back(f());
    std::printf("%-58s median %.3f s  (min %.3f, max %.3f, %d runs)\n", name, median(t),
                *std::min_element(t.begin(), t.end()), *std::max_element(t.begin(), t.end()), reps);
}

double seconds(const std::function<void()>& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
    const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 7;
    NetworkSpec s;
    s.depth = 50;
    s.width = 512;
    s.inputDim = 512;
    s.batch = 128;
    s.activation = ActivationKind::Tanh;
    s.gain = 1.5;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.threads = threads;
    std::printf("threads %d\n", threads);

    NtkOptions o;
    o.inputs = 64;
    double cond = 0;
    report("ntk L50 N512 K64, by depth + analytic (the target)", reps,
           [&] { return seconds([&] { cond = computeNtk(s, o).empirical.condition; }); });
    o.byDepth = false;
    report("ntk L50 N512 K64, full depth only + analytic", reps,
           [&] { return seconds([&] { computeNtk(s, o); }); });
    o.analytic = false;
    report("ntk L50 N512 K64, empirical full depth only (sweeps)", reps,
           [&] { return seconds([&] { computeNtk(s, o); }); });
    std::printf("(condition %.4g)\n", cond);

    NetworkSpec j = s;
    j.width = 256;
    j.inputDim = 256;
    report("jacobian L50 N256 K4", std::max(1, reps / 2),
           [&] { return seconds([&] { computeJacobian(j, 4); }); });

    report("phase tanh 40 x 20 grid", 1, [&] {
        return seconds([&] {
            computePhaseDiagram(Activation(ActivationKind::Tanh), {0.1, 4.0, 40}, {0.0, 0.5, 20},
                                {}, nullptr, threads);
        });
    });
    report("meanfield::fixedPoint tanh x 100 (serial)", 1, [&] {
        return seconds([&] {
            for (int i = 0; i < 100; ++i)
                meanfield::fixedPoint(Activation(ActivationKind::Tanh), 0.5 + 0.03 * i, 0.05);
        });
    });
    report("meanfield::criticalSigmaW2 tanh x 10 (serial)", 1, [&] {
        return seconds([&] {
            for (int i = 0; i < 10; ++i)
                meanfield::criticalSigmaW2(Activation(ActivationKind::Tanh), 0.05 * i);
        });
    });
    return 0;
}

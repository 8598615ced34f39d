// Seed ensembles: each run is the single run of its seed, bands contain the mean and are
// deterministic, and the scalar summaries for sweeps mean what their names say.
#include "analysis/ensemble.h"
#include "core/parallel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

using namespace initscope;

namespace {

NetworkSpec spec() {
    NetworkSpec s;
    s.depth = 8;
    s.width = 64;
    s.inputDim = 32;
    s.batch = 16;
    s.activation = ActivationKind::Tanh;
    s.gain = 1.5;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.seed = 7;
    return s;
}

} // namespace

TEST(Ensemble, EachRunIsTheSingleRunOfItsSeed) {
    Engine engine;
    int calls = 0;
    const EnsembleResult e =
        runEnsemble(engine, spec(), 4, [&](const RunResult&, int) { ++calls; });
    EXPECT_EQ(calls, 4);
    ASSERT_EQ(e.runs.size(), 4u);
    NetworkSpec s = spec();
    s.seed = 9;
    Engine other;
    const RunResult single = other.run(s);
    EXPECT_EQ(e.runs[2].spec.seed, 9u);
    for (std::size_t l = 0; l < single.layers.size(); ++l) {
        EXPECT_EQ(e.runs[2].layers[l].q, single.layers[l].q);
        EXPECT_EQ(e.runs[2].layers[l].gradH2, single.layers[l].gradH2);
    }
}

TEST(Ensemble, BandsContainTheMeanAndAreDeterministic) {
    Engine engine;
    NetworkSpec s = spec();
    s.threads = 1;
    const EnsembleResult a = runEnsemble(engine, s, 8);
    s.threads = 2;
    Engine fresh;
    const EnsembleResult b = runEnsemble(fresh, s, 8);
    for (const std::string& name : layerStatisticNames()) {
        const LayerBand ba = layerBand(a.runs, name), bb = layerBand(b.runs, name);
        ASSERT_EQ(ba.mean.size(), 8u);
        EXPECT_EQ(ba.mean, bb.mean) << name;
        EXPECT_EQ(ba.q10, bb.q10) << name;
        EXPECT_EQ(ba.q90, bb.q90) << name;
        for (std::size_t l = 0; l < 8; ++l) {
            if (ba.finite[l] == 0)
                continue;
            EXPECT_LE(ba.min[l], ba.q10[l]) << name;
            EXPECT_LE(ba.q10[l], ba.q90[l]) << name;
            EXPECT_LE(ba.q90[l], ba.max[l]) << name;
            EXPECT_LE(ba.min[l], ba.mean[l]) << name;
            EXPECT_LE(ba.mean[l], ba.max[l]) << name;
        }
    }
    // finite-width fluctuations: the seeds give different q at the last layer
    const LayerBand q = layerBand(a.runs, "q");
    EXPECT_LT(q.min.back(), q.max.back());
    EXPECT_THROW(layerBand(a.runs, "nonsense"), std::invalid_argument);
}

TEST(Ensemble, QuantilesInterpolateOrderStatistics) {
    std::vector<RunResult> runs(11);
    for (int i = 0; i < 11; ++i) {
        runs[static_cast<std::size_t>(i)].layers.resize(1);
        runs[static_cast<std::size_t>(i)].layers[0].q = 10.0 - i; // 0..10 in reverse
    }
    runs[3].layers[0].q = kNaN; // dropped: 10 finite values 0..10 without 7
    const LayerBand b = layerBand(runs, "q");
    EXPECT_EQ(b.finite[0], 10);
    EXPECT_DOUBLE_EQ(b.min[0], 0.0);
    EXPECT_DOUBLE_EQ(b.max[0], 10.0);
    // sorted 0 1 2 3 4 5 6 8 9 10; type 7: h = 9 p -> q10 at 0.9 = 0.9, q90 at 8.1 = 9.1
    EXPECT_DOUBLE_EQ(b.q10[0], 0.9);
    EXPECT_NEAR(b.q90[0], 9.1, 1e-12);
    EXPECT_DOUBLE_EQ(b.mean[0], 48.0 / 10);
}

TEST(Ensemble, ScalarStatistics) {
    Engine engine;
    const RunResult r = engine.run(spec());
    EXPECT_DOUBLE_EQ(scalarStatistic(r, "last_q"), r.layers.back().q);
    EXPECT_DOUBLE_EQ(scalarStatistic(r, "grad_ratio"),
                     r.layers.front().gradH2 / r.layers.back().gradH2);
    EXPECT_DOUBLE_EQ(scalarStatistic(r, "input_grad2"), r.inputGrad2);
    EXPECT_DOUBLE_EQ(scalarStatistic(r, "first_nonfinite_layer"), 0.0);
    for (const std::string& n : scalarStatisticNames())
        EXPECT_NO_THROW(scalarStatistic(r, n)) << n;
    EXPECT_THROW(scalarStatistic(r, "bogus"), std::invalid_argument);
    Engine e2;
    EXPECT_THROW(runEnsemble(e2, spec(), 0), SpecInvalid);
}

TEST(Ensemble, CancelledBeforeStartRunsNothing) {
    Engine engine;
    std::atomic<bool> cancel{true};
    const EnsembleResult e = runEnsemble(engine, spec(), 4, {}, &cancel);
    EXPECT_TRUE(e.cancelled);
    EXPECT_TRUE(e.runs.empty());
}

// The ensemble as a whole fits its memory budget: it runs at most as many seeds at once as the
// budget holds (one per core used to be the rule, whatever the budget), counts the draws the
// cache may keep for the other seeds, and refuses, naming the whole, when even one run does not
// fit. Exact: integer arithmetic on the estimates.
TEST(Ensemble, RunsAtOnceFitTheMemoryBudget) {
    NetworkSpec s = spec();
    s.depth = 40;
    s.width = 256;
    s.batch = 512;
    s.threads = 8;
    const double perRun = static_cast<double>(estimateMemoryBytes(s)) / (1024.0 * 1024 * 1024);
    s.memoryBudgetGiB = 2.5 * perRun; // one run and the draws of the other five, not two runs
    EnsemblePlan p = planEnsemble(s, 6);
    EXPECT_EQ(p.concurrent, 1);
    EXPECT_LE(static_cast<double>(p.totalBytes), s.memoryBudgetGiB * 1024 * 1024 * 1024);
    EXPECT_EQ(p.totalBytes, p.bytesPerRun + p.cachedBytes);
    s.memoryBudgetGiB = 100 * perRun;
    p = planEnsemble(s, 6);
    EXPECT_EQ(p.concurrent, std::min(6, detail::workerCount(8)));
    EXPECT_LE(static_cast<double>(p.totalBytes), s.memoryBudgetGiB * 1024 * 1024 * 1024);
    s.memoryBudgetGiB = 1.01 * perRun; // one run fits, but not with the other seeds' draws
    const std::vector<SpecError> errors = validateEnsemble(s, 200);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "memory_budget_gib");
    EXPECT_NE(errors[0].message.find("the ensemble needs about"), std::string::npos)
        << errors[0].message;
    EXPECT_THROW(runEnsemble(*std::make_unique<Engine>(), s, 200), SpecInvalid);
}

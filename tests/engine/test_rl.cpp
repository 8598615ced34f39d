// The RL experiment's mechanics (engine/apps/rl.h): the readout bias sets the initial Q mean
// (exactly with zero readout weights; within the theory's sd otherwise), the spread follows the
// readout weights' scale (exactly sqrt(gain) between the shared draws; the variance's expectation
// given the trunk features), the masked TD update touches only the taken action's readout row, and
// results are identical whatever the thread count.
#include "apps/rl.h"

#include "network/engine.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace initscope;

namespace {

RlSpec shortRl(int episodes = 200) {
    RlSpec r;
    r.episodes = episodes;
    r.recordEvery = 10;
    return r;
}

TrainSpec qTrainSpec(const RlSpec& rl) {
    TrainSpec t;
    t.task = TrainTask::Teacher;
    t.outputs = rl.actions;
    t.learningRate = rl.learningRate;
    return t;
}

} // namespace

TEST(Rl, EnvironmentIsSeededAndRewardsInUnitInterval) {
    const NetworkSpec spec = rlDefaultSpec();
    const RlSpec rl = shortRl();
    const RlEnvironment a = RlEnvironment::make(spec, rl), b = RlEnvironment::make(spec, rl);
    ASSERT_EQ(a.states.cols(), rl.states);
    EXPECT_TRUE(a.states == b.states);
    EXPECT_EQ(a.mu, b.mu);
    for (int s = 0; s < rl.states; ++s) {
        for (double m : a.mu[static_cast<std::size_t>(s)]) {
            EXPECT_GT(m, 0.0);
            EXPECT_LT(m, 1.0);
        }
        EXPECT_EQ(a.stateAt(s, spec.seed), b.stateAt(s, spec.seed));
    }
    NetworkSpec other = spec;
    other.seed = 2;
    EXPECT_FALSE(RlEnvironment::make(other, rl).mu == a.mu);
}

// With the readout weights zero, every Q-value is the bias itself (to the float): the bias alone
// sets the initial mean, with no spread.
TEST(Rl, ZeroReadoutWeightsGiveTheBiasExactly) {
    const NetworkSpec spec = rlDefaultSpec();
    const RlSpec rl = shortRl();
    Trainer t(spec, qTrainSpec(rl));
    setQInit(t.params(), 0.7, 0.0);
    const RlEnvironment env = RlEnvironment::make(spec, rl);
    const Activation act(spec.activation, spec.activationSlope);
    const RlInitResult r = initialQ(act, t.params(), env, 0.7, 0.0);
    ASSERT_EQ(r.q0.size(), static_cast<std::size_t>(rl.states * rl.actions));
    for (double q : r.q0)
        EXPECT_EQ(q, static_cast<double>(0.7f));
    EXPECT_EQ(r.qStd, 0.0);
    EXPECT_EQ(r.qMeanSd, 0.0);
}

// The three inits share the draws: "optimistic" is "zero" shifted by Q_opt (float rounding of one
// addition: 1e-6), "optimistic-large" is "optimistic" with Q - Q_opt times sqrt(large_gain)
// (relative 1e-4: float products). Each mean is within 4 theory sd of its bias.
TEST(Rl, BiasSetsTheMeanAndWeightsTheSpread) {
    const NetworkSpec spec = rlDefaultSpec();
    RlSpec rl = shortRl(1);
    rl.qOpt = 1.0;
    rl.largeGain = 100.0;
    const RlResult r = runRl(spec, rl);
    ASSERT_EQ(r.inits.size(), 3u);
    const auto& z = r.inits[0];
    const auto& o = r.inits[1];
    const auto& l = r.inits[2];
    for (std::size_t i = 0; i < z.q0.size(); ++i) {
        EXPECT_NEAR(o.q0[i] - z.q0[i], rl.qOpt, 1e-6);
        EXPECT_NEAR(l.q0[i] - rl.qOpt, 10.0 * (o.q0[i] - rl.qOpt),
                    1e-4 * std::abs(10.0 * (o.q0[i] - rl.qOpt)) + 1e-5);
    }
    EXPECT_NEAR(l.qStd / o.qStd, 10.0, 1e-4);
    EXPECT_NEAR(o.qStd, z.qStd, 1e-6);
    for (const auto* x : {&z, &o, &l}) {
        EXPECT_LE(std::abs(x->qMean - x->bias), 4.0 * x->qMeanSd) << qInitName(x->init);
        EXPECT_GT(x->qMeanSd, 0.0);
    }
    EXPECT_NEAR(l.qStdTheory / o.qStdTheory, 10.0, 1e-9);
}

// The pooled variance against its expectation given the trunk features, v (mean ||a||^2 -
// ||abar||^2 / K), over 24 seeds: each seed's ratio is a sum over K = 8 independent readout rows
// of Gaussian quadratic forms (relative sd ~ sqrt(2 / (K r_eff)) ~ 0.1 measured), so the mean
// of 24 ratios is within 0.1 of 1 (about 4.5 of its sd).
TEST(Rl, SpreadMatchesItsTheoryOverSeeds) {
    NetworkSpec spec = rlDefaultSpec();
    RlSpec rl = shortRl(1);
    const Activation act(spec.activation, spec.activationSlope);
    double sum = 0;
    const int n = 24;
    for (int seed = 1; seed <= n; ++seed) {
        spec.seed = static_cast<std::uint64_t>(seed);
        Trainer t(spec, qTrainSpec(rl));
        setQInit(t.params(), rl.qOpt, 1.0);
        const RlEnvironment env = RlEnvironment::make(spec, rl);
        const RlInitResult r =
            initialQ(act, t.params(), env, rl.qOpt, qReadoutVariance(spec, rl.actions));
        sum += (r.qStd * r.qStd) / (r.qStdTheory * r.qStdTheory);
    }
    EXPECT_NEAR(sum / n, 1.0, 0.1);
}

// The TD update of one (state, action): the other actions are their own targets, so the
// readout's gradient is zero in every other row (exactly: qValues is the trainer's forward to
// the bit) and the loss is 0.5 (Q(s, a) - r)^2.
TEST(Rl, MaskedUpdateTouchesOnlyTheTakenAction) {
    const NetworkSpec spec = rlDefaultSpec();
    const RlSpec rl = shortRl();
    Trainer t(spec, qTrainSpec(rl));
    setQInit(t.params(), 1.0, 1.0);
    const RlEnvironment env = RlEnvironment::make(spec, rl);
    const Activation act(spec.activation, spec.activationSlope);
    const MatrixF x = env.states.col(3);
    const MatrixF q = qValues(act, t.params(), x);
    Targets y;
    y.values = q;
    const int a = 5;
    y.values(a, 0) = 0.0f;
    TrainParams g;
    const auto ev = t.lossAndGradients(x, y, &g);
    EXPECT_NEAR(ev.loss, 0.5 * q(a, 0) * q(a, 0), 1e-6);
    const DenseLayer& ro = g.outputs[0].back();
    for (int k = 0; k < rl.actions; ++k) {
        if (k == a)
            continue;
        EXPECT_EQ(ro.b(k, 0), 0.0f);
        EXPECT_EQ(ro.w.row(k).cwiseAbs().maxCoeff(), 0.0f);
    }
    EXPECT_NEAR(ro.b(a, 0), q(a, 0), 1e-6);
    // an SGD step lowers the taken action's Q towards its target
    t.apply(g);
    const MatrixF q2 = qValues(act, t.params(), x);
    EXPECT_LT(q2(a, 0), q(a, 0));
}

TEST(Rl, CurvesAreConsistent) {
    const NetworkSpec spec = rlDefaultSpec();
    const RlSpec rl = shortRl(300);
    const RlResult r = runRl(spec, rl);
    ASSERT_EQ(r.inits.size(), 3u);
    ASSERT_EQ(r.steps.front(), 0);
    ASSERT_EQ(r.steps.back(), rl.episodes);
    for (const auto& i : r.inits) {
        ASSERT_EQ(i.regret.size(), r.steps.size());
        ASSERT_EQ(i.actionsTried.size(), r.steps.size());
        EXPECT_EQ(i.regret.front(), 0.0);
        EXPECT_EQ(i.actionsTried.front(), 0.0);
        for (std::size_t k = 1; k < r.steps.size(); ++k) {
            EXPECT_GE(i.regret[k], i.regret[k - 1]);
            EXPECT_GE(i.actionsTried[k], i.actionsTried[k - 1]);
            EXPECT_LE(i.actionsTried[k], rl.actions);
            // regret per episode is at most 1 (rewards' means in (0, 1))
            EXPECT_LE(i.regret[k], r.steps[k]);
        }
        EXPECT_GT(i.actionsTried.back(), 0.99); // every state was visited at least once
    }
}

TEST(Rl, DeterministicAcrossThreadCounts) {
    NetworkSpec spec = rlDefaultSpec();
    const RlSpec rl = shortRl(150);
    spec.threads = 1;
    nlohmann::json a = rlResultToJson(runRl(spec, rl));
    spec.threads = 2;
    nlohmann::json b = rlResultToJson(runRl(spec, rl));
    a.erase("seconds");
    b.erase("seconds");
    a["spec"].erase("threads");
    b["spec"].erase("threads");
    EXPECT_EQ(a, b);
}

TEST(Rl, CancelStops) {
    const std::atomic<bool> cancel{true};
    const RlResult r = runRl(rlDefaultSpec(), shortRl(), nullptr, &cancel);
    EXPECT_TRUE(r.cancelled);
    EXPECT_TRUE(r.inits.empty());
}

TEST(Rl, InvalidSettingsNameTheirField) {
    RlSpec rl;
    rl.actions = 1;
    rl.episodes = 0;
    const auto e = validateRl(rlDefaultSpec(), rl);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].field, "episodes");
    EXPECT_EQ(e[1].field, "actions");
    NetworkSpec cnn = rlDefaultSpec();
    cnn.arch = Arch::Cnn;
    const auto f = validateRl(cnn, RlSpec{});
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].field, "arch");
    EXPECT_THROW(runRl(cnn, RlSpec{}), SpecInvalid);
    NetworkSpec headed = rlDefaultSpec();
    headed.heads.push_back({"a", {8}});
    const auto g = validateRl(headed, RlSpec{});
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].field, "heads");
}

// What was measured (README, the rl-optimistic-init preset): over 5000 episodes of the default
// bandit, optimism with Xavier weights tries more actions per state and has less regret than the
// zero bias, and the large-weight optimism has the most regret (seeds 1-6 measured: every one).
// Three seeds here keep the test short.
TEST(Rl, OptimismWithSmallWeightsExploresMoreAndRegretsLess) {
    NetworkSpec spec = rlDefaultSpec();
    RlSpec rl;
    rl.episodes = 5000;
    rl.recordEvery = 5000;
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
        spec.seed = seed;
        const RlResult r = runRl(spec, rl);
        ASSERT_EQ(r.inits.size(), 3u);
        const auto& z = r.inits[0];
        const auto& o = r.inits[1];
        const auto& l = r.inits[2];
        EXPECT_GT(o.actionsTried.back(), z.actionsTried.back() + 1.0) << seed;
        EXPECT_LT(o.regret.back(), z.regret.back()) << seed;
        EXPECT_GT(l.regret.back(), 2.0 * o.regret.back()) << seed;
        EXPECT_GT(l.regret.back(), z.regret.back()) << seed;
    }
}

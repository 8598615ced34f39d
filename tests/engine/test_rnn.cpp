// Elman RNNs (THEORY.md, RNN; scenario 8): h_t = W a_{t-1} + U x_t + b with tied weights over
// T time steps, measured on real networks against the family theory (rnnTheory: q_t, c_t and the
// gradient's per-step rate back in time), plus the exact cases (orthogonal or identity W of a
// linear network keeps every length), the input schedules, thread-count determinism and the
// field rules of the family.
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "network/engine.h"
#include "network/network.h"
#include "spec/fields.h"
#include "stats/report.h"
#include "theory/familytheory.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace initscope;

namespace {

NetworkSpec rnn(int T = 20, double gain = 1.0) {
    NetworkSpec s;
    s.arch = Arch::Rnn;
    s.depth = T;
    s.width = 512;
    s.inputDim = 128;
    s.batch = 128;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::LecunNormal;
    s.gain = gain;
    s.seed = 11;
    return s;
}

RunResult runSpec(const NetworkSpec& s) {
    Engine e;
    return e.run(s);
}

bool hasError(const std::vector<SpecError>& errors, const std::string& field,
              const std::string& text) {
    for (const SpecError& e : errors)
        if (e.field == field && e.message.find(text) != std::string::npos)
            return true;
    return false;
}

} // namespace

// The stacked [W U] has fanIn N + N_x: lecun gives Var = gain / (N + N_x), so sigma_w^2 =
// gain N / (N + N_x) and sigma_u^2 = gain N_x / (N + N_x) (rnnStackedSigmas), and the network's
// parameters are exactly that: one stacked N x (N + N_x) weight and one bias, shared by T stages.
TEST(Rnn, NetworkIsOneStackedCellTiedOverTimeSteps) {
    const NetworkSpec s = rnn(7, 2.0);
    const Network net = buildNetwork(s);
    ASSERT_EQ(net.stages.size(), 7u);
    ASSERT_EQ(net.params.size(), 2u);
    EXPECT_EQ(net.plan.axis, "time step");
    const Param& wu = net.params[0];
    EXPECT_EQ(wu.rows, 512);
    EXPECT_EQ(wu.cols, 640);
    EXPECT_EQ(wu.fanIn, 640);
    EXPECT_DOUBLE_EQ(wu.scale * wu.scale, 2.0 / 640);
    for (int t = 1; t <= 7; ++t) {
        const auto& st = std::get<RecurrentStage>(net.stages[static_cast<std::size_t>(t) - 1]);
        EXPECT_EQ(st.step, t);
        EXPECT_EQ(st.stacked, 0);
        EXPECT_EQ(st.recurrent, -1);
        EXPECT_TRUE(st.hasInput);
    }
    const auto sig = meanfield::rnnStackedSigmas(rnnStackedVariance(s), 512, 128);
    EXPECT_DOUBLE_EQ(effectiveSigmaW2(s, 3), sig.sigmaW2);
    EXPECT_DOUBLE_EQ(sig.sigmaW2, 2.0 * 512 / 640);
    // recurrent_init adds W of its own (fanIn N) and keeps U: the stacked parameter is unchanged
    NetworkSpec o = s;
    o.recurrentInit = RecurrentInit::Scheme;
    o.recurrentScheme = InitScheme::Orthogonal;
    const Network on = buildNetwork(o);
    ASSERT_EQ(on.params.size(), 3u);
    EXPECT_EQ(on.params[0].key.tie(), wu.key.tie());
    EXPECT_EQ(on.params[0].scale, wu.scale);
    EXPECT_EQ(on.params[1].rows, 512);
    EXPECT_EQ(on.params[1].cols, 512);
    EXPECT_DOUBLE_EQ(on.params[1].sigmaW2, 2.0); // orthogonal N x N: Var = gain / N
    EXPECT_DOUBLE_EQ(effectiveSigmaW2(o, 1), 2.0);
}

// q_t per step against rnnTheory, every step an input: tanh at sigma_w^2 = 1.6 (chaotic side,
// so the length settles at q* > 0 from the input's q_1). Tolerance: q_t averages N B = 65536
// squares, but W and U are shared by every input, so what fluctuates is the cell's finite width:
// the relative spread of a length over N units is about sqrt(2 / N) = 0.06 per unit-average of
// one input, and the mean over B inputs of one network keeps a part of order 1/sqrt(N) ~ 0.044
// (the same row norms of W and U for all inputs). A bound of 0.1 is over 2 sd of that and far
// below what a wrong fan (N_x or N instead of N + N_x: 25% or 400% off) would give.
TEST(Rnn, LengthPerStepFollowsTheory) {
    NetworkSpec s = rnn(20, 2.0);
    const RunResult r = runSpec(s);
    ASSERT_EQ(r.firstNonfiniteLayer, 0);
    ASSERT_EQ(r.layers.size(), 20u);
    ASSERT_EQ(r.theory.q.size(), 20u);
    EXPECT_TRUE(r.theory.applicable);
    for (std::size_t t = 0; t < 20; ++t) {
        EXPECT_EQ(r.layers[t].index, static_cast<int>(t) + 1);
        EXPECT_NEAR(r.layers[t].q / r.theory.q[t], 1.0, 0.1) << "step " << t + 1;
    }
    // and the theory is rnnTheory's at the cell's sigmas and the measured input moments
    const auto sig = meanfield::rnnStackedSigmas(rnnStackedVariance(s), s.width, s.inputDim);
    const auto th = meanfield::rnnTheory(Activation(ActivationKind::Tanh), sig.sigmaW2, sig.sigmaU2,
                                         0.0, r.theory.q0, r.theory.c0, 20, true, s.width);
    for (std::size_t t = 0; t < 20; ++t)
        EXPECT_DOUBLE_EQ(r.theory.q[t], th.q[t]);
    // x ~ N(0, 1): the mean of N_x B = 16384 squares has sd sqrt(2 / 16384) = 0.011; 4 sd
    EXPECT_NEAR(r.theory.q0, 1.0, 0.045);
}

// Gradient vs steps back in time: ordered tanh (sigma_w^2 = 0.5) shrinks E||delta_t||^2 by
// sigma_w^2 E[phi'^2] per step going back, chaotic (sigma_w^2 = 4) grows it. Over 15 steps the
// measured log rate is compared with the theory's: each step's ratio of two batch means of
// ||delta||^2 over N = 512 units fluctuates by about sqrt(2 / N) ~ 0.06 in log, partly common to
// neighbouring steps; 0.15 per step on average over 14 ratios is a loose bound, far from the
// gap between the two phases (log 0.4 vs log 1.5 per step).
TEST(Rnn, GradientRateBackInTimeOrderedAndChaotic) {
    for (double sw2 : {0.5, 4.0}) {
        NetworkSpec s = rnn(15);
        s.gain = sw2 * (s.width + s.inputDim) / s.width; // sigma_w^2 of the recurrent W
        const RunResult r = runSpec(s);
        ASSERT_EQ(r.firstNonfiniteLayer, 0) << sw2;
        EXPECT_NEAR(r.layers.front().sigmaW2, sw2, 1e-12);
        double measured = 0, theory = 0;
        for (std::size_t t = 0; t + 1 < 15; ++t) {
            const double ratio = r.layers[t].gradH2 / r.layers[t + 1].gradH2;
            EXPECT_NEAR(std::log(ratio / r.theory.gradRatio[t]), 0.0, 0.3)
                << "sigma_w2 " << sw2 << " step " << t + 1;
            measured += std::log(ratio);
            theory += std::log(r.theory.gradRatio[t]);
        }
        EXPECT_NEAR(measured / 14, theory / 14, 0.15) << sw2;
        // 14 steps back: ordered 0.5 E[phi'^2] < 0.5 per step shrinks it below 0.5^14 = 6e-5;
        // chaotic tanh with inputs every step settles at chi1 = 1.09 (q* = 3.5, measured: 7.7x
        // over the 14 steps)
        if (sw2 < 1) {
            EXPECT_LT(r.layers.front().gradH2, 1e-3 * r.layers.back().gradH2);
        } else {
            EXPECT_GT(r.layers.front().gradH2, 3 * r.layers.back().gradH2);
            EXPECT_GT(r.theory.chi1, 1.0);
            EXPECT_EQ(r.theory.phase, "chaotic");
        }
        // E||dLoss/dx_t||^2 = sigma_u^2 E||delta_t||^2: the input gradient k steps back follows
        // the same rate (its own U^T product over N_x = 128 outputs: sqrt(2 / N_x) = 0.125 in log
        // per step, 3 sd 0.4)
        ASSERT_EQ(r.theory.inputGrad2.size(), 15u);
        for (std::size_t t = 0; t < 15; ++t)
            EXPECT_NEAR(std::log(r.layers[t].inputGrad2 / r.theory.inputGrad2[t]), 0.0, 0.4)
                << "sigma_w2 " << sw2 << " step " << t + 1;
        double sum = 0;
        for (const LayerStats& st : r.layers)
            sum += st.inputGrad2;
        EXPECT_NEAR(r.inputGrad2 / sum, 1.0, 1e-12) << "the sequence's input gradient";
    }
}

// Orthogonal (or identity) recurrent W of a linear network without biases, input at t = 1
// only: h_t = W^{t-1} U x_1, an isometry applied t - 1 times, so every length is q_1's and
// every delta_t has delta_T's norm, up to float rounding (relative 1e-4 over 30 steps of
// 512-term sums). Identity with gain 1 is exact to the bit: W a = a in float.
TEST(Rnn, OrthogonalAndIdentityRecurrentWeightsKeepLengths) {
    for (RecurrentInit ri : {RecurrentInit::Scheme, RecurrentInit::Identity}) {
        NetworkSpec s = rnn(30);
        s.activation = ActivationKind::Linear;
        s.recurrentInit = ri;
        s.recurrentScheme = InitScheme::Orthogonal;
        s.rnnInput = RnnInput::FirstStep;
        const RunResult r = runSpec(s);
        ASSERT_EQ(r.firstNonfiniteLayer, 0);
        for (const LayerStats& st : r.layers) {
            if (ri == RecurrentInit::Identity) {
                EXPECT_EQ(st.q, r.layers.front().q) << st.index;
                EXPECT_EQ(st.gradH2, r.layers.front().gradH2) << st.index;
            } else {
                EXPECT_NEAR(st.q / r.layers.front().q, 1.0, 1e-4) << st.index;
                EXPECT_NEAR(st.gradH2 / r.layers.front().gradH2, 1.0, 1e-4) << st.index;
            }
            EXPECT_NEAR(st.sigmaW2, 1.0, 1e-12);
            if (st.index > 1) {
                EXPECT_TRUE(std::isnan(st.inputGrad2)) << "no input at step " << st.index;
            }
        }
        // the theory: sigma_w^2 = 1, linear: q_t = q_1 and every gradient ratio 1
        for (std::size_t t = 0; t < 30; ++t)
            EXPECT_NEAR(r.theory.q[t] / r.theory.q[0], 1.0, 1e-12);
        EXPECT_EQ(r.inputGrad2, r.layers.front().inputGrad2);
    }
}

// first-step vs every-step: the first step is the same computation (the same x_1, W, U, b), so
// its statistics agree to the bit; after it, ordered tanh without further inputs forgets: q_t
// decays to 0 as the theory says (sigma_w^2 = 0.8 < 1, the length map's only fixed point is 0),
// while inputs at every step hold it at q* = sigma_w^2 E[tanh^2] + sigma_u^2 q_x > 0.
TEST(Rnn, FirstStepInputIsForgottenEveryStepInputIsNot) {
    NetworkSpec every = rnn(25);
    every.gain = 0.8 * (every.width + every.inputDim) / every.width;
    NetworkSpec first = every;
    first.rnnInput = RnnInput::FirstStep;
    const RunResult re = runSpec(every), rf = runSpec(first);
    EXPECT_EQ(re.layers.front().q, rf.layers.front().q);
    EXPECT_EQ(re.layers.front().correlation, rf.layers.front().correlation);
    EXPECT_LT(rf.layers.back().q, 0.02 * rf.layers.front().q);
    EXPECT_GT(re.layers.back().q, 0.3 * re.layers.front().q);
    // measured against theory: with an input at every step as LengthPerStepFollowsTheory (0.1).
    // Without inputs, h_t = W^{t-1} h_1 at small q (tanh ~ linear): one tied W applied t - 1
    // times, whose length after k steps follows W's own spectral edge (|lambda|_max =
    // sqrt(sigma_w^2) (1 + O(N^-1/2))), not the mean over W the theory gives: the relative
    // excess grows like k / sqrt(N) in log (measured here: 1.08 at t = 10, 1.73 at t = 25; other
    // seeds of a 256-wide linear rnn: 0.6..3.7 at t = 25). So the first-step run is compared
    // where k / sqrt(N) <= 0.4 (t <= 10), within 0.15.
    for (std::size_t t = 0; t < 25; ++t) {
        EXPECT_NEAR(re.layers[t].q / re.theory.q[t], 1.0, 0.1) << "every-step, step " << t + 1;
        if (t < 10) {
            EXPECT_NEAR(rf.layers[t].q / rf.theory.q[t], 1.0, 0.15) << "first-step, step " << t + 1;
        }
    }
    EXPECT_TRUE(std::isfinite(re.theory.qStar));
    EXPECT_GT(re.theory.qStar, 0.1);
    EXPECT_LT(rf.theory.qStar, 1e-6);
    // with the input at t = 1 only, only step 1 has an input gradient (measured and theory)
    EXPECT_TRUE(std::isfinite(rf.layers.front().inputGrad2));
    EXPECT_TRUE(std::isnan(rf.theory.inputGrad2.back()));
    EXPECT_EQ(rf.inputGrad2, rf.layers.front().inputGrad2);
}

// The same spec on 1 and 2 threads: every statistic bit-identical (the column chunks are fixed
// at 64 inputs whatever the thread count; 200 inputs make 4 chunks, uneven).
TEST(Rnn, DeterministicAcrossThreadCounts) {
    NetworkSpec s = rnn(12, 1.7);
    s.batch = 200;
    s.width = 96;
    s.inputDim = 40;
    s.sigmaB2 = 0.05;
    s.biasInit = BiasInit::Normal;
    s.loss = Loss::Mse;
    s.threads = 1;
    const RunResult one = runSpec(s);
    s.threads = 2;
    const RunResult two = runSpec(s);
    const std::string a = resultToJson(one, true).dump(), b = resultToJson(two, true).dump();
    const auto strip = [](std::string j) { return j.substr(0, j.find("\"seconds\"")); };
    EXPECT_EQ(strip(a), strip(b));
    EXPECT_EQ(one.layers.size(), 12u);
    for (std::size_t t = 0; t < 12; ++t) {
        EXPECT_EQ(one.layers[t].q, two.layers[t].q);
        EXPECT_EQ(one.layers[t].gradH2, two.layers[t].gradH2);
        EXPECT_EQ(one.layers[t].gradW2, two.layers[t].gradW2);
        EXPECT_EQ(one.layers[t].inputGrad2, two.layers[t].inputGrad2);
    }
}

// The run JSON says what a stage is and carries the per-step input gradient, measured and
// predicted; an mlp's JSON has neither key.
TEST(Rnn, RunJsonNamesTheTimeStep) {
    NetworkSpec s = rnn(5);
    s.width = 64;
    s.inputDim = 16;
    s.batch = 32;
    const auto j = resultToJson(runSpec(s), false);
    EXPECT_EQ(j["arch"], "rnn");
    EXPECT_EQ(j["stage"], "time step");
    ASSERT_EQ(j["layers"].size(), 5u);
    for (const auto& l : j["layers"])
        EXPECT_TRUE(l["input_grad2"].is_number());
    EXPECT_EQ(j["theory"]["input_grad2"].size(), 5u);
    EXPECT_EQ(j["spec"]["arch"], "rnn");
    EXPECT_FALSE(j["spec"].contains("recurrent_init")); // defaults are not written
    NetworkSpec mlp;
    mlp.depth = 3;
    mlp.width = 16;
    mlp.inputDim = 8;
    mlp.batch = 8;
    const auto m = resultToJson(runSpec(mlp), false);
    EXPECT_FALSE(m["layers"][0].contains("input_grad2"));
    EXPECT_FALSE(m["theory"].contains("input_grad2"));
    EXPECT_FALSE(m["spec"].contains("rnn_input"));
}

// Field rules: the recurrent fields mean nothing outside arch rnn, widths and real data mean
// nothing for it; each refusal names both fields. The views that do not take an rnn refuse it by
// the field arch.
TEST(Rnn, FieldRules) {
    NetworkSpec s;
    s.recurrentInit = RecurrentInit::Identity;
    EXPECT_TRUE(hasError(validate(s), "recurrent_init", "arch mlp"));
    s = NetworkSpec{};
    s.rnnInput = RnnInput::FirstStep;
    EXPECT_TRUE(hasError(validate(s), "rnn_input", "arch rnn"));
    s = rnn(4);
    s.widths = {8, 8, 8, 8};
    EXPECT_TRUE(hasError(validate(s), "widths", "arch rnn"));
    s = rnn(4);
    s.data = "fashion-mnist";
    EXPECT_TRUE(hasError(validateFields(s), "data", "arch rnn"));
    EXPECT_TRUE(validate(rnn(4)).empty());

    // through the field table: names, aliases, and implied resets
    NetworkSpec f;
    std::vector<SpecError> errors;
    ASSERT_TRUE(applyFields(
        f, {{"arch", "rnn"}, {"recurrent_init", "kaiming-normal"}, {"rnn_input", "first-step"}},
        errors));
    EXPECT_EQ(f.recurrentInit, RecurrentInit::Scheme);
    EXPECT_EQ(f.recurrentScheme, InitScheme::HeNormal);
    EXPECT_EQ(specToJson(f)["recurrent_init"], "he-normal");
    EXPECT_EQ(specToJson(f)["rnn_input"], "first-step");
    // a fan_mode for the recurrent W's he scheme is meaningful with init lecun
    f.fanMode = FanMode::FanOut;
    EXPECT_TRUE(validate(f).empty());
    ASSERT_TRUE(applyFields(f, {{"arch", "mlp"}, {"fan_mode", "fan-in"}}, errors));
    EXPECT_EQ(f.recurrentInit, RecurrentInit::None);
    EXPECT_EQ(f.rnnInput, RnnInput::EveryStep);
    EXPECT_TRUE(validate(f).empty());
    // a resnet's fields are reset by arch rnn as by arch mlp
    NetworkSpec res;
    ASSERT_TRUE(applyFields(res, {{"arch", "resnet"}, {"branch_depth", 3}}, errors));
    ASSERT_TRUE(applyFields(res, {{"arch", "rnn"}, {"input_dim", 32}}, errors));
    EXPECT_EQ(res.branchDepth, NetworkSpec{}.branchDepth);
    EXPECT_TRUE(validate(res).empty());
    EXPECT_FALSE(applyFields(f, {{"recurrent_init", "sideways"}}, errors));
    EXPECT_TRUE(hasError(errors, "recurrent_init", "identity"));

    const NetworkSpec r = rnn(4);
    EXPECT_TRUE(hasError(validateJacobian(r, 2), "arch", "rnn"));
    EXPECT_TRUE(hasError(validateNtk(r, NtkOptions{}), "arch", "rnn"));
}

// The memory estimate counts the activations kept for BPTT: linear in T.
TEST(Rnn, MemoryGrowsWithTimeSteps) {
    const std::uint64_t a = estimateMemoryBytes(rnn(100)), b = estimateMemoryBytes(rnn(200));
    const std::uint64_t perStep = 2ull * 512 * 128 * 4 + 128ull * 128 * 4; // a_t, phi'_t, x_t
    EXPECT_EQ(b - a, 100 * perStep);
    NetworkSpec huge = rnn(5000);
    huge.width = 4096;
    huge.batch = 1024;
    EXPECT_TRUE(hasError(validate(huge), "memory_budget_gib", "GiB"));
}

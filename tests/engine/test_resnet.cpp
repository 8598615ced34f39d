// Residual networks (THEORY.md, ResNet; scenario 14): x^l = x^{l-1} + gamma F(x^{l-1}) with a
// pre-activation branch of m dense layers, measured on real networks against
// q^l = q^{l-1} + gamma^2 q_F(q^{l-1}) and the Jacobian's (1 + gamma^2 chi_F) per block.
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "stats/report.h"
#include "theory/familytheory.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace initscope;

namespace {

NetworkSpec resnet(ResidualScale scale, int blocks = 10) {
    NetworkSpec s;
    s.arch = Arch::Resnet;
    s.depth = blocks;
    s.width = 512;
    s.inputDim = 512;
    s.batch = 128;
    s.branchDepth = 2;
    s.residualScale = scale;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.seed = 7;
    return s;
}

RunResult runSpec(const NetworkSpec& s) {
    Engine e;
    return e.run(s);
}

} // namespace

// gamma = 0: every block adds 0 * F = 0 exactly, so x^l = x^0 bit for bit: every block's
// statistics are identical to the bit, q is the input's, and the Jacobian is exactly I.
TEST(Resnet, ZeroGammaIsTheIdentity) {
    const NetworkSpec s = resnet(ResidualScale::Zero);
    const RunResult r = runSpec(s);
    ASSERT_EQ(r.layers.size(), 10u);
    for (const LayerStats& st : r.layers) {
        EXPECT_EQ(st.q, r.layers.front().q);
        EXPECT_EQ(st.correlation, r.layers.front().correlation);
        EXPECT_EQ(st.gradH2, r.layers.front().gradH2) << "dLoss/dx^l = g at every block";
    }
    // the input length, summed in another order: a few double roundings apart
    EXPECT_NEAR(r.layers.front().q / r.theory.q0, 1.0, 1e-12);
    for (double q : r.theory.q)
        EXPECT_NEAR(q / r.theory.q0, 1.0, 1e-15);
    // a random cotangent g ~ N(0, I_N) passes unchanged: grad_h2 = ||g||^2 ~ N (chi^2 of N B
    // draws over B: relative sd sqrt(2 / (N B)) = 0.0055; 5 sd)
    EXPECT_NEAR(r.layers.front().gradH2 / s.width, 1.0, 0.03);
    const JacobianResult j = computeJacobian(s, 3);
    for (const JacobianInput& in : j.inputs) {
        ASSERT_EQ(in.singularValues.size(), 512u);
        for (double sv : in.singularValues)
            EXPECT_NEAR(sv, 1.0, 1e-12);
    }
    EXPECT_NEAR(j.theoryMeanSq, 1.0, 1e-15);
}

// He + ReLU branches, gamma = 1: q_F(q) = q (each branch layer keeps the length: sigma_w^2 = 2,
// E[relu^2] = q / 2), so q doubles per block. Tolerance: a branch layer's length over N = 512
// units fluctuates by about sqrt(5/N) = 0.1 in log (Hanin & Rolnick 2018), two per block, and half
// of a block's q is the exact skip: ~0.07 per block, a random walk of sqrt(10) steps: 0.22; the
// bound 0.5 in log is over 2 sd, and 2^10 vs 1 is what it tells apart.
TEST(Resnet, HeBranchesDoubleQPerBlock) {
    const NetworkSpec s = resnet(ResidualScale::One);
    const RunResult r = runSpec(s);
    ASSERT_EQ(r.firstNonfiniteLayer, 0);
    for (std::size_t l = 0; l < r.layers.size(); ++l) {
        const double expected = r.theory.q0 * std::pow(2.0, static_cast<double>(l) + 1);
        EXPECT_NEAR(r.theory.q[l] / expected, 1.0, 1e-9) << "theory, block " << l + 1;
        EXPECT_NEAR(std::log(r.layers[l].q / r.theory.q[l]), 0.0, 0.5) << "block " << l + 1;
        // branch ratio q_F / q^{l-1} = 1 (one layer: relative sd sqrt(5/N) ~ 0.1 twice)
        EXPECT_NEAR(r.layers[l].branchRatio, 1.0, 0.4) << "block " << l + 1;
    }
    const double growth = std::log2(r.layers.back().q / r.layers.front().q) / 9.0;
    EXPECT_NEAR(growth, 1.0, 0.1) << "doubling per block, measured as a log2 slope";
}

// gamma = 1/sqrt(L): q^L = (1 + 1/L)^L q^0 <= e q^0 for He + ReLU branches.
TEST(Resnet, InvSqrtDepthIsBounded) {
    const NetworkSpec s = resnet(ResidualScale::InvSqrtDepth, 50);
    const RunResult r = runSpec(s);
    ASSERT_EQ(r.firstNonfiniteLayer, 0);
    EXPECT_NEAR(r.theory.q.back() / r.theory.q0, std::pow(1.0 + 1.0 / 50, 50), 1e-9);
    EXPECT_LT(r.theory.q.back(), std::exp(1.0) * r.theory.q0);
    // measured: the same bound with the finite-width walk (each block adds 1/L of a branch:
    // small steps, so the walk is far below a factor e^0.2)
    EXPECT_LT(r.layers.back().q, std::exp(1.0) * r.theory.q0 * std::exp(0.2));
    EXPECT_NEAR(std::log(r.layers.back().q / r.theory.q.back()), 0.0, 0.2);
    // gradients: E||dL/dx^{l-1}||^2 = (1 + gamma^2 chi_F) E||dL/dx^l||^2 with chi_F = 1 here
    EXPECT_NEAR(std::log(r.layers.front().gradH2 / r.theory.gradH2.front()), 0.0, 0.2);
    // the Jacobian's mean squared singular value follows prod (1 + gamma^2 chi_F) = (1+1/L)^L
    // (per input: N singular values of one network: a few % spread)
    const JacobianResult j = computeJacobian(s, 2);
    EXPECT_NEAR(j.theoryMeanSq, std::pow(1.0 + 1.0 / 50, 50), 1e-9);
    EXPECT_NEAR(std::log(j.meanSq / j.theoryMeanSq), 0.0, 0.2);
}

// Fixup: each branch's last layer is zero, so F = 0 at init and x^l = x^0 exactly, while the
// first branch layers carry L^(-1/(2m-2)) of the scheme's standard deviation.
TEST(Resnet, FixupStartsAsTheIdentity) {
    NetworkSpec s = resnet(ResidualScale::Fixup, 16);
    s.branchDepth = 3;
    const RunResult r = runSpec(s);
    for (const LayerStats& st : r.layers)
        EXPECT_EQ(st.q, r.layers.front().q);
    // sigma_w2 of a block is its first branch layer's: 2 * L^(-1/(m-1)) = 2 / 4
    EXPECT_NEAR(r.layers.front().sigmaW2, 2.0 * std::pow(16.0, -0.5), 1e-12);
    // the zero last layer gets a gradient (its input is not zero): the update is defined
    EXPECT_GT(r.layers.front().gradW2, 0.0);
}

TEST(Resnet, SameResultsOnAnyNumberOfThreads) {
    NetworkSpec s = resnet(ResidualScale::Value, 6);
    s.residualGamma = 0.7;
    s.activation = ActivationKind::Tanh;
    s.batch = 100; // two column chunks, the second partial
    s.threads = 1;
    const auto one = resultToJson(runSpec(s));
    s.threads = 2;
    auto two = resultToJson(runSpec(s));
    two["spec"] = one["spec"];
    two["seconds"] = one["seconds"];
    EXPECT_EQ(one.dump(), two.dump());
}

TEST(Resnet, RefusesWhatItWouldIgnore) {
    auto errorsOf = [](const FieldLayer& layer) {
        NetworkSpec s;
        std::vector<SpecError> e;
        if (applyFields(s, layer, e))
            e = validate(s);
        std::string all;
        for (const SpecError& x : e)
            all += x.message + "\n";
        return all;
    };
    EXPECT_NE(errorsOf({{"branch_depth", 3}}).find("is ignored by arch mlp"), std::string::npos);
    EXPECT_NE(errorsOf({{"arch", "resnet"}, {"residual_gamma", 0.5}})
                  .find("residual_gamma: 0.5 is ignored by residual_scale one"),
              std::string::npos);
    EXPECT_NE(errorsOf({{"arch", "resnet"}, {"width", 64}, {"input_dim", 32}})
                  .find("input_dim must equal width (input_dim 32, width 64)"),
              std::string::npos);
    EXPECT_NE(errorsOf({{"arch", "resnet"}, {"residual_scale", "fixup"}, {"branch_depth", 1}})
                  .find("needs branch_depth 2 or more"),
              std::string::npos);
    // arch resnet alone makes the input as wide as the blocks
    NetworkSpec s;
    s.width = 96;
    std::vector<SpecError> e;
    ASSERT_TRUE(applyFields(s, {{"arch", "resnet"}}, e));
    EXPECT_EQ(s.inputDim, 96);
    EXPECT_TRUE(validate(s).empty());
    // the NTK takes the family (test_ntk_resnet checks its kernel)
    EXPECT_TRUE(validateNtk(s, NtkOptions{}).empty());
}

// An mlp preset serialises as it always did; a resnet writes its family's fields.
TEST(Resnet, SpecJsonCarriesTheFamilyOnlyWhenSet) {
    EXPECT_FALSE(specToJson(NetworkSpec{}).contains("arch"));
    NetworkSpec s = resnet(ResidualScale::Value);
    s.residualGamma = 0.25;
    const auto j = specToJson(s);
    EXPECT_EQ(j["arch"], "resnet");
    EXPECT_EQ(j["residual_scale"], "value");
    EXPECT_EQ(j["residual_gamma"], 0.25);
    NetworkSpec back;
    std::vector<SpecError> e;
    ASSERT_TRUE(specFromJson(j, back, e)) << (e.empty() ? "" : e.front().message);
    back.threads = s.threads;
    EXPECT_EQ(back, s);
}

// The engine's prediction and the independent derivation in familytheory.h (written apart, from
// THEORY.md) agree: lengths, correlations and the Jacobian's growth, with Fixup's rescaling.
TEST(Resnet, PredictionMatchesTheFamilyTheory) {
    for (ResidualScale scale : {ResidualScale::One, ResidualScale::InvSqrtDepth,
                                ResidualScale::Fixup, ResidualScale::Value}) {
        NetworkSpec s = resnet(scale, 12);
        s.activation = ActivationKind::Tanh;
        s.init = InitScheme::XavierNormal;
        s.gain = 1.4;
        s.biasInit = BiasInit::Normal;
        s.sigmaB2 = 0.05;
        s.branchDepth = 3;
        s.residualGamma = scale == ResidualScale::Value ? 0.6 : 1.0;
        const TheoryCurves t = predict(s, 1.3, 0.4);
        const double sw2 = effectiveSigmaW2(s, 2);
        const meanfield::ResidualScale ms =
            scale == ResidualScale::One            ? meanfield::ResidualScale::One
            : scale == ResidualScale::InvSqrtDepth ? meanfield::ResidualScale::InvSqrtDepth
            : scale == ResidualScale::Fixup        ? meanfield::ResidualScale::Fixup
                                                   : meanfield::ResidualScale::Value;
        const auto ref = meanfield::resnetTheory(Activation(s.activation), {sw2, sw2, sw2}, 0.05,
                                                 12, ms, s.residualGamma, 1.3, 0.4);
        for (std::size_t l = 0; l < 12; ++l) {
            EXPECT_NEAR(t.q[l] / ref.q[l], 1.0, 1e-12) << residualScaleName(scale) << " " << l;
            EXPECT_NEAR(t.c[l], ref.c[l], 1e-12) << residualScaleName(scale) << " " << l;
        }
        EXPECT_NEAR(theoryJacobianMeanSq(s, 1.3) / ref.jacobianMeanSqTotal.back(), 1.0, 1e-12)
            << residualScaleName(scale);
    }
}

// The NTK of a resnet (ntkresnet.cpp): the Gram formula equals a brute-force kernel of
// per-parameter gradients on a tiny network; zero gamma leaves exactly the readout's kernel of
// the inputs; the empirical kernel approaches the analytic recursion as the width grows; the
// by-block curve is the condition of the network of m blocks; results do not depend on threads.
#include "analysis/ntk.h"
#include "network/network.h"
#include "network/weights.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <atomic>
#include <cmath>
#include <vector>

using namespace initscope;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

NetworkSpec tinyResnet(ResidualScale scale) {
    NetworkSpec s;
    s.arch = Arch::Resnet;
    s.depth = 2;
    s.branchDepth = 2;
    s.width = 6;
    s.inputDim = 6;
    s.batch = 4;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::LecunNormal;
    s.gain = 1.3;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.1;
    s.residualScale = scale;
    if (scale == ResidualScale::Value) // residual_gamma is an error with any other scale
        s.residualGamma = 0.5;
    s.seed = 5;
    return s;
}

/// f(x) = v.x^L + b_v of the resnet, in double, with every parameter a plain number to nudge.
/// The parameter values are the engine's (materialized from the network's draws); what the test
/// computes independently is the forward map and every derivative.
struct DoubleResnet {
    const Activation act;
    double gamma = 1;
    std::vector<std::vector<MatrixXd>> w; // [block][j]
    std::vector<std::vector<VectorXd>> b;
    VectorXd v;
    double bv = 0;

    DoubleResnet(const NetworkSpec& s, double g) : act(s.activation, s.activationSlope), gamma(g) {
        const Network net = buildNetwork(s);
        const auto draws = fetchDraws(net, nullptr);
        for (const Stage& stage : net.stages) {
            const auto& st = std::get<ResidualStage>(stage);
            w.emplace_back();
            b.emplace_back();
            for (std::size_t j = 0; j < st.weights.size(); ++j) {
                const auto wi = static_cast<std::size_t>(st.weights[j]);
                const auto bi = static_cast<std::size_t>(st.biases[j]);
                w.back().push_back(materialize(net.params[wi], *draws[wi]).cast<double>());
                b.back().push_back(materialize(net.params[bi], *draws[bi]).col(0).cast<double>());
            }
        }
        v = initReadout(s, s.depth).cast<double>();
    }
    double f(const VectorXd& x0) const {
        VectorXd x = x0;
        for (std::size_t l = 0; l < w.size(); ++l) {
            VectorXd u = x;
            for (std::size_t j = 0; j < w[l].size(); ++j) {
                VectorXd a = u;
                for (Eigen::Index i = 0; i < a.size(); ++i)
                    a(i) = act.phi(a(i));
                u = w[l][j] * a + b[l][j];
            }
            x += gamma * u;
        }
        return v.dot(x) + bv;
    }
};

/// Theta = sum_p Var_p df(x)/dp df(x')/dp, every gradient by central differences. `weightVar`
/// [j]: the entries' variance of branch layer j, as the scheme defines it.
MatrixXd bruteForceNtk(const NetworkSpec& s, double gamma, const std::vector<double>& weightVar,
                       const MatrixXd& x) {
    DoubleResnet net(s, gamma);
    const auto K = x.cols();
    MatrixXd theta = MatrixXd::Zero(K, K);
    auto add = [&](double& p, double variance) {
        const double eps = 1e-5 * std::max(1.0, std::abs(p)), keep = p;
        VectorXd g(K);
        for (Eigen::Index k = 0; k < K; ++k) {
            p = keep + eps;
            const double up = net.f(x.col(k));
            p = keep - eps;
            const double down = net.f(x.col(k));
            g(k) = (up - down) / (2 * eps);
        }
        p = keep;
        theta += variance * g * g.transpose();
    };
    for (std::size_t l = 0; l < net.w.size(); ++l)
        for (std::size_t j = 0; j < net.w[l].size(); ++j) {
            for (Eigen::Index e = 0; e < net.w[l][j].size(); ++e)
                add(net.w[l][j].data()[e], weightVar[j]);
            for (Eigen::Index e = 0; e < net.b[l][j].size(); ++e)
                add(net.b[l][j](e), s.sigmaB2);
        }
    for (Eigen::Index e = 0; e < net.v.size(); ++e)
        add(net.v(e), s.gain / s.width); // lecun-normal readout: gain / fan-in
    add(net.bv, s.sigmaB2);
    return theta;
}

double relFrobenius(const MatrixXd& a, const MatrixXd& b) {
    return (a - b).norm() / b.norm();
}

} // namespace

TEST(NtkResnet, GramFormulaEqualsPerParameterGradients) {
    // Tolerance 1e-4 relative: the Gram formula propagates in float (relative rounding ~1e-7 per
    // operation over 4 branch layers and 2 skips); the central differences err by ~1e-10.
    struct Case {
        ResidualScale scale;
        double gamma;
        std::vector<double> weightVar; // lecun-normal: gain / N, Fixup's factors on top
    };
    const double base = 1.3 / 6;
    const std::vector<Case> cases = {
        {ResidualScale::One, 1.0, {base, base}},
        {ResidualScale::Value, 0.5, {base, base}},
        // Fixup, m = 2, L = 2: layer 1's variance times L^(-1/(m-1)) = 1/2, the last layer zero
        // (its entries are 0 and so is its standard deviation: it adds nothing to the kernel)
        {ResidualScale::Fixup, 1.0, {base / 2, 0.0}},
    };
    for (const Case& c : cases) {
        const NetworkSpec s = tinyResnet(c.scale);
        NtkOptions o;
        o.inputs = 4;
        const NtkResult r = computeNtk(s, o);
        ASSERT_EQ(r.empirical.theta.rows(), 4);
        const MatrixXd bf = bruteForceNtk(s, c.gamma, c.weightVar, drawInputs(s, 4).cast<double>());
        EXPECT_LT(relFrobenius(r.empirical.theta, bf), 1e-4) << residualScaleName(c.scale);
        EXPECT_LT((r.empirical.theta - bf).cwiseAbs().maxCoeff(), 1e-4 * bf.cwiseAbs().maxCoeff())
            << residualScaleName(c.scale);
    }
}

TEST(NtkResnet, ZeroGammaLeavesTheReadoutsKernelOfTheInputs) {
    // gamma = 0: f = v.x^0 + b_v whatever the branches are, so Theta = Var(v) X^T X + sigma_b^2
    // (the readout's weight and bias alone), empirically and analytically (S^0 = X^T X / N with
    // sigma_v^2 = Var(v) N). Tolerance 1e-12 relative: the same double Gram, scaled in another
    // order.
    NetworkSpec s = tinyResnet(ResidualScale::Zero);
    s.width = s.inputDim = 64;
    s.depth = 5;
    s.batch = 8;
    NtkOptions o;
    o.inputs = 8;
    const NtkResult r = computeNtk(s, o);
    const MatrixXd x = drawInputs(s, 8).cast<double>();
    MatrixXd expected = readoutVariance(s, s.depth) * (x.transpose() * x);
    expected.array() += s.sigmaB2;
    EXPECT_LT(relFrobenius(r.empirical.theta, expected), 1e-12);
    ASSERT_TRUE(r.analyticApplicable);
    EXPECT_LT(relFrobenius(r.analytic.theta, expected), 1e-12);
    // every truncation has the same kernel up to its own readout draw's scale: all conditions
    // are those of one Gram of the inputs, finite
    for (double c : r.conditionByDepth)
        EXPECT_TRUE(std::isfinite(c));
}

TEST(NtkResnet, EmpiricalApproachesAnalyticAsWidthGrows) {
    // As for the mlp (test_ntk): finite-width fluctuations shrink like 1/sqrt(N), so the relative
    // distance averaged over 3 seeds must fall with the width, from 64 to 1024 by clearly more
    // than the 1.5x that noise in a 3-seed average could fake (1/sqrt(N) predicts 4x).
    std::vector<double> dist;
    for (const int n : {64, 256, 1024}) {
        double sum = 0;
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            NetworkSpec s = tinyResnet(ResidualScale::InvSqrtDepth);
            s.depth = 4;
            s.width = s.inputDim = n;
            s.batch = 8;
            s.seed = seed;
            s.gain = 1.5;
            s.sigmaB2 = 0.05;
            NtkOptions o;
            o.inputs = 8;
            o.byDepth = false;
            const NtkResult r = computeNtk(s, o);
            ASSERT_TRUE(r.analyticApplicable);
            sum += relFrobenius(r.empirical.theta, r.analytic.theta);
        }
        dist.push_back(sum / 3);
    }
    EXPECT_GT(dist[0], dist[1]);
    EXPECT_GT(dist[1], dist[2]);
    EXPECT_GT(dist[0] / dist[2], 1.5) << dist[0] << " " << dist[2];
    EXPECT_LT(dist[2], 0.1) << dist[2];
}

TEST(NtkResnet, ConditionByBlockIsTheNetworkOfThatManyBlocks) {
    // With gamma = 1 the network truncated after m blocks is the network of m blocks with the same
    // seed (its streams do not depend on L). Tolerance 1e-5 relative: the by-depth pass
    // multiplies several depths' deltas in one float GEMM, whose rounding differs from a single
    // depth's product by ~1e-7 relative per product.
    NetworkSpec s = tinyResnet(ResidualScale::One);
    s.width = s.inputDim = 32;
    s.depth = 6;
    s.batch = 8;
    s.gain = 0.8;
    NtkOptions o;
    o.inputs = 8;
    const NtkResult full = computeNtk(s, o);
    ASSERT_EQ(full.conditionByDepth.size(), 6u);
    for (int m = 1; m <= 6; ++m) {
        NetworkSpec sm = s;
        sm.depth = m;
        NtkOptions om = o;
        om.byDepth = false;
        const double c = computeNtk(sm, om).empirical.condition;
        EXPECT_NEAR(full.conditionByDepth[static_cast<std::size_t>(m - 1)] / c, 1.0, 1e-5)
            << "m " << m;
        // the analytic by-depth curve is the analytic kernel of m blocks, exactly
        NtkOptions oa = om;
        const NtkResult rm = computeNtk(sm, oa);
        EXPECT_NEAR(full.analyticConditionByDepth[static_cast<std::size_t>(m - 1)] /
                        rm.analytic.condition,
                    1.0, 1e-12);
    }
}

TEST(NtkResnet, IndependentOfThreadCountAndStreamsEveryBlock) {
    NetworkSpec s = tinyResnet(ResidualScale::InvSqrtDepth);
    s.width = s.inputDim = 96;
    s.depth = 9;
    s.batch = 16;
    NtkOptions o;
    o.inputs = 16;
    std::vector<NtkResult> r;
    for (const int threads : {1, 2}) {
        s.threads = threads;
        std::vector<int> seen(10, 0);
        r.push_back(computeNtk(s, o, [&](const NtkDepthPoint& p) { ++seen.at(p.depth); }));
        for (int m = 1; m <= 9; ++m)
            EXPECT_EQ(seen[static_cast<std::size_t>(m)], 1) << "block " << m;
    }
    EXPECT_EQ(r[0].empirical.theta, r[1].empirical.theta);
    EXPECT_EQ(r[0].conditionByDepth, r[1].conditionByDepth);
    EXPECT_EQ(r[0].analytic.theta, r[1].analytic.theta);
}

TEST(NtkResnet, CancelledBeforeItStarts) {
    NetworkSpec s = tinyResnet(ResidualScale::One);
    s.width = s.inputDim = 256;
    s.depth = 20;
    s.batch = 32;
    NtkOptions o;
    o.inputs = 32;
    std::atomic<bool> cancel{true};
    const NtkResult r = computeNtk(s, o, {}, &cancel);
    EXPECT_TRUE(r.cancelled);
}

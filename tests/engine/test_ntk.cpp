// The neural tangent kernel: the O(L K^2 N) Gram formula equals a brute-force kernel from
// per-parameter gradients; the empirical kernel approaches the analytic one as the width grows;
// the pair expectations of the analytic recursion agree with meanfield.h; the condition number
// grows with depth in the ordered phase faster than near criticality.
#include "analysis/ntk.h"
#include "network/weights.h"
#include "theory/meanfield.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <vector>

using namespace initscope;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

/// f(x) = v.phi(h^L) + b_v of spec's network, in double, with parameters given as plain arrays so
/// that each one can be nudged.
struct DoubleNet {
    const Activation act;
    std::vector<MatrixXd> w; // [l - 1]
    std::vector<VectorXd> b;
    VectorXd v;
    double bv = 0;

    explicit DoubleNet(const NetworkSpec& s) : act(s.activation, s.activationSlope) {
        for (int l = 1; l <= s.depth; ++l) {
            w.push_back(initWeights(s, l).cast<double>());
            b.push_back(initBiases(s, l).cast<double>());
        }
        v = initReadout(s, s.depth).cast<double>();
    }
    double f(const VectorXd& x) const {
        VectorXd a = x;
        for (std::size_t l = 0; l < w.size(); ++l) {
            VectorXd h = w[l] * a + b[l];
            for (Eigen::Index i = 0; i < h.size(); ++i)
                h(i) = act.phi(h(i));
            a = h;
        }
        return v.dot(a) + bv;
    }
};

/// Theta = sum_p Var_p df(x)/dp df(x')/dp with every gradient from central differences: a
/// per-parameter Jacobian, the very thing the Gram formula avoids.
MatrixXd bruteForceNtk(const NetworkSpec& s, const MatrixXd& x) {
    DoubleNet net(s);
    const auto K = x.cols();
    std::vector<VectorXd> grads; // one K-vector per parameter, already scaled by its std
    auto addGrad = [&](double& p, double variance) {
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
        grads.push_back(std::sqrt(variance) * g);
    };
    const double sb2 = effectiveSigmaB2(s);
    for (int l = 1; l <= s.depth; ++l) {
        const auto li = static_cast<std::size_t>(l - 1);
        const double varW = effectiveSigmaW2(s, l) / s.widthOf(l - 1);
        for (Eigen::Index j = 0; j < net.w[li].size(); ++j)
            addGrad(net.w[li].data()[j], varW);
        for (Eigen::Index j = 0; j < net.b[li].size(); ++j)
            addGrad(net.b[li](j), sb2);
    }
    for (Eigen::Index j = 0; j < net.v.size(); ++j)
        addGrad(net.v(j), readoutVariance(s, s.depth));
    addGrad(net.bv, sb2);
    MatrixXd theta = MatrixXd::Zero(K, K);
    for (const VectorXd& g : grads)
        theta += g * g.transpose();
    return theta;
}

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 3;
    s.width = 8;
    s.inputDim = 5;
    s.batch = 6;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::LecunNormal;
    s.gain = 1.7;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.2;
    s.seed = 11;
    return s;
}

double relFrobenius(const MatrixXd& a, const MatrixXd& b) {
    return (a - b).norm() / b.norm();
}

} // namespace

TEST(Ntk, GramFormulaEqualsPerParameterGradients) {
    // Tolerance 1e-4 relative: the Gram formula propagates in float (relative rounding ~1e-7
    // per operation over a few layers); the finite differences err by ~1e-10.
    for (const bool unequal : {false, true}) {
        NetworkSpec s = smallSpec();
        if (unequal) { // unequal widths and a fan-dependent scheme exercise the width factors
            s.widths = {8, 5, 7};
            s.init = InitScheme::XavierNormal;
            s.activation = ActivationKind::Softplus;
        }
        NtkOptions o;
        o.inputs = 6;
        const NtkResult r = computeNtk(s, o);
        const MatrixXd bf = bruteForceNtk(s, drawInputs(s, 6).cast<double>());
        ASSERT_EQ(r.empirical.theta.rows(), 6);
        EXPECT_LT(relFrobenius(r.empirical.theta, bf), 1e-4) << "unequal widths " << unequal;
        EXPECT_LT((r.empirical.theta - bf).cwiseAbs().maxCoeff(), 1e-4 * bf.cwiseAbs().maxCoeff());
    }
}

TEST(Ntk, ConditionByDepthIsTheTruncatedNetworksCondition) {
    // The curve's point m is defined as the NTK condition of the depth-m network with the same
    // seed. Tolerance 1e-5 relative: the by-depth pass multiplies the deltas of several depths
    // in one float GEMM, whose rounding differs from the single-depth product by ~1e-7 relative
    // per entry (the condition numbers here are below 100).
    NetworkSpec s = smallSpec();
    s.depth = 6;
    s.width = 32;
    s.inputDim = 16;
    s.batch = 8;
    NtkOptions o;
    o.inputs = 8;
    const NtkResult all = computeNtk(s, o);
    ASSERT_EQ(all.conditionByDepth.size(), 6u);
    ASSERT_EQ(all.analyticConditionByDepth.size(), 6u);
    for (int m : {1, 3, 6}) {
        NetworkSpec t = s;
        t.depth = m;
        const NtkResult one = computeNtk(t, o);
        EXPECT_NEAR(all.conditionByDepth[static_cast<std::size_t>(m - 1)], one.empirical.condition,
                    1e-5 * one.empirical.condition)
            << m;
        EXPECT_NEAR(all.analyticConditionByDepth[static_cast<std::size_t>(m - 1)],
                    one.analytic.condition, 1e-12 * one.analytic.condition)
            << m;
    }
    EXPECT_DOUBLE_EQ(all.conditionByDepth.back(), all.empirical.condition);
}

TEST(Ntk, IndependentOfThreadCountAndStreamsEveryDepth) {
    NetworkSpec s = smallSpec();
    s.depth = 8;
    s.width = 64;
    s.inputDim = 32;
    s.batch = 16;
    NtkOptions o;
    o.inputs = 16;
    s.threads = 1;
    const NtkResult a = computeNtk(s, o);
    s.threads = 2;
    std::vector<int> seen;
    const NtkResult b = computeNtk(s, o, [&](const NtkDepthPoint& p) { seen.push_back(p.depth); });
    EXPECT_EQ(a.empirical.theta, b.empirical.theta);
    EXPECT_EQ(a.conditionByDepth, b.conditionByDepth);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(Ntk, PairExpectationsAgreeWithMeanField) {
    // Equal variances reduce the pair expectations to meanfield.h's. Tolerance 1e-8 relative:
    // the closed forms agree to rounding; the Hermite series (128 terms plus its tail) is
    // accurate to ~1e-10 for smooth activations at q ~ 1 (coefficients decay like
    // exp(-pi sqrt(2n) / (2 sqrt q))).
    for (const ActivationKind k :
         {ActivationKind::Tanh, ActivationKind::Relu, ActivationKind::LeakyRelu,
          ActivationKind::Erf, ActivationKind::Gelu, ActivationKind::Sin, ActivationKind::Linear,
          ActivationKind::Sigmoid}) {
        const Activation act(k, 0.1);
        for (const double q : {0.3, 1.0, 2.5})
            for (const double c : {-0.4, 0.2, 0.9, 0.999}) {
                MatrixXd s(2, 2);
                s << q, c * q, c * q, q;
                const PairExpectations e = pairExpectations(act, s);
                const double pp = meanfield::expectPhiPhi(act, q, c);
                const double dd = meanfield::expectDphiDphi(act, q, c);
                EXPECT_NEAR(e.phiPhi(0, 1), pp, 1e-8 * std::max(1.0, std::abs(pp)))
                    << act.name() << " q " << q << " c " << c;
                EXPECT_NEAR(e.dphiDphi(0, 1), dd, 1e-8 * std::max(1.0, std::abs(dd)))
                    << act.name() << " q " << q << " c " << c;
                EXPECT_NEAR(e.phiPhi(0, 0), meanfield::expectPhi2(act, q),
                            1e-8 * std::max(1.0, meanfield::expectPhi2(act, q)));
            }
    }
}

TEST(Ntk, HardTanhPairExpectationsMatchTheClosedForms) {
    // hard-tanh's kinks at z = +-1/sqrt(q) move with the input's length; its Hermite
    // coefficients are integrated on panels cut there, so the diagonal (the series plus its
    // tail, i.e. E[f^2] itself) equals the closed forms E[phi'^2] = erf(t/sqrt2), E[phi^2] =
    // q E[z^2 1{|z| < t}] + erfc(t/sqrt2) to rounding (1e-13 relative). Off the diagonal the
    // series of a step (phi') converges slowly: against meanfield.h's 2-D quadrature to 1e-6
    // relative for |c| <= 0.9 (measured <= 6e-7 up to q = 30; 1e-3 to 6e-2 at c = 0.99..0.999).
    const Activation act(ActivationKind::HardTanh);
    for (const double q : {0.3, 1.0, 8.9036, 30.0})
        for (const double c : {-0.4, 0.2, 0.9}) {
            MatrixXd s(2, 2);
            s << q, c * q, c * q, q;
            const PairExpectations e = pairExpectations(act, s);
            EXPECT_NEAR(e.phiPhi(0, 0), meanfield::expectPhi2(act, q),
                        1e-13 * meanfield::expectPhi2(act, q))
                << q;
            EXPECT_NEAR(e.dphiDphi(0, 0), std::erf(1.0 / std::sqrt(2.0 * q)), 1e-13) << q;
            EXPECT_NEAR(e.phiPhi(0, 1), meanfield::expectPhiPhi(act, q, c),
                        1e-6 * meanfield::expectPhi2(act, q))
                << q << " " << c;
            EXPECT_NEAR(e.dphiDphi(0, 1), meanfield::expectDphiDphi(act, q, c),
                        1e-6 * meanfield::expectDphi2(act, q))
                << q << " " << c;
        }
    // nearly equal inputs (|c| > 0.9) are integrated directly: the inner expectation closed, the
    // outer on panels cut at the kinks; against meanfield.h's nested quadrature (itself checked
    // against closed forms to 1e-9 up to c = 1 - 1e-8, test_meanfield) to 1e-9 relative
    for (const double q : {0.3, 8.9036, 30.0})
        for (const double c : {-0.999, 0.95, 0.99, 0.999, 1.0 - 1e-8}) {
            MatrixXd s(2, 2);
            s << q, c * q, c * q, q;
            const PairExpectations e = pairExpectations(act, s);
            EXPECT_NEAR(e.phiPhi(0, 1), meanfield::expectPhiPhi(act, q, c),
                        1e-9 * meanfield::expectPhi2(act, q))
                << q << " " << c;
            EXPECT_NEAR(e.dphiDphi(0, 1), meanfield::expectDphiDphi(act, q, c),
                        1e-9 * meanfield::expectDphi2(act, q))
                << q << " " << c;
        }
    // unequal lengths: the expectation is symmetric in the two inputs, while the integration
    // (outer over the first) is not; 1e-12
    for (const double c : {0.3, 0.99}) {
        MatrixXd s(2, 2), t(2, 2);
        const double qa = 0.5, qb = 8.0, cov = c * std::sqrt(qa * qb);
        s << qa, cov, cov, qb;
        t << qb, cov, cov, qa;
        const PairExpectations e = pairExpectations(act, s), f = pairExpectations(act, t);
        EXPECT_NEAR(e.phiPhi(0, 1), f.phiPhi(0, 1), 1e-12) << c;
        EXPECT_NEAR(e.dphiDphi(0, 1), f.dphiDphi(0, 1), 1e-12) << c;
    }
    // the analytic NTK of one hidden layer on one input: Theta = sv2 (E[phi^2] + E[phi'^2]
    // q^1) + sb2 at q^1 = sw2 ||x||^2 / N_0 + sb2 (ntk.h), from the same closed forms
    NetworkSpec spec = smallSpec();
    spec.activation = ActivationKind::HardTanh;
    spec.depth = 1;
    MatrixXd gram(1, 1);
    gram << 8.9; // ||x||^2 / N_0
    const NtkKernel k = analyticNtk(spec, gram);
    const double sw2 = effectiveSigmaW2(spec, 1), sb2 = effectiveSigmaB2(spec);
    const double q1 = sw2 * 8.9 + sb2;
    const double sv2 = readoutVariance(spec, 1) * spec.widthOf(1);
    const double expected =
        sv2 * (meanfield::expectPhi2(act, q1) + std::erf(1.0 / std::sqrt(2.0 * q1)) * q1) + sb2;
    ASSERT_EQ(k.theta.rows(), 1);
    EXPECT_NEAR(k.theta(0, 0), expected, 1e-12 * expected);
}

TEST(Ntk, EmpiricalApproachesAnalyticAsWidthGrows) {
    // Finite-width fluctuations of the kernel shrink like 1/sqrt(N) (Jacot et al. 2018; Hanin &
    // Nica 2019), so the relative distance averaged over 3 seeds must fall with the width, and
    // from 64 to 1024 by clearly more than the 1.5x that noise in a 3-seed average could fake
    // (the 1/sqrt(N) law predicts 4x).
    std::vector<double> dist;
    for (const int n : {64, 256, 1024}) {
        double sum = 0;
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            NetworkSpec s = smallSpec();
            s.depth = 3;
            s.width = n;
            s.inputDim = 32;
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
    EXPECT_LT(dist[2], 0.1); // at width 1024 the kernel is within a few per cent of its limit
}

TEST(Ntk, ConditionGrowsWithDepthFasterInTheOrderedPhase) {
    // tanh at sigma_b^2 = 0.05: critical sigma_w^2 ~ 1.76. In the ordered phase the inputs'
    // correlations approach 1 geometrically (rate set by xi_c), the kernel approaches rank one and
    // its condition number grows; near criticality it grows much more slowly (Xiao et al. 2020).
    // Compared by the growth factor from depth 2 to depth 30, analytic and empirical.
    const double crit = meanfield::criticalSigmaW2(Activation(ActivationKind::Tanh), 0.05);
    auto growth = [&](double sw2, bool analytic) {
        NetworkSpec s;
        s.depth = 30;
        s.width = 256;
        s.inputDim = 64;
        s.batch = 16;
        s.activation = ActivationKind::Tanh;
        s.gain = sw2;
        s.biasInit = BiasInit::Normal;
        s.sigmaB2 = 0.05;
        NtkOptions o;
        o.inputs = 16;
        const NtkResult r = computeNtk(s, o);
        const auto& c = analytic ? r.analyticConditionByDepth : r.conditionByDepth;
        return c[29] / c[1];
    };
    for (const bool analytic : {true, false}) {
        const double ordered = growth(0.5 * crit, analytic);
        const double critical = growth(crit, analytic);
        EXPECT_GT(ordered, 1.0) << analytic;
        EXPECT_GT(ordered, 3.0 * critical)
            << "analytic " << analytic << ": ordered " << ordered << " critical " << critical;
    }
}

TEST(Ntk, NonFiniteIsReportedNotDrawn) {
    NetworkSpec s;
    s.depth = 40;
    s.width = 256;
    s.inputDim = 256;
    s.batch = 8;
    s.init = InitScheme::Normal; // N(0, 1) unscaled: relu h grows ~sqrt(128) per layer, float
                                 // overflow (3.4e38) after ~37 layers
    s.activation = ActivationKind::Relu;
    NtkOptions o;
    o.inputs = 8;
    int calls = 0;
    const NtkResult r = computeNtk(s, o, [&](const NtkDepthPoint&) { ++calls; });
    EXPECT_EQ(calls, 40); // every depth reported, the overflowed ones as NaN
    EXPECT_GT(r.firstNonfiniteLayer, 0);
    EXPECT_TRUE(std::isnan(r.empirical.condition));
    EXPECT_TRUE(r.empirical.eigenvalues.empty());
    EXPECT_TRUE(std::isnan(r.conditionByDepth.back()));
    EXPECT_TRUE(std::isfinite(r.conditionByDepth.front()));
}

TEST(Ntk, RejectsBadInputCounts) {
    NetworkSpec s = smallSpec();
    NtkOptions o;
    o.inputs = 0;
    EXPECT_FALSE(validateNtk(s, o).empty());
    o.inputs = s.batch + 1;
    const auto e = validateNtk(s, o);
    ASSERT_FALSE(e.empty());
    EXPECT_EQ(e.front().field, "inputs");
    EXPECT_THROW(computeNtk(s, o), std::exception);
}

TEST(Ntk, SweepHelperAndCancellation) {
    NetworkSpec s = smallSpec();
    s.depth = 5;
    s.width = 32;
    NtkOptions o;
    o.inputs = 6;
    // The full-depth kernel is the same with or without the per-depth passes, to float rounding:
    // with them, W^T delta runs on several depths' columns side by side, and OpenBLAS may pick
    // another kernel for a wider product (seen on one CPU: 4e-8 relative). The condition
    // number amplifies the kernel's float32 rounding (~1e-7 relative) by at most about its own
    // size here (~50), so 1e-5 relative bounds it.
    const double full = computeNtk(s, o).empirical.condition;
    EXPECT_NEAR(ntkCondition(s, 6), full, 1e-5 * full);
    std::atomic<bool> cancel{true};
    const NtkResult r = computeNtk(s, o, {}, &cancel);
    EXPECT_TRUE(r.cancelled);
    EXPECT_TRUE(r.empirical.eigenvalues.empty());
}

TEST(Ntk, TiledHugeProductsKeepTheKernel) {
    // Width 4096 with 512 inputs: the backward W^T delta (4096^2 x 512) and the layer Grams
    // (4096 x 512^2) are at or above the 2^30 multiply-adds from which computeNtk computes them
    // in tiles (with cancel looks between). The tiles are fixed by the shapes, so the kernel is
    // bit-identical for 1 and 2 threads; a misplaced or missing tile would move the kernel by
    // O(1), while at this width it lies within a few per cent of its infinite-width limit (the
    // width test above: under 0.1 already at width 1024, with fluctuations ~ 1/sqrt(N)).
    NetworkSpec s = smallSpec();
    s.depth = 2;
    s.width = 4096;
    s.inputDim = 32;
    s.batch = 512;
    s.memoryBudgetGiB = 8;
    NtkOptions o;
    o.inputs = 512;
    o.byDepth = false;
    s.threads = 1;
    const NtkResult a = computeNtk(s, o);
    s.threads = 2;
    o.analytic = false;
    const NtkResult b = computeNtk(s, o);
    ASSERT_EQ(a.empirical.theta.rows(), 512);
    EXPECT_EQ(a.empirical.theta, b.empirical.theta);
    ASSERT_TRUE(a.analyticApplicable);
    EXPECT_LT(relFrobenius(a.empirical.theta, a.analytic.theta), 0.05);
}

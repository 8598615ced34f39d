// Mean-field theory: exact special cases, quadrature against closed forms and against an
// independent integration, critical points, fixed points and depth scales, the per-layer
// prediction, and the edge cases (q = 0, c = +-1, huge q).
#include "theory/meanfield.h"

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <utility>
#include <vector>

using namespace initscope;
using namespace initscope::meanfield;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double pdf(double z) {
    return std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
}

/// Composite Simpson on [a, b] with n (even) intervals.
template <class F> double simpson(const F& f, double a, double b, int n) {
    const double h = (b - a) / n;
    double s = f(a) + f(b);
    for (int i = 1; i < n; ++i)
        s += (i % 2 ? 4.0 : 2.0) * f(a + i * h);
    return s * h / 3.0;
}

/// An independent reference for E[g(z)] (z ~ N(0,1)): uniform composite Simpson over [-range,
/// range] with `perUnit` intervals per unit of z, cut at the given kinks, Richardson-extrapolated
/// from h and h/2 (error O(h^6) on each smooth piece). A piece's end points are evaluated 1e-12 of
/// its length inside, so that a jump of g at a cut takes the piece's own side.
template <class F>
double referenceGaussian(const F& g, std::vector<double> cuts, int perUnit, double range = 12.0,
                         int minIntervals = 2) {
    cuts.push_back(-range);
    cuts.push_back(range);
    std::sort(cuts.begin(), cuts.end());
    double total = 0;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        const double a = std::max(cuts[i], -range);
        const double b = std::min(cuts[i + 1], range);
        if (!(b > a))
            continue;
        const double inset = 1e-12 * (b - a);
        const int n =
            2 * std::max(minIntervals / 2, static_cast<int>(std::ceil((b - a) * perUnit / 2.0)));
        const auto f = [&](double z) {
            const double zz = std::clamp(z, a + inset, b - inset);
            return g(zz) * pdf(zz);
        };
        const double coarse = simpson(f, a, b, n);
        const double fine = simpson(f, a, b, 2 * n);
        total += fine + (fine - coarse) / 15.0;
    }
    return total;
}

/// Kinks of phi or phi' in u (the reference cuts its grid there).
std::vector<double> kinksOf(ActivationKind k) {
    switch (k) {
    case ActivationKind::HardTanh:
        return {-1.0, 1.0};
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu:
    case ActivationKind::Selu:
    case ActivationKind::Elu:
        return {0.0};
    default:
        return {};
    }
}

/// Activations whose expectations go through the quadrature (no closed form).
const std::vector<ActivationKind> kQuadratureKinds{
    ActivationKind::Tanh,     ActivationKind::Sigmoid, ActivationKind::Gelu,
    ActivationKind::Silu,     ActivationKind::Selu,    ActivationKind::Elu,
    ActivationKind::Softplus, ActivationKind::HardTanh};

} // namespace

// ---- exact special cases ----------------------------------------------------------------------

TEST(MeanField, LinearLengthsAreTheGeometricSeries) {
    // q^l = (sw2)^l q0 + sb2 (1 + sw2 + ... + sw2^(l-1)) exactly (THEORY.md): only rounding in
    // 50 multiply-adds separates the two, ~50 ulp, so 1e-12 relative.
    const Activation lin(ActivationKind::Linear);
    const int depth = 50;
    for (double sw2 : {0.9, 1.0, 1.1}) {
        const double sb2 = 0.07;
        const double q0 = 0.8;
        const double c0 = 0.3;
        const LayerTheory t = layerTheory(lin, std::vector<double>(depth, sw2), sb2, q0, c0,
                                          std::vector<int>(depth, 64));
        double q = q0;
        double cross = q0 * c0; // E[h_a h_b]
        for (int l = 1; l <= depth; ++l) {
            const double expected = std::pow(sw2, l) * q0 +
                                    sb2 * (sw2 == 1.0 ? l : (std::pow(sw2, l) - 1.0) / (sw2 - 1.0));
            q = sw2 * q + sb2;
            cross = sw2 * cross + sb2;
            EXPECT_NEAR(t.q[std::size_t(l - 1)], expected, 1e-12 * expected) << sw2 << " l=" << l;
            EXPECT_NEAR(t.c[std::size_t(l - 1)], cross / q, 1e-12) << sw2 << " l=" << l;
        }
        // the backward factor of a linear layer is sw2 exactly
        for (int l = 0; l + 1 < depth; ++l)
            EXPECT_NEAR(t.gradRatio[std::size_t(l)], sw2, 1e-15);
    }
    // scenario 3 of THEORY.md: gain 1.1 over 50 layers multiplies q by ~117, 0.9 by ~0.005
    const LayerTheory up =
        layerTheory(lin, std::vector<double>(50, 1.1), 0.0, 1.0, 0.0, std::vector<int>(50, 8));
    const LayerTheory down =
        layerTheory(lin, std::vector<double>(50, 0.9), 0.0, 1.0, 0.0, std::vector<int>(50, 8));
    EXPECT_NEAR(up.q.back(), std::pow(1.1, 50), 1e-9);
    EXPECT_NEAR(down.q.back(), std::pow(0.9, 50), 1e-15);
}

TEST(MeanField, ReluClosedForms) {
    // q^l = sw2 q^{l-1} / 2 + sb2, chi1 = sw2 / 2 (He et al.; THEORY.md): closed forms, so only
    // rounding: 1e-14 relative. Leaky relu with slope a: sw2 (1 + a^2) / 2.
    const Activation relu(ActivationKind::Relu);
    for (double q : {1e-3, 0.5, 1.0, 7.0, 1e6})
        for (double sw2 : {0.5, 2.0, 3.0}) {
            const double expected = sw2 * q / 2.0 + 0.1;
            EXPECT_NEAR(lengthMap(relu, sw2, 0.1, q), expected, 1e-14 * expected);
            EXPECT_NEAR(sw2 * expectDphi2(relu, q), sw2 / 2.0, 1e-15);
        }
    EXPECT_EQ(criticalSigmaW2(relu, 0.0), 2.0);

    // ordered side: q* = sb2 / (1 - sw2/2), c* = 1, xi_c = -1/ln(chi1)
    const FixedPoint fp = fixedPoint(relu, 1.5, 0.1);
    EXPECT_TRUE(fp.converged);
    EXPECT_NEAR(fp.qStar, 0.1 / (1.0 - 0.75), 1e-13);
    EXPECT_NEAR(fp.chi1, 0.75, 1e-15);
    EXPECT_EQ(fp.cStar, 1.0);
    EXPECT_NEAR(fp.xiC, -1.0 / std::log(0.75), 1e-12);
    EXPECT_EQ(fp.phase, Phase::Ordered);

    // He + relu keeps q constant (scenario 5); Xavier-like sw2 = 1 halves it every layer
    const LayerTheory he =
        layerTheory(relu, std::vector<double>(20, 2.0), 0.0, 1.3, 0.5, std::vector<int>(20, 8));
    const LayerTheory half =
        layerTheory(relu, std::vector<double>(20, 1.0), 0.0, 1.0, 0.5, std::vector<int>(20, 8));
    for (std::size_t l = 1; l < 20; ++l) {
        EXPECT_NEAR(he.q[l], he.q[0], 1e-13 * he.q[0]);
        EXPECT_NEAR(half.q[l], half.q[l - 1] / 2.0, 1e-15 * half.q[l - 1]);
        EXPECT_GT(he.c[l], he.c[l - 1]); // relu correlates inputs (scenario 6): c^l -> 1
    }

    const double a = 0.2;
    const Activation leaky(ActivationKind::LeakyRelu, a);
    EXPECT_NEAR(lengthMap(leaky, 1.7, 0.0, 2.0), 1.7 * 2.0 * (1 + a * a) / 2.0, 1e-14);
    EXPECT_NEAR(criticalSigmaW2(leaky, 0.0), 2.0 / (1.0 + a * a), 1e-15);
    EXPECT_NEAR(fixedPoint(leaky, 1.7, 0.1).chi1, 1.7 * (1 + a * a) / 2.0, 1e-15);
}

TEST(MeanField, TanhAndErfAreCriticalAtUnitSlopeWithoutBias) {
    // With sb2 = 0, q* = 0 and chi1 = sw2 phi'(0)^2: critical at 1/phi'(0)^2, i.e. 1 for tanh,
    // pi/4 for erf (phi'(0) = 2/sqrt(pi)). The brief asks 1e-6; q = 0 is exact here.
    EXPECT_NEAR(criticalSigmaW2(Activation(ActivationKind::Tanh), 0.0), 1.0, 1e-12);
    EXPECT_NEAR(criticalSigmaW2(Activation(ActivationKind::Erf), 0.0), std::numbers::pi / 4.0,
                1e-12);
    // below it tanh collapses to q* = 0 with chi1 = sw2 (ordered), above it q* > 0; c* below
    // is input-dependent (CorrelationLimitsMatchIteratingTheMaps checks it)
    const Activation tanh(ActivationKind::Tanh);
    const FixedPoint below = fixedPoint(tanh, 0.8, 0.0);
    EXPECT_EQ(below.qStar, 0.0);
    EXPECT_NEAR(below.chi1, 0.8, 1e-15);
    EXPECT_EQ(below.phase, Phase::Ordered);
    const FixedPoint above = fixedPoint(tanh, 1.5, 0.0);
    EXPECT_GT(above.qStar, 0.1);
    EXPECT_EQ(above.phase, Phase::Chaotic);
    EXPECT_NEAR(above.cStar, 0.0, 1e-12); // odd phi, no bias: c* = 0
}

// ---- quadrature -----------------------------------------------------------------------------

TEST(MeanField, QuadratureMatchesClosedForms) {
    // The composite quadrature applied to the activations that have closed forms: relu and
    // leaky-relu (kink at 0, arc-cosine kernels), erf (smooth, Williams), linear, sin. This covers
    // the kink handling, c close to +-1 (the near-kink grading of the 2-D rule) and q from 1e-6
    // to 1e10. Measured worst relative error ~3e-14; 1e-11 leaves margin. sin oscillates, and
    // quadrature is never used for it: checked for q <= 4 only (measured 5e-12 there).
    const std::vector<double> cs{-1.0, -0.9, 0.0, 0.4, 0.8, 0.99, 0.9999, 0.9999999, 1.0};
    for (ActivationKind k : {ActivationKind::Relu, ActivationKind::LeakyRelu, ActivationKind::Erf,
                             ActivationKind::Linear, ActivationKind::Sin}) {
        const Activation act(k, 0.2);
        const double qMax = k == ActivationKind::Sin ? 4.0 : 1e10;
        for (double q : {1e-6, 0.3, 2.0, 30.0, 1e4, 1e10}) {
            if (q > qMax)
                continue;
            const double n2 = expectPhi2(act, q);
            const double nd = expectDphi2(act, q);
            for (double c : cs) {
                EXPECT_NEAR(quadratureExpectation(act, Moment::PhiPhi, q, c),
                            expectPhiPhi(act, q, c), 1e-11 * n2)
                    << act.name() << " q=" << q << " c=" << c;
                EXPECT_NEAR(quadratureExpectation(act, Moment::DphiDphi, q, c),
                            expectDphiDphi(act, q, c), 1e-11 * nd)
                    << act.name() << " q=" << q << " c=" << c;
            }
            if (k == ActivationKind::Erf || k == ActivationKind::Sin) {
                EXPECT_NEAR(quadratureExpectation(act, Moment::DdphiPhi, q), expectDdphiPhi(act, q),
                            1e-11 * nd)
                    << act.name() << " q=" << q;
            }
        }
    }
    // hard-tanh's one-dimensional closed forms (phi'' has no distributional part in the
    // quadrature, so E[phi'' phi] is checked through the length-map slope below)
    const Activation ht(ActivationKind::HardTanh);
    for (double q : {1e-3, 0.2, 1.0, 5.0, 1e4}) {
        EXPECT_NEAR(quadratureExpectation(ht, Moment::PhiPhi, q), expectPhi2(ht, q),
                    1e-12 * expectPhi2(ht, q));
        EXPECT_NEAR(quadratureExpectation(ht, Moment::DphiDphi, q), expectDphi2(ht, q), 1e-12);
    }
}

TEST(MeanField, OneDimensionalExpectationsMatchIndependentIntegration) {
    // Reference: uniform Simpson over z in [-12, 12] (cut at the kinks), Richardson-extrapolated,
    // with h = 1/(400 sqrt(max(q,1))) so that phi(sqrt(q) z)'s features (width ~1/sqrt(q)) get
    // ~400 points: O(h^6) error, below 1e-12 on these integrands. Tolerance 1e-10 relative to
    // the expectation's scale (E[phi^2], E[phi'^2]); the quadrature itself is at ~1e-14.
    for (ActivationKind k : allActivations()) {
        const Activation act(k, 0.1);
        for (double q : {0.01, 1.0, 9.0, 400.0}) {
            const double sq = std::sqrt(q);
            std::vector<double> cuts;
            for (double u : kinksOf(k))
                cuts.push_back(u / sq);
            const int perUnit = static_cast<int>(400 * std::max(1.0, sq));
            const double p2 = referenceGaussian(
                [&](double z) { return std::pow(act.phi(sq * z), 2); }, cuts, perUnit);
            const double d2 = referenceGaussian(
                [&](double z) { return std::pow(act.dphi(sq * z), 2); }, cuts, perUnit);
            EXPECT_NEAR(expectPhi2(act, q), p2, 1e-10 * p2) << act.name() << " q=" << q;
            EXPECT_NEAR(expectDphi2(act, q), d2, 1e-10 * d2) << act.name() << " q=" << q;
            if (k != ActivationKind::HardTanh) { // hard-tanh: distributional phi'' (see below)
                const double dd = referenceGaussian(
                    [&](double z) { return act.ddphi(sq * z) * act.phi(sq * z); }, cuts, perUnit);
                EXPECT_NEAR(expectDdphiPhi(act, q), dd, 1e-10 * d2) << act.name() << " q=" << q;
            }
        }
    }
}

TEST(MeanField, TwoDimensionalExpectationsMatchAFineGrid) {
    // E[phi(u1) phi(u2)] and E[phi'(u1) phi'(u2)] against iterated uniform Simpson on a fine
    // grid over [-9, 9]^2 (the mass outside is 2e-19), each direction cut exactly at the kinks
    // and Richardson-extrapolated, with h/2 = 1/40 (1/80 at q = 9, where the features of
    // phi(3 z) are 3 times narrower): O(h^6) ~ 1e-10 on these smooth pieces, as |c| <= 0.8 keeps
    // the smoothed inner integral smooth on the scale 0.75 in z1. Tolerance 1e-8 of E[phi^2] or
    // E[phi'^2]. c near 1 is covered by the closed-form comparison above. The q = 9 case has
    // inner spread sigma = 2.9 >= 2, where the outer panels follow sigma instead of phi's grid.
    struct Case {
        double q, c;
        int perUnit;
        std::vector<ActivationKind> kinds;
    };
    const std::vector<Case> cases{
        {0.7, 0.55, 20, kQuadratureKinds},
        {4.0, -0.8, 20, kQuadratureKinds},
        {9.0, 0.3, 40, {ActivationKind::Tanh, ActivationKind::Selu, ActivationKind::HardTanh}}};
    for (const Case& cs : cases) {
        for (ActivationKind k : cs.kinds) {
            const Activation act(k);
            const double q = cs.q;
            const double c = cs.c;
            const double sq = std::sqrt(q);
            const double s = std::sqrt(1.0 - c * c);
            for (int moment = 0; moment < 2; ++moment) {
                const auto g = [&](double u) { return moment == 0 ? act.phi(u) : act.dphi(u); };
                std::vector<double> outerCuts;
                for (double u : kinksOf(k))
                    outerCuts.push_back(u / sq);
                const auto outer = [&](double z1) {
                    const double m = sq * c * z1;
                    std::vector<double> innerCuts;
                    for (double u : kinksOf(k))
                        innerCuts.push_back((u - m) / (sq * s));
                    return g(sq * z1) *
                           referenceGaussian([&](double z2) { return g(m + sq * s * z2); },
                                             innerCuts, cs.perUnit, 9.0);
                };
                const double ref = referenceGaussian(outer, outerCuts, cs.perUnit, 9.0);
                const double got =
                    moment == 0 ? expectPhiPhi(act, q, c) : expectDphiDphi(act, q, c);
                const double scale = moment == 0 ? expectPhi2(act, q) : expectDphi2(act, q);
                EXPECT_NEAR(got, ref, 1e-8 * scale)
                    << act.name() << " q=" << q << " c=" << c << " m=" << moment;
            }
        }
    }
}

TEST(MeanField, PriceTheoremLinksTheTwoCorrelationIntegrals) {
    // d/dc E[phi(u1) phi(u2)] = q E[phi'(u1) phi'(u2)] (Price's theorem): two different 2-D
    // quadratures checked against each other for every activation and c up to 0.99. Central
    // difference with step 1e-5: truncation h^2/6 E''' where E''' ~ (1 - c)^(-3/2) for a jump
    // in phi' (hard-tanh, selu), ~2e-8 at c = 0.99; rounding ~1e-15 / 1e-5; 1e-6 relative.
    for (ActivationKind k : allActivations()) {
        const Activation act(k, 0.1);
        for (double q : {0.3, 2.0, 25.0}) {
            for (double c : {-0.5, 0.2, 0.9, 0.99}) {
                const double h = 1e-5;
                const double fd =
                    (expectPhiPhi(act, q, c + h) - expectPhiPhi(act, q, c - h)) / (2 * h);
                const double price = q * expectDphiDphi(act, q, c);
                EXPECT_NEAR(fd, price, 1e-6 * q * expectDphi2(act, q))
                    << act.name() << " q=" << q << " c=" << c;
            }
        }
    }
}

TEST(MeanField, LengthMapSlopeIsChi1PlusPhiSecondTerm) {
    // dq^l/dq^{l-1} = sw2 (E[phi'^2] + E[phi'' phi]) (Stein's lemma): this is what xi_q measures.
    // Checked by a central difference of the length map (step 1e-5 q: error ~1e-10) for every
    // activation, including hard-tanh's distributional phi''. 1e-7 relative to chi1.
    for (ActivationKind k : allActivations()) {
        const Activation act(k, 0.1);
        for (double q : {0.05, 0.8, 3.0}) {
            const double sw2 = 1.3;
            const double h = 1e-5 * q;
            const double fd =
                (lengthMap(act, sw2, 0.1, q + h) - lengthMap(act, sw2, 0.1, q - h)) / (2 * h);
            const double slope = sw2 * (expectDphi2(act, q) + expectDdphiPhi(act, q));
            EXPECT_NEAR(fd, slope, 1e-7 * sw2 * expectDphi2(act, q)) << act.name() << " q=" << q;
        }
    }
}

TEST(MeanField, PlainGaussHermiteWouldNotBeEnough) {
    // Why the quadrature is composite: a 100-node Gauss-Hermite rule (Golub-Welsch: eigenvalues
    // of the Jacobi matrix of the probabilists' Hermite recurrence, off-diagonal sqrt(k)) misses
    // E[selu'(u)^2] at q = 1 (kink at 0) and E[tanh'(u)^2] at q = 100 (features narrower than
    // the node spacing) by more than 1e-3, while ours agrees with the independent references
    // above to 1e-10.
    const int n = 100;
    Eigen::MatrixXd jacobi = Eigen::MatrixXd::Zero(n, n);
    for (int k = 1; k < n; ++k)
        jacobi(k, k - 1) = jacobi(k - 1, k) = std::sqrt(double(k));
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(jacobi);
    std::vector<double> x(n), w(n);
    for (int i = 0; i < n; ++i) {
        x[std::size_t(i)] = es.eigenvalues()(i);
        w[std::size_t(i)] = es.eigenvectors()(0, i) * es.eigenvectors()(0, i);
    }
    const auto gh = [&](auto f) {
        double s = 0;
        for (int i = 0; i < n; ++i)
            s += w[std::size_t(i)] * f(x[std::size_t(i)]);
        return s;
    };
    EXPECT_NEAR(gh([](double) { return 1.0; }), 1.0, 1e-12); // the rule integrates N(0,1)
    EXPECT_NEAR(gh([](double z) { return z * z * z * z; }), 3.0, 1e-10);
    const Activation selu(ActivationKind::Selu);
    const Activation tanh(ActivationKind::Tanh);
    const double seluGh = gh([&](double z) { return std::pow(selu.dphi(z), 2); });
    const double tanhGh = gh([&](double z) { return std::pow(tanh.dphi(10.0 * z), 2); });
    EXPECT_GT(std::abs(seluGh - expectDphi2(selu, 1.0)), 1e-3);
    EXPECT_GT(std::abs(tanhGh - expectDphi2(tanh, 100.0)), 1e-3);
}

// ---- critical points ----------------------------------------------------------------------

TEST(MeanField, CriticalSigmaW2GivesUnitChi1) {
    // fixedPoint at the returned sigma_w^2 must find chi1 = 1 to 1e-8 (the brief; tests
    // elsewhere rely on 1e-6). Both use the same quadrature, so the residual is the root
    // finders' (~1e-15). Relu-type: chi1 = sw2 (1 + a^2) / 2 for every q, so the critical
    // sigma_w^2 holds for every sigma_b^2, though q* diverges (linearly) when sigma_b^2 > 0.
    for (ActivationKind k : {ActivationKind::Tanh, ActivationKind::Erf, ActivationKind::Relu,
                             ActivationKind::LeakyRelu, ActivationKind::Linear,
                             ActivationKind::Sigmoid, ActivationKind::HardTanh,
                             ActivationKind::Selu, ActivationKind::Elu, ActivationKind::Sin}) {
        const Activation act(k, 0.1);
        for (double sb2 : {0.0, 1e-4, 0.05, 0.3, 1.0, 3.0}) {
            const double sw2 = criticalSigmaW2(act, sb2);
            ASSERT_TRUE(std::isfinite(sw2)) << act.name() << " sb2=" << sb2;
            const FixedPoint fp = fixedPoint(act, sw2, sb2);
            EXPECT_NEAR(fp.chi1, 1.0, 1e-8) << act.name() << " sb2=" << sb2;
            EXPECT_EQ(fp.phase, Phase::Critical) << act.name() << " sb2=" << sb2;
        }
    }
    // the tanh critical line rises with the bias (Schoenholz et al. Fig. 1: ~1.76 at 0.05)
    const Activation tanh(ActivationKind::Tanh);
    EXPECT_NEAR(criticalSigmaW2(tanh, 0.05), 1.76, 0.01);
    double prev = 1.0;
    for (double sb2 : {0.01, 0.1, 0.5, 1.0, 2.0}) {
        const double sw2 = criticalSigmaW2(tanh, sb2);
        EXPECT_GT(sw2, prev);
        prev = sw2;
    }
}

TEST(MeanField, NoCriticalPointIsNaN) {
    // softplus: chi1 < 1 wherever q* is finite (sigma_b^2(q) on the parameterised line is < 0);
    // gelu without bias: the chi1 = 1 fixed point (q = 0, sw2 = 4) is unstable, q diverges;
    // negative or non-finite sigma_b^2 is not a network.
    EXPECT_TRUE(std::isnan(criticalSigmaW2(Activation(ActivationKind::Softplus), 0.05)));
    EXPECT_TRUE(std::isnan(criticalSigmaW2(Activation(ActivationKind::Gelu), 0.0)));
    EXPECT_TRUE(std::isnan(criticalSigmaW2(Activation(ActivationKind::Tanh), -0.1)));
    EXPECT_TRUE(std::isnan(criticalSigmaW2(Activation(ActivationKind::Tanh), kInf)));
}

TEST(MeanField, CriticalLinePointsHaveUnitChi1) {
    // Each point of the parameterised line is a fixed point with chi1 = 1 by construction; the
    // check is that fixedPoint (iterating from q0 = 1) finds that same q* and chi1, and that
    // criticalSigmaW2 at the point's sigma_b^2 returns its sigma_w^2. 1e-8 as above.
    for (ActivationKind k : {ActivationKind::Tanh, ActivationKind::Erf}) {
        const Activation act(k);
        const std::vector<CriticalPoint> line = criticalLine(act, 0.0, 4.0, 9);
        ASSERT_EQ(line.size(), 9u);
        EXPECT_EQ(line.front().sigmaB2, 0.0);
        for (const CriticalPoint& p : line) {
            const FixedPoint fp = fixedPoint(act, p.sigmaW2, p.sigmaB2);
            EXPECT_NEAR(fp.chi1, 1.0, 1e-8) << act.name() << " q=" << p.qStar;
            if (p.qStar > 0) {
                EXPECT_NEAR(fp.qStar, p.qStar, 1e-8 * p.qStar);
            }
            EXPECT_NEAR(criticalSigmaW2(act, p.sigmaB2), p.sigmaW2, 1e-8)
                << act.name() << " q=" << p.qStar;
        }
    }
    // sigmoid: the line starts at sigma_b^2 = -4 (q = 0); the negative part is dropped
    const std::vector<CriticalPoint> sig =
        criticalLine(Activation(ActivationKind::Sigmoid), 0.0, 100.0, 21);
    EXPECT_LT(sig.size(), 21u);
    for (const CriticalPoint& p : sig)
        EXPECT_GE(p.sigmaB2, 0.0);
}

// ---- fixed points and depth scales -----------------------------------------------------------

TEST(MeanField, FixedPointsSatisfyTheirMaps) {
    // q* = L(q*) and c* = C(c*) to the root finders' precision (1e-12 relative), and plain
    // iteration of the maps (what a deep network does) ends there too: 30 depth scales (400
    // layers for q, whose depth scale is <= 10 where checked; 30 xi_c + 5 for c) leave e^-30 ~
    // 1e-13 of the start; 1e-9 margin.
    for (ActivationKind k : kQuadratureKinds) {
        const Activation act(k);
        for (double sw2 : {0.8, 1.6, 4.0}) { // ordered, near critical, chaotic (tanh, hard-tanh)
            const double sb2 = 0.05;
            const FixedPoint fp = fixedPoint(act, sw2, sb2);
            if (!fp.converged) {
                EXPECT_EQ(fp.qStar, kInf) << act.name() << " " << sw2;
                continue;
            }
            EXPECT_NEAR(lengthMap(act, sw2, sb2, fp.qStar), fp.qStar, 1e-12 * fp.qStar)
                << act.name() << " " << sw2;
            EXPECT_NEAR(correlationMap(act, sw2, sb2, fp.qStar, fp.cStar), fp.cStar, 1e-12)
                << act.name() << " " << sw2;
            if (std::abs(fp.chi1 - 1.0) < 0.1 || fp.xiQ > 10)
                continue; // slow approach: iteration would need thousands of layers
            const int layersC = fp.xiC < 8 ? static_cast<int>(30 * fp.xiC) + 5 : 0;
            double q = 1.0;
            double c = 0.5;
            for (int l = 0; l < 400; ++l) {
                if (l < layersC)
                    c = correlationMap(act, sw2, sb2, q, c);
                q = lengthMap(act, sw2, sb2, q);
            }
            EXPECT_NEAR(q, fp.qStar, 1e-9 * fp.qStar) << act.name() << " " << sw2;
            if (layersC > 0) {
                EXPECT_NEAR(c, fp.cStar, 1e-9) << act.name() << " " << sw2;
            }
        }
    }
}

TEST(MeanField, TanhPhasesOnEitherSideOfTheCriticalLine) {
    // tanh at sb2 = 0.05 (scenario 7): ordered below the critical sigma_w^2 (chi1 < 1, c* = 1),
    // chaotic above (chi1 > 1, c* < 1), and xi_c grows like 1/|sw2 - sw2_c| towards it from
    // both sides (xi_c ~ 1/|1 - chi1| to first order): each tenfold step closer multiplies it
    // by between 5 and 20.
    const Activation tanh(ActivationKind::Tanh);
    const double sb2 = 0.05;
    const double crit = criticalSigmaW2(tanh, sb2);
    for (double side : {-1.0, 1.0}) {
        double prevXi = 0;
        for (double eps : {0.3, 0.03, 0.003}) {
            const FixedPoint fp = fixedPoint(tanh, crit + side * eps, sb2);
            EXPECT_TRUE(fp.converged);
            if (side < 0) {
                EXPECT_LT(fp.chi1, 1.0);
                EXPECT_EQ(fp.cStar, 1.0);
            } else {
                EXPECT_GT(fp.chi1, 1.0);
                EXPECT_LT(fp.cStar, 1.0);
            }
            if (eps > 0.01) {
                EXPECT_EQ(fp.phase, side < 0 ? Phase::Ordered : Phase::Chaotic) << eps;
            }
            if (prevXi > 0) {
                EXPECT_GT(fp.xiC, 5.0 * prevXi) << side << " " << eps;
                EXPECT_LT(fp.xiC, 20.0 * prevXi) << side << " " << eps;
            }
            prevXi = fp.xiC;
        }
    }
    const FixedPoint at = fixedPoint(tanh, crit, sb2);
    EXPECT_GT(at.xiC, 1e6);
    EXPECT_EQ(at.phase, Phase::Critical);
}

TEST(MeanField, DivergingLengthMapReportsTheLimit) {
    // relu above sw2 = 2 and linear above 1: q grows without bound. q* = inf, not converged,
    // chi1 is the q -> infinity limit (exact for these), chaotic.
    const FixedPoint relu = fixedPoint(Activation(ActivationKind::Relu), 3.0, 0.1);
    EXPECT_FALSE(relu.converged);
    EXPECT_EQ(relu.qStar, kInf);
    EXPECT_NEAR(relu.chi1, 1.5, 1e-15);
    EXPECT_EQ(relu.phase, Phase::Chaotic);
    EXPECT_EQ(relu.cStar, 1.0);
    const FixedPoint lin = fixedPoint(Activation(ActivationKind::Linear), 1.0, 0.1);
    EXPECT_FALSE(lin.converged); // q grows by sb2 per layer
    EXPECT_EQ(lin.chi1, 1.0);
    // selu at sw2 = 3: like relu with slope lambda on the positive side
    const FixedPoint selu = fixedPoint(Activation(ActivationKind::Selu), 3.0, 0.0);
    EXPECT_FALSE(selu.converged);
    EXPECT_NEAR(selu.chi1, 3.0 * 1.0507009873554805 * 1.0507009873554805 / 2.0, 1e-9);
}

TEST(MeanField, QStarZeroIsALimitWithOneSidedDerivatives) {
    // relu with sw2 = 1, sb2 = 0 halves q every layer: q* = 0, but chi1 is the limit sw2/2, not
    // sw2 phi'(0)^2 = 0. selu likewise averages its two slopes at 0. The c-map of relu does not
    // depend on q, and its slope at c = 1 is 1: c -> 1 polynomially, xi_c infinite.
    const FixedPoint relu = fixedPoint(Activation(ActivationKind::Relu), 1.0, 0.0);
    EXPECT_EQ(relu.qStar, 0.0);
    EXPECT_NEAR(relu.chi1, 0.5, 1e-15);
    EXPECT_NEAR(relu.xiQ, -1.0 / std::log(0.5), 1e-12); // q^l = q0 / 2^l
    EXPECT_EQ(relu.cStar, 1.0);
    EXPECT_EQ(relu.xiC, kInf);
    const double l = 1.0507009873554805;
    const double la = l * 1.6732632423543772;
    const FixedPoint selu = fixedPoint(Activation(ActivationKind::Selu), 0.3, 0.0);
    EXPECT_EQ(selu.qStar, 0.0);
    EXPECT_NEAR(selu.chi1, 0.3 * (l * l + la * la) / 2.0, 1e-12);
    // with exactly zero input and no bias nothing is a limit: phi'(0) as defined
    const FixedPoint zero = fixedPoint(Activation(ActivationKind::Relu), 1.0, 0.0, 0.0);
    EXPECT_EQ(zero.qStar, 0.0);
    EXPECT_EQ(zero.chi1, 0.0);
}

namespace {

/// Slope of the correlation map in c at (q, c) by a central difference of width h, kept inside
/// [-1, 1]: the brute-force chi_c, independent of the Price-theorem formula fixedPoint uses.
double correlationSlope(const Activation& act, double sw2, double sb2, double q, double c,
                        double h) {
    const double hi = std::min(c + h, 1.0);
    const double lo = hi - 2.0 * h;
    return (correlationMap(act, sw2, sb2, q, hi) - correlationMap(act, sw2, sb2, q, lo)) /
           (hi - lo);
}

} // namespace

TEST(MeanField, CorrelationLimitsMatchIteratingTheMaps) {
    // Where q* = 0 is only a limit (sb2 = 0, ordered) or q diverges, c* and xi_c must be what
    // iterating the joint maps from (q0, c0) = (1, 0.2) gives (fixedPoint iterates from the
    // same pre-activation pair). xi_c is the depth scale of a perturbation of c: the map's slope
    // in c at the end of the iteration is exp(-1/xi_c), here 1 (xi_c = inf).
    //  - one slope at 0 (linear, tanh, erf, sin, hard-tanh): the c-map tends to the identity,
    //    c^l settles on an input-dependent value within ~30 layers (q^l ~ sw2^l, deviations
    //    O(q^2)); after 300 layers (q ~ 1e-90) c^300 is the limit up to the rounding of 300 map
    //    evaluations (1e-12), and the slope there is 1 to 1e-9 (the deviation is O(q)).
    //  - two slopes (relu, leaky-relu, selu): a leaky-relu map pulls c to 1 like 1/l^2, so
    //    1 - c^l falls by ~4 from l = 200 to 400 (exponential convergence at the old formula's
    //    rate 1/2 would give 2^-200) and the slope at c^400 is within 2e-2 of 1 (1 - f'(c) ~
    //    sqrt(2 (1 - c)) / pi for relu); c* = 1.
    struct Case {
        ActivationKind kind;
        double sw2, sb2;
        bool twoSlopes;
    };
    const std::vector<Case> cases{
        {ActivationKind::Linear, 0.5, 0.0, false},   {ActivationKind::Tanh, 0.5, 0.0, false},
        {ActivationKind::Erf, 0.5, 0.0, false},      {ActivationKind::Sin, 0.5, 0.0, false},
        {ActivationKind::HardTanh, 0.5, 0.0, false}, {ActivationKind::Relu, 1.0, 0.0, true},
        {ActivationKind::LeakyRelu, 1.0, 0.0, true}, {ActivationKind::Selu, 0.3, 0.0, true},
        {ActivationKind::Relu, 3.0, 0.1, true}, // diverging: relu-like at q -> infinity
    };
    const double q0 = 1.0, c0 = 0.2;
    for (const Case& cs : cases) {
        const Activation act(cs.kind, 0.1);
        const FixedPoint fp = fixedPoint(act, cs.sw2, cs.sb2, q0, c0);
        const int layers = cs.twoSlopes ? 400 : 300;
        double q = q0, c = c0, cHalf = 0, qHalf = 0;
        for (int l = 1; l <= layers; ++l) {
            c = correlationMap(act, cs.sw2, cs.sb2, q, c);
            q = lengthMap(act, cs.sw2, cs.sb2, q);
            if (l == layers / 2) {
                cHalf = c;
                qHalf = q;
            }
        }
        EXPECT_EQ(fp.xiC, kInf) << act.name();
        if (cs.twoSlopes) {
            EXPECT_EQ(fp.cStar, 1.0) << act.name();
            const double ratio = (1.0 - cHalf) / (1.0 - c);
            EXPECT_GT(ratio, 3.0) << act.name();
            EXPECT_LT(ratio, 5.0) << act.name();
            const double slope = correlationSlope(act, cs.sw2, cs.sb2, q, c, 0.1 * (1.0 - c));
            EXPECT_NEAR(slope, 1.0, 2e-2) << act.name();
        } else {
            EXPECT_NEAR(fp.cStar, c, 1e-12) << act.name();
            EXPECT_NEAR(cHalf, c, 1e-12) << act.name(); // settled: the limit, not a snapshot
            EXPECT_GT(std::abs(c - c0), cs.kind == ActivationKind::Linear ? -1.0 : 1e-3)
                << act.name(); // it is not simply c0 (except for linear)
            EXPECT_NEAR(correlationSlope(act, cs.sw2, cs.sb2, qHalf, cHalf, 1e-3), 1.0, 1e-9)
                << act.name();
        }
    }
    // linear with a diverging length map: c* = c0 without bias; with a bias k = q c and q both
    // obey x -> sw2 x + sb2, so c^l -> (q0 c0 + beta) / (q0 + beta), beta = sb2 / (sw2 - 1),
    // reached geometrically (rate 1/sw2: 2^-200 after 200 layers). 1e-12: rounding.
    const Activation lin(ActivationKind::Linear);
    EXPECT_EQ(fixedPoint(lin, 2.0, 0.0, q0, c0).cStar, c0);
    double q = q0, c = c0;
    for (int l = 0; l < 200; ++l) {
        c = correlationMap(lin, 2.0, 0.3, q, c);
        q = lengthMap(lin, 2.0, 0.3, q);
    }
    const FixedPoint linB = fixedPoint(lin, 2.0, 0.3, q0, c0);
    EXPECT_NEAR(linB.cStar, c, 1e-12);
    EXPECT_NEAR(linB.cStar, (q0 * c0 + 0.3) / (q0 + 0.3), 1e-15);
    EXPECT_EQ(linB.xiC, kInf);
    // every (q, c) is fixed at linear sw2 = 1 without bias
    EXPECT_EQ(fixedPoint(lin, 1.0, 0.0, q0, c0).cStar, c0);
    // a NaN c0 leaves c* NaN where it depends on the input, not elsewhere
    EXPECT_TRUE(std::isnan(fixedPoint(Activation(ActivationKind::Tanh), 0.5, 0.0, 1.0,
                                      std::numeric_limits<double>::quiet_NaN())
                               .cStar));
    EXPECT_EQ(fixedPoint(Activation(ActivationKind::Relu), 1.0, 0.0, 1.0,
                         std::numeric_limits<double>::quiet_NaN())
                  .cStar,
              1.0);
}

TEST(MeanField, ProperFixedPointDepthScaleIsTheSlopeThere) {
    // At a genuine fixed point q* > 0 (sb2 > 0) chi_c = sw2 E[phi'(u1) phi'(u2)] at (q*, c*) is
    // the c-map's slope there: compared with a difference quotient of width 1e-8 (below c* = 1
    // in the ordered phase: one-sided; a jump in phi' (relu) makes the slope deviate like
    // sqrt(1 - c), ~1e-4 here; rounding 1e-16 / 1e-8). 1e-3.
    for (ActivationKind k : {ActivationKind::Tanh, ActivationKind::Relu, ActivationKind::Erf}) {
        const Activation act(k);
        for (double sw2 : {0.8, 2.5}) {
            const double sb2 = 0.3;
            const FixedPoint fp = fixedPoint(act, sw2, sb2);
            if (!fp.converged)
                continue;
            const double slope = correlationSlope(act, sw2, sb2, fp.qStar, fp.cStar, 1e-8);
            EXPECT_NEAR(slope, std::exp(-1.0 / fp.xiC), 1e-3) << act.name() << " " << sw2;
        }
    }
}

TEST(MeanField, HardTanhWithoutBiasCollapsesAtUnitWeightVariance) {
    // hard-tanh at sw2 = 1, sb2 = 0: E[phi^2] = q - q E[(z^2 - t^2) 1{|z| > t}] < q for every
    // q > 0 (t = 1/sqrt q), so q* = 0; the deficit ~exp(-1/(2q)) falls below the rounding of q
    // near q ~ 0.03, which must not be taken for a fixed point. Just above sw2 = 1 the map
    // rises above the diagonal at small q: a genuine q* > 0, a root to 1e-12.
    const Activation ht(ActivationKind::HardTanh);
    const FixedPoint at = fixedPoint(ht, 1.0, 0.0);
    EXPECT_EQ(at.qStar, 0.0);
    EXPECT_NEAR(at.chi1, 1.0, 1e-15);
    for (double q : {1.0, 0.1, 0.05})
        EXPECT_LT(lengthMap(ht, 1.0, 0.0, q), q) << q;
    EXPECT_EQ(fixedPoint(ht, 0.9, 0.0).qStar, 0.0);
    const FixedPoint above = fixedPoint(ht, 1.2, 0.0);
    EXPECT_GT(above.qStar, 0.1);
    EXPECT_NEAR(lengthMap(ht, 1.2, 0.0, above.qStar), above.qStar, 1e-12 * above.qStar);
}

TEST(MeanField, HardTanhTwoDimensionalExpectationsMatchTheirClosedForms) {
    // With t = 1/sqrt(q), u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + s z2), s = sqrt(1 - c^2):
    //   E[phi'(u1) phi'(u2)] = P(|u1| < 1, |u2| < 1) = E_z1[1{|z1| < t} (Phi(b) - Phi(a))],
    //   E[phi(u1) phi(u2)]  = E_z1[phi(u1) M(sqrt(q) c z1, sqrt(q) s)],
    // M(m, sigma) = E[clamp(m + sigma Z, -1, 1)] = m (Phi(b) - Phi(a)) + sigma (pdf(a) - pdf(b))
    // + Phi(-b) - Phi(a), a = (-1 - m)/sigma, b = (1 - m)/sigma: one-dimensional integrals of
    // analytic pieces, integrated by the Richardson-extrapolated Simpson reference cut at z1 =
    // +-t and, where sigma is small (c near +-1), around the near-kinks z1 = +-t/c at 0..12
    // sigma in u, with at least 1024 intervals per piece (a piece a few sigma wide holds a
    // whole erf step; raising the minimum from 64 moved the reference by 1e-8 onto the engine's
    // value, which a 30-digit integration confirms at q = 0.5, c = 1 - 1e-8). The engine nests
    // two quadratures. Tolerance 1e-9 of the diagonal value, for c up to 1 - 1e-8 and c = +-1
    // (closed forms).
    const Activation ht(ActivationKind::HardTanh);
    const auto Phi = [](double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); };
    for (double q : {0.5, 8.9036, 100.0}) {
        const double sq = std::sqrt(q), t = 1.0 / sq;
        for (double c : {-1.0, -0.9999, 0.3, 0.9, 0.99, 0.9999, 1.0 - 1e-8, 1.0}) {
            const double s = std::sqrt((1.0 - c) * (1.0 + c));
            const double sigma = sq * s;
            std::vector<double> cuts{-t, t};
            if (c != 0)
                for (double k : {-1.0, 1.0})
                    for (double v : {0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0})
                        for (double sgn : {-1.0, 1.0})
                            cuts.push_back((k + sgn * v * sigma) / (sq * c));
            const auto inner = [&](double z1, bool deriv) {
                const double m = sq * c * z1;
                if (sigma == 0)
                    return deriv ? (std::abs(m) < 1.0 ? 1.0 : 0.0) : std::clamp(m, -1.0, 1.0);
                const double a = (-1.0 - m) / sigma, b = (1.0 - m) / sigma;
                if (deriv)
                    return Phi(b) - Phi(a);
                return m * (Phi(b) - Phi(a)) + sigma * (pdf(a) - pdf(b)) + Phi(-b) - Phi(a);
            };
            const double dd = referenceGaussian(
                [&](double z1) { return std::abs(z1) < t ? inner(z1, true) : 0.0; }, cuts, 400,
                12.0, 1024);
            const double pp =
                referenceGaussian([&](double z1) { return ht.phi(sq * z1) * inner(z1, false); },
                                  cuts, 400, 12.0, 1024);
            EXPECT_NEAR(expectDphiDphi(ht, q, c), dd, 1e-9 * expectDphi2(ht, q))
                << "q=" << q << " c=" << c;
            EXPECT_NEAR(expectPhiPhi(ht, q, c), pp, 1e-9 * expectPhi2(ht, q))
                << "q=" << q << " c=" << c;
        }
    }
}

// ---- per-layer prediction ---------------------------------------------------------------------

TEST(MeanField, LayerTheoryGradientRatioIsSigmaW2TimesMeanPhiPrimeSquared) {
    // E||delta^l||^2 / E||delta^{l+1}||^2 = sw2^{l+1} E[phi'(sqrt(q^l) z)^2] with the next
    // layer's sigma_w^2; E||delta^L||^2 = N_L E[phi'(sqrt(q^L) z)^2]; the last ratio is NaN.
    // Same expectations on both sides: 1e-14 relative.
    const Activation tanh(ActivationKind::Tanh);
    const std::vector<double> sw2{1.0, 1.4, 2.2, 0.7, 1.9, 3.0};
    const std::vector<int> widths{30, 40, 50, 60, 70, 80};
    const double sb2 = 0.1;
    const LayerTheory t = layerTheory(tanh, sw2, sb2, 1.2, 0.4, widths);
    ASSERT_EQ(t.q.size(), sw2.size());
    ASSERT_EQ(t.gradRatio.size(), sw2.size());
    EXPECT_NEAR(t.q[0], sw2[0] * 1.2 + sb2, 1e-15);
    for (std::size_t l = 1; l < sw2.size(); ++l)
        EXPECT_NEAR(t.q[l], sw2[l] * expectPhi2(tanh, t.q[l - 1]) + sb2, 1e-14 * t.q[l]);
    EXPECT_NEAR(t.gradH2.back(), 80 * expectDphi2(tanh, t.q.back()), 1e-13 * t.gradH2.back());
    for (std::size_t l = 0; l + 1 < sw2.size(); ++l) {
        const double ratio = sw2[l + 1] * expectDphi2(tanh, t.q[l]);
        EXPECT_NEAR(t.gradRatio[l], ratio, 1e-14 * ratio) << l;
        EXPECT_NEAR(t.gradH2[l] / t.gradH2[l + 1], ratio, 1e-13 * ratio) << l;
    }
    EXPECT_TRUE(std::isnan(t.gradRatio.back()));
    // at the fixed point the ratio is chi1 (THEORY.md)
    const FixedPoint fp = fixedPoint(tanh, 3.0, sb2); // xi_c ~ 7: 200 layers converge
    const LayerTheory deep =
        layerTheory(tanh, std::vector<double>(200, 3.0), sb2, 1.0, 0.3, std::vector<int>(200, 10));
    EXPECT_NEAR(deep.gradRatio[150], fp.chi1, 1e-12);
    EXPECT_NEAR(deep.c.back(), fp.cStar, 1e-9);
    EXPECT_THROW(layerTheory(tanh, sw2, sb2, 1.0, 0.0, std::vector<int>(3, 1)),
                 std::invalid_argument);
}

// ---- edge cases -------------------------------------------------------------------------------

TEST(MeanField, EdgeCasesAreFiniteAndConsistent) {
    for (ActivationKind k : allActivations()) {
        const Activation act(k, 0.1);
        // q = 0: phi evaluated at 0 exactly
        EXPECT_EQ(expectPhi2(act, 0.0), act.phi(0.0) * act.phi(0.0)) << act.name();
        EXPECT_EQ(expectDphi2(act, 0.0), act.dphi(0.0) * act.dphi(0.0)) << act.name();
        EXPECT_EQ(expectPhiPhi(act, 0.0, 0.3), act.phi(0.0) * act.phi(0.0)) << act.name();
        // c -> 1 is continuous (sqrt(1 - c^2) -> 0): 1e-7 of the scale at c = 1 - 1e-12
        for (double q : {0.5, 50.0}) {
            EXPECT_NEAR(expectPhiPhi(act, q, 1.0 - 1e-12), expectPhi2(act, q),
                        1e-7 * expectPhi2(act, q))
                << act.name();
            EXPECT_NEAR(expectPhiPhi(act, q, 1.0), expectPhi2(act, q), 1e-14 * expectPhi2(act, q))
                << act.name();
            EXPECT_NEAR(expectDphiDphi(act, q, 1.0 + 1e-9), expectDphi2(act, q), 1e-14)
                << act.name(); // clamped
            // correlation map at c = 1 is 1
            EXPECT_NEAR(correlationMap(act, 1.5, 0.1, q, 1.0), 1.0, 1e-14) << act.name();
        }
        // huge and tiny q: never NaN
        for (double q : {1e-300, 1e-30, 1e30, 1e300, std::numeric_limits<double>::max(), kInf}) {
            EXPECT_FALSE(std::isnan(expectPhi2(act, q))) << act.name() << " " << q;
            EXPECT_FALSE(std::isnan(expectDphi2(act, q))) << act.name() << " " << q;
            EXPECT_FALSE(std::isnan(expectDdphiPhi(act, q))) << act.name() << " " << q;
            EXPECT_FALSE(std::isnan(expectPhiPhi(act, q, 0.3))) << act.name() << " " << q;
            const double c = correlationMap(act, 2.0, 0.1, q, 0.3);
            EXPECT_TRUE(c >= -1.0 && c <= 1.0) << act.name() << " " << q;
        }
        const FixedPoint fp = fixedPoint(act, 2.5, 0.1);
        EXPECT_FALSE(std::isnan(fp.chi1) || std::isnan(fp.cStar) || std::isnan(fp.xiQ) ||
                     std::isnan(fp.xiC))
            << act.name();
        // a network whose lengths overflow (relu: x5e5 per layer reaches inf by layer 55):
        // nothing becomes NaN
        const LayerTheory t =
            layerTheory(act, std::vector<double>(60, 1e6), 0.1, 1.0, 0.2, std::vector<int>(60, 4));
        for (std::size_t l = 0; l < 60; ++l) {
            EXPECT_FALSE(std::isnan(t.q[l]) || std::isnan(t.c[l]) || std::isnan(t.gradH2[l]))
                << act.name() << l;
            if (l + 1 < 60) {
                EXPECT_FALSE(std::isnan(t.gradRatio[l])) << act.name() << l;
            }
        }
    }
    EXPECT_EQ(expectDphi2(Activation(ActivationKind::Relu), 0.0), 0.0); // relu'(0) = 0
    // an odd activation at c = -1: E[phi(u) phi(-u)] = -E[phi^2]
    const Activation tanh(ActivationKind::Tanh);
    EXPECT_NEAR(expectPhiPhi(tanh, 2.0, -1.0), -expectPhi2(tanh, 2.0), 1e-15);
    // degenerate output length: the correlation map reports collapse (c = 1)
    EXPECT_EQ(correlationMap(tanh, 1.0, 0.0, 0.0, 0.2), 1.0);
    // invalid parameters give NaN, not a hang
    EXPECT_TRUE(std::isnan(fixedPoint(tanh, -1.0, 0.1).qStar));
    EXPECT_TRUE(std::isnan(fixedPoint(tanh, 1.0, 0.1, std::nan("")).chi1));
}

TEST(MeanField, PhaseNamesAndClassification) {
    EXPECT_EQ(phaseName(Phase::Ordered), "ordered");
    EXPECT_EQ(phaseName(Phase::Critical), "critical");
    EXPECT_EQ(phaseName(Phase::Chaotic), "chaotic");
    EXPECT_EQ(classify(0.5), Phase::Ordered);
    EXPECT_EQ(classify(1.0 + 0.5 * kCriticalTolerance), Phase::Critical);
    EXPECT_EQ(classify(1.0 - 0.5 * kCriticalTolerance), Phase::Critical);
    EXPECT_EQ(classify(1.5), Phase::Chaotic);
    EXPECT_EQ(classify(kInf), Phase::Chaotic);
}

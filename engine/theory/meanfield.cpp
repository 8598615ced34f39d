// Mean-field theory: Gaussian expectations, the length and correlation maps, their fixed points,
// the depth scales and the critical line (meanfield.h, THEORY.md).
//
// Expectations. Closed forms where they exist (linear, relu, leaky-relu, erf, sin, hard-tanh in
// one dimension). Everything else is integrated in z over [-10, 10] (the Gaussian mass outside is
// 1.5e-23) by Gauss-Legendre panels whose edges are placed where the integrand needs them:
//  - at every kink of the activation (relu-like points of selu/elu at 0, hard-tanh at +-1), so
//    that each panel sees a function that is analytic on it;
//  - on a grid in u = m + s z graded around the activation's features at u = 0: the smooth
//    activations have their complex singularities on the imaginary axis (tanh at +-i pi/2), so a
//    panel [u, u + w] is fine as long as w is small compared with the distance to the origin
//    plus pi/2; the grid is 0.5 wide near 0 and grows geometrically beyond;
//  - at unit spacing in z (the Gaussian's own scale) where no finer edge is near.
// With 8 nodes per panel each panel is accurate to ~1e-15 relative; the tests compare with the
// closed forms (1e-11) and with an independent uniform-grid integration (1e-10, 2-D 1e-8).
// Two-dimensional expectations integrate over z1 the product phi(sqrt q z1) H(z1), where
// H(z1) = E_z2[phi(sqrt q (c z1 + s z2))] is itself such a one-dimensional integral (with its
// own kinks as panel edges). H is the activation smoothed over sigma = sqrt(q) s, so when an
// activation has a kink and sigma is small, H has a near-kink of width sigma: the outer panels
// are graded around it, down to that width.
#include "theory/meanfield.h"

#include <Eigen/Eigenvalues>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <span>
#include <stdexcept>
#include <utility>

namespace initscope::meanfield {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxDouble = std::numeric_limits<double>::max();
constexpr double kPi = std::numbers::pi;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438; // 1/sqrt(2 pi)

/// The stand-in for q -> 0+ (a limit reached by iteration, never exactly 0): sqrt(q) z is then
/// nonzero with the sign of z, so one-sided derivatives at a kink come out right.
constexpr double kTinyQ = 1e-300;
/// The stand-in for q -> infinity when the length map diverges: the activations' features then
/// occupy a fraction ~1e-99 of the Gaussian, so expectations are their limits.
constexpr double kHugeQ = 1e200;

// ---- Gauss-Legendre rule (Golub-Welsch) --------------------------------------------------

constexpr int kNodes = 8;
struct LegendreRule {
    std::array<double, kNodes> x{};
    std::array<double, kNodes> w{};
};

/// Nodes and weights of the kNodes-point Gauss-Legendre rule on [-1, 1]: eigenvalues of the
/// Jacobi matrix of the Legendre recurrence (off-diagonal k / sqrt(4k^2 - 1)), weights 2 v_0^2
/// from the normalised eigenvectors. Symmetrised so that odd integrands cancel exactly.
const LegendreRule& legendreRule() {
    static const LegendreRule rule = [] {
        Eigen::Matrix<double, kNodes, kNodes> jacobi;
        jacobi.setZero();
        for (int k = 1; k < kNodes; ++k) {
            const double b = k / std::sqrt(4.0 * k * k - 1.0);
            jacobi(k, k - 1) = b;
            jacobi(k - 1, k) = b;
        }
        const Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, kNodes, kNodes>> es(jacobi);
        LegendreRule r;
        for (int i = 0; i < kNodes; ++i) {
            const auto ui = static_cast<std::size_t>(i);
            r.x[ui] = es.eigenvalues()(i);
            const double v0 = es.eigenvectors()(0, i);
            r.w[ui] = 2.0 * v0 * v0;
        }
        for (int i = 0; i < kNodes / 2; ++i) {
            const auto a = static_cast<std::size_t>(i);
            const auto b = static_cast<std::size_t>(kNodes - 1 - i);
            const double x = 0.5 * (r.x[b] - r.x[a]);
            const double w = 0.5 * (r.w[a] + r.w[b]);
            r.x[a] = -x;
            r.x[b] = x;
            r.w[a] = w;
            r.w[b] = w;
        }
        return r;
    }();
    return rule;
}

// ---- panel edges ----------------------------------------------------------------------------

constexpr double kZMax = 10.0;
/// A unit-spaced Gaussian-resolution edge is dropped when a structural edge is this close.
constexpr double kSoftGap = 0.3;
/// Structural edges closer than this in z are merged.
constexpr double kMergeGap = 1e-12;

/// Panel edges in z for one integral over [-kZMax, kZMax]: fixed capacity, no allocation.
class Edges {
public:
    /// A structural edge (kink or grid point), kept if inside the range.
    void add(double z) {
        if (z > -kZMax && z < kZMax && n_ < kCap)
            hard_[n_++] = z;
    }
    /// Sorted edges from -kZMax to kZMax: the structural ones plus the unit-spaced ones that are
    /// not within kSoftGap of a structural edge.
    std::span<const double> finish() {
        std::sort(hard_.begin(), hard_.begin() + n_);
        // merge near-duplicates (kinks are exact; a grid point this close to one adds nothing)
        std::size_t m = 0;
        for (std::size_t i = 0; i < n_; ++i)
            if (m == 0 || hard_[i] - hard_[m - 1] > kMergeGap)
                hard_[m++] = hard_[i];
        n_ = m;
        out_n_ = 0;
        out_[out_n_++] = -kZMax;
        std::size_t h = 0;
        for (int k = -static_cast<int>(kZMax) + 1; k <= static_cast<int>(kZMax); ++k) {
            const double soft = k;
            // emit structural edges below this unit edge
            while (h < n_ && hard_[h] < soft)
                out_[out_n_++] = hard_[h++];
            if (k == static_cast<int>(kZMax))
                break;
            const double below = h > 0 ? hard_[h - 1] : -kZMax;
            const double above = h < n_ ? hard_[h] : kZMax;
            if (soft - below >= kSoftGap && above - soft >= kSoftGap)
                out_[out_n_++] = soft;
        }
        while (h < n_)
            out_[out_n_++] = hard_[h++];
        out_[out_n_++] = kZMax;
        return {out_.data(), out_n_};
    }

private:
    static constexpr std::size_t kCap = 400;
    std::array<double, kCap> hard_; // only the first n_ are used
    std::size_t n_ = 0;
    std::array<double, kCap + 2 * static_cast<std::size_t>(kZMax) + 2> out_;
    std::size_t out_n_ = 0;
};

/// sum over panels of the Gauss-Legendre rule for f(z) pdf(z).
template <class F> double integrateGaussian(std::span<const double> edges, F&& f) {
    const LegendreRule& gl = legendreRule();
    double sum = 0;
    for (std::size_t i = 0; i + 1 < edges.size(); ++i) {
        const double half = 0.5 * (edges[i + 1] - edges[i]);
        const double mid = 0.5 * (edges[i + 1] + edges[i]);
        double part = 0;
        for (std::size_t k = 0; k < static_cast<std::size_t>(kNodes); ++k) {
            const double z = mid + half * gl.x[k];
            const double v = f(z);
            if (v != 0)
                part += gl.w[k] * v * std::exp(-0.5 * z * z);
        }
        sum += half * part;
    }
    return sum * kInvSqrt2Pi;
}

// ---- activation structure -------------------------------------------------------------------

/// Graded grid in u around the features at 0 (symmetric): 0.5 apart up to 2, 1 up to 4, then
/// x1.5 up to ~46, beyond which every activation here is constant or linear to double precision.
/// The singularities of the smooth activations lie on the imaginary axis at distance >= pi/2
/// (tanh), so a panel [u, 1.5 u] is at least 5 half-widths from them.
constexpr std::array<double, 25> kGradedGrid{
    -45.5625, -30.375, -20.25, -13.5, -9, -6, -4, -3, -2,   -1.5,  -1,     -0.5,   0,
    0.5,      1,       1.5,    2,     3,  4,  6,  9,  13.5, 20.25, 30.375, 45.5625};
constexpr std::array<double, 1> kKinkAtZero{0.0};
/// Multiples of the smoothing width at which the outer panels of a 2-D integral are cut.
constexpr std::array<double, 8> kSigmaGrid{0.5, 1, 1.5, 2, 3, 4, 6, 8};
constexpr std::array<double, 2> kKinksHardTanh{-1.0, 1.0};

/// Panel edges in u that the activation's functions need (symmetric under u -> -u).
std::span<const double> structureGrid(ActivationKind k) {
    if (k == ActivationKind::HardTanh)
        return kKinksHardTanh;
    if (k == ActivationKind::Linear || k == ActivationKind::Relu || k == ActivationKind::LeakyRelu)
        return kKinkAtZero;
    return kGradedGrid;
}

/// Points where phi or phi' is not smooth (for grading the outer panels of a 2-D integral).
std::span<const double> kinks(ActivationKind k) {
    switch (k) {
    case ActivationKind::HardTanh:
        return kKinksHardTanh;
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu:
    case ActivationKind::Selu:
    case ActivationKind::Elu:
        return kKinkAtZero;
    default:
        return {};
    }
}

/// Homogeneous activations phi(x) = a x + (1 - a) relu(x): linear (a = 1), relu (a = 0),
/// leaky-relu (a = slope). Their expectations are exact for every q and c.
bool homogeneous(const Activation& act, double& a) {
    switch (act.kind()) {
    case ActivationKind::Linear:
        a = 1.0;
        return true;
    case ActivationKind::Relu:
        a = 0.0;
        return true;
    case ActivationKind::LeakyRelu:
        a = act.slope();
        return true;
    default:
        return false;
    }
}

enum class Fn { Phi, Dphi, Ddphi };

double evalFn(const Activation& act, Fn f, double u) {
    switch (f) {
    case Fn::Phi:
        return act.phi(u);
    case Fn::Dphi:
        return act.dphi(u);
    case Fn::Ddphi:
        // phi'' vanishes far out for every activation here; clamping keeps e.g. gelu's
        // pdf(u) (2 - u^2) from forming 0 * inf at |u| ~ 1e155.
        return act.ddphi(std::clamp(u, -1e150, 1e150));
    }
    return 0.0;
}

/// One factor of an integrand: f(u) times a scale (1/sqrt(S) on phi factors when the caller
/// divides the expectation by S to avoid overflow).
struct Factor {
    const Activation* act;
    Fn fn;
    double scale;
    double operator()(double u) const { return scale * evalFn(*act, fn, u); }
};

// ---- quadrature -----------------------------------------------------------------------------

/// E[f(m + s z)], z ~ N(0,1), with panel edges where the activation's grid maps into z.
template <class F> double gaussian1(const F& f, double m, double s, std::span<const double> grid) {
    if (s == 0)
        return f(m);
    Edges e;
    for (double u : grid)
        e.add((u - m) / s);
    return integrateGaussian(e.finish(), [&](double z) { return f(m + s * z); });
}

/// E[f(u1) g(u2)] by quadrature, u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + s z2); q > 0 finite,
/// c in [-1, 1].
double quadrature2(const Factor& f, const Factor& g, double q, double c) {
    const ActivationKind kind = f.act->kind();
    const std::span<const double> grid = structureGrid(kind);
    const double sq = std::sqrt(q);
    if (c == 1.0 || c == -1.0) // grids are symmetric, so g(c u) has the same edges
        return gaussian1([&](double u) { return f(u) * g(c * u); }, 0.0, sq, grid);
    const double s = std::sqrt((1.0 - c) * (1.0 + c));
    const double sigma = sq * s; // spread of u2 given z1
    Edges outer;
    for (double u : grid)
        outer.add(u / sq); // features of f(sqrt q z1)
    if (c != 0) {
        const double toZ = 1.0 / (sq * c); // inner mean m = sqrt(q) c z1 -> z1 = m * toZ
        if (sigma < 2.0)                   // where sigma is small, H has g's own structure
            for (double u : grid)
                outer.add(u * toZ);
        const std::span<const double> kk = kinks(kind);
        const std::span<const double> centres = kk.empty() ? kKinkAtZero : kk;
        for (double k : centres) {
            // H varies on the scale sigma around each kink (a kink smoothed over sigma, whose
            // Gaussian tails die out by 8 sigma), and around 0 for the smooth activations once
            // sigma exceeds their own scale 1
            if (!kk.empty() || sigma > 1.0)
                for (double v : kSigmaGrid) {
                    outer.add((k - sigma * v) * toZ);
                    outer.add((k + sigma * v) * toZ);
                }
            // beyond 8 sigma from a kink H is g itself: continue doubling up to g's scale
            if (!kk.empty())
                for (double r = 16.0 * sigma; r < 2.0; r *= 2.0) {
                    outer.add((k - r) * toZ);
                    outer.add((k + r) * toZ);
                }
        }
    }
    return integrateGaussian(outer.finish(), [&](double z1) {
        const double fz = f(sq * z1);
        if (fz == 0)
            return 0.0;
        return fz * gaussian1(g, sq * c * z1, sigma, grid);
    });
}

// ---- closed forms ---------------------------------------------------------------------------

/// Arc-cosine kernels (Cho & Saul 2009) for relu at equal lengths q, divided by q:
/// E[relu(u1) relu(u2)] / q and E[relu'(u1) relu'(u2)].
double arcCos1(double c) {
    return (std::sqrt((1.0 - c) * (1.0 + c)) + (kPi - std::acos(c)) * c) / (2.0 * kPi);
}
double arcCos0(double c) {
    return (kPi - std::acos(c)) / (2.0 * kPi);
}

/// E[z^2 1{|z| < t}] = erf(t/sqrt2) - 2 t pdf(t), by its series where the two terms cancel.
double truncatedSecondMoment(double t) {
    if (t >= 1.0)
        return std::erf(t / std::numbers::sqrt2) - 2.0 * t * kInvSqrt2Pi * std::exp(-0.5 * t * t);
    // 2 pdf(0) sum_k (-1)^k t^(2k+3) / (2^k k! (2k+3))
    double term = t * t * t; // (-1)^k t^(2k+3) / (2^k k!)
    double sum = term / 3.0;
    for (int k = 1; k < 40; ++k) {
        term *= -t * t / (2.0 * k);
        const double add = term / (2.0 * k + 3.0);
        sum += add;
        if (std::abs(add) < 1e-18 * std::abs(sum))
            break;
    }
    return 2.0 * kInvSqrt2Pi * sum;
}

/// E[F(u1) F(u2)] by Mehler's expansion: with b_k = E[F(sqrt(q) z) He_k(z)] / sqrt(k!),
/// E[F(u1) F(u2)] = sum_k b_k^2 c^k, and sum_k b_k^2 = E[F^2] (Parseval), so the truncation
/// error after K terms is at most |c|^(K+1) (E[F^2] - sum_{k<=K} b_k^2), computed here. One
/// 1-D rule then replaces the nested 2-D quadrature (~10x faster, the theory runs on every
/// slider step). Returns false, leaving `out` alone, when that bound is not below 1e-13 E[F^2]
/// (narrow features at large q, c near 1): the caller then integrates in 2-D.
/// kK terms from kPanels uniform Gauss-Legendre panels on [-12, 12]; a panel must stay narrow
/// against the zero spacing of He_kK (~pi / sqrt(2 kK)): 0.12 for 128 terms (spacing 0.19),
/// 0.3 for 48 terms (spacing 0.32).
template <int kK, int kPanels> bool mehlerSeries(const Factor& f, double q, double c, double& out) {
    constexpr double kZ = 12.0;
    const LegendreRule& gl = legendreRule();
    const double sq = std::sqrt(q);
    struct Recurrence { // h_{n+1} = a_n z h_n - r_n h_{n-1}, a_n = 1/sqrt(n+1), r_n = sqrt(n/(n+1))
        std::array<double, kK + 1> a{}, r{};
    };
    static const Recurrence rec = [] {
        Recurrence t;
        for (int n = 0; n <= kK; ++n) {
            t.a[static_cast<std::size_t>(n)] = 1.0 / std::sqrt(n + 1.0);
            t.r[static_cast<std::size_t>(n)] = std::sqrt(n / (n + 1.0));
        }
        return t;
    }();
    std::array<double, kK + 1> b{};
    double norm2 = 0;
    const double half = kZ / kPanels;
    constexpr std::size_t kN = static_cast<std::size_t>(kNodes);
    for (int p = 0; p < kPanels; ++p) {
        const double mid = -kZ + (2 * p + 1) * half;
        // the panel's nodes advance through the recurrence together (independent chains: the
        // compiler vectorises across them)
        std::array<double, kN> z{}, wf{}, h{}, hPrev{};
        for (std::size_t k = 0; k < kN; ++k) {
            z[k] = mid + half * gl.x[k];
            const double fz = f(sq * z[k]);
            wf[k] = half * gl.w[k] * kInvSqrt2Pi * std::exp(-0.5 * z[k] * z[k]) * fz;
            norm2 += wf[k] * fz;
            h[k] = 1.0;
        }
        for (std::size_t n = 0; n <= static_cast<std::size_t>(kK); ++n) {
            double acc = 0;
            for (std::size_t k = 0; k < kN; ++k) {
                acc += wf[k] * h[k];
                const double next = rec.a[n] * z[k] * h[k] - rec.r[n] * hPrev[k];
                hPrev[k] = h[k];
                h[k] = next;
            }
            b[n] += acc;
        }
    }
    if (!std::isfinite(norm2) || norm2 <= 0)
        return false;
    double sum = 0, captured = 0, ck = 1;
    for (int n = 0; n <= kK; ++n) {
        const double b2 = b[static_cast<std::size_t>(n)] * b[static_cast<std::size_t>(n)];
        sum += b2 * ck;
        captured += b2;
        ck *= c;
    }
    const double remainder = std::max(0.0, norm2 - captured);
    if (std::abs(ck) * remainder > 1e-13 * norm2)
        return false;
    out = sum;
    return true;
}

/// The expectation of f(u1) g(u2) divided by scale. (f, g) is (Phi, Phi), (Dphi, Dphi), or
/// (Ddphi, Phi) with c = 1. q >= 0 (clamped), c in [-1, 1] (clamped).
double expectation(const Activation& act, Fn f, Fn g, double q, double c, double scale,
                   bool allowClosedForm = true) {
    if (std::isnan(q) || std::isnan(c) || std::isnan(scale))
        return kNaN;
    q = std::clamp(q, 0.0, kMaxDouble);
    c = std::clamp(c, -1.0, 1.0);
    if (q == 0)
        return evalFn(act, f, 0.0) * evalFn(act, g, 0.0) / scale;
    const ActivationKind kind = act.kind();
    if (allowClosedForm) {
        double a = 0;
        if (homogeneous(act, a)) {
            const double b = (1.0 - a) * (1.0 - a);
            if (f == Fn::Ddphi)
                return 0.0;
            if (f == Fn::Phi)
                return c == 1.0 ? (q / scale) * 0.5 * (1.0 + a * a)
                                : (q / scale) * (a * c + b * arcCos1(c));
            return c == 1.0 ? 0.5 * (1.0 + a * a) : a + b * arcCos0(c);
        }
        if (kind == ActivationKind::Erf) { // Williams 1997
            constexpr double k4pi = 4.0 / kPi;
            if (f == Fn::Phi)
                return (2.0 / kPi) * std::asin(c / (1.0 + 0.5 / q)) / scale;
            // (1 + 2q)^2 - 4 q^2 c^2 factored; q * (2 (1 - c)): no inf * 0 at q ~ DBL_MAX, c = 1
            const double dd = k4pi / (std::sqrt(1.0 + q * (2.0 * (1.0 - c))) *
                                      std::sqrt(1.0 + q * (2.0 * (1.0 + c))));
            if (f == Fn::Dphi)
                return dd;
            // erf'' = -2u erf'; Stein's lemma gives E[erf'' erf] = -2q/(1+2q) E[erf'^2]
            return -dd / (1.0 + 0.5 / q);
        }
        if (kind == ActivationKind::Sin) {
            // E[sin u1 sin u2] = e^-q sinh(qc), E[cos u1 cos u2] = e^-q cosh(qc)
            const double qc = q * c;
            const double ePlus = std::exp(-q * (1.0 - c));
            const double eMinus = std::exp(-q * (1.0 + c));
            const double sinSin =
                std::abs(qc) < 1.0 ? std::exp(-q) * std::sinh(qc) : 0.5 * (ePlus - eMinus);
            if (f == Fn::Phi)
                return sinSin / scale;
            if (f == Fn::Dphi)
                return 0.5 * (ePlus + eMinus);
            return -sinSin; // phi'' = -phi (c = 1)
        }
        if (kind == ActivationKind::HardTanh && c == 1.0) {
            const double t = 1.0 / std::sqrt(q); // the kinks +-1 in units of sqrt(q)
            const double inside = std::erf(t / std::numbers::sqrt2); // P(|u| < 1)
            if (f == Fn::Phi)
                return (q / scale) * truncatedSecondMoment(t) +
                       std::erfc(t / std::numbers::sqrt2) / scale;
            if (f == Fn::Dphi)
                return inside;
            // phi'' = delta(u + 1) - delta(u - 1): phi(-1) p_u(-1) - phi(1) p_u(1) = -2 p_u(1)
            return -2.0 * t * kInvSqrt2Pi * std::exp(-0.5 * t * t);
        }
    }
    const double invRoot = 1.0 / std::sqrt(scale);
    const Factor ff{&act, f, f == Fn::Phi ? invRoot : 1.0};
    const Factor gg{&act, g, g == Fn::Phi ? invRoot : 1.0};
    double series = 0;
    // a short series first (smooth phi at moderate q converges in a few dozen terms), then a
    // long one, then the 2-D rule
    if (allowClosedForm && f == g && c != 1.0 && c != -1.0 && kinks(kind).empty() && q <= 1e4 &&
        (mehlerSeries<48, 80>(ff, q, c, series) || mehlerSeries<128, 200>(ff, q, c, series)))
        return series;
    return quadrature2(ff, gg, q, c);
}

double xiFromRate(double rate) {
    if (std::isnan(rate))
        return kNaN;
    if (rate >= 1.0)
        return kInf;
    if (rate <= 0.0)
        return 0.0;
    return -1.0 / std::log(rate);
}

// ---- root finding ---------------------------------------------------------------------------

/// Brent-Dekker root of f on [a, b] with f(a) f(b) <= 0: inverse quadratic / secant steps,
/// falling back to bisection whenever they do not shrink the bracket fast enough.
template <class F>
double brentRoot(const F& f, double a, double b, double fa, double fb, double absTol) {
    if (fa == 0)
        return a;
    if (fb == 0)
        return b;
    double c = a;
    double fc = fa;
    double d = b - a;
    double e = d;
    for (int iter = 0; iter < 300; ++iter) {
        if ((fb > 0) == (fc > 0)) { // keep the root between b and c
            c = a;
            fc = fa;
            d = e = b - a;
        }
        if (std::abs(fc) < std::abs(fb)) { // b is the best estimate
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        const double tol =
            2.0 * std::numeric_limits<double>::epsilon() * std::abs(b) + 0.5 * absTol;
        const double half = 0.5 * (c - b);
        if (std::abs(half) <= tol || fb == 0)
            return b;
        if (std::abs(e) >= tol && std::abs(fa) > std::abs(fb)) {
            const double s = fb / fa;
            double p = 0;
            double r = 0;
            if (a == c) { // secant
                p = 2.0 * half * s;
                r = 1.0 - s;
            } else { // inverse quadratic interpolation
                const double qa = fa / fc;
                const double rb = fb / fc;
                p = s * (2.0 * half * qa * (qa - rb) - (b - a) * (rb - 1.0));
                r = (qa - 1.0) * (rb - 1.0) * (s - 1.0);
            }
            if (p > 0)
                r = -r;
            else
                p = -p;
            if (2.0 * p < std::min(3.0 * half * r - std::abs(tol * r), std::abs(e * r))) {
                e = d;
                d = p / r;
            } else {
                d = half;
                e = d;
            }
        } else {
            d = half;
            e = d;
        }
        a = b;
        fa = fb;
        b += std::abs(d) > tol ? d : (half > 0 ? tol : -tol);
        fb = f(b);
    }
    return b;
}

/// L(q) - q, the length map's excess over the diagonal. Hard-tanh has it in closed form:
/// E[phi^2] = q - q g(t), t = 1/sqrt(q), g(t) = E[(z^2 - t^2) 1{|z| > t}] = 2 t pdf(t) -
/// (t^2 - 1) erfc(t/sqrt2), so L(q) - q = (sw2 - 1) q + sb2 - sw2 q g(t) keeps the deficit
/// q g(t) ~ exp(-1/(2q)) to full relative precision (losing ~t^2 ulps to the cancellation in g)
/// where L(q) - q formed by subtraction would round it away below q ~ 0.03.
double lengthExcess(const Activation& act, double sw2, double sb2, double q) {
    if (act.kind() == ActivationKind::HardTanh && q > 0 && q < kMaxDouble) {
        const double t = 1.0 / std::sqrt(q);
        const double g = std::max(0.0, 2.0 * t * kInvSqrt2Pi * std::exp(-0.5 * t * t) -
                                           (t * t - 1.0) * std::erfc(t / std::numbers::sqrt2));
        return (sw2 - 1.0) * q + sb2 - sw2 * q * g;
    }
    return lengthMap(act, sw2, sb2, q) - q;
}

struct LengthSolution {
    double q = 0;
    bool diverged = false;
};

/// The fixed point of the length map reached by iterating it from q0, found as a root of
/// L(q) - q: for an increasing L the iterates move monotonically towards it, so the bracket is
/// found by stepping from q0 in the direction of the first iterate (doubling up, or dividing by
/// 16 down), and Brent's method then converges in a few steps even where plain iteration would
/// take thousands (near criticality, or the algebraic approach to q* = 0 of critical tanh).
LengthSolution solveLength(const Activation& act, double sw2, double sb2, double q0) {
    const auto L = [&](double q) { return lengthMap(act, sw2, sb2, q); };
    const auto F = [&](double q) { return lengthExcess(act, sw2, sb2, q); };
    q0 = std::min(q0, kMaxDouble);
    const double cap = std::min(1e300, 1e150 * std::max({1.0, sb2, q0}));
    // Without a bias, L(q) - q = 0 is a fixed point only where the expectations are exact
    // (linear, relu, leaky-relu: every q is fixed at sw2 (1 + a^2) / 2 = 1); elsewhere it is a
    // deficit below the double range (hard-tanh at sw2 = 1: ~exp(-1/(2q))). A genuine positive
    // fixed point then needs the map above the diagonal somewhere below it.
    double slope = 0;
    const bool zeroIsFixed = sb2 > 0 || homogeneous(act, slope);
    const double l0 = L(q0);
    const double f0 = F(q0);
    if (std::isnan(l0) || std::isnan(f0))
        return {kNaN, false};
    if (f0 == 0 && zeroIsFixed)
        return {q0, false};
    if (f0 > 0) {
        double lo = q0;
        double flo = f0;
        double x = l0;
        for (int i = 0; i < 5000; ++i) {
            if (!(x <= cap))
                return {kInf, true};
            const double lx = L(x);
            if (!std::isfinite(lx))
                return {kInf, true};
            const double fx = F(x);
            // A bias below the rounding of x is lost in L(x) = sw2 E[phi^2] + sb2, so a map
            // that grows q by exactly sb2 per layer (linear, relu at sw2 = 2) would look fixed
            // here: a genuine fixed point that large needs sw2 E[phi^2] / q within 1e-15 of 1.
            if (fx <= 0 && sb2 > 0 && sb2 <= 4.0 * std::numeric_limits<double>::epsilon() * x)
                return {kInf, true};
            if (fx <= 0)
                return {brentRoot(F, lo, x, flo, fx, 1e-300), false};
            lo = x;
            flo = fx;
            x = std::max(2.0 * x, lx);
        }
        return {kInf, true};
    }
    double hi = q0;
    double fhi = f0;
    double x = f0 < 0 ? l0 : q0 / 16.0;
    for (int i = 0; i < 5000; ++i) {
        const double fx = F(x);
        if (fx > 0 || (fx == 0 && zeroIsFixed) || x == 0) {
            const double root = fx >= 0 ? brentRoot(F, x, hi, fx, fhi, 1e-300) : 0.0;
            // Without a bias, a map that only decays (tanh at sw2 = 1: q^l ~ 1/(2l)) meets the
            // diagonal where its deficit drops below double rounding of q (~1e-16 q0): that is
            // q* = 0, not a fixed point of its own.
            if (sb2 == 0 && root < 1e-10 * q0)
                return {0.0, false};
            return {root, false};
        }
        if (fx < 0) {
            hi = x;
            fhi = fx;
        }
        x = x < 1e-290 ? 0.0 : std::min(x / 16.0, fx + x);
    }
    return {0.0, false};
}

/// The stable fixed point of the correlation map at length q when chi1 > 1: c = 1 is then
/// unstable and the map, which is >= its argument at c = 0 (C(0) = (sw2 E[phi]^2 + sb2)/q),
/// crosses the diagonal once below 1. The bracket's upper end approaches 1 in decades.
double solveCorrelation(const Activation& act, double sw2, double sb2, double q) {
    // C(c) - c = (sw2 (E[phi phi](c) - c E[phi^2]) + sb2 (1 - c)) / q_out, in this form so that
    // the bias term is not lost against a huge q (diverged linear or relu: the limit map)
    const double s = std::clamp(q, 1.0, kMaxDouble);
    const double e1 = expectation(act, Fn::Phi, Fn::Phi, q, 1.0, s);
    const double den = sw2 * e1 + sb2 / s;
    const auto G = [&](double c) {
        const double ec = expectation(act, Fn::Phi, Fn::Phi, q, c, s);
        return (sw2 * (ec - c * e1) + (sb2 / s) * (1.0 - c)) / den;
    };
    double lo = 0;
    double glo = G(0.0);
    if (!(glo > 0))
        return 0.0;
    for (double delta = 0.5; delta > 1e-13; delta *= (delta == 0.5 ? 0.2 : 0.1)) {
        const double c = 1.0 - delta;
        const double g = G(c);
        if (g < 0)
            return brentRoot(G, lo, c, glo, g, 1e-15);
        lo = c;
        glo = g;
    }
    return 1.0; // within 1e-13 of 1: numerically the trivial fixed point
}

/// The one-sided slopes (phi'(0+), phi'(0-)) of phi near 0, or near +-infinity when atInfinity:
/// the linearisation p+ u (u > 0), p- u (u < 0) whose c-map the correlation map tends to as
/// q -> 0+ or q -> infinity (a constant offset, selu's -lambda alpha, is negligible against
/// sqrt(q) there).
std::pair<double, double> limitSlopes(const Activation& act, bool atInfinity) {
    const double u = atInfinity ? 1e150 : 1e-150;
    return {act.dphi(u), act.dphi(-u)};
}

/// Layers the correlation iteration may take before its value is reported as the limit.
constexpr int kMaxCorrelationLayers = 1000;

/// Where c ends when the correlation map tends to the identity as q -> 0 (phi'(0+) = phi'(0-)):
/// the deviation C(q, c) - c is O(q) (O(q^2) for odd phi), and q shrinks geometrically (rate
/// chi1) in the ordered phase, so the deviations sum to an input-dependent limit. Iterates the
/// joint maps from (q, c) until a step and its geometric tail d r / (1 - r) (r the ratio of
/// successive steps) are below 1e-14, or q underflows. Where q* = 0 is approached only
/// algebraically or slower (chi1 = 1) the value after kMaxCorrelationLayers layers is returned,
/// not the limit: ~1e-4 from it for tanh at sw2 = 1 (q^l ~ 1/(2l), steps ~ 1/l^2), further for
/// hard-tanh at sw2 = 1, whose q^l decays like 1/(2 ln l).
double iterateCorrelation(const Activation& act, double sw2, double sb2, double q, double c) {
    double prevStep = 0;
    for (int l = 0; l < kMaxCorrelationLayers; ++l) {
        const double next = correlationMap(act, sw2, sb2, q, c);
        q = lengthMap(act, sw2, sb2, q);
        const double step = next - c;
        c = next;
        if (!(std::abs(step) > 1e-15) || !(q > 0))
            return c;
        const double r = step / prevStep;
        prevStep = step;
        if (l > 0 && r > 0 && r < 1) {
            const double tail = step * r / (1.0 - r);
            if (std::abs(tail) < 1e-14)
                return std::clamp(c + tail, -1.0, 1.0);
        }
    }
    return c;
}

/// sigma_b^2 on the critical line at length q: q - E[phi^2] / E[phi'^2] (THEORY.md), with the
/// limit q -> 0+ at q = 0; hard-tanh in a form free of the cancellation at small q.
double criticalBias(const Activation& act, double q) {
    double a = 0;
    if (homogeneous(act, a))
        return 0.0;
    if (q == 0) {
        const double p0 = act.phi(0.0);
        return -p0 * p0 / expectDphi2(act, kTinyQ);
    }
    if (act.kind() == ActivationKind::HardTanh) {
        // q - (q (P - 2 t pdf t) + erfc) / P = (2 pdf(t) / t - erfc(t / sqrt2)) / P, t = 1/sqrt q
        const double t = 1.0 / std::sqrt(q);
        const double inside = std::erf(t / std::numbers::sqrt2);
        return (2.0 * kInvSqrt2Pi * std::exp(-0.5 * t * t) / t -
                std::erfc(t / std::numbers::sqrt2)) /
               inside;
    }
    return q - expectPhi2(act, q) / expectDphi2(act, q);
}

double criticalWeight(const Activation& act, double q) {
    return 1.0 / expectDphi2(act, q > 0 ? q : kTinyQ);
}

} // namespace

// ---- public API -----------------------------------------------------------------------------

std::string phaseName(Phase p) {
    switch (p) {
    case Phase::Ordered:
        return "ordered";
    case Phase::Critical:
        return "critical";
    case Phase::Chaotic:
        return "chaotic";
    }
    return "unknown";
}

Phase classify(double chi1) {
    if (std::abs(chi1 - 1.0) < kCriticalTolerance)
        return Phase::Critical;
    return chi1 < 1.0 ? Phase::Ordered : Phase::Chaotic;
}

double expectPhi2(const Activation& act, double q) {
    return expectation(act, Fn::Phi, Fn::Phi, q, 1.0, 1.0);
}
double expectDphi2(const Activation& act, double q) {
    return expectation(act, Fn::Dphi, Fn::Dphi, q, 1.0, 1.0);
}
double expectDdphiPhi(const Activation& act, double q) {
    return expectation(act, Fn::Ddphi, Fn::Phi, q, 1.0, 1.0);
}
double expectPhiPhi(const Activation& act, double q, double c) {
    return expectation(act, Fn::Phi, Fn::Phi, q, c, 1.0);
}
double expectDphiDphi(const Activation& act, double q, double c) {
    return expectation(act, Fn::Dphi, Fn::Dphi, q, c, 1.0);
}

double quadratureExpectation(const Activation& act, Moment m, double q, double c) {
    switch (m) {
    case Moment::PhiPhi:
        return expectation(act, Fn::Phi, Fn::Phi, q, c, 1.0, false);
    case Moment::DphiDphi:
        return expectation(act, Fn::Dphi, Fn::Dphi, q, c, 1.0, false);
    case Moment::DdphiPhi:
        return expectation(act, Fn::Ddphi, Fn::Phi, q, 1.0, 1.0, false);
    }
    return kNaN;
}

double lengthMap(const Activation& act, double sigmaW2, double sigmaB2, double q) {
    if (sigmaW2 == 0)
        return sigmaB2;
    return sigmaW2 * expectPhi2(act, q) + sigmaB2;
}

double correlationMap(const Activation& act, double sigmaW2, double sigmaB2, double q, double c) {
    const double qOut = lengthMap(act, sigmaW2, sigmaB2, q);
    if (std::isnan(qOut) || std::isnan(c))
        return kNaN;
    if (qOut == 0)
        return 1.0;
    const double cross = sigmaW2 == 0 ? 0.0 : sigmaW2 * expectPhiPhi(act, q, c);
    double r = (cross + sigmaB2) / qOut;
    if (!std::isfinite(qOut) || !std::isfinite(cross)) {
        // lengths beyond the double range: divide both by S = q first
        const double s = std::clamp(q, 1.0, kMaxDouble);
        const double num = sigmaW2 * expectation(act, Fn::Phi, Fn::Phi, q, c, s) + sigmaB2 / s;
        const double den = sigmaW2 * expectation(act, Fn::Phi, Fn::Phi, q, 1.0, s) + sigmaB2 / s;
        r = den == 0 ? 1.0 : num / den;
    }
    return std::isnan(r) ? r : std::clamp(r, -1.0, 1.0);
}

FixedPoint fixedPoint(const Activation& act, double sigmaW2, double sigmaB2, double q0, double c0) {
    FixedPoint fp;
    if (!(sigmaW2 >= 0) || !(sigmaB2 >= 0) || !(q0 >= 0)) {
        fp.qStar = fp.cStar = fp.chi1 = fp.xiQ = fp.xiC = kNaN;
        fp.converged = false;
        fp.phase = classify(kNaN);
        return fp;
    }
    c0 = std::clamp(c0, -1.0, 1.0); // NaN stays NaN
    const LengthSolution len = solveLength(act, sigmaW2, sigmaB2, q0);
    double qEval = len.q; // where the derivatives are taken
    const bool limitAtZero = !len.diverged && len.q == 0 && q0 > 0;
    if (len.diverged) {
        fp.qStar = kInf;
        fp.converged = false;
        qEval = kHugeQ; // the limit q -> infinity
    } else {
        fp.qStar = len.q;
        if (limitAtZero)
            qEval = kTinyQ; // q* = 0 reached as a limit: one-sided derivatives at 0
    }
    fp.chi1 = sigmaW2 * expectDphi2(act, qEval);
    fp.xiQ = xiFromRate(fp.chi1 + sigmaW2 * expectDdphiPhi(act, qEval));
    fp.phase = classify(fp.chi1);
    double a = 0;
    const bool linear = homogeneous(act, a) && a == 1.0;
    if ((limitAtZero || len.diverged) && sigmaW2 > 0) {
        // q_out / q does not tend to 1 here: the c-map tends to that of phi's linearisation
        // (meanfield.h), whose slope at its limit is 1
        const auto [pPlus, pMinus] = limitSlopes(act, len.diverged);
        if (pPlus != 0 || pMinus != 0) {
            fp.xiC = kInf;
            if (pPlus != pMinus) {
                fp.cStar = 1.0; // a leaky-relu map: C(c) > c below 1
            } else if (linear && len.diverged && sigmaW2 > 1.0) {
                // k = q c and q both obey x -> sw2 x + sb2: (k + beta) / (q + beta) is constant,
                // beta = sb2 / (sw2 - 1), and the bias terms vanish against sw2^l
                const double beta = sigmaB2 / (sigmaW2 - 1.0);
                fp.cStar = std::clamp((q0 * c0 + beta) / (q0 + beta), -1.0, 1.0);
            } else if (linear && len.diverged) {
                fp.cStar = 1.0; // sw2 = 1: q and k grow by sb2 per layer, 1 - c ~ 1 / l
            } else if (linear && sigmaB2 == 0) {
                fp.cStar = c0; // the c-map is the identity
            } else {
                fp.cStar =
                    std::isnan(c0) ? kNaN : iterateCorrelation(act, sigmaW2, sigmaB2, q0, c0);
            }
            return fp;
        }
    }
    // c = 1 is a fixed point of slope chi1: stable unless chi1 > 1. At q* = 0 every input has
    // collapsed to the same point (correlationMap's convention: c = 1). Linear at sw2 = 1
    // without bias keeps every (q, c): the c-map is the identity.
    if (linear && sigmaB2 == 0 && sigmaW2 == 1.0 && fp.qStar > 0)
        fp.cStar = c0;
    else
        fp.cStar = (fp.qStar == 0 || !(fp.chi1 > 1.0))
                       ? 1.0
                       : solveCorrelation(act, sigmaW2, sigmaB2, qEval);
    fp.xiC =
        xiFromRate(sigmaW2 * expectDphiDphi(act, qEval, std::isnan(fp.cStar) ? 1.0 : fp.cStar));
    return fp;
}

double criticalSigmaW2(const Activation& act, double sigmaB2) {
    if (!(sigmaB2 >= 0) || !std::isfinite(sigmaB2))
        return kNaN;
    double a = 0;
    if (homogeneous(act, a))
        return 2.0 / (1.0 + a * a); // chi1 = sigma_w^2 (1 + a^2) / 2 whatever q is
    // Candidate q: a root of criticalBias(q) = sigma_b^2. It is a critical point only if the
    // length map, iterated from q0 = 1 at the resulting sigma_w^2, settles where chi1 = 1 too
    // (for gelu-like activations at small sigma_b^2 the fixed point with chi1 = 1 is unstable
    // and q diverges instead). Hard-tanh at sigma_b^2 = 0 is linear below |u| < 1, so every
    // small q is numerically fixed there, all with chi1 = 1 to 1e-12.
    const auto consistent = [&](double qc) {
        const double sw2 = criticalWeight(act, qc);
        const LengthSolution len = solveLength(act, sw2, sigmaB2, 1.0);
        if (len.diverged)
            return false;
        const double chi1 = sw2 * expectDphi2(act, len.q > 0 ? len.q : kTinyQ);
        return std::abs(chi1 - 1.0) <= 1e-9;
    };
    const auto D = [&](double q) { return criticalBias(act, q) - sigmaB2; };
    double qPrev = 0;
    double dPrev = D(0.0);
    if (dPrev == 0 && consistent(0.0))
        return criticalWeight(act, 0.0);
    // Scan q in half-decades; B(q) is computed as a difference of terms ~q, reliable to
    // ~1e-16 q, which bounds the scan at 1e16 (unbounded activations have |B| ~ sqrt(q)).
    for (int k = 0; k <= 56; ++k) {
        const double q = 1e-12 * std::pow(10.0, 0.5 * k);
        const double d = D(q);
        if (std::isnan(d))
            return kNaN;
        if ((dPrev < 0 && d >= 0) || (dPrev > 0 && d <= 0)) {
            const double qc = d == 0 ? q : brentRoot(D, qPrev, q, dPrev, d, 1e-300);
            if (consistent(qc))
                return criticalWeight(act, qc);
        }
        qPrev = q;
        dPrev = d;
    }
    return kNaN;
}

std::vector<CriticalPoint> criticalLine(const Activation& act, double qMin, double qMax,
                                        int points) {
    std::vector<CriticalPoint> line;
    qMin = std::max(qMin, 0.0);
    if (points <= 0 || !(qMax >= qMin) || !std::isfinite(qMax))
        return line;
    line.reserve(static_cast<std::size_t>(points));
    for (int i = 0; i < points; ++i) {
        const double q = points == 1 ? qMin : qMin + (qMax - qMin) * i / (points - 1.0);
        const double sb2 = criticalBias(act, q) + 0.0; // + 0.0: no -0
        const double sw2 = criticalWeight(act, q);
        if (sb2 >= 0 && std::isfinite(sb2) && std::isfinite(sw2))
            line.push_back({sw2, sb2, q});
    }
    return line;
}

LayerTheory layerTheory(const Activation& act, const std::vector<double>& sigmaW2, double sigmaB2,
                        double q0, double c0, const std::vector<int>& widths) {
    const std::size_t depth = sigmaW2.size();
    if (widths.size() != depth)
        throw std::invalid_argument("layerTheory: need one width per layer");
    LayerTheory t;
    if (depth == 0)
        return t;
    t.q.resize(depth);
    t.c.resize(depth);
    // layer 1 acts on the raw input: h^1 = W^1 x + b^1
    t.q[0] = sigmaW2[0] * q0 + sigmaB2;
    if (t.q[0] == 0)
        t.c[0] = 1.0;
    else if (std::isinf(t.q[0])) // overflow: the bias is negligible
        t.c[0] = std::clamp(c0, -1.0, 1.0);
    else
        t.c[0] = std::clamp((sigmaW2[0] * q0 * c0 + sigmaB2) / t.q[0], -1.0, 1.0);
    for (std::size_t l = 1; l < depth; ++l) {
        t.q[l] = lengthMap(act, sigmaW2[l], sigmaB2, t.q[l - 1]);
        t.c[l] = correlationMap(act, sigmaW2[l], sigmaB2, t.q[l - 1], t.c[l - 1]);
    }
    // backward: E||delta^L||^2 = N_L E[phi'^2]; each layer down multiplies by the next layer's
    // sigma_w^2 and this layer's E[phi'^2] (fan-in N_l cancels the sum over N_l units)
    t.gradH2.resize(depth);
    t.gradRatio.assign(depth, kNaN);
    t.gradH2[depth - 1] = widths[depth - 1] * expectDphi2(act, t.q[depth - 1]);
    for (std::size_t l = depth - 1; l-- > 0;) {
        t.gradRatio[l] = sigmaW2[l + 1] * expectDphi2(act, t.q[l]);
        t.gradH2[l] = t.gradRatio[l] * t.gradH2[l + 1];
    }
    return t;
}

} // namespace initscope::meanfield

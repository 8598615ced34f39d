// Mean-field theory of wide random networks (Poole et al. 2016, Schoenholz et al. 2017).
//
// Conventions (THEORY.md): z ~ N(0,1); sigma_w^2 is the effective weight variance times fan-in;
// sigma_b^2 the bias variance. Closed forms where they exist: linear, relu and leaky-relu
// (arc-cosine kernels, Cho & Saul 2009), erf (Williams 1997), sin, and hard-tanh's
// one-dimensional moments.
// The rest use composite Gauss-Legendre quadrature in z with panel edges at the kinks and on a
// grid graded around the activation's features: plain Gauss-Hermite cannot resolve a kink or
// the narrow features of phi(sqrt(q) z) at large q (the tests measure both). An expectation at
// q = 0 evaluates phi at 0 exactly (relu: phi'(0) = 0); fixedPoint and criticalSigmaW2 use the
// limit q -> 0+ where q* = 0 is reached as a limit.
#pragma once

#include "core/activation.h"

#include <string>
#include <vector>

namespace initscope::meanfield {

enum class Phase { Ordered, Critical, Chaotic };
std::string phaseName(Phase p); // "ordered", "critical", "chaotic"

/// |chi1 - 1| below this counts as critical.
inline constexpr double kCriticalTolerance = 1e-3;
Phase classify(double chi1);

// ---- Gaussian expectations, q = variance of the pre-activation (q >= 0) ----
/// E[phi(sqrt(q) z)^2]
double expectPhi2(const Activation& act, double q);
/// E[phi'(sqrt(q) z)^2]
double expectDphi2(const Activation& act, double q);
/// E[phi''(sqrt(q) z) phi(sqrt(q) z)]
double expectDdphiPhi(const Activation& act, double q);
/// E[phi(u1) phi(u2)], u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1-c^2) z2), c in [-1, 1]
double expectPhiPhi(const Activation& act, double q, double c);
/// E[phi'(u1) phi'(u2)] with u1, u2 as above
double expectDphiDphi(const Activation& act, double q, double c);

/// E[phi''(sqrt(q) z) phi(sqrt(q) z)] above includes the distributional part of phi'' where phi'
/// jumps at a point where phi != 0 (hard-tanh: phi'' = delta(x+1) - delta(x-1)), so that
/// chi1 + sigma_w^2 E[phi'' phi] is the slope of the length map for every activation.

/// Which product an expectation is of (for quadratureExpectation).
enum class Moment { PhiPhi, DphiDphi, DdphiPhi };
/// The composite quadrature behind every expectation without a closed form, callable for any
/// activation so that tests can check it against the closed forms. DdphiPhi ignores c (it is
/// one-dimensional) and uses Activation::ddphi as defined (no distributional part).
double quadratureExpectation(const Activation& act, Moment m, double q, double c = 1.0);

// ---- maps ----
/// q^{l} = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2
double lengthMap(const Activation& act, double sigmaW2, double sigmaB2, double q);
/// c^{l} = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q^{l}, with u at the input length q.
/// Returns 1 when the output length is 0 (degenerate: everything collapsed to one point).
double correlationMap(const Activation& act, double sigmaW2, double sigmaB2, double q, double c);

struct FixedPoint {
    double qStar = 0; // fixed point of the length map (+inf when it diverges)
    double cStar = 1; // where the correlation map, iterated from (q0, c0), ends
    double chi1 = 0;  // sigma_w^2 E[phi'(sqrt q* z)^2]
    double xiQ = 0;   // -1 / ln(chi1 + sigma_w^2 E[phi'' phi]); +inf where the log is >= 0
    double xiC = 0;   // -1 / ln(chi_c), chi_c = dc^{l+1}/dc^l at the end of the iteration
    Phase phase = Phase::Ordered;
    bool converged = true; // false when the length map diverges (q* infinite)
};
/// The input correlation fixedPoint assumes when none is given (the CLI's default --input-c).
inline constexpr double kDefaultInputCorrelation = 0.5;
/// Fixed points and depth scales. Finds where iterating the maps from (q0, c0) ends (q0 and c0
/// are a layer's pre-activation length and correlation; q0 defaults to 1): the fixed points are
/// solved as roots, bracketed from q0 in the direction the iteration moves, so slow
/// (near-critical, or algebraic) approaches cost no more than fast ones.
///
/// xi_c is the depth scale on which a perturbation of c decays: chi_c is the slope of the
/// normalised c-map, sigma_w^2 q E[phi'(u1) phi'(u2)] / q_out (Price's theorem), at the limit of
/// the iteration. At a fixed point q* > 0 (q_out = q) that is sigma_w^2 E[phi'(u1) phi'(u2)] at
/// (q*, c*). When q* = 0 is only a limit (q0 > 0) or the length map diverges, chi1 and xi_q are
/// the q -> 0+ or q -> infinity limits, and the c-map tends to that of phi's linearisation
/// there: the identity where phi has one slope (linear, tanh, erf, sin, hard-tanh at q -> 0;
/// linear at q -> infinity), so c* depends on the input, or a leaky-relu map (two slopes: relu,
/// leaky-relu, selu at 0, every relu-like activation at infinity), which pulls c to 1 as a
/// power of depth. Either way chi_c = 1 and xi_c = +inf. c* then comes from iterating the maps
/// from (q0, c0) (a NaN c0 gives a NaN c* where it depends on the input; c0 is not used
/// elsewhere). Where that iteration converges only algebraically or slower (chi1 = 1 without
/// bias: tanh, hard-tanh at sw2 = 1) c* is its value after 1000 layers, not the limit.
FixedPoint fixedPoint(const Activation& act, double sigmaW2, double sigmaB2, double q0 = 1.0,
                      double c0 = kDefaultInputCorrelation);

/// The sigma_w^2 at which chi1 = 1 for this sigma_b^2 (solved with q* consistently: fixedPoint
/// from q0 = 1 at the result finds chi1 = 1 to 1e-9). Linear, relu and leaky-relu have
/// chi1 = sigma_w^2 (1 + a^2) / 2 at every q, so their value holds for every sigma_b^2 (q* then
/// diverges linearly when sigma_b^2 > 0). Returns NaN where no critical point exists for this
/// activation and sigma_b^2 (softplus everywhere; gelu and silu below a threshold bias, where
/// the chi1 = 1 fixed point is unstable and q diverges from q0 = 1).
double criticalSigmaW2(const Activation& act, double sigmaB2);

struct CriticalPoint {
    double sigmaW2 = 0;
    double sigmaB2 = 0;
    double qStar = 0;
};
/// The critical line, parameterised by q* (THEORY.md): sigma_w^2 = 1 / E[phi'(sqrt q z)^2],
/// sigma_b^2 = q - sigma_w^2 E[phi(sqrt q z)^2]; points with sigma_b^2 < 0 are dropped.
std::vector<CriticalPoint> criticalLine(const Activation& act, double qMin, double qMax,
                                        int points);

/// Per-layer prediction for a network with possibly layer-dependent sigma_w^2 (layers 1..L).
struct LayerTheory {
    std::vector<double> q;         // q^1..q^L
    std::vector<double> c;         // c^1..c^L
    std::vector<double> gradH2;    // E||delta^l||^2 for a cotangent g ~ N(0, I) on a^L
    std::vector<double> gradRatio; // E||delta^l||^2 / E||delta^{l+1}||^2 (l = 1..L-1; last = NaN)
};
/// q0 = ||x||^2 / N_0 and c0 = the input correlation. sigmaW2[l-1] is layer l's effective
/// sigma_w^2; widths[l-1] its width N_l (only the last one matters: E||delta^L||^2 =
/// N_L E[phi'(sqrt q^L z)^2]). Throws std::invalid_argument unless widths.size() equals
/// sigmaW2.size().
LayerTheory layerTheory(const Activation& act, const std::vector<double>& sigmaW2, double sigmaB2,
                        double q0, double c0, const std::vector<int>& widths);

} // namespace initscope::meanfield

// Mean-field theory of the RNN, ResNet and CNN families (familytheory.h, THEORY.md): the
// meanfield.h maps composed per family, nothing integrated here.
#include "theory/familytheory.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>

namespace initscope::meanfield {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double xiFrom(double rate) {
    if (!(rate > 0))
        return rate == 0 ? 0.0 : kNaN;
    return rate < 1.0 ? -1.0 / std::log(rate) : kInf;
}

/// c = k / q with the conventions of correlationMap: 1 when everything collapsed (q = 0).
double ratio(double k, double q) {
    if (q == 0)
        return 1.0;
    const double r = k / q;
    return std::isnan(r) ? r : std::clamp(r, -1.0, 1.0);
}

/// The stable fixed point of the RNN's correlation map at its length fixed point q* > 0 when the
/// inputs keep the sequences apart (d = sigma_u^2 q_x (1 - c_x) > 0):
/// G(c) = (sw2 E[phi(u1) phi(u2)](q*, c) + inCross + sb2) / q*. G(1) - 1 = -d / q* < 0 and
/// G(-1) + 1 >= 0 (Cauchy-Schwarz), so [-1, 1] brackets a root; on [0, 1] G is convex (Mehler:
/// non-negative coefficients of powers of c), so where G(0) >= 0 the root there is unique and
/// is the one the iteration reaches from c >= 0. Bisection to 1e-15.
double rnnCorrelationFixedPoint(const Activation& act, double sw2, double inCross, double sb2,
                                double qStar) {
    const auto g = [&](double c) {
        return (sw2 * expectPhiPhi(act, qStar, c) + inCross + sb2) / qStar - c;
    };
    double lo = g(0.0) >= 0 ? 0.0 : -1.0;
    double hi = lo == 0.0 ? 1.0 : 0.0;
    for (int i = 0; i < 60 && hi - lo > 1e-15; ++i) {
        const double mid = 0.5 * (lo + hi);
        if (g(mid) >= 0)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

} // namespace

RnnSigmas rnnStackedSigmas(double stackedVariance, int hidden, int inputDim) {
    return {stackedVariance * hidden, stackedVariance * inputDim};
}

RnnTheory rnnTheory(const Activation& act, double sigmaW2, double sigmaU2, double sigmaB2,
                    double qx, double cx, int T, bool inputEveryStep, int width) {
    if (T < 1 || width < 1)
        throw std::invalid_argument("rnnTheory: need T >= 1 time steps and width >= 1");
    if (!(sigmaW2 >= 0) || !(sigmaU2 >= 0) || !(sigmaB2 >= 0) || !(qx >= 0))
        throw std::invalid_argument("rnnTheory: variances and q_x must be >= 0");
    if (!(cx >= -1.0 && cx <= 1.0))
        throw std::invalid_argument("rnnTheory: c_x must be in [-1, 1]");
    const auto steps = static_cast<std::size_t>(T);
    RnnTheory t;
    t.q.resize(steps);
    t.c.resize(steps);
    const double inLen = sigmaU2 * qx;        // sigma_u^2 q_x
    const double inCross = sigmaU2 * qx * cx; // sigma_u^2 q_x c_x
    // t = 1: a_0 = 0, so only the input and the bias
    t.q[0] = inLen + sigmaB2;
    t.c[0] = ratio(inCross + sigmaB2, t.q[0]);
    const double addLen = inputEveryStep ? inLen + sigmaB2 : sigmaB2;
    const double addCross = inputEveryStep ? inCross + sigmaB2 : sigmaB2;
    for (std::size_t s = 1; s < steps; ++s) {
        const double qPrev = t.q[s - 1];
        const double cPrev = t.c[s - 1];
        t.q[s] = sigmaW2 * expectPhi2(act, qPrev) + addLen;
        const double cross = sigmaW2 * expectPhiPhi(act, qPrev, cPrev) + addCross;
        t.c[s] = std::isfinite(t.q[s]) ? ratio(cross, t.q[s]) : cPrev;
    }
    // backward: E||delta_T||^2 = N E[phi'(h_T)^2]; one step back multiplies by sw2 E[phi'^2]
    // at the earlier step's length
    t.gradH2.resize(steps);
    t.gradRatio.assign(steps, kNaN);
    t.gradH2[steps - 1] = width * expectDphi2(act, t.q[steps - 1]);
    for (std::size_t s = steps - 1; s-- > 0;) {
        t.gradRatio[s] = sigmaW2 * expectDphi2(act, t.q[s]);
        t.gradH2[s] = t.gradRatio[s] * t.gradH2[s + 1];
    }
    t.inputGrad2.resize(steps);
    for (std::size_t k = 0; k < steps; ++k)
        t.inputGrad2[k] = sigmaU2 * t.gradH2[steps - 1 - k];

    // the map of steps t >= 2 is the MLP's with bias addLen for the length; for the correlation
    // it is the MLP's too unless the inputs' covariance term differs from their length term
    t.fixed = fixedPoint(act, sigmaW2, addLen, t.q[0], t.c[0]);
    const double apart = addLen - addCross; // sigma_u^2 q_x (1 - c_x) with inputs every step
    if (apart > 0 && sigmaW2 > 0) {
        if (!t.fixed.converged) {
            // q diverges, the additive terms vanish against it: the limit map is phi's
            // linearisation at infinity. Two slopes (every activation here but linear) pull c to
            // 1 as fixedPoint says; linear: k_t + A'/(sw2-1) and q_t + A/(sw2-1) both grow as
            // sw2^t (sw2 > 1), at sw2 = 1 both grow by A, A' per step
            const bool linear = act.kind() == ActivationKind::Linear;
            if (linear && sigmaW2 > 1.0) {
                const double k1 = t.c[0] * t.q[0];
                t.fixed.cStar =
                    ratio(k1 + addCross / (sigmaW2 - 1.0), t.q[0] + addLen / (sigmaW2 - 1.0));
            } else if (linear) {
                t.fixed.cStar = ratio(addCross, addLen);
            }
        } else if (t.fixed.qStar > 0) {
            const double qStar = t.fixed.qStar;
            t.fixed.cStar = rnnCorrelationFixedPoint(act, sigmaW2, inCross, sigmaB2, qStar);
            t.fixed.xiC = xiFrom(sigmaW2 * expectDphiDphi(act, qStar, t.fixed.cStar));
        }
    }
    return t;
}

// ---- ResNet ---------------------------------------------------------------------------------

double residualGamma(ResidualScale scale, int blocks, double value) {
    switch (scale) {
    case ResidualScale::Zero:
        return 0.0;
    case ResidualScale::One:
    case ResidualScale::Fixup:
        return 1.0;
    case ResidualScale::InvSqrtDepth:
        return 1.0 / std::sqrt(static_cast<double>(std::max(blocks, 1)));
    case ResidualScale::Value:
        return value;
    }
    return kNaN;
}

std::vector<double> fixupBranchSigmaW2(const std::vector<double>& branchSigmaW2, int blocks) {
    std::vector<double> out = branchSigmaW2;
    if (out.empty())
        return out;
    const std::size_t m = out.size();
    if (m > 1) {
        const double scale =
            std::pow(static_cast<double>(std::max(blocks, 1)), -1.0 / static_cast<double>(m - 1));
        for (std::size_t j = 0; j + 1 < m; ++j)
            out[j] *= scale;
    }
    out[m - 1] = 0.0;
    return out;
}

ResNetTheory resnetTheory(const Activation& act, const std::vector<double>& branchSigmaW2,
                          double sigmaB2, int blocks, ResidualScale scale, double gammaValue,
                          double q0, double c0) {
    if (blocks < 1 || branchSigmaW2.empty())
        throw std::invalid_argument("resnetTheory: need blocks >= 1 and a branch of m >= 1 layers");
    for (double v : branchSigmaW2)
        if (!(v >= 0))
            throw std::invalid_argument("resnetTheory: branch sigma_w^2 must be >= 0");
    if (!(sigmaB2 >= 0) || !(q0 >= 0))
        throw std::invalid_argument("resnetTheory: sigma_b^2 and q0 must be >= 0");
    ResNetTheory t;
    t.gamma = residualGamma(scale, blocks, gammaValue);
    t.branchSigmaW2 =
        scale == ResidualScale::Fixup ? fixupBranchSigmaW2(branchSigmaW2, blocks) : branchSigmaW2;
    const double g2 = t.gamma * t.gamma;
    const auto nb = static_cast<std::size_t>(blocks);
    t.q.resize(nb);
    t.c.resize(nb);
    t.branchQ.resize(nb);
    t.branchRatio.resize(nb);
    t.chiF.resize(nb);
    t.jacobianMeanSq.resize(nb);
    t.jacobianMeanSqTotal.resize(nb);
    double q = q0;
    double c = std::clamp(c0, -1.0, 1.0);
    double total = 1.0;
    for (std::size_t l = 0; l < nb; ++l) {
        // the branch: m layers, each phi then W_j, b_j, starting from the block input x^{l-1}
        double qb = q;
        double cb = c;
        double chi = 1.0;
        for (double sw2 : t.branchSigmaW2) {
            chi *= sw2 == 0 ? 0.0 : sw2 * expectDphi2(act, qb);
            cb = correlationMap(act, sw2, sigmaB2, qb, cb);
            qb = lengthMap(act, sw2, sigmaB2, qb);
        }
        const double qOut = q + g2 * qb;
        const double kOut = q * c + (g2 == 0 ? 0.0 : g2 * qb * cb);
        t.branchQ[l] = qb;
        t.branchRatio[l] = qb / q;
        t.chiF[l] = chi;
        t.jacobianMeanSq[l] = 1.0 + g2 * chi;
        total *= t.jacobianMeanSq[l];
        t.jacobianMeanSqTotal[l] = total;
        t.c[l] = g2 == 0 ? c : ratio(kOut, qOut);
        t.q[l] = qOut;
        q = qOut;
        c = t.c[l];
    }
    return t;
}

// ---- CNN ------------------------------------------------------------------------------------

double cnnEffectiveSigmaW2(double intendedVariance, int kernel, int channelsIn, bool forgottenK2) {
    const double k2 = static_cast<double>(kernel) * kernel;
    const double sw2 = intendedVariance * k2 * channelsIn;
    return forgottenK2 ? k2 * sw2 : sw2;
}

double deltaOrthogonalLayerGain(double centreTapVariance, int channelsIn, int channelsOut) {
    return centreTapVariance * std::max(channelsIn, channelsOut);
}

double deltaOrthogonalSigmaW2(double centreTapVariance, int channelsIn) {
    return centreTapVariance * channelsIn;
}

double deltaOrthogonalSingularValue(const std::vector<double>& layerGains) {
    double s = 1.0;
    for (double g : layerGains)
        s *= std::sqrt(g);
    return s;
}

double deltaOrthogonalSingularValue(double gain, int layers) {
    return std::pow(gain, 0.5 * layers);
}

} // namespace initscope::meanfield

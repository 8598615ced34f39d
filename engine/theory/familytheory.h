// Mean-field theory of the network families (THEORY.md, "Network families"): recurrent (Elman,
// tied weights), residual (pre-activation branches) and convolutional (circular padding,
// delta-orthogonal kernels). Pure functions on top of meanfield.h: the same Gaussian
// expectations, length and correlation maps, at infinite width. Finite width, the tied weights
// of an RNN and the shared weights of a CNN enter only through the usual mean-field (gradient
// independence) assumption, which the tests check against simulated networks.
#pragma once

#include "core/activation.h"
#include "theory/meanfield.h"

#include <vector>

namespace initscope::meanfield {

// ---- RNN ------------------------------------------------------------------------------------
//
// h_t = W a_{t-1} + U x_t + b, a_t = phi(h_t), a_0 = 0, t = 1..T; delta_t = dLoss/dh_t for a
// random cotangent g ~ N(0, I) on a_T. sigma_w^2 = Var(W) N, sigma_u^2 = Var(U) N_x,
// q_x = ||x_t||^2 / N_x (mu^2 + s^2 for x ~ N(mu, s^2)).
//   q_1 = sigma_u^2 q_x + sigma_b^2                                   (a_0 = 0: no W term)
//   q_t = sigma_w^2 E[phi(sqrt(q_{t-1}) z)^2] + [sigma_u^2 q_x] + sigma_b^2     (t >= 2)
// where the bracket is present with an input at every step and absent when the input comes at
// t = 1 only. Two sequences whose inputs have correlation c_x (x_t.x'_t = c_x N_x q_x) at the
// steps that have inputs: k_t = E[h_t h'_t] follows the same recursion with E[phi(u1) phi(u2)]
// at (q_{t-1}, c_{t-1}) and sigma_u^2 q_x c_x, c_t = k_t / q_t.
// Backward: delta_t = phi'(h_t) (W^T delta_{t+1}), so
//   E||delta_t||^2 / E||delta_{t+1}||^2 = sigma_w^2 E[phi'(sqrt(q_t) z)^2]
// the q of the step the gradient arrives at (the earlier step t; THEORY.md writes the same
// rate as E||delta_{t-1}||^2 / E||delta_t||^2 with q_{t-1}), and E||delta_T||^2 =
// N E[phi'(sqrt(q_T) z)^2]. The gradient reaching the input of step t is U^T delta_t:
// E||dLoss/dx_t||^2 = sigma_u^2 E||delta_t||^2.

/// sigma_w^2 and sigma_u^2 of the stacked [W U] (N x (N + N_x)) whose entries all have
/// variance `stackedVariance` (the scheme's, at fanIn = N + N_x): Var N and Var N_x.
struct RnnSigmas {
    double sigmaW2 = 0;
    double sigmaU2 = 0;
};
RnnSigmas rnnStackedSigmas(double stackedVariance, int hidden, int inputDim);

struct RnnTheory {
    std::vector<double> q; // q_1..q_T ([t-1] is step t)
    std::vector<double> c; // c_1..c_T: correlation of two sequences' h_t
    /// [t-1]: E||delta_t||^2 for width N (pass width 1 for the per-unit value E||delta_t||^2/N)
    std::vector<double> gradH2;
    /// [t-1]: E||delta_t||^2 / E||delta_{t+1}||^2 = sigma_w^2 E[phi'(sqrt(q_t) z)^2] for
    /// t = 1..T-1; the last entry is NaN (as LayerTheory::gradRatio).
    std::vector<double> gradRatio;
    /// [k]: E||dLoss/dx_{T-k}||^2 = sigma_u^2 E||delta_{T-k}||^2, k = 0..T-1 steps back in time
    /// (with the input at t = 1 only, k = T-1 is the one input that exists).
    std::vector<double> inputGrad2;
    /// Where the recursion of steps t >= 2 ends: the length map with the effective bias
    /// sigma_b^2 + sigma_u^2 q_x (every step) or sigma_b^2 (first step only), iterated from q_1.
    /// fixed.chi1 is the asymptotic per-step gradient rate: E||dLoss/dx_{T-k}||^2 ~ chi1^k.
    /// fixed.cStar and fixed.xiC are those of the two-sequence recursion: with an input at every
    /// step and c_x < 1 the fixed point of c -> (sigma_w^2 E[phi(u1) phi(u2)](q*, c) + sigma_u^2
    /// q_x c_x + sigma_b^2) / q* (below 1: the inputs keep the sequences apart), where q
    /// diverges c* is the limit map's (1, or for linear the exact geometric limit).
    FixedPoint fixed;
};
/// Throws std::invalid_argument unless T >= 1, width >= 1, the variances and q_x are >= 0 and
/// c_x is in [-1, 1].
RnnTheory rnnTheory(const Activation& act, double sigmaW2, double sigmaU2, double sigmaB2,
                    double qx, double cx, int T, bool inputEveryStep, int width = 1);

// ---- ResNet ---------------------------------------------------------------------------------
//
// x^0 = input, x^l = x^{l-1} + gamma F_l(x^{l-1}), l = 1..L, branch of m dense N x N layers,
// pre-activation: y_1 = W_1 phi(x) + b_1, y_j = W_j phi(y_{j-1}) + b_j, F(x) = y_m.
// W_m has zero mean and is independent of x, so E[x_i F(x')_i] = 0: the skip and the branch are
// uncorrelated and both the length and the covariance add:
//   q^l = q^{l-1} + gamma^2 q_F(q^{l-1}),  q_F = m applications of the length map
//   k^l = k^{l-1} + gamma^2 k_F,           k_F = q_F c_F, c_F = m applications of the c-map
// Jacobian of a block: J = I + gamma W_m D_{m-1} W_{m-1} ... D_1 W_1 D_0 (D_j = diag phi' of
// the j-th pre-activation, D_0 at x). E tr(J^T J) / N = 1 + 2 gamma E tr(dF/dx) / N + gamma^2
// E||dF/dx||_F^2 / N; the middle term is 0 (W_m enters linearly with zero mean) and the last is
// gamma^2 chi_F with
//   chi_F = prod_{j=1..m} sigma_w,j^2 E[phi'(sqrt(q_{j-1}) z)^2],  q_0 = q^{l-1},
//   q_j = length of y_j,
// so the mean squared singular value of a block's Jacobian is 1 + gamma^2 chi_F, and the same
// factor is the backward rate E||dLoss/dx^{l-1}||^2 / E||dLoss/dx^l||^2.

enum class ResidualScale { Zero, One, InvSqrtDepth, Value, Fixup };
/// gamma: 0, 1, 1/sqrt(L), `value`, or 1 for Fixup (its scalar multiplier starts at 1; the
/// rescaling is in the branch weights, fixupBranchSigmaW2).
double residualGamma(ResidualScale scale, int blocks, double value = 1.0);
/// Fixup (Zhang et al. 2019): the last branch layer is zero and the other m - 1 layers' weights
/// are multiplied by L^(-1/(2m-2)), so their sigma_w^2 by L^(-1/(m-1)) (m = 1: only the zero
/// layer). At init F(x) = b_m: with Fixup's zero biases q is constant, with sigma_b^2 > 0 it
/// grows by sigma_b^2 per block (gamma = 1).
std::vector<double> fixupBranchSigmaW2(const std::vector<double>& branchSigmaW2, int blocks);

struct ResNetTheory {
    double gamma = 0;
    std::vector<double> branchSigmaW2; // the branch layers' sigma_w^2 as used (after Fixup)
    std::vector<double> q;             // q^1..q^L ([l-1] is block l's output)
    std::vector<double> c;             // c^1..c^L
    std::vector<double> branchQ;       // [l-1]: q_F(q^{l-1}), the branch output's length
    std::vector<double> branchRatio;   // [l-1]: q_F(q^{l-1}) / q^{l-1} (no gamma; inf/NaN at q 0)
    std::vector<double> chiF;          // [l-1]: chi_F at q^{l-1}
    /// [l-1]: 1 + gamma^2 chi_F, block l's mean squared Jacobian singular value and backward rate
    std::vector<double> jacobianMeanSq;
    /// [l-1]: the product over blocks 1..l: the mean squared singular value of dx^l/dx^0
    std::vector<double> jacobianMeanSqTotal;
};
/// branchSigmaW2: sigma_w^2 of the m branch layers (m >= 1); for Fixup the unscaled values
/// (fixupBranchSigmaW2 is applied here). q0 = ||x^0||^2 / N, c0 the input correlation.
/// Throws std::invalid_argument unless blocks >= 1, m >= 1 and the variances are >= 0.
ResNetTheory resnetTheory(const Activation& act, const std::vector<double>& branchSigmaW2,
                          double sigmaB2, int blocks, ResidualScale scale, double gammaValue,
                          double q0, double c0);

// ---- CNN ------------------------------------------------------------------------------------
//
// k x k kernels, circular padding, stride 1: every output pixel sums k^2 C_in terms, so the
// per-pixel length is the MLP's with sigma_w^2 = Var(W) k^2 C_in (layerTheory with these
// values; layer 1 acts on the input's q_x exactly like the MLP's). Only the per-pixel length and
// the correlation of two inputs at the same pixel are modelled: the correlation between
// positions (Xiao et al. 2018's spatial covariance) is not. The prediction is for the expectation
// over kernels: one relu network's q fluctuates far more than an MLP's of the same fan-in,
// because relu's positive mean gives every patch of every image a common direction, so one
// kernel's C outputs average little (measured: up to 34% in one layer at C = 64, 8 x 8 images;
// odd activations without bias: a few %).

/// sigma_w^2 the length map sees. `intendedVariance` is the scheme's variance at the correct fans
/// (fanIn k^2 C_in). With `forgottenK2` the scheme was given fan-in C_in (and fan-out C_out)
/// instead, which makes every fan-scaled scheme (lecun, xavier, he, orthogonal) k^2 times too
/// large: the result is k^2 x intended, and q grows by k^2 per layer more than intended
/// (linear). Unscaled schemes (normal, uniform, constant) do not see the fans: pass false.
double cnnEffectiveSigmaW2(double intendedVariance, int kernel, int channelsIn, bool forgottenK2);

/// Delta-orthogonal kernels: zero except the centre tap, a C_out x C_in matrix with orthonormal
/// columns (C_out >= C_in) or rows, scaled so that its entries have variance v. Each pixel's map
/// is then s Q with s^2 = v max(C_in, C_out): this returns s^2, the squared nonzero singular value
/// of one layer's Jacobian (of a linear network, or at q -> 0 of a tanh network).
double deltaOrthogonalLayerGain(double centreTapVariance, int channelsIn, int channelsOut);
/// The sigma_w^2 the length map sees for delta-orthogonal kernels: v C_in (only the centre tap's
/// C_in terms are summed, whatever k is).
double deltaOrthogonalSigmaW2(double centreTapVariance, int channelsIn);
/// Every singular value of the end-to-end Jacobian of L linear delta-orthogonal layers with
/// non-decreasing channel counts (each centre tap has orthonormal columns): prod_l sqrt(gain_l),
/// gain_l = deltaOrthogonalLayerGain of layer l; all C_0 S^2 of them are equal.
double deltaOrthogonalSingularValue(const std::vector<double>& layerGains);
/// The same for L equal layers: gain^(L/2).
double deltaOrthogonalSingularValue(double gain, int layers);

} // namespace initscope::meanfield

// The neural tangent kernel (Jacot et al. 2018) of a scalar readout f = v.a^L + b_v on K probe
// inputs, empirical (on the run's real network) beside analytic (infinite width), with its
// eigenvalues and condition number, also as a function of depth (Xiao et al. 2020).
//
// Empirical, in NTK parameterisation: every parameter's gradient is scaled by its init standard
// deviation, so for the K x K Gram matrices Ga^l = A_l^T A_l (A_0 = X) and Gd^l = Dl^T Dl of the
// backpropagated deltas delta^l = df/dh^l (THEORY.md):
//     Theta = sum_{l=1..L} [ (sigma_w2_l / N_{l-1}) Gd^l o Ga^{l-1} + sigma_b^2 Gd^l ]
//             + Var(v) Ga^L + sigma_b^2                        (readout weight and bias)
// (o = elementwise product). Cost O(L K N^2) for the passes plus O(L K^2 N) for the Grams; no
// per-example parameter Jacobian is formed. Var(v) = readoutVariance(spec, L) (weights.h);
// sigma_w2_l = effectiveSigmaW2(spec, l), sigma_b^2 = effectiveSigmaB2(spec).
//
// Analytic: with Sigma^1 = sigma_w2_1 X^T X / N_0 + sigma_b^2 (the empirical input Gram) and
// (u, v) ~ N(0, Sigma^l restricted to each pair of inputs),
//     Sigma^{l+1} = sigma_w2_{l+1} E[phi(u)phi(v)] + sigma_b^2,
//     Theta^1 = Sigma^1,  Theta^{l+1} = sigma_w2_{l+1} E[phi'(u)phi'(v)] o Theta^l + Sigma^{l+1},
// and the readout is one more linear layer with sigma_v^2 = Var(v) N_L:
//     Theta_f = sigma_v^2 (E[phi(u)phi(v)] + E[phi'(u)phi'(v)] o Theta^L) + sigma_b^2.
// The pair expectations are exact closed forms for linear, relu, leaky-relu (arc-cosine kernels),
// erf (Williams 1997) and sin; other activations use the Hermite (Mehler) series
//     E[f(sqrt(q_a) z_a) g(sqrt(q_b) z_b)] = sum_n c_ab^n f_n(q_a) g_n(q_b),  corr(z_a, z_b) =
//     c_ab,
// f_n = E[f(sqrt(q) z) He_n(z)] / sqrt(n!), truncated at n = kHermiteTerms with the tail placed at
// order kHermiteTerms (c^N sqrt(r_a r_b), r = E[f^2] - sum f_n^2). Every term is a Schur product
// of positive semidefinite matrices, so the analytic kernel stays positive semidefinite (its
// condition number is meaningful) and its diagonal is exact. Accuracy against meanfield.h's
// quadrature (tanh): ~1e-15 for |c| <= 0.3 at any q up to 100; for c = 0.99 ~1e-7 at q = 5,
// ~1e-5 at q = 10 and ~1e-3 at q = 100, since the coefficients decay like
// exp(-pi sqrt(2n) / (2 sqrt q)). Large q with c near 1 (nearly equal inputs at huge lengths) is
// the one regime where the analytic kernel is only approximate.
//
// Condition number by depth: for m = 1..L, the condition number of the NTK of the network
// truncated at depth m with its own readout f_m = v_m.a^m + b_v (v_m = initReadout(spec, m)):
// the network of depth m with the same seed, i.e. `ntk --depth m` gives the same number (to float
// rounding: depths share wide GEMMs, ~1e-7 relative per product). The
// forward pass is shared; each depth backpropagates its own readout (depths in parallel), so all
// L conditions cost O(L^2 K N^2 / 2) float flops, exact (no gradient-independence approximation).
// Analytic by depth comes free from the recursion (Theta_f at each l).
//
// A resnet (arch resnet) has its own passes and recursion, same outputs: ntkresnet.cpp.
#pragma once

#include "core/activation.h"
#include "core/stats.h"
#include "spec/spec.h"

#include <Eigen/Core>
#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace initscope {

inline constexpr int kMaxNtkInputs = 1024;
inline constexpr int kHermiteTerms = 128;

struct NtkOptions {
    int inputs = 16;      // K probe inputs: the first K of the run's batch (drawInputs)
    bool byDepth = true;  // the condition number at every depth m = 1..L
    bool analytic = true; // the infinite-width kernel beside the empirical one
};

/// One K x K kernel and its spectrum.
struct NtkKernel {
    Eigen::MatrixXd theta;           // K x K (empty when not finite)
    std::vector<double> eigenvalues; // descending
    double condition = kNaN;         // lambda_max / lambda_min (+inf when lambda_min <= 0)
};

/// One depth of the by-depth curve, streamed as soon as it is computed.
struct NtkDepthPoint {
    int depth = 0;           // m = 1..L
    double condition = kNaN; // empirical, truncated at depth m
};

struct NtkResult {
    NetworkSpec spec;
    int inputs = 0;
    NtkKernel empirical;
    std::vector<double> conditionByDepth; // [m - 1]: empirical, truncated at m (if byDepth)
    bool analyticApplicable = false;
    std::string analyticNote; // why not, when not applicable
    NtkKernel analytic;
    std::vector<double> analyticConditionByDepth;
    int firstNonfiniteLayer = 0; // first layer whose forward or backward values overflowed
    bool cancelled = false;
    double seconds = 0;
};

/// Empty when the options are allowed for this spec (inputs 1..min(batch, kMaxNtkInputs), memory
/// within budget); otherwise errors naming "inputs" or the spec's fields.
std::vector<SpecError> validateNtk(const NetworkSpec& spec, const NtkOptions& options);

/// Computes the NTK of the first K inputs of spec's network (initWeights, initBiases,
/// initReadout). `onDepth` (may be empty) sees each depth of the by-depth curve as it is done, on
/// a worker thread, in no fixed order, never two calls at once (depths past an overflow arrive
/// with a NaN condition, so every depth is seen once unless cancelled). `cancel` is checked during
/// the weight draw and the weights' float copy, per 64-row block of the forward products, per
/// tile of huge backward products and Grams, between layers and inside the analytic layers
/// (about 0.1 s at width 16384 and 1024 inputs). Results do not depend on the thread count. Throws
/// SpecInvalid on invalid options.
NtkResult computeNtk(const NetworkSpec& spec, const NtkOptions& options,
                     const std::function<void(const NtkDepthPoint&)>& onDepth = {},
                     const std::atomic<bool>* cancel = nullptr);

/// The analytic kernel alone, from a given input Gram X^T X / N_0 (K x K), with the condition
/// numbers by depth when `byDepth` is given. `cancel` (may be null) is checked every layer and
/// per row of pairs inside a layer's expectations; a cancelled call returns an empty kernel.
NtkKernel analyticNtk(const NetworkSpec& spec, const Eigen::MatrixXd& inputGram,
                      std::vector<double>* byDepth = nullptr,
                      const std::atomic<bool>* cancel = nullptr);

/// For sweeps: the empirical NTK's condition number of the full-depth network on K inputs.
double ntkCondition(const NetworkSpec& spec, int inputs);

/// Eigenvalues (descending) and lambda_max / lambda_min of a symmetric matrix.
NtkKernel spectrum(Eigen::MatrixXd theta);

/// E[phi(u_a) phi(u_b)] and E[phi'(u_a) phi'(u_b)] for every pair of jointly Gaussian u ~ N(0, S)
/// (S a K x K covariance): the pair expectations of the analytic recursion. `cancel` (may be
/// null) is looked at per row of pairs; once it is true the matrices returned are incomplete.
struct PairExpectations {
    Eigen::MatrixXd phiPhi, dphiDphi;
};
PairExpectations pairExpectations(const Activation& act, const Eigen::MatrixXd& covariance,
                                  const std::atomic<bool>* cancel = nullptr);

} // namespace initscope

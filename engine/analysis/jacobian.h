// The input-output Jacobian J = da^L/dx = D_L W^L ... D_1 W^1 (D_l = diag phi'(h^l)) of single
// inputs: its singular values, their mean square against the mean-field product, and the spread
// (dynamical isometry: Saxe et al. 2014, Pennington et al. 2017).
//
// Theory of the mean square. With W^l independent of the layers below and h^l_i ~ N(0, q^l)
// (mean field), for any matrix M independent of W^l
//     E||D_l W^l M||_F^2 = N_l E[phi'(sqrt(q^l) z)^2] (sigma_w2_l / N_{l-1}) ||M||_F^2,
// so from ||I_{N_0}||_F^2 = N_0 the width factors N_l / N_{l-1} telescope:
//     E||J||_F^2 = N_L prod_l chi_l,   chi_l = sigma_w2_l E[phi'(sqrt(q^l) z)^2],
// with q^l the input's own length recursion (q^0 = |x|^2 / N_0). J has min(N_0, N_L) singular
// values, so their mean square is (N_L / min(N_0, N_L)) prod_l chi_l: prod chi_l for square nets
// (chi1^L at the fixed point, THEORY.md). The first moment is the same for Gaussian and
// orthogonal weights; only the spread differs (Pennington et al. 2017).
#pragma once

#include "core/stats.h"
#include "spec/spec.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace initscope {

/// Largest number of probe inputs of the Jacobian view (each costs a full L N^2 min(N_0, N_L)
/// chain of products).
inline constexpr int kMaxJacobianInputs = 256;

struct JacobianInput {
    int index = 0;                      // input b = 0..K-1 (the b-th input of the run's batch)
    std::vector<double> singularValues; // descending; empty when J is not finite
    double meanSq = kNaN;               // mean of the squared singular values
    double theoryMeanSq = kNaN;         // (N_L / min(N_0, N_L)) prod_l chi_l at this input's q^l
    double spread = kNaN;               // max / min singular value (+inf when min = 0)
    int firstNonfiniteLayer = 0;        // first layer where h^l or the partial product overflowed
};

struct JacobianResult {
    NetworkSpec spec;
    std::vector<JacobianInput> inputs;
    double meanSq = kNaN;        // mean over the finite inputs of JacobianInput::meanSq
    double theoryMeanSq = kNaN;  // mean over the same inputs of JacobianInput::theoryMeanSq
    std::string theoryNote;      // why the theory is NaN, when it is
    int firstNonfiniteLayer = 0; // smallest over the inputs, 0 when all finite
    bool cancelled = false;
    double seconds = 0;
};

/// Empty when K is allowed for this spec (1..min(batch, kMaxJacobianInputs), and the memory
/// estimate within the spec's budget); otherwise errors naming "inputs" (or the spec's fields).
std::vector<SpecError> validateJacobian(const NetworkSpec& spec, int inputs);

/// Computes the Jacobian of the first K inputs (drawInputs) of spec's network (initWeights,
/// initBiases), one input after another, each parallel inside over fixed column blocks (results
/// do not depend on the thread count). `onInput` (may be empty) sees each input as soon as it is
/// done, on a worker thread, never two calls at once. `cancel` is checked during the weight
/// draw and the weights' float copy, between layers and between the product blocks of a layer
/// (row blocks of about 2^28 multiply-adds in layers wider than 2048). The SVDs at the end are
/// not interruptible (one per input, side min(N_0, N_L)).
/// Throws SpecInvalid when validateJacobian reports problems.
JacobianResult computeJacobian(const NetworkSpec& spec, int inputs,
                               const std::function<void(const JacobianInput&)>& onInput = {},
                               const std::atomic<bool>* cancel = nullptr);

/// (N_L / min(N_0, N_L)) prod_l chi_l for an input of length q0 = |x|^2 / N_0; NaN (with `note`
/// set, when given) where mean-field theory does not apply (constant weights or biases).
double theoryJacobianMeanSq(const NetworkSpec& spec, double q0, std::string* note = nullptr);

} // namespace initscope

// Activation functions phi with their first and second derivatives.
//
// Scalar versions (double) serve the mean-field theory; the batch version (float, vectorised
// through Eigen arrays) serves propagation. Both compute the same functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

enum class ActivationKind {
    Linear,
    Tanh,
    Relu,
    LeakyRelu, // phi(x) = x for x > 0, slope * x otherwise
    Sigmoid,
    Erf,
    Gelu, // x * Phi(x), Phi the standard normal CDF (exact, not the tanh approximation)
    Silu, // x * sigmoid(x)
    Selu, // Klambauer et al. 2017 constants
    Elu,  // alpha = 1
    Softplus,
    Sin,
    HardTanh, // clamp(x, -1, 1)
};

class Activation {
public:
    explicit Activation(ActivationKind kind = ActivationKind::Tanh, double slope = 0.01)
        : kind_(kind), slope_(slope) {}

    ActivationKind kind() const { return kind_; }
    /// Negative-side slope of leaky-relu (unused by the others).
    double slope() const { return slope_; }

    double phi(double x) const;
    double dphi(double x) const;
    double ddphi(double x) const;

    /// max |phi'(x)| over the real line; the reference for the saturation threshold.
    double maxAbsDphi() const;
    /// True for activations whose derivative tends to zero at large |x| (tanh, sigmoid, erf,
    /// hard-tanh): only these report a saturated fraction.
    bool saturates() const;
    /// True where phi is piecewise linear with a kink at 0 (relu, leaky-relu, hard-tanh at +-1):
    /// quadrature needs closed forms or care.
    bool hasKink() const;
    /// True when phi'(x) can be exactly zero on a set of positive measure (relu, hard-tanh):
    /// "dead" units are possible.
    bool canDie() const;

    /// Batch evaluation over n contiguous floats: a = phi(h), d = phi'(h).
    void apply(const float* h, float* a, float* d, std::size_t n) const;

    std::string name() const;

private:
    ActivationKind kind_;
    double slope_;
};

/// Canonical names: linear, tanh, relu, leaky-relu, sigmoid, erf, gelu, silu, selu, elu,
/// softplus, sin, hard-tanh.
std::optional<ActivationKind> parseActivation(std::string_view name);
std::string activationName(ActivationKind kind);
const std::vector<ActivationKind>& allActivations();

} // namespace initscope

#include "core/activation.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <unsupported/Eigen/SpecialFunctions>
#include <utility>

namespace initscope {
namespace {

constexpr double kSeluLambda = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438; // 1/sqrt(2 pi)
constexpr double kTwoOverSqrtPi = 1.1283791670955125738961589031215;

double sigmoid(double x) {
    return 1.0 / (1.0 + std::exp(-x));
}
double normalPdf(double x) {
    return kInvSqrt2Pi * std::exp(-0.5 * x * x);
}
double normalCdf(double x) {
    return 0.5 * std::erfc(-x / std::numbers::sqrt2);
}

const std::array<std::pair<ActivationKind, const char*>, 13> kNames{{
    {ActivationKind::Linear, "linear"},
    {ActivationKind::Tanh, "tanh"},
    {ActivationKind::Relu, "relu"},
    {ActivationKind::LeakyRelu, "leaky-relu"},
    {ActivationKind::Sigmoid, "sigmoid"},
    {ActivationKind::Erf, "erf"},
    {ActivationKind::Gelu, "gelu"},
    {ActivationKind::Silu, "silu"},
    {ActivationKind::Selu, "selu"},
    {ActivationKind::Elu, "elu"},
    {ActivationKind::Softplus, "softplus"},
    {ActivationKind::Sin, "sin"},
    {ActivationKind::HardTanh, "hard-tanh"},
}};

} // namespace

double Activation::phi(double x) const {
    switch (kind_) {
    case ActivationKind::Linear:
        return x;
    case ActivationKind::Tanh:
        return std::tanh(x);
    case ActivationKind::Relu:
        return x > 0 ? x : 0.0;
    case ActivationKind::LeakyRelu:
        return x > 0 ? x : slope_ * x;
    case ActivationKind::Sigmoid:
        return sigmoid(x);
    case ActivationKind::Erf:
        return std::erf(x);
    case ActivationKind::Gelu:
        return x * normalCdf(x);
    case ActivationKind::Silu:
        return x * sigmoid(x);
    case ActivationKind::Selu:
        return x > 0 ? kSeluLambda * x : kSeluLambda * kSeluAlpha * std::expm1(x);
    case ActivationKind::Elu:
        return x > 0 ? x : std::expm1(x);
    case ActivationKind::Softplus:
        return x > 30 ? x : std::log1p(std::exp(x));
    case ActivationKind::Sin:
        return std::sin(x);
    case ActivationKind::HardTanh:
        return std::clamp(x, -1.0, 1.0);
    }
    return 0.0;
}

double Activation::dphi(double x) const {
    switch (kind_) {
    case ActivationKind::Linear:
        return 1.0;
    case ActivationKind::Tanh: {
        const double t = std::tanh(x);
        return 1.0 - t * t;
    }
    case ActivationKind::Relu:
        return x > 0 ? 1.0 : 0.0;
    case ActivationKind::LeakyRelu:
        return x > 0 ? 1.0 : slope_;
    case ActivationKind::Sigmoid: {
        const double s = sigmoid(x);
        return s * (1.0 - s);
    }
    case ActivationKind::Erf:
        return kTwoOverSqrtPi * std::exp(-x * x);
    case ActivationKind::Gelu:
        return normalCdf(x) + x * normalPdf(x);
    case ActivationKind::Silu: {
        const double s = sigmoid(x);
        return s + x * s * (1.0 - s);
    }
    case ActivationKind::Selu:
        return x > 0 ? kSeluLambda : kSeluLambda * kSeluAlpha * std::exp(x);
    case ActivationKind::Elu:
        return x > 0 ? 1.0 : std::exp(x);
    case ActivationKind::Softplus:
        return sigmoid(x);
    case ActivationKind::Sin:
        return std::cos(x);
    case ActivationKind::HardTanh:
        return (x > -1.0 && x < 1.0) ? 1.0 : 0.0;
    }
    return 0.0;
}

double Activation::ddphi(double x) const {
    switch (kind_) {
    case ActivationKind::Linear:
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu:
    case ActivationKind::HardTanh:
        return 0.0; // almost everywhere
    case ActivationKind::Tanh: {
        const double t = std::tanh(x);
        return -2.0 * t * (1.0 - t * t);
    }
    case ActivationKind::Sigmoid: {
        const double s = sigmoid(x);
        return s * (1.0 - s) * (1.0 - 2.0 * s);
    }
    case ActivationKind::Erf:
        return -2.0 * x * kTwoOverSqrtPi * std::exp(-x * x);
    case ActivationKind::Gelu:
        return normalPdf(x) * (2.0 - x * x);
    case ActivationKind::Silu: {
        const double s = sigmoid(x);
        return s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s));
    }
    case ActivationKind::Selu:
        return x > 0 ? 0.0 : kSeluLambda * kSeluAlpha * std::exp(x);
    case ActivationKind::Elu:
        return x > 0 ? 0.0 : std::exp(x);
    case ActivationKind::Softplus: {
        const double s = sigmoid(x);
        return s * (1.0 - s);
    }
    case ActivationKind::Sin:
        return -std::sin(x);
    }
    return 0.0;
}

double Activation::maxAbsDphi() const {
    switch (kind_) {
    case ActivationKind::Sigmoid:
        return 0.25;
    case ActivationKind::Erf:
        return kTwoOverSqrtPi;
    case ActivationKind::Selu:
        return kSeluLambda * kSeluAlpha; // attained as x -> 0-
    case ActivationKind::Gelu:
        return 1.1289; // phi'(sqrt 2) = Phi(sqrt2) + sqrt2 pdf(sqrt2)
    case ActivationKind::Silu:
        return 1.0998; // at x ~ 2.3994
    case ActivationKind::LeakyRelu:
        return std::max(1.0, std::abs(slope_));
    default:
        return 1.0;
    }
}

bool Activation::saturates() const {
    return kind_ == ActivationKind::Tanh || kind_ == ActivationKind::Sigmoid ||
           kind_ == ActivationKind::Erf || kind_ == ActivationKind::HardTanh;
}

bool Activation::hasKink() const {
    return kind_ == ActivationKind::Relu || kind_ == ActivationKind::LeakyRelu ||
           kind_ == ActivationKind::HardTanh || kind_ == ActivationKind::Selu ||
           kind_ == ActivationKind::Elu;
}

bool Activation::canDie() const {
    return kind_ == ActivationKind::Relu || kind_ == ActivationKind::HardTanh ||
           (kind_ == ActivationKind::LeakyRelu && slope_ == 0.0);
}

void Activation::apply(const float* hp, float* ap, float* dp, std::size_t n) const {
    using Arr = Eigen::Map<const Eigen::ArrayXf>;
    using MArr = Eigen::Map<Eigen::ArrayXf>;
    const Eigen::Index m = static_cast<Eigen::Index>(n);
    Arr h(hp, m);
    MArr a(ap, m);
    MArr d(dp, m);
    const float slope = static_cast<float>(slope_);
    switch (kind_) {
    case ActivationKind::Linear:
        a = h;
        d.setOnes();
        return;
    case ActivationKind::Tanh:
        a = h.tanh();
        d = 1.0f - a.square();
        return;
    case ActivationKind::Relu:
        a = h.max(0.0f);
        d = (h > 0.0f).cast<float>();
        return;
    case ActivationKind::LeakyRelu:
        a = (h > 0.0f).select(h, slope * h);
        d = (h > 0.0f).select(Eigen::ArrayXf::Ones(m), Eigen::ArrayXf::Constant(m, slope));
        return;
    case ActivationKind::Sigmoid:
        a = h.logistic();
        d = a * (1.0f - a);
        return;
    case ActivationKind::Erf:
        a = h.erf();
        d = static_cast<float>(kTwoOverSqrtPi) * (-h.square()).exp();
        return;
    case ActivationKind::Gelu: {
        const float invSqrt2 = static_cast<float>(1.0 / std::numbers::sqrt2);
        // Phi(h) = (1 + erf(h / sqrt 2)) / 2
        d = 0.5f * (1.0f + (h * invSqrt2).erf());
        a = h * d;
        d += static_cast<float>(kInvSqrt2Pi) * h * (-0.5f * h.square()).exp();
        return;
    }
    case ActivationKind::Silu:
        d = h.logistic();
        a = h * d;
        d = d + h * d * (1.0f - d);
        return;
    case ActivationKind::Selu: {
        const float l = static_cast<float>(kSeluLambda);
        const float la = static_cast<float>(kSeluLambda * kSeluAlpha);
        const Eigen::ArrayXf e = h.min(0.0f).exp();
        a = (h > 0.0f).select(l * h, la * (e - 1.0f));
        d = (h > 0.0f).select(Eigen::ArrayXf::Constant(m, l), la * e);
        return;
    }
    case ActivationKind::Elu: {
        const Eigen::ArrayXf e = h.min(0.0f).exp();
        a = (h > 0.0f).select(h, e - 1.0f);
        d = (h > 0.0f).select(Eigen::ArrayXf::Ones(m), e);
        return;
    }
    case ActivationKind::Softplus:
        // log(1 + e^h) = max(h, 0) + log1p(e^-|h|), stable for large |h|
        a = h.max(0.0f) + (-h.abs()).exp().log1p();
        d = h.logistic();
        return;
    case ActivationKind::Sin:
        a = h.sin();
        d = h.cos();
        return;
    case ActivationKind::HardTanh:
        a = h.max(-1.0f).min(1.0f);
        d = (h > -1.0f && h < 1.0f).cast<float>();
        return;
    }
}

std::string Activation::name() const {
    return activationName(kind_);
}

std::optional<ActivationKind> parseActivation(std::string_view name) {
    for (const auto& [kind, n] : kNames)
        if (name == n)
            return kind;
    if (name == "leaky_relu" || name == "leakyrelu")
        return ActivationKind::LeakyRelu;
    if (name == "hard_tanh" || name == "hardtanh")
        return ActivationKind::HardTanh;
    if (name == "swish")
        return ActivationKind::Silu;
    return std::nullopt;
}

std::string activationName(ActivationKind kind) {
    for (const auto& [k, n] : kNames)
        if (k == kind)
            return n;
    return "unknown";
}

const std::vector<ActivationKind>& allActivations() {
    static const std::vector<ActivationKind> all = [] {
        std::vector<ActivationKind> v;
        for (const auto& [k, n] : kNames)
            v.push_back(k);
        return v;
    }();
    return all;
}

} // namespace initscope

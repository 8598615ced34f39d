// Activations: the derivatives are the derivatives, and the float batch path equals the scalar
// definition.
#include "core/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace initscope;

namespace {
// Central differences with step 1e-5 in double have truncation error ~ f''' h^2 ~ 1e-10 and
// rounding error ~ 1e-16 / 1e-5 = 1e-11; 1e-6 leaves a wide margin.
constexpr double kFdTol = 1e-6;
const std::vector<double> kPoints{-3.1, -1.7, -0.6, -0.13, 0.21, 0.55, 0.9, 1.3, 2.4, 3.7};
} // namespace

TEST(Activation, DerivativesMatchFiniteDifferences) {
    for (ActivationKind k : allActivations()) {
        const Activation a(k, 0.1);
        for (double x : kPoints) {
            const double h = 1e-5;
            const double d1 = (a.phi(x + h) - a.phi(x - h)) / (2 * h);
            const double d2 = (a.dphi(x + h) - a.dphi(x - h)) / (2 * h);
            EXPECT_NEAR(a.dphi(x), d1, kFdTol) << a.name() << " phi' at " << x;
            EXPECT_NEAR(a.ddphi(x), d2, kFdTol) << a.name() << " phi'' at " << x;
        }
    }
}

TEST(Activation, BatchPathEqualsScalarDefinition) {
    // Eigen's vectorised float functions are accurate to a few ulp; 2e-6 relative (about 16 ulp
    // of float) bounds them with margin.
    std::vector<float> h;
    for (int i = -400; i <= 400; ++i)
        h.push_back(static_cast<float>(i) * 0.0173f);
    std::vector<float> a(h.size()), d(h.size());
    for (ActivationKind k : allActivations()) {
        const Activation act(k, 0.1);
        act.apply(h.data(), a.data(), d.data(), h.size());
        for (std::size_t i = 0; i < h.size(); ++i) {
            const double x = h[i];
            EXPECT_NEAR(a[i], act.phi(x), 2e-6 * (1 + std::abs(act.phi(x)))) << act.name() << x;
            EXPECT_NEAR(d[i], act.dphi(x), 2e-6 * (1 + std::abs(act.dphi(x)))) << act.name() << x;
        }
    }
}

TEST(Activation, NamesRoundTrip) {
    for (ActivationKind k : allActivations())
        EXPECT_EQ(parseActivation(activationName(k)), k);
    EXPECT_FALSE(parseActivation("tanhh").has_value());
}

TEST(Activation, MaxAbsDerivativeIsTheSupremum) {
    for (ActivationKind k : allActivations()) {
        const Activation a(k, 0.1);
        double m = 0;
        for (double x = -8; x <= 8; x += 1e-3)
            m = std::max(m, std::abs(a.dphi(x)));
        EXPECT_LE(m, a.maxAbsDphi() + 1e-4) << a.name();
        if (k == ActivationKind::Selu || k == ActivationKind::Softplus)
            // the supremum is a limit (x -> 0- for selu, x -> +inf for softplus): the grid
            // (step 1e-3, phi'' <= 1.76 there) approaches it within 2e-3
            EXPECT_NEAR(m, a.maxAbsDphi(), 2e-3) << a.name();
        else
            EXPECT_NEAR(m, a.maxAbsDphi(), 1e-4) << a.name();
    }
}

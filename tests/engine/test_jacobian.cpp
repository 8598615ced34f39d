// The input-output Jacobian: dynamical isometry of orthogonal linear networks, the spread of
// Gaussian ones, the mean squared singular value against its mean-field product, overflow.
#include "analysis/jacobian.h"
#include "network/weights.h"
#include "theory/meanfield.h"

#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <cmath>

using namespace initscope;

namespace {

NetworkSpec linearSpec(InitScheme init, double gain) {
    NetworkSpec s;
    s.depth = 12;
    s.width = 64;
    s.inputDim = 64;
    s.batch = 4;
    s.activation = ActivationKind::Linear;
    s.init = init;
    s.gain = gain;
    s.seed = 5;
    return s;
}

} // namespace

TEST(Jacobian, OrthogonalLinearIsAnIsometryScaledByTheGain) {
    // Square layers: W^l = sqrt(gain) Q^l with Q orthogonal, so J = gain^(L/2) Q^L...Q^1 exactly.
    // Tolerance 1e-4 relative: the weights are stored in float (orthogonality error ~1e-7 per
    // layer, adding up over 12 layers) and the product is taken in double.
    for (const auto& [n0, n] : {std::pair{64, 64}, std::pair{100, 40}, std::pair{40, 100}}) {
        NetworkSpec s = linearSpec(InitScheme::Orthogonal, 1.3);
        s.inputDim = n0;
        s.width = n;
        const JacobianResult r = computeJacobian(s, 3);
        // an expanding first layer (N > N0) scales by sqrt(N / N0): its N0 orthonormal columns of
        // entry variance gain / N0 have squared norm gain N / N0
        const double expect =
            std::pow(1.3, s.depth / 2.0) * std::sqrt(std::max(1.0, static_cast<double>(n) / n0));
        ASSERT_EQ(r.inputs.size(), 3u);
        for (const JacobianInput& in : r.inputs) {
            // a rectangular first layer keeps min(N0, N) singular values of one chain
            ASSERT_EQ(in.singularValues.size(), static_cast<std::size_t>(std::min(n0, n)));
            for (double sv : in.singularValues)
                EXPECT_NEAR(sv, expect, 1e-4 * expect) << n0 << "x" << n;
            EXPECT_NEAR(in.spread, 1.0, 1e-4);
        }
        // the mean-field mean square (N_L / min(N_0, N_L)) gain^L is exact here
        EXPECT_NEAR(r.meanSq, r.theoryMeanSq, 1e-4 * r.theoryMeanSq);
    }
}

TEST(Jacobian, GaussianWeightsSpreadTheSingularValues) {
    // Products of independent Gaussian matrices have a wide singular value spectrum (Pennington
    // et al. 2017): after 12 layers of width 64 max/min is in the hundreds or more, against 1 for
    // orthogonal weights. A factor 10 separates the cases by a wide margin.
    const JacobianResult g = computeJacobian(linearSpec(InitScheme::LecunNormal, 1.0), 2);
    const JacobianResult o = computeJacobian(linearSpec(InitScheme::Orthogonal, 1.0), 2);
    for (std::size_t k = 0; k < 2; ++k) {
        EXPECT_GT(g.inputs[k].spread, 10.0);
        EXPECT_LT(o.inputs[k].spread, 1.001);
    }
}

TEST(Jacobian, MeanSquareFollowsTheMeanFieldProduct) {
    // E||J||_F^2 = N_L prod chi_l. ||J||_F^2 sums N_0 = 512 nearly independent directions, each
    // fluctuating by ~sqrt(2 L / N) = 0.2, so the sum fluctuates by ~1%; mean-field theory
    // ignores the O(1/N) dependence between D_l and W^l, a bias of order L / N = 2%. Measured
    // (3 seeds): tanh 0.97, relu 1.01, linear 1.00; tolerance 0.1 is about 3x the worst.
    for (const ActivationKind act :
         {ActivationKind::Tanh, ActivationKind::Relu, ActivationKind::Linear}) {
        double meas = 0, theory = 0;
        for (std::uint64_t seed = 1; seed <= 3; ++seed) {
            NetworkSpec s;
            s.depth = 10;
            s.width = 512;
            s.inputDim = 512;
            s.batch = 4;
            s.activation = act;
            s.init = act == ActivationKind::Relu ? InitScheme::HeNormal : InitScheme::LecunNormal;
            s.gain = act == ActivationKind::Tanh ? 1.8 : 1.0;
            s.biasInit = BiasInit::Normal;
            s.sigmaB2 = 0.05;
            s.seed = seed;
            const JacobianResult r = computeJacobian(s, 4);
            meas += r.meanSq;
            theory += r.theoryMeanSq;
        }
        EXPECT_NEAR(meas / theory, 1.0, 0.1) << activationName(act);
    }
    // At the fixed point the product is chi1^L (THEORY.md): tanh started at q* stays there.
    NetworkSpec s;
    s.depth = 7;
    s.activation = ActivationKind::Tanh;
    s.gain = 1.8;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    const Activation tanhAct(ActivationKind::Tanh);
    const meanfield::FixedPoint fp = meanfield::fixedPoint(tanhAct, 1.8, 0.05);
    const double q0 = (fp.qStar - 0.05) / 1.8; // so that q^1 = q*
    EXPECT_NEAR(theoryJacobianMeanSq(s, q0), std::pow(fp.chi1, 7), 1e-6 * std::pow(fp.chi1, 7));
}

TEST(Jacobian, ReportsOverflowWithoutCrashing) {
    NetworkSpec s;
    s.depth = 50;
    s.width = 128;
    s.inputDim = 128;
    s.batch = 3;
    s.init = InitScheme::Normal; // unscaled N(0, 1): h grows ~sqrt(128) per layer, float overflow
                                 // (3.4e38) after ~37 layers
    s.activation = ActivationKind::Linear;
    const JacobianResult r = computeJacobian(s, 3);
    EXPECT_GT(r.firstNonfiniteLayer, 0);
    EXPECT_LE(r.firstNonfiniteLayer, 50);
    for (const JacobianInput& in : r.inputs) {
        EXPECT_TRUE(in.singularValues.empty());
        EXPECT_TRUE(std::isnan(in.meanSq));
    }
    EXPECT_TRUE(std::isnan(r.meanSq));
}

TEST(Jacobian, IndependentOfThreadCountAndStreamsEachInput) {
    NetworkSpec s;
    s.depth = 6;
    s.width = 150; // not a multiple of the 64-column blocks
    s.inputDim = 150;
    s.batch = 5;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.1;
    s.threads = 1;
    const JacobianResult a = computeJacobian(s, 5);
    s.threads = 2;
    int calls = 0;
    const JacobianResult b = computeJacobian(s, 5, [&](const JacobianInput&) { ++calls; });
    EXPECT_EQ(calls, 5);
    for (std::size_t k = 0; k < 5; ++k)
        EXPECT_EQ(a.inputs[k].singularValues, b.inputs[k].singularValues);
}

TEST(Jacobian, MatchesADirectProduct) {
    // J from its definition, in double, for one input of a small tanh network.
    NetworkSpec s;
    s.depth = 3;
    s.widths = {7, 9, 6};
    s.inputDim = 5;
    s.batch = 2;
    s.activation = ActivationKind::Tanh;
    s.gain = 2.0;
    const JacobianResult r = computeJacobian(s, 2);
    const Activation act(s.activation);
    const Eigen::MatrixXd x = drawInputs(s, 2).cast<double>();
    for (int k = 0; k < 2; ++k) {
        Eigen::VectorXd a = x.col(k);
        Eigen::MatrixXd j = Eigen::MatrixXd::Identity(5, 5);
        for (int l = 1; l <= 3; ++l) {
            const Eigen::MatrixXd w = initWeights(s, l).cast<double>();
            Eigen::VectorXd h = w * a + initBiases(s, l).cast<double>();
            Eigen::VectorXd d(h.size());
            for (Eigen::Index i = 0; i < h.size(); ++i) {
                d(i) = act.dphi(h(i));
                h(i) = act.phi(h(i));
            }
            j = d.asDiagonal() * (w * j);
            a = h;
        }
        const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(j).singularValues();
        ASSERT_EQ(r.inputs[static_cast<std::size_t>(k)].singularValues.size(), 5u);
        for (int i = 0; i < 5; ++i) // float forward pass: 1e-5 relative
            EXPECT_NEAR(
                r.inputs[static_cast<std::size_t>(k)].singularValues[static_cast<std::size_t>(i)],
                sv(i), 1e-5 * sv(0));
    }
}

TEST(Jacobian, WideLayersSplitIntoRowBlocksMatchADirectProduct) {
    // A 4096 x 4096 middle layer: its products with the running product are cut into 1024-row
    // tasks (cancel looks between them), from the input side (N_0 = 5 <= N_L = 6) and from the
    // output side (N_0 = 7 > N_L, the transposed layer). Each row block is its own slice of the
    // same product, so J must equal the direct product; tolerance as above (float forward pass).
    for (const int n0 : {5, 7}) {
        NetworkSpec s;
        s.depth = 3;
        s.widths = {4096, 4096, 6};
        s.inputDim = n0;
        s.batch = 1;
        s.activation = ActivationKind::Tanh;
        s.gain = 1.5;
        const JacobianResult r = computeJacobian(s, 1);
        const Activation act(s.activation);
        Eigen::VectorXd a = drawInputs(s, 1).cast<double>().col(0);
        Eigen::MatrixXd j = Eigen::MatrixXd::Identity(n0, n0);
        for (int l = 1; l <= 3; ++l) {
            const Eigen::MatrixXd w = initWeights(s, l).cast<double>();
            Eigen::VectorXd h = w * a + initBiases(s, l).cast<double>();
            Eigen::VectorXd d(h.size());
            for (Eigen::Index i = 0; i < h.size(); ++i) {
                d(i) = act.dphi(h(i));
                h(i) = act.phi(h(i));
            }
            j = d.asDiagonal() * (w * j);
            a = h;
        }
        const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(j).singularValues();
        const auto& got = r.inputs.front().singularValues;
        ASSERT_EQ(got.size(), static_cast<std::size_t>(std::min(n0, 6))) << n0;
        for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_NEAR(got[i], sv(static_cast<Eigen::Index>(i)), 1e-5 * sv(0)) << n0;
    }
}

TEST(Jacobian, Cancellation) {
    NetworkSpec s = linearSpec(InitScheme::LecunNormal, 1.0);
    std::atomic<bool> cancel{true};
    int calls = 0;
    const JacobianResult r = computeJacobian(
        s, 2, [&](const JacobianInput&) { ++calls; }, &cancel);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(calls, 0);
    EXPECT_TRUE(std::isnan(r.meanSq));
}

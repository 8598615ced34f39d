// Initialization schemes: each scheme's sample variance and mean against its formula, orthogonal
// matrices orthogonal, and the draws a pure function of (seed, layer) that the gain only rescales.
#include "core/rng.h"
#include "network/weights.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>

using namespace initscope;

namespace {

NetworkSpec specFor(InitScheme s, int fanIn, int fanOut, double gain) {
    NetworkSpec spec;
    spec.depth = 1;
    spec.inputDim = fanIn;
    spec.width = fanOut;
    spec.init = s;
    spec.gain = gain;
    spec.seed = 7;
    return spec;
}

struct Moments {
    double mean, var, maxAbs;
};
Moments moments(const MatrixF& w) {
    const Eigen::ArrayXd x = w.cast<double>().reshaped().array();
    const double mean = x.mean();
    return {mean, (x - mean).square().sum() / static_cast<double>(x.size() - 1),
            x.abs().maxCoeff()};
}

} // namespace

struct SchemeCase {
    InitScheme scheme;
    FanMode mode;
    double expectedVarianceTimesGain; // formula of THEORY.md, written out by hand
    bool uniform;
};

class SchemeVariance : public ::testing::TestWithParam<SchemeCase> {};

TEST_P(SchemeVariance, SampleMomentsMatchFormula) {
    // fanIn = 600, fanOut = 300: unequal fans tell fan-in, fan-out and Xavier apart.
    const SchemeCase c = GetParam();
    const double gain = 1.7;
    NetworkSpec spec = specFor(c.scheme, 600, 300, gain);
    spec.fanMode = c.mode;
    const MatrixF w = initWeights(spec, 1);
    const Moments m = moments(w);
    const double v = gain * c.expectedVarianceTimesGain;
    const double n = static_cast<double>(w.size()); // 180000 entries
    // Sample variance has relative standard error sqrt((kurtosis - 1)/n): sqrt(2/n) = 0.33% for
    // a Gaussian, sqrt(0.8/n) = 0.21% for a uniform. Five standard errors: 1.7%.
    EXPECT_NEAR(m.var / v, 1.0, 5 * std::sqrt(2.0 / n)) << initSchemeName(c.scheme);
    // Sample mean has standard error sqrt(v/n); five of them.
    EXPECT_NEAR(m.mean, 0.0, 5 * std::sqrt(v / n)) << initSchemeName(c.scheme);
    if (c.uniform) { // U(-limit, limit) with limit = sqrt(3 v)
        EXPECT_LE(m.maxAbs, std::sqrt(3 * v) * (1 + 1e-6));
    }
}

INSTANTIATE_TEST_SUITE_P(
    AllRandomSchemes, SchemeVariance,
    ::testing::Values(SchemeCase{InitScheme::LecunNormal, FanMode::FanIn, 1.0 / 600, false},
                      SchemeCase{InitScheme::LecunUniform, FanMode::FanIn, 1.0 / 600, true},
                      SchemeCase{InitScheme::XavierNormal, FanMode::FanIn, 2.0 / 900, false},
                      SchemeCase{InitScheme::XavierUniform, FanMode::FanIn, 2.0 / 900, true},
                      SchemeCase{InitScheme::HeNormal, FanMode::FanIn, 2.0 / 600, false},
                      SchemeCase{InitScheme::HeNormal, FanMode::FanOut, 2.0 / 300, false},
                      SchemeCase{InitScheme::HeUniform, FanMode::FanIn, 2.0 / 600, true},
                      SchemeCase{InitScheme::HeUniform, FanMode::FanOut, 2.0 / 300, true},
                      SchemeCase{InitScheme::Normal, FanMode::FanIn, 1.0, false},
                      SchemeCase{InitScheme::Uniform, FanMode::FanIn, 1.0 / 3.0, true},
                      SchemeCase{InitScheme::Orthogonal, FanMode::FanIn, 1.0 / 600, false}));

TEST(Weights, XavierHasNoIntegerDivision) {
    // 2/(3+4) in integers would be 0
    EXPECT_DOUBLE_EQ(baseVariance(InitScheme::XavierNormal, FanMode::FanIn, 3, 4, 1.0), 2.0 / 7.0);
}

TEST(Weights, NaiveSchemesUseInitValueAsStdAndLimit) {
    EXPECT_DOUBLE_EQ(baseVariance(InitScheme::Normal, FanMode::FanIn, 10, 10, 0.01), 1e-4);
    EXPECT_DOUBLE_EQ(baseVariance(InitScheme::Uniform, FanMode::FanIn, 10, 10, 0.3), 0.03);
}

TEST(Weights, OrthogonalIsOrthogonal) {
    // W = sqrt(gain) Q for a square layer: W W^T = gain I. Float storage: entries of Q are
    // rounded to 2^-24 relative, so the products are exact to ~n * 2^-24 ~ 3e-5 at n = 512.
    for (int n : {64, 512}) {
        NetworkSpec spec = specFor(InitScheme::Orthogonal, n, n, 2.0);
        const Eigen::MatrixXd w = initWeights(spec, 1).cast<double>();
        const Eigen::MatrixXd g = w * w.transpose();
        EXPECT_LT((g - 2.0 * Eigen::MatrixXd::Identity(n, n)).cwiseAbs().maxCoeff(), 1e-4) << n;
    }
    // Wide layer (fanOut < fanIn): orthonormal rows. Tall layer: orthonormal columns.
    {
        NetworkSpec spec = specFor(InitScheme::Orthogonal, 300, 100, 1.0);
        const Eigen::MatrixXd w = initWeights(spec, 1).cast<double>();
        const Eigen::MatrixXd g = w * w.transpose() * (300.0 / 300.0); // Var = 1/300 -> rows norm 1
        EXPECT_LT((g - Eigen::MatrixXd::Identity(100, 100)).cwiseAbs().maxCoeff(), 1e-4);
    }
    {
        NetworkSpec spec = specFor(InitScheme::Orthogonal, 100, 300, 1.0);
        const Eigen::MatrixXd w = initWeights(spec, 1).cast<double>();
        // Var = 1/fanIn = 1/100 over 300 x 100 entries: columns of norm sqrt(300/100)
        const Eigen::MatrixXd g = w.transpose() * w;
        EXPECT_LT((g - 3.0 * Eigen::MatrixXd::Identity(100, 100)).cwiseAbs().maxCoeff(), 1e-4);
    }
}

TEST(Weights, GainOnlyRescalesTheSameDraws) {
    for (InitScheme s : {InitScheme::LecunNormal, InitScheme::HeUniform, InitScheme::Orthogonal}) {
        const MatrixF a = initWeights(specFor(s, 128, 64, 1.0), 1);
        const MatrixF b = initWeights(specFor(s, 128, 64, 4.0), 1);
        // b = 2 a up to one float rounding of each product (relative 2^-24)
        EXPECT_LT((b - 2.0f * a).cwiseAbs().maxCoeff(), 1e-6f * a.cwiseAbs().maxCoeff() * 4);
    }
}

TEST(Weights, DrawsDependOnlyOnSeedAndLayer) {
    const MatrixF a = drawStandard(DrawKind::Normal, 11, 3, 32, 32);
    const MatrixF b = drawStandard(DrawKind::Normal, 11, 3, 32, 32);
    const MatrixF c = drawStandard(DrawKind::Normal, 11, 4, 32, 32);
    const MatrixF d = drawStandard(DrawKind::Normal, 12, 3, 32, 32);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
}

TEST(Weights, ZerosAndConstant) {
    NetworkSpec spec = specFor(InitScheme::Zeros, 8, 8, 1.0);
    EXPECT_EQ(initWeights(spec, 1).cwiseAbs().maxCoeff(), 0.0f);
    spec.init = InitScheme::Constant;
    spec.initValue = 0.25;
    spec.gain = 4.0; // gain multiplies the second moment: every weight = sqrt(4) * 0.25
    const MatrixF w = initWeights(spec, 1);
    EXPECT_EQ(w.minCoeff(), 0.5f);
    EXPECT_EQ(w.maxCoeff(), 0.5f);
}

TEST(Rng, NormalDrawsAreStandard) {
    // 1e6 draws: mean within 5/sqrt(n) = 0.005, variance within 5 sqrt(2/n) = 0.7%,
    // fourth moment (3 for a Gaussian) within 5 sqrt(96/n) / 3 ~ 1.7%.
    std::vector<float> v(1000000);
    Rng(3, Stream::Weights, 0).fillNormal(v.data(), v.size());
    double m1 = 0, m2 = 0, m4 = 0;
    for (float x : v) {
        m1 += x;
        m2 += double(x) * x;
        m4 += double(x) * x * x * x;
    }
    const double n = static_cast<double>(v.size());
    EXPECT_NEAR(m1 / n, 0.0, 0.005);
    EXPECT_NEAR(m2 / n, 1.0, 0.007);
    EXPECT_NEAR(m4 / n, 3.0, 0.05);
}

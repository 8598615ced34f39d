// Propagation: statistics as THEORY.md defines them (checked against a brute-force double
// computation), agreement with the mean-field theory on real networks, symmetry, overflow,
// determinism, streaming and cancellation.
#include "core/rng.h"
#include "network/engine.h"
#include "network/weights.h"
#include "stats/report.h"
#include "theory/meanfield.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cfloat>
#include <cmath>

using namespace initscope;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

NetworkSpec baseSpec() {
    NetworkSpec s;
    s.depth = 20;
    s.width = 512;
    s.inputDim = 512;
    s.batch = 128;
    s.seed = 42;
    return s;
}

RunResult runSpec(const NetworkSpec& s) {
    Engine e;
    return e.run(s);
}

// Relative standard deviation of q^l / (theory) after l layers of width N over a batch of B
// roughly independent inputs: each layer's length map is estimated from N B samples whose
// squared values have relative variance kappa - 1 (2 for a Gaussian, 5 for ReLU outputs of a
// Gaussian); the log errors of the layers add up like a random walk.
double qTolerance(int layers, int width, int batch, double excessKurtosis) {
    return 5.0 * std::sqrt(excessKurtosis * layers / (static_cast<double>(width) * batch));
}

} // namespace

TEST(Statistics, MatchBruteForceDefinitions) {
    // A tiny network computed again in double precision straight from the definitions.
    NetworkSpec s;
    s.depth = 2;
    s.widths = {6, 5};
    s.inputDim = 4;
    s.batch = 7;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.gain = 2.5;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.3;
    s.inputMean = 0.2;
    s.inputScale = 1.3;
    s.learningRate = 0.1;
    s.seed = 5;
    const RunResult r = runSpec(s);
    ASSERT_EQ(r.layers.size(), 2u);

    const int B = s.batch;
    std::vector<float> xs(static_cast<std::size_t>(s.inputDim * B));
    Rng(s.seed, Stream::Inputs, 0).fillNormal(xs.data(), xs.size());
    MatrixXd x(s.inputDim, B);
    for (int j = 0; j < B; ++j)
        for (int i = 0; i < s.inputDim; ++i)
            x(i, j) = s.inputScale * double(xs[std::size_t(j * s.inputDim + i)]) + s.inputMean;
    const Activation act(s.activation);
    std::vector<MatrixXd> W(3), H(3), A(3), D(3);
    A[0] = x;
    for (int l = 1; l <= 2; ++l) {
        W[l] = initWeights(s, l).cast<double>();
        std::vector<float> bz(static_cast<std::size_t>(s.widthOf(l)));
        Rng(s.seed, Stream::Biases, static_cast<std::uint64_t>(l)).fillNormal(bz.data(), bz.size());
        VectorXd b(s.widthOf(l));
        for (int i = 0; i < b.size(); ++i)
            b(i) = std::sqrt(s.sigmaB2) * double(bz[std::size_t(i)]);
        H[l] = (W[l] * A[l - 1]).colwise() + b;
        A[l] = H[l].unaryExpr([&](double v) { return act.phi(v); });
        D[l] = H[l].unaryExpr([&](double v) { return act.dphi(v); });
        const LayerStats& st = r.layers[std::size_t(l - 1)];
        const int n = s.widthOf(l);
        const double q = H[l].array().square().mean();
        const double mean = H[l].mean();
        double cos = 0, spread = 0;
        for (int a = 0; a < B; ++a) {
            const VectorXd ha = H[l].col(a);
            const double m = ha.mean();
            spread +=
                std::sqrt((ha.array() - m).square().sum() / n) / std::sqrt(ha.squaredNorm() / n);
            for (int bb = 0; bb < B; ++bb)
                if (a != bb)
                    cos += ha.dot(H[l].col(bb)) / (ha.norm() * H[l].col(bb).norm());
        }
        // float32 propagation against double: relative 1e-5 is ~100 float ulps
        EXPECT_NEAR(st.q, q, 1e-5 * q);
        EXPECT_NEAR(st.mean, mean, 1e-5 * std::sqrt(q));
        EXPECT_NEAR(st.var, q - mean * mean, 1e-5 * q);
        EXPECT_NEAR(st.correlation, cos / (B * (B - 1.0)), 1e-5);
        EXPECT_NEAR(st.unitSpread, spread / B, 1e-5);
        double sat = 0;
        for (int i = 0; i < D[l].size(); ++i)
            sat += std::abs(D[l].data()[i]) < 0.05 ? 1 : 0;
        EXPECT_DOUBLE_EQ(st.saturatedFraction, sat / double(D[l].size()));
    }
    // backward: loss = mean_b g_b . a^2_b
    std::vector<float> gz(static_cast<std::size_t>(5 * B));
    Rng(s.seed, Stream::Cotangent, 0).fillNormal(gz.data(), gz.size());
    MatrixXd g(5, B);
    for (int j = 0; j < B; ++j)
        for (int i = 0; i < 5; ++i)
            g(i, j) = gz[std::size_t(j * 5 + i)];
    MatrixXd delta2 = g.cwiseProduct(D[2]);
    MatrixXd delta1 = (W[2].transpose() * delta2).cwiseProduct(D[1]);
    MatrixXd inGrad = W[1].transpose() * delta1;
    const MatrixXd dW2 = delta2 * A[1].transpose() / B;
    const MatrixXd dW1 = delta1 * A[0].transpose() / B;
    auto meanSqNorm = [&](const MatrixXd& m) { return m.colwise().squaredNorm().mean(); };
    EXPECT_NEAR(r.layers[1].gradH2, meanSqNorm(delta2), 1e-5 * meanSqNorm(delta2));
    EXPECT_NEAR(r.layers[0].gradH2, meanSqNorm(delta1), 1e-5 * meanSqNorm(delta1));
    EXPECT_NEAR(r.layers[1].gradW2, dW2.squaredNorm(), 1e-5 * dW2.squaredNorm());
    EXPECT_NEAR(r.layers[0].gradW2, dW1.squaredNorm(), 1e-5 * dW1.squaredNorm());
    EXPECT_NEAR(r.inputGrad2, meanSqNorm(inGrad), 1e-5 * meanSqNorm(inGrad));
    EXPECT_NEAR(r.layers[0].relativeUpdate, 0.1 * dW1.norm() / W[1].norm(), 1e-5);
    for (const LayerStats& st : r.layers) {
        std::uint64_t total = 0;
        for (auto c : st.histogram.counts)
            total += c;
        EXPECT_EQ(total, std::uint64_t(st.width) * B); // every finite value lands in a bin
    }
}

TEST(Theory, LinearNetworkFollowsPowerLaw) {
    // q^l = (sigma_w^2)^l q^0 exactly in expectation; over 20 layers gain 1.1 gives x6.7 and
    // 0.9 gives x0.12, far outside the statistical tolerance.
    for (double gain : {0.9, 1.0, 1.1}) {
        NetworkSpec s = baseSpec();
        s.activation = ActivationKind::Linear;
        s.gain = gain;
        const RunResult r = runSpec(s);
        for (int l = 1; l <= s.depth; ++l) {
            const double expected = std::pow(gain, l) * r.theory.q0;
            EXPECT_NEAR(r.layers[std::size_t(l - 1)].q / expected, 1.0,
                        qTolerance(l, s.width, s.batch, 2.0))
                << "gain " << gain << " layer " << l;
            EXPECT_NEAR(r.theory.q[std::size_t(l - 1)], expected, 1e-9 * expected);
        }
    }
}

TEST(Theory, HeKeepsReluConstantAndXavierHalvesIt) {
    // ReLU: q^l = sigma_w^2 q^{l-1} / 2, so He (sigma_w^2 = 2) keeps q and Xavier (1) halves it.
    // ReLU correlates the inputs (c -> 1), so the batch does not average the weight noise: each
    // layer's log growth fluctuates by sqrt(5/N) (Hanin & Rolnick 2018: relative variance 5/N
    // per layer). The mean log growth over L - 1 layers is then known to 4 sqrt(5/(N (L-1))) =
    // 0.09 at N = 512, L = 20; the two schemes' growth (1 and 0.5) are 7 tolerances apart.
    NetworkSpec s = baseSpec();
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    const RunResult he = runSpec(s);
    s.init = InitScheme::XavierNormal;
    const RunResult xa = runSpec(s);
    const double tol = 4 * std::sqrt(5.0 / (s.width * (s.depth - 1.0)));
    auto meanGrowth = [&](const RunResult& r) {
        return std::exp(std::log(r.layers.back().q / r.layers.front().q) / (s.depth - 1));
    };
    EXPECT_NEAR(meanGrowth(he), 1.0, tol);
    EXPECT_NEAR(meanGrowth(xa), 0.5, 0.5 * tol);
    // The first layer sees the inputs directly: q^1 = sigma_w^2 q^0 with Gaussian inputs, which
    // the batch does average: 5 sqrt(2/(N B)).
    EXPECT_NEAR(he.layers[0].q / (2 * he.theory.q0), 1.0, 5 * std::sqrt(2.0 / (512 * 128)));
    // ReLU is positively homogeneous and both runs use the same draws scaled by 2^-1/2 per
    // layer, so q^l(Xavier) = 2^-l q^l(He) exactly, up to float rounding (1e-4 over 20 layers).
    for (int l = 1; l <= s.depth; ++l)
        EXPECT_NEAR(xa.layers[std::size_t(l - 1)].q / he.layers[std::size_t(l - 1)].q *
                        std::pow(2.0, l),
                    1.0, 1e-4)
            << l;
}

TEST(Theory, TanhConvergesToFixedPoint) {
    NetworkSpec s = baseSpec();
    s.depth = 30;
    s.activation = ActivationKind::Tanh;
    s.gain = 2.0;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.inputScale = 3.0; // start far from q*
    const RunResult r = runSpec(s);
    const auto fp = meanfield::fixedPoint(Activation(ActivationKind::Tanh), 2.0, 0.05);
    // tanh outputs are bounded, so kurtosis of h is near Gaussian (2): same tolerance form, but
    // the map contracts, so errors do not accumulate; one layer's worth (l = 1) would be fair,
    // five layers' worth is used for margin.
    const double tol = qTolerance(5, s.width, s.batch, 2.0);
    EXPECT_NEAR(r.layers.back().q / fp.qStar, 1.0, tol);
    for (int l = 1; l <= s.depth; ++l)
        EXPECT_NEAR(r.layers[std::size_t(l - 1)].q / r.theory.q[std::size_t(l - 1)], 1.0, tol) << l;
}

TEST(Theory, GradientRatioPerLayerIsSigmaW2TimesMeanPhiPrimeSquared) {
    // E||delta^l||^2 / E||delta^{l+1}||^2 = sigma_w^2 E[phi'(sqrt(q^l) z)^2]. One layer's ratio
    // is a chi-square-like average over N units with relative spread sqrt(2/N) = 6% when the
    // batch is fully correlated (ordered phase), less otherwise: 4 sqrt(2/N) per layer, and
    // 4 sqrt(2/(N (L-1))) = 5.7% for the geometric mean over the L - 1 ratios.
    for (double gain : {1.2, 1.8, 3.0}) {
        NetworkSpec s = baseSpec();
        s.activation = ActivationKind::Tanh;
        s.gain = gain;
        s.biasInit = BiasInit::Normal;
        s.sigmaB2 = 0.05;
        const RunResult r = runSpec(s);
        double logMeasured = 0, logTheory = 0;
        for (int l = 1; l < s.depth; ++l) {
            const double measured =
                r.layers[std::size_t(l - 1)].gradH2 / r.layers[std::size_t(l)].gradH2;
            const double theory = r.theory.gradRatio[std::size_t(l - 1)];
            EXPECT_NEAR(measured / theory, 1.0, 4 * std::sqrt(2.0 / s.width))
                << "gain " << gain << " layer " << l;
            logMeasured += std::log(measured);
            logTheory += std::log(theory);
        }
        EXPECT_NEAR(std::exp((logMeasured - logTheory) / (s.depth - 1)), 1.0,
                    4 * std::sqrt(2.0 / (s.width * (s.depth - 1.0))))
            << gain;
        // and the absolute value at the top: E||delta^L||^2 = N_L E[phi'^2], an average over the
        // N B entries of g (.) phi': 5 sqrt(3/(N B)) (g^2 has relative variance 2, phi'^2 < 1)
        EXPECT_NEAR(r.layers.back().gradH2 / r.theory.gradH2.back(), 1.0,
                    5 * std::sqrt(3.0 / (s.width * s.batch)));
    }
}

TEST(Symmetry, ZerosAndConstantInitKeepUnitsIdentical) {
    for (InitScheme scheme : {InitScheme::Zeros, InitScheme::Constant}) {
        NetworkSpec s = baseSpec();
        s.depth = 8;
        s.width = 100;
        s.init = scheme;
        s.initValue = scheme == InitScheme::Constant ? 0.02 : 1.0; // zeros takes no value
        const RunResult r = runSpec(s);
        for (const LayerStats& st : r.layers) {
            EXPECT_EQ(st.unitSpread, 0.0) << initSchemeName(scheme) << " layer " << st.index;
            if (st.index < s.depth) { // below the top, every unit receives the same gradient
                EXPECT_EQ(st.gradRowSpread, 0.0) << initSchemeName(scheme) << " layer " << st.index;
            }
        }
    }
    // ...while a random init breaks the symmetry
    NetworkSpec s = baseSpec();
    s.depth = 3;
    const RunResult r = runSpec(s);
    EXPECT_GT(r.layers[1].unitSpread, 0.5);
    EXPECT_GT(r.layers[1].gradRowSpread, 0.5);
}

TEST(Overflow, NaiveNormalInitReportsFirstNonfiniteLayer) {
    // N(0, 1) weights at width 512 multiply q by 512 per layer (linear): |h| reaches the float32
    // maximum 3.4e38 when sqrt(q^l) times the largest of N B Gaussian draws (about 4.5 sigma)
    // exceeds it. The measured first non-finite layer must be that one (+-1).
    NetworkSpec s = baseSpec();
    s.depth = 40;
    s.activation = ActivationKind::Linear;
    s.init = InitScheme::Normal;
    s.initValue = 1.0;
    const RunResult r = runSpec(s);
    int predicted = 0;
    for (int l = 1; l <= s.depth && !predicted; ++l)
        if (std::sqrt(r.theory.q[std::size_t(l - 1)]) * 4.5 > FLT_MAX)
            predicted = l;
    ASSERT_GT(r.firstNonfiniteLayer, 0);
    EXPECT_NEAR(r.firstNonfiniteLayer, predicted, 1);
    const LayerStats& bad = r.layers[std::size_t(r.firstNonfiniteLayer - 1)];
    EXPECT_GT(bad.nonfinite, 0);
    EXPECT_TRUE(std::isnan(bad.q)); // never a garbage number
    EXPECT_EQ(r.layers[std::size_t(r.firstNonfiniteLayer - 2)].nonfinite, 0);
    EXPECT_NE(nonfiniteMessage(r).find("layer " + std::to_string(r.firstNonfiniteLayer)),
              std::string::npos);
    // growth per layer before the overflow: 512 (log10 = 2.71)
    const double growth = r.layers[9].q / r.layers[8].q;
    EXPECT_NEAR(std::log10(growth), std::log10(512.0), 0.05);
}

// Once the forward pass overflows, every delta of the backward pass starts from phi'(NaN) and
// a^L = NaN: no gradient is defined. ReLU's phi'(NaN) = 0 used to turn that into exact zeros
// (grad_h2 = relative_update = input_grad2 = 0 at every layer); they must be NaN (JSON null).
// Exact: NaN or not, no tolerance.
TEST(Overflow, GradientsAreUndefinedAfterForwardOverflow) {
    NetworkSpec s = baseSpec();
    s.depth = 50;
    s.width = 256;
    s.inputDim = 256;
    s.batch = 16;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::Normal;
    s.initValue = 1.0;
    const RunResult r = runSpec(s);
    ASSERT_GT(r.firstNonfiniteLayer, 0);
    for (const LayerStats& st : r.layers) {
        EXPECT_TRUE(st.hasGradients) << st.index;
        EXPECT_TRUE(std::isnan(st.gradH2)) << st.index << ": " << st.gradH2;
        EXPECT_TRUE(std::isnan(st.gradW2)) << st.index << ": " << st.gradW2;
        EXPECT_TRUE(std::isnan(st.relativeUpdate)) << st.index << ": " << st.relativeUpdate;
        EXPECT_TRUE(std::isnan(st.gradRowSpread)) << st.index << ": " << st.gradRowSpread;
    }
    EXPECT_TRUE(std::isnan(r.inputGrad2)) << r.inputGrad2;
    const nlohmann::json j = resultToJson(r, false);
    EXPECT_TRUE(j["input_grad2"].is_null());
    EXPECT_TRUE(j["layers"][0]["grad_h2"].is_null());
}

// A mean of cosines lies in [-1, 1]; with every unit identical (constant init) the inputs are
// exactly collinear and the closed form |sum u|^2 - B rounded above 1 (1.0000000000000007).
// Exact bounds: a clamp, no tolerance.
TEST(Statistics, CorrelationStaysInMinusOneToOne) {
    for (int batch : {2, 3, 7, 64, 100, 128}) {
        NetworkSpec s = baseSpec();
        s.depth = 6;
        s.width = 100;
        s.batch = batch;
        s.init = InitScheme::Constant;
        s.initValue = 0.02;
        for (const LayerStats& st : runSpec(s).layers) {
            EXPECT_LE(st.correlation, 1.0) << batch << " " << st.index;
            EXPECT_GE(st.correlation, -1.0) << batch << " " << st.index;
        }
    }
}

// The spread over units is undefined for a single unit (its std is 0 whatever the weights): NaN,
// not the 0 that would read as "symmetric units".
TEST(Statistics, UnitSpreadOfOneUnitIsUndefined) {
    NetworkSpec s = baseSpec();
    s.depth = 3;
    s.widths = {1, 8, 1};
    s.batch = 16;
    const RunResult r = runSpec(s);
    EXPECT_TRUE(std::isnan(r.layers[0].unitSpread)) << r.layers[0].unitSpread;
    EXPECT_GT(r.layers[1].unitSpread, 0.0);
    EXPECT_TRUE(std::isnan(r.layers[2].unitSpread)) << r.layers[2].unitSpread;
}

TEST(Determinism, SameResultsForAnyThreadCount) {
    NetworkSpec s = baseSpec();
    s.depth = 12;
    s.width = 200;
    s.batch = 150; // not a multiple of the chunk size
    s.activation = ActivationKind::Relu;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.1;
    std::string reference;
    for (int threads : {1, 2, 3, 8}) {
        s.threads = threads;
        RunResult r = runSpec(s);
        r.spec.threads = 0;
        nlohmann::json j = resultToJson(r, true);
        j.erase("seconds");
        if (reference.empty())
            reference = j.dump();
        else
            EXPECT_EQ(j.dump(), reference) << threads << " threads";
    }
}

TEST(Determinism, GainRescalesTheSameNetwork) {
    // A linear network with the same draws: q^l(gain 2) / q^l(gain 1) = 2^l up to float
    // rounding (1e-5). New draws would differ by the statistical fluctuation (~4%).
    NetworkSpec s = baseSpec();
    s.depth = 10;
    s.activation = ActivationKind::Linear;
    Engine e; // one engine: the second run reuses cached draws
    const RunResult a = e.run(s);
    s.gain = 2.0;
    const RunResult b = e.run(s);
    const RunResult c = runSpec(s); // a fresh engine draws them anew: same values
    for (int l = 1; l <= s.depth; ++l) {
        EXPECT_NEAR(b.layers[std::size_t(l - 1)].q / a.layers[std::size_t(l - 1)].q /
                        std::pow(2.0, l),
                    1.0, 1e-5);
        EXPECT_EQ(b.layers[std::size_t(l - 1)].q, c.layers[std::size_t(l - 1)].q);
    }
}

namespace {
struct RecordingSink : RunSink {
    std::vector<std::string> events;
    int cancelAfterForward = 0;
    std::atomic<bool>* cancel = nullptr;
    void started(const NetworkSpec&, const TheoryCurves&) override { events.push_back("start"); }
    void forwardLayer(const LayerStats& s) override {
        events.push_back("f" + std::to_string(s.index));
        if (cancel && s.index == cancelAfterForward)
            cancel->store(true);
    }
    void backwardLayer(const LayerStats& s) override {
        EXPECT_TRUE(s.hasGradients);
        events.push_back("b" + std::to_string(s.index));
    }
    void finished(const RunResult&) override { events.push_back("end"); }
};
} // namespace

TEST(Streaming, LayersArriveInOrderThenGradientsThenSummary) {
    NetworkSpec s = baseSpec();
    s.depth = 3;
    s.width = 32;
    RecordingSink sink;
    Engine e;
    e.run(s, &sink);
    const std::vector<std::string> expected{"start", "f1", "f2", "f3", "b3", "b2", "b1", "end"};
    EXPECT_EQ(sink.events, expected);
}

TEST(Streaming, CancelStopsBetweenLayers) {
    NetworkSpec s = baseSpec();
    s.depth = 30;
    s.width = 64;
    std::atomic<bool> cancel{false};
    RecordingSink sink;
    sink.cancel = &cancel;
    sink.cancelAfterForward = 4;
    Engine e;
    const RunResult r = e.run(s, &sink, &cancel);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(sink.events.back(), "f4"); // nothing after the layer that saw the cancel
}

TEST(Memory, OversizedRunsAreRefusedBeforeAllocation) {
    NetworkSpec s = baseSpec();
    s.depth = 1000;
    s.width = 4096;
    s.batch = 4096;
    const auto errors = validate(s);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].field, "memory_budget_gib");
    EXPECT_NE(errors[0].message.find("GiB"), std::string::npos);
    Engine e;
    EXPECT_THROW(e.run(s), SpecInvalid);
    s.memoryBudgetGiB = 1024; // the budget is configurable
    EXPECT_TRUE(validate(s).empty());
}

TEST(Validation, MessagesNameFieldAndRange) {
    NetworkSpec s;
    s.depth = 0;
    s.width = -3;
    s.gain = std::nan("");
    s.batch = 100000;
    const auto errors = validate(s);
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].message, "depth: must be an integer from 1 to 5000 (got 0)");
    EXPECT_EQ(errors[1].field, "width");
    EXPECT_NE(errors[2].message.find("gain: must be a number from 0 to"), std::string::npos);
    EXPECT_NE(errors[3].message.find("batch: must be an integer from 1 to 8192"),
              std::string::npos);
}

TEST(Loss, FirstLayerUpdateGrowsLinearlyForCotangentAndQuadraticallyForMse) {
    // ReLU is positively homogeneous: scaling the inputs by s scales every a^l by s. With the
    // random-cotangent loss delta does not depend on s, so dW^1 = delta x^T / B grows as s. With
    // the squared loss delta^L = (a^L - y) phi' grows as s once a^L >> y, so dW^1 grows as s^2.
    NetworkSpec s = baseSpec();
    s.depth = 5;
    s.width = 128;
    s.inputDim = 64;
    s.batch = 32;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    auto update = [&](Loss loss, double scale) {
        NetworkSpec t = s;
        t.loss = loss;
        t.inputScale = scale;
        return runSpec(t).layers[0].relativeUpdate;
    };
    // exact for the cotangent loss (homogeneity), up to float rounding
    EXPECT_NEAR(update(Loss::Cotangent, 100) / update(Loss::Cotangent, 10), 10.0, 1e-3);
    // for mse the targets (|y| ~ 1) matter less and less: slope of log update vs log s -> 2;
    // at s = 100 vs 1000 the targets contribute ~1e-4 of |a - y|^2
    const double slope = std::log10(update(Loss::Mse, 1000) / update(Loss::Mse, 100));
    EXPECT_NEAR(slope, 2.0, 0.01);
}

// Convolutional networks (THEORY.md, CNN; scenario 11): k x k kernels, stride 1, circular padding,
// measured on real networks: the kernels against a direct convolution, the gradients against
// finite differences, q against the length map with sigma_w^2 = Var(W) k^2 C_in (and k^2 times
// that when the fan-in forgets k^2), and the Jacobian of delta-orthogonal kernels.
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "core/data.h"
#include "core/rng.h"
#include "network/conv.h"
#include "network/engine.h"
#include "network/network.h"
#include "network/weights.h"
#include "spec/fields.h"
#include "theory/familytheory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace initscope;

namespace {

NetworkSpec cnn(int depth, int channels, int inputChannels, int kernel, int image) {
    NetworkSpec s;
    s.arch = Arch::Cnn;
    s.depth = depth;
    s.channels = channels;
    s.inputChannels = inputChannels;
    s.kernel = kernel;
    s.image = image;
    s.inputDim = inputChannels * image * image;
    s.batch = 32;
    s.activation = ActivationKind::Linear;
    s.init = InitScheme::LecunNormal;
    s.seed = 11;
    return s;
}

MatrixF randomMatrix(int rows, int cols, std::uint64_t index) {
    MatrixF m(rows, cols);
    Rng(99, Stream::Probe, index).fillNormal(m.data(), static_cast<std::size_t>(m.size()));
    return m;
}

double relErr(const MatrixF& a, const MatrixF& b) {
    return (a - b).cast<double>().norm() / b.cast<double>().norm();
}

/// The weights and biases the engine runs, W^l (C x k^2 C_in) and b^l (C x 1), in double.
struct Weights {
    std::vector<Eigen::MatrixXd> w, b;
};
Weights engineWeights(const NetworkSpec& s) {
    const Network net = buildNetwork(s);
    const auto draws = fetchDraws(net, nullptr);
    Weights out;
    for (const Stage& stage : net.stages) {
        const auto& st = std::get<ConvStage>(stage);
        out.w.push_back(materialize(net.params[static_cast<std::size_t>(st.weight)],
                                    *draws[static_cast<std::size_t>(st.weight)])
                            .cast<double>());
        out.b.push_back(materialize(net.params[static_cast<std::size_t>(st.bias)],
                                    *draws[static_cast<std::size_t>(st.bias)])
                            .cast<double>());
    }
    return out;
}

/// The direct convolution of one image (cin S^2, channel fastest) in double, no GEMM, no im2col:
/// the reference the finite differences run on.
Eigen::VectorXd convD(const ConvShape& g, const Eigen::MatrixXd& w, const Eigen::VectorXd& b,
                      const Eigen::VectorXd& x) {
    Eigen::VectorXd h(g.cout * g.pixels());
    const int half = g.k / 2;
    for (int y = 0; y < g.S; ++y)
        for (int xx = 0; xx < g.S; ++xx)
            for (int o = 0; o < g.cout; ++o) {
                double sum = b(o);
                for (int dy = 0; dy < g.k; ++dy)
                    for (int dx = 0; dx < g.k; ++dx) {
                        const int sy = ((y + dy - half) % g.S + g.S) % g.S;
                        const int sx = ((xx + dx - half) % g.S + g.S) % g.S;
                        for (int c = 0; c < g.cin; ++c)
                            sum +=
                                w(o, (dy * g.k + dx) * g.cin + c) * x((sy * g.S + sx) * g.cin + c);
                    }
                h((y * g.S + xx) * g.cout + o) = sum;
            }
    return h;
}

/// Loss = mean_b g_b . tanh-network(x_b) in double (the run's cotangent loss).
double lossD(const NetworkSpec& s, const Weights& wt, const Eigen::MatrixXd& x,
             const Eigen::MatrixXd& g) {
    double loss = 0;
    for (Eigen::Index b = 0; b < x.cols(); ++b) {
        Eigen::VectorXd a = x.col(b);
        for (int l = 1; l <= s.depth; ++l) {
            const ConvShape sh{convChannelsIn(s, l), s.channels, s.kernel, s.image};
            a = convD(sh, wt.w[static_cast<std::size_t>(l) - 1],
                      wt.b[static_cast<std::size_t>(l) - 1].col(0), a)
                    .array()
                    .tanh();
        }
        loss += g.col(b).dot(a);
    }
    return loss / static_cast<double>(x.cols());
}

} // namespace

// The im2col + GEMM kernel against the direct sum over taps and channels (conv.h's serial twin)
// and the dense matrix of the layer: float products of 3 x 3 x 3 = 27 terms, so 1e-5 relative.
TEST(Cnn, ConvKernelMatchesDirectConvolution) {
    const ConvShape g{3, 4, 3, 5};
    const MatrixF w = randomMatrix(g.cout, g.patch(), 1);
    const MatrixF x = randomMatrix(g.cin * g.pixels(), 3, 2);
    const MatrixF direct = convDirect(g, w, x);
    MatrixF h(g.cout * g.pixels(), 3);
    convForward(g, DrawKind::Normal, w, 1.0f, false, x, h);
    EXPECT_LT(relErr(h, direct), 1e-5);
    EXPECT_LT(relErr(convAsDense(g, w) * x, direct), 1e-5);
    // a hand-checked entry: output pixel (0, 0), channel 1, reads input pixels (-1..1) mod 5
    double e = 0;
    for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 3; ++dx)
            for (int c = 0; c < 3; ++c)
                e +=
                    w(1, (dy * 3 + dx) * 3 + c) * x((((dy + 4) % 5) * 5 + (dx + 4) % 5) * 3 + c, 2);
    EXPECT_NEAR(h(1, 2), e, 1e-5);
    // the delta-orthogonal shortcut: only the centre tap, without im2col
    MatrixF centre = MatrixF::Zero(g.cout, g.patch());
    centre.middleCols(g.centreTap() * g.cin, g.cin) = w.middleCols(g.centreTap() * g.cin, g.cin);
    convForward(g, DrawKind::Orthogonal, centre, 1.0f, true, x, h);
    EXPECT_LT(relErr(h, convDirect(g, centre, x)), 1e-5);
    // backward: below = W_dense^T delta, and dW against its definition through the dense map
    const MatrixF delta = randomMatrix(g.cout * g.pixels(), 3, 3);
    MatrixF below(g.cin * g.pixels(), 3);
    convBackwardInput(g, DrawKind::Normal, w, 1.0f, false, delta, below);
    EXPECT_LT(relErr(below, convAsDense(g, w).transpose() * delta), 1e-5);
    convBackwardInput(g, DrawKind::Orthogonal, centre, 1.0f, true, delta, below);
    EXPECT_LT(relErr(below, convAsDense(g, centre).transpose() * delta), 1e-5);
    MatrixF dw;
    convWeightGradient(g, delta, x, dw);
    // d(sum delta . conv(W, x))/dW_oj is linear in W: read it off the direct convolution of
    // unit kernels
    for (int o = 0; o < g.cout; ++o)
        for (int j = 0; j < g.patch(); ++j) {
            MatrixF unit = MatrixF::Zero(g.cout, g.patch());
            unit(o, j) = 1;
            const double ref = (convDirect(g, unit, x).cwiseProduct(delta)).cast<double>().sum();
            EXPECT_NEAR(dw(o, j), ref, 1e-4 * (1 + std::abs(ref)));
        }
}

// The run's first layer against the direct convolution of the run's inputs with its weights
// (biases included): q^1 to float rounding (1e-5).
TEST(Cnn, RunForwardMatchesDirectConvolution) {
    NetworkSpec s = cnn(2, 6, 3, 3, 7);
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.3;
    s.batch = 5;
    const RunResult r = Engine().run(s);
    const Weights wt = engineWeights(s);
    const Eigen::MatrixXd x = drawInputs(s, s.batch).cast<double>();
    const ConvShape g{3, 6, 3, 7};
    double q = 0;
    for (int b = 0; b < s.batch; ++b)
        q += convD(g, wt.w[0], wt.b[0].col(0), x.col(b)).squaredNorm();
    q /= static_cast<double>(g.cout) * g.pixels() * s.batch;
    EXPECT_NEAR(r.layers[0].q / q, 1.0, 1e-5);
    EXPECT_EQ(r.layers[0].width, 6 * 49);
}

// Backprop through the convolution against central finite differences of the double-precision
// direct network (tanh, biases, two layers, 2 inputs): dLoss/dW^1, dLoss/dW^2 and dLoss/dx.
// The engine is float (relative error ~1e-6 per product); the differences, step 1e-5 in double,
// are good to ~1e-9: 2e-4 relative on the squared norms.
TEST(Cnn, GradientsMatchFiniteDifferences) {
    NetworkSpec s = cnn(2, 3, 2, 3, 4);
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.1;
    s.gain = 1.5;
    s.batch = 2;
    const RunResult r = Engine().run(s);
    ASSERT_EQ(r.firstNonfiniteLayer, 0);
    Weights wt = engineWeights(s);
    const Eigen::MatrixXd x = drawInputs(s, s.batch).cast<double>();
    const Eigen::MatrixXd g = drawCotangents(s, s.batch).cast<double>();
    constexpr double h = 1e-5;
    for (int l = 0; l < 2; ++l) {
        Eigen::MatrixXd& w = wt.w[static_cast<std::size_t>(l)];
        double g2 = 0;
        for (Eigen::Index i = 0; i < w.size(); ++i) {
            const double keep = w.data()[i];
            w.data()[i] = keep + h;
            const double up = lossD(s, wt, x, g);
            w.data()[i] = keep - h;
            const double down = lossD(s, wt, x, g);
            w.data()[i] = keep;
            g2 += std::pow((up - down) / (2 * h), 2);
        }
        EXPECT_NEAR(r.layers[static_cast<std::size_t>(l)].gradW2 / g2, 1.0, 2e-4)
            << "layer " << l + 1;
    }
    // input gradient: mean over the inputs of ||d(g_b . a_b)/dx_b||^2 (each input's own loss)
    double in2 = 0;
    for (int b = 0; b < s.batch; ++b) {
        Eigen::MatrixXd xb = x.col(b), gb = g.col(b);
        for (Eigen::Index i = 0; i < xb.size(); ++i) {
            const double keep = xb(i);
            xb(i) = keep + h;
            const double up = lossD(s, wt, xb, gb);
            xb(i) = keep - h;
            const double down = lossD(s, wt, xb, gb);
            xb(i) = keep;
            in2 += std::pow((up - down) / (2 * h), 2);
        }
    }
    EXPECT_NEAR(r.inputGrad2 / (in2 / s.batch), 1.0, 2e-4);
}

// Bit-identical statistics for 1 and 2 threads (fixed chunks of 64 inputs, fixed im2col groups,
// partial dW summed in chunk order): batch 130 is three chunks.
TEST(Cnn, DeterministicAcrossThreadCounts) {
    NetworkSpec s = cnn(3, 8, 3, 3, 8);
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.batch = 130;
    s.threads = 1;
    const RunResult a = Engine().run(s);
    s.threads = 2;
    const RunResult b = Engine().run(s);
    ASSERT_EQ(a.layers.size(), b.layers.size());
    for (std::size_t l = 0; l < a.layers.size(); ++l) {
        EXPECT_EQ(a.layers[l].q, b.layers[l].q);
        EXPECT_EQ(a.layers[l].correlation, b.layers[l].correlation);
        EXPECT_EQ(a.layers[l].deadFraction, b.layers[l].deadFraction);
        EXPECT_EQ(a.layers[l].gradH2, b.layers[l].gradH2);
        EXPECT_EQ(a.layers[l].gradW2, b.layers[l].gradW2);
        EXPECT_EQ(a.layers[l].histogram.counts, b.layers[l].histogram.counts);
        EXPECT_EQ(a.layers[l].sample, b.layers[l].sample);
    }
    EXPECT_EQ(a.inputGrad2, b.inputGrad2);
}

// Linear network: E[q^l] = sigma_w^2 q^{l-1} exactly (any kernel distribution), with sigma_w^2 =
// Var(W) k^2 C_in. fanIn k^2 C_in (lecun): sigma_w^2 = 1, q constant; fanIn C_in (the forgotten
// k^2): sigma_w^2 = k^2 = 9, q x 9 per layer. One network's ratio q^l / q^{l-1} = ||W X||^2 /
// (C_out ...) is a sum over C_out = 64 rows of quadratic forms in k^2 C_in = 576 Gaussian
// entries: relative sd sqrt(2 / (64 * 576)) ~ 0.007 for isotropic patches; the layers correlate
// neighbouring pixels, which makes the patches anisotropic (measured: 0.5-2% per layer). Bound:
// 0.06 in log per layer and 0.15 over 8 layers (several sd of either), against log 9 = 2.2 that
// the forgotten k^2 adds per layer.
TEST(Cnn, LinearQFollowsTheFanIn) {
    NetworkSpec s = cnn(8, 64, 64, 3, 8);
    s.batch = 64;
    for (ConvFan fan : {ConvFan::Full, ConvFan::ChannelsOnly}) {
        s.convFan = fan;
        const double rate = fan == ConvFan::Full ? 1.0 : 9.0;
        const Network net = buildNetwork(s);
        for (int l = 1; l <= s.depth; ++l) {
            const double sw2 = net.params[static_cast<std::size_t>(2 * (l - 1))].sigmaW2;
            EXPECT_NEAR(sw2, rate, 1e-12);
            EXPECT_NEAR(
                effectiveSigmaW2(s, l),
                meanfield::cnnEffectiveSigmaW2(1.0 / (9 * 64), 3, 64, fan == ConvFan::ChannelsOnly),
                1e-12);
        }
        const RunResult r = Engine().run(s);
        ASSERT_EQ(r.firstNonfiniteLayer, 0);
        double prev = r.theory.q0;
        for (std::size_t l = 0; l < r.layers.size(); ++l) {
            EXPECT_NEAR(r.theory.q[l] / (r.theory.q0 * std::pow(rate, double(l) + 1)), 1.0, 1e-9);
            EXPECT_NEAR(std::log(r.layers[l].q / prev / rate), 0.0, 0.06)
                << convFanName(fan) << " layer " << l + 1;
            prev = r.layers[l].q;
        }
        EXPECT_NEAR(std::log(r.layers.back().q / r.theory.q.back()), 0.0, 0.15);
    }
}

// Delta-orthogonal kernels on a linear network: every pixel's map is s Q, so the Jacobian of the
// flattened S^2 C map is s^L times an orthogonal matrix: every singular value equals
// deltaOrthogonalSingularValue (to float rounding, 1e-5), for C_0 = C and for C_0 < C (the first
// layer's orthonormal columns give sqrt(C / C_0)). Gaussian kernels of the same sigma_w^2 have
// the same mean square but a wide spread (max / min > 10 at 5 layers).
TEST(Cnn, DeltaOrthogonalJacobianIsIsometric) {
    for (int c0 : {8, 4}) {
        NetworkSpec s = cnn(5, 8, c0, 3, 6);
        s.init = InitScheme::DeltaOrthogonal;
        s.gain = 1.21;
        const JacobianResult j = computeJacobian(s, 2);
        std::vector<double> gains{meanfield::deltaOrthogonalLayerGain(s.gain / c0, c0, 8)};
        for (int l = 2; l <= 5; ++l)
            gains.push_back(meanfield::deltaOrthogonalLayerGain(s.gain / 8, 8, 8));
        const double sv = meanfield::deltaOrthogonalSingularValue(gains);
        EXPECT_NEAR(sv, std::pow(1.21, 2.5) * std::sqrt(8.0 / c0), 1e-12);
        for (const JacobianInput& in : j.inputs) {
            ASSERT_EQ(in.singularValues.size(), static_cast<std::size_t>(c0 * 36));
            for (double v : in.singularValues)
                EXPECT_NEAR(v / sv, 1.0, 1e-5);
            EXPECT_NEAR(in.meanSq / in.theoryMeanSq, 1.0, 1e-4);
        }
    }
    NetworkSpec s = cnn(5, 8, 8, 3, 6);
    s.gain = 1.21;
    const JacobianResult j = computeJacobian(s, 2);
    for (const JacobianInput& in : j.inputs)
        EXPECT_GT(in.spread, 10.0);
}

// The NTK refuses a cnn by name (its weight sharing is not modelled); the Jacobian takes it.
TEST(Cnn, NtkRefusesByName) {
    const NetworkSpec s = cnn(2, 4, 4, 3, 4);
    NtkOptions o;
    const auto errors = validateNtk(s, o);
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.front().field, "arch");
    EXPECT_TRUE(validateJacobian(s, 2).empty());
}

namespace {
std::vector<SpecError> apply(NetworkSpec& s, const FieldLayer& layer) {
    std::vector<SpecError> e;
    if (applyFields(s, layer, e))
        e = validateFields(s);
    return e;
}
bool names(const std::vector<SpecError>& e, const std::string& field, const std::string& other) {
    return std::any_of(e.begin(), e.end(), [&](const SpecError& x) {
        return x.field == field && x.message.find(other) != std::string::npos;
    });
}
} // namespace

// Field rules: the conv fields need arch cnn, delta-orthogonal needs arch cnn, kernel odd and at
// most image, width/widths refused with cnn, input_dim derived as C0 S^2 (and refused when it is
// set otherwise), conv_fan meaningless for delta-orthogonal.
TEST(Cnn, FieldRules) {
    NetworkSpec s;
    auto e = apply(s, {{"channels", 8}});
    EXPECT_TRUE(names(e, "channels", "arch mlp")) << (e.empty() ? "" : e.front().message);
    s = {};
    e = apply(s, {{"init", "delta-orthogonal"}});
    EXPECT_TRUE(names(e, "init", "arch mlp"));
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"channels", 8}, {"input_channels", 3}, {"image", 10}});
    EXPECT_TRUE(e.empty()) << e.front().message;
    EXPECT_EQ(s.inputDim, 300);
    EXPECT_EQ(s.widthOf(2), 800);
    e = apply(s, {{"kernel", 4}});
    EXPECT_TRUE(names(e, "kernel", "odd"));
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"kernel", 9}, {"image", 5}});
    EXPECT_TRUE(names(e, "kernel", "image"));
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"width", 64}});
    EXPECT_TRUE(names(e, "width", "channels"));
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"input_dim", 64}});
    EXPECT_TRUE(names(e, "input_dim", "input_channels"));
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"init", "delta-orthogonal"}, {"conv_fan", "channels-only"}});
    EXPECT_TRUE(names(e, "conv_fan", "delta-orthogonal"));
    // back to mlp: the conv fields return to their defaults
    s = {};
    e = apply(s, {{"arch", "cnn"}, {"channels", 8}});
    e = apply(s, {{"arch", "mlp"}});
    EXPECT_TRUE(e.empty());
    EXPECT_EQ(s.channels, NetworkSpec{}.channels);
    // a cnn spec serialises its fields, an mlp's does not
    EXPECT_FALSE(specToJson(NetworkSpec{}).contains("channels"));
}

// Fashion-MNIST feeds the cnn as 28 x 28 x 1 images: data alone derives image and
// input_channels; a shape that does not hold 784 pixels is refused naming input_dim and the
// shape's fields. The run's layer 1 is the direct convolution of those images.
TEST(Cnn, FashionMnistIsTwentyEightSquareOneChannel) {
    int dim = 0, count = 0;
    std::string err;
    if (!probeData("fashion-mnist", dim, count, err))
        GTEST_SKIP() << err;
    NetworkSpec s;
    auto e = apply(
        s,
        {{"arch", "cnn"}, {"data", "fashion-mnist"}, {"channels", 4}, {"depth", 2}, {"batch", 6}});
    ASSERT_TRUE(e.empty()) << e.front().message;
    EXPECT_EQ(s.image, 28);
    EXPECT_EQ(s.inputChannels, 1);
    EXPECT_EQ(s.inputDim, 784);
    const RunResult r = Engine().run(s);
    const Weights wt = engineWeights(s);
    const Eigen::MatrixXd x = drawInputs(s, s.batch).cast<double>();
    double q = 0;
    for (int b = 0; b < s.batch; ++b)
        q += convD(ConvShape{1, 4, 3, 28}, wt.w[0], wt.b[0].col(0), x.col(b)).squaredNorm();
    EXPECT_NEAR(r.layers[0].q / (q / (4.0 * 784 * s.batch)), 1.0, 1e-5);
    NetworkSpec t;
    e = apply(t, {{"arch", "cnn"}, {"data", "fashion-mnist"}, {"image", 8}});
    EXPECT_TRUE(names(e, "input_dim", "image"));
}

// Sizes beyond the memory budget are refused before allocation, with the estimate.
TEST(Cnn, MemoryRefusedBeforeAllocation) {
    NetworkSpec s = cnn(50, 512, 1, 3, 128);
    s.batch = 256;
    const auto e = validate(s);
    ASSERT_FALSE(e.empty());
    EXPECT_EQ(e.front().field, "memory_budget_gib");
    EXPECT_THROW(Engine().run(s), SpecInvalid);
    // the estimate counts the stored activations: 2 x C S^2 B floats per layer
    EXPECT_GT(estimateMemoryBytes(s), 50ull * 2 * 512 * 128 * 128 * 256 * 4);
}

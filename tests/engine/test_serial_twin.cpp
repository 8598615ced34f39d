// Serial twins of the stage kernels (DESIGN.md, "one network of stages"): every dense layer,
// residual block, convolution (direct sums with circular indices, no im2col) and recurrent step
// (backpropagation through time) computed here by plain loops in double, one input at a time, from
// the network's own parameters, inputs and cotangents; the engine's parallel float kernels (column
// chunks of 64 inputs, BLAS products, per-chunk partial sums) must give the same statistics.
// Batches of 150 inputs make three chunks, the last one short, so the chunking and the reduction
// are what is checked, on 1 and 2 threads.
#include "network/engine.h"
#include "network/network.h"
#include "network/weights.h"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <string>
#include <vector>

using namespace initscope;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

/// The twin's statistics of one stage, with the engine's definitions (stats.h).
struct TwinStats {
    double q = 0, mean = 0, var = 0, correlation = 0, dead = 0, gradH2 = 0, gradW2 = 0;
    double inputGrad2 = kNaN; // an rnn step's own ||dLoss/dx_t||^2 (NaN: not compared)
};

struct Twin {
    std::vector<TwinStats> stages;
    double inputGrad2 = 0;
};

double phi(const Activation& act, double h) {
    return act.phi(h);
}

/// Mean over pairs a != b of cos(v_a, v_b): by the definition, pair by pair.
double meanPairCosine(const std::vector<VectorXd>& v) {
    double sum = 0;
    int pairs = 0;
    for (std::size_t a = 0; a < v.size(); ++a)
        for (std::size_t b = 0; b < v.size(); ++b)
            if (a != b) {
                sum += v[a].dot(v[b]) / (v[a].norm() * v[b].norm());
                ++pairs;
            }
    return sum / pairs;
}

void moments(const std::vector<VectorXd>& h, TwinStats& st) {
    double s = 0, s2 = 0, count = 0;
    for (const VectorXd& col : h)
        for (Eigen::Index i = 0; i < col.size(); ++i) {
            s += col(i);
            s2 += col(i) * col(i);
            ++count;
        }
    st.q = s2 / count;
    st.mean = s / count;
    st.var = st.q - st.mean * st.mean;
    st.correlation = meanPairCosine(h);
}

/// Units whose phi' is zero for every input, as a fraction of `units`.
double deadFraction(const Activation& act, const std::vector<std::vector<VectorXd>>& inputs) {
    double dead = 0, units = 0;
    for (const auto& layer : inputs) { // one per set of units (a branch layer's input)
        const Eigen::Index n = layer.front().size();
        for (Eigen::Index i = 0; i < n; ++i) {
            bool alive = false;
            for (const VectorXd& col : layer)
                alive = alive || act.dphi(col(i)) != 0.0;
            dead += alive ? 0 : 1;
            ++units;
        }
    }
    return dead / units;
}

struct Params {
    std::vector<MatrixXd> w; // in stage order; a block's branch layers one after another
    std::vector<VectorXd> b;
};

Params paramsOf(const Network& net) {
    const auto draws = fetchDraws(net, nullptr);
    Params p;
    for (std::size_t i = 0; i < net.params.size(); ++i) {
        const MatrixXd m = materialize(net.params[i], *draws[i]).cast<double>();
        if (net.params[i].isBias)
            p.b.push_back(m.col(0));
        else
            p.w.push_back(m);
    }
    return p;
}

/// The mlp: h^l = W^l a^{l-1} + b^l, a^l = phi(h^l); loss mean_b g_b . a^L_b.
Twin mlpTwin(const NetworkSpec& spec) {
    const Network net = buildNetwork(spec);
    const Activation& act = net.act;
    const Params p = paramsOf(net);
    const int L = spec.depth, B = spec.batch;
    const MatrixXd x = drawInputs(spec, B).cast<double>();
    const MatrixXd g = drawCotangents(spec, B).cast<double>();
    Twin t;
    t.stages.resize(static_cast<std::size_t>(L));
    std::vector<std::vector<VectorXd>> h(static_cast<std::size_t>(L)),
        a(static_cast<std::size_t>(L) + 1);
    for (int bi = 0; bi < B; ++bi)
        a[0].push_back(x.col(bi));
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l) {
        for (int bi = 0; bi < B; ++bi) {
            VectorXd hb = p.w[l] * a[l][static_cast<std::size_t>(bi)] + p.b[l];
            VectorXd ab(hb.size());
            for (Eigen::Index i = 0; i < hb.size(); ++i)
                ab(i) = phi(act, hb(i));
            h[l].push_back(hb);
            a[l + 1].push_back(ab);
        }
        moments(h[l], t.stages[l]);
        t.stages[l].dead = deadFraction(act, {h[l]});
    }
    // backward, input by input: delta^L = g (.) phi'(h^L), delta^{l-1} = phi'(h^{l-1}) (.) W^T
    std::vector<MatrixXd> dW(static_cast<std::size_t>(L));
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l)
        dW[l] = MatrixXd::Zero(p.w[l].rows(), p.w[l].cols());
    for (int bi = 0; bi < B; ++bi) {
        const auto b = static_cast<std::size_t>(bi);
        VectorXd delta = g.col(bi);
        for (Eigen::Index i = 0; i < delta.size(); ++i)
            delta(i) *= act.dphi(h.back()[b](i));
        for (std::size_t l = static_cast<std::size_t>(L); l-- > 0;) {
            t.stages[l].gradH2 += delta.squaredNorm() / B;
            dW[l] += delta * a[l][b].transpose() / B;
            VectorXd below = p.w[l].transpose() * delta;
            if (l > 0)
                for (Eigen::Index i = 0; i < below.size(); ++i)
                    below(i) *= act.dphi(h[l - 1][b](i));
            else
                t.inputGrad2 += below.squaredNorm() / B;
            delta = below;
        }
    }
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l)
        t.stages[l].gradW2 = dW[l].squaredNorm();
    return t;
}

/// The resnet: x^l = x^{l-1} + gamma F(x^{l-1}), F = y_m, y_1 = W_1 phi(x) + b_1, y_j = W_j
/// phi(y_{j-1}) + b_j; statistics of the stream, dead units over the branch's inputs; loss
/// mean_b g_b . x^L_b; grad_w2 over the branch's weights together.
Twin resnetTwin(const NetworkSpec& spec) {
    const Network net = buildNetwork(spec);
    const Activation& act = net.act;
    const Params p = paramsOf(net);
    const int L = spec.depth, B = spec.batch, m = spec.branchDepth;
    const MatrixXd x0 = drawInputs(spec, B).cast<double>();
    const MatrixXd g = drawCotangents(spec, B).cast<double>();
    Twin t;
    t.stages.resize(static_cast<std::size_t>(L));
    // u[l][j][b]: the input of branch layer j of block l (x^{l-1} for j = 0)
    std::vector<std::vector<std::vector<VectorXd>>> u(static_cast<std::size_t>(L));
    std::vector<std::vector<VectorXd>> x(static_cast<std::size_t>(L) + 1);
    for (int bi = 0; bi < B; ++bi)
        x[0].push_back(x0.col(bi));
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l) {
        const double gamma = std::get<ResidualStage>(net.stages[l]).gamma;
        u[l].resize(static_cast<std::size_t>(m));
        for (int bi = 0; bi < B; ++bi) {
            VectorXd y = x[l][static_cast<std::size_t>(bi)];
            for (std::size_t j = 0; j < static_cast<std::size_t>(m); ++j) {
                u[l][j].push_back(y);
                VectorXd a(y.size());
                for (Eigen::Index i = 0; i < y.size(); ++i)
                    a(i) = phi(act, y(i));
                y = p.w[l * m + j] * a + p.b[l * m + j];
            }
            x[l + 1].push_back(x[l][static_cast<std::size_t>(bi)] + gamma * y);
        }
        moments(x[l + 1], t.stages[l]);
        t.stages[l].dead = deadFraction(act, u[l]);
    }
    std::vector<MatrixXd> dW(p.w.size());
    for (std::size_t k = 0; k < p.w.size(); ++k)
        dW[k] = MatrixXd::Zero(p.w[k].rows(), p.w[k].cols());
    for (int bi = 0; bi < B; ++bi) {
        const auto b = static_cast<std::size_t>(bi);
        VectorXd delta = g.col(bi); // dLoss/dx^L
        for (std::size_t l = static_cast<std::size_t>(L); l-- > 0;) {
            const double gamma = std::get<ResidualStage>(net.stages[l]).gamma;
            t.stages[l].gradH2 += delta.squaredNorm() / B;
            VectorXd gy = gamma * delta; // dLoss/dy_m
            for (std::size_t j = static_cast<std::size_t>(m); j-- > 0;) {
                VectorXd a(u[l][j][b].size()), d(a.size());
                for (Eigen::Index i = 0; i < a.size(); ++i) {
                    a(i) = phi(act, u[l][j][b](i));
                    d(i) = act.dphi(u[l][j][b](i));
                }
                dW[l * m + j] += gy * a.transpose() / B;
                gy = (p.w[l * m + j].transpose() * gy).cwiseProduct(d);
            }
            delta += gy;
        }
        t.inputGrad2 += delta.squaredNorm() / B;
    }
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l)
        for (std::size_t j = 0; j < static_cast<std::size_t>(m); ++j)
            t.stages[l].gradW2 += dW[l * m + j].squaredNorm();
    return t;
}

/// The cnn: h^l = conv(W^l, a^{l-1}) + b^l by the direct sum over taps and channels with
/// circular indices (conv.h's layout: an image is C S^2 values, channel fastest; tap t = dy k +
/// dx reads pixel ((y + dy - k/2) mod S, (x + dx - k/2) mod S)); the backward pass is the same
/// loop's adjoint, input by input. Units are (channel, pixel) pairs.
Twin cnnTwin(const NetworkSpec& spec) {
    const Network net = buildNetwork(spec);
    const Activation& act = net.act;
    const auto draws = fetchDraws(net, nullptr);
    const int L = spec.depth, B = spec.batch;
    const MatrixXd x = drawInputs(spec, B).cast<double>();
    const MatrixXd g = drawCotangents(spec, B).cast<double>();
    std::vector<ConvShape> shape;
    std::vector<MatrixXd> W, bias;
    for (const Stage& stage : net.stages) {
        const auto& st = std::get<ConvStage>(stage);
        shape.push_back(st.shape);
        const auto wi = static_cast<std::size_t>(st.weight), bi = static_cast<std::size_t>(st.bias);
        W.push_back(materialize(net.params[wi], *draws[wi]).cast<double>());
        bias.push_back(materialize(net.params[bi], *draws[bi]).cast<double>());
    }
    // the input pixel tap t of output pixel p reads
    const auto source = [](const ConvShape& sh, int p, int t) {
        const int y = p / sh.S, xx = p % sh.S, dy = t / sh.k, dx = t % sh.k;
        const int sy = ((y + dy - sh.k / 2) % sh.S + sh.S) % sh.S;
        const int sx = ((xx + dx - sh.k / 2) % sh.S + sh.S) % sh.S;
        return sy * sh.S + sx;
    };
    Twin tw;
    tw.stages.resize(static_cast<std::size_t>(L));
    std::vector<std::vector<VectorXd>> h(static_cast<std::size_t>(L)),
        a(static_cast<std::size_t>(L) + 1);
    for (int b = 0; b < B; ++b)
        a[0].push_back(x.col(b));
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l) {
        const ConvShape& sh = shape[l];
        for (int b = 0; b < B; ++b) {
            const VectorXd& in = a[l][static_cast<std::size_t>(b)];
            VectorXd hb(sh.cout * sh.pixels()), ab(hb.size());
            for (int p = 0; p < sh.pixels(); ++p)
                for (int o = 0; o < sh.cout; ++o) {
                    double sum = bias[l](o, 0);
                    for (int t = 0; t < sh.k * sh.k; ++t)
                        for (int c = 0; c < sh.cin; ++c)
                            sum += W[l](o, t * sh.cin + c) * in(source(sh, p, t) * sh.cin + c);
                    hb(p * sh.cout + o) = sum;
                    ab(p * sh.cout + o) = phi(act, sum);
                }
            h[l].push_back(hb);
            a[l + 1].push_back(ab);
        }
        moments(h[l], tw.stages[l]);
        tw.stages[l].dead = deadFraction(act, {h[l]});
    }
    std::vector<MatrixXd> dW;
    for (const MatrixXd& w : W)
        dW.push_back(MatrixXd::Zero(w.rows(), w.cols()));
    for (int bi = 0; bi < B; ++bi) {
        const auto b = static_cast<std::size_t>(bi);
        VectorXd delta = g.col(bi);
        for (Eigen::Index i = 0; i < delta.size(); ++i)
            delta(i) *= act.dphi(h.back()[b](i));
        for (std::size_t l = static_cast<std::size_t>(L); l-- > 0;) {
            const ConvShape& sh = shape[l];
            tw.stages[l].gradH2 += delta.squaredNorm() / B;
            VectorXd below = VectorXd::Zero(sh.cin * sh.pixels());
            for (int p = 0; p < sh.pixels(); ++p)
                for (int o = 0; o < sh.cout; ++o) {
                    const double dl = delta(p * sh.cout + o);
                    for (int t = 0; t < sh.k * sh.k; ++t)
                        for (int c = 0; c < sh.cin; ++c) {
                            const int at = source(sh, p, t) * sh.cin + c;
                            dW[l](o, t * sh.cin + c) += dl * a[l][b](at) / B;
                            below(at) += W[l](o, t * sh.cin + c) * dl;
                        }
                }
            if (l > 0)
                for (Eigen::Index i = 0; i < below.size(); ++i)
                    below(i) *= act.dphi(h[l - 1][b](i));
            else
                tw.inputGrad2 += below.squaredNorm() / B;
            delta = below;
        }
    }
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l)
        tw.stages[l].gradW2 = dW[l].squaredNorm();
    return tw;
}

/// The rnn: h_t = W a_{t-1} + U x_t + b (no W term at t = 1, no U term at a step without an
/// input), a_t = phi(h_t); loss mean_b g_b . a_T; backpropagation through time one input at a
/// time. grad_w2 of step t is its own term ||delta_t [a_{t-1}; x_t]^T / B||^2 of the tied
/// gradient, input_grad2 of step t is ||U^T delta_t||^2 averaged over inputs, and the whole
/// sequence's input_grad2 their sum.
Twin rnnTwin(const NetworkSpec& spec) {
    const Network net = buildNetwork(spec);
    const Activation& act = net.act;
    const auto draws = fetchDraws(net, nullptr);
    const auto& st0 = std::get<RecurrentStage>(net.stages.front());
    const int T = spec.depth, B = spec.batch, n = st0.width, nx = st0.inputDim;
    const auto mat = [&](int index) {
        const auto i = static_cast<std::size_t>(index);
        return MatrixXd(materialize(net.params[i], *draws[i]).cast<double>());
    };
    const MatrixXd wu = mat(st0.stacked);
    const MatrixXd U = wu.rightCols(nx);
    const MatrixXd W = st0.recurrent >= 0 ? mat(st0.recurrent) : MatrixXd(wu.leftCols(n));
    const VectorXd bias = mat(st0.bias).col(0);
    // x_1 is the mlp's input of this seed; x_t (t >= 2) standard normals of the sequence stream;
    // both as s z + mu
    std::vector<MatrixXd> x(static_cast<std::size_t>(T));
    NetworkSpec standard = spec;
    standard.inputMean = 0.0;
    standard.inputScale = 1.0;
    for (int t = 1; t <= T; ++t) {
        if (spec.rnnInput == RnnInput::FirstStep && t > 1)
            break;
        const MatrixXd z = t == 1 ? MatrixXd(drawInputs(standard, B).cast<double>())
                                  : MatrixXd(drawStandard(DrawKind::Normal, Stream::SequenceInputs,
                                                          spec.seed, t, nx, B)
                                                 .cast<double>());
        x[static_cast<std::size_t>(t) - 1] =
            (spec.inputScale * z.array() + spec.inputMean).matrix();
    }
    const auto hasInput = [&](int t) { return x[static_cast<std::size_t>(t) - 1].size() > 0; };
    Twin tw;
    tw.stages.resize(static_cast<std::size_t>(T));
    std::vector<std::vector<VectorXd>> h(static_cast<std::size_t>(T) + 1),
        a(static_cast<std::size_t>(T) + 1);
    for (int t = 1; t <= T; ++t) {
        const auto ti = static_cast<std::size_t>(t);
        for (int b = 0; b < B; ++b) {
            VectorXd hb = bias;
            if (t > 1)
                hb += W * a[ti - 1][static_cast<std::size_t>(b)];
            if (hasInput(t))
                hb += U * x[ti - 1].col(b);
            VectorXd ab(n);
            for (int i = 0; i < n; ++i)
                ab(i) = phi(act, hb(i));
            h[ti].push_back(hb);
            a[ti].push_back(ab);
        }
        moments(h[ti], tw.stages[ti - 1]);
        tw.stages[ti - 1].dead = deadFraction(act, {h[ti]});
    }
    std::vector<MatrixXd> dW(static_cast<std::size_t>(T) + 1), dU(dW);
    for (int t = 1; t <= T; ++t) {
        dW[static_cast<std::size_t>(t)] = MatrixXd::Zero(n, n);
        dU[static_cast<std::size_t>(t)] = MatrixXd::Zero(n, nx);
    }
    std::vector<double> inGrad(static_cast<std::size_t>(T) + 1, 0.0);
    const MatrixXd g = drawCotangents(spec, B).cast<double>();
    for (int bi = 0; bi < B; ++bi) {
        const auto b = static_cast<std::size_t>(bi);
        VectorXd delta = g.col(bi);
        for (int i = 0; i < n; ++i)
            delta(i) *= act.dphi(h[static_cast<std::size_t>(T)][b](i));
        for (int t = T; t >= 1; --t) {
            const auto ti = static_cast<std::size_t>(t);
            tw.stages[ti - 1].gradH2 += delta.squaredNorm() / B;
            if (t > 1)
                dW[ti] += delta * a[ti - 1][b].transpose() / B;
            if (hasInput(t)) {
                dU[ti] += delta * x[ti - 1].col(bi).transpose() / B;
                inGrad[ti] += (U.transpose() * delta).squaredNorm() / B;
            }
            if (t > 1) {
                VectorXd below = W.transpose() * delta;
                for (int i = 0; i < n; ++i)
                    below(i) *= act.dphi(h[ti - 1][b](i));
                delta = below;
            }
        }
    }
    for (int t = 1; t <= T; ++t) {
        const auto ti = static_cast<std::size_t>(t);
        tw.stages[ti - 1].gradW2 = dW[ti].squaredNorm() + dU[ti].squaredNorm();
        if (hasInput(t)) { // a step without an input has no input gradient (the engine's NaN)
            tw.stages[ti - 1].inputGrad2 = inGrad[ti];
            tw.inputGrad2 += inGrad[ti];
        }
    }
    return tw;
}

/// Relative agreement: float propagation against double, ~1e-7 per operation over a few
/// stages of sums of up to 150 x 48 terms; 2e-5 leaves room for the worst stage while a wrong
/// chunk (one input in 150 dropped or counted twice) moves a mean by ~1e-2.
constexpr double kRel = 2e-5;

void expectClose(double engine, double twin, const std::string& what) {
    const double scale = std::max(std::abs(twin), 1e-12);
    EXPECT_LT(std::abs(engine - twin) / scale, kRel)
        << what << ": engine " << engine << ", twin " << twin;
}

void compare(const RunResult& r, const Twin& t, const std::string& tag) {
    ASSERT_EQ(r.layers.size(), t.stages.size());
    for (std::size_t l = 0; l < t.stages.size(); ++l) {
        const LayerStats& e = r.layers[l];
        const TwinStats& w = t.stages[l];
        const std::string at = tag + " stage " + std::to_string(l + 1);
        expectClose(e.q, w.q, at + " q");
        // the mean and the correlation are differences of similar sums: compared against the
        // scale of what they are differences of
        EXPECT_LT(std::abs(e.mean - w.mean), kRel * std::sqrt(w.q)) << at << " mean";
        EXPECT_LT(std::abs(e.var - w.var), kRel * w.q) << at << " var";
        EXPECT_LT(std::abs(e.correlation - w.correlation), 1e-4) << at << " correlation";
        EXPECT_EQ(e.deadFraction, w.dead) << at << " dead_fraction";
        expectClose(e.gradH2, w.gradH2, at + " grad_h2");
        expectClose(e.gradW2, w.gradW2, at + " grad_w2");
        if (!std::isnan(w.inputGrad2))
            expectClose(e.inputGrad2, w.inputGrad2, at + " input_grad2");
    }
    expectClose(r.inputGrad2, t.inputGrad2, tag + " input_grad2");
}

NetworkSpec small() {
    NetworkSpec s;
    s.depth = 4;
    s.width = 48;
    s.inputDim = 20;
    s.batch = 150; // chunks of 64, 64 and 22 inputs
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.gain = 1.4;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.inputMean = 0.3;
    s.seed = 3;
    return s;
}

} // namespace

TEST(SerialTwin, DenseStagesMatchThePlainLoops) {
    for (const ActivationKind act : {ActivationKind::Tanh, ActivationKind::Relu}) {
        NetworkSpec s = small();
        s.activation = act;
        s.widths = {48, 31, 40, 25}; // unequal widths: every shape of product
        const Twin t = mlpTwin(s);
        for (const int threads : {1, 2}) {
            s.threads = threads;
            Engine e;
            compare(e.run(s), t, activationName(act) + " threads " + std::to_string(threads));
        }
    }
}

TEST(SerialTwin, ResidualBlocksMatchThePlainLoops) {
    for (const ResidualScale scale : {ResidualScale::One, ResidualScale::InvSqrtDepth}) {
        NetworkSpec s = small();
        s.arch = Arch::Resnet;
        s.inputDim = s.width;
        s.inputMean = 0;
        s.branchDepth = 2;
        s.depth = 3;
        s.residualScale = scale;
        s.activation = ActivationKind::Relu;
        s.init = InitScheme::HeNormal;
        s.gain = 1.0;
        const Twin t = resnetTwin(s);
        for (const int threads : {1, 2}) {
            s.threads = threads;
            Engine e;
            compare(e.run(s), t, residualScaleName(scale) + " threads " + std::to_string(threads));
        }
    }
}

TEST(SerialTwin, ConvStagesMatchTheDirectSums) {
    // 5 x 5 images with a 3 x 3 kernel: every tap wraps around an edge for some pixel
    for (const InitScheme init : {InitScheme::HeNormal, InitScheme::DeltaOrthogonal}) {
        NetworkSpec s = small();
        s.arch = Arch::Cnn;
        s.width = NetworkSpec{}.width; // a cnn's width is its channels x pixels
        s.widths.clear();
        s.depth = 3;
        s.channels = 6;
        s.inputChannels = 3;
        s.kernel = 3;
        s.image = 5;
        s.inputDim = 3 * 25;
        s.activation = ActivationKind::Tanh;
        s.init = init;
        s.gain = 1.0;
        const Twin t = cnnTwin(s);
        for (const int threads : {1, 2}) {
            s.threads = threads;
            Engine e;
            compare(e.run(s), t, initSchemeName(init) + " threads " + std::to_string(threads));
        }
    }
}

TEST(SerialTwin, RecurrentStepsMatchThePlainLoops) {
    struct Case {
        RnnInput input;
        RecurrentInit recurrent;
    };
    for (const Case c : {Case{RnnInput::EveryStep, RecurrentInit::None},
                         Case{RnnInput::FirstStep, RecurrentInit::Identity}}) {
        NetworkSpec s = small();
        s.arch = Arch::Rnn;
        s.depth = 5; // time steps
        s.width = 32;
        s.widths.clear();
        s.inputDim = 12;
        s.rnnInput = c.input;
        s.recurrentInit = c.recurrent;
        s.gain = 1.1;
        const Twin t = rnnTwin(s);
        for (const int threads : {1, 2}) {
            s.threads = threads;
            Engine e;
            compare(e.run(s), t,
                    std::string(c.input == RnnInput::EveryStep ? "every-step" : "first-step") +
                        " threads " + std::to_string(threads));
        }
    }
}

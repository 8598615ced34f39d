#include "network/network.h"

#include "network/heads.h"

#include "core/parallel.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace initscope {

namespace {

Param biasParam(const NetworkSpec& spec, const DrawKey& key);

/// The weight and bias of one dense layer (in -> out) on the streams of `index`, named by `tag`
/// ("3" for layer 3, "2.1" for block 2's first branch layer); `factor` multiplies the standard
/// deviation (Fixup).
std::pair<Param, Param> denseParams(const NetworkSpec& spec, int index, const std::string& tag,
                                    int in, int out, double factor) {
    const DrawKind kind = drawKind(spec.init);
    const double var =
        spec.init == InitScheme::Zeros || spec.init == InitScheme::Constant
            ? 0.0
            : spec.gain * baseVariance(spec.init, spec.fanMode, in, out, spec.initValue);
    Param w;
    w.name = "W" + tag;
    w.rows = out;
    w.cols = in;
    w.fanIn = in;
    w.fanOut = out;
    w.scheme = spec.init;
    w.draw = kind;
    w.scale = factor * (spec.init == InitScheme::Zeros      ? 0.0
                        : spec.init == InitScheme::Constant ? std::sqrt(spec.gain) * spec.initValue
                                                            : std::sqrt(var));
    w.sigmaW2 = factor * factor * var * in;
    w.key = DrawKey{spec.seed, Stream::Weights, index, out, in, static_cast<int>(kind)};
    Param b = biasParam(spec, DrawKey{spec.seed, Stream::Biases, index, out, 1, 0});
    b.name = "b" + tag;
    b.fanIn = in;
    return {std::move(w), std::move(b)};
}

/// A bias of `key.rows` units on the stream of `key`, by the spec's bias_init.
Param biasParam(const NetworkSpec& spec, const DrawKey& key) {
    Param b;
    b.isBias = true;
    b.rows = key.rows;
    b.cols = 1;
    b.fanOut = key.rows;
    switch (spec.biasInit) {
    case BiasInit::Zeros:
        b.draw = DrawKind::None;
        b.scale = 0;
        break;
    case BiasInit::Constant:
        b.draw = DrawKind::Ones;
        b.scale = spec.biasValue;
        break;
    case BiasInit::Normal:
        b.draw = DrawKind::Normal;
        b.scale = std::sqrt(spec.sigmaB2);
        b.sigmaW2 = spec.sigmaB2;
        break;
    }
    b.key = key;
    return b;
}

/// An rnn's tied parameters and its T stages (one per time step). The stacked [W U] is one
/// parameter of N x (N + N_x) with fanIn N + N_x, so lecun, xavier and he see the fan of the
/// whole cell (THEORY.md: h_t sums N + N_x terms). With recurrent_init, W is a parameter of its
/// own (N x N, fanIn = fanOut = N, so orthogonal W has sigma_w^2 = gain) and U stays the stacked
/// parameter's block, with the stacked variance: U is then the very same matrix whatever
/// recurrent_init says, and a comparison of recurrent inits changes W alone. The streams are
/// Stream::Recurrent's (index 1 stacked, 2 W, 3 b), which no mlp or resnet draws from.
void buildRnn(const NetworkSpec& spec, Network& net) {
    const int n = spec.width, nx = spec.inputDim;
    const auto constScale = [&](InitScheme scheme, double var) {
        return scheme == InitScheme::Zeros      ? 0.0
               : scheme == InitScheme::Constant ? std::sqrt(spec.gain) * spec.initValue
                                                : std::sqrt(var);
    };
    Param wu;
    wu.name = "WU";
    wu.rows = n;
    wu.cols = n + nx;
    wu.fanIn = n + nx;
    wu.fanOut = n;
    wu.scheme = spec.init;
    wu.draw = drawKind(spec.init);
    const double var = rnnStackedVariance(spec);
    wu.scale = constScale(spec.init, var);
    wu.sigmaW2 = var * wu.fanIn;
    wu.key = DrawKey{spec.seed, Stream::Recurrent, 1, n, n + nx, static_cast<int>(wu.draw)};
    RecurrentStage st;
    st.width = n;
    st.inputDim = nx;
    st.stacked = static_cast<int>(net.params.size());
    net.params.push_back(std::move(wu));
    if (spec.recurrentInit != RecurrentInit::None) {
        const bool identity = spec.recurrentInit == RecurrentInit::Identity;
        Param w;
        w.name = "W";
        w.rows = w.cols = w.fanIn = w.fanOut = n;
        w.scheme = identity ? InitScheme::Orthogonal : spec.recurrentScheme; // identity: Q = I
        w.draw = identity ? DrawKind::Identity : drawKind(spec.recurrentScheme);
        const double wv = rnnRecurrentVariance(spec);
        w.scale = identity ? std::sqrt(spec.gain) : constScale(spec.recurrentScheme, wv);
        w.sigmaW2 = wv * n;
        w.key = DrawKey{spec.seed, Stream::Recurrent, 2, n, n, static_cast<int>(w.draw)};
        st.recurrent = static_cast<int>(net.params.size());
        net.params.push_back(std::move(w));
    }
    Param b = biasParam(spec, DrawKey{spec.seed, Stream::Recurrent, 3, n, 1, 0});
    b.name = "b";
    b.fanIn = n + nx;
    st.bias = static_cast<int>(net.params.size());
    net.params.push_back(std::move(b));
    for (int t = 1; t <= spec.depth; ++t) {
        st.step = t;
        st.hasInput = spec.rnnInput == RnnInput::EveryStep || t == 1;
        net.stages.emplace_back(st);
    }
    net.plan.axis = "time step";
}

/// Key kind of a delta-orthogonal kernel: its Z (an orthogonal centre tap in zeros) is not the
/// orthogonal draw of the full kernel's shape, so it never shares that draw's cache entry.
constexpr int kDeltaOrthogonalKind = 100 + static_cast<int>(DrawKind::Orthogonal);

/// The kernel and bias of cnn layer l (streams of index l, like the mlp's layer l: a draw of the
/// same shape and kind is the same matrix, so sharing a cache entry is exact). The scheme sees
/// convSchemeFans; sigma_w^2 is what the length map sees (effectiveSigmaW2).
std::pair<Param, Param> convParams(const NetworkSpec& spec, int l, const ConvShape& g) {
    const auto [fanIn, fanOut] = convSchemeFans(spec, l);
    auto [w, b] = denseParams(spec, l, std::to_string(l), fanIn, fanOut, 1.0);
    w.rows = g.cout;
    w.cols = g.patch();
    w.sigmaW2 = effectiveSigmaW2(spec, l);
    w.key.rows = w.rows;
    w.key.cols = w.cols;
    if (spec.init == InitScheme::DeltaOrthogonal)
        w.key.kind = kDeltaOrthogonalKind;
    b.rows = g.cout;
    b.key.rows = g.cout;
    return {std::move(w), std::move(b)};
}

} // namespace

namespace {

Network buildTrunk(const NetworkSpec& spec) {
    Network net;
    net.act = Activation(spec.activation, spec.activationSlope);
    net.inputDim = spec.inputDim;
    net.outputDim = spec.widthOf(spec.depth);
    net.plan.stages = spec.depth;
    if (spec.arch == Arch::Cnn) {
        for (int l = 1; l <= spec.depth; ++l) {
            ConvStage st;
            st.shape = ConvShape{convChannelsIn(spec, l), spec.channels, spec.kernel, spec.image};
            st.centreOnly = spec.init == InitScheme::DeltaOrthogonal;
            auto [w, b] = convParams(spec, l, st.shape);
            st.weight = static_cast<int>(net.params.size());
            net.params.push_back(std::move(w));
            st.bias = static_cast<int>(net.params.size());
            net.params.push_back(std::move(b));
            net.stages.emplace_back(st);
        }
        net.plan.axis = "layer";
        return net;
    }
    if (spec.arch == Arch::Rnn) {
        buildRnn(spec, net);
        return net;
    }
    if (spec.arch == Arch::Resnet) {
        // branch layer j of block l draws from the streams of index (l - 1) m + j: a resnet
        // with m = 1 has the weights of the mlp of the same depth and width
        const int m = spec.branchDepth, n = spec.width;
        const double gamma = residualGamma(spec);
        for (int l = 1; l <= spec.depth; ++l) {
            ResidualStage st;
            st.width = n;
            st.gamma = gamma;
            for (int j = 1; j <= m; ++j) {
                auto [w, b] =
                    denseParams(spec, (l - 1) * m + j, std::to_string(l) + "." + std::to_string(j),
                                n, n, fixupBranchFactor(spec, j));
                st.weights.push_back(static_cast<int>(net.params.size()));
                net.params.push_back(std::move(w));
                st.biases.push_back(static_cast<int>(net.params.size()));
                net.params.push_back(std::move(b));
            }
            net.stages.emplace_back(std::move(st));
        }
        net.plan.axis = "block";
        return net;
    }
    for (int l = 1; l <= spec.depth; ++l) {
        const int in = spec.widthOf(l - 1), out = spec.widthOf(l);
        auto [w, b] = denseParams(spec, l, std::to_string(l), in, out, 1.0);
        DenseStage st;
        st.in = in;
        st.out = out;
        st.weight = static_cast<int>(net.params.size());
        net.params.push_back(std::move(w));
        st.bias = static_cast<int>(net.params.size());
        net.params.push_back(std::move(b));
        net.stages.emplace_back(st);
    }
    net.plan.axis = "layer";
    return net;
}

/// The dense layers of every head, on its own streams: layer j (1-based) of head h, n_in ->
/// n_out, weights gain * base variance at its fans, hidden biases by the spec's bias init and
/// the output layer's all h.bias.
void buildHeads(const NetworkSpec& spec, Network& net) {
    for (const HeadSpec& h : spec.heads) {
        HeadPlan plan;
        plan.name = h.name;
        plan.lossWeight = h.weight;
        const std::uint64_t seed = headStreamSeed(spec.seed, h.name);
        int in = net.outputDim;
        for (std::size_t j = 0; j < h.widths.size(); ++j) {
            const int out = h.widths[j], index = static_cast<int>(j) + 1;
            const bool last = j + 1 == h.widths.size();
            const double var = headLayerVariance(h, in, out);
            Param w;
            w.name = h.name + ".W" + std::to_string(index);
            w.rows = out;
            w.cols = in;
            w.fanIn = in;
            w.fanOut = out;
            w.scheme = h.scheme;
            w.draw = drawKind(h.scheme);
            w.scale = h.scheme == InitScheme::Zeros      ? 0.0
                      : h.scheme == InitScheme::Constant ? std::sqrt(h.gain)
                                                         : std::sqrt(var);
            w.sigmaW2 = var * in;
            w.key = DrawKey{seed, Stream::HeadWeights, index, out, in, static_cast<int>(w.draw)};
            Param b = biasParam(spec, DrawKey{seed, Stream::HeadBiases, index, out, 1, 0});
            if (last) {
                b.draw = DrawKind::Ones;
                b.scale = h.bias;
                b.sigmaW2 = 0;
            }
            b.name = h.name + ".b" + std::to_string(index);
            b.fanIn = in;
            DenseStage st;
            st.in = in;
            st.out = out;
            st.weight = static_cast<int>(net.params.size());
            net.params.push_back(std::move(w));
            st.bias = static_cast<int>(net.params.size());
            net.params.push_back(std::move(b));
            plan.layers.push_back(st);
            in = out;
        }
        net.heads.push_back(std::move(plan));
    }
}

} // namespace

Network buildNetwork(const NetworkSpec& spec) {
    Network net = buildTrunk(spec);
    buildHeads(spec, net);
    return net;
}

namespace {

/// Z of one parameter. Weights without randomness (zeros, constant) still get their matrix, so
/// every stage can use one code path; biases that are zero or constant need no stream.
MatrixF drawParam(const Param& p, const std::atomic<bool>* cancel) {
    if (p.isBias) {
        switch (p.draw) {
        case DrawKind::Normal:
            if (p.key.stream != Stream::Biases) // an rnn's bias: N(0, 1) on its own stream
                return drawStandard(DrawKind::Normal, p.key.stream, p.key.seed, p.key.index, p.rows,
                                    1, cancel);
            return drawBiasStandard(p.key.seed, p.key.index, p.rows);
        case DrawKind::Ones:
            return MatrixF::Ones(p.rows, 1);
        default:
            return MatrixF::Zero(p.rows, 1);
        }
    }
    if (p.scheme == InitScheme::DeltaOrthogonal) {
        // zero except the centre tap: an orthogonal C_out x C_in draw (unit entry variance);
        // for delta-orthogonal the scheme's fanIn is C_in, so the kernel has cols / fanIn taps
        const int cin = p.fanIn, taps = p.cols / p.fanIn;
        MatrixF z = MatrixF::Zero(p.rows, p.cols);
        z.middleCols(static_cast<Eigen::Index>(taps / 2) * cin, cin) =
            drawStandard(DrawKind::Orthogonal, p.key.seed, p.key.index, p.rows, cin, cancel);
        return z;
    }
    return drawStandard(p.draw, p.key.stream, p.key.seed, p.key.index, p.rows, p.cols, cancel);
}

} // namespace

std::vector<std::shared_ptr<const StandardDraw>> fetchDraws(const Network& net,
                                                            const std::atomic<bool>* cancel) {
    DrawCache& cache = DrawCache::shared();
    std::vector<std::shared_ptr<const StandardDraw>> draws(net.params.size());
    std::vector<int> missing;
    for (std::size_t i = 0; i < net.params.size(); ++i) {
        const Param& p = net.params[i];
        if (p.isBias && p.draw != DrawKind::Normal) { // nothing random: not worth a cache entry
            auto d = std::make_shared<StandardDraw>();
            d->z = drawParam(p, cancel);
            d->z2 = static_cast<double>(d->z.size()) * (p.draw == DrawKind::Ones ? 1.0 : 0.0);
            draws[i] = std::move(d);
        } else if (!(draws[i] = cache.find(p.key))) {
            missing.push_back(static_cast<int>(i));
        }
    }
    detail::forEachIndex(static_cast<int>(missing.size()), [&](int m) {
        if (detail::isCancelled(cancel))
            return;
        const auto i = static_cast<std::size_t>(missing[static_cast<std::size_t>(m)]);
        auto d = std::make_shared<StandardDraw>();
        d->z = drawParam(net.params[i], cancel);
        if (detail::isCancelled(cancel)) // an interrupted draw is incomplete: never cached
            return;
        d->z2 = d->z.cast<double>().squaredNorm();
        cache.insert(net.params[i].key, d);
        draws[i] = std::move(d);
    });
    if (detail::isCancelled(cancel))
        return {};
    return draws;
}

MatrixF materialize(const Param& p, const StandardDraw& z) {
    return static_cast<float>(p.scale) * z.z;
}

MatrixF materialize(const Param& p, const StandardDraw& z, const std::atomic<bool>* cancel) {
    const float s = static_cast<float>(p.scale);
    MatrixF w(z.z.rows(), z.z.cols());
    const Eigen::Index step = std::max<Eigen::Index>(1, (Eigen::Index(1) << 22) / w.rows());
    for (Eigen::Index c = 0; c < w.cols() && !detail::isCancelled(cancel); c += step) {
        const Eigen::Index n = std::min(step, w.cols() - c); // a contiguous column block
        w.middleCols(c, n) = s * z.z.middleCols(c, n);
    }
    return w;
}

DenseWeights materializeDense(const Network& net,
                              const std::vector<std::shared_ptr<const StandardDraw>>& draws,
                              const std::atomic<bool>* cancel) {
    const int L = static_cast<int>(net.stages.size());
    DenseWeights out;
    out.w.resize(static_cast<std::size_t>(L) + 1);
    out.b.resize(static_cast<std::size_t>(L) + 1);
    detail::forEachIndex(L, [&](int i) {
        const DenseStage& st = denseStage(net, i + 1);
        const auto p = [&](int k) -> const Param& {
            return net.params[static_cast<std::size_t>(k)];
        };
        const auto z = [&](int k) -> const StandardDraw& {
            return *draws[static_cast<std::size_t>(k)];
        };
        out.w[static_cast<std::size_t>(i) + 1] = materialize(p(st.weight), z(st.weight), cancel);
        out.b[static_cast<std::size_t>(i) + 1] = materialize(p(st.bias), z(st.bias));
    });
    return out;
}

DenseWeights materializeConvAsDense(const Network& net,
                                    const std::vector<std::shared_ptr<const StandardDraw>>& draws,
                                    const std::atomic<bool>* cancel) {
    const int L = static_cast<int>(net.stages.size());
    DenseWeights out;
    out.w.resize(static_cast<std::size_t>(L) + 1);
    out.b.resize(static_cast<std::size_t>(L) + 1);
    detail::forEachIndex(L, [&](int i) {
        if (detail::isCancelled(cancel))
            return;
        const auto& st = std::get<ConvStage>(net.stages[static_cast<std::size_t>(i)]);
        const auto p = [&](int k) -> const Param& {
            return net.params[static_cast<std::size_t>(k)];
        };
        const auto z = [&](int k) -> const StandardDraw& {
            return *draws[static_cast<std::size_t>(k)];
        };
        const auto li = static_cast<std::size_t>(i) + 1;
        out.w[li] = convAsDense(st.shape, materialize(p(st.weight), z(st.weight)));
        out.b[li] = materialize(p(st.bias), z(st.bias)).replicate(st.shape.pixels(), 1);
    });
    return out;
}

} // namespace initscope

#include "network.h"

#include "parallel.h"

#include <cmath>

namespace initscope {

Network buildNetwork(const NetworkSpec& spec) {
    Network net;
    net.act = Activation(spec.activation, spec.activationSlope);
    net.inputDim = spec.inputDim;
    net.outputDim = spec.widthOf(spec.depth);
    const DrawKind kind = drawKind(spec.init);
    for (int l = 1; l <= spec.depth; ++l) {
        const int in = spec.widthOf(l - 1), out = spec.widthOf(l);
        Param w;
        w.name = "W" + std::to_string(l);
        w.rows = out;
        w.cols = in;
        w.fanIn = in;
        w.fanOut = out;
        w.scheme = spec.init;
        w.draw = kind;
        w.scale = weightScale(spec, l);
        w.sigmaW2 = effectiveSigmaW2(spec, l);
        w.key = DrawKey{spec.seed, Stream::Weights, l, out, in, static_cast<int>(kind)};

        Param b;
        b.name = "b" + std::to_string(l);
        b.isBias = true;
        b.rows = out;
        b.cols = 1;
        b.fanIn = in;
        b.fanOut = out;
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
        b.key = DrawKey{spec.seed, Stream::Biases, l, out, 1, 0};

        DenseStage st;
        st.in = in;
        st.out = out;
        st.weight = static_cast<int>(net.params.size());
        net.params.push_back(std::move(w));
        st.bias = static_cast<int>(net.params.size());
        net.params.push_back(std::move(b));
        net.stages.emplace_back(st);
    }
    net.plan.stages = spec.depth;
    net.plan.axis = "layer";
    return net;
}

namespace {

/// Z of one parameter. Weights without randomness (zeros, constant) still get their matrix, so
/// every stage can use one code path; biases that are zero or constant need no stream.
MatrixF drawParam(const Param& p, const std::atomic<bool>* cancel) {
    if (p.isBias) {
        switch (p.draw) {
        case DrawKind::Normal:
            return drawBiasStandard(p.key.seed, p.key.index, p.rows);
        case DrawKind::Ones:
            return MatrixF::Ones(p.rows, 1);
        default:
            return MatrixF::Zero(p.rows, 1);
        }
    }
    return drawStandard(p.draw, p.key.seed, p.key.index, p.rows, p.cols, cancel);
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

} // namespace initscope

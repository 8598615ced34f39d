#include "network/weights.h"

#include "core/data.h"
#include "core/rng.h"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>

namespace initscope {

DrawKind drawKind(InitScheme s) {
    switch (s) {
    case InitScheme::Zeros:
        return DrawKind::None;
    case InitScheme::Constant:
        return DrawKind::Ones;
    case InitScheme::Normal:
    case InitScheme::LecunNormal:
    case InitScheme::XavierNormal:
    case InitScheme::HeNormal:
        return DrawKind::Normal;
    case InitScheme::Uniform:
    case InitScheme::LecunUniform:
    case InitScheme::XavierUniform:
    case InitScheme::HeUniform:
        return DrawKind::Uniform;
    case InitScheme::Orthogonal:
    case InitScheme::DeltaOrthogonal: // the centre tap's draw (network.cpp embeds it)
        return DrawKind::Orthogonal;
    }
    return DrawKind::None;
}

namespace {

/// Q with orthonormal columns (rows >= cols) from the QR of a Gaussian, with the signs of R's
/// diagonal folded into Q so that Q is Haar-distributed (Mezzadri 2007), not biased by the
/// Householder sign convention.
Eigen::MatrixXd haarTall(Stream stream, std::uint64_t seed, int layer, int rows, int cols) {
    MatrixF g(rows, cols);
    Rng rng(seed, stream, static_cast<std::uint64_t>(layer));
    rng.fillNormal(g.data(), static_cast<std::size_t>(g.size()));
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(g.cast<double>());
    Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(rows, cols);
    const Eigen::MatrixXd& r = qr.matrixQR();
    for (int j = 0; j < cols; ++j)
        if (r(j, j) < 0)
            q.col(j) = -q.col(j);
    return q;
}

/// fill(out, count) over [0, n) in blocks of kDrawBlock, looking at `cancel` between blocks.
template <class Fill>
void fillInBlocks(float* out, std::size_t n, const std::atomic<bool>* cancel, Fill&& fill) {
    for (std::size_t i = 0; i < n; i += kDrawBlock) {
        if (cancel && cancel->load(std::memory_order_relaxed))
            return;
        fill(out + i, std::min(kDrawBlock, n - i));
    }
}

} // namespace

MatrixF drawStandard(DrawKind kind, std::uint64_t seed, int layer, int rows, int cols,
                     const std::atomic<bool>* cancel) {
    return drawStandard(kind, Stream::Weights, seed, layer, rows, cols, cancel);
}

MatrixF drawStandard(DrawKind kind, Stream stream, std::uint64_t seed, int layer, int rows,
                     int cols, const std::atomic<bool>* cancel) {
    MatrixF z(rows, cols);
    const auto n = static_cast<std::size_t>(z.size());
    switch (kind) {
    case DrawKind::None:
        z.setZero();
        break;
    case DrawKind::Ones:
        z.setOnes();
        break;
    case DrawKind::Identity:
        z.setIdentity();
        break;
    case DrawKind::Normal: {
        Rng rng(seed, stream, static_cast<std::uint64_t>(layer));
        fillInBlocks(z.data(), n, cancel, [&](float* o, std::size_t m) { rng.fillNormal(o, m); });
        break;
    }
    case DrawKind::Uniform: {
        Rng rng(seed, stream, static_cast<std::uint64_t>(layer));
        fillInBlocks(z.data(), n, cancel,
                     [&](float* o, std::size_t m) { rng.fillUniformUnitVariance(o, m); });
        break;
    }
    case DrawKind::Orthogonal: {
        // entries of a matrix with orthonormal rows or columns have variance 1/max(rows, cols)
        const double s = std::sqrt(static_cast<double>(std::max(rows, cols)));
        if (rows >= cols)
            z = (s * haarTall(stream, seed, layer, rows, cols)).cast<float>();
        else
            z = (s * haarTall(stream, seed, layer, cols, rows)).transpose().cast<float>();
        break;
    }
    }
    return z;
}

double weightScale(const NetworkSpec& spec, int layer) {
    if (spec.init == InitScheme::Zeros)
        return 0.0;
    if (spec.init == InitScheme::Constant)
        return std::sqrt(spec.gain) * spec.initValue;
    const int fanIn = spec.widthOf(layer - 1), fanOut = spec.widthOf(layer);
    return std::sqrt(spec.gain *
                     baseVariance(spec.init, spec.fanMode, fanIn, fanOut, spec.initValue));
}

MatrixF initWeights(const NetworkSpec& spec, int layer, const std::atomic<bool>* cancel) {
    const MatrixF z = drawStandard(drawKind(spec.init), spec.seed, layer, spec.widthOf(layer),
                                   spec.widthOf(layer - 1), cancel);
    if (cancel && cancel->load(std::memory_order_relaxed))
        return {}; // incomplete; scaling it would touch every page of a matrix nobody reads
    return static_cast<float>(weightScale(spec, layer)) * z;
}

VectorF drawBiasStandard(std::uint64_t seed, int layer, int n) {
    VectorF z(n);
    Rng(seed, Stream::Biases, static_cast<std::uint64_t>(layer))
        .fillNormal(z.data(), static_cast<std::size_t>(n));
    return z;
}

VectorF initBiases(const NetworkSpec& spec, int layer) {
    const int n = spec.widthOf(layer);
    switch (spec.biasInit) {
    case BiasInit::Zeros:
        return VectorF::Zero(n);
    case BiasInit::Constant:
        return VectorF::Constant(n, static_cast<float>(spec.biasValue));
    case BiasInit::Normal:
        return static_cast<float>(std::sqrt(spec.sigmaB2)) * drawBiasStandard(spec.seed, layer, n);
    }
    return VectorF::Zero(n);
}

MatrixF drawInputs(const NetworkSpec& spec, int count, const std::atomic<bool>* cancel) {
    MatrixF x(spec.inputDim, count);
    if (isRealData(spec.data)) { // training examples, a seeded permutation prefix (data.h)
        fillDataInputs(spec, count, x.data());
        return x;
    }
    Rng rng(spec.seed, Stream::Inputs, 0);
    fillInBlocks(x.data(), static_cast<std::size_t>(x.size()), cancel,
                 [&](float* o, std::size_t m) { rng.fillNormal(o, m); });
    return (static_cast<float>(spec.inputScale) * x.array() + static_cast<float>(spec.inputMean))
        .matrix();
}

MatrixF drawCotangents(const NetworkSpec& spec, int count, const std::atomic<bool>* cancel) {
    MatrixF g(spec.widthOf(spec.depth), count);
    Rng rng(spec.seed, Stream::Cotangent, 0);
    fillInBlocks(g.data(), static_cast<std::size_t>(g.size()), cancel,
                 [&](float* o, std::size_t m) { rng.fillNormal(o, m); });
    return g;
}

double readoutVariance(const NetworkSpec& spec, int depth) {
    if (spec.init == InitScheme::Zeros || spec.init == InitScheme::Constant)
        return 0.0;
    return spec.gain *
           baseVariance(spec.init, spec.fanMode, spec.widthOf(depth), 1, spec.initValue);
}

VectorF initReadout(const NetworkSpec& spec, int depth) {
    const int n = spec.widthOf(depth);
    VectorF z(n);
    Rng rng(spec.seed, Stream::Readout, static_cast<std::uint64_t>(depth));
    switch (drawKind(spec.init)) {
    case DrawKind::None:
    case DrawKind::Identity: // no init scheme draws the identity
        return VectorF::Zero(n);
    case DrawKind::Ones:
        return VectorF::Constant(n, static_cast<float>(std::sqrt(spec.gain) * spec.initValue));
    case DrawKind::Normal:
        rng.fillNormal(z.data(), static_cast<std::size_t>(n));
        break;
    case DrawKind::Uniform:
        rng.fillUniformUnitVariance(z.data(), static_cast<std::size_t>(n));
        break;
    case DrawKind::Orthogonal: {
        // a 1 x n matrix with an orthonormal row: a Haar unit vector, scaled to entry variance 1
        rng.fillNormal(z.data(), static_cast<std::size_t>(n));
        const double norm = z.cast<double>().norm();
        z = (z.cast<double>() * (std::sqrt(static_cast<double>(n)) / norm)).cast<float>();
        break;
    }
    }
    return static_cast<float>(std::sqrt(readoutVariance(spec, depth))) * z;
}

} // namespace initscope

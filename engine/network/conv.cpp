#include "network/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace initscope {

namespace {

int wrap(int v, int S) {
    v %= S;
    return v < 0 ? v + S : v;
}

/// The input pixel that tap t of output pixel p reads.
int source(const ConvShape& g, int p, int t) {
    const int y = p / g.S, x = p % g.S, h = g.k / 2;
    return wrap(y + t / g.k - h, g.S) * g.S + wrap(x + t % g.k - h, g.S);
}

using MapF = Eigen::Map<MatrixF>;
using ConstMapF = Eigen::Map<const MatrixF>;

} // namespace

int convGroupImages(int patch, int pixels) {
    const std::uint64_t perImage = static_cast<std::uint64_t>(patch) * pixels;
    return static_cast<int>(
        std::max<std::uint64_t>(1, kConvColFloats / std::max<std::uint64_t>(perImage, 1)));
}

std::uint64_t convScratchFloats(std::uint64_t patch, std::uint64_t pixels, std::uint64_t cout) {
    const auto g = static_cast<std::uint64_t>(
        convGroupImages(static_cast<int>(patch), static_cast<int>(pixels)));
    return g * pixels * (patch + std::max(patch, cout));
}

void im2col(const ConvShape& g, const float* image, float* col) {
    const int T = g.k * g.k, P = g.pixels();
    for (int p = 0; p < P; ++p)
        for (int t = 0; t < T; ++t)
            std::memcpy(col + (static_cast<std::size_t>(p) * T + t) * g.cin,
                        image + static_cast<std::size_t>(source(g, p, t)) * g.cin,
                        sizeof(float) * static_cast<std::size_t>(g.cin));
}

void col2imAdd(const ConvShape& g, const float* col, float* image) {
    const int T = g.k * g.k, P = g.pixels();
    for (int p = 0; p < P; ++p)
        for (int t = 0; t < T; ++t) {
            const float* from = col + (static_cast<std::size_t>(p) * T + t) * g.cin;
            float* to = image + static_cast<std::size_t>(source(g, p, t)) * g.cin;
            for (int c = 0; c < g.cin; ++c)
                to[c] += from[c];
        }
}

void convForward(const ConvShape& g, DrawKind kind, const MatrixF& z, float s, bool centreOnly,
                 const Eigen::Ref<const MatrixF>& x, Eigen::Ref<MatrixF> h) {
    const int m = static_cast<int>(x.cols()), P = g.pixels(), patch = g.patch();
    if (kind == DrawKind::None) {
        h.setZero();
        return;
    }
    const int G = convGroupImages(patch, P);
    MatrixF col;
    for (int b0 = 0; b0 < m; b0 += G) {
        const int n = std::min(G, m - b0);
        MapF H(h.col(b0).data(), g.cout, static_cast<Eigen::Index>(P) * n);
        if (centreOnly) {
            const ConstMapF X(x.col(b0).data(), g.cin, static_cast<Eigen::Index>(P) * n);
            H.noalias() =
                (s * z.middleCols(static_cast<Eigen::Index>(g.centreTap()) * g.cin, g.cin)) * X;
            continue;
        }
        col.resize(patch, static_cast<Eigen::Index>(P) * n);
        for (int b = 0; b < n; ++b)
            im2col(g, x.col(b0 + b).data(), col.col(static_cast<Eigen::Index>(b) * P).data());
        if (kind == DrawKind::Ones) // every output channel s * (sum of the patch), bit-identical
            H.rowwise() = s * col.colwise().sum();
        else
            H.noalias() = (s * z) * col;
    }
}

void convBackwardInput(const ConvShape& g, DrawKind kind, const MatrixF& z, float s,
                       bool centreOnly, const Eigen::Ref<const MatrixF>& delta,
                       Eigen::Ref<MatrixF> below) {
    const int m = static_cast<int>(delta.cols()), P = g.pixels(), patch = g.patch();
    if (kind == DrawKind::None) {
        below.setZero();
        return;
    }
    const int G = convGroupImages(patch, P);
    MatrixF back;
    for (int b0 = 0; b0 < m; b0 += G) {
        const int n = std::min(G, m - b0);
        const ConstMapF D(delta.col(b0).data(), g.cout, static_cast<Eigen::Index>(P) * n);
        if (centreOnly) {
            MapF X(below.col(b0).data(), g.cin, static_cast<Eigen::Index>(P) * n);
            X.noalias() =
                (s * z.middleCols(static_cast<Eigen::Index>(g.centreTap()) * g.cin, g.cin))
                    .transpose() *
                D;
            continue;
        }
        back.resize(patch, static_cast<Eigen::Index>(P) * n);
        if (kind == DrawKind::Ones)
            back.rowwise() = s * D.colwise().sum();
        else
            back.noalias() = (s * z).transpose() * D;
        for (int b = 0; b < n; ++b) {
            below.col(b0 + b).setZero();
            col2imAdd(g, back.col(static_cast<Eigen::Index>(b) * P).data(),
                      below.col(b0 + b).data());
        }
    }
}

void convWeightGradient(const ConvShape& g, const Eigen::Ref<const MatrixF>& delta,
                        const Eigen::Ref<const MatrixF>& x, MatrixF& dw) {
    const int m = static_cast<int>(delta.cols()), P = g.pixels(), patch = g.patch();
    dw.setZero(g.cout, patch);
    const int G = convGroupImages(patch, P);
    MatrixF col;
    for (int b0 = 0; b0 < m; b0 += G) {
        const int n = std::min(G, m - b0);
        col.resize(patch, static_cast<Eigen::Index>(P) * n);
        for (int b = 0; b < n; ++b)
            im2col(g, x.col(b0 + b).data(), col.col(static_cast<Eigen::Index>(b) * P).data());
        const ConstMapF D(delta.col(b0).data(), g.cout, static_cast<Eigen::Index>(P) * n);
        dw.noalias() += D * col.transpose();
    }
}

MatrixF convDirect(const ConvShape& g, const MatrixF& w, const MatrixF& x) {
    const int P = g.pixels(), T = g.k * g.k;
    MatrixF h(static_cast<Eigen::Index>(g.cout) * P, x.cols());
    for (Eigen::Index b = 0; b < x.cols(); ++b)
        for (int p = 0; p < P; ++p)
            for (int o = 0; o < g.cout; ++o) {
                double sum = 0;
                for (int t = 0; t < T; ++t) {
                    const int q = source(g, p, t);
                    for (int c = 0; c < g.cin; ++c)
                        sum += static_cast<double>(w(o, t * g.cin + c)) *
                               x(static_cast<Eigen::Index>(q) * g.cin + c, b);
                }
                h(static_cast<Eigen::Index>(p) * g.cout + o, b) = static_cast<float>(sum);
            }
    return h;
}

MatrixF convAsDense(const ConvShape& g, const MatrixF& w) {
    const int P = g.pixels(), T = g.k * g.k;
    MatrixF d =
        MatrixF::Zero(static_cast<Eigen::Index>(g.cout) * P, static_cast<Eigen::Index>(g.cin) * P);
    for (int p = 0; p < P; ++p)
        for (int t = 0; t < T; ++t) {
            const int q = source(g, p, t);
            d.block(static_cast<Eigen::Index>(p) * g.cout, static_cast<Eigen::Index>(q) * g.cin,
                    g.cout, g.cin) += w.middleCols(static_cast<Eigen::Index>(t) * g.cin, g.cin);
        }
    return d;
}

} // namespace initscope

#include "analysis/ntkkernels.h"

#include "core/parallel.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace initscope::ntkdetail {

namespace {

std::size_t li(int l) {
    return static_cast<std::size_t>(l);
}

/// A rows x cols result cut into tiles of rowStep x colStep.
struct Tiles {
    int rows, cols, rowStep, colStep;
    int rowCount() const { return (rows + rowStep - 1) / rowStep; }
    int count() const { return rowCount() * ((cols + colStep - 1) / colStep); }
    int row(int i) const { return (i % rowCount()) * rowStep; }
    int col(int i) const { return (i / rowCount()) * colStep; }
    int rowLen(int i) const { return std::min(rowStep, rows - row(i)); }
    int colLen(int i) const { return std::min(colStep, cols - col(i)); }
};

} // namespace

/// W^T delta (W: n x nIn), in tiles of kTileCols columns when the product is huge.
MatrixF transposedTimes(const MatrixF& w, const MatrixF& delta, const std::atomic<bool>* cancel) {
    const int n = static_cast<int>(w.rows()), nIn = static_cast<int>(w.cols());
    const int cols = static_cast<int>(delta.cols());
    if (!splitProduct(nIn, n, cols))
        return w.transpose() * delta;
    const auto rowStep = static_cast<int>(std::max<std::int64_t>(
        kTileCols, kTileWork / (std::int64_t(n) * kTileCols) / kTileCols * kTileCols));
    const Tiles t{nIn, cols, rowStep, kTileCols};
    MatrixF out(nIn, cols);
    detail::forEachIndex(t.count(), [&](int i) {
        if (detail::isCancelled(cancel))
            return;
        out.block(t.row(i), t.col(i), t.rowLen(i), t.colLen(i)).noalias() =
            w.middleCols(t.row(i), t.rowLen(i)).transpose() *
            delta.middleCols(t.col(i), t.colLen(i));
    });
    return out;
}

/// x^T x (x: n x K) in square tiles of the lower triangle, mirrored: for Grams too large for one
/// product (splitProduct(K, n, K)).
Eigen::MatrixXd tiledGram(const Eigen::MatrixXd& x, const std::atomic<bool>* cancel) {
    const auto n = static_cast<std::int64_t>(x.rows());
    const int K = static_cast<int>(x.cols());
    const int side = static_cast<int>(std::max<std::int64_t>(
        kTileCols, static_cast<std::int64_t>(std::sqrt(static_cast<double>(kTileWork / n))) /
                       kTileCols * kTileCols));
    const int blocks = (K + side - 1) / side;
    std::vector<std::pair<int, int>> lower; // (row block, column block), column <= row
    for (int r = 0; r < blocks; ++r)
        for (int c = 0; c <= r; ++c)
            lower.emplace_back(r, c);
    Eigen::MatrixXd g(K, K);
    detail::forEachIndex(static_cast<int>(lower.size()), [&](int i) {
        if (detail::isCancelled(cancel))
            return;
        const int r0 = lower[li(i)].first * side, c0 = lower[li(i)].second * side;
        const int rows = std::min(side, K - r0), cols = std::min(side, K - c0);
        g.block(r0, c0, rows, cols).noalias() =
            x.middleCols(r0, rows).transpose() * x.middleCols(c0, cols);
    });
    g.triangularView<Eigen::StrictlyUpper>() = g.transpose();
    return g;
}

Eigen::MatrixXd gram(const MatrixF& x, const std::atomic<bool>* cancel) {
    const Eigen::MatrixXd xd = x.cast<double>();
    if (splitProduct(x.cols(), x.rows(), x.cols()))
        return tiledGram(xd, cancel);
    return xd.transpose() * xd;
}

MatrixF rowBlockProduct(const MatrixF& w, const MatrixF& x, const std::atomic<bool>* cancel) {
    const int n = static_cast<int>(w.rows());
    MatrixF out(n, x.cols());
    const int blocks = (n + kBlockRows - 1) / kBlockRows;
    detail::forEachIndex(blocks, [&](int b) {
        if (detail::isCancelled(cancel))
            return;
        const int r0 = b * kBlockRows, rows = std::min(kBlockRows, n - r0);
        out.middleRows(r0, rows).noalias() = w.middleRows(r0, rows) * x;
    });
    return out;
}

} // namespace initscope::ntkdetail

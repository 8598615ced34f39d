// Products shared by the NTK of every family (ntk.cpp: dense stacks, ntkresnet.cpp: residual
// blocks): internal to the engine, not part of its interface.
#pragma once

#include "network/weights.h"

#include <Eigen/Core>
#include <atomic>
#include <cstdint>

namespace initscope::ntkdetail {

// Rows of W per forward task: fixed, so results do not depend on the thread count.
inline constexpr int kBlockRows = 64;
// Depths whose backward passes share their products (see computeNtk).
inline constexpr int kDepthGroup = 4;

// A product of at least kSplitWork multiply-adds (a 16384 x 16384 layer times 4 inputs, a Gram of
// 256 inputs at width 16384) is computed in tiles of about kTileWork multiply-adds, with a look at
// the cancel flag in each: one whole product is seconds of work, a tile tens of milliseconds.
// Every smaller product (all bundled presets and goldens) keeps the single product it always
// had, bit for bit. The tiles depend only on the shapes, so results stay independent of the
// thread count.
inline constexpr std::int64_t kSplitWork = std::int64_t(1) << 30;
inline constexpr std::int64_t kTileWork = std::int64_t(1) << 28;
inline constexpr int kTileCols = 64;

inline bool splitProduct(std::int64_t rows, std::int64_t inner, std::int64_t cols) {
    return rows * inner * cols >= kSplitWork;
}

/// W^T delta (W: n x nIn), in tiles of kTileCols columns when the product is huge.
MatrixF transposedTimes(const MatrixF& w, const MatrixF& delta, const std::atomic<bool>* cancel);

/// x^T x (x: n x K) in square tiles of the lower triangle, mirrored: for Grams too large for one
/// product (splitProduct(K, n, K)).
Eigen::MatrixXd tiledGram(const Eigen::MatrixXd& x, const std::atomic<bool>* cancel);

/// x^T x of a float n x K matrix in double: one product, or tiledGram when it is huge.
Eigen::MatrixXd gram(const MatrixF& x, const std::atomic<bool>* cancel);

/// W x in fixed blocks of kBlockRows rows of W, in parallel, with a look at `cancel` per block
/// (a block is 64 n K multiply-adds): incomplete once `cancel` turned true.
MatrixF rowBlockProduct(const MatrixF& w, const MatrixF& x, const std::atomic<bool>* cancel);

} // namespace initscope::ntkdetail

#include "analysis/ntk.h"

#include <chrono>
#include <functional>
#include <vector>

namespace initscope::ntkdetail {

/// computeNtk and analyticNtk of a resnet (ntkresnet.cpp; ntk.h describes both).
NtkResult computeResnetNtk(const NetworkSpec& spec, const NtkOptions& options,
                           const std::function<void(const NtkDepthPoint&)>& onDepth,
                           const std::atomic<bool>* cancel);
NtkKernel analyticResnetNtk(const NetworkSpec& spec, const Eigen::MatrixXd& inputGram,
                            std::vector<double>* byDepth, const std::atomic<bool>* cancel);
/// The analytic kernel of a family from the input Gram (analyticNtk, analyticResnetNtk).
using AnalyticKernelFn = NtkKernel (*)(const NetworkSpec&, const Eigen::MatrixXd&,
                                       std::vector<double>*, const std::atomic<bool>*);

/// The part of the computation every family shares, inside its arena: the analytic kernel (when
/// options ask for it and the init is zero-mean) from `inputGram` on a task of its own beside
/// the backward passes, which `depthGroup(m0, m1)` does for the depths m0..m1, in groups of
/// kDepthGroup, deepest (costliest) first, or for the whole depth L alone.
void runDepthGroups(const NetworkSpec& spec, const NtkOptions& options, int L,
                    const Eigen::MatrixXd& inputGram, AnalyticKernelFn analytic,
                    const std::function<void(int, int)>& depthGroup,
                    const std::atomic<bool>* cancel, NtkResult& result);

/// The end every family shares: the kernel of depth L as the empirical one, the first layer
/// (or block) where a forward or backward pass overflowed, and the seconds since t0.
void finishNtk(std::vector<NtkKernel>& kernels, int L, int firstBadForward,
               const std::vector<int>& badBackward, std::chrono::steady_clock::time_point t0,
               NtkResult& result);

/// Bytes the resnet NTK holds (weights, the branch activations of K inputs, Grams).
std::uint64_t resnetNtkBytes(const NetworkSpec& spec, int inputs);

} // namespace initscope::ntkdetail

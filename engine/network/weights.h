// Initialization schemes as "standard draw times scale": W^l = scale_l * Z^l, where Z^l has unit
// entry variance and depends only on (seed, layer, shape, distribution). Changing the gain or the
// scheme's variance only changes scale_l, so a gain sweep shows one network being rescaled.
#pragma once

#include "core/rng.h"
#include "spec/spec.h"

#include <Eigen/Core>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace initscope {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using VectorF = Eigen::VectorXf;

/// The distribution of the unit-variance draw Z behind a scheme.
enum class DrawKind {
    None,       // zeros: no draw
    Ones,       // constant: every entry 1
    Normal,     // N(0, 1)
    Uniform,    // U(-sqrt 3, sqrt 3)
    Orthogonal, // sqrt(max(rows, cols)) * Q, Q with orthonormal rows or columns
    Identity,   // the identity matrix (an rnn's recurrent_init identity): no draw
};

DrawKind drawKind(InitScheme s);

/// Z for a rows x cols weight matrix of layer `layer`. `cancel` (may be null) is checked every
/// kDrawBlock entries: a draw of 16384^2 normals takes seconds, and a closing window or a new
/// request must not wait for it. When it turns true the draw stops early and the matrix is
/// incomplete: the caller must discard it. (The QR behind orthogonal draws is not interruptible.)
MatrixF drawStandard(DrawKind kind, std::uint64_t seed, int layer, int rows, int cols,
                     const std::atomic<bool>* cancel = nullptr);
/// The same on the stream `stream` (drawStandard above is Stream::Weights): the rnn's
/// parameters draw from streams of their own, so that no mlp draw ever moves.
MatrixF drawStandard(DrawKind kind, Stream stream, std::uint64_t seed, int index, int rows,
                     int cols, const std::atomic<bool>* cancel = nullptr);

/// Entries drawn between two looks at the cancel flag: a few milliseconds of Box-Muller. Even, so
/// that a normal pair never straddles two blocks and the blocks draw the very stream one call
/// would.
inline constexpr std::size_t kDrawBlock = std::size_t(1) << 18;

/// scale such that W = scale * Z has the scheme's variance (or, for constant, every entry
/// sqrt(gain) * initValue; the gain multiplies the second moment for every scheme).
double weightScale(const NetworkSpec& spec, int layer);

/// Fills W (fanOut x fanIn) for `layer` of `spec` in one step: the unit of each scheme as used
/// by tests and by anyone who wants the matrix itself.
/// `cancel` as for drawStandard.
MatrixF initWeights(const NetworkSpec& spec, int layer, const std::atomic<bool>* cancel = nullptr);

/// N(0, 1) draws behind layer `layer`'s biases (BiasInit::Normal scales them by sigma_b).
VectorF drawBiasStandard(std::uint64_t seed, int layer, int n);
/// The biases b^l of `spec` (zeros, constant biasValue, or sigma_b * drawBiasStandard).
VectorF initBiases(const NetworkSpec& spec, int layer);

/// The first `count` inputs x_b ~ N(inputMean, inputScale^2), one per column (inputDim x count);
/// with real data (spec.data, data.h) inputScale times training examples chosen by a seeded
/// permutation (raw or standardised). Input b is the same whatever `count` is, so the K probe
/// inputs of the Jacobian and NTK views are the first K inputs of the batch the statistics are
/// measured on. `cancel` as for drawStandard.
MatrixF drawInputs(const NetworkSpec& spec, int count, const std::atomic<bool>* cancel = nullptr);
/// The random cotangents (or mse targets) g_b ~ N(0, I) on a^L, one per column (N_L x count),
/// with the same prefix property.
MatrixF drawCotangents(const NetworkSpec& spec, int count,
                       const std::atomic<bool>* cancel = nullptr);

/// Variance of the scalar readout v of a network truncated at depth `depth` (f = v.a^depth + b_v,
/// the NTK views): the spec's scheme applied to a layer with fanIn = N_depth and fanOut = 1, times
/// the gain (0 for zeros and constant, whose entries have no spread).
double readoutVariance(const NetworkSpec& spec, int depth);
/// The readout v (length N_depth) of the network truncated at `depth`: the scheme's standard draw
/// from its own stream (Stream::Readout, index depth) times sqrt(gain * base variance), or every
/// entry sqrt(gain) * initValue for constant. A network truncated at depth m and the network of
/// depth m (same seed) therefore have the same readout.
VectorF initReadout(const NetworkSpec& spec, int depth);

} // namespace initscope

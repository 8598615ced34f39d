// Initialization schemes as "standard draw times scale": W^l = scale_l * Z^l, where Z^l has unit
// entry variance and depends only on (seed, layer, shape, distribution). Changing the gain or the
// scheme's variance only changes scale_l, so a gain sweep shows one network being rescaled.
#pragma once

#include "spec.h"

#include <Eigen/Core>
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
};

DrawKind drawKind(InitScheme s);

/// Z for a rows x cols weight matrix of layer `layer`.
MatrixF drawStandard(DrawKind kind, std::uint64_t seed, int layer, int rows, int cols);

/// scale such that W = scale * Z has the scheme's variance (or, for constant, every entry
/// sqrt(gain) * initValue; the gain multiplies the second moment for every scheme).
double weightScale(const NetworkSpec& spec, int layer);

/// Fills W (fanOut x fanIn) for `layer` of `spec` in one step: the unit of each scheme as used
/// by tests and by anyone who wants the matrix itself.
MatrixF initWeights(const NetworkSpec& spec, int layer);

} // namespace initscope

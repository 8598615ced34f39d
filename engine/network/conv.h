// The kernels of a convolution layer (THEORY.md, CNN): k x k kernels, stride 1, circular padding,
// S x S images of C channels. An image is one column of C S^2 floats, channel fastest: entry
// p C + c is channel c of pixel p = y S + x, so the C x S^2 matrix at the column's start is the
// image with one column per pixel. The weights are C_out x (k^2 C_in), column t C_in + c being
// tap t = dy k + dx (offset (dy - k/2, dx - k/2)) of input channel c; output pixel (y, x) reads
// input pixel ((y + dy - k/2) mod S, (x + dx - k/2) mod S) (a cross-correlation, as in PyTorch).
//
// The products are im2col + one GEMM per group of images (the same Eigen products as a dense
// layer); the groups depend only on the shape, never on the thread count.
#pragma once

#include "network/weights.h"

#include <Eigen/Core>
#include <cstdint>

namespace initscope {

struct ConvShape {
    int cin = 1, cout = 1, k = 1, S = 1;
    int patch() const { return k * k * cin; } // fanIn of the full kernel
    int pixels() const { return S * S; }
    int centreTap() const { return (k / 2) * k + k / 2; }
};

/// About this many floats of im2col scratch per group of images (4 MiB).
inline constexpr std::uint64_t kConvColFloats = std::uint64_t(1) << 20;
/// Images per im2col group (at least 1).
int convGroupImages(int patch, int pixels);
/// Floats of scratch one chunk's product needs (the im2col matrix and the product of a group).
std::uint64_t convScratchFloats(std::uint64_t patch, std::uint64_t pixels, std::uint64_t cout);

/// col (patch x S^2, column-major) of one image (cin S^2 floats).
void im2col(const ConvShape& g, const float* image, float* col);
/// image += the transpose of im2col applied to col (each entry added to the pixel it came from).
void col2imAdd(const ConvShape& g, const float* col, float* image);

/// h = conv(W, x) for the columns (images) of x, W = s Z (kind None: 0; Ones: every entry s).
/// `centreOnly`: Z is zero except the centre tap (delta-orthogonal): one product per group of
/// the centre tap with the images themselves, no im2col.
void convForward(const ConvShape& g, DrawKind kind, const MatrixF& z, float s, bool centreOnly,
                 const Eigen::Ref<const MatrixF>& x, Eigen::Ref<MatrixF> h);
/// below = conv^T(W, delta): dLoss/dx for dLoss/dh = delta (columns: images).
void convBackwardInput(const ConvShape& g, DrawKind kind, const MatrixF& z, float s,
                       bool centreOnly, const Eigen::Ref<const MatrixF>& delta,
                       Eigen::Ref<MatrixF> below);
/// dw = sum over the columns b of delta_b (C_out x S^2) times im2col(x_b)^T: C_out x patch.
void convWeightGradient(const ConvShape& g, const Eigen::Ref<const MatrixF>& delta,
                        const Eigen::Ref<const MatrixF>& x, MatrixF& dw);

/// The serial twin for tests: the direct sum over taps and channels, in double, per output.
MatrixF convDirect(const ConvShape& g, const MatrixF& w, const MatrixF& x);
/// The layer as the dense (C_out S^2) x (C_in S^2) matrix it is (the Jacobian of a cnn).
MatrixF convAsDense(const ConvShape& g, const MatrixF& w);

} // namespace initscope

// The network a spec describes, compiled once (buildNetwork) into parameters and stages that
// every computation runs on: the run's forward and backward passes with their statistics, the
// Jacobian, the NTK, ensembles and sweeps (DESIGN.md, "one network of stages").
//
// A parameter owns its shape, its fans, its scheme and the key of its random stream, so its
// entries are scale * Z with Z a standard draw that depends on the key alone (weights.h): the
// same network rescaled when only a gain or sigma_b^2 changes, and new parameters (heads, branch
// layers) on streams of their own that never move the existing ones' draws.
#pragma once

#include "core/activation.h"
#include "network/conv.h"
#include "network/drawcache.h"
#include "network/weights.h"
#include "spec/spec.h"

#include <atomic>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace initscope {

struct Param {
    std::string name;                            // "W3", "b3": what messages and tests call it
    bool isBias = false;                         //
    int rows = 0;                                // fanOut (or units, for a bias)
    int cols = 0;                                // fanIn (1 for a bias)
    int fanIn = 0;                               //
    int fanOut = 0;                              //
    InitScheme scheme = InitScheme::LecunNormal; // weights
    DrawKind draw = DrawKind::Normal;            // distribution of the standard draw Z
    double scale = 0;   // entries = scale * Z (a constant init: Z = 1, scale = the value)
    double sigmaW2 = 0; // weights: effective sigma_w^2 = Var(W) fanIn; biases: Var(b)
    DrawKey key;        // the stream behind Z
};

/// h = W a + b, a' = phi(h): one weight layer.
struct DenseStage {
    int weight = -1, bias = -1; // indices into Network::params
    int in = 0, out = 0;        // N_{l-1}, N_l
};

/// x' = x + gamma F(x), F(x) = W_m phi(... W_1 phi(x) + b_1 ...) + b_m: one residual block with
/// a pre-activation branch of m dense layers of width N (THEORY.md, ResNet).
struct ResidualStage {
    std::vector<int> weights, biases; // branch layers j = 1..m: indices into Network::params
    int width = 0;                    // N
    double gamma = 1;                 //
};

/// h = W * a + b, a' = phi(h): one convolution (conv.h: k x k, stride 1, circular padding) of
/// C_in to C_out channels on S x S images, a bias per channel; C_out S^2 units.
struct ConvStage {
    int weight = -1, bias = -1; // C_out x (k^2 C_in) and C_out x 1: indices into Network::params
    ConvShape shape;            //
    bool centreOnly = false;    // delta-orthogonal: every tap but the centre is zero
    int in() const { return shape.cin * shape.pixels(); }
    int out() const { return shape.cout * shape.pixels(); }
};

/// h_t = W a_{t-1} + U x_t + b, a_t = phi(h_t), a_0 = 0, t = 1..T: an Elman RNN unrolled over T
/// time steps, one stage per step, with the same (tied) W, U and b at every step (THEORY.md,
/// RNN). W and U are the column blocks [0, N) and [N, N + N_x) of the stacked parameter, unless
/// `recurrent` names a W of its own (recurrent_init); the stacked parameter's U block is used
/// either way, so that changing recurrent_init changes W alone.
struct RecurrentStage {
    int stacked = -1;     // [W U]: N x (N + N_x), fanIn N + N_x
    int recurrent = -1;   // W of its own (N x N), or -1: W is the stacked parameter's first block
    int bias = -1;        //
    int width = 0;        // N
    int inputDim = 0;     // N_x
    int step = 0;         // t = 1..T
    bool hasInput = true; // x_t enters this step (every step, or t = 1 with first-step)
};

using Stage = std::variant<DenseStage, ResidualStage, ConvStage, RecurrentStage>;

/// A head (spec.h HeadSpec): dense stages on the trunk's last activation; phi after every layer
/// but the last. Its parameters are in Network::params after the trunk's, on streams keyed by
/// its name (heads.h headStreamSeed).
struct HeadPlan {
    std::string name;
    std::vector<DenseStage> layers;
    double lossWeight = 1; // training only
};

struct RunPlan {
    int stages = 0;
    std::string axis = "layer"; // what a stage is called on chart axes
};

struct Network {
    Activation act{ActivationKind::Tanh};
    int inputDim = 0;
    int outputDim = 0;
    std::vector<Param> params;
    std::vector<Stage> stages;
    std::vector<HeadPlan> heads;
    RunPlan plan;
};

/// Compiles a valid spec into its network (no draws yet).
Network buildNetwork(const NetworkSpec& spec);

/// The standard draws of every parameter, from the shared cache or drawn now in parallel (each
/// from its own stream, so the order does not matter). Empty when `cancel` turned true.
std::vector<std::shared_ptr<const StandardDraw>> fetchDraws(const Network& net,
                                                            const std::atomic<bool>* cancel);

/// The parameter's entries: float(scale) * Z, rounded once (what initWeights gives).
MatrixF materialize(const Param& p, const StandardDraw& z);
/// materialize(p, z) in blocks of columns with a look at `cancel` between them (the same entries:
/// each is one float product): a 16384 x 16384 layer is a second of first-touch page faults.
/// Incomplete once `cancel` turned true; the caller must check it.
MatrixF materialize(const Param& p, const StandardDraw& z, const std::atomic<bool>* cancel);

/// W^l and b^l of every dense stage of an mlp network (index l = 1..L, [0] empty), materialized
/// from `draws` in parallel; a weight's copy stops early (incomplete) when `cancel` turns true.
struct DenseWeights {
    std::vector<MatrixF> w, b;
};
DenseWeights materializeDense(const Network& net,
                              const std::vector<std::shared_ptr<const StandardDraw>>& draws,
                              const std::atomic<bool>* cancel);

/// W^l and b^l of every conv stage of a cnn network as the dense (C_out S^2) x (C_in S^2) maps
/// they are (conv.h, convAsDense) and the bias repeated at every pixel: what the Jacobian takes.
DenseWeights materializeConvAsDense(const Network& net,
                                    const std::vector<std::shared_ptr<const StandardDraw>>& draws,
                                    const std::atomic<bool>* cancel);

/// The dense stage of `layer` (1-based) in an MLP network.
inline const DenseStage& denseStage(const Network& net, int layer) {
    return std::get<DenseStage>(net.stages[static_cast<std::size_t>(layer) - 1]);
}

} // namespace initscope

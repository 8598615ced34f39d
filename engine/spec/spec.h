// The experiment specification: everything that determines a run. A plain value type, validated
// with messages that name the field and its allowed range, and serialised as a preset (preset.h).
#pragma once

#include "core/activation.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace initscope {

enum class InitScheme {
    Zeros,         // every weight 0 (symmetry lesson)
    Constant,      // every weight = sqrt(gain) * initValue (symmetry lesson)
    Normal,        // naive N(0, gain * initValue^2): initValue is the standard deviation
    Uniform,       // naive U(-limit, limit), limit = sqrt(gain) * initValue
    LecunNormal,   // Var = gain / fanIn
    LecunUniform,  //
    XavierNormal,  // Var = gain * 2 / (fanIn + fanOut)   (Glorot & Bengio 2010)
    XavierUniform, //
    HeNormal,      // Var = gain * 2 / fan, fan = fanIn or fanOut   (He et al. 2015)
    HeUniform,     //
    Orthogonal,    // sqrt(gain / fanIn) * Q, Q from the sign-corrected QR of a Gaussian
    // arch cnn only (Xiao et al. 2018): every tap zero except the centre, an orthogonal
    // C_out x C_in matrix with entry variance gain / C_in, so each pixel's map is orthogonal
    DeltaOrthogonal,
};

enum class FanMode { FanIn, FanOut };
/// The network family (THEORY.md, "Network families"): a plain stack of dense layers,
/// residual blocks x^l = x^{l-1} + gamma F(x^{l-1}) with a pre-activation branch F of
/// branch_depth dense layers, or convolutions (depth = conv layers of `channels` channels on
/// image x image pixels, k x k kernels, stride 1, circular padding).
/// rnn: an Elman RNN h_t = W a_{t-1} + U x_t + b unrolled over depth = T time steps with tied
/// weights.
enum class Arch { Mlp, Resnet, Cnn, Rnn };
/// The fans a cnn's scheme is given: full (fanIn k^2 C_in, fanOut k^2 C_out: correct) or
/// channels-only (fanIn C_in, fanOut C_out: the "forgotten k^2", sigma_w^2 k^2 too large).
enum class ConvFan { Full, ChannelsOnly };
/// gamma of every residual block: 0 (zero-gamma: the network is the identity at init), 1,
/// 1/sqrt(L), Fixup (gamma 1, each branch's last layer zero and its other layers' standard
/// deviation scaled by L^(-1/(2m-2)); Zhang et al. 2019), or residual_gamma.
enum class ResidualScale { Zero, One, InvSqrtDepth, Fixup, Value };
/// rnn: how the recurrent W (N x N) is drawn. None: by init, as the first N columns of the
/// stacked [W U] (fanIn N + N_x); Identity: W = sqrt(gain) I exactly (Le et al. 2015); Scheme:
/// by recurrentScheme as an N x N matrix of its own (fanIn = fanOut = N).
enum class RecurrentInit { None, Identity, Scheme };
/// rnn: an input x_t at every time step, or x_1 at t = 1 only (the memory experiment).
enum class RnnInput { EveryStep, FirstStep };
enum class BiasInit { Zeros, Constant, Normal };
/// The loss whose gradient the backward pass measures (THEORY.md: a random cotangent).
enum class Loss {
    Cotangent, // mean_b g_b . a^L_b with g ~ N(0, I): gradients independent of the output scale
    Mse,       // mean_b |a^L_b - y_b|^2 / 2 with targets y ~ N(0, I): gradients grow with a^L
};

std::string initSchemeName(InitScheme s);
bool parseInitScheme(const std::string& name, InitScheme& out);
const std::vector<InitScheme>& allInitSchemes();
std::string fanModeName(FanMode m);
bool parseFanMode(const std::string& name, FanMode& out);
std::string biasInitName(BiasInit b);
bool parseBiasInit(const std::string& name, BiasInit& out);
std::string lossName(Loss l); // "cotangent", "mse"
bool parseLoss(const std::string& name, Loss& out);
std::string archName(Arch a); // "mlp", "resnet"
bool parseArch(const std::string& name, Arch& out);
std::string residualScaleName(ResidualScale r); // "zero", "one", "inv-sqrt-depth", "fixup", "value"
bool parseResidualScale(const std::string& name, ResidualScale& out);
std::string convFanName(ConvFan f); // "full", "channels-only"
bool parseConvFan(const std::string& name, ConvFan& out);
/// "none", "identity" or the scheme's name (initSchemeName).
std::string recurrentInitName(RecurrentInit r, InitScheme scheme);
/// The names recurrentInitName gives, and the init scheme aliases; `scheme` is set for Scheme
/// (and reset to orthogonal otherwise, so that equal settings compare equal).
bool parseRecurrentInit(const std::string& name, RecurrentInit& out, InitScheme& scheme);
std::string rnnInputName(RnnInput r); // "every-step", "first-step"
bool parseRnnInput(const std::string& name, RnnInput& out);

/// Allowed ranges, shared by validation, the CLI and the GUI controls.
struct Limits {
    static constexpr int kMaxDepth = 5000;
    static constexpr int kMinWidth = 1;
    static constexpr int kMaxWidth = 16384;
    static constexpr int kMaxInputDim = 16384;
    static constexpr int kMinBatch = 1;
    static constexpr int kMaxBatch = 8192;
    static constexpr double kMaxGain = 1e6;
    static constexpr double kMaxSigmaB2 = 1e6;
    static constexpr double kMaxInputScale = 1e6;
    static constexpr int kMaxHistBins = 1024;
    static constexpr int kMaxThreads = 256;
    static constexpr int kMaxBranchDepth = 16;
    static constexpr double kMaxResidualGamma = 1e3;
    static constexpr int kMaxChannels = 1024;
    static constexpr int kMaxKernel = 15;
    static constexpr int kMaxImage = 256;
};

/// A head (THEORY.md, "Heads"): a dense chain on the trunk's last activation a^L, phi between
/// its layers and none after the last (widths.back() outputs). Each layer is initialised by the
/// head's scheme at its own fans (fanIn = the layer's input: N_L for the first), times gain (the
/// variance; naive normal / uniform: N(0, gain) / variance gain, constant: every weight
/// sqrt(gain)); hidden layers take the spec's bias init, the output layer's biases are all
/// `bias`. Its draws come from streams keyed by the head's name (heads.h), so adding, removing
/// or reweighting a head never moves the trunk's or another head's draws. `weight` is the head's
/// loss weight in training (total loss = sum_h weight_h loss_h); it never enters the init.
struct HeadSpec {
    std::string name;                            // [a-z0-9_-], 1..32 characters, unique
    std::vector<int> widths;                     // the chain's layer widths; the last = outputs
    InitScheme scheme = InitScheme::LecunNormal; //
    double gain = 1.0;                           // multiplies the weight variance
    double bias = 0.0;                           // every output-layer bias
    double weight = 1.0;                         // loss weight (training only)
    bool operator==(const HeadSpec&) const = default;
};

struct NetworkSpec {
    // ---- architecture ----
    Arch arch = Arch::Mlp; // mlp: depth = weight layers; resnet: depth = residual blocks
    int branchDepth = 2;   // resnet: dense layers m per residual branch (1..kMaxBranchDepth)
    ResidualScale residualScale = ResidualScale::One;    // resnet: gamma of the blocks
    double residualGamma = 1.0;                          // resnet: gamma with residual_scale value
    RecurrentInit recurrentInit = RecurrentInit::None;   // rnn: how W is drawn
    InitScheme recurrentScheme = InitScheme::Orthogonal; // rnn: W's scheme with Scheme
    RnnInput rnnInput = RnnInput::EveryStep;             // rnn: inputs at every step or at t = 1
    // cnn: layer 1 maps C0 = inputChannels channels to `channels`, layers 2..L channels to
    // channels; the input is image x image x C0 (input_dim = C0 S^2, derived), a unit is a
    // (pixel, channel) pair: widthOf(l) = C S^2
    int channels = 16;               // cnn: C (1..kMaxChannels)
    int inputChannels = 16;          // cnn: C0
    int kernel = 3;                  // cnn: k, odd (1..kMaxKernel)
    int image = 8;                   // cnn: S (1..kMaxImage)
    ConvFan convFan = ConvFan::Full; // cnn: the fans the scheme is given
    int depth = 50;                  // number of weight layers L (1..kMaxDepth)
    int width = 256;                 // units per hidden layer when `widths` is empty
    std::vector<int> widths;         // optional per-layer widths N_1..N_L (size = depth)
    int inputDim = 256;              // N_0
    ActivationKind activation = ActivationKind::Tanh;
    double activationSlope = 0.01; // leaky-relu negative slope

    // ---- initialisation ----
    InitScheme init = InitScheme::LecunNormal;
    FanMode fanMode = FanMode::FanIn; // used by he-*
    double gain = 1.0;                // multiplies the weight variance (not the std)
    double initValue = 1.0;           // std (normal), limit (uniform), value (constant)
    BiasInit biasInit = BiasInit::Zeros;
    double sigmaB2 = 0.0;   // bias variance for BiasInit::Normal
    double biasValue = 0.0; // every bias for BiasInit::Constant

    // ---- inputs ----
    int batch = 128;        // B inputs propagated together
    double inputMean = 0.0; // x_i ~ N(mean, scale^2) i.i.d.
    double inputScale = 1.0;
    // Real inputs (data.h): "gaussian" draws x ~ N(mean, scale^2); "fashion-mnist" or a path
    // ending .csv takes training examples (a seeded permutation) times inputScale, raw or
    // standardised per feature with the training set's mean and std; inputDim is the data's.
    std::string data = "gaussian";
    bool standardize = true;

    // ---- run ----
    std::uint64_t seed = 1;
    double learningRate = 0.01; // eta in relative_update = eta ||dW||_F / ||W||_F
    Loss loss = Loss::Cotangent;
    int histBins = 64; // pre-activation histogram bins
    double histRange =
        4.0;         // histogram covers [-histRange, histRange]; outliers go to the edge bins
    int threads = 0; // worker threads; 0 = all cores. Never changes the results.
    double memoryBudgetGiB = 4.0;

    // ---- heads (heads.h): none by default; serialised only when there are some ----
    std::vector<HeadSpec> heads;

    int widthOf(int layer) const; // N_l for l = 0..depth (0 = inputDim; cnn: C S^2)
    bool operator==(const NetworkSpec&) const = default;
};

struct SpecError {
    std::string field;   // preset / CLI name of the field, e.g. "depth"
    std::string message; // full sentence naming the field and the allowed range
};

/// The first problem's message, or "" when there is none: what a view says when it refuses.
inline std::string firstMessage(const std::vector<SpecError>& errors) {
    return errors.empty() ? std::string() : errors.front().message;
}

/// Every problem with the spec (empty when valid): each field's range, the settings that other
/// settings make meaningless (fields.h), and the memory budget.
std::vector<SpecError> validate(const NetworkSpec& spec);
/// The memory-budget check alone (empty when the estimate fits memoryBudgetGiB).
std::vector<SpecError> validateMemory(const NetworkSpec& spec);

/// Bytes a run of this spec allocates (weights, activations kept for the backward pass,
/// per-thread scratch; and each head's weights, biases and activations over the batch);
/// checked against memoryBudgetGiB before anything is allocated.
std::uint64_t estimateMemoryBytes(const NetworkSpec& spec);

/// Var(W^l_ij) / gain for layer l (base variance of the scheme; 0 for zeros/constant).
double baseVariance(InitScheme s, FanMode mode, int fanIn, int fanOut, double initValue);
/// Effective sigma_w^2 of layer l = Var(W^l_ij) * fanIn (THEORY.md); for an rnn the recurrent
/// W's, Var(W) N, at every time step.
double effectiveSigmaW2(const NetworkSpec& spec, int layer);
/// Bias variance actually used (sigmaB2 for normal biases, 0 otherwise).
double effectiveSigmaB2(const NetworkSpec& spec);
/// gamma of every residual block of a resnet spec (1 for fixup, whose scaling is in the
/// branch's weights: fixupBranchFactor).
double residualGamma(const NetworkSpec& spec);
/// Fixup's factor on the standard deviation of branch layer j (1-based) of m: L^(-1/(2m-2)) for
/// j < m, 0 for the last; 1 for every other residual scale.
double fixupBranchFactor(const NetworkSpec& spec, int j);

/// Fans (fanIn, fanOut) the scheme of cnn layer l (1-based) is given: k^2 C_in, k^2 C_out with
/// conv_fan full, C_in, C_out with channels-only; for delta-orthogonal the centre tap's C_in,
/// C_out (its variance is gain / C_in).
std::pair<int, int> convSchemeFans(const NetworkSpec& spec, int layer);
/// Channels C_{l-1} into cnn layer l (C0 for l = 1, else C).
inline int convChannelsIn(const NetworkSpec& spec, int layer) {
    return layer <= 1 ? spec.inputChannels : spec.channels;
}
/// rnn: Var of every entry of the stacked [W U] (N x (N + N_x)): the init scheme's at
/// fanIn = N + N_x, fanOut = N, times the gain (0 for zeros and constant).
double rnnStackedVariance(const NetworkSpec& spec);
/// rnn: Var(W_ij) of the recurrent weights as drawn (the stacked variance with recurrent_init
/// none, gain / N for identity, the recurrent scheme's at fanIn = fanOut = N otherwise); its
/// sigma_w^2 = Var(W) N.
double rnnRecurrentVariance(const NetworkSpec& spec);

/// Schemes whose variance is scaled by the fans (lecun, xavier, he, orthogonal): those have an
/// effective sigma_w^2 that a gain sets independently of the width.
bool hasFanScaledVariance(InitScheme s);
/// Layer whose effective sigma_w^2 stands for the network (sigma_w2 options, the gain buttons,
/// the phase marker): the first hidden-to-hidden layer.
inline int referenceLayer(const NetworkSpec& spec) {
    return spec.depth >= 2 ? 2 : 1;
}
/// The gain that gives the reference layer an effective sigma_w^2 of `targetSigmaW2` with the
/// spec's scheme and fans; NaN when the scheme has no variance to scale (zeros, constant).
double gainForSigmaW2(const NetworkSpec& spec, double targetSigmaW2);

} // namespace initscope

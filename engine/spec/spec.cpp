#include "spec/spec.h"

#include "network/conv.h"
#include "spec/fields.h"
#include "theory/familytheory.h"

#include <array>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

namespace initscope {
namespace {

const std::array<std::pair<InitScheme, const char*>, 12> kSchemes{{
    {InitScheme::Zeros, "zeros"},
    {InitScheme::Constant, "constant"},
    {InitScheme::Normal, "normal"},
    {InitScheme::Uniform, "uniform"},
    {InitScheme::LecunNormal, "lecun-normal"},
    {InitScheme::LecunUniform, "lecun-uniform"},
    {InitScheme::XavierNormal, "xavier-normal"},
    {InitScheme::XavierUniform, "xavier-uniform"},
    {InitScheme::HeNormal, "he-normal"},
    {InitScheme::HeUniform, "he-uniform"},
    {InitScheme::Orthogonal, "orthogonal"},
    {InitScheme::DeltaOrthogonal, "delta-orthogonal"},
}};

} // namespace

std::string initSchemeName(InitScheme s) {
    for (const auto& [k, n] : kSchemes)
        if (k == s)
            return n;
    return "unknown";
}

bool parseInitScheme(const std::string& name, InitScheme& out) {
    for (const auto& [k, n] : kSchemes)
        if (name == n) {
            out = k;
            return true;
        }
    // common aliases
    if (name == "glorot-normal") {
        out = InitScheme::XavierNormal;
        return true;
    }
    if (name == "glorot-uniform") {
        out = InitScheme::XavierUniform;
        return true;
    }
    if (name == "kaiming-normal") {
        out = InitScheme::HeNormal;
        return true;
    }
    if (name == "kaiming-uniform") {
        out = InitScheme::HeUniform;
        return true;
    }
    return false;
}

const std::vector<InitScheme>& allInitSchemes() {
    static const std::vector<InitScheme> all = [] {
        std::vector<InitScheme> v;
        for (const auto& [k, n] : kSchemes)
            v.push_back(k);
        return v;
    }();
    return all;
}

std::string fanModeName(FanMode m) {
    return m == FanMode::FanIn ? "fan-in" : "fan-out";
}

bool parseFanMode(const std::string& name, FanMode& out) {
    if (name == "fan-in" || name == "fan_in" || name == "in") {
        out = FanMode::FanIn;
        return true;
    }
    if (name == "fan-out" || name == "fan_out" || name == "out") {
        out = FanMode::FanOut;
        return true;
    }
    return false;
}

std::string biasInitName(BiasInit b) {
    switch (b) {
    case BiasInit::Zeros:
        return "zeros";
    case BiasInit::Constant:
        return "constant";
    case BiasInit::Normal:
        return "normal";
    }
    return "unknown";
}

bool parseBiasInit(const std::string& name, BiasInit& out) {
    for (BiasInit b : {BiasInit::Zeros, BiasInit::Constant, BiasInit::Normal})
        if (name == biasInitName(b)) {
            out = b;
            return true;
        }
    return false;
}

std::string lossName(Loss l) {
    return l == Loss::Cotangent ? "cotangent" : "mse";
}

bool parseLoss(const std::string& name, Loss& out) {
    for (Loss l : {Loss::Cotangent, Loss::Mse})
        if (name == lossName(l)) {
            out = l;
            return true;
        }
    return false;
}

std::string archName(Arch a) {
    switch (a) {
    case Arch::Mlp:
        return "mlp";
    case Arch::Resnet:
        return "resnet";
    case Arch::Cnn:
        return "cnn";
    case Arch::Rnn:
        return "rnn";
    }
    return "mlp";
}

bool parseArch(const std::string& name, Arch& out) {
    for (Arch a : {Arch::Mlp, Arch::Resnet, Arch::Cnn, Arch::Rnn})
        if (name == archName(a)) {
            out = a;
            return true;
        }
    return false;
}

std::string residualScaleName(ResidualScale r) {
    switch (r) {
    case ResidualScale::Zero:
        return "zero";
    case ResidualScale::One:
        return "one";
    case ResidualScale::InvSqrtDepth:
        return "inv-sqrt-depth";
    case ResidualScale::Fixup:
        return "fixup";
    case ResidualScale::Value:
        return "value";
    }
    return "one";
}

bool parseResidualScale(const std::string& name, ResidualScale& out) {
    for (ResidualScale r : {ResidualScale::Zero, ResidualScale::One, ResidualScale::InvSqrtDepth,
                            ResidualScale::Fixup, ResidualScale::Value})
        if (name == residualScaleName(r)) {
            out = r;
            return true;
        }
    return false;
}

std::string convFanName(ConvFan f) {
    return f == ConvFan::Full ? "full" : "channels-only";
}

bool parseConvFan(const std::string& name, ConvFan& out) {
    for (ConvFan f : {ConvFan::Full, ConvFan::ChannelsOnly})
        if (name == convFanName(f)) {
            out = f;
            return true;
        }
    return false;
}

std::string recurrentInitName(RecurrentInit r, InitScheme scheme) {
    switch (r) {
    case RecurrentInit::None:
        return "none";
    case RecurrentInit::Identity:
        return "identity";
    case RecurrentInit::Scheme:
        return initSchemeName(scheme);
    }
    return "none";
}

bool parseRecurrentInit(const std::string& name, RecurrentInit& out, InitScheme& scheme) {
    if (name == "none" || name == "identity") {
        out = name == "none" ? RecurrentInit::None : RecurrentInit::Identity;
        scheme = InitScheme::Orthogonal;
        return true;
    }
    InitScheme s{};
    if (!parseInitScheme(name, s))
        return false;
    out = RecurrentInit::Scheme;
    scheme = s;
    return true;
}

std::string rnnInputName(RnnInput r) {
    return r == RnnInput::EveryStep ? "every-step" : "first-step";
}

bool parseRnnInput(const std::string& name, RnnInput& out) {
    for (RnnInput r : {RnnInput::EveryStep, RnnInput::FirstStep})
        if (name == rnnInputName(r)) {
            out = r;
            return true;
        }
    return false;
}

double rnnStackedVariance(const NetworkSpec& spec) {
    if (spec.init == InitScheme::Zeros || spec.init == InitScheme::Constant)
        return 0.0;
    return spec.gain * baseVariance(spec.init, spec.fanMode, spec.width + spec.inputDim, spec.width,
                                    spec.initValue);
}

double rnnRecurrentVariance(const NetworkSpec& spec) {
    switch (spec.recurrentInit) {
    case RecurrentInit::None:
        return rnnStackedVariance(spec);
    case RecurrentInit::Identity:
        return spec.gain / spec.width; // N entries sqrt(gain) among N^2
    case RecurrentInit::Scheme:
        if (spec.recurrentScheme == InitScheme::Zeros ||
            spec.recurrentScheme == InitScheme::Constant)
            return 0.0;
        return spec.gain * baseVariance(spec.recurrentScheme, spec.fanMode, spec.width, spec.width,
                                        spec.initValue);
    }
    return 0.0;
}

double residualGamma(const NetworkSpec& spec) {
    switch (spec.residualScale) {
    case ResidualScale::Zero:
        return 0.0;
    case ResidualScale::One:
    case ResidualScale::Fixup:
        return 1.0;
    case ResidualScale::InvSqrtDepth:
        return 1.0 / std::sqrt(static_cast<double>(spec.depth));
    case ResidualScale::Value:
        return spec.residualGamma;
    }
    return 1.0;
}

double fixupBranchFactor(const NetworkSpec& spec, int j) {
    if (spec.residualScale != ResidualScale::Fixup)
        return 1.0;
    if (j >= spec.branchDepth)
        return 0.0;
    return std::pow(static_cast<double>(spec.depth), -1.0 / (2.0 * spec.branchDepth - 2.0));
}

int NetworkSpec::widthOf(int layer) const {
    if (layer <= 0)
        return inputDim;
    if (arch == Arch::Cnn)
        return channels * image * image;
    if (!widths.empty())
        return widths[static_cast<std::size_t>(layer - 1)];
    return width;
}

double baseVariance(InitScheme s, FanMode mode, int fanIn, int fanOut, double initValue) {
    const double in = fanIn, out = fanOut; // floating point: no integer division in 2/(in+out)
    switch (s) {
    case InitScheme::Zeros:
    case InitScheme::Constant:
        return 0.0;
    case InitScheme::Normal:
        return initValue * initValue;
    case InitScheme::Uniform:
        return initValue * initValue / 3.0; // U(-a, a) has variance a^2/3
    case InitScheme::LecunNormal:
    case InitScheme::LecunUniform:
    case InitScheme::Orthogonal:
    case InitScheme::DeltaOrthogonal:
        return 1.0 / in;
    case InitScheme::XavierNormal:
    case InitScheme::XavierUniform:
        return 2.0 / (in + out);
    case InitScheme::HeNormal:
    case InitScheme::HeUniform:
        return 2.0 / (mode == FanMode::FanIn ? in : out);
    }
    return 0.0;
}

std::pair<int, int> convSchemeFans(const NetworkSpec& spec, int layer) {
    const int cin = convChannelsIn(spec, layer), cout = spec.channels;
    const int k2 = spec.kernel * spec.kernel;
    if (spec.init == InitScheme::DeltaOrthogonal || spec.convFan == ConvFan::ChannelsOnly)
        return {cin, cout};
    return {k2 * cin, k2 * cout};
}

double effectiveSigmaW2(const NetworkSpec& spec, int layer) {
    if (spec.arch == Arch::Cnn) {
        const int cin = convChannelsIn(spec, layer);
        if (spec.init == InitScheme::DeltaOrthogonal) // only the centre tap's C_in terms
            return meanfield::deltaOrthogonalSigmaW2(spec.gain / cin, cin);
        // the variance the scheme would have at the correct fans, then what forgetting k^2 does
        // to it (fan-scaled schemes only; normal and uniform never see the fans)
        const int k2 = spec.kernel * spec.kernel;
        const double intended = spec.gain * baseVariance(spec.init, spec.fanMode, k2 * cin,
                                                         k2 * spec.channels, spec.initValue);
        const bool forgotten =
            spec.convFan == ConvFan::ChannelsOnly && hasFanScaledVariance(spec.init);
        return meanfield::cnnEffectiveSigmaW2(intended, spec.kernel, cin, forgotten);
    }
    if (spec.arch == Arch::Rnn) // the tied recurrent W of every time step
        return rnnRecurrentVariance(spec) * spec.width;
    const int fanIn = spec.widthOf(layer - 1);
    const int fanOut = spec.widthOf(layer);
    return spec.gain * baseVariance(spec.init, spec.fanMode, fanIn, fanOut, spec.initValue) * fanIn;
}

double effectiveSigmaB2(const NetworkSpec& spec) {
    return spec.biasInit == BiasInit::Normal ? spec.sigmaB2 : 0.0;
}

namespace {
std::uint64_t trunkMemoryBytes(const NetworkSpec& spec);

/// The heads' part (THEORY.md, "Heads"): per head layer its weights (draws + scaled copy), its
/// biases (draws + values) and, over the batch, its pre-activations and activations (the run's
/// forward statistics of every head layer), plus the head's copy of the trunk's last activation
/// a^L it starts from. The run has no backward pass through the heads, and training's own state
/// (gradients, optimizer moments) is not counted for the trunk either: neither for the heads.
std::uint64_t headMemoryBytes(const NetworkSpec& spec) {
    std::uint64_t bytes = 0;
    const std::uint64_t B = static_cast<std::uint64_t>(std::max(spec.batch, 0));
    const std::uint64_t nL =
        spec.depth >= 1 ? static_cast<std::uint64_t>(std::max(spec.widthOf(spec.depth), 0)) : 0;
    for (const HeadSpec& h : spec.heads) {
        std::uint64_t in = nL;
        bytes += nL * B * sizeof(float);
        for (int w : h.widths) {
            const std::uint64_t out = static_cast<std::uint64_t>(std::max(w, 0));
            bytes += 2 * in * out * sizeof(float) + 2 * out * sizeof(float) +
                     2 * out * B * sizeof(float);
            in = out;
        }
    }
    return bytes;
}
} // namespace

std::uint64_t estimateMemoryBytes(const NetworkSpec& spec) {
    return trunkMemoryBytes(spec) + headMemoryBytes(spec);
}

namespace {
std::uint64_t trunkMemoryBytes(const NetworkSpec& spec) {
    // Per layer: weights (float) plus their cached standard draws, biases, pre-activations and
    // phi' kept for the backward pass, activations; plus the backward buffers and dW scratch.
    std::uint64_t bytes = 0;
    const std::uint64_t B = static_cast<std::uint64_t>(std::max(spec.batch, 0));
    std::uint64_t maxN = static_cast<std::uint64_t>(std::max(spec.inputDim, 0));
    if (spec.arch == Arch::Cnn) {
        // per layer: the kernel (draws + scaled copy), biases, a^l and phi'(h^l) of C S^2 units
        // kept for the backward pass; per concurrent chunk (at most kConvConcurrentChunks
        // counted) the im2col scratch of one group of images and its product; per chunk of 64
        // inputs a partial dW; the input, delta and below buffers
        const std::uint64_t S2 = static_cast<std::uint64_t>(spec.image) * spec.image;
        const std::uint64_t c = static_cast<std::uint64_t>(spec.channels);
        const std::uint64_t k2 = static_cast<std::uint64_t>(spec.kernel) * spec.kernel;
        std::uint64_t maxKernel = 0, maxCol = 0;
        for (int l = 1; l <= spec.depth; ++l) {
            const std::uint64_t cin = static_cast<std::uint64_t>(convChannelsIn(spec, l));
            bytes += 2 * c * k2 * cin * sizeof(float) + 2 * c * sizeof(float);
            bytes += 2 * c * S2 * B * sizeof(float);
            maxKernel = std::max(maxKernel, c * k2 * cin);
            maxCol = std::max(maxCol, convScratchFloats(k2 * cin, S2, c));
        }
        constexpr std::uint64_t kConvConcurrentChunks = 8;
        bytes += kConvConcurrentChunks * maxCol * sizeof(float);
        bytes += (B + 63) / 64 * maxKernel * sizeof(float);
        const std::uint64_t maxUnits =
            std::max(c, static_cast<std::uint64_t>(spec.inputChannels)) * S2;
        bytes += 3 * maxUnits * B * sizeof(float);
        return bytes;
    }
    if (spec.arch == Arch::Rnn) {
        // the tied [W U] (draws + scaled copy), a W of its own, b; per time step h_t's phi and
        // phi' and the input x_t kept for BPTT; the backward pass's delta, its W^T delta and
        // the per-step dW scratch
        const std::uint64_t n = static_cast<std::uint64_t>(std::max(spec.width, 0));
        const std::uint64_t nx = static_cast<std::uint64_t>(std::max(spec.inputDim, 0));
        const std::uint64_t T = static_cast<std::uint64_t>(std::max(spec.depth, 0));
        const std::uint64_t inputs = spec.rnnInput == RnnInput::EveryStep ? T : 1;
        bytes += 2 * n * (n + nx) * sizeof(float) + 2 * n * n * sizeof(float) + 2 * n * 4;
        bytes += T * 2 * n * B * sizeof(float) + inputs * nx * B * sizeof(float);
        bytes += 4 * std::max(n, nx) * B * sizeof(float) + n * (n + nx) * sizeof(float);
        return bytes;
    }
    if (spec.arch == Arch::Resnet) {
        // per block: m branch layers of N x N (draws + scaled weights), their biases, and per
        // branch layer phi and phi' of its input kept for the backward pass; the stream x^l
        const std::uint64_t n = static_cast<std::uint64_t>(std::max(spec.width, 0));
        const std::uint64_t m = static_cast<std::uint64_t>(std::max(spec.branchDepth, 0));
        const std::uint64_t L = static_cast<std::uint64_t>(std::max(spec.depth, 0));
        // (+ the backward pass's m branch deltas of one block)
        bytes +=
            L * m * (2 * n * n + 2 * n + 2 * n * B) * sizeof(float) + m * n * B * sizeof(float);
        bytes += L * n * B * sizeof(float);                         // x^l
        bytes += 4 * n * B * sizeof(float) + n * n * sizeof(float); // input, deltas, dW scratch
        return bytes;
    }
    for (int l = 1; l <= spec.depth; ++l) {
        const std::uint64_t in = static_cast<std::uint64_t>(std::max(spec.widthOf(l - 1), 0));
        const std::uint64_t out = static_cast<std::uint64_t>(std::max(spec.widthOf(l), 0));
        maxN = std::max(maxN, out);
        bytes += 2 * in * out * sizeof(float); // draws + scaled weights
        bytes += 2 * out * sizeof(float);      // bias draws + biases
        bytes += 2 * out * B * sizeof(float);  // activations and phi' kept for backward
    }
    bytes += (maxN * B + maxN * B) * sizeof(float); // input, delta buffers
    bytes += maxN * maxN * sizeof(float);           // dW scratch
    return bytes;
}
} // namespace

std::vector<SpecError> validateMemory(const NetworkSpec& s) {
    std::vector<SpecError> e;
    const double gib = static_cast<double>(estimateMemoryBytes(s)) / (1024.0 * 1024 * 1024);
    if (gib > s.memoryBudgetGiB) {
        std::ostringstream m;
        m.precision(3);
        m << "memory_budget_gib: this network needs about " << gib
          << " GiB, above the memory budget of " << s.memoryBudgetGiB
          << " GiB: reduce depth, width or batch, or raise memory_budget_gib";
        e.push_back({"memory_budget_gib", m.str()});
    }
    return e;
}

std::vector<SpecError> validate(const NetworkSpec& s) {
    std::vector<SpecError> e = validateFields(s);
    if (e.empty())
        e = validateMemory(s);
    return e;
}

bool hasFanScaledVariance(InitScheme s) {
    switch (s) {
    case InitScheme::Zeros:
    case InitScheme::Constant:
    case InitScheme::Normal:
    case InitScheme::Uniform:
        return false;
    default:
        return true;
    }
}

double gainForSigmaW2(const NetworkSpec& spec, double targetSigmaW2) {
    NetworkSpec unit = spec;
    unit.gain = 1.0;
    const double base = effectiveSigmaW2(unit, referenceLayer(spec));
    if (!(base > 0) || !std::isfinite(targetSigmaW2))
        return std::numeric_limits<double>::quiet_NaN();
    return targetSigmaW2 / base;
}

} // namespace initscope

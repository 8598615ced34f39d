#include "network/engine.h"

#include "core/data.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "network/network.h"
#include "network/weights.h"
#include "theory/familytheory.h"
#include "theory/meanfield.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>

namespace initscope {

namespace {

std::string joinErrors(const std::vector<SpecError>& errors) {
    std::string s;
    for (const auto& e : errors) {
        if (!s.empty())
            s += "\n";
        s += e.message;
    }
    return s;
}

// Columns (inputs) per parallel task. Fixed, never derived from the thread count: each chunk's
// arithmetic is then the same whatever the number of threads, so results are bit-identical.
constexpr int kChunkCols = 64;
// Rows of dW = Delta A^T per task in the backward pass (same reasoning).
constexpr int kChunkRows = 64;

struct Chunks {
    int total, size;
    int count() const { return (total + size - 1) / size; }
    int begin(int i) const { return i * size; }
    int len(int i) const { return std::min(size, total - i * size); }
};

template <class F> void forEachChunk(int n, F&& f) {
    tbb::parallel_for(
        tbb::blocked_range<int>(0, n, 1),
        [&](const tbb::blocked_range<int>& r) {
            for (int i = r.begin(); i != r.end(); ++i)
                f(i);
        },
        tbb::simple_partitioner());
}

/// Partial forward statistics of one column chunk, in double.
struct ForwardPartial {
    double sumH = 0, sumH2 = 0;
    double saturated = 0;
    double spreadSum = 0;       // sum over inputs of std/rms
    Eigen::VectorXd unitDirSum; // sum over inputs of h_b / |h_b|
    int validDirs = 0;          // inputs with |h_b| > 0
    std::vector<char> alive;    // unit has phi' != 0 for some input
    std::vector<std::uint64_t> hist;
    std::uint64_t below = 0, above = 0;
    std::int64_t nonfinite = 0;
};

double meanPairCosine(const Eigen::VectorXd& dirSum, int valid) {
    // sum_{a != b} u_a.u_b = |sum_b u_b|^2 - sum_b |u_b|^2 = |sum u|^2 - valid
    if (valid < 2)
        return kNaN;
    const double v = valid;
    // a mean of cosines lies in [-1, 1]; the cancellation in |sum u|^2 - valid can round past it
    return std::clamp((dirSum.squaredNorm() - v) / (v * (v - 1.0)), -1.0, 1.0);
}

} // namespace

SpecInvalid::SpecInvalid(std::vector<SpecError> errors)
    : std::runtime_error(joinErrors(errors)), errors_(std::move(errors)) {}

namespace {

/// Residual blocks (THEORY.md, ResNet; familytheory.h resnetTheory): q^l = q^{l-1} +
/// gamma^2 q_F(q^{l-1}), and the gradient grows by 1 + gamma^2 chi_F per block going down. The
/// branch's sigma_w^2 are the compiled network's (Fixup's rescaling already in them), the same in
/// every block, so the theory gets them with gamma as a value.
void predictResnet(const NetworkSpec& spec, const Activation& act, TheoryCurves& t) {
    const Network net = buildNetwork(spec);
    const auto L = static_cast<std::size_t>(spec.depth);
    const auto& first = std::get<ResidualStage>(net.stages[0]);
    std::vector<double> branch;
    for (int w : first.weights)
        branch.push_back(net.params[static_cast<std::size_t>(w)].sigmaW2);
    const meanfield::ResNetTheory r = meanfield::resnetTheory(
        act, branch, effectiveSigmaB2(spec), spec.depth, meanfield::ResidualScale::Value,
        first.gamma, std::isfinite(t.q0) ? std::max(0.0, t.q0) : 0.0,
        std::isfinite(t.c0) ? std::clamp(t.c0, -1.0, 1.0) : 1.0);
    t.q = r.q;
    t.c = r.c;
    t.gradH2.assign(L, kNaN);
    t.gradRatio.assign(L, kNaN);
    t.gradH2[L - 1] = spec.width; // delta^L = g ~ N(0, I_N) on the stream x^L
    for (std::size_t l = L - 1; l-- > 0;) {
        t.gradRatio[l] = r.jacobianMeanSq[l + 1];
        t.gradH2[l] = t.gradRatio[l] * t.gradH2[l + 1];
    }
    if (spec.loss == Loss::Mse) // the scale of |x^L - y|^2 is not modelled (as for an mlp): only
        std::fill(t.gradH2.begin(), t.gradH2.end(), kNaN); // the per-block ratios are
}

/// What the prediction of a cnn is (familytheory.h, CNN): the mlp's length map per pixel with
/// the sigma_w^2 the convolution gives, at the expectation over kernels.
std::string cnnTheoryNote(const NetworkSpec& spec) {
    const int k2 = spec.kernel * spec.kernel;
    std::string s = "per-pixel length map of an mlp with sigma_w^2 = Var(W) ";
    if (spec.init == InitScheme::DeltaOrthogonal)
        s += "C_in (delta-orthogonal: only the centre tap's C_in terms)";
    else if (spec.convFan == ConvFan::ChannelsOnly && hasFanScaledVariance(spec.init))
        s += "k^2 C_in, which with conv_fan channels-only is " + std::to_string(k2) +
             " (k^2) times the intended: q grows by k^2 per layer more than intended";
    else
        s += "k^2 C_in (fanIn k^2 C_in)";
    return s + "; correlations between positions are not modelled, and one network's q "
               "fluctuates about this expectation over kernels";
}

/// An Elman RNN (THEORY.md, RNN; familytheory.h): rnnTheory per time step at the recurrent
/// W's sigma_w^2 and U's sigma_u^2 (rnnStackedSigmas of the stacked variance), with q_x and c_x
/// the measured moments of x_1 (every x_t is drawn alike).
void predictRnn(const NetworkSpec& spec, const Activation& act, TheoryCurves& t) {
    const int T = spec.depth, n = spec.width;
    const double sw2 = rnnRecurrentVariance(spec) * n;
    const double su2 =
        meanfield::rnnStackedSigmas(rnnStackedVariance(spec), n, spec.inputDim).sigmaU2;
    const bool every = spec.rnnInput == RnnInput::EveryStep;
    const double qx = std::isfinite(t.q0) ? std::max(0.0, t.q0) : 0.0;
    const double cx = std::isfinite(t.c0) ? std::clamp(t.c0, -1.0, 1.0) : 1.0;
    const meanfield::RnnTheory r =
        meanfield::rnnTheory(act, sw2, su2, effectiveSigmaB2(spec), qx, cx, T, every, n);
    t.q = r.q;
    t.c = r.c;
    t.gradH2 = r.gradH2;
    t.gradRatio = r.gradRatio;
    // r.inputGrad2[k] is step T - k's; only the steps that have an input have a gradient
    t.inputGrad2.assign(static_cast<std::size_t>(T), kNaN);
    for (int step = 1; step <= T; ++step)
        if (every || step == 1)
            t.inputGrad2[static_cast<std::size_t>(step) - 1] =
                r.inputGrad2[static_cast<std::size_t>(T - step)];
    if (spec.loss == Loss::Mse) { // the scale of |a_T - y|^2 is not modelled (as for an mlp)
        std::fill(t.gradH2.begin(), t.gradH2.end(), kNaN);
        std::fill(t.inputGrad2.begin(), t.inputGrad2.end(), kNaN);
    }
    t.chi1 = r.fixed.chi1;
    t.qStar = r.fixed.qStar;
    t.cStar = r.fixed.cStar;
    t.xiQ = r.fixed.xiQ;
    t.xiC = r.fixed.xiC;
    t.phase = meanfield::phaseName(r.fixed.phase);
    t.note = std::string("time steps t = 1..T with tied weights: chi1 is the per-step rate of the "
                         "gradient going back in time (dLoss/dx_{T-k} ~ chi1^k), q* the length "
                         "the steps settle at") +
             (every ? " with an input at every step" : " after the input at t = 1");
    if (spec.recurrentInit == RecurrentInit::Identity)
        t.note += "; W = identity is not a random matrix: the curves are those of a random W of "
                  "the same sigma_w^2, which an identity W does not follow (a relu unit that "
                  "stays on carries h_t unchanged to the next step)";
}

} // namespace

TheoryCurves predict(const NetworkSpec& spec, double q0, double c0,
                     const std::vector<double>* layerSigmaW2) {
    TheoryCurves t;
    t.q0 = q0;
    t.c0 = c0;
    const Activation act(spec.activation, spec.activationSlope);
    const double sb2 = effectiveSigmaB2(spec);
    const auto L = static_cast<std::size_t>(spec.depth);
    if (spec.arch == Arch::Resnet &&
        !(spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant)) {
        predictResnet(spec, act, t);
        t.note = "residual blocks have no fixed point q*: the stream's length only grows or "
                 "stays, so chi1, q*, c*, xi and the phase are not defined";
        if (spec.inputMean != 0 || (isRealData(spec.data) && !spec.standardize))
            t.note += "; the skip carries the inputs' mean into every block, which the "
                      "prediction (centred Gaussian streams) does not model";
        return t;
    }
    if (spec.arch == Arch::Rnn &&
        !(spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant ||
          (spec.recurrentInit == RecurrentInit::Scheme &&
           spec.recurrentScheme == InitScheme::Constant))) {
        predictRnn(spec, act, t);
        return t;
    }
    if (spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant ||
        (spec.arch == Arch::Rnn && spec.recurrentInit == RecurrentInit::Scheme &&
         spec.recurrentScheme == InitScheme::Constant)) {
        t.applicable = false;
        t.note = "mean-field theory assumes zero-mean random weights and biases; constant "
                 "initialization breaks its assumptions (every unit of a layer is identical)";
        t.q.assign(L, kNaN);
        t.c.assign(L, kNaN);
        t.gradH2.assign(L, kNaN);
        t.gradRatio.assign(L, kNaN);
        return t;
    }
    std::vector<double> sw2(L);
    std::vector<int> widths(L);
    const bool given = layerSigmaW2 && spec.arch == Arch::Mlp && layerSigmaW2->size() == L;
    for (std::size_t l = 0; l < L; ++l) {
        sw2[l] = given ? (*layerSigmaW2)[l] : effectiveSigmaW2(spec, static_cast<int>(l) + 1);
        widths[l] = spec.widthOf(static_cast<int>(l) + 1);
    }
    const meanfield::LayerTheory lt = meanfield::layerTheory(act, sw2, sb2, q0, c0, widths);
    t.q = lt.q;
    t.c = lt.c;
    t.gradH2 = lt.gradH2;
    if (spec.loss == Loss::Mse) // the mean-field scale of |a^L - y|^2 phi'^2 is not modelled:
        std::fill(t.gradH2.begin(), t.gradH2.end(), kNaN); // only the per-layer ratios are
    t.gradRatio = lt.gradRatio;
    // Fixed-point quantities refer to the hidden layers' sigma_w^2 (the last layer's, which for
    // constant widths is every hidden layer's).
    // from the first layer's pre-activations (q^1, c^1), where the per-layer prediction starts
    const double q1 = lt.q.front();
    const meanfield::FixedPoint fp =
        meanfield::fixedPoint(act, sw2.back(), sb2, q1 > 0 ? q1 : 1.0, lt.c.front());
    t.chi1 = fp.chi1;
    t.qStar = fp.qStar;
    t.cStar = fp.cStar;
    t.xiQ = fp.xiQ;
    t.xiC = fp.xiC;
    t.phase = meanfield::phaseName(fp.phase);
    if (spec.arch == Arch::Cnn)
        t.note = cnnTheoryNote(spec);
    if (given)
        t.note = "given weights: the curves are at their own sigma_w^2 = fan_in Var(W^l) per "
                 "layer, with the spec's sigma_b^2; trained or learned weights are not the "
                 "independent draws the theory assumes";
    return t;
}

double criticalInputScale(const NetworkSpec& spec, double u, std::string& note) {
    if (spec.arch != Arch::Mlp) {
        note = "the law of layer 1's update in the input scale is derived for an mlp";
        return kNaN;
    }
    const bool homogeneous = spec.activation == ActivationKind::Linear ||
                             spec.activation == ActivationKind::Relu ||
                             spec.activation == ActivationKind::LeakyRelu;
    if (!homogeneous) {
        note = activationName(spec.activation) +
               " is not positively homogeneous: layer 1's update follows no power of the input "
               "scale (read it off an input_scale sweep)";
        return kNaN;
    }
    if (effectiveSigmaB2(spec) > 0 ||
        (spec.biasInit == BiasInit::Constant && spec.biasValue != 0) || spec.inputMean != 0) {
        note = "biases or a nonzero input mean break the scaling h^l ~ s";
        return kNaN;
    }
    if (!(u > 0) || !std::isfinite(u) || !(spec.inputScale > 0)) {
        note = "layer 1's relative update is not a finite positive number here";
        return kNaN;
    }
    const double k = spec.loss == Loss::Mse ? 2.0 : 1.0;
    note = spec.loss == Loss::Mse ? "relative update ~ s^2 (mse, large s): s_c = s / sqrt(u1)"
                                  : "relative update ~ s (random cotangent, exact): s_c = s / u1";
    return spec.inputScale / std::pow(u, 1.0 / k);
}

#ifdef INITSCOPE_OPENBLAS
extern "C" void openblas_set_num_threads(int);
#endif

Engine::Engine() {
#ifdef INITSCOPE_OPENBLAS
    // One OpenBLAS thread per call: TBB runs the calls in parallel (see engine/CMakeLists.txt).
    openblas_set_num_threads(1);
#endif
}
Engine::~Engine() = default;

void Engine::clearCache() {
    DrawCache::shared().clear();
}

// ---- the run -----------------------------------------------------------------------------

RunResult Engine::run(const NetworkSpec& spec, RunSink* sink, const std::atomic<bool>* cancel) {
    if (auto errors = validate(spec); !errors.empty())
        throw SpecInvalid(std::move(errors));
    const auto t0 = std::chrono::steady_clock::now();
    // More workers than cores would only time-slice (and make TBB warn); results never depend
    // on the count, so it is capped at the cores.
    const int cores = tbb::info::default_concurrency();
    const int threads = spec.threads > 0 ? std::min(spec.threads, cores) : cores;
    tbb::task_arena arena(threads);
    RunResult result;
    arena.execute([&] { result = runInArena(spec, sink, cancel, nullptr); });
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!result.cancelled && !result.layers.empty())
        result.criticalInputScale = criticalInputScale(spec, result.layers.front().relativeUpdate,
                                                       result.criticalInputScaleNote);
    if (!result.cancelled && sink)
        sink->finished(result);
    return result;
}

RunResult Engine::runWithWeights(const NetworkSpec& spec, const DenseWeights& weights,
                                 RunSink* sink, const std::atomic<bool>* cancel) {
    if (auto errors = validate(spec); !errors.empty())
        throw SpecInvalid(std::move(errors));
    if (spec.arch != Arch::Mlp)
        throw std::invalid_argument("runWithWeights: only an mlp's dense weights can be given");
    const auto L = static_cast<std::size_t>(spec.depth);
    if (weights.w.size() != L + 1 || weights.b.size() != L + 1)
        throw std::invalid_argument("runWithWeights: one weight and bias per layer 1..L");
    const auto t0 = std::chrono::steady_clock::now();
    const int cores = tbb::info::default_concurrency();
    const int threads = spec.threads > 0 ? std::min(spec.threads, cores) : cores;
    tbb::task_arena arena(threads);
    RunResult result;
    arena.execute([&] { result = runInArena(spec, sink, cancel, &weights); });
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!result.cancelled && !result.layers.empty())
        result.criticalInputScale = criticalInputScale(spec, result.layers.front().relativeUpdate,
                                                       result.criticalInputScaleNote);
    if (!result.cancelled && sink)
        sink->finished(result);
    return result;
}

namespace {

// A GEMM of a layer wider than this many weights is split into row blocks, with a look at the
// cancel flag between blocks: one 16384 x 16384 x 64 product is about half a second of work, a
// block of kSplitRows rows a few tens of milliseconds. Layers below the threshold (every bundled
// preset) keep the one product they always had, so their results stay bit-identical.
constexpr std::int64_t kSplitWeights = std::int64_t(1) << 24;
constexpr int kSplitRows = 1024;

bool splitRows(int rows, int cols) {
    return static_cast<std::int64_t>(rows) * cols >= kSplitWeights;
}

/// True when every row of z equals its first, bit for bit (-0 and 0 count as equal).
bool rowsAllEqual(const MatrixF& z) {
    for (Eigen::Index j = 0; j < z.cols(); ++j)
        for (Eigen::Index i = 1; i < z.rows(); ++i)
            if (!(z(i, j) == z(0, j)))
                return false;
    return true;
}

/// What every stage kernel of one run needs.
struct RunContext {
    const NetworkSpec& spec;
    const Network& net;
    const std::vector<std::shared_ptr<const StandardDraw>>& draws;
    const std::atomic<bool>* cancel;
    int batch;
    Chunks cols;
    // Weights given by the caller (runWithWeights): a matrix whose rows are all equal (a trained
    // symmetric layer) gets its one row computed once, so its units stay identical to the bit.
    bool givenWeights;
    bool cancelled() const { return cancel && cancel->load(std::memory_order_relaxed); }
    const Param& param(int i) const { return net.params[static_cast<std::size_t>(i)]; }
    const MatrixF& z(int i) const { return draws[static_cast<std::size_t>(i)]->z; }
};

/// h = s Z prev (+ nothing): the product of one column chunk, split into row blocks (with a look
/// at the cancel flag between them) when the layer is huge.
void weightProduct(const RunContext& ctx, DrawKind kind, const MatrixF& z, float s,
                   const MatrixF& prev, int c0, int m, MatrixF& h) {
    const int n = static_cast<int>(z.rows());
    if (kind == DrawKind::None) {
        h.setZero();
    } else if (kind == DrawKind::Ones) {
        // W = s 1 1^T: every unit gets s * sum_j a_j, computed once so that the units are
        // identical to the bit (a dense GEMM rounds its panel rows and its remainder rows
        // differently)
        h.rowwise() = s * prev.middleCols(c0, m).colwise().sum();
    } else if (ctx.givenWeights && n > 1 && rowsAllEqual(z)) {
        h.rowwise() = (s * z.row(0)) * prev.middleCols(c0, m);
    } else if (!splitRows(n, static_cast<int>(z.cols()))) {
        h.noalias() = (s * z) * prev.middleCols(c0, m);
    } else {
        for (int r0 = 0; r0 < n && !ctx.cancelled(); r0 += kSplitRows) {
            const int rows = std::min(kSplitRows, n - r0);
            h.middleRows(r0, rows).noalias() =
                (s * z.middleRows(r0, rows)) * prev.middleCols(c0, m);
        }
    }
}

/// below = s Z^T delta for one column chunk, split like weightProduct.
void transposedProduct(const RunContext& ctx, DrawKind kind, const MatrixF& z, float s,
                       const Eigen::Ref<const MatrixF>& dl, Eigen::Ref<MatrixF> out) {
    const int nIn = static_cast<int>(z.cols());
    if (kind == DrawKind::None) {
        out.setZero();
    } else if (kind == DrawKind::Ones) { // W^T delta = s 1 (1^T delta), as in the forward pass
        out.rowwise() = s * dl.colwise().sum();
    } else if (!splitRows(static_cast<int>(z.rows()), nIn)) {
        out.noalias() = (s * z).transpose() * dl;
    } else {
        for (int r0 = 0; r0 < nIn && !ctx.cancelled(); r0 += kSplitRows) {
            const int rows = std::min(kSplitRows, nIn - r0);
            out.middleRows(r0, rows).noalias() = (s * z.middleCols(r0, rows)).transpose() * dl;
        }
    }
}

/// Per column k < G of h (column-major, n rows, G columns from `col`): s1 = sum_i h_ik and
/// s2 = sum_i h_ik^2 in double, each added in plain order (the first entry, then i = 1..n-1: the
/// order of Eigen's scalar reduction, so the sums are bit-identical to h.col(k).sum()). One column
/// is a chain of dependent adds that runs at the adder's latency; G columns side by side are G
/// independent chains that run at its throughput.
template <int G> void columnSums(const float* col, Eigen::Index n, double* s1, double* s2) {
    double a[G], q[G];
    for (int k = 0; k < G; ++k) {
        const double x = col[k * n];
        a[k] = x;
        q[k] = x * x;
    }
    for (Eigen::Index i = 1; i < n; ++i)
        for (int k = 0; k < G; ++k) {
            const double x = col[k * n + i];
            a[k] += x;
            q[k] += x * x;
        }
    for (int k = 0; k < G; ++k) {
        s1[k] = a[k];
        s2[k] = q[k];
    }
}

/// sum_i (h_ik - mean_k)^2 per column, in the same plain order and G columns side by side.
template <int G>
void centredSums(const float* col, Eigen::Index n, const double* mean, double* ss) {
    double a[G];
    for (int k = 0; k < G; ++k) {
        const double d = col[k * n] - mean[k];
        a[k] = d * d;
    }
    for (Eigen::Index i = 1; i < n; ++i)
        for (int k = 0; k < G; ++k) {
            const double d = col[k * n + i] - mean[k];
            a[k] += d * d;
        }
    for (int k = 0; k < G; ++k)
        ss[k] = a[k];
}

/// Runs f<G>(first column, ...) over the m columns of h in groups of 4, the tail one by one.
template <class F> void byColumnGroups(Eigen::Index m, F&& f) {
    Eigen::Index b = 0;
    for (; b + 4 <= m; b += 4)
        f(std::integral_constant<int, 4>{}, b);
    for (; b < m; ++b)
        f(std::integral_constant<int, 1>{}, b);
}

/// The forward statistics of one chunk of a stage's pre-activations h (n x m) and phi'(h).
/// `dphi` holds the phi' of every nonlinearity the stage applies (one for a dense layer, one per
/// branch layer for a residual block), columns c0..c0+m: dead and saturated units are counted
/// over all of them.
void reduceForwardChunk(const MatrixF& h, const std::vector<const MatrixF*>& dphi, int c0, int bins,
                        double R, double satThreshold, ForwardPartial& p) {
    const int n = static_cast<int>(h.rows()), m = static_cast<int>(h.cols());
    const int units = n * static_cast<int>(dphi.size());
    p.unitDirSum = Eigen::VectorXd::Zero(n);
    p.alive.assign(static_cast<std::size_t>(units), 0);
    p.hist.assign(static_cast<std::size_t>(bins), 0);
    const double binsPerUnit = bins / (2 * R);
    const double lastBin = bins - 1;
    Eigen::Array<bool, Eigen::Dynamic, 1> alive =
        Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(units, false);
    // every column's sum and sum of squares first, four columns at a time
    thread_local std::vector<double> s1v, s2v, meanv, ssv;
    thread_local std::vector<int> bin;
    s1v.resize(static_cast<std::size_t>(m));
    s2v.resize(static_cast<std::size_t>(m));
    meanv.resize(static_cast<std::size_t>(m));
    ssv.resize(static_cast<std::size_t>(m));
    bin.resize(static_cast<std::size_t>(n));
    byColumnGroups(m, [&](auto g, Eigen::Index b) {
        columnSums<g()>(h.col(b).data(), n, &s1v[static_cast<std::size_t>(b)],
                        &s2v[static_cast<std::size_t>(b)]);
    });
    // unit spread: the std over units about each column's mean (two passes, so exactly 0 when
    // every unit holds the same value)
    for (int b = 0; b < m; ++b)
        meanv[static_cast<std::size_t>(b)] = s1v[static_cast<std::size_t>(b)] / n;
    byColumnGroups(m, [&](auto g, Eigen::Index b) {
        centredSums<g()>(h.col(b).data(), n, &meanv[static_cast<std::size_t>(b)],
                         &ssv[static_cast<std::size_t>(b)]);
    });
    for (int b = 0; b < m; ++b) {
        const auto ub = static_cast<std::size_t>(b);
        const double s1 = s1v[ub], s2 = s2v[ub];
        if (!std::isfinite(s2) || !std::isfinite(s1)) {
            // the layer's statistics become NaN; only count what overflowed
            p.nonfinite += (!h.col(b).array().isFinite()).count();
            continue;
        }
        p.sumH += s1;
        p.sumH2 += s2;
        // outliers are counted in the edge bins (and tallied apart); clamping the bin index
        // instead of branching keeps this loop short (and vectorised: the increments follow)
        const float* col = h.col(b).data();
        std::uint64_t below = 0, above = 0;
        for (int i = 0; i < n; ++i) {
            const double x = col[i];
            below += x < -R ? 1 : 0;
            above += x > R ? 1 : 0;
            bin[static_cast<std::size_t>(i)] =
                static_cast<int>(std::clamp((x + R) * binsPerUnit, 0.0, lastBin));
        }
        p.below += below;
        p.above += above;
        for (int i = 0; i < n; ++i)
            ++p.hist[static_cast<std::size_t>(bin[static_cast<std::size_t>(i)])];
        for (std::size_t k = 0; k < dphi.size(); ++k) {
            const auto db = dphi[k]->col(c0 + b).array();
            alive.segment(static_cast<Eigen::Index>(k) * n, n) =
                alive.segment(static_cast<Eigen::Index>(k) * n, n) || (db != 0.0f);
            p.saturated +=
                static_cast<double>((db.abs() < static_cast<float>(satThreshold)).count());
        }
        // unit spread of this input: std over units / rms
        const double msB = s2 / n;
        if (msB > 0) {
            p.spreadSum += std::sqrt(ssv[ub] / n) / std::sqrt(msB);
            p.unitDirSum += h.col(b).cast<double>() / std::sqrt(s2);
            ++p.validDirs;
        }
    }
    for (int i = 0; i < units; ++i)
        p.alive[static_cast<std::size_t>(i)] = alive(i) ? 1 : 0;
}

/// Combines the chunks' partial statistics in their fixed order into the stage's LayerStats.
void combineForward(const std::vector<ForwardPartial>& parts, const Activation& act, int n, int k,
                    int B, LayerStats& st) {
    const int bins = static_cast<int>(st.histogram.counts.size());
    const int units = n * k; // the units whose phi' decides dead and saturated
    double sumH = 0, sumH2 = 0, sat = 0, spread = 0;
    Eigen::VectorXd dirSum = Eigen::VectorXd::Zero(n);
    int valid = 0;
    std::vector<char> alive(static_cast<std::size_t>(units), 0);
    for (const ForwardPartial& p : parts) {
        sumH += p.sumH;
        sumH2 += p.sumH2;
        sat += p.saturated;
        spread += p.spreadSum;
        dirSum += p.unitDirSum;
        valid += p.validDirs;
        st.nonfinite += p.nonfinite;
        st.histogram.below += p.below;
        st.histogram.above += p.above;
        for (int i = 0; i < bins; ++i)
            st.histogram.counts[static_cast<std::size_t>(i)] += p.hist[static_cast<std::size_t>(i)];
        for (int i = 0; i < units; ++i)
            alive[static_cast<std::size_t>(i)] |= p.alive[static_cast<std::size_t>(i)];
    }
    const double count = static_cast<double>(n) * B;
    if (st.nonfinite == 0) {
        st.q = sumH2 / count;
        st.mean = sumH / count;
        st.var = std::max(0.0, st.q - st.mean * st.mean);
        st.deadFraction = static_cast<double>(std::count(alive.begin(), alive.end(), 0)) / units;
        st.saturatedFraction = act.saturates() ? sat / (static_cast<double>(units) * B) : 0.0;
        st.correlation = meanPairCosine(dirSum, valid);
        st.unitSpread = n > 1 ? spread / B : kNaN; // no spread over a single unit
    }
}

/// The statistics of a stage's forward pass from its chunks' partial sums (combineForward over
/// n units and k nonlinearities per unit), with the stage's index, sigma_w^2 and the first
/// input's n values as the sample.
void finishForward(const NetworkSpec& spec, const std::vector<ForwardPartial>& parts,
                   const Activation& act, int n, int k, int B, int index, double sigmaW2,
                   const float* sample, LayerStats& st) {
    st.index = index;
    st.width = n;
    st.sigmaW2 = sigmaW2;
    st.histogram.lo = -spec.histRange;
    st.histogram.hi = spec.histRange;
    st.histogram.counts.assign(static_cast<std::size_t>(spec.histBins), 0);
    combineForward(parts, act, n, k, B, st);
    st.sample.assign(sample, sample + n);
}

/// ||m||_F^2 in double of a float block, for the gradient statistics. Four accumulators side by
/// side (entry i of a column into accumulator i mod 4), summed at the end: one accumulator is a
/// chain of dependent adds that runs at the adder's latency, and a backward pass sums millions
/// of entries (every delta and every dW); four run at its throughput, and are as accurate.
double squaredNormD(const Eigen::Ref<const MatrixF>& m) {
    double acc[4] = {0, 0, 0, 0};
    const Eigen::Index n = m.rows(), n4 = n - n % 4;
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
        const float* col = m.col(j).data();
        for (Eigen::Index i = 0; i < n4; i += 4)
            for (int k = 0; k < 4; ++k) {
                const double x = col[i + k];
                acc[k] += x * x;
            }
        for (Eigen::Index i = n4; i < n; ++i) {
            const double x = col[i];
            acc[i - n4] += x * x;
        }
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/// The per-chunk sums of a stage's backward pass, kept per chunk and added in the chunks' fixed
/// order (so that the result does not depend on the thread count).
struct BackwardSums {
    std::vector<double> gradH, input;
    std::vector<std::int64_t> nonfinite;
    explicit BackwardSums(int chunks)
        : gradH(static_cast<std::size_t>(chunks), 0.0), input(gradH),
          nonfinite(static_cast<std::size_t>(chunks), 0) {}
    /// ||delta||^2 over chunk c's columns, and its nonfinite entries when it overflowed.
    void delta(int c, const Eigen::Ref<const MatrixF>& dl) {
        const double acc = squaredNormD(dl);
        gradH[static_cast<std::size_t>(c)] = acc;
        nonfinite[static_cast<std::size_t>(c)] =
            std::isfinite(acc) ? 0 : (!dl.array().isFinite()).count();
    }
    /// sum_b ||dLoss_b/dx_b||^2 over chunk c's columns of dLoss/dx.
    void inputGradient(int c, const Eigen::Ref<const MatrixF>& dx) {
        double g2 = 0;
        for (Eigen::Index b = 0; b < dx.cols(); ++b)
            g2 += squaredNormD(dx.col(b));
        input[static_cast<std::size_t>(c)] = g2;
    }
};

/// max_r ||delta_r - delta_1|| / ||delta_1|| from dev = the max of the squared distances and
/// ref = ||delta_1||: 0 exactly when every row equals the first (NaN for zero first row only).
double rowSpread(double dev2, double ref) {
    const double dev = std::sqrt(dev2);
    return ref > 0 ? dev / ref : (dev > 0 ? kNaN : 0.0);
}

/// The gradient statistics of a stage: grad_h2 and the input gradient (returned in `inGrad`,
/// sum over inputs) from the chunk sums, grad_w2 = dW2 / B^2 from sum_rows ||B dW||^2,
/// relative_update against ||W||_F = wNorm, and the row spread when the stage has one. Returns
/// whether the gradients are finite (else only has_gradients and grad_nonfinite are set).
bool finishBackward(const RunContext& ctx, const BackwardSums& sums, double dW2, double wNorm,
                    std::optional<double> spread, LayerStats& st, double& inGrad) {
    const int B = ctx.batch;
    double gradH = 0;
    std::int64_t nonfinite = 0;
    inGrad = 0;
    for (std::size_t c = 0; c < sums.gradH.size(); ++c) {
        gradH += sums.gradH[c];
        inGrad += sums.input[c];
        nonfinite += sums.nonfinite[c];
    }
    const double gradW = dW2 / (static_cast<double>(B) * B);
    st.hasGradients = true;
    st.gradNonfinite = nonfinite;
    if (nonfinite == 0 && std::isfinite(gradW)) {
        st.gradH2 = gradH / B;
        st.gradW2 = gradW;
        st.relativeUpdate = wNorm > 0 ? ctx.spec.learningRate * std::sqrt(gradW) / wNorm : kNaN;
        if (spread)
            st.gradRowSpread = *spread;
        return true;
    }
    return false;
}

/// The forward pass of a stage that is one linear map and phi (a dense or a conv layer):
/// a = phi(product(prev) + b), d = phi'(...), and its statistics. `product(c0, m, h)` writes
/// the stage's n outputs of the columns c0..c0+m of its input; b has one entry per output channel
/// (n for a dense layer, C_out for a conv layer, added at every pixel). Returns false when
/// cancelled (the stage is incomplete).
template <class Product>
bool forwardLinear(const RunContext& ctx, int weight, int biasIndex, int n, int index, MatrixF& a,
                   MatrixF& d, LayerStats& st, const Product& product) {
    const NetworkSpec& spec = ctx.spec;
    const Activation& act = ctx.net.act;
    const int B = ctx.batch;
    const MatrixF bias =
        materialize(ctx.param(biasIndex), *ctx.draws[static_cast<std::size_t>(biasIndex)]);
    const auto channels = bias.rows();
    a.resize(n, B);
    d.resize(n, B);
    const int nChunks = ctx.cols.count();
    std::vector<ForwardPartial> parts(static_cast<std::size_t>(nChunks));
    const double satThreshold = 0.05 * act.maxAbsDphi();

    // Cancel is looked at per chunk (one GEMM of 64 inputs) and inside huge products, not only
    // per layer: a layer of width 16384 is seconds of work.
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), m = ctx.cols.len(c);
        MatrixF h(n, m);
        product(c0, m, h);
        if (ctx.cancelled())
            return;
        // h as channels x (pixels m): the bias of channel o at every pixel
        Eigen::Map<MatrixF>(h.data(), channels, h.size() / channels).colwise() += bias.col(0);
        act.apply(h.data(), a.col(c0).data(), d.col(c0).data(), static_cast<std::size_t>(h.size()));
        reduceForwardChunk(h, {&d}, c0, spec.histBins, spec.histRange, satThreshold,
                           parts[static_cast<std::size_t>(c)]);
    });
    if (ctx.cancelled()) // some chunks were skipped: the layer is incomplete
        return false;
    finishForward(spec, parts, act, n, 1, B, index, ctx.param(weight).sigmaW2, a.col(0).data(), st);
    return true;
}

/// Forward pass of one dense stage: a = phi(W prev + b), d = phi'(...), and its statistics.
bool forwardDense(const RunContext& ctx, const DenseStage& stage, int index, const MatrixF& prev,
                  MatrixF& a, MatrixF& d, LayerStats& st) {
    const Param& w = ctx.param(stage.weight);
    const MatrixF& z = ctx.z(stage.weight);
    const float s = static_cast<float>(w.scale);
    return forwardLinear(
        ctx, stage.weight, stage.bias, stage.out, index, a, d, st,
        [&](int c0, int m, MatrixF& h) { weightProduct(ctx, w.draw, z, s, prev, c0, m, h); });
}

/// Backward pass of one dense stage: from delta = dLoss/dh of this stage, its gradient
/// statistics, and dLoss/dh of the stage below (or dLoss/dx when `dBelow` is null) in `below`.
/// Returns false when cancelled. `inGrad` receives sum_b ||dLoss_b/dx_b||^2 for the first stage.
bool backwardDense(const RunContext& ctx, const DenseStage& stage, const MatrixF& prev,
                   const MatrixF* dBelow, const MatrixF& delta, MatrixF& below, LayerStats& st,
                   double& inGrad) {
    const int n = stage.out, nIn = stage.in, B = ctx.batch;
    const Param& w = ctx.param(stage.weight);
    const MatrixF& z = ctx.z(stage.weight);
    const float s = static_cast<float>(w.scale);
    const int nChunks = ctx.cols.count();

    // grad_h2 and the delta of the layer below, by column chunks
    below.resize(nIn, B);
    BackwardSums sums(nChunks);
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), m = ctx.cols.len(c);
        const auto dl = delta.middleCols(c0, m);
        sums.delta(c, dl);
        auto out = below.middleCols(c0, m);
        transposedProduct(ctx, w.draw, z, s, dl, out);
        if (!dBelow)
            sums.inputGradient(c, out);
        else
            out.array() *= dBelow->middleCols(c0, m).array();
    });

    // ||dW||_F^2 with dW = (1/B) Delta A^T, by row blocks; dW is never stored whole
    const Chunks rows{n, kChunkRows};
    std::vector<double> gw(static_cast<std::size_t>(rows.count()), 0.0);
    std::vector<double> rowDev(static_cast<std::size_t>(rows.count()), 0.0);
    // Row r of dW is delta_r A^T / B (delta_r: unit r's deltas over the batch), so the rows of dW
    // are identical exactly when the rows of delta are: the symmetry check compares those, which
    // keeps the GEMM's row-dependent rounding out of an exact zero.
    const Eigen::RowVectorXf delta0f = delta.row(0);
    const Eigen::RowVectorXd delta0 = delta0f.cast<double>();
    forEachChunk(rows.count(), [&](int r) {
        if (ctx.cancelled())
            return;
        MatrixF dw(rows.len(r), nIn);
        const auto dr = delta.middleRows(rows.begin(r), rows.len(r));
        dw.noalias() = dr * prev.transpose();
        gw[static_cast<std::size_t>(r)] = squaredNormD(dw);
        // identical rows subtract to exactly 0 in float too
        rowDev[static_cast<std::size_t>(r)] =
            (dr.rowwise() - delta0f).rowwise().squaredNorm().maxCoeff();
    });
    if (ctx.cancelled())
        return false;
    double dW2 = 0;
    for (double g : gw)
        dW2 += g;
    const double wNorm = std::abs(static_cast<double>(s)) *
                         std::sqrt(ctx.draws[static_cast<std::size_t>(stage.weight)]->z2);
    finishBackward(ctx, sums, dW2, wNorm,
                   rowSpread(*std::max_element(rowDev.begin(), rowDev.end()), delta0.norm()), st,
                   inGrad);
    return true;
}

/// What a residual block keeps for its backward pass: per branch layer j, phi and phi' of its
/// input (x^{l-1} for j = 1, the previous branch layer's output after).
struct BranchState {
    std::vector<MatrixF> a, d;
};

/// Forward pass of one residual block: x^l = x^{l-1} + gamma F(x^{l-1}), its statistics over the
/// stream x^l (dead and saturated over the branch's units) and the branch ratio q_F / q^{l-1}.
bool forwardResidual(const RunContext& ctx, const ResidualStage& stage, int index,
                     const MatrixF& prev, MatrixF& out, BranchState& branch, LayerStats& st) {
    const NetworkSpec& spec = ctx.spec;
    const Activation& act = ctx.net.act;
    const int n = stage.width, B = ctx.batch;
    const auto m = stage.weights.size();
    std::vector<MatrixF> bias(m);
    for (std::size_t j = 0; j < m; ++j)
        bias[j] = materialize(ctx.param(stage.biases[j]),
                              *ctx.draws[static_cast<std::size_t>(stage.biases[j])]);
    out.resize(n, B);
    branch.a.assign(m, MatrixF(n, B));
    branch.d.assign(m, MatrixF(n, B));
    const int nChunks = ctx.cols.count();
    std::vector<ForwardPartial> parts(static_cast<std::size_t>(nChunks));
    std::vector<double> f2(static_cast<std::size_t>(nChunks), 0.0), x2(f2);
    const double satThreshold = 0.05 * act.maxAbsDphi();
    std::vector<const MatrixF*> dphi;
    for (const MatrixF& d : branch.d)
        dphi.push_back(&d);
    const float gamma = static_cast<float>(stage.gamma);

    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), mc = ctx.cols.len(c);
        MatrixF u = prev.middleCols(c0, mc), h(n, mc);
        for (std::size_t j = 0; j < m; ++j) {
            act.apply(u.data(), branch.a[j].col(c0).data(), branch.d[j].col(c0).data(),
                      static_cast<std::size_t>(u.size()));
            const Param& w = ctx.param(stage.weights[j]);
            weightProduct(ctx, w.draw, ctx.z(stage.weights[j]), static_cast<float>(w.scale),
                          branch.a[j], c0, mc, h);
            if (ctx.cancelled())
                return;
            h.colwise() += bias[j].col(0);
            u.swap(h);
        }
        f2[static_cast<std::size_t>(c)] = u.cast<double>().squaredNorm();
        x2[static_cast<std::size_t>(c)] = prev.middleCols(c0, mc).cast<double>().squaredNorm();
        MatrixF x = prev.middleCols(c0, mc) + gamma * u;
        out.middleCols(c0, mc) = x;
        reduceForwardChunk(x, dphi, c0, spec.histBins, spec.histRange, satThreshold,
                           parts[static_cast<std::size_t>(c)]);
    });
    if (ctx.cancelled())
        return false;

    finishForward(spec, parts, act, n, static_cast<int>(m), B, index,
                  ctx.param(stage.weights.front()).sigmaW2, out.col(0).data(), st);
    double sf = 0, sx = 0;
    for (int c = 0; c < nChunks; ++c) {
        sf += f2[static_cast<std::size_t>(c)];
        sx += x2[static_cast<std::size_t>(c)];
    }
    st.branchRatio = st.nonfinite == 0 && sx > 0 && std::isfinite(sf) ? sf / sx : kNaN;
    return true;
}

/// Backward pass of one residual block: from delta = dLoss/dx^l, dLoss/dx^{l-1} = delta + gamma
/// J_F^T delta in `below`; grad_w2 and relative_update over the branch's weights together.
bool backwardResidual(const RunContext& ctx, const ResidualStage& stage, const BranchState& branch,
                      const MatrixF& delta, MatrixF& below, LayerStats& st, double& inGrad,
                      bool first) {
    const int n = stage.width, B = ctx.batch;
    const auto m = stage.weights.size();
    const int nChunks = ctx.cols.count();
    const float gamma = static_cast<float>(stage.gamma);
    below.resize(n, B);
    // g[j]: dLoss/dh_j of branch layer j (its output), kept whole for dW_j = g_j a_j^T / B
    std::vector<MatrixF> g(m, MatrixF(n, B));
    BackwardSums sums(nChunks);
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), mc = ctx.cols.len(c);
        const auto dl = delta.middleCols(c0, mc);
        sums.delta(c, dl);
        g[m - 1].middleCols(c0, mc) = gamma * dl;
        MatrixF back(n, mc);
        for (std::size_t j = m; j-- > 0;) {
            const Param& w = ctx.param(stage.weights[j]);
            transposedProduct(ctx, w.draw, ctx.z(stage.weights[j]), static_cast<float>(w.scale),
                              g[j].middleCols(c0, mc), back);
            back.array() *= branch.d[j].middleCols(c0, mc).array();
            if (j > 0)
                g[j - 1].middleCols(c0, mc) = back;
        }
        auto outc = below.middleCols(c0, mc);
        outc = dl + back;
        if (first) // dLoss/dx^0: the input gradient
            sums.inputGradient(c, outc);
    });
    // ||dW_j||_F^2 by row blocks, every branch layer
    const Chunks rows{n, kChunkRows};
    std::vector<double> gw(m * static_cast<std::size_t>(rows.count()), 0.0);
    forEachChunk(static_cast<int>(gw.size()), [&](int t) {
        if (ctx.cancelled())
            return;
        const auto j = static_cast<std::size_t>(t / rows.count());
        const int r = t % rows.count();
        MatrixF dw(rows.len(r), n);
        dw.noalias() = g[j].middleRows(rows.begin(r), rows.len(r)) * branch.a[j].transpose();
        gw[static_cast<std::size_t>(t)] = squaredNormD(dw);
    });
    if (ctx.cancelled())
        return false;
    double dW2 = 0, wNorm2 = 0;
    for (double v : gw)
        dW2 += v;
    for (std::size_t j = 0; j < m; ++j) {
        const double sc = ctx.param(stage.weights[j]).scale;
        wNorm2 += sc * sc * ctx.draws[static_cast<std::size_t>(stage.weights[j])]->z2;
    }
    // gradRowSpread (the dense layers' symmetry check) is not defined for a block: NaN
    finishBackward(ctx, sums, dW2, std::sqrt(wNorm2), std::nullopt, st, inGrad);
    return true;
}

/// Forward pass of one conv stage: a = phi(conv(W, prev) + b), d = phi'(...), and its
/// statistics over every (pixel, channel) unit and input (THEORY.md: statistics run over
/// channel, position and input).
bool forwardConv(const RunContext& ctx, const ConvStage& stage, int index, const MatrixF& prev,
                 MatrixF& a, MatrixF& d, LayerStats& st) {
    const Param& w = ctx.param(stage.weight);
    const MatrixF& z = ctx.z(stage.weight);
    const float s = static_cast<float>(w.scale);
    return forwardLinear(ctx, stage.weight, stage.bias, stage.out(), index, a, d, st,
                         [&](int c0, int m, MatrixF& h) {
                             convForward(stage.shape, w.draw, z, s, stage.centreOnly,
                                         prev.middleCols(c0, m), h);
                         });
}

/// Backward pass of one conv stage: from delta = dLoss/dh, the gradient statistics (dW =
/// sum_b delta_b im2col(a_b)^T / B, its rows the output channels), and dLoss/dh of the stage
/// below (or dLoss/dx when `dBelow` is null) in `below`. The chunks' partial dW are summed in
/// their fixed order, in double.
bool backwardConv(const RunContext& ctx, const ConvStage& stage, const MatrixF& prev,
                  const MatrixF* dBelow, const MatrixF& delta, MatrixF& below, LayerStats& st,
                  double& inGrad) {
    const ConvShape& g = stage.shape;
    const int nIn = stage.in(), B = ctx.batch, P = g.pixels();
    const Param& w = ctx.param(stage.weight);
    const MatrixF& z = ctx.z(stage.weight);
    const float s = static_cast<float>(w.scale);
    const int nChunks = ctx.cols.count();
    below.resize(nIn, B);
    BackwardSums sums(nChunks);
    std::vector<MatrixF> dw(static_cast<std::size_t>(nChunks));
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), m = ctx.cols.len(c);
        const auto dl = delta.middleCols(c0, m);
        sums.delta(c, dl);
        auto out = below.middleCols(c0, m);
        convBackwardInput(g, w.draw, z, s, stage.centreOnly, dl, out);
        if (!dBelow)
            sums.inputGradient(c, out);
        else
            out.array() *= dBelow->middleCols(c0, m).array();
        convWeightGradient(g, dl, prev.middleCols(c0, m), dw[static_cast<std::size_t>(c)]);
    });
    if (ctx.cancelled())
        return false;

    Eigen::MatrixXd dW = Eigen::MatrixXd::Zero(g.cout, g.patch());
    for (int c = 0; c < nChunks; ++c)
        dW += dw[static_cast<std::size_t>(c)].cast<double>();
    // rows of dW are identical exactly when the output channels' deltas are (over every pixel
    // and input): the symmetry check of a dense layer, by channel
    const Eigen::Map<const MatrixF> byChannel(delta.data(), g.cout,
                                              static_cast<Eigen::Index>(P) * B);
    const Eigen::RowVectorXf delta0f = byChannel.row(0);
    const double dev2 =
        static_cast<double>((byChannel.rowwise() - delta0f).rowwise().squaredNorm().maxCoeff());
    const double wNorm = std::abs(static_cast<double>(s)) *
                         std::sqrt(ctx.draws[static_cast<std::size_t>(stage.weight)]->z2);
    finishBackward(ctx, sums, dW.squaredNorm(), wNorm,
                   rowSpread(dev2, delta0f.cast<double>().norm()), st, inGrad);
    return true;
}

/// The measured input length q^0 and mean pair cosine c^0 the theory starts from.
std::pair<double, double> inputMoments(const MatrixF& x) {
    const int B = static_cast<int>(x.cols()), n0 = static_cast<int>(x.rows());
    double q0 = 0;
    Eigen::VectorXd dirSum = Eigen::VectorXd::Zero(n0);
    int valid = 0;
    for (int b = 0; b < B; ++b) {
        const Eigen::VectorXd xb = x.col(b).cast<double>();
        const double n2 = xb.squaredNorm();
        q0 += n2 / n0;
        if (n2 > 0) {
            dirSum += xb / std::sqrt(n2);
            ++valid;
        }
    }
    q0 /= B;
    double c0 = meanPairCosine(dirSum, valid);
    if (!std::isfinite(c0))
        c0 = 1.0; // a single input: the correlation recursion is irrelevant; start at 1
    return {q0, c0};
}

// ---- rnn: time steps with tied weights, forward and BPTT ----------------------------------

/// out (+)= s Z_block prev for one column chunk: Z_block a column block of a weight draw (W or
/// U of the stacked [W U]). A constant draw (every entry 1) sums the inputs once, so that every
/// unit is identical to the bit, as weightProduct does.
template <class ZBlock, class Prev>
void addBlockProduct(DrawKind kind, const ZBlock& z, float s, const Prev& prev, MatrixF& out) {
    if (kind == DrawKind::None)
        return;
    if (kind == DrawKind::Ones) {
        const Eigen::RowVectorXf sum = s * prev.colwise().sum();
        out.rowwise() += sum;
        return;
    }
    out.noalias() += (s * z) * prev;
}

/// out = s Z_block^T delta for one column chunk (the transposed product of addBlockProduct).
template <class ZBlock, class Delta>
void setTransposedBlockProduct(DrawKind kind, const ZBlock& z, float s, const Delta& dl,
                               MatrixF& out) {
    if (kind == DrawKind::None) {
        out.setZero();
    } else if (kind == DrawKind::Ones) {
        out.rowwise() = s * dl.colwise().sum();
    } else {
        out.noalias() = (s * z).transpose() * dl;
    }
}

/// The tied weights of an rnn's steps: W (the stacked parameter's first N columns, or a W of its
/// own) and U (the stacked parameter's last N_x columns), each with its draw kind and scale.
struct RecurrentWeights {
    DrawKind wKind, uKind;
    float ws, us;
    const MatrixF* wz; // W is its first N columns (all of a W of its own)
    const MatrixF* uz;
    double norm2; // ||W||_F^2 + ||U||_F^2
};

RecurrentWeights recurrentWeights(const RunContext& ctx, const RecurrentStage& st) {
    RecurrentWeights r{};
    const Param& wu = ctx.param(st.stacked);
    r.uKind = wu.draw;
    r.us = static_cast<float>(wu.scale);
    r.uz = &ctx.z(st.stacked);
    const double u2 = r.uz->rightCols(st.inputDim).cast<double>().squaredNorm();
    if (st.recurrent >= 0) {
        const Param& w = ctx.param(st.recurrent);
        r.wKind = w.draw;
        r.ws = static_cast<float>(w.scale);
        r.wz = &ctx.z(st.recurrent);
        r.norm2 = w.scale * w.scale * ctx.draws[static_cast<std::size_t>(st.recurrent)]->z2 +
                  wu.scale * wu.scale * u2;
    } else {
        r.wKind = wu.draw;
        r.ws = r.us;
        r.wz = r.uz;
        r.norm2 = wu.scale * wu.scale * ctx.draws[static_cast<std::size_t>(st.stacked)]->z2;
    }
    return r;
}

/// The inputs x_t of an rnn (N_x x B each; [t-1] is step t, empty at the steps without one):
/// x_1 is the very input an mlp of this seed sees (Stream::Inputs, the same cache entry), x_t
/// for t >= 2 are standard normals of Stream::SequenceInputs index t, all as s z + mu.
std::vector<MatrixF> rnnInputs(const NetworkSpec& spec, const std::atomic<bool>* cancel) {
    const int T = spec.depth, B = spec.batch, nx = spec.inputDim;
    std::vector<MatrixF> x(static_cast<std::size_t>(T));
    DrawCache& cache = DrawCache::shared();
    NetworkSpec standard = spec;
    standard.inputMean = 0.0;
    standard.inputScale = 1.0;
    const int steps = spec.rnnInput == RnnInput::EveryStep ? T : 1;
    std::vector<std::shared_ptr<const StandardDraw>> z(static_cast<std::size_t>(steps));
    detail::forEachIndex(steps, [&](int i) {
        if (detail::isCancelled(cancel))
            return;
        if (i == 0) {
            z[0] = cache.get(
                DrawKey{spec.seed, Stream::Inputs, 0, nx, B, 0},
                [&] { return drawInputs(standard, B, cancel); }, cancel);
        } else {
            z[static_cast<std::size_t>(i)] = cache.get(
                DrawKey{spec.seed, Stream::SequenceInputs, i + 1, nx, B, 0},
                [&] {
                    return drawStandard(DrawKind::Normal, Stream::SequenceInputs, spec.seed, i + 1,
                                        nx, B, cancel);
                },
                cancel);
        }
    });
    if (detail::isCancelled(cancel))
        return {};
    for (int i = 0; i < steps; ++i)
        x[static_cast<std::size_t>(i)] =
            (static_cast<float>(spec.inputScale) * z[static_cast<std::size_t>(i)]->z.array() +
             static_cast<float>(spec.inputMean))
                .matrix();
    return x;
}

/// Forward pass of time step t: h_t = W a_{t-1} + U x_t + b (no W term at t = 1: a_0 = 0, no U
/// term without an input), a_t = phi(h_t), d_t = phi'(h_t), and the step's statistics.
bool forwardRecurrent(const RunContext& ctx, const RecurrentStage& stage,
                      const RecurrentWeights& rw, const MatrixF& bias, const MatrixF* prev,
                      const MatrixF* x, MatrixF& a, MatrixF& d, LayerStats& st) {
    const NetworkSpec& spec = ctx.spec;
    const Activation& act = ctx.net.act;
    const int n = stage.width, nx = stage.inputDim, B = ctx.batch;
    a.resize(n, B);
    d.resize(n, B);
    const int nChunks = ctx.cols.count();
    std::vector<ForwardPartial> parts(static_cast<std::size_t>(nChunks));
    const double satThreshold = 0.05 * act.maxAbsDphi();
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), m = ctx.cols.len(c);
        MatrixF h(n, m);
        h.colwise() = bias.col(0);
        if (prev)
            addBlockProduct(rw.wKind, rw.wz->leftCols(n), rw.ws, prev->middleCols(c0, m), h);
        if (x)
            addBlockProduct(rw.uKind, rw.uz->rightCols(nx), rw.us, x->middleCols(c0, m), h);
        act.apply(h.data(), a.col(c0).data(), d.col(c0).data(), static_cast<std::size_t>(h.size()));
        reduceForwardChunk(h, {&d}, c0, spec.histBins, spec.histRange, satThreshold,
                           parts[static_cast<std::size_t>(c)]);
    });
    if (ctx.cancelled())
        return false;
    finishForward(spec, parts, act, n, 1, B, stage.step, effectiveSigmaW2(spec, stage.step),
                  a.col(0).data(), st);
    return true;
}

/// Backward pass of time step t (BPTT): from delta_t = dLoss/dh_t, the step's gradient
/// statistics, ||dLoss/dx_t||^2 through U, and delta_{t-1} = (W^T delta_t) (.) phi'(h_{t-1}) in
/// `below` (when dPrev is given). grad_w2 is the step's own term of the tied gradient,
/// ||delta_t [a_{t-1}; x_t]^T / B||_F^2 (the full dW sums these terms over t), relative_update
/// eta times its norm over ||[W U]||_F.
bool backwardRecurrent(const RunContext& ctx, const RecurrentStage& stage,
                       const RecurrentWeights& rw, const MatrixF* prev, const MatrixF* x,
                       const MatrixF* dPrev, const MatrixF& delta, MatrixF& below, LayerStats& st) {
    const int n = stage.width, nx = stage.inputDim, B = ctx.batch;
    const int nChunks = ctx.cols.count();
    if (dPrev)
        below.resize(n, B);
    BackwardSums sums(nChunks);
    forEachChunk(nChunks, [&](int c) {
        if (ctx.cancelled())
            return;
        const int c0 = ctx.cols.begin(c), m = ctx.cols.len(c);
        const auto dl = delta.middleCols(c0, m);
        sums.delta(c, dl);
        if (x) {
            MatrixF dx(nx, m);
            setTransposedBlockProduct(rw.uKind, rw.uz->rightCols(nx), rw.us, dl, dx);
            // the whole chunk's sum at once (not input by input)
            sums.input[static_cast<std::size_t>(c)] = squaredNormD(dx);
        }
        if (dPrev) {
            MatrixF back(n, m);
            setTransposedBlockProduct(rw.wKind, rw.wz->leftCols(n), rw.ws, dl, back);
            below.middleCols(c0, m) = back.cwiseProduct(dPrev->middleCols(c0, m));
        }
    });
    // ||delta_t [a_{t-1}; x_t]^T||_F^2 by row blocks, and the rows' spread (as backwardDense)
    const Chunks rows{n, kChunkRows};
    std::vector<double> gw(static_cast<std::size_t>(rows.count()), 0.0);
    std::vector<double> rowDev(static_cast<std::size_t>(rows.count()), 0.0);
    const Eigen::RowVectorXf delta0f = delta.row(0);
    const Eigen::RowVectorXd delta0 = delta0f.cast<double>();
    forEachChunk(rows.count(), [&](int r) {
        if (ctx.cancelled())
            return;
        const auto dr = delta.middleRows(rows.begin(r), rows.len(r));
        double g = 0;
        if (prev) {
            MatrixF dw(rows.len(r), n);
            dw.noalias() = dr * prev->transpose();
            g += squaredNormD(dw);
        }
        if (x) {
            MatrixF du(rows.len(r), nx);
            du.noalias() = dr * x->transpose();
            g += squaredNormD(du);
        }
        gw[static_cast<std::size_t>(r)] = g;
        rowDev[static_cast<std::size_t>(r)] =
            (dr.rowwise() - delta0f).rowwise().squaredNorm().maxCoeff();
    });
    if (ctx.cancelled())
        return false;
    double dW2 = 0, inGrad = 0;
    for (double g : gw)
        dW2 += g;
    if (finishBackward(ctx, sums, dW2, std::sqrt(rw.norm2),
                       rowSpread(*std::max_element(rowDev.begin(), rowDev.end()), delta0.norm()),
                       st, inGrad) &&
        x)
        st.inputGrad2 = inGrad / B;
    return true;
}

/// Every head's forward statistics on the trunk's last activation aL (heads.h): its layers as
/// dense stages (the last one's h is the output; its phi is not used). Returns false when
/// cancelled. Skipped (no heads reported) for given weights: the trainer measures its own heads.
bool runHeads(const RunContext& ctx, const MatrixF& aL, RunResult& result) {
    if (ctx.givenWeights)
        return true;
    for (const HeadPlan& plan : ctx.net.heads) {
        HeadStats hs;
        hs.name = plan.name;
        MatrixF prev = aL, a, d;
        for (std::size_t j = 0; j < plan.layers.size(); ++j) {
            LayerStats st;
            if (!forwardDense(ctx, plan.layers[j], static_cast<int>(j) + 1, prev, a, d, st))
                return false;
            hs.layers.push_back(std::move(st));
            prev.swap(a);
        }
        const LayerStats& out = hs.layers.back();
        hs.outMean = out.mean;
        hs.outStd = out.var >= 0 ? std::sqrt(out.var) : kNaN;
        result.heads.push_back(std::move(hs));
    }
    return true;
}

/// A whole rnn run: inputs, theory, T forward steps, then BPTT from the loss on a_T.
void runRecurrent(const RunContext& ctx, RunSink* sink, RunResult& result) {
    const NetworkSpec& spec = ctx.spec;
    const Network& net = ctx.net;
    const int T = net.plan.stages, B = ctx.batch;
    const auto& stage0 = std::get<RecurrentStage>(net.stages.front());
    const std::vector<MatrixF> x = rnnInputs(spec, ctx.cancel);
    if (x.empty()) {
        result.cancelled = true;
        return;
    }
    {
        const auto [q0, c0] = inputMoments(x.front());
        result.theory = predict(spec, q0, c0);
    }
    if (sink)
        sink->started(spec, result.theory);
    const RecurrentWeights rw = recurrentWeights(ctx, stage0);
    const MatrixF bias =
        materialize(ctx.param(stage0.bias), *ctx.draws[static_cast<std::size_t>(stage0.bias)]);
    const auto xOf = [&](const RecurrentStage& st) -> const MatrixF* {
        return st.hasInput ? &x[static_cast<std::size_t>(st.step) - 1] : nullptr;
    };
    // a_t and phi'(h_t) of every step, kept for BPTT ([t], t = 1..T; [0] unused: a_0 = 0)
    std::vector<MatrixF> a(static_cast<std::size_t>(T) + 1), d(static_cast<std::size_t>(T) + 1);
    result.layers.resize(static_cast<std::size_t>(T));
    for (int t = 1; t <= T; ++t) {
        const auto ti = static_cast<std::size_t>(t);
        const auto& st = std::get<RecurrentStage>(net.stages[ti - 1]);
        LayerStats& ls = result.layers[ti - 1];
        if (!forwardRecurrent(ctx, st, rw, bias, t > 1 ? &a[ti - 1] : nullptr, xOf(st), a[ti],
                              d[ti], ls)) {
            result.cancelled = true;
            return;
        }
        if (ls.nonfinite != 0 && result.firstNonfiniteLayer == 0)
            result.firstNonfiniteLayer = t;
        if (sink)
            sink->forwardLayer(ls);
        if (ctx.cancelled()) {
            result.cancelled = true;
            return;
        }
    }
    if (!runHeads(ctx, a[static_cast<std::size_t>(T)], result)) {
        result.cancelled = true;
        return;
    }
    if (result.firstNonfiniteLayer != 0) { // no gradient is defined (as for an mlp)
        for (int t = T; t >= 1; --t) {
            LayerStats& ls = result.layers[static_cast<std::size_t>(t) - 1];
            ls.hasGradients = true;
            if (sink)
                sink->backwardLayer(ls);
        }
        return;
    }
    // the readout is a_T: the mlp's losses on a^L (cotangent g, or mse to targets y)
    MatrixF delta = DrawCache::shared()
                        .get(
                            DrawKey{spec.seed, Stream::Cotangent, 0, net.outputDim, B, 0},
                            [&] { return drawCotangents(spec, B, ctx.cancel); }, ctx.cancel)
                        ->z;
    if (ctx.cancelled()) {
        result.cancelled = true;
        return;
    }
    if (spec.loss == Loss::Mse)
        delta = a[static_cast<std::size_t>(T)] - delta;
    delta = delta.cwiseProduct(d[static_cast<std::size_t>(T)]);
    double inputGrad = 0;
    bool inputFinite = true;
    for (int t = T; t >= 1; --t) {
        const auto ti = static_cast<std::size_t>(t);
        const auto& st = std::get<RecurrentStage>(net.stages[ti - 1]);
        LayerStats& ls = result.layers[ti - 1];
        MatrixF below;
        if (!backwardRecurrent(ctx, st, rw, t > 1 ? &a[ti - 1] : nullptr, xOf(st),
                               t > 1 ? &d[ti - 1] : nullptr, delta, below, ls)) {
            result.cancelled = true;
            return;
        }
        if ((ls.gradNonfinite != 0 || std::isnan(ls.gradW2)) && result.firstNonfiniteLayer == 0)
            result.firstNonfiniteLayer = t;
        if (st.hasInput) {
            inputFinite = inputFinite && std::isfinite(ls.inputGrad2);
            inputGrad += ls.inputGrad2;
        }
        delta = std::move(below);
        if (sink)
            sink->backwardLayer(ls);
        if (ctx.cancelled()) {
            result.cancelled = true;
            return;
        }
    }
    // the whole sequence's input gradient: the sum over the steps that have an input
    if (inputFinite)
        result.inputGrad2 = inputGrad;
}

} // namespace

namespace {

/// The effective sigma_w^2 of a given weight matrix (fan_in x fan_out entries): fan_in times the
/// centred variance of its entries, in double; 0 for a constant matrix.
double givenSigmaW2(const MatrixF& w) {
    const double count = static_cast<double>(w.size());
    const double mean = w.cast<double>().sum() / count;
    const double var = (w.cast<double>().array() - mean).square().sum() / count;
    return static_cast<double>(w.cols()) * var;
}

/// The network and draws of `spec` with `given` weights in place of its random ones: each given
/// matrix becomes its parameter's Z with scale 1 (entries used as they are), or, when all its
/// entries are one value c, a constant parameter (DrawKind::Ones, scale c) so that its units get
/// the bit-identical sums of a constant layer.
void useGivenWeights(const DenseWeights& given, Network& net,
                     std::vector<std::shared_ptr<const StandardDraw>>& draws) {
    draws.assign(net.params.size(), nullptr);
    for (int l = 1; l <= static_cast<int>(net.stages.size()); ++l) {
        const DenseStage& st = denseStage(net, l);
        const auto li = static_cast<std::size_t>(l);
        for (const auto& [index, m] :
             {std::pair{st.weight, &given.w[li]}, std::pair{st.bias, &given.b[li]}}) {
            Param& p = net.params[static_cast<std::size_t>(index)];
            if (m->rows() != p.rows || m->cols() != p.cols)
                throw std::invalid_argument("runWithWeights: " + p.name + " must be " +
                                            std::to_string(p.rows) + " x " +
                                            std::to_string(p.cols));
            auto d = std::make_shared<StandardDraw>();
            const float c = (*m)(0, 0);
            if (!p.isBias && (m->array() == c).all()) {
                p.draw = DrawKind::Ones;
                p.scale = c;
                d->z = MatrixF::Ones(p.rows, p.cols);
                d->z2 = static_cast<double>(d->z.size());
            } else {
                p.draw = DrawKind::Normal;
                p.scale = 1.0;
                d->z = *m;
                d->z2 = m->cast<double>().squaredNorm();
            }
            if (!p.isBias) // what the run reports and predicts from: the weights' own variance
                p.sigmaW2 = givenSigmaW2(*m);
            draws[static_cast<std::size_t>(index)] = std::move(d);
        }
    }
}

} // namespace

RunResult Engine::runInArena(const NetworkSpec& spec, RunSink* sink,
                             const std::atomic<bool>* cancel, const DenseWeights* given) {
    const int B = spec.batch;
    Network net = buildNetwork(spec);
    const int S = net.plan.stages;
    auto isCancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

    RunResult result;
    result.spec = spec;

    std::vector<std::shared_ptr<const StandardDraw>> draws;
    if (given)
        useGivenWeights(*given, net, draws);
    else
        draws = fetchDraws(net, cancel);
    if (draws.empty()) {
        result.cancelled = true;
        return result;
    }
    const RunContext ctx{spec, net, draws, cancel, B, Chunks{B, kChunkCols}, given != nullptr};
    if (spec.arch == Arch::Rnn) {
        runRecurrent(ctx, sink, result);
        return result;
    }

    // Inputs x_b ~ N(mean, scale^2) and the cotangents are draws too: cached like the weights
    // (x = scale z + mean in float, the same arithmetic as drawInputs, so the Jacobian and NTK
    // views see these very inputs).
    DrawCache& cache = DrawCache::shared();
    MatrixF x;
    if (isRealData(spec.data)) { // training examples (data.h, read once per process)
        x = drawInputs(spec, B, cancel);
        if (isCancelled()) {
            result.cancelled = true;
            return result;
        }
    } else {
        NetworkSpec standard = spec;
        standard.inputMean = 0.0;
        standard.inputScale = 1.0;
        const auto inputDraw = cache.get(
            DrawKey{spec.seed, Stream::Inputs, 0, spec.inputDim, B, 0},
            [&] { return drawInputs(standard, B, cancel); }, cancel);
        if (isCancelled()) {
            result.cancelled = true;
            return result;
        }
        x = (static_cast<float>(spec.inputScale) * inputDraw->z.array() +
             static_cast<float>(spec.inputMean))
                .matrix();
    }
    {
        const auto [q0, c0] = inputMoments(x);
        std::vector<double> givenSw2; // given weights: each layer's own sigma_w^2
        if (given)
            for (int l = 1; l <= S; ++l)
                givenSw2.push_back(ctx.param(denseStage(net, l).weight).sigmaW2);
        result.theory = predict(spec, q0, c0, given ? &givenSw2 : nullptr);
    }
    if (sink)
        sink->started(spec, result.theory);

    // Activations a^s and derivatives phi'(h^s) of every stage, kept for the backward pass.
    std::vector<MatrixF> a(static_cast<std::size_t>(S) + 1), d(static_cast<std::size_t>(S) + 1);
    std::vector<BranchState> branches(static_cast<std::size_t>(S) + 1); // residual blocks
    result.layers.resize(static_cast<std::size_t>(S));
    auto input = [&](int s) -> const MatrixF& {
        return s == 1 ? x : a[static_cast<std::size_t>(s) - 1];
    };

    for (int s = 1; s <= S; ++s) {
        const auto si = static_cast<std::size_t>(s);
        LayerStats& st = result.layers[si - 1];
        const Stage& stage = net.stages[si - 1];
        bool done = false;
        if (const auto* conv = std::get_if<ConvStage>(&stage))
            done = forwardConv(ctx, *conv, s, input(s), a[si], d[si], st);
        else
            done =
                std::holds_alternative<DenseStage>(stage)
                    ? forwardDense(ctx, std::get<DenseStage>(stage), s, input(s), a[si], d[si], st)
                    : forwardResidual(ctx, std::get<ResidualStage>(stage), s, input(s), a[si],
                                      branches[si], st);
        if (!done) {
            result.cancelled = true;
            return result;
        }
        if (st.nonfinite != 0 && result.firstNonfiniteLayer == 0)
            result.firstNonfiniteLayer = s;
        if (sink)
            sink->forwardLayer(st);
        if (isCancelled()) {
            result.cancelled = true;
            return result;
        }
    }

    if (!runHeads(ctx, a[static_cast<std::size_t>(S)], result)) {
        result.cancelled = true;
        return result;
    }

    // ---- backward ----
    // Every delta starts from phi'(h^L) and a^L, so once the forward pass is non-finite anywhere
    // no gradient is defined: phi'(NaN) is 0 for ReLU and would report exact zeros instead.
    if (result.firstNonfiniteLayer != 0) {
        for (int s = S; s >= 1; --s) {
            LayerStats& st = result.layers[static_cast<std::size_t>(s) - 1];
            st.hasGradients = true; // final, and undefined (NaN)
            if (sink)
                sink->backwardLayer(st);
        }
        return result;
    }
    // cotangent loss: mean_b g_b . a^L_b, g ~ N(0, I): delta^L = g (.) phi'(h^L)
    // mse loss: mean_b |a^L_b - y_b|^2 / 2, y ~ N(0, I): delta^L = (a^L - y) (.) phi'(h^L)
    MatrixF delta = cache
                        .get(
                            DrawKey{spec.seed, Stream::Cotangent, 0, net.outputDim, B, 0},
                            [&] { return drawCotangents(spec, B, cancel); }, cancel)
                        ->z;
    if (isCancelled()) {
        result.cancelled = true;
        return result;
    }
    if (spec.loss == Loss::Mse)
        delta = a[static_cast<std::size_t>(S)] - delta;
    // an mlp's (and a cnn's, flattened) output is phi(h^L); a resnet's is the stream x^L itself
    if (!std::holds_alternative<ResidualStage>(net.stages.back()))
        delta = delta.cwiseProduct(d[static_cast<std::size_t>(S)]);

    for (int s = S; s >= 1; --s) {
        const auto si = static_cast<std::size_t>(s);
        LayerStats& st = result.layers[si - 1];
        MatrixF below;
        double inGrad = 0;
        const Stage& stage = net.stages[si - 1];
        bool done = false;
        if (const auto* conv = std::get_if<ConvStage>(&stage))
            done = backwardConv(ctx, *conv, input(s), s > 1 ? &d[si - 1] : nullptr, delta, below,
                                st, inGrad);
        else
            done = std::holds_alternative<DenseStage>(stage)
                       ? backwardDense(ctx, std::get<DenseStage>(stage), input(s),
                                       s > 1 ? &d[si - 1] : nullptr, delta, below, st, inGrad)
                       : backwardResidual(ctx, std::get<ResidualStage>(stage), branches[si], delta,
                                          below, st, inGrad, s == 1);
        if (!done) {
            result.cancelled = true;
            return result;
        }
        // the forward pass was finite but the gradient overflowed
        if ((st.gradNonfinite != 0 || std::isnan(st.gradW2)) && result.firstNonfiniteLayer == 0)
            result.firstNonfiniteLayer = s;
        if (s == 1 && st.gradNonfinite == 0)
            result.inputGrad2 = inGrad / B;
        delta = std::move(below);
        if (sink)
            sink->backwardLayer(st);
        if (isCancelled()) {
            result.cancelled = true;
            return result;
        }
    }
    return result;
}

} // namespace initscope

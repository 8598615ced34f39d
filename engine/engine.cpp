#include "engine.h"

#include "data.h"
#include "meanfield.h"
#include "rng.h"
#include "weights.h"

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
#include <tuple>

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

TheoryCurves predict(const NetworkSpec& spec, double q0, double c0) {
    TheoryCurves t;
    t.q0 = q0;
    t.c0 = c0;
    const Activation act(spec.activation, spec.activationSlope);
    const double sb2 = effectiveSigmaB2(spec);
    const auto L = static_cast<std::size_t>(spec.depth);
    if (spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant) {
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
    for (std::size_t l = 0; l < L; ++l) {
        sw2[l] = effectiveSigmaW2(spec, static_cast<int>(l) + 1);
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
    return t;
}

double criticalInputScale(const NetworkSpec& spec, double u, std::string& note) {
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

// ---- random-draw cache -------------------------------------------------------------------

struct Engine::Cache {
    struct Draw {
        MatrixF z;
        double z2 = 0; // ||Z||_F^2, for ||W||_F = scale ||Z||_F
    };
    using Key = std::tuple<std::uint64_t, int, int, int, int>; // seed, layer, rows, cols, kind
    struct Entry {
        std::shared_ptr<const Draw> draw;
        std::uint64_t lastUse = 0;
    };
    std::mutex mutex;
    std::map<Key, Entry> entries;
    std::uint64_t clock = 0;
    std::size_t bytes = 0;
    static constexpr std::size_t kMaxBytes = Engine::kMaxCacheBytes;

    std::shared_ptr<const Draw> find(const Key& k) {
        std::lock_guard lock(mutex);
        auto it = entries.find(k);
        if (it == entries.end())
            return nullptr;
        it->second.lastUse = ++clock;
        return it->second.draw;
    }

    void insert(const Key& k, std::shared_ptr<const Draw> d) {
        std::lock_guard lock(mutex);
        const std::size_t sz = static_cast<std::size_t>(d->z.size()) * sizeof(float);
        auto [it, inserted] = entries.try_emplace(k, Entry{std::move(d), ++clock});
        if (!inserted)
            return;
        bytes += sz;
        // Evict least recently used entries beyond the cap (shared_ptr keeps running users safe).
        while (bytes > kMaxBytes && entries.size() > 1) {
            auto oldest = entries.begin();
            for (auto e = entries.begin(); e != entries.end(); ++e)
                if (e->second.lastUse < oldest->second.lastUse)
                    oldest = e;
            if (oldest == it)
                break;
            bytes -= static_cast<std::size_t>(oldest->second.draw->z.size()) * sizeof(float);
            entries.erase(oldest);
        }
    }
};

#ifdef INITSCOPE_OPENBLAS
extern "C" void openblas_set_num_threads(int);
#endif

Engine::Engine() : cache_(std::make_unique<Cache>()) {
#ifdef INITSCOPE_OPENBLAS
    // One OpenBLAS thread per call: TBB runs the calls in parallel (see engine/CMakeLists.txt).
    openblas_set_num_threads(1);
#endif
}
Engine::~Engine() = default;

void Engine::clearCache() {
    std::lock_guard lock(cache_->mutex);
    cache_->entries.clear();
    cache_->bytes = 0;
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
    arena.execute([&] { result = runInArena(spec, sink, cancel); });
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!result.cancelled && !result.layers.empty())
        result.criticalInputScale = criticalInputScale(spec, result.layers.front().relativeUpdate,
                                                       result.criticalInputScaleNote);
    if (!result.cancelled && sink)
        sink->finished(result);
    return result;
}

RunResult Engine::runInArena(const NetworkSpec& spec, RunSink* sink,
                             const std::atomic<bool>* cancel) {
    const int L = spec.depth;
    const int B = spec.batch;
    const Activation act(spec.activation, spec.activationSlope);
    const DrawKind kind = drawKind(spec.init);
    auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

    RunResult result;
    result.spec = spec;

    // Standard draws of every layer, from the cache or drawn now in parallel (each layer from its
    // own stream, so the order of drawing does not matter).
    std::vector<std::shared_ptr<const Cache::Draw>> draws(static_cast<std::size_t>(L) + 1);
    std::vector<std::shared_ptr<const Cache::Draw>> biasDraws(static_cast<std::size_t>(L) + 1);
    auto weightKey = [&](int l) {
        return Cache::Key{spec.seed, l, spec.widthOf(l), spec.widthOf(l - 1),
                          static_cast<int>(kind)};
    };
    auto biasKey = [&](int l) { return Cache::Key{spec.seed, l, spec.widthOf(l), 1, -1}; };
    std::vector<int> missingW, missingB;
    for (int l = 1; l <= L; ++l) {
        const auto li = static_cast<std::size_t>(l);
        if (!(draws[li] = cache_->find(weightKey(l))))
            missingW.push_back(l);
        if (spec.biasInit == BiasInit::Normal && !(biasDraws[li] = cache_->find(biasKey(l))))
            missingB.push_back(l);
    }
    forEachChunk(static_cast<int>(missingW.size() + missingB.size()), [&](int i) {
        const bool isWeight = i < static_cast<int>(missingW.size());
        const int l = isWeight ? missingW[static_cast<std::size_t>(i)]
                               : missingB[static_cast<std::size_t>(i) - missingW.size()];
        if (cancelled())
            return;
        auto d = std::make_shared<Cache::Draw>();
        if (isWeight) {
            d->z = drawStandard(kind, spec.seed, l, spec.widthOf(l), spec.widthOf(l - 1), cancel);
        } else {
            d->z = drawBiasStandard(spec.seed, l, spec.widthOf(l));
        }
        if (cancelled()) // an interrupted draw is incomplete: never cached, never used
            return;
        d->z2 = d->z.cast<double>().squaredNorm();
        cache_->insert(isWeight ? weightKey(l) : biasKey(l), d);
        (isWeight ? draws : biasDraws)[static_cast<std::size_t>(l)] = std::move(d);
    });
    if (cancelled()) {
        result.cancelled = true;
        return result;
    }

    std::vector<float> scale(static_cast<std::size_t>(L) + 1);
    std::vector<VectorF> bias(static_cast<std::size_t>(L) + 1);
    for (int l = 1; l <= L; ++l) {
        const auto li = static_cast<std::size_t>(l);
        scale[li] = static_cast<float>(weightScale(spec, l));
        const int n = spec.widthOf(l);
        switch (spec.biasInit) {
        case BiasInit::Zeros:
            bias[li] = VectorF::Zero(n);
            break;
        case BiasInit::Constant:
            bias[li] = VectorF::Constant(n, static_cast<float>(spec.biasValue));
            break;
        case BiasInit::Normal:
            bias[li] = static_cast<float>(std::sqrt(spec.sigmaB2)) * biasDraws[li]->z.col(0);
            break;
        }
    }

    // Inputs x_b ~ N(mean, scale^2): the same standard draws rescaled when mean or scale change.
    // Inputs x_b ~ N(mean, scale^2) and the cotangents are draws too: cached like the weights
    // (x = scale z + mean in float, the same arithmetic as drawInputs, so the Jacobian and NTK
    // views see these very inputs).
    auto cachedDraw = [&](const Cache::Key& key, auto draw) {
        auto d = cache_->find(key);
        if (!d) {
            auto fresh = std::make_shared<Cache::Draw>();
            fresh->z = draw();
            if (!cancelled()) // an interrupted draw is incomplete
                cache_->insert(key, fresh);
            d = fresh;
        }
        return d;
    };
    MatrixF x;
    if (isRealData(spec.data)) { // training examples (data.h, read once per process)
        x = drawInputs(spec, B, cancel);
    } else {
        NetworkSpec standard = spec;
        standard.inputMean = 0.0;
        standard.inputScale = 1.0;
        const auto inputDraw = cachedDraw(Cache::Key{spec.seed, 0, spec.inputDim, B, -2},
                                          [&] { return drawInputs(standard, B, cancel); });
        if (cancelled()) {
            result.cancelled = true;
            return result;
        }
        x = (static_cast<float>(spec.inputScale) * inputDraw->z.array() +
             static_cast<float>(spec.inputMean))
                .matrix();
    }
    {
        double q0 = 0;
        Eigen::VectorXd dirSum = Eigen::VectorXd::Zero(spec.inputDim);
        int valid = 0;
        for (int b = 0; b < B; ++b) {
            const Eigen::VectorXd xb = x.col(b).cast<double>();
            const double n2 = xb.squaredNorm();
            q0 += n2 / spec.inputDim;
            if (n2 > 0) {
                dirSum += xb / std::sqrt(n2);
                ++valid;
            }
        }
        q0 /= B;
        double c0 = meanPairCosine(dirSum, valid);
        if (!std::isfinite(c0))
            c0 = 1.0; // a single input: the correlation recursion is irrelevant; start at 1
        result.theory = predict(spec, q0, c0);
    }
    if (sink)
        sink->started(spec, result.theory);

    // Activations a^l and derivatives phi'(h^l), kept for the backward pass.
    std::vector<MatrixF> a(static_cast<std::size_t>(L) + 1), d(static_cast<std::size_t>(L) + 1);
    result.layers.resize(static_cast<std::size_t>(L));

    const Chunks cols{B, kChunkCols};
    const int nChunks = cols.count();
    const double satThreshold = 0.05 * act.maxAbsDphi();
    const int bins = spec.histBins;
    const double R = spec.histRange;

    for (int l = 1; l <= L; ++l) {
        const auto li = static_cast<std::size_t>(l);
        const int n = spec.widthOf(l);
        const MatrixF& prev = l == 1 ? x : a[li - 1];
        a[li].resize(n, B);
        d[li].resize(n, B);
        const MatrixF& z = draws[li]->z;
        const float s = scale[li];
        std::vector<ForwardPartial> parts(static_cast<std::size_t>(nChunks));

        // Cancel is looked at per chunk (one GEMM of 64 inputs), not only per layer: a layer of
        // width 16384 is seconds of work.
        forEachChunk(nChunks, [&](int c) {
            if (cancelled())
                return;
            const int c0 = cols.begin(c), m = cols.len(c);
            ForwardPartial& p = parts[static_cast<std::size_t>(c)];
            MatrixF h(n, m);
            if (kind == DrawKind::None)
                h.setZero();
            else if (kind == DrawKind::Ones) // W = s 1 1^T: every unit gets s * sum_j a_j,
                // computed once so that the units are identical to the bit (a dense GEMM
                // rounds its panel rows and its remainder rows differently)
                h.rowwise() = s * prev.middleCols(c0, m).colwise().sum();
            else
                h.noalias() = (s * z) * prev.middleCols(c0, m);
            h.colwise() += bias[li];
            act.apply(h.data(), a[li].col(c0).data(), d[li].col(c0).data(),
                      static_cast<std::size_t>(h.size()));

            p.unitDirSum = Eigen::VectorXd::Zero(n);
            p.alive.assign(static_cast<std::size_t>(n), 0);
            p.hist.assign(static_cast<std::size_t>(bins), 0);
            const auto dd = d[li].middleCols(c0, m);
            const double binsPerUnit = bins / (2 * R);
            Eigen::Array<bool, Eigen::Dynamic, 1> alive =
                Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(n, false);
            for (int b = 0; b < m; ++b) {
                const auto hb = h.col(b).cast<double>().array();
                const double s1 = hb.sum();
                const double s2 = hb.square().sum();
                if (!std::isfinite(s2) || !std::isfinite(s1)) {
                    // the layer's statistics become NaN; only count what overflowed
                    p.nonfinite += (!h.col(b).array().isFinite()).count();
                    continue;
                }
                p.sumH += s1;
                p.sumH2 += s2;
                // outliers are counted in the edge bins (and tallied apart); clamping the bin
                // index instead of branching keeps this loop short
                p.below += static_cast<std::uint64_t>((hb < -R).count());
                p.above += static_cast<std::uint64_t>((hb > R).count());
                const double lastBin = bins - 1;
                for (int i = 0; i < n; ++i) {
                    const double t = std::clamp((h(i, b) + R) * binsPerUnit, 0.0, lastBin);
                    ++p.hist[static_cast<std::size_t>(t)];
                }
                const auto db = dd.col(b).array();
                alive = alive || (db != 0.0f);
                p.saturated +=
                    static_cast<double>((db.abs() < static_cast<float>(satThreshold)).count());
                // unit spread of this input: std over units / rms (two passes: exactly 0 when
                // every unit holds the same value)
                const double meanB = s1 / n, msB = s2 / n;
                if (msB > 0) {
                    const double ss = (hb - meanB).square().sum();
                    p.spreadSum += std::sqrt(ss / n) / std::sqrt(msB);
                    p.unitDirSum += hb.matrix() / std::sqrt(s2);
                    ++p.validDirs;
                }
            }
            for (int i = 0; i < n; ++i)
                p.alive[static_cast<std::size_t>(i)] = alive(i) ? 1 : 0;
        });
        if (cancelled()) { // some chunks were skipped: the layer is incomplete
            result.cancelled = true;
            return result;
        }

        // Combine the chunks in their fixed order.
        LayerStats st;
        st.index = l;
        st.width = n;
        st.sigmaW2 = effectiveSigmaW2(spec, l);
        st.histogram.lo = -R;
        st.histogram.hi = R;
        st.histogram.counts.assign(static_cast<std::size_t>(bins), 0);
        double sumH = 0, sumH2 = 0, sat = 0, spread = 0;
        Eigen::VectorXd dirSum = Eigen::VectorXd::Zero(n);
        int valid = 0;
        std::vector<char> alive(static_cast<std::size_t>(n), 0);
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
                st.histogram.counts[static_cast<std::size_t>(i)] +=
                    p.hist[static_cast<std::size_t>(i)];
            for (int i = 0; i < n; ++i)
                alive[static_cast<std::size_t>(i)] |= p.alive[static_cast<std::size_t>(i)];
        }
        const double count = static_cast<double>(n) * B;
        if (st.nonfinite == 0) {
            st.q = sumH2 / count;
            st.mean = sumH / count;
            st.var = std::max(0.0, st.q - st.mean * st.mean);
            st.deadFraction = static_cast<double>(std::count(alive.begin(), alive.end(), 0)) / n;
            st.saturatedFraction = act.saturates() ? sat / count : 0.0;
            st.correlation = meanPairCosine(dirSum, valid);
            st.unitSpread = n > 1 ? spread / B : kNaN; // no spread over a single unit
        } else if (result.firstNonfiniteLayer == 0) {
            result.firstNonfiniteLayer = l;
        }
        st.sample.assign(a[li].col(0).data(), a[li].col(0).data() + n);
        result.layers[li - 1] = st;
        if (sink)
            sink->forwardLayer(result.layers[li - 1]);
        if (cancelled()) {
            result.cancelled = true;
            return result;
        }
    }

    // ---- backward ----
    // Every delta starts from phi'(h^L) and a^L, so once the forward pass is non-finite anywhere
    // no gradient is defined: phi'(NaN) is 0 for ReLU and would report exact zeros instead.
    if (result.firstNonfiniteLayer != 0) {
        for (int l = L; l >= 1; --l) {
            LayerStats& st = result.layers[static_cast<std::size_t>(l) - 1];
            st.hasGradients = true; // final, and undefined (NaN)
            if (sink)
                sink->backwardLayer(st);
        }
        return result;
    }
    // cotangent loss: mean_b g_b . a^L_b, g ~ N(0, I): delta^L = g (.) phi'(h^L)
    // mse loss: mean_b |a^L_b - y_b|^2 / 2, y ~ N(0, I): delta^L = (a^L - y) (.) phi'(h^L)
    MatrixF delta = cachedDraw(Cache::Key{spec.seed, 0, spec.widthOf(L), B, -3}, [&] {
                        return drawCotangents(spec, B, cancel);
                    })->z;
    if (cancelled()) {
        result.cancelled = true;
        return result;
    }
    if (spec.loss == Loss::Mse)
        delta = a[static_cast<std::size_t>(L)] - delta;
    delta = delta.cwiseProduct(d[static_cast<std::size_t>(L)]);

    for (int l = L; l >= 1; --l) {
        const auto li = static_cast<std::size_t>(l);
        const int n = spec.widthOf(l), nIn = spec.widthOf(l - 1);
        const MatrixF& prev = l == 1 ? x : a[li - 1];
        const float s = scale[li];
        LayerStats& st = result.layers[li - 1];

        // grad_h2 and the delta of the layer below, by column chunks
        const bool lastStep = l == 1;
        MatrixF below(nIn, B);
        std::vector<double> gh(static_cast<std::size_t>(nChunks), 0.0),
            gin(static_cast<std::size_t>(nChunks), 0.0);
        std::vector<std::int64_t> bad(static_cast<std::size_t>(nChunks), 0);
        forEachChunk(nChunks, [&](int c) {
            if (cancelled())
                return;
            const int c0 = cols.begin(c), m = cols.len(c);
            const auto dl = delta.middleCols(c0, m);
            const double acc = dl.cast<double>().squaredNorm();
            gh[static_cast<std::size_t>(c)] = acc;
            bad[static_cast<std::size_t>(c)] =
                std::isfinite(acc) ? 0 : (!dl.array().isFinite()).count();
            auto out = below.middleCols(c0, m);
            if (kind == DrawKind::None)
                out.setZero();
            else if (kind == DrawKind::Ones) // W^T delta = s 1 (1^T delta), as in the forward pass
                out.rowwise() = s * dl.colwise().sum();
            else
                out.noalias() = (s * draws[li]->z).transpose() * dl;
            if (lastStep) {
                double g2 = 0;
                for (int b = 0; b < m; ++b)
                    g2 += out.col(b).cast<double>().squaredNorm();
                gin[static_cast<std::size_t>(c)] = g2;
            } else {
                out.array() *= d[li - 1].middleCols(c0, m).array();
            }
        });

        // ||dW||_F^2 with dW = (1/B) Delta A^T, by row blocks; dW is never stored whole
        const Chunks rows{n, kChunkRows};
        std::vector<double> gw(static_cast<std::size_t>(rows.count()), 0.0);
        std::vector<double> rowDev(static_cast<std::size_t>(rows.count()), 0.0);
        // Row r of dW is delta_r A^T / B (delta_r: unit r's deltas over the batch), so the rows
        // of dW are identical exactly when the rows of delta are: the symmetry check compares
        // those, which keeps the GEMM's row-dependent rounding out of an exact zero.
        const Eigen::RowVectorXf delta0f = delta.row(0);
        const Eigen::RowVectorXd delta0 = delta0f.cast<double>();
        forEachChunk(rows.count(), [&](int r) {
            if (cancelled())
                return;
            MatrixF dw(rows.len(r), nIn);
            const auto dr = delta.middleRows(rows.begin(r), rows.len(r));
            dw.noalias() = dr * prev.transpose();
            gw[static_cast<std::size_t>(r)] = dw.cast<double>().squaredNorm();
            // identical rows subtract to exactly 0 in float too
            rowDev[static_cast<std::size_t>(r)] =
                (dr.rowwise() - delta0f).rowwise().squaredNorm().maxCoeff();
        });

        if (cancelled()) {
            result.cancelled = true;
            return result;
        }
        double gradH = 0, gradW = 0, inGrad = 0;
        std::int64_t nonfinite = 0;
        for (int c = 0; c < nChunks; ++c) {
            gradH += gh[static_cast<std::size_t>(c)];
            inGrad += gin[static_cast<std::size_t>(c)];
            nonfinite += bad[static_cast<std::size_t>(c)];
        }
        for (double g : gw)
            gradW += g;
        gradW /= static_cast<double>(B) * B;
        st.hasGradients = true;
        st.gradNonfinite = nonfinite;
        if (nonfinite == 0 && std::isfinite(gradW)) {
            st.gradH2 = gradH / B;
            st.gradW2 = gradW;
            const double wNorm = std::abs(static_cast<double>(s)) * std::sqrt(draws[li]->z2);
            st.relativeUpdate = wNorm > 0 ? spec.learningRate * std::sqrt(gradW) / wNorm : kNaN;
            const double ref = delta0.norm();
            const double dev = std::sqrt(*std::max_element(rowDev.begin(), rowDev.end()));
            st.gradRowSpread = ref > 0 ? dev / ref : (dev > 0 ? kNaN : 0.0);
        } else if (result.firstNonfiniteLayer == 0 || result.firstNonfiniteLayer > l) {
            // the forward pass was finite but the gradient overflowed
            if (result.firstNonfiniteLayer == 0)
                result.firstNonfiniteLayer = l;
        }
        if (lastStep && nonfinite == 0)
            result.inputGrad2 = inGrad / B;
        delta = std::move(below);
        if (sink)
            sink->backwardLayer(st);
        if (cancelled()) {
            result.cancelled = true;
            return result;
        }
    }
    return result;
}

} // namespace initscope

#include "apps/maml.h"

#include "core/parallel.h"
#include "core/rng.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "stats/report.h"
#include "train/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <stdexcept>

namespace initscope {

namespace {

// The task streams: a Stream value of MAML's own (no enumerator of rng.h), index = the task's.
constexpr Stream kTaskStream = static_cast<Stream>(0x4d414d4cULL); // "MAML"
// Evaluation tasks sit far above every training task's index (meta-step * batch + slot).
constexpr std::uint64_t kEvalBase = 1ULL << 48;
// THEORY.md's saturated_fraction: |phi'(h)| < 0.05 max|phi'|; for tanh max phi' = 1.
constexpr double kSaturatedDerivative = 0.05;
constexpr int kProbePoints = 101; // evenly spaced x over the family's input range

/// A dual number a + b eps (eps^2 = 0): the forward-mode tangent the Hessian-vector product
/// carries through the gradient computation.
struct Dual {
    double v = 0, d = 0;
    Dual() = default;
    Dual(double value) : v(value) {} // NOLINT: a constant has tangent 0
    Dual(double value, double tangent) : v(value), d(tangent) {}
};
inline Dual operator+(Dual a, Dual b) {
    return {a.v + b.v, a.d + b.d};
}
inline Dual operator-(Dual a, Dual b) {
    return {a.v - b.v, a.d - b.d};
}
inline Dual operator*(Dual a, Dual b) {
    return {a.v * b.v, a.d * b.v + a.v * b.d};
}
inline Dual& operator+=(Dual& a, Dual b) {
    a.v += b.v;
    a.d += b.d;
    return a;
}
inline Dual tanhOf(Dual a) {
    const double t = std::tanh(a.v);
    return {t, a.d * (1.0 - t * t)};
}
inline double tanhOf(double a) {
    return std::tanh(a);
}

/// mean_i (f(x_i) - y_i)^2 and its gradient (when grad is not null), for T = double or Dual.
template <class T>
T lossAndGrad(const MamlShape& s, const std::vector<T>& th, const std::vector<double>& x,
              const std::vector<double>& y, std::vector<T>* grad) {
    const int L = s.layers();
    const int K = static_cast<int>(x.size());
    // a[l]: N_l x K (row u, column k), a[0] the inputs
    std::vector<std::vector<T>> a(static_cast<std::size_t>(L + 1));
    a[0].resize(static_cast<std::size_t>(K));
    for (int k = 0; k < K; ++k)
        a[0][std::size_t(k)] = T(x[std::size_t(k)]);
    for (int l = 1; l <= L; ++l) {
        const int n = s.widths[std::size_t(l)], m = s.widths[std::size_t(l - 1)];
        const T* W = th.data() + s.weightOffset(l);
        const T* b = th.data() + s.biasOffset(l);
        const std::vector<T>& in = a[std::size_t(l - 1)];
        std::vector<T>& out = a[std::size_t(l)];
        out.assign(std::size_t(n) * std::size_t(K), T(0.0));
        for (int o = 0; o < n; ++o) {
            T* row = out.data() + std::size_t(o) * std::size_t(K);
            for (int k = 0; k < K; ++k)
                row[k] = b[o];
            for (int i = 0; i < m; ++i) {
                const T w = W[std::size_t(o) * std::size_t(m) + std::size_t(i)];
                const T* src = in.data() + std::size_t(i) * std::size_t(K);
                for (int k = 0; k < K; ++k)
                    row[k] += w * src[k];
            }
            if (l < L)
                for (int k = 0; k < K; ++k)
                    row[k] = tanhOf(row[k]);
        }
    }
    const std::vector<T>& f = a[std::size_t(L)];
    T loss(0.0);
    std::vector<T> delta(static_cast<std::size_t>(K));
    for (int k = 0; k < K; ++k) {
        const T r = f[std::size_t(k)] - T(y[std::size_t(k)]);
        loss += r * r;
        delta[std::size_t(k)] = r * T(2.0 / K);
    }
    loss = loss * T(1.0 / K);
    if (!grad)
        return loss;
    grad->assign(th.size(), T(0.0));
    for (int l = L; l >= 1; --l) {
        const int n = s.widths[std::size_t(l)], m = s.widths[std::size_t(l - 1)];
        const T* W = th.data() + s.weightOffset(l);
        T* gW = grad->data() + s.weightOffset(l);
        T* gb = grad->data() + s.biasOffset(l);
        const std::vector<T>& in = a[std::size_t(l - 1)];
        for (int o = 0; o < n; ++o) {
            const T* dl = delta.data() + std::size_t(o) * std::size_t(K);
            T sb(0.0);
            for (int k = 0; k < K; ++k)
                sb += dl[k];
            gb[o] = sb;
            for (int i = 0; i < m; ++i) {
                const T* src = in.data() + std::size_t(i) * std::size_t(K);
                T sw(0.0);
                for (int k = 0; k < K; ++k)
                    sw += dl[k] * src[k];
                gW[std::size_t(o) * std::size_t(m) + std::size_t(i)] = sw;
            }
        }
        if (l == 1)
            break;
        // delta_{l-1} = (W^T delta_l) * phi'(h_{l-1}), phi' = 1 - a^2 for tanh
        std::vector<T> prev(std::size_t(m) * std::size_t(K), T(0.0));
        for (int o = 0; o < n; ++o) {
            const T* dl = delta.data() + std::size_t(o) * std::size_t(K);
            for (int i = 0; i < m; ++i) {
                const T w = W[std::size_t(o) * std::size_t(m) + std::size_t(i)];
                T* dst = prev.data() + std::size_t(i) * std::size_t(K);
                for (int k = 0; k < K; ++k)
                    dst[k] += w * dl[k];
            }
        }
        for (std::size_t j = 0; j < prev.size(); ++j)
            prev[j] = prev[j] * (T(1.0) - in[j] * in[j]);
        delta = std::move(prev);
    }
    return loss;
}

double norm2(const std::vector<double>& v) {
    double s = 0;
    for (double x : v)
        s += x * x;
    return std::sqrt(s);
}

/// The inner loop from theta: the parameters before each step (theta_0 .. theta_{k-1}) in
/// `path` (when not null), the adapted theta_k returned.
std::vector<double> adapt(const MamlShape& s, const std::vector<double>& theta, const SineTask& t,
                          int innerSteps, double innerLr, std::vector<std::vector<double>>* path) {
    std::vector<double> cur = theta, g;
    for (int j = 0; j < innerSteps; ++j) {
        lossAndGrad<double>(s, cur, t.xSupport, t.ySupport, &g);
        if (path)
            path->push_back(cur);
        for (std::size_t i = 0; i < cur.size(); ++i)
            cur[i] -= innerLr * g[i];
    }
    return cur;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

/// Measurements of theta_0 (the record's metaLoss is left to the caller).
MamlRecord measure(const MamlShape& s, const std::vector<double>& theta, const MamlSpec& m,
                   const SineFamily& fam, const std::vector<SineTask>& evalTasks) {
    MamlRecord r;
    const int L = s.layers();
    for (int l = 1; l <= L; ++l) {
        const int n = s.widths[std::size_t(l)], fanIn = s.widths[std::size_t(l - 1)];
        const auto stats = [&](int off, int count) {
            double mean = 0;
            for (int i = 0; i < count; ++i)
                mean += theta[std::size_t(off + i)];
            mean /= count;
            double var = 0;
            for (int i = 0; i < count; ++i) {
                const double d = theta[std::size_t(off + i)] - mean;
                var += d * d;
            }
            return var / count;
        };
        r.sigmaW2.push_back(fanIn * stats(s.weightOffset(l), n * fanIn));
        r.sigmaB2.push_back(stats(s.biasOffset(l), n));
    }
    // saturation on the probe grid: the tanh layers' pre-activations
    std::vector<double> xs(kProbePoints);
    for (int i = 0; i < kProbePoints; ++i)
        xs[std::size_t(i)] = fam.xLo + (fam.xHi - fam.xLo) * i / (kProbePoints - 1);
    std::vector<double> act = xs;
    long saturated = 0, total = 0;
    for (int l = 1; l < L; ++l) {
        const int n = s.widths[std::size_t(l)], mIn = s.widths[std::size_t(l - 1)];
        std::vector<double> out(std::size_t(n) * kProbePoints);
        long sat = 0;
        for (int o = 0; o < n; ++o)
            for (int k = 0; k < kProbePoints; ++k) {
                double h = theta[std::size_t(s.biasOffset(l) + o)];
                for (int i = 0; i < mIn; ++i)
                    h += theta[std::size_t(s.weightOffset(l) + o * mIn + i)] *
                         act[std::size_t(i) * kProbePoints + std::size_t(k)];
                const double t = std::tanh(h);
                out[std::size_t(o) * kProbePoints + std::size_t(k)] = t;
                if (1.0 - t * t < kSaturatedDerivative)
                    ++sat;
            }
        r.saturatedLayers.push_back(static_cast<double>(sat) / (double(n) * kProbePoints));
        saturated += sat;
        total += long(n) * kProbePoints;
        act = std::move(out);
    }
    r.saturatedFraction = total > 0 ? static_cast<double>(saturated) / total : kNaN;
    // gradients and losses over the fixed evaluation tasks (each in its slot, summed in order)
    const int E = static_cast<int>(evalTasks.size());
    const auto En = static_cast<std::size_t>(E);
    std::vector<double> gn(En), pre(En), post(En);
    std::vector<std::vector<double>> gl(En);
    detail::forEachIndex(E, [&](int e) {
        const SineTask& t = evalTasks[std::size_t(e)];
        std::vector<double> g;
        lossAndGrad<double>(s, theta, t.xSupport, t.ySupport, &g);
        gn[std::size_t(e)] = norm2(g);
        for (int l = 1; l <= L; ++l) {
            const int cnt = s.widths[std::size_t(l)] * s.widths[std::size_t(l - 1)];
            double q = 0;
            for (int i = 0; i < cnt; ++i)
                q += g[std::size_t(s.weightOffset(l) + i)] * g[std::size_t(s.weightOffset(l) + i)];
            gl[std::size_t(e)].push_back(std::sqrt(q));
        }
        pre[std::size_t(e)] = lossAndGrad<double>(s, theta, t.xQuery, t.yQuery, nullptr);
        post[std::size_t(e)] = mamlAdaptedLoss(s, theta, t, m.innerSteps, m.innerLr);
    });
    r.innerGradLayers.assign(std::size_t(L), 0.0);
    for (int e = 0; e < E; ++e) {
        r.innerGradNorm += gn[std::size_t(e)] / E;
        r.preLoss += pre[std::size_t(e)] / E;
        r.postLoss += post[std::size_t(e)] / E;
        for (int l = 0; l < L; ++l)
            r.innerGradLayers[std::size_t(l)] += gl[std::size_t(e)][std::size_t(l)] / E;
    }
    r.metaLoss = kNaN;
    return r;
}

} // namespace

std::string mamlTasksName(MamlTasks t) {
    return t == MamlTasks::Steep ? "steep" : "gentle";
}

bool parseMamlTasks(const std::string& name, MamlTasks& out) {
    if (name == "steep")
        out = MamlTasks::Steep;
    else if (name == "gentle")
        out = MamlTasks::Gentle;
    else
        return false;
    return true;
}

SineFamily sineFamily(MamlTasks t) {
    constexpr double pi = std::numbers::pi;
    if (t == MamlTasks::Steep)
        return {2.0, 5.0, 2.0, 4.0, 0.0, pi, -5.0, 5.0};
    return {0.1, 1.0, 0.5, 1.0, 0.0, pi, -5.0, 5.0};
}

SineTask sampleSineTask(const SineFamily& f, std::uint64_t seed, std::uint64_t index, int support,
                        int query) {
    Rng rng(seed, kTaskStream, index);
    const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * rng.uniformOpen(); };
    SineTask t;
    t.amplitude = uniform(f.ampLo, f.ampHi);
    t.frequency = uniform(f.freqLo, f.freqHi);
    t.phase = uniform(f.phaseLo, f.phaseHi);
    const auto fill = [&](int n, std::vector<double>& xs, std::vector<double>& ys) {
        for (int i = 0; i < n; ++i) {
            const double x = uniform(f.xLo, f.xHi);
            xs.push_back(x);
            ys.push_back(t.amplitude * std::sin(t.frequency * x + t.phase));
        }
    };
    fill(support, t.xSupport, t.ySupport);
    fill(query, t.xQuery, t.yQuery);
    return t;
}

std::vector<SpecError> validateMaml(const NetworkSpec& spec, const MamlSpec& m) {
    std::vector<SpecError> e = validate(spec);
    const auto range = [&](const char* field, int v, int lo, int hi) {
        if (v < lo || v > hi)
            e.push_back({field, std::string(field) + ": must be an integer from " +
                                    std::to_string(lo) + " to " + std::to_string(hi) + " (got " +
                                    std::to_string(v) + ")"});
    };
    range("meta_steps", m.metaSteps, 1, MamlSpec::kMaxMetaSteps);
    range("inner_steps", m.innerSteps, 1, MamlSpec::kMaxInnerSteps);
    range("meta_batch", m.metaBatch, 1, MamlSpec::kMaxMetaBatch);
    range("support", m.support, 1, MamlSpec::kMaxPoints);
    range("query", m.query, 1, MamlSpec::kMaxPoints);
    range("record_every", m.recordEvery, 1, MamlSpec::kMaxMetaSteps);
    range("eval_tasks", m.evalTasks, 1, MamlSpec::kMaxEvalTasks);
    if (!(m.innerLr > 0 && m.innerLr <= 10))
        e.push_back(
            {"inner_lr", "inner_lr: must be a number > 0 and <= 10 (got " + num(m.innerLr) + ")"});
    if (!(m.metaLr > 0 && m.metaLr <= 1))
        e.push_back(
            {"meta_lr", "meta_lr: must be a number > 0 and <= 1 (got " + num(m.metaLr) + ")"});
    if (spec.arch != Arch::Mlp)
        e.push_back(
            {"arch", "arch: maml meta-learns an mlp (got arch " + archName(spec.arch) + ")"});
    if (spec.activation != ActivationKind::Tanh)
        e.push_back({"activation", "activation: maml's network is a tanh mlp (got " +
                                       Activation(spec.activation).name() + ")"});
    if (spec.inputDim != 1)
        e.push_back({"input_dim", "input_dim: a sine task has one input x (got input_dim " +
                                      std::to_string(spec.inputDim) + "; set input_dim 1)"});
    if (spec.data != "gaussian")
        e.push_back({"data", "data: maml draws its own sine tasks, and data is '" + spec.data +
                                 "' (set data gaussian)"});
    if (!spec.heads.empty())
        e.push_back({"heads", "heads: a sine task's output is the one-unit readout y, and the "
                              "spec has " +
                                  std::to_string(spec.heads.size()) +
                                  " head(s) (remove the heads)"});
    // the double-precision network is small by design: its loops are not the trainer's kernels
    long params = 0;
    if (spec.depth >= 1 && spec.depth <= Limits::kMaxDepth)
        for (int l = 1; l <= spec.depth + 1; ++l) {
            const long n = l <= spec.depth ? spec.widthOf(l) : 1;
            params += n * (l == 1 ? 1 : spec.widthOf(l - 1)) + n;
        }
    if (params > 2'000'000)
        e.push_back({"width", "width, depth: maml's network is limited to 2,000,000 parameters "
                              "(got " +
                                  std::to_string(params) + ")"});
    return e;
}

std::vector<SpecError> validateMamlViewSettings(const MamlViewSettings& v) {
    std::vector<SpecError> e;
    const auto range = [&](const char* field, int x, int lo, int hi) {
        if (x < lo || x > hi)
            e.push_back({std::string("view_settings.") + field,
                         std::string("view_settings.") + field + ": must be an integer from " +
                             std::to_string(lo) + " to " + std::to_string(hi) + " (got " +
                             std::to_string(x) + ")"});
    };
    range("meta_steps", v.metaSteps, 1, MamlViewSettings::kMaxViewMetaSteps);
    range("inner_steps", v.innerSteps, 1, MamlSpec::kMaxInnerSteps);
    range("seeds", v.seeds, 1, MamlViewSettings::kMaxSeeds);
    range("record_every", v.recordEvery, 1, MamlViewSettings::kMaxViewMetaSteps);
    range("support", v.support, 1, MamlSpec::kMaxPoints);
    range("query", v.query, 1, MamlSpec::kMaxPoints);
    if (!(v.innerLr > 0 && v.innerLr <= 10))
        e.push_back({"view_settings.inner_lr",
                     "view_settings.inner_lr: must be a number > 0 and <= 10 (got " +
                         num(v.innerLr) + ")"});
    if (!(v.metaLr > 0 && v.metaLr <= 1))
        e.push_back(
            {"view_settings.meta_lr",
             "view_settings.meta_lr: must be a number > 0 and <= 1 (got " + num(v.metaLr) + ")"});
    return e;
}

MamlSpec mamlSpecOf(const MamlViewSettings& v, MamlTasks tasks) {
    MamlSpec m;
    m.tasks = tasks;
    m.metaSteps = v.metaSteps;
    m.innerSteps = v.innerSteps;
    m.innerLr = v.innerLr;
    m.metaLr = v.metaLr;
    m.recordEvery = v.recordEvery;
    m.support = v.support;
    m.query = v.query;
    return m;
}

NetworkSpec mamlDefaultSpec() {
    NetworkSpec s;
    s.depth = 2;
    s.width = 40;
    s.inputDim = 1;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.biasInit = BiasInit::Zeros;
    s.batch = 128;
    s.seed = 1;
    return s;
}

int MamlShape::parameters() const {
    return biasOffset(layers()) + widths.back();
}

int MamlShape::weightOffset(int layer) const {
    int off = 0;
    for (int l = 1; l < layer; ++l)
        off += widths[std::size_t(l)] * (widths[std::size_t(l - 1)] + 1);
    return off;
}

int MamlShape::biasOffset(int layer) const {
    return weightOffset(layer) + widths[std::size_t(layer)] * widths[std::size_t(layer - 1)];
}

MamlShape mamlShape(const NetworkSpec& spec) {
    MamlShape s;
    for (int l = 0; l <= spec.depth; ++l)
        s.widths.push_back(spec.widthOf(l));
    s.widths.push_back(1);
    return s;
}

std::vector<double> mamlInitialParameters(const NetworkSpec& spec) {
    TrainSpec t;
    t.task = TrainTask::Teacher;
    t.outputs = 1;
    t.steps = 1;
    Trainer trainer(spec, t);
    const TrainParams& p = trainer.params();
    const MamlShape s = mamlShape(spec);
    std::vector<double> theta(static_cast<std::size_t>(s.parameters()));
    const auto put = [&](int l, const DenseLayer& d) {
        const int n = s.widths[std::size_t(l)], m = s.widths[std::size_t(l - 1)];
        for (int o = 0; o < n; ++o) {
            for (int i = 0; i < m; ++i)
                theta[std::size_t(s.weightOffset(l) + o * m + i)] = d.w(o, i);
            theta[std::size_t(s.biasOffset(l) + o)] = d.b(o, 0);
        }
    };
    for (int l = 1; l <= spec.depth; ++l)
        put(l, p.trunk[std::size_t(l - 1)]);
    put(spec.depth + 1, p.outputs.at(0).at(0));
    return theta;
}

double mamlLoss(const MamlShape& s, const std::vector<double>& theta, const std::vector<double>& x,
                const std::vector<double>& y, std::vector<double>* grad) {
    return lossAndGrad<double>(s, theta, x, y, grad);
}

std::vector<double> mamlHessianVector(const MamlShape& s, const std::vector<double>& theta,
                                      const std::vector<double>& x, const std::vector<double>& y,
                                      const std::vector<double>& v) {
    std::vector<Dual> th(theta.size());
    for (std::size_t i = 0; i < theta.size(); ++i)
        th[i] = Dual(theta[i], v[i]);
    std::vector<Dual> g;
    lossAndGrad<Dual>(s, th, x, y, &g);
    std::vector<double> hv(g.size());
    for (std::size_t i = 0; i < g.size(); ++i)
        hv[i] = g[i].d;
    return hv;
}

double mamlAdaptedLoss(const MamlShape& s, const std::vector<double>& theta, const SineTask& t,
                       int innerSteps, double innerLr) {
    const std::vector<double> k = adapt(s, theta, t, innerSteps, innerLr, nullptr);
    return lossAndGrad<double>(s, k, t.xQuery, t.yQuery, nullptr);
}

double mamlMetaGradient(const MamlShape& s, const std::vector<double>& theta, const SineTask& t,
                        int innerSteps, double innerLr, bool firstOrder,
                        std::vector<double>& grad) {
    std::vector<std::vector<double>> path;
    const std::vector<double> k = adapt(s, theta, t, innerSteps, innerLr, &path);
    const double loss = lossAndGrad<double>(s, k, t.xQuery, t.yQuery, &grad);
    if (firstOrder)
        return loss;
    // d theta_{j+1} / d theta_j = I - alpha H_S(theta_j) (symmetric): back from theta_k
    for (int j = innerSteps - 1; j >= 0; --j) {
        const std::vector<double> hv =
            mamlHessianVector(s, path[std::size_t(j)], t.xSupport, t.ySupport, grad);
        for (std::size_t i = 0; i < grad.size(); ++i)
            grad[i] -= innerLr * hv[i];
    }
    return loss;
}

MamlResult runMaml(const NetworkSpec& spec, const MamlSpec& m, MamlSink* sink,
                   const std::atomic<bool>* cancel) {
    if (auto errors = validateMaml(spec, m); !errors.empty())
        throw SpecInvalid(std::move(errors));
    const auto t0 = std::chrono::steady_clock::now();
    MamlResult r;
    r.spec = spec;
    r.maml = m;
    const MamlShape s = mamlShape(spec);
    const SineFamily fam = sineFamily(m.tasks);
    std::vector<double> theta = mamlInitialParameters(spec);
    std::vector<SineTask> evalTasks;
    for (int e = 0; e < m.evalTasks; ++e)
        evalTasks.push_back(
            sampleSineTask(fam, spec.seed, kEvalBase + std::uint64_t(e), m.support, m.query));
    const std::size_t P = theta.size();
    std::vector<double> mom(P, 0.0), vel(P, 0.0);
    constexpr double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    const int B = m.metaBatch;
    detail::inArena(spec.threads, [&] {
        std::vector<std::vector<double>> grads(static_cast<std::size_t>(B));
        std::vector<double> losses(static_cast<std::size_t>(B));
        for (int step = 0; step <= m.metaSteps; ++step) {
            const bool last = step == m.metaSteps;
            const bool rec = step % m.recordEvery == 0 || last;
            double metaLoss = kNaN;
            if (!last) {
                detail::forEachIndex(B, [&](int b) {
                    const SineTask t =
                        sampleSineTask(fam, spec.seed, std::uint64_t(step) * std::uint64_t(B) + b,
                                       m.support, m.query);
                    losses[std::size_t(b)] = mamlMetaGradient(s, theta, t, m.innerSteps, m.innerLr,
                                                              m.firstOrder, grads[std::size_t(b)]);
                });
                metaLoss = 0;
                std::vector<double> g(P, 0.0);
                for (int b = 0; b < B; ++b) {
                    metaLoss += losses[std::size_t(b)] / B;
                    for (std::size_t i = 0; i < P; ++i)
                        g[i] += grads[std::size_t(b)][i] / B;
                }
                if (!std::isfinite(metaLoss)) {
                    r.firstNonfiniteStep = step;
                } else {
                    // Adam on theta_0 (bias-corrected moments)
                    const double c1 = 1.0 - std::pow(beta1, step + 1);
                    const double c2 = 1.0 - std::pow(beta2, step + 1);
                    if (rec) {
                        MamlRecord x = measure(s, theta, m, fam, evalTasks);
                        x.metaStep = step;
                        x.metaLoss = metaLoss;
                        if (sink)
                            sink->record(x);
                        r.records.push_back(std::move(x));
                    }
                    for (std::size_t i = 0; i < P; ++i) {
                        mom[i] = beta1 * mom[i] + (1 - beta1) * g[i];
                        vel[i] = beta2 * vel[i] + (1 - beta2) * g[i] * g[i];
                        theta[i] -= m.metaLr * (mom[i] / c1) / (std::sqrt(vel[i] / c2) + eps);
                    }
                    if (sink)
                        sink->progress(step + 1);
                    if (detail::isCancelled(cancel)) {
                        r.cancelled = true;
                        break;
                    }
                    continue;
                }
            }
            // the end (or a non-finite meta-loss): measure theta_0 as it stands and stop
            MamlRecord x = measure(s, theta, m, fam, evalTasks);
            x.metaStep = step;
            x.metaLoss = metaLoss;
            if (sink)
                sink->record(x);
            r.records.push_back(std::move(x));
            break;
        }
    });
    r.learned = theta;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

nlohmann::json mamlResultToJson(const MamlResult& r) {
    using nlohmann::json;
    const SineFamily f = sineFamily(r.maml.tasks);
    json o;
    o["spec"] = specToJson(r.spec);
    o["maml"] = {{"tasks", mamlTasksName(r.maml.tasks)},
                 {"meta_steps", r.maml.metaSteps},
                 {"inner_steps", r.maml.innerSteps},
                 {"inner_lr", r.maml.innerLr},
                 {"meta_lr", r.maml.metaLr},
                 {"meta_optimizer", "adam"},
                 {"meta_batch", r.maml.metaBatch},
                 {"support", r.maml.support},
                 {"query", r.maml.query},
                 {"order", r.maml.firstOrder ? "first" : "second"},
                 {"record_every", r.maml.recordEvery},
                 {"eval_tasks", r.maml.evalTasks},
                 {"loss", "mean squared error"}};
    o["family"] = {{"amplitude", {f.ampLo, f.ampHi}},
                   {"frequency", {f.freqLo, f.freqHi}},
                   {"phase", {f.phaseLo, f.phaseHi}},
                   {"x", {f.xLo, f.xHi}}};
    json steps = json::array(), sw = json::array(), sb = json::array(), sat = json::array(),
         satL = json::array(), gn = json::array(), gnL = json::array(), pre = json::array(),
         post = json::array(), meta = json::array();
    for (const MamlRecord& x : r.records) {
        steps.push_back(x.metaStep);
        sw.push_back(jsonNumbers(x.sigmaW2));
        sb.push_back(jsonNumbers(x.sigmaB2));
        sat.push_back(jsonNumber(x.saturatedFraction));
        satL.push_back(jsonNumbers(x.saturatedLayers));
        gn.push_back(jsonNumber(x.innerGradNorm));
        gnL.push_back(jsonNumbers(x.innerGradLayers));
        pre.push_back(jsonNumber(x.preLoss));
        post.push_back(jsonNumber(x.postLoss));
        meta.push_back(jsonNumber(x.metaLoss));
    }
    o["meta_step"] = steps;
    o["sigma_w2"] = sw;
    o["sigma_b2"] = sb;
    o["saturated_fraction"] = sat;
    o["saturated_fraction_layers"] = satL;
    o["inner_grad_norm"] = gn;
    o["inner_grad_norm_layers"] = gnL;
    o["pre_adaptation_loss"] = pre;
    o["post_adaptation_loss"] = post;
    o["meta_loss"] = meta;
    json xav;
    if (!r.records.empty()) {
        const MamlRecord& x = r.records.front();
        const MamlShape s = mamlShape(r.spec);
        std::vector<double> expected;
        for (int l = 1; l <= s.layers(); ++l) {
            const double fin = s.widths[std::size_t(l - 1)], fout = s.widths[std::size_t(l)];
            // the spec's scheme as the trainer draws it (xavier: gain 2 fan_in / (fan_in+fan_out))
            expected.push_back(r.spec.init == InitScheme::XavierNormal ||
                                       r.spec.init == InitScheme::XavierUniform
                                   ? r.spec.gain * 2.0 * fin / (fin + fout)
                                   : kNaN);
        }
        xav = {{"init", initSchemeName(r.spec.init)},
               {"sigma_w2", jsonNumbers(x.sigmaW2)},
               {"sigma_w2_expected", jsonNumbers(expected)},
               {"saturated_fraction", jsonNumber(x.saturatedFraction)},
               {"saturated_fraction_layers", jsonNumbers(x.saturatedLayers)},
               {"inner_grad_norm", jsonNumber(x.innerGradNorm)},
               {"inner_grad_norm_layers", jsonNumbers(x.innerGradLayers)},
               {"pre_adaptation_loss", jsonNumber(x.preLoss)},
               {"post_adaptation_loss", jsonNumber(x.postLoss)}};
    }
    o["xavier"] = xav;
    o["first_nonfinite_step"] = r.firstNonfiniteStep;
    o["cancelled"] = r.cancelled;
    o["message"] = r.firstNonfiniteStep >= 0
                       ? "the meta-loss became non-finite at meta-step " +
                             std::to_string(r.firstNonfiniteStep) + " (lower --inner-lr)"
                       : "";
    o["seconds"] = r.seconds;
    return o;
}

NetworkSpec mamlLearnedSpec(const NetworkSpec& spec, const MamlRecord& learned) {
    NetworkSpec out = spec;
    const int L = spec.depth;
    double gain = 0, sb2 = 0;
    int n = 0;
    for (int l = (L >= 2 ? 2 : 1); l <= L; ++l, ++n)
        gain += learned.sigmaW2.at(std::size_t(l - 1));
    gain /= std::max(1, n);
    for (int l = 1; l <= L; ++l)
        sb2 += learned.sigmaB2.at(std::size_t(l - 1)) / L;
    out.init = InitScheme::LecunNormal;
    out.gain = std::clamp(gain, 1e-6, Limits::kMaxGain);
    out.biasInit = BiasInit::Normal;
    out.sigmaB2 = std::clamp(sb2, 0.0, Limits::kMaxSigmaB2);
    return out;
}

std::vector<double> mamlForward(const MamlShape& s, const std::vector<double>& theta,
                                const std::vector<double>& x) {
    const int L = s.layers();
    std::vector<double> act = x; // N_{l-1} x K, row-major (row = unit)
    const auto K = x.size();
    for (int l = 1; l <= L; ++l) {
        const int n = s.widths[std::size_t(l)], m = s.widths[std::size_t(l - 1)];
        std::vector<double> out(std::size_t(n) * K);
        for (int o = 0; o < n; ++o)
            for (std::size_t k = 0; k < K; ++k) {
                double h = theta[std::size_t(s.biasOffset(l) + o)];
                for (int i = 0; i < m; ++i)
                    h += theta[std::size_t(s.weightOffset(l) + o * m + i)] *
                         act[std::size_t(i) * K + k];
                out[std::size_t(o) * K + k] = l < L ? std::tanh(h) : h;
            }
        act = std::move(out);
    }
    return act;
}

MamlWeights mamlWeights(const NetworkSpec& spec, const std::vector<double>& theta) {
    const MamlShape s = mamlShape(spec);
    if (static_cast<int>(theta.size()) != s.parameters())
        throw std::invalid_argument("mamlWeights: " + std::to_string(theta.size()) +
                                    " parameters, the spec's network has " +
                                    std::to_string(s.parameters()));
    const auto layer = [&](int l, MatrixF& w, MatrixF& b) {
        const int n = s.widths[std::size_t(l)], m = s.widths[std::size_t(l - 1)];
        w.resize(n, m);
        b.resize(n, 1);
        for (int o = 0; o < n; ++o) {
            for (int i = 0; i < m; ++i)
                w(o, i) = static_cast<float>(theta[std::size_t(s.weightOffset(l) + o * m + i)]);
            b(o, 0) = static_cast<float>(theta[std::size_t(s.biasOffset(l) + o)]);
        }
    };
    MamlWeights out;
    const auto L = static_cast<std::size_t>(spec.depth);
    out.trunk.w.resize(L + 1);
    out.trunk.b.resize(L + 1);
    for (int l = 1; l <= spec.depth; ++l)
        layer(l, out.trunk.w[std::size_t(l)], out.trunk.b[std::size_t(l)]);
    layer(spec.depth + 1, out.readoutW, out.readoutB);
    return out;
}

double estimateMamlSeconds(const NetworkSpec& spec, const MamlSpec& m) {
    const MamlShape s = mamlShape(spec);
    const double P = s.parameters();
    const double pts = m.support + m.query;
    // one gradient ~ 6 P flops per point; a dual one ~ 4 times that; ~0.5 Gflop/s of scalar loops
    const double perTask =
        6 * P * (m.support * m.innerSteps * (m.firstOrder ? 1 : 5) + m.query + pts);
    const double records = double(m.metaSteps) / m.recordEvery + 2;
    const double flops = perTask * m.metaBatch * m.metaSteps +
                         records * m.evalTasks * 6 * P * (2 * pts + m.support * m.innerSteps);
    return flops / (0.5e9 * detail::workerCount(spec.threads));
}

} // namespace initscope

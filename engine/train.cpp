#include "train.h"

#include "activation.h"
#include "cost.h"
#include "data.h"
#include "engine.h"
#include "fields.h"
#include "network.h"
#include "parallel.h"
#include "report.h"
#include "rng.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace initscope {

std::string trainTaskName(TrainTask t) {
    return t == TrainTask::Teacher ? "teacher" : "fashion-mnist";
}

bool parseTrainTask(const std::string& name, TrainTask& out) {
    if (name == "fashion-mnist")
        out = TrainTask::FashionMnist;
    else if (name == "teacher")
        out = TrainTask::Teacher;
    else
        return false;
    return true;
}

std::string optimizerName(Optimizer o) {
    switch (o) {
    case Optimizer::Momentum:
        return "momentum";
    case Optimizer::Adam:
        return "adam";
    default:
        return "sgd";
    }
}

bool parseOptimizer(const std::string& name, Optimizer& out) {
    if (name == "sgd")
        out = Optimizer::Sgd;
    else if (name == "momentum")
        out = Optimizer::Momentum;
    else if (name == "adam")
        out = Optimizer::Adam;
    else
        return false;
    return true;
}

double TrainSpec::eta() const {
    if (!std::isnan(learningRate))
        return learningRate;
    switch (optimizer) {
    case Optimizer::Momentum:
        return 0.01; // an effective step eta / (1 - mu) = 0.1
    case Optimizer::Adam:
        return 0.001;
    default:
        return 0.05;
    }
}

std::vector<SpecError> validateTraining(const NetworkSpec& spec, const TrainSpec& t) {
    std::vector<SpecError> e;
    const auto num = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return std::string(buf);
    };
    if (t.steps < 1 || t.steps > TrainSpec::kMaxSteps)
        e.push_back({"steps", "steps: must be an integer from 1 to " +
                                  std::to_string(TrainSpec::kMaxSteps) + " (got " +
                                  std::to_string(t.steps) + ")"});
    const double eta = t.eta();
    if (!(eta > 0) || eta > 1e3)
        e.push_back({"learning_rate",
                     "learning_rate: must be a number > 0 and <= 1000 (got " + num(eta) + ")"});
    if (!(t.momentum >= 0 && t.momentum < 1))
        e.push_back({"momentum",
                     "momentum: must be a number from 0 to below 1 (got " + num(t.momentum) + ")"});
    if (!(t.beta1 >= 0 && t.beta1 < 1) || !(t.beta2 >= 0 && t.beta2 < 1))
        e.push_back({"beta", "beta1, beta2: must be numbers from 0 to below 1"});
    if (!(t.epsilon > 0))
        e.push_back({"epsilon", "epsilon: must be a number > 0 (got " + num(t.epsilon) + ")"});
    if (t.recordEvery < 0 || t.recordEvery > TrainSpec::kMaxSteps)
        e.push_back({"record_every", "record_every: must be an integer from 0 (only the first "
                                     "and last step) to " +
                                         std::to_string(TrainSpec::kMaxSteps) + " (got " +
                                         std::to_string(t.recordEvery) + ")"});
    if (t.testExamples < 1 || t.testExamples > TrainSpec::kMaxTestExamples)
        e.push_back({"test_examples", "test_examples: must be an integer from 1 to " +
                                          std::to_string(TrainSpec::kMaxTestExamples)});
    if (spec.arch != Arch::Mlp)
        e.push_back(
            {"arch", "arch: training runs on an mlp (got arch " + archName(spec.arch) + ")"});
    if (t.task == TrainTask::FashionMnist) {
        if (spec.data != "fashion-mnist")
            e.push_back({"data", "data: task fashion-mnist trains on the Fashion-MNIST images, "
                                 "and data is '" +
                                     spec.data + "' (set data fashion-mnist)"});
        if (t.outputs != 10)
            e.push_back({"outputs", "outputs: task fashion-mnist has its 10 classes (got " +
                                        std::to_string(t.outputs) + ")"});
    } else {
        if (spec.data != "gaussian")
            e.push_back({"data", "data: task teacher draws Gaussian inputs, and data is '" +
                                     spec.data + "' (set data gaussian)"});
        if (t.outputs < 1 || t.outputs > TrainSpec::kMaxOutputs)
            e.push_back({"outputs", "outputs: must be an integer from 1 to " +
                                        std::to_string(TrainSpec::kMaxOutputs)});
    }
    return e;
}

namespace {

// Columns per parallel task and rows per weight-gradient task: fixed, never derived from the
// thread count, so that every product has the same shape (and rounding) whatever the threads.
constexpr int kChunkCols = 64;
constexpr int kChunkRows = 128;

/// Seeds of the trainer's own streams: derived from the spec's seed by a tag, so that they never
/// coincide with the trunk's (seed, layer) streams nor with each other.
std::uint64_t streamSeed(std::uint64_t seed, std::uint64_t tag) {
    return mix64(seed ^ mix64(tag * 0x9e3779b97f4a7c15ULL + 0x7472616eULL));
}
constexpr std::uint64_t kReadoutTag = 1, kTeacherTag = 2, kBatchTag = 3;

template <class M> bool rowsEqual(const M& m) {
    for (Eigen::Index j = 0; j < m.cols(); ++j)
        for (Eigen::Index i = 1; i < m.rows(); ++i)
            if (!(m(i, j) == m(0, j)))
                return false;
    return true;
}
template <class M> bool colsEqual(const M& m) {
    for (Eigen::Index j = 1; j < m.cols(); ++j)
        for (Eigen::Index i = 0; i < m.rows(); ++i)
            if (!(m(i, j) == m(i, 0)))
                return false;
    return true;
}

/// out = l r. A GEMM rounds its rows (and columns) differently depending on where they fall in
/// its register tiles, so identical rows of l (or columns of r) would come out different in the
/// last bit; those are computed once and broadcast instead. Checking costs one comparison for a
/// random matrix (the first pair already differs).
template <class L, class R>
void product(const Eigen::MatrixBase<L>& l, const Eigen::MatrixBase<R>& r,
             Eigen::Ref<MatrixF> out) {
    const bool er = l.rows() > 1 && rowsEqual(l);
    const bool ec = r.cols() > 1 && colsEqual(r);
    if (er && ec) {
        out.setConstant((l.row(0) * r.col(0)).value());
    } else if (er) {
        const Eigen::RowVectorXf v = l.row(0) * r;
        out.rowwise() = v;
    } else if (ec) {
        const Eigen::VectorXf v = l * r.col(0);
        out.colwise() = v;
    } else {
        out.noalias() = l * r;
    }
}

/// Activations of one forward pass over a batch: trunk a^l, phi'(h^l), and every chain's
/// intermediate activations and its output (no phi after a chain's last layer).
struct Work {
    std::vector<MatrixF> a, d;                // trunk layers
    std::vector<std::vector<MatrixF>> ca, cd; // chains: layers but the last
    std::vector<MatrixF> out;                 // chains: outputs
    std::vector<MatrixF> g;                   // trunk dLoss/dh^l
    std::vector<std::vector<MatrixF>> cg;     // chains: dLoss/dh of each layer
};

void resizeWork(const TrainParams& p, int B, Work& w) {
    const std::size_t L = p.trunk.size();
    w.a.resize(L);
    w.d.resize(L);
    w.g.resize(L);
    for (std::size_t l = 0; l < L; ++l) {
        const auto n = p.trunk[l].w.rows();
        w.a[l].resize(n, B);
        w.d[l].resize(n, B);
        w.g[l].resize(n, B);
    }
    const std::size_t C = p.outputs.size();
    w.ca.resize(C);
    w.cd.resize(C);
    w.cg.resize(C);
    w.out.resize(C);
    for (std::size_t c = 0; c < C; ++c) {
        const auto& chain = p.outputs[c];
        w.ca[c].resize(chain.size() - 1);
        w.cd[c].resize(chain.size() - 1);
        w.cg[c].resize(chain.size());
        for (std::size_t j = 0; j < chain.size(); ++j) {
            const auto n = chain[j].w.rows();
            if (j + 1 < chain.size()) {
                w.ca[c][j].resize(n, B);
                w.cd[c][j].resize(n, B);
            }
            w.cg[c][j].resize(n, B);
        }
        w.out[c].resize(chain.back().w.rows(), B);
    }
}

/// h = W u + b for columns [c0, c0 + m), then a = phi(h), d = phi'(h) (or the bare h).
void denseChunk(const Activation& act, const DenseLayer& layer, const MatrixF& u, int c0, int m,
                MatrixF* a, MatrixF* d, MatrixF* linearOut) {
    MatrixF h(layer.w.rows(), m);
    product(layer.w, u.middleCols(c0, m), h);
    h.colwise() += layer.b.col(0);
    if (linearOut) {
        linearOut->middleCols(c0, m) = h;
        return;
    }
    act.apply(h.data(), a->col(c0).data(), d->col(c0).data(), static_cast<std::size_t>(h.size()));
}

/// The forward pass of columns [c0, c0 + m) of x.
void forwardChunk(const Activation& act, const TrainParams& p, const MatrixF& x, int c0, int m,
                  Work& w) {
    const std::size_t L = p.trunk.size();
    for (std::size_t l = 0; l < L; ++l)
        denseChunk(act, p.trunk[l], l == 0 ? x : w.a[l - 1], c0, m, &w.a[l], &w.d[l], nullptr);
    for (std::size_t c = 0; c < p.outputs.size(); ++c) {
        const auto& chain = p.outputs[c];
        for (std::size_t j = 0; j < chain.size(); ++j) {
            const MatrixF& u = j == 0 ? w.a[L - 1] : w.ca[c][j - 1];
            if (j + 1 < chain.size())
                denseChunk(act, chain[j], u, c0, m, &w.ca[c][j], &w.cd[c][j], nullptr);
            else
                denseChunk(act, chain[j], u, c0, m, nullptr, nullptr, &w.out[c]);
        }
    }
}

TrainParams zerosLike(const TrainParams& p) {
    TrainParams z = p;
    for (auto& l : z.trunk) {
        l.w.setZero();
        l.b.setZero();
    }
    for (auto& chain : z.outputs)
        for (auto& l : chain) {
            l.w.setZero();
            l.b.setZero();
        }
    return z;
}

/// Every tensor of the trunk (unless skipped) and the chains, in one fixed order.
template <class P, class F> void forEachTensor(P& p, bool trunk, F&& f) {
    if (trunk)
        for (auto& l : p.trunk) {
            f(l.w);
            f(l.b);
        }
    for (auto& chain : p.outputs)
        for (auto& l : chain) {
            f(l.w);
            f(l.b);
        }
}
template <class P> auto tensors(P& p, bool trunk) {
    std::vector<decltype(&p.trunk[0].w)> v;
    forEachTensor(p, trunk, [&](auto& m) { v.push_back(&m); });
    return v;
}

/// Each row's sum over the columns, in column order (the same additions for every row, so equal
/// rows give equal sums; Eigen's vectorised row sums treat their tail rows differently).
void rowSums(const Eigen::Ref<const MatrixF>& g, Eigen::Ref<MatrixF> out) {
    for (Eigen::Index i = 0; i < g.rows(); ++i) {
        float s = 0;
        for (Eigen::Index b = 0; b < g.cols(); ++b)
            s += g(i, b);
        out(i, 0) = s;
    }
}

/// A dense layer in -> out initialised as the spec's scheme does it (weightScale's arithmetic,
/// network.cpp): scale * Z with Z from `seed`'s stream `index`, biases from the spec's bias init.
DenseLayer initLayer(const NetworkSpec& spec, InitScheme scheme, double gain, std::uint64_t seed,
                     int index, int in, int out) {
    const DrawKind kind = drawKind(scheme);
    const double var = scheme == InitScheme::Zeros || scheme == InitScheme::Constant
                           ? 0.0
                           : gain * baseVariance(scheme, spec.fanMode, in, out, spec.initValue);
    const double scale = scheme == InitScheme::Zeros      ? 0.0
                         : scheme == InitScheme::Constant ? std::sqrt(gain) * spec.initValue
                                                          : std::sqrt(var);
    DenseLayer l;
    const MatrixF z = kind == DrawKind::None   ? MatrixF::Zero(out, in)
                      : kind == DrawKind::Ones ? MatrixF::Ones(out, in)
                                               : drawStandard(kind, seed, index, out, in);
    l.w = static_cast<float>(scale) * z;
    switch (spec.biasInit) {
    case BiasInit::Zeros:
        l.b = MatrixF::Zero(out, 1);
        break;
    case BiasInit::Constant:
        l.b = MatrixF::Constant(out, 1, static_cast<float>(spec.biasValue));
        break;
    case BiasInit::Normal:
        l.b = static_cast<float>(std::sqrt(spec.sigmaB2)) * drawBiasStandard(seed, index, out);
        break;
    }
    return l;
}

} // namespace

// ---- the trainer --------------------------------------------------------------------------

struct Trainer::Impl {
    NetworkSpec spec;
    TrainSpec train;
    Activation act{ActivationKind::Tanh};
    TrainParams params;
    TrainParams m1, m2; // optimizer state: velocity (momentum), first and second moments (adam)
    long updates = 0;
    Engine engine; // the probe (and OpenBLAS kept to one thread per call)
    std::shared_ptr<const Dataset> data;
    TrainParams teacher;
    Work work, testWork, teacherWork;
    MatrixF testX;
    Targets testY;
    mutable int permEpoch = -1;
    mutable std::vector<int> perm;

    Evaluation evaluate(const MatrixF& x, const Targets& y, TrainParams* grads, Work& w);
};

Trainer::Trainer(const NetworkSpec& spec, const TrainSpec& train) : d_(std::make_unique<Impl>()) {
    std::vector<SpecError> errors = validate(spec);
    for (auto& e : validateTraining(spec, train))
        errors.push_back(std::move(e));
    if (!errors.empty())
        throw SpecInvalid(std::move(errors));
    d_->spec = spec;
    d_->train = train;
    d_->act = Activation(spec.activation, spec.activationSlope);
    const Network net = buildNetwork(spec);
    const auto draws = fetchDraws(net, nullptr);
    const DenseWeights dw = materializeDense(net, draws, nullptr);
    const int L = spec.depth;
    for (int l = 1; l <= L; ++l)
        d_->params.trunk.push_back(
            {dw.w[static_cast<std::size_t>(l)], dw.b[static_cast<std::size_t>(l)]});
    // the readout: its own stream, the spec's scheme with its own fans
    const int nL = spec.widthOf(L), K = train.outputs;
    d_->params.outputs.push_back(
        {initLayer(spec, spec.init, spec.gain, streamSeed(spec.seed, kReadoutTag), 1, nL, K)});
    d_->m1 = zerosLike(d_->params);
    d_->m2 = zerosLike(d_->params);
    if (train.task == TrainTask::FashionMnist) {
        d_->data = loadFashionMnist();
    } else {
        // a random teacher of the student's shape on a stream of its own; a scheme without
        // randomness (zeros, constant) would make a constant target, so it gets lecun-normal
        const bool flat = spec.init == InitScheme::Zeros || spec.init == InitScheme::Constant;
        const InitScheme scheme = flat ? InitScheme::LecunNormal : spec.init;
        const double gain = flat ? 1.0 : spec.gain;
        NetworkSpec ts = spec;
        ts.biasInit = BiasInit::Zeros;
        const std::uint64_t seed = streamSeed(spec.seed, kTeacherTag);
        for (int l = 1; l <= L; ++l)
            d_->teacher.trunk.push_back(
                initLayer(ts, scheme, gain, seed, l, spec.widthOf(l - 1), spec.widthOf(l)));
        d_->teacher.outputs.push_back(
            {initLayer(ts, InitScheme::LecunNormal, 1.0, seed, L + 1, nL, K)});
    }
}

Trainer::~Trainer() = default;

const NetworkSpec& Trainer::spec() const {
    return d_->spec;
}
const TrainSpec& Trainer::train() const {
    return d_->train;
}
const TrainParams& Trainer::params() const {
    return d_->params;
}
TrainParams& Trainer::params() {
    return d_->params;
}

void Trainer::batch(int step, MatrixF& x, Targets& y) const {
    const NetworkSpec& s = d_->spec;
    const int B = s.batch;
    x.resize(s.inputDim, B);
    y.labels.clear();
    if (d_->train.task == TrainTask::FashionMnist) {
        const Dataset& data = *d_->data;
        const int perEpoch = std::max(1, data.trainCount / B);
        const int epoch = step / perEpoch, k = step % perEpoch;
        if (epoch != d_->permEpoch) {
            d_->perm = dataPermutationPrefix(
                streamSeed(s.seed, kBatchTag + 16 * static_cast<std::uint64_t>(epoch)),
                data.trainCount, data.trainCount);
            d_->permEpoch = epoch;
        }
        const auto scale = static_cast<float>(s.inputScale);
        for (int b = 0; b < B; ++b) {
            const int i = d_->perm[static_cast<std::size_t>(k * B + b)];
            float* col = x.col(b).data();
            if (s.standardize)
                data.standardizedExample(i, col);
            else
                data.rawExample(i, col);
            x.col(b) *= scale;
            y.labels.push_back(data.trainLabels[static_cast<std::size_t>(i)]);
        }
        return;
    }
    Rng rng(streamSeed(s.seed, kBatchTag), Stream::Inputs, static_cast<std::uint64_t>(step));
    rng.fillNormal(x.data(), static_cast<std::size_t>(x.size()));
    x = (static_cast<float>(s.inputScale) * x.array() + static_cast<float>(s.inputMean)).matrix();
    Work& w = d_->teacherWork;
    resizeWork(d_->teacher, B, w);
    const int chunks = (B + kChunkCols - 1) / kChunkCols;
    detail::inArena(s.threads, [&] {
        detail::forEachIndex(chunks, [&](int c) {
            const int c0 = c * kChunkCols, m = std::min(kChunkCols, B - c0);
            forwardChunk(d_->act, d_->teacher, x, c0, m, w);
        });
    });
    y.values = w.out[0];
}

Trainer::Evaluation Trainer::Impl::evaluate(const MatrixF& x, const Targets& y, TrainParams* grads,
                                            Work& w) {
    const int B = static_cast<int>(x.cols());
    const bool classify = train.task == TrainTask::FashionMnist;
    const bool trunkGrads = grads && !train.freezeTrunk;
    resizeWork(params, B, w);
    const int chunks = (B + kChunkCols - 1) / kChunkCols;
    std::vector<double> loss(static_cast<std::size_t>(chunks), 0.0);
    std::vector<int> correct(static_cast<std::size_t>(chunks), 0);
    const std::size_t L = params.trunk.size();
    const auto& chain = params.outputs[0];
    const float invB = 1.0f / static_cast<float>(B);

    detail::forEachIndex(chunks, [&](int c) {
        const int c0 = c * kChunkCols, m = std::min(kChunkCols, B - c0);
        forwardChunk(act, params, x, c0, m, w);
        // the loss and dLoss/d(output) of every column
        MatrixF& out = w.out[0];
        MatrixF& g = w.cg[0].back();
        double lsum = 0;
        int hits = 0;
        for (int b = c0; b < c0 + m; ++b) {
            auto z = out.col(b);
            if (classify) {
                const int label = y.labels[static_cast<std::size_t>(b)];
                Eigen::Index arg = 0;
                const float zmax = z.maxCoeff(&arg);
                hits += arg == label ? 1 : 0;
                const Eigen::VectorXf e = (z.array() - zmax).exp().matrix();
                const double sum = e.cast<double>().sum();
                lsum += std::log(sum) + zmax - z(label);
                if (grads) {
                    g.col(b) = (e.array() * static_cast<float>(1.0 / sum)).matrix();
                    g(label, b) -= 1.0f;
                    g.col(b) *= invB;
                }
            } else {
                const auto diff = z - y.values.col(b);
                lsum += 0.5 * diff.cast<double>().squaredNorm();
                if (grads)
                    g.col(b) = diff * invB;
            }
        }
        loss[static_cast<std::size_t>(c)] = lsum;
        correct[static_cast<std::size_t>(c)] = hits;
        if (!grads)
            return;
        // back through the chain to a^L, then through the trunk
        for (std::size_t j = chain.size() - 1; j-- > 0;) {
            auto gj = w.cg[0][j].middleCols(c0, m);
            product(chain[j + 1].w.transpose(), w.cg[0][j + 1].middleCols(c0, m), gj);
            gj.array() *= w.cd[0][j].middleCols(c0, m).array();
        }
        if (!trunkGrads)
            return;
        auto top = w.g[L - 1].middleCols(c0, m);
        product(chain[0].w.transpose(), w.cg[0][0].middleCols(c0, m), top);
        top.array() *= w.d[L - 1].middleCols(c0, m).array();
        for (std::size_t l = L - 1; l > 0; --l) {
            auto gl = w.g[l - 1].middleCols(c0, m);
            product(params.trunk[l].w.transpose(), w.g[l].middleCols(c0, m), gl);
            gl.array() *= w.d[l - 1].middleCols(c0, m).array();
        }
    });
    Evaluation ev;
    double lsum = 0;
    int hits = 0;
    for (int c = 0; c < chunks; ++c) {
        lsum += loss[static_cast<std::size_t>(c)];
        hits += correct[static_cast<std::size_t>(c)];
    }
    ev.loss = lsum / B;
    ev.accuracy = classify ? static_cast<double>(hits) / B : kNaN;
    if (!grads)
        return ev;

    // dW = G U^T by row blocks of every layer (fixed blocks: the same products whatever the
    // threads), db = the rows' sums over the batch
    struct Job {
        const MatrixF* g;
        const MatrixF* u;
        DenseLayer* out;
        int r0, rows;
    };
    std::vector<Job> jobs;
    const auto add = [&](const MatrixF& g, const MatrixF& u, DenseLayer& out) {
        for (int r0 = 0; r0 < g.rows(); r0 += kChunkRows)
            jobs.push_back(
                {&g, &u, &out, r0, std::min<int>(kChunkRows, static_cast<int>(g.rows()) - r0)});
    };
    if (trunkGrads)
        for (std::size_t l = 0; l < L; ++l)
            add(w.g[l], l == 0 ? x : w.a[l - 1], grads->trunk[l]);
    for (std::size_t j = 0; j < chain.size(); ++j)
        add(w.cg[0][j], j == 0 ? w.a[L - 1] : w.ca[0][j - 1], grads->outputs[0][j]);
    detail::forEachIndex(static_cast<int>(jobs.size()), [&](int i) {
        const Job& jb = jobs[static_cast<std::size_t>(i)];
        const auto gr = jb.g->middleRows(jb.r0, jb.rows);
        product(gr, jb.u->transpose(), jb.out->w.middleRows(jb.r0, jb.rows));
        rowSums(gr, jb.out->b.middleRows(jb.r0, jb.rows));
    });
    if (!trunkGrads && grads)
        for (auto& l : grads->trunk) {
            l.w.setZero();
            l.b.setZero();
        }
    return ev;
}

Trainer::Evaluation Trainer::lossAndGradients(const MatrixF& x, const Targets& y,
                                              TrainParams* grads) {
    if (grads && (grads->trunk.size() != d_->params.trunk.size() ||
                  grads->outputs.size() != d_->params.outputs.size()))
        *grads = zerosLike(d_->params);
    Evaluation ev;
    detail::inArena(d_->spec.threads, [&] { ev = d_->evaluate(x, y, grads, d_->work); });
    return ev;
}

void Trainer::apply(const TrainParams& g) {
    Impl& s = *d_;
    const bool trunk = !s.train.freezeTrunk;
    const auto p = tensors(s.params, trunk);
    const auto gt = tensors(g, trunk);
    const auto v1 = tensors(s.m1, trunk);
    const auto v2 = tensors(s.m2, trunk);
    ++s.updates;
    const float eta = static_cast<float>(s.train.eta());
    const Optimizer opt = s.train.optimizer;
    const float mu = static_cast<float>(s.train.momentum);
    const float b1 = static_cast<float>(s.train.beta1), b2 = static_cast<float>(s.train.beta2);
    const float eps = static_cast<float>(s.train.epsilon);
    const auto t = static_cast<double>(s.updates);
    const float c1 = static_cast<float>(1.0 - std::pow(s.train.beta1, t));
    const float c2 = static_cast<float>(1.0 - std::pow(s.train.beta2, t));
    detail::inArena(s.spec.threads, [&] {
        detail::forEachIndex(static_cast<int>(p.size()), [&](int i) {
            const auto k = static_cast<std::size_t>(i);
            // plain loops of exactly rounded operations (no Eigen packet math: its fast float
            // sqrt is an approximation that the scalar tail does not share), so equal entries
            // get equal updates
            float* w = p[k]->data();
            const float* gr = gt[k]->data();
            float* m = v1[k]->data();
            float* v = v2[k]->data();
            const auto n = static_cast<std::size_t>(p[k]->size());
            switch (opt) {
            case Optimizer::Sgd:
                for (std::size_t j = 0; j < n; ++j)
                    w[j] -= eta * gr[j];
                break;
            case Optimizer::Momentum: // heavy ball: v = mu v + g, w -= eta v
                for (std::size_t j = 0; j < n; ++j) {
                    m[j] = mu * m[j] + gr[j];
                    w[j] -= eta * m[j];
                }
                break;
            case Optimizer::Adam: // Kingma & Ba 2015, with bias correction
                for (std::size_t j = 0; j < n; ++j) {
                    m[j] = b1 * m[j] + (1.0f - b1) * gr[j];
                    v[j] = b2 * v[j] + (1.0f - b2) * gr[j] * gr[j];
                    w[j] -= eta * (m[j] / c1) / (std::sqrt(v[j] / c2) + eps);
                }
                break;
            }
        });
    });
}

Trainer::Evaluation Trainer::test() {
    Impl& s = *d_;
    if (s.train.task != TrainTask::FashionMnist)
        return {};
    const Dataset& data = *s.data;
    const int T = std::min(s.train.testExamples, data.testCount);
    if (s.testX.cols() != T) {
        s.testX.resize(data.dim, T);
        s.testY.labels.assign(static_cast<std::size_t>(T), 0);
        const auto dim = static_cast<std::size_t>(data.dim);
        const auto scale = static_cast<float>(s.spec.inputScale);
        for (int i = 0; i < T; ++i) {
            // the training set's standardisation (Dataset::standardizedExample's arithmetic)
            const std::size_t off = static_cast<std::size_t>(i) * dim;
            for (std::size_t j = 0; j < dim; ++j) {
                const float raw = static_cast<float>(data.testPixels[off + j]);
                float v = raw;
                if (s.spec.standardize) {
                    const double c = raw - data.mean[j];
                    v = static_cast<float>(data.stddev[j] > 0 ? c / data.stddev[j] : c);
                }
                s.testX(static_cast<Eigen::Index>(j), i) = v * scale;
            }
            s.testY.labels[static_cast<std::size_t>(i)] =
                data.testLabels[static_cast<std::size_t>(i)];
        }
    }
    Evaluation ev;
    detail::inArena(s.spec.threads,
                    [&] { ev = s.evaluate(s.testX, s.testY, nullptr, s.testWork); });
    return ev;
}

RunResult Trainer::probe(const std::atomic<bool>* cancel) {
    NetworkSpec ps = d_->spec;
    ps.learningRate = d_->train.eta();             // relative_update of the training step size
    if (d_->updates == 0 || d_->train.freezeTrunk) // the run's own weights: exactly `run`
        return d_->engine.run(ps, nullptr, cancel);
    DenseWeights w;
    w.w.resize(d_->params.trunk.size() + 1);
    w.b.resize(d_->params.trunk.size() + 1);
    for (std::size_t l = 0; l < d_->params.trunk.size(); ++l) {
        w.w[l + 1] = d_->params.trunk[l].w;
        w.b[l + 1] = d_->params.trunk[l].b;
    }
    return d_->engine.runWithWeights(ps, w, nullptr, cancel);
}

// ---- the loop -----------------------------------------------------------------------------

TrainResult trainNetwork(const NetworkSpec& spec, const TrainSpec& train, TrainSink* sink,
                         const std::atomic<bool>* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    Trainer trainer(spec, train);
    TrainResult r;
    r.spec = spec;
    r.train = train;
    const bool classify = train.task == TrainTask::FashionMnist;
    MatrixF x;
    Targets y;
    TrainParams grads;
    for (int step = 0; step <= train.steps; ++step) {
        if (detail::isCancelled(cancel)) {
            r.cancelled = true;
            break;
        }
        TrainStep st;
        st.step = step;
        trainer.batch(step, x, y);
        const bool last = step == train.steps;
        const auto ev = trainer.lossAndGradients(x, y, last ? nullptr : &grads);
        st.loss = ev.loss;
        st.accuracy = ev.accuracy;
        st.recorded = step == 0 || last || (train.recordEvery > 0 && step % train.recordEvery == 0);
        const bool finite = std::isfinite(st.loss);
        if (!finite && r.firstNonfiniteStep < 0) {
            r.firstNonfiniteStep = step;
            st.recorded = true; // show the network where it broke
        }
        if (st.recorded) {
            RunResult pr = trainer.probe(cancel);
            if (pr.cancelled) {
                r.cancelled = true;
                break;
            }
            st.layers = std::move(pr.layers);
            if (classify) {
                const auto te = trainer.test();
                st.testAccuracy = te.accuracy;
                st.testLoss = te.loss;
            }
        }
        if (sink)
            sink->step(st);
        r.steps.push_back(std::move(st));
        if (!finite)
            break;
        if (!last)
            trainer.apply(grads);
    }
    if (!r.steps.empty() && r.steps.back().step == train.steps)
        r.testAccuracy = r.steps.back().testAccuracy;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

nlohmann::json trainResultToJson(const TrainResult& r) {
    using nlohmann::json;
    const bool classify = r.train.task == TrainTask::FashionMnist;
    json t;
    t["task"] = trainTaskName(r.train.task);
    t["optimizer"] = optimizerName(r.train.optimizer);
    t["learning_rate"] = r.train.eta();
    if (r.train.optimizer == Optimizer::Momentum)
        t["momentum"] = r.train.momentum;
    if (r.train.optimizer == Optimizer::Adam) {
        t["beta1"] = r.train.beta1;
        t["beta2"] = r.train.beta2;
        t["epsilon"] = r.train.epsilon;
    }
    t["steps"] = r.train.steps;
    t["batch"] = r.spec.batch;
    t["record_every"] = r.train.recordEvery;
    t["freeze_trunk"] = r.train.freezeTrunk;
    t["outputs"] = r.train.outputs;
    if (classify)
        t["test_examples"] = r.train.testExamples;
    json steps = json::array();
    for (const TrainStep& s : r.steps) {
        json o;
        o["step"] = s.step;
        o["loss"] = jsonNumber(s.loss);
        if (classify)
            o["accuracy"] = jsonNumber(s.accuracy);
        if (s.recorded) {
            if (classify) {
                o["test_accuracy"] = jsonNumber(s.testAccuracy);
                o["test_loss"] = jsonNumber(s.testLoss);
            }
            json layers = json::array();
            for (const LayerStats& l : s.layers)
                layers.push_back(layerToJson(l, false));
            o["layers"] = layers;
        }
        steps.push_back(o);
    }
    json o;
    o["spec"] = specToJson(r.spec);
    o["train"] = t;
    o["arch"] = archName(r.spec.arch);
    o["stage"] = "layer";
    o["steps"] = steps;
    if (classify)
        o["test_accuracy"] = jsonNumber(r.testAccuracy);
    o["first_nonfinite_step"] =
        r.firstNonfiniteStep >= 0 ? json(r.firstNonfiniteStep) : json(nullptr);
    o["message"] = r.firstNonfiniteStep >= 0
                       ? "the loss is not finite from step " +
                             std::to_string(r.firstNonfiniteStep) + " (training stopped there)"
                       : "";
    o["seconds"] = r.seconds;
    return o;
}

double estimateTrainSeconds(const NetworkSpec& spec, const TrainSpec& train) {
    const CostRates& rates = costRates();
    const int cores = detail::workerCount(spec.threads);
    double weights = 0;
    for (int l = 1; l <= spec.depth; ++l)
        weights += static_cast<double>(spec.widthOf(l)) * spec.widthOf(l - 1);
    weights += static_cast<double>(spec.widthOf(spec.depth)) * train.outputs;
    const double chunks = std::ceil(spec.batch / 64.0);
    const double perStep = 6.0 * weights * spec.batch / rates.floatGemmFlops /
                           std::min<double>(cores, std::max(chunks, 2.0));
    const int recorded = 2 + (train.recordEvery > 0 ? train.steps / train.recordEvery : 0);
    const double test = train.task == TrainTask::FashionMnist
                            ? 2.0 * weights * train.testExamples / rates.floatGemmFlops / cores
                            : 0.0;
    return (train.steps + 1) * perStep + recorded * (estimateRunSeconds(spec) + test);
}

} // namespace initscope

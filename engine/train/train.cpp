#include "train/train.h"

#include "core/activation.h"
#include "core/cost.h"
#include "core/data.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "network/engine.h"
#include "network/heads.h"
#include "network/network.h"
#include "spec/fields.h"
#include "stats/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
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

int TrainSpec::classCount() const {
    if (task == TrainTask::Teacher)
        return outputs;
    return classes.empty() ? 10 : static_cast<int>(classes.size());
}

bool TrainSpec::operator==(const TrainSpec& o) const {
    const bool eta =
        learningRate == o.learningRate || (std::isnan(learningRate) && std::isnan(o.learningRate));
    return eta && steps == o.steps && task == o.task && optimizer == o.optimizer &&
           momentum == o.momentum && beta1 == o.beta1 && beta2 == o.beta2 && epsilon == o.epsilon &&
           freezeTrunk == o.freezeTrunk && recordEvery == o.recordEvery && outputs == o.outputs &&
           testExamples == o.testExamples && classes == o.classes &&
           pretrainSteps == o.pretrainSteps && pretrainClasses == o.pretrainClasses;
}

bool trainSpecFromJson(const nlohmann::json& block, TrainSpec& out,
                       std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    if (!block.is_object()) {
        errors.push_back({"train", "train: must be an object of training settings, e.g. "
                                   "{\"steps\": 200}"});
        return false;
    }
    TrainSpec t;
    const auto err = [&](const std::string& key, const std::string& what) {
        errors.push_back({"train." + key, "train." + key + ": " + what});
    };
    const auto integer = [&](const std::string& key, const nlohmann::json& v, int& to) {
        if (!v.is_number_integer() || v.get<std::int64_t>() < -1000000000 ||
            v.get<std::int64_t>() > 1000000000)
            err(key, "must be an integer");
        else
            to = v.get<int>();
    };
    const auto number = [&](const std::string& key, const nlohmann::json& v, double& to) {
        if (!v.is_number() || !std::isfinite(v.get<double>()))
            err(key, "must be a number");
        else
            to = v.get<double>();
    };
    const auto classes = [&](const std::string& key, const nlohmann::json& v,
                             std::vector<int>& to) {
        bool ok = v.is_array() && v.size() <= 10;
        if (ok)
            for (const auto& x : v)
                ok = ok && x.is_number_integer();
        if (!ok)
            err(key, "must be a list of Fashion-MNIST classes 0..9, e.g. [5, 6, 7, 8, 9]");
        else
            to = v.get<std::vector<int>>();
    };
    bool outputsGiven = false;
    for (const auto& [key, v] : block.items()) {
        if (key == "steps")
            integer(key, v, t.steps);
        else if (key == "pretrain_steps")
            integer(key, v, t.pretrainSteps);
        else if (key == "record_every")
            integer(key, v, t.recordEvery);
        else if (key == "test_examples")
            integer(key, v, t.testExamples);
        else if (key == "outputs") {
            integer(key, v, t.outputs);
            outputsGiven = true;
        } else if (key == "learning_rate")
            number(key, v, t.learningRate);
        else if (key == "momentum")
            number(key, v, t.momentum);
        else if (key == "beta1")
            number(key, v, t.beta1);
        else if (key == "beta2")
            number(key, v, t.beta2);
        else if (key == "epsilon")
            number(key, v, t.epsilon);
        else if (key == "classes")
            classes(key, v, t.classes);
        else if (key == "pretrain_classes")
            classes(key, v, t.pretrainClasses);
        else if (key == "freeze_trunk") {
            if (!v.is_boolean())
                err(key, "must be true or false");
            else
                t.freezeTrunk = v.get<bool>();
        } else if (key == "task") {
            if (!v.is_string() || !parseTrainTask(v.get<std::string>(), t.task))
                err(key, "must be fashion-mnist or teacher");
        } else if (key == "optimizer") {
            if (!v.is_string() || !parseOptimizer(v.get<std::string>(), t.optimizer))
                err(key, "must be sgd, momentum or adam");
        } else {
            err(printable(key), "unknown key (train takes steps, task, optimizer, learning_rate, "
                                "momentum, beta1, beta2, epsilon, freeze_trunk, record_every, "
                                "outputs, test_examples, classes, pretrain_steps, "
                                "pretrain_classes)");
        }
    }
    if (!outputsGiven && t.task == TrainTask::FashionMnist && !t.classes.empty())
        t.outputs = static_cast<int>(t.classes.size());
    if (errors.size() != before)
        return false;
    out = t;
    return true;
}

nlohmann::json trainSpecToJson(const TrainSpec& t) {
    const TrainSpec d;
    nlohmann::json o;
    o["steps"] = t.steps;
    if (t.task != d.task)
        o["task"] = trainTaskName(t.task);
    if (t.optimizer != d.optimizer)
        o["optimizer"] = optimizerName(t.optimizer);
    if (!std::isnan(t.learningRate))
        o["learning_rate"] = t.learningRate;
    if (t.momentum != d.momentum)
        o["momentum"] = t.momentum;
    if (t.beta1 != d.beta1)
        o["beta1"] = t.beta1;
    if (t.beta2 != d.beta2)
        o["beta2"] = t.beta2;
    if (t.epsilon != d.epsilon)
        o["epsilon"] = t.epsilon;
    if (t.freezeTrunk)
        o["freeze_trunk"] = true;
    if (t.recordEvery != d.recordEvery)
        o["record_every"] = t.recordEvery;
    if (t.outputs != d.outputs && !(t.task == TrainTask::FashionMnist && !t.classes.empty()))
        o["outputs"] = t.outputs;
    if (t.testExamples != d.testExamples)
        o["test_examples"] = t.testExamples;
    if (!t.classes.empty())
        o["classes"] = t.classes;
    if (t.pretrainSteps != 0)
        o["pretrain_steps"] = t.pretrainSteps;
    if (!t.pretrainClasses.empty())
        o["pretrain_classes"] = t.pretrainClasses;
    return o;
}

bool parseClassList(const std::string& text, std::vector<int>& out, std::string& error) {
    std::vector<int> v;
    std::set<int> seen;
    std::size_t i = 0;
    const auto bad = [&](const std::string& why) {
        error = "must be Fashion-MNIST classes 0..9 as ranges and commas, e.g. 0-4 or 0,2,7 (" +
                why + ": '" + text.substr(0, 40) + "')";
        return false;
    };
    while (i <= text.size()) {
        const std::size_t end = std::min(text.find(',', i), text.size());
        const std::string part = text.substr(i, end - i);
        const std::size_t dash = part.find('-');
        const auto digit = [](const std::string& d, int& x) {
            if (d.size() != 1 || d[0] < '0' || d[0] > '9')
                return false;
            x = d[0] - '0';
            return true;
        };
        int a = 0, b = 0;
        if (dash == std::string::npos) {
            if (!digit(part, a))
                return bad("not a class");
            b = a;
        } else if (!digit(part.substr(0, dash), a) || !digit(part.substr(dash + 1), b) || b < a) {
            return bad("not a range");
        }
        for (int c = a; c <= b; ++c) {
            if (!seen.insert(c).second)
                return bad("class " + std::to_string(c) + " twice");
            v.push_back(c);
        }
        i = end + 1;
    }
    out = std::move(v);
    return true;
}

std::string classListText(const std::vector<int>& classes) {
    std::string s;
    for (std::size_t i = 0; i < classes.size();) {
        std::size_t j = i;
        while (j + 1 < classes.size() && classes[j + 1] == classes[j] + 1)
            ++j;
        s += (s.empty() ? "" : ",") + std::to_string(classes[i]);
        if (j > i)
            s += "-" + std::to_string(classes[j]);
        i = j + 1;
    }
    return s;
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
        if (t.outputs != t.classCount())
            e.push_back(
                {"outputs", "outputs: task fashion-mnist has " +
                                (t.classes.empty() ? std::string("its 10 classes")
                                                   : std::to_string(t.classCount()) + " classes (" +
                                                         classListText(t.classes) + ")") +
                                " (got " + std::to_string(t.outputs) + ")"});
    } else {
        if (spec.data != "gaussian")
            e.push_back({"data", "data: task teacher draws Gaussian inputs, and data is '" +
                                     spec.data + "' (set data gaussian)"});
        if (t.outputs < 1 || t.outputs > TrainSpec::kMaxOutputs)
            e.push_back({"outputs", "outputs: must be an integer from 1 to " +
                                        std::to_string(TrainSpec::kMaxOutputs)});
        if (!t.classes.empty())
            e.push_back({"classes", "classes: apply to task fashion-mnist only, and task is "
                                    "teacher (leave classes out)"});
    }
    const auto checkClasses = [&](const std::vector<int>& c, const char* field) {
        std::set<int> u(c.begin(), c.end());
        if (u.size() != c.size() || (!c.empty() && (*u.begin() < 0 || *u.rbegin() > 9)) ||
            c.size() == 1)
            e.push_back({field, std::string(field) +
                                    ": must be 2 to 10 distinct Fashion-MNIST classes 0..9 (got " +
                                    classListText(c) + ")"});
    };
    checkClasses(t.classes, "classes");
    checkClasses(t.pretrainClasses, "pretrain_classes");
    if (t.pretrainSteps < 0 || t.pretrainSteps > TrainSpec::kMaxSteps)
        e.push_back({"pretrain_steps", "pretrain_steps: must be an integer from 0 to " +
                                           std::to_string(TrainSpec::kMaxSteps) + " (got " +
                                           std::to_string(t.pretrainSteps) + ")"});
    if (t.pretrainSteps > 0 && t.task != TrainTask::FashionMnist)
        e.push_back({"pretrain_steps", "pretrain_steps: the transfer pre-trains on Fashion-MNIST "
                                       "classes, and task is teacher (set task fashion-mnist)"});
    if (t.pretrainSteps > 0 && t.pretrainClasses.empty())
        e.push_back({"pretrain_classes", "pretrain_classes: pretrain_steps " +
                                             std::to_string(t.pretrainSteps) +
                                             " needs the classes to pre-train on (e.g. 0-4)"});
    if (t.pretrainSteps == 0 && !t.pretrainClasses.empty())
        e.push_back({"pretrain_classes", "pretrain_classes: are ignored without pretrain_steps "
                                         "(set pretrain_steps or leave pretrain_classes out)"});
    // every head is a chain of the task: its last width is the task's outputs
    if (t.task == TrainTask::FashionMnist)
        for (std::size_t i = 0; i < spec.heads.size(); ++i)
            if (!spec.heads[i].widths.empty() && spec.heads[i].widths.back() != t.classCount())
                e.push_back({"heads", "heads[" + std::to_string(i) +
                                          "].widths: its last entry is the head's outputs, and "
                                          "task fashion-mnist has " +
                                          std::to_string(t.classCount()) + " classes (got " +
                                          std::to_string(spec.heads[i].widths.back()) + ")"});
    return e;
}

namespace {

// Columns per parallel task and rows per weight-gradient task: fixed, never derived from the
// thread count, so that every product has the same shape (and rounding) whatever the threads.
constexpr int kChunkCols = 64;
constexpr int kChunkRows = 128;
/// Columns per block of an evaluation without gradients (a multiple of kChunkCols).
constexpr int kEvalBlock = 16 * kChunkCols;

/// Seeds of the trainer's own streams: derived from the spec's seed by a tag, so that they never
/// coincide with the trunk's (seed, layer) streams nor with each other.
std::uint64_t streamSeed(std::uint64_t seed, std::uint64_t tag) {
    return mix64(seed ^ mix64(tag * 0x9e3779b97f4a7c15ULL + 0x7472616eULL));
}
constexpr std::uint64_t kReadoutTag = 1, kTeacherTag = 2, kBatchTag = 3, kPretrainTag = 4;

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
/// intermediate activations and its output (no phi after a chain's last layer); the gradients
/// only when a backward pass follows.
struct Work {
    std::vector<MatrixF> a, d;                // trunk layers
    std::vector<std::vector<MatrixF>> ca, cd; // chains: layers but the last
    std::vector<MatrixF> out;                 // chains: outputs
    std::vector<MatrixF> g;                   // trunk dLoss/dh^l
    std::vector<std::vector<MatrixF>> cg;     // chains: dLoss/dh of each layer
};

/// Sizes `w` for B columns (a no-op when it already has them: the buffers live across steps).
void resizeWork(const TrainParams& p, int B, Work& w, bool grads = true) {
    const auto fit = [&](MatrixF& m, Eigen::Index n) {
        if (m.rows() != n || m.cols() != B)
            m.resize(n, B);
    };
    const std::size_t L = p.trunk.size();
    w.a.resize(L);
    w.d.resize(L);
    if (grads)
        w.g.resize(L);
    for (std::size_t l = 0; l < L; ++l) {
        const auto n = p.trunk[l].w.rows();
        fit(w.a[l], n);
        fit(w.d[l], n);
        if (grads)
            fit(w.g[l], n);
    }
    const std::size_t C = p.outputs.size();
    w.ca.resize(C);
    w.cd.resize(C);
    if (grads)
        w.cg.resize(C);
    w.out.resize(C);
    for (std::size_t c = 0; c < C; ++c) {
        const auto& chain = p.outputs[c];
        w.ca[c].resize(chain.size() - 1);
        w.cd[c].resize(chain.size() - 1);
        if (grads)
            w.cg[c].resize(chain.size());
        for (std::size_t j = 0; j < chain.size(); ++j) {
            const auto n = chain[j].w.rows();
            if (j + 1 < chain.size()) {
                fit(w.ca[c][j], n);
                fit(w.cd[c][j], n);
            }
            if (grads)
                fit(w.cg[c][j], n);
        }
        fit(w.out[c], chain.back().w.rows());
    }
}

/// h = W u + b for u's columns [uc0, uc0 + m) into columns [oc0, oc0 + m) of the outputs, then
/// a = phi(h), d = phi'(h) (or the bare h). h lives in a per-thread buffer (no allocation per
/// step).
void denseChunk(const Activation& act, const DenseLayer& layer, const MatrixF& u, int uc0, int m,
                int oc0, MatrixF* a, MatrixF* d, MatrixF* linearOut) {
    const auto n = layer.w.rows();
    if (linearOut) {
        auto h = linearOut->middleCols(oc0, m);
        product(layer.w, u.middleCols(uc0, m), h);
        h.colwise() += layer.b.col(0);
        return;
    }
    thread_local MatrixF h;
    if (h.rows() != n || h.cols() != m)
        h.resize(n, m);
    product(layer.w, u.middleCols(uc0, m), h);
    h.colwise() += layer.b.col(0);
    act.apply(h.data(), a->col(oc0).data(), d->col(oc0).data(), static_cast<std::size_t>(h.size()));
}

/// The forward pass of x's columns [xc0, xc0 + m) into the work's columns [wc0, wc0 + m).
void forwardChunk(const Activation& act, const TrainParams& p, const MatrixF& x, int xc0, int wc0,
                  int m, Work& w) {
    const std::size_t L = p.trunk.size();
    for (std::size_t l = 0; l < L; ++l)
        denseChunk(act, p.trunk[l], l == 0 ? x : w.a[l - 1], l == 0 ? xc0 : wc0, m, wc0, &w.a[l],
                   &w.d[l], nullptr);
    for (std::size_t c = 0; c < p.outputs.size(); ++c) {
        const auto& chain = p.outputs[c];
        for (std::size_t j = 0; j < chain.size(); ++j) {
            const MatrixF& u = j == 0 ? w.a[L - 1] : w.ca[c][j - 1];
            if (j + 1 < chain.size())
                denseChunk(act, chain[j], u, wc0, m, wc0, &w.ca[c][j], &w.cd[c][j], nullptr);
            else
                denseChunk(act, chain[j], u, wc0, m, wc0, nullptr, nullptr, &w.out[c]);
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
    // column by column into every row's sum: each row still adds its entries in column order,
    // and the inner loop runs down a contiguous column (vectorised, no tail rows treated apart:
    // the additions are elementwise)
    const Eigen::Index n = g.rows();
    float* s = out.data();
    for (Eigen::Index i = 0; i < n; ++i)
        s[i] = 0;
    for (Eigen::Index b = 0; b < g.cols(); ++b) {
        const float* col = g.col(b).data();
        for (Eigen::Index i = 0; i < n; ++i)
            s[i] += col[i];
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
    std::vector<float> chainWeight;     // loss weight of each output chain (the readout: 1)
    std::vector<std::string> headNames; // the spec's heads (empty: the chain is the readout)
    std::vector<int> classIndex;        // label 0..9 -> 0..K-1, or -1 outside TrainSpec::classes
    std::vector<int> pool;              // training images of those classes (empty: all)
    bool trunkGiven = false;            // setTrunk: the probe measures given weights
    MatrixF probeX;                     // the run's inputs (headDiagnostics)
    std::vector<Evaluation> lastPerChain;
    Work probeWork;
    std::vector<double> pixelMean, pixelStd; // the standardisation (0 and 1 without)
    // One arena for the trainer's life: a step runs three parallel loops, and an arena made per
    // call has its workers join anew each time
    std::unique_ptr<tbb::task_arena> arena;
    template <class F> void parallel(F&& f) {
        detail::singleThreadedBlas();
        if (!arena)
            arena = std::make_unique<tbb::task_arena>(detail::workerCount(spec.threads));
        arena->execute(f);
    }

    /// One image's input: Dataset::standardizedExample's arithmetic (or the raw pixels), times
    /// the input scale, in one vectorised pass.
    void inputOf(const std::uint8_t* px, float* out);

    /// Loss and accuracy (and `grads` of the weighted total loss) of every chain on (x, y);
    /// `perChain` receives each chain's own (unweighted) loss and accuracy. With onlyChain >= 0
    /// only that chain's loss, with weight 1, reaches the gradients; forceTrunk computes the
    /// trunk's gradient even when it is frozen.
    Evaluation evaluate(const MatrixF& x, const Targets& y, TrainParams* grads, Work& w,
                        std::vector<Evaluation>* perChain = nullptr, int onlyChain = -1,
                        bool forceTrunk = false);
    /// test(), with each chain's loss and accuracy in `perChain` (may be null).
    Evaluation testAll(std::vector<Evaluation>* perChain);
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
    const int nL = spec.widthOf(L), K = train.outputs;
    if (spec.heads.empty()) {
        // the readout: its own stream, the spec's scheme with its own fans (after a transfer's
        // pre-training a fresh one, on a stream the pre-training's readout does not use)
        const std::uint64_t tag = train.pretrainSteps > 0 ? kPretrainTag : kReadoutTag;
        d_->params.outputs.push_back(
            {initLayer(spec, spec.init, spec.gain, streamSeed(spec.seed, tag), 1, nL, K)});
        d_->chainWeight.push_back(1.0f);
    } else {
        // the heads: exactly the weights `run` draws for them (network.cpp, buildHeads)
        for (const HeadPlan& h : net.heads) {
            std::vector<DenseLayer> chain;
            for (const DenseStage& st : h.layers) {
                const auto w = static_cast<std::size_t>(st.weight);
                const auto b = static_cast<std::size_t>(st.bias);
                chain.push_back(
                    {materialize(net.params[w], *draws[w]), materialize(net.params[b], *draws[b])});
            }
            d_->params.outputs.push_back(std::move(chain));
            d_->chainWeight.push_back(static_cast<float>(h.lossWeight));
            d_->headNames.push_back(h.name);
        }
    }
    d_->classIndex.assign(10, -1);
    for (int c = 0; c < 10; ++c)
        if (train.classes.empty())
            d_->classIndex[static_cast<std::size_t>(c)] = c;
    for (std::size_t i = 0; i < train.classes.size(); ++i)
        d_->classIndex[static_cast<std::size_t>(train.classes[i])] = static_cast<int>(i);
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
        if (spec.heads.empty())
            d_->teacher.outputs.push_back(
                {initLayer(ts, InitScheme::LecunNormal, 1.0, seed, L + 1, nL, K)});
        for (const HeadSpec& h : spec.heads) // each head regresses onto a readout of its own
            d_->teacher.outputs.push_back(
                {initLayer(ts, InitScheme::LecunNormal, 1.0,
                           streamSeed(headStreamSeed(spec.seed, h.name), kTeacherTag), 1, nL,
                           h.widths.back())});
    }
    if (train.task == TrainTask::FashionMnist && !train.classes.empty()) {
        const Dataset& data = *d_->data;
        for (int i = 0; i < data.trainCount; ++i)
            if (d_->classIndex[data.trainLabels[static_cast<std::size_t>(i)]] >= 0)
                d_->pool.push_back(i);
        if (static_cast<int>(d_->pool.size()) < spec.batch)
            throw SpecInvalid(
                {{"batch", "batch: " + std::to_string(spec.batch) + " is more than the " +
                               std::to_string(d_->pool.size()) + " training images of classes " +
                               classListText(train.classes)}});
    }
}

Trainer::~Trainer() = default;

void Trainer::Impl::inputOf(const std::uint8_t* px, float* out) {
    const Dataset& ds = *data;
    const auto dim = static_cast<std::size_t>(ds.dim);
    if (pixelMean.empty()) {
        // (raw - mean) / std, or raw - mean where std = 0: a division by 1 is exact, so one
        // branch-free (vectorised) loop does both
        pixelMean.assign(dim, 0.0);
        pixelStd.assign(dim, 1.0);
        if (spec.standardize)
            for (std::size_t j = 0; j < dim; ++j) {
                pixelMean[j] = ds.mean[j];
                pixelStd[j] = ds.stddev[j] > 0 ? ds.stddev[j] : 1.0;
            }
    }
    const double* mean = pixelMean.data();
    const double* sd = pixelStd.data();
    const auto scale = static_cast<float>(spec.inputScale);
    for (std::size_t j = 0; j < dim; ++j) {
        const auto raw = static_cast<float>(px[j]);
        out[j] = static_cast<float>((static_cast<double>(raw) - mean[j]) / sd[j]) * scale;
    }
}

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
        // all images, or the pool of the chosen classes (a permutation of the pool per epoch)
        const bool pooled = !d_->pool.empty();
        const int count = pooled ? static_cast<int>(d_->pool.size()) : data.trainCount;
        const int perEpoch = std::max(1, count / B);
        const int epoch = step / perEpoch, k = step % perEpoch;
        if (epoch != d_->permEpoch) {
            d_->perm = dataPermutationPrefix(
                streamSeed(s.seed, kBatchTag + 16 * static_cast<std::uint64_t>(epoch)), count,
                count);
            d_->permEpoch = epoch;
        }
        const auto dim = static_cast<std::size_t>(data.dim);
        for (int b = 0; b < B; ++b) {
            const int p = d_->perm[static_cast<std::size_t>(k * B + b)];
            const int i = pooled ? d_->pool[static_cast<std::size_t>(p)] : p;
            d_->inputOf(data.trainPixels.data() + static_cast<std::size_t>(i) * dim,
                        x.col(b).data());
            y.labels.push_back(d_->classIndex[data.trainLabels[static_cast<std::size_t>(i)]]);
        }
        return;
    }
    Rng rng(streamSeed(s.seed, kBatchTag), Stream::Inputs, static_cast<std::uint64_t>(step));
    rng.fillNormal(x.data(), static_cast<std::size_t>(x.size()));
    x = (static_cast<float>(s.inputScale) * x.array() + static_cast<float>(s.inputMean)).matrix();
    Work& w = d_->teacherWork;
    resizeWork(d_->teacher, B, w, false);
    const int chunks = (B + kChunkCols - 1) / kChunkCols;
    d_->parallel([&] {
        detail::forEachIndex(chunks, [&](int c) {
            const int c0 = c * kChunkCols, m = std::min(kChunkCols, B - c0);
            forwardChunk(d_->act, d_->teacher, x, c0, c0, m, w);
        });
    });
    y.values = w.out[0];
    y.moreValues.assign(w.out.begin() + 1, w.out.end());
}

Trainer::Evaluation Trainer::Impl::evaluate(const MatrixF& x, const Targets& y, TrainParams* grads,
                                            Work& w, std::vector<Evaluation>* perChain,
                                            int onlyChain, bool forceTrunk) {
    const int B = static_cast<int>(x.cols());
    const bool classify = train.task == TrainTask::FashionMnist;
    const bool trunkGrads = grads && (!train.freezeTrunk || forceTrunk);
    const int chunks = (B + kChunkCols - 1) / kChunkCols;
    const std::size_t L = params.trunk.size();
    const std::size_t C = params.outputs.size();
    // per (chunk, chain): the summed loss and the hits, combined in a fixed order below
    std::vector<double> loss(static_cast<std::size_t>(chunks) * C, 0.0);
    std::vector<int> correct(static_cast<std::size_t>(chunks) * C, 0);
    const float invB = 1.0f / static_cast<float>(B);
    const auto scaleOf = [&](std::size_t c) {
        if (onlyChain >= 0)
            return static_cast<int>(c) == onlyChain ? invB : 0.0f;
        return chainWeight[c] == 1.0f ? invB : invB * chainWeight[c];
    };
    const auto targetsOf = [&](std::size_t c) -> const MatrixF& {
        return c == 0 ? y.values : y.moreValues[c - 1];
    };

    // without a backward pass (the test set) the columns go through in blocks of a small work,
    // chunk by chunk exactly as one batch would
    const int block = grads ? B : std::min(B, kEvalBlock);
    resizeWork(params, block, w, grads != nullptr);
    for (int b0 = 0; b0 < B; b0 += block) {
        const int nb = std::min(block, B - b0);
        detail::forEachIndex((nb + kChunkCols - 1) / kChunkCols, [&](int k) {
            const int c0 = k * kChunkCols, m = std::min(kChunkCols, nb - c0);
            const int xc0 = b0 + c0, ci = xc0 / kChunkCols;
            forwardChunk(act, params, x, xc0, c0, m, w);
            for (std::size_t c = 0; c < C; ++c) {
                // the loss and dLoss/d(output) of every column
                MatrixF& out = w.out[c];
                MatrixF* g = grads ? &w.cg[c].back() : nullptr;
                const float gs = scaleOf(c);
                double lsum = 0;
                int hits = 0;
                thread_local Eigen::VectorXf e;
                for (int b = c0; b < c0 + m; ++b) {
                    const int bx = b0 + b; // the column of x and y
                    auto z = out.col(b);
                    if (classify) {
                        const int label = y.labels[static_cast<std::size_t>(bx)];
                        Eigen::Index arg = 0;
                        const float zmax = z.maxCoeff(&arg);
                        hits += arg == label ? 1 : 0;
                        e = (z.array() - zmax).exp().matrix();
                        const double sum = e.cast<double>().sum();
                        lsum += std::log(sum) + zmax - z(label);
                        if (grads) {
                            g->col(b) = (e.array() * static_cast<float>(1.0 / sum)).matrix();
                            (*g)(label, b) -= 1.0f;
                            g->col(b) *= gs;
                        }
                    } else {
                        const auto diff = z - targetsOf(c).col(bx);
                        lsum += 0.5 * diff.cast<double>().squaredNorm();
                        if (grads)
                            g->col(b) = diff * gs;
                    }
                }
                loss[static_cast<std::size_t>(ci) * C + c] = lsum;
                correct[static_cast<std::size_t>(ci) * C + c] = hits;
            }
            if (!grads)
                return;
            // back through each chain to its first layer, then (summed over the chains, in their
            // order) into a^L and through the trunk
            for (std::size_t c = 0; c < C; ++c) {
                const auto& chain = params.outputs[c];
                for (std::size_t j = chain.size() - 1; j-- > 0;) {
                    auto gj = w.cg[c][j].middleCols(c0, m);
                    product(chain[j + 1].w.transpose(), w.cg[c][j + 1].middleCols(c0, m), gj);
                    gj.array() *= w.cd[c][j].middleCols(c0, m).array();
                }
            }
            if (!trunkGrads)
                return;
            auto top = w.g[L - 1].middleCols(c0, m);
            bool first = true;
            for (std::size_t c = 0; c < C; ++c) {
                if (onlyChain >= 0 && static_cast<int>(c) != onlyChain)
                    continue;
                const auto& chain = params.outputs[c];
                if (first) {
                    product(chain[0].w.transpose(), w.cg[c][0].middleCols(c0, m), top);
                    first = false;
                } else {
                    MatrixF more(top.rows(), m);
                    product(chain[0].w.transpose(), w.cg[c][0].middleCols(c0, m), more);
                    top += more;
                }
            }
            top.array() *= w.d[L - 1].middleCols(c0, m).array();
            for (std::size_t l = L - 1; l > 0; --l) {
                auto gl = w.g[l - 1].middleCols(c0, m);
                product(params.trunk[l].w.transpose(), w.g[l].middleCols(c0, m), gl);
                gl.array() *= w.d[l - 1].middleCols(c0, m).array();
            }
        });
    }
    Evaluation ev;
    ev.loss = 0;
    if (perChain)
        perChain->assign(C, Evaluation{});
    for (std::size_t c = 0; c < C; ++c) {
        double lsum = 0;
        int hits = 0;
        for (int ci = 0; ci < chunks; ++ci) {
            lsum += loss[static_cast<std::size_t>(ci) * C + c];
            hits += correct[static_cast<std::size_t>(ci) * C + c];
        }
        const double lc = lsum / B, ac = classify ? static_cast<double>(hits) / B : kNaN;
        // the total: sum_h weight_h loss_h (the readout alone: its loss)
        ev.loss += C == 1 && chainWeight[0] == 1.0f ? lc : chainWeight[c] * lc;
        if (c == 0)
            ev.accuracy = ac; // the first chain's (the readout's, or head 0's)
        if (perChain)
            (*perChain)[c] = {lc, ac};
    }
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
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t j = 0; j < params.outputs[c].size(); ++j)
            add(w.cg[c][j], j == 0 ? w.a[L - 1] : w.ca[c][j - 1], grads->outputs[c][j]);
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
    d_->parallel([&] { ev = d_->evaluate(x, y, grads, d_->work, &d_->lastPerChain); });
    return ev;
}

const std::vector<Trainer::Evaluation>& Trainer::chainEvaluations() const {
    return d_->lastPerChain;
}

std::vector<Trainer::Evaluation> Trainer::testChains() {
    std::vector<Evaluation> per;
    d_->testAll(&per);
    return per;
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
    s.parallel([&] {
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
    return d_->testAll(nullptr);
}

Trainer::Evaluation Trainer::Impl::testAll(std::vector<Evaluation>* perChain) {
    Impl& s = *this;
    if (s.train.task != TrainTask::FashionMnist)
        return {};
    const Dataset& ds = *s.data;
    if (s.testX.cols() == 0) {
        // the first testExamples held-out images of the trained classes, in file order
        std::vector<int> chosen;
        for (int i = 0; i < ds.testCount && static_cast<int>(chosen.size()) < s.train.testExamples;
             ++i)
            if (s.classIndex[ds.testLabels[static_cast<std::size_t>(i)]] >= 0)
                chosen.push_back(i);
        const int T = static_cast<int>(chosen.size());
        s.testX.resize(ds.dim, T);
        s.testY.labels.assign(static_cast<std::size_t>(T), 0);
        const auto dim = static_cast<std::size_t>(ds.dim);
        for (int k = 0; k < T; ++k) {
            const int i = chosen[static_cast<std::size_t>(k)];
            // the training set's standardisation
            s.inputOf(ds.testPixels.data() + static_cast<std::size_t>(i) * dim,
                      s.testX.col(k).data());
            s.testY.labels[static_cast<std::size_t>(k)] =
                s.classIndex[ds.testLabels[static_cast<std::size_t>(i)]];
        }
    }
    Evaluation ev;
    s.parallel([&] { ev = s.evaluate(s.testX, s.testY, nullptr, s.testWork, perChain); });
    return ev;
}

void Trainer::setTrunk(const std::vector<DenseLayer>& trunk) {
    auto& mine = d_->params.trunk;
    if (trunk.size() != mine.size())
        throw std::invalid_argument("setTrunk: " + std::to_string(mine.size()) + " layers needed");
    for (std::size_t l = 0; l < trunk.size(); ++l)
        if (trunk[l].w.rows() != mine[l].w.rows() || trunk[l].w.cols() != mine[l].w.cols() ||
            trunk[l].b.rows() != mine[l].b.rows())
            throw std::invalid_argument("setTrunk: layer " + std::to_string(l + 1) +
                                        " has the wrong shape");
    mine = trunk;
    d_->trunkGiven = true;
}

std::vector<HeadStep> Trainer::headDiagnostics(const MatrixF& x, const Targets& y) {
    Impl& s = *d_;
    std::vector<HeadStep> out;
    if (s.headNames.empty())
        return out;
    const std::size_t C = s.params.outputs.size();
    out.resize(C);
    std::vector<Evaluation> per;
    TrainParams g;
    double total = 0;
    for (std::size_t c = 0; c < C; ++c) {
        HeadStep& h = out[c];
        h.name = s.headNames[c];
        g = zerosLike(s.params);
        s.parallel([&] { s.evaluate(x, y, &g, s.work, &per, static_cast<int>(c), true); });
        h.loss = per[c].loss;
        h.accuracy = per[c].accuracy;
        double gw = 0, gt = 0;
        for (const DenseLayer& l : g.outputs[c])
            gw += l.w.cast<double>().squaredNorm();
        for (const DenseLayer& l : g.trunk)
            gt += l.w.cast<double>().squaredNorm() + l.b.cast<double>().squaredNorm();
        const double wt = s.chainWeight[c];
        h.gradW2 = gw;
        h.trunkGrad2 = wt * wt * gt;
        total += h.trunkGrad2;
    }
    for (HeadStep& h : out)
        h.trunkShare = total > 0 ? h.trunkGrad2 / total : kNaN;
    // each head's output on the probe batch (the run's inputs)
    if (s.probeX.cols() == 0)
        s.probeX = drawInputs(s.spec, s.spec.batch);
    resizeWork(s.params, static_cast<int>(s.probeX.cols()), s.probeWork, false);
    const int B = static_cast<int>(s.probeX.cols());
    const int chunks = (B + kChunkCols - 1) / kChunkCols;
    s.parallel([&] {
        detail::forEachIndex(chunks, [&](int ci) {
            const int c0 = ci * kChunkCols, m = std::min(kChunkCols, B - c0);
            forwardChunk(s.act, s.params, s.probeX, c0, c0, m, s.probeWork);
        });
    });
    for (std::size_t c = 0; c < C; ++c) {
        const Eigen::MatrixXd o = s.probeWork.out[c].cast<double>();
        const double mean = o.mean();
        out[c].outMean = mean;
        out[c].outStd = std::sqrt((o.array() - mean).square().mean());
    }
    return out;
}

RunResult Trainer::probe(const std::atomic<bool>* cancel) {
    NetworkSpec ps = d_->spec;
    ps.learningRate = d_->train.eta(); // relative_update of the training step size
    // the run's own weights: exactly `run`
    if (!d_->trunkGiven && (d_->updates == 0 || d_->train.freezeTrunk))
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

namespace {

/// The loop of one phase: `train.steps` updates of `trainer`, each step streamed to `sink`
/// (marked `pretraining`) and kept in `out`. Returns false when cancelled.
bool trainLoop(Trainer& trainer, const TrainSpec& train, bool pretraining, TrainSink* sink,
               const std::atomic<bool>* cancel, std::vector<TrainStep>& out, int& firstNonfinite) {
    const bool classify = train.task == TrainTask::FashionMnist;
    const bool heads = !trainer.spec().heads.empty();
    MatrixF x;
    Targets y;
    TrainParams grads;
    for (int step = 0; step <= train.steps; ++step) {
        if (detail::isCancelled(cancel))
            return false;
        TrainStep st;
        st.step = step;
        st.pretraining = pretraining;
        trainer.batch(step, x, y);
        const bool last = step == train.steps;
        const auto ev = trainer.lossAndGradients(x, y, last ? nullptr : &grads);
        st.loss = ev.loss;
        st.accuracy = ev.accuracy;
        st.recorded = step == 0 || last || (train.recordEvery > 0 && step % train.recordEvery == 0);
        const bool finite = std::isfinite(st.loss);
        if (!finite && firstNonfinite < 0) {
            firstNonfinite = step;
            st.recorded = true; // show the network where it broke
        }
        if (heads) {
            const auto& per = trainer.chainEvaluations();
            for (std::size_t c = 0; c < per.size(); ++c) {
                HeadStep h;
                h.name = trainer.spec().heads[c].name;
                h.loss = per[c].loss;
                h.accuracy = per[c].accuracy;
                st.heads.push_back(std::move(h));
            }
        }
        if (st.recorded) {
            RunResult pr = trainer.probe(cancel);
            if (pr.cancelled)
                return false;
            st.layers = std::move(pr.layers);
            if (heads) {
                const auto diag = trainer.headDiagnostics(x, y);
                for (std::size_t c = 0; c < diag.size(); ++c) {
                    st.heads[c].outMean = diag[c].outMean;
                    st.heads[c].outStd = diag[c].outStd;
                    st.heads[c].gradW2 = diag[c].gradW2;
                    st.heads[c].trunkGrad2 = diag[c].trunkGrad2;
                    st.heads[c].trunkShare = diag[c].trunkShare;
                }
            }
            if (classify) {
                const auto per = trainer.testChains();
                double tl = 0;
                for (std::size_t c = 0; c < per.size(); ++c) {
                    const double w = heads ? trainer.spec().heads[c].weight : 1.0;
                    tl += per.size() == 1 && w == 1.0 ? per[c].loss : w * per[c].loss;
                    if (heads) {
                        st.heads[c].testAccuracy = per[c].accuracy;
                        st.heads[c].testLoss = per[c].loss;
                    }
                }
                st.testAccuracy = per.empty() ? kNaN : per[0].accuracy;
                st.testLoss = tl;
            }
        }
        if (sink)
            sink->step(st);
        out.push_back(std::move(st));
        if (!finite)
            return true;
        if (!last)
            trainer.apply(grads);
    }
    return true;
}

} // namespace

TrainResult trainNetwork(const NetworkSpec& spec, const TrainSpec& train, TrainSink* sink,
                         const std::atomic<bool>* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    Trainer trainer(spec, train); // validates everything before any pre-training
    TrainResult r;
    r.spec = spec;
    r.train = train;
    if (train.pretrainSteps > 0) {
        // transfer, phase 1: the trunk with a readout of its own on the pre-training classes
        NetworkSpec ps = spec;
        ps.heads.clear();
        TrainSpec pt = train;
        pt.steps = train.pretrainSteps;
        pt.classes = train.pretrainClasses;
        pt.outputs = static_cast<int>(pt.classes.size());
        pt.pretrainSteps = 0;
        pt.pretrainClasses.clear();
        pt.freezeTrunk = false;
        Trainer pre(ps, pt);
        int nonfinite = -1;
        if (!trainLoop(pre, pt, true, sink, cancel, r.pretrainSteps, nonfinite)) {
            r.cancelled = true;
        } else if (nonfinite >= 0) {
            r.firstNonfiniteStep = nonfinite; // nothing to transfer
        } else {
            r.pretrainTestAccuracy = r.pretrainSteps.back().testAccuracy;
            trainer.setTrunk(pre.params().trunk); // phase 2 from the pretrained trunk
        }
        if (r.cancelled || nonfinite >= 0) {
            r.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            return r;
        }
    }
    if (!trainLoop(trainer, train, false, sink, cancel, r.steps, r.firstNonfiniteStep))
        r.cancelled = true;
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
    if (!r.train.classes.empty()) // extra keys only when used: plain runs print as before
        t["classes"] = r.train.classes;
    if (r.train.pretrainSteps > 0) {
        t["pretrain_steps"] = r.train.pretrainSteps;
        t["pretrain_classes"] = r.train.pretrainClasses;
    }
    const auto stepsJson = [&](const std::vector<TrainStep>& list) {
        json steps = json::array();
        for (const TrainStep& s : list) {
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
            if (!s.heads.empty()) {
                json hs = json::array();
                for (const HeadStep& h : s.heads) {
                    json ho;
                    ho["name"] = h.name;
                    ho["loss"] = jsonNumber(h.loss);
                    if (classify)
                        ho["accuracy"] = jsonNumber(h.accuracy);
                    if (s.recorded) {
                        if (classify) {
                            ho["test_accuracy"] = jsonNumber(h.testAccuracy);
                            ho["test_loss"] = jsonNumber(h.testLoss);
                        }
                        ho["out_mean"] = jsonNumber(h.outMean);
                        ho["out_std"] = jsonNumber(h.outStd);
                        ho["grad_w2"] = jsonNumber(h.gradW2);
                        ho["trunk_grad2"] = jsonNumber(h.trunkGrad2);
                        ho["trunk_share"] = jsonNumber(h.trunkShare);
                    }
                    hs.push_back(std::move(ho));
                }
                o["heads"] = hs;
            }
            steps.push_back(o);
        }
        return steps;
    };
    const json steps = stepsJson(r.steps);
    json o;
    o["spec"] = specToJson(r.spec);
    o["train"] = t;
    o["arch"] = archName(r.spec.arch);
    o["stage"] = "layer";
    o["steps"] = steps;
    if (classify)
        o["test_accuracy"] = jsonNumber(r.testAccuracy);
    if (r.train.pretrainSteps > 0) {
        json p;
        p["classes"] = r.train.pretrainClasses;
        p["steps"] = stepsJson(r.pretrainSteps);
        p["test_accuracy"] = jsonNumber(r.pretrainTestAccuracy);
        o["pretrain"] = p;
    }
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
    double readout = static_cast<double>(spec.widthOf(spec.depth)) * train.outputs;
    if (!spec.heads.empty()) { // the heads replace the readout
        readout = 0;
        for (const HeadSpec& h : spec.heads) {
            double in = spec.widthOf(spec.depth);
            for (int w : h.widths) {
                readout += in * w;
                in = w;
            }
        }
    }
    weights += readout;
    const double chunks = std::ceil(spec.batch / 64.0);
    const double perStep = 6.0 * weights * spec.batch / rates.floatGemmFlops /
                           std::min<double>(cores, std::max(chunks, 2.0));
    const int recorded = 2 + (train.recordEvery > 0 ? train.steps / train.recordEvery : 0);
    const double test = train.task == TrainTask::FashionMnist
                            ? 2.0 * weights * train.testExamples / rates.floatGemmFlops / cores
                            : 0.0;
    // with heads every recorded step also runs one backward pass per head (headDiagnostics)
    const double diag = static_cast<double>(spec.heads.size()) * perStep;
    return (train.steps + train.pretrainSteps + 1) * perStep +
           recorded * (estimateRunSeconds(spec) + test + diag);
}

} // namespace initscope

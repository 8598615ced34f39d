#include "apps/pinn.h"

#include "core/cost.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "stats/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace initscope {

double PinnSpec::eta() const {
    return std::isnan(learningRate) ? 1e-3 : learningRate;
}

std::vector<double> PinnSpec::speedGrid() const {
    std::vector<double> c;
    const int n = std::max(speeds, 1);
    for (int i = 0; i < n; ++i)
        c.push_back(n == 1 ? speedFrom
                           : speedFrom *
                                 std::pow(speedTo / speedFrom, static_cast<double>(i) / (n - 1)));
    return c;
}

std::vector<double> PinnSpec::trainingSpeeds() const {
    if (trainSteps <= 0)
        return {};
    if (!trainSpeeds.empty())
        return trainSpeeds;
    return {speedFrom, speedTo};
}

std::vector<SpecError> validatePinn(const NetworkSpec& spec, const PinnSpec& p) {
    std::vector<SpecError> e;
    const auto num = [](double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return std::string(buf);
    };
    const std::string maxC = num(PinnSpec::kMaxSpeed);
    if (!(p.speedFrom > 0 && p.speedTo > p.speedFrom && p.speedTo <= PinnSpec::kMaxSpeed) ||
        p.speeds < 2 || p.speeds > PinnSpec::kMaxSpeeds)
        e.push_back({"wave_speed_range",
                     "wave_speed_range: must be FROM:TO:STEPS with 0 < FROM < TO <= " + maxC +
                         " (a log grid) and STEPS an integer from 2 to " +
                         std::to_string(PinnSpec::kMaxSpeeds) + " (got " + num(p.speedFrom) + ":" +
                         num(p.speedTo) + ":" + std::to_string(p.speeds) + ")"});
    if (p.collocation < 1 || p.collocation > PinnSpec::kMaxCollocation)
        e.push_back({"collocation", "collocation: must be an integer from 1 to " +
                                        std::to_string(PinnSpec::kMaxCollocation) + " (got " +
                                        std::to_string(p.collocation) + ")"});
    if (p.trainSteps < 0 || p.trainSteps > PinnSpec::kMaxTrainSteps)
        e.push_back({"train_steps", "train_steps: must be an integer from 0 to " +
                                        std::to_string(PinnSpec::kMaxTrainSteps) + " (got " +
                                        std::to_string(p.trainSteps) + ")"});
    if (p.trainSpeeds.size() > 8)
        e.push_back({"train_speeds", "train_speeds: at most 8 speeds"});
    for (double c : p.trainSpeeds)
        if (!(std::abs(c) <= PinnSpec::kMaxSpeed))
            e.push_back({"train_speeds", "train_speeds: each must be a number with |c| <= " + maxC +
                                             " (got " + num(c) + ")"});
    if (p.optimizer != Optimizer::Sgd && p.optimizer != Optimizer::Adam)
        e.push_back({"optimizer", "optimizer: the PINN trains with sgd or adam"});
    const double eta = p.eta();
    if (!(eta > 0) || eta > 1e3)
        e.push_back({"learning_rate",
                     "learning_rate: must be a number > 0 and <= 1000 (got " + num(eta) + ")"});
    if (!(p.icWeight >= 0 && p.icWeight <= 1e6))
        e.push_back({"ic_weight",
                     "ic_weight: must be a number from 0 to 1e6 (got " + num(p.icWeight) + ")"});
    if (p.grid < 2 || p.grid > PinnSpec::kMaxGrid)
        e.push_back({"grid", "grid: must be an integer from 2 to " +
                                 std::to_string(PinnSpec::kMaxGrid) + " (got " +
                                 std::to_string(p.grid) + ")"});
    if (spec.arch != Arch::Mlp)
        e.push_back(
            {"arch", "arch: the PINN is an mlp u(t, x) (got arch " + archName(spec.arch) + ")"});
    if (spec.inputDim != 2)
        e.push_back({"input_dim", "input_dim: the PINN's input is (t, x), so input_dim must be 2 "
                                  "(got " +
                                      std::to_string(spec.inputDim) + ")"});
    if (spec.data != "gaussian")
        e.push_back({"data", "data: the PINN's inputs are its collocation points, and data is '" +
                                 spec.data + "' (set data gaussian)"});
    if (!spec.heads.empty())
        e.push_back({"heads", "heads: the PINN's output is the one-unit readout u(t, x), and the "
                              "spec has " +
                                  std::to_string(spec.heads.size()) +
                                  " head(s) (remove the heads)"});
    return e;
}

PinnSpec pinnSpecFromJson(const nlohmann::json& vs, std::vector<SpecError>& errors) {
    PinnSpec p;
    const auto fail = [&](const std::string& key, const std::string& msg) {
        errors.push_back({"view_settings." + key, "view_settings." + key + ": " + msg});
    };
    const auto integer = [&](const std::string& key, int lo, int hi, int& out) {
        const nlohmann::json& v = vs[key];
        if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
            fail(key,
                 "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
        else
            out = v.get<int>();
    };
    const auto number = [&](const std::string& key, double& out) {
        const nlohmann::json& v = vs[key];
        if (!v.is_number())
            fail(key, "must be a number");
        else
            out = v.get<double>();
    };
    for (const auto& [k, v] : vs.items()) {
        if (k == "wave_speed_range") {
            if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() ||
                !v[2].is_number_integer())
                fail(k, "must be [FROM, TO, STEPS], e.g. [0.01, 1000, 11]");
            else {
                p.speedFrom = v[0].get<double>();
                p.speedTo = v[1].get<double>();
                p.speeds = static_cast<int>(
                    std::clamp<std::int64_t>(v[2].get<std::int64_t>(), -1, 1 << 20));
            }
        } else if (k == "collocation") {
            integer(k, 1, PinnSpec::kMaxCollocation, p.collocation);
        } else if (k == "train_steps") {
            integer(k, 0, PinnSpec::kMaxTrainSteps, p.trainSteps);
        } else if (k == "grid") {
            integer(k, 2, PinnSpec::kMaxGrid, p.grid);
        } else if (k == "train_speeds") {
            if (!v.is_array() || v.size() > 8)
                fail(k, "must be a list of at most 8 numbers");
            else
                for (const auto& c : v) {
                    if (!c.is_number()) {
                        fail(k, "must be a list of at most 8 numbers");
                        break;
                    }
                    p.trainSpeeds.push_back(c.get<double>());
                }
        } else if (k == "optimizer") {
            if (!v.is_string() || !parseOptimizer(v.get<std::string>(), p.optimizer) ||
                p.optimizer == Optimizer::Momentum)
                fail(k, "must be \"sgd\" or \"adam\"");
        } else if (k == "learning_rate") {
            number(k, p.learningRate);
        } else if (k == "ic_weight") {
            number(k, p.icWeight);
        } else {
            fail(k, "the pinn view takes no such setting (wave_speed_range, collocation, "
                    "train_steps, train_speeds, optimizer, learning_rate, ic_weight, grid)");
        }
    }
    if (errors.empty()) { // ranges, through the one validator (its fields prefixed)
        NetworkSpec s;
        s.inputDim = 2;
        for (const SpecError& e : validatePinn(s, p))
            errors.push_back({"view_settings." + e.field, "view_settings." + e.message});
    }
    return p;
}

nlohmann::json pinnSpecToJson(const PinnSpec& p) {
    nlohmann::json o;
    o["wave_speed_range"] = {p.speedFrom, p.speedTo, p.speeds};
    o["collocation"] = p.collocation;
    o["train_steps"] = p.trainSteps;
    if (!p.trainSpeeds.empty())
        o["train_speeds"] = p.trainSpeeds;
    o["optimizer"] = optimizerName(p.optimizer);
    if (!std::isnan(p.learningRate))
        o["learning_rate"] = p.learningRate;
    o["ic_weight"] = p.icWeight;
    o["grid"] = p.grid;
    return o;
}

// ---- the model ----------------------------------------------------------------------------

PinnModel PinnModel::fromSpec(const NetworkSpec& spec) {
    TrainSpec t;
    t.task = TrainTask::Teacher;
    t.outputs = 1;
    t.steps = 1;
    const Trainer trainer(spec, t);
    const TrainParams& p = trainer.params();
    PinnModel m;
    m.act = Activation(spec.activation, spec.activationSlope);
    for (const DenseLayer& l : p.trunk)
        m.layers.push_back({l.w.cast<double>(), l.b.col(0).cast<double>()});
    m.trunkLayers = static_cast<int>(m.layers.size());
    for (const DenseLayer& l : p.outputs.at(0))
        m.layers.push_back({l.w.cast<double>(), l.b.col(0).cast<double>()});
    return m;
}

std::size_t PinnModel::parameterCount() const {
    std::size_t n = 0;
    for (const auto& l : layers)
        n += static_cast<std::size_t>(l.w.size() + l.b.size());
    return n;
}

Eigen::MatrixXd pinnPoints(std::uint64_t seed, int m, bool initialCondition) {
    // a stream of its own: Stream::Probe with an index far from the engine's
    Rng rng(mix64(seed ^ 0x70696e6eULL), Stream::Probe, initialCondition ? 0x1c : 0x11);
    Eigen::MatrixXd p(2, m);
    for (int j = 0; j < m; ++j) {
        const double t = rng.uniformOpen(), x = rng.uniformOpen();
        p(0, j) = initialCondition ? 0.0 : 1.0 - t; // [0, 1)
        p(1, j) = 1.0 - x;
    }
    return p;
}

namespace {

constexpr int kChunkCols = 64;

/// The value + tangent pass of one chunk: per layer its input (U, Ud) and, for the layers with
/// phi, H, Hd, phi'(H) and phi''(H).
struct Pass {
    std::vector<Eigen::MatrixXd> u, ud, h, hd, d1, d2;
    Eigen::RowVectorXd out, outd; // u and r
};

void forwardPass(const PinnModel& m, const Eigen::MatrixXd& pts, double c, Pass& p) {
    const std::size_t n = m.layers.size();
    p.u.resize(n);
    p.ud.resize(n);
    p.h.resize(n);
    p.hd.resize(n);
    p.d1.resize(n);
    p.d2.resize(n);
    const Eigen::Index cols = pts.cols();
    p.u[0] = pts;
    p.ud[0].resize(2, cols);
    p.ud[0].row(0).setOnes();
    p.ud[0].row(1).setConstant(c);
    for (std::size_t l = 0; l < n; ++l) {
        const PinnLayer& L = m.layers[l];
        Eigen::MatrixXd h = L.w * p.u[l];
        h.colwise() += L.b;
        Eigen::MatrixXd hd = L.w * p.ud[l];
        if (l + 1 == n) {
            p.out = h.row(0);
            p.outd = hd.row(0);
            break;
        }
        Eigen::MatrixXd a(h.rows(), cols), d1(h.rows(), cols), d2(h.rows(), cols);
        if (m.act.kind() == ActivationKind::Tanh) { // one tanh for the three
            for (Eigen::Index k = 0; k < h.size(); ++k) {
                const double t = std::tanh(h.data()[k]), d = 1 - t * t;
                a.data()[k] = t;
                d1.data()[k] = d;
                d2.data()[k] = -2 * t * d;
            }
        } else {
            for (Eigen::Index k = 0; k < h.size(); ++k) {
                const double x = h.data()[k];
                a.data()[k] = m.act.phi(x);
                d1.data()[k] = m.act.dphi(x);
                d2.data()[k] = m.act.ddphi(x);
            }
        }
        p.u[l + 1] = std::move(a);
        p.ud[l + 1] = (d1.array() * hd.array()).matrix();
        p.h[l] = std::move(h);
        p.hd[l] = std::move(hd);
        p.d1[l] = std::move(d1);
        p.d2[l] = std::move(d2);
    }
}

void backwardPass(const PinnModel& m, const Pass& p, const Eigen::RowVectorXd& ubar,
                  const Eigen::RowVectorXd& rbar, std::vector<PinnLayer>& g) {
    const std::size_t n = m.layers.size();
    Eigen::MatrixXd hb = ubar, hdb = rbar; // cotangents of layer l's h and hdot
    for (std::size_t l = n; l-- > 0;) {
        const PinnLayer& L = m.layers[l];
        g[l].w.noalias() += hb * p.u[l].transpose();
        g[l].w.noalias() += hdb * p.ud[l].transpose();
        g[l].b += hb.rowwise().sum();
        if (l == 0)
            break;
        const Eigen::MatrixXd ab = L.w.transpose() * hb;   // cotangent of a^{l-1}
        const Eigen::MatrixXd adb = L.w.transpose() * hdb; // of adot^{l-1}
        const std::size_t k = l - 1;
        // a = phi(h), adot = phi'(h) hdot
        hb = (ab.array() * p.d1[k].array() + adb.array() * p.hd[k].array() * p.d2[k].array())
                 .matrix();
        hdb = (adb.array() * p.d1[k].array()).matrix();
    }
}

int chunkCount(Eigen::Index cols) {
    return static_cast<int>((cols + kChunkCols - 1) / kChunkCols);
}

} // namespace

void pinnForward(const PinnModel& model, const Eigen::MatrixXd& pts, double c, Eigen::VectorXd& u,
                 Eigen::VectorXd& r) {
    const Eigen::Index M = pts.cols();
    u.resize(M);
    r.resize(M);
    const int chunks = chunkCount(M);
    detail::forEachIndex(chunks, [&](int k) {
        const Eigen::Index c0 = static_cast<Eigen::Index>(k) * kChunkCols;
        const Eigen::Index w = std::min<Eigen::Index>(kChunkCols, M - c0);
        Pass p;
        forwardPass(model, pts.middleCols(c0, w), c, p);
        u.segment(c0, w) = p.out.transpose();
        r.segment(c0, w) = p.outd.transpose();
    });
}

std::vector<PinnLayer> pinnZeroGrads(const PinnModel& model) {
    std::vector<PinnLayer> g;
    for (const auto& l : model.layers)
        g.push_back(
            {Eigen::MatrixXd::Zero(l.w.rows(), l.w.cols()), Eigen::VectorXd::Zero(l.b.size())});
    return g;
}

void pinnBackward(const PinnModel& model, const Eigen::MatrixXd& pts, double c,
                  const Eigen::VectorXd& ubar, const Eigen::VectorXd& rbar,
                  std::vector<PinnLayer>& grads) {
    const Eigen::Index M = pts.cols();
    const int chunks = chunkCount(M);
    std::vector<std::vector<PinnLayer>> part(static_cast<std::size_t>(chunks));
    detail::forEachIndex(chunks, [&](int k) {
        const Eigen::Index c0 = static_cast<Eigen::Index>(k) * kChunkCols;
        const Eigen::Index w = std::min<Eigen::Index>(kChunkCols, M - c0);
        Pass p;
        forwardPass(model, pts.middleCols(c0, w), c, p);
        auto& g = part[static_cast<std::size_t>(k)];
        g = pinnZeroGrads(model);
        backwardPass(model, p, ubar.segment(c0, w).transpose(), rbar.segment(c0, w).transpose(), g);
    });
    for (const auto& g : part) // fixed order: the same sums whatever the threads
        for (std::size_t l = 0; l < grads.size(); ++l) {
            grads[l].w += g[l].w;
            grads[l].b += g[l].b;
        }
}

double pinnNorm(const std::vector<PinnLayer>& g) {
    double s = 0;
    for (const auto& l : g)
        s += l.w.squaredNorm() + l.b.squaredNorm();
    return std::sqrt(s);
}

PinnPoint measurePinn(const PinnModel& model, const Eigen::MatrixXd& pts, double c) {
    const Eigen::Index M = pts.cols();
    Eigen::VectorXd u, r;
    pinnForward(model, pts, c, u, r);
    PinnPoint p;
    p.c = c;
    p.rmsResidual = std::sqrt(r.squaredNorm() / static_cast<double>(M));
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(M);
    auto g = pinnZeroGrads(model);
    pinnBackward(model, pts, c, zero, Eigen::VectorXd::Constant(M, 1.0 / M), g);
    p.gradResidual = pinnNorm(g);
    g = pinnZeroGrads(model);
    pinnBackward(model, pts, c, zero, (2.0 / static_cast<double>(M)) * r, g);
    p.gradLoss = pinnNorm(g);
    return p;
}

PinnSlopes pinnSlopes(const std::vector<PinnPoint>& points, double minSpeed) {
    PinnSlopes s;
    const auto fit = [&](auto get, int& used) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (const PinnPoint& p : points) {
            const double y = get(p);
            if (!(std::abs(p.c) >= minSpeed) || !(y > 0) || !std::isfinite(y))
                continue;
            const double lx = std::log(std::abs(p.c)), ly = std::log(y);
            sx += lx;
            sy += ly;
            sxx += lx * lx;
            sxy += lx * ly;
            ++n;
        }
        used = n;
        const double den = n * sxx - sx * sx;
        return n >= 2 && den > 0 ? (n * sxy - sx * sy) / den : kNaN;
    };
    int n = 0;
    s.rmsResidual = fit([](const PinnPoint& p) { return p.rmsResidual; }, n);
    s.points = n;
    s.gradResidual = fit([](const PinnPoint& p) { return p.gradResidual; }, n);
    s.gradLoss = fit([](const PinnPoint& p) { return p.gradLoss; }, n);
    return s;
}

std::vector<double> pinnGrid(const PinnModel& model, int grid) {
    Eigen::MatrixXd pts(2, static_cast<Eigen::Index>(grid) * grid);
    for (int i = 0; i < grid; ++i)
        for (int j = 0; j < grid; ++j) {
            pts(0, i * grid + j) = static_cast<double>(i) / (grid - 1);
            pts(1, i * grid + j) = static_cast<double>(j) / (grid - 1);
        }
    Eigen::VectorXd u, r;
    pinnForward(model, pts, 0.0, u, r);
    return {u.data(), u.data() + u.size()};
}

PinnLoss pinnTrainingLoss(const PinnModel& m, const Eigen::MatrixXd& pts,
                          const Eigen::MatrixXd& icPts, double c, double icWeight,
                          std::vector<PinnLayer>* grads) {
    const Eigen::Index M = pts.cols(), Mi = icPts.cols();
    Eigen::MatrixXd left = icPts, right = icPts; // (t_j, 0) and (t_j, 1), t_j the IC points' x_j
    left.row(0) = icPts.row(1);
    left.row(1).setZero();
    right.row(0) = icPts.row(1);
    right.row(1).setOnes();
    Eigen::VectorXd u, r, ui, ri, u0, r0, u1, r1;
    pinnForward(m, pts, c, u, r);
    pinnForward(m, icPts, c, ui, ri);
    pinnForward(m, left, c, u0, r0);
    pinnForward(m, right, c, u1, r1);
    Eigen::VectorXd diff(Mi);
    for (Eigen::Index j = 0; j < Mi; ++j)
        diff(j) = ui(j) - std::sin(2 * std::numbers::pi * icPts(1, j));
    const Eigen::VectorXd bdiff = u0 - u1;
    PinnLoss l;
    l.residual = r.squaredNorm() / static_cast<double>(M);
    l.initial = diff.squaredNorm() / static_cast<double>(Mi);
    l.boundary = bdiff.squaredNorm() / static_cast<double>(Mi);
    l.total = l.residual + icWeight * (l.initial + l.boundary);
    if (!grads)
        return l;
    *grads = pinnZeroGrads(m);
    const Eigen::VectorXd zeroM = Eigen::VectorXd::Zero(M), zeroI = Eigen::VectorXd::Zero(Mi);
    pinnBackward(m, pts, c, zeroM, (2.0 / static_cast<double>(M)) * r, *grads);
    if (icWeight > 0) {
        const double k = 2.0 * icWeight / static_cast<double>(Mi);
        pinnBackward(m, icPts, c, k * diff, zeroI, *grads);
        pinnBackward(m, left, c, k * bdiff, zeroI, *grads);
        pinnBackward(m, right, c, -k * bdiff, zeroI, *grads);
    }
    return l;
}

namespace {

double exactError(const std::vector<double>& u, int grid, double c) {
    double s = 0;
    for (int i = 0; i < grid; ++i)
        for (int j = 0; j < grid; ++j) {
            const double t = static_cast<double>(i) / (grid - 1),
                         x = static_cast<double>(j) / (grid - 1);
            const double e = u[static_cast<std::size_t>(i * grid + j)] -
                             std::sin(2 * std::numbers::pi * (x - c * t));
            s += e * e;
        }
    return std::sqrt(s / (static_cast<double>(grid) * grid));
}

/// Every parameter in a fixed order, for the optimizer.
template <class G, class F> void forEachParam(G& layers, F&& f) {
    for (auto& l : layers) {
        f(l.w.data(), static_cast<std::size_t>(l.w.size()));
        f(l.b.data(), static_cast<std::size_t>(l.b.size()));
    }
}

PinnTrainRun trainPinn(const PinnModel& init, const PinnSpec& ps, const Eigen::MatrixXd& pts,
                       const Eigen::MatrixXd& icPts, double c, const std::atomic<bool>* cancel,
                       const std::function<void()>& stepDone, bool& cancelled) {
    PinnModel m = init;
    PinnTrainRun run;
    run.c = c;
    std::vector<double> m1(m.parameterCount(), 0.0), m2(m.parameterCount(), 0.0);
    const double eta = ps.eta(), beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    std::vector<PinnLayer> g;
    for (int step = 0; step <= ps.trainSteps; ++step) {
        if (detail::isCancelled(cancel)) {
            cancelled = true;
            break;
        }
        const bool last = step == ps.trainSteps;
        const PinnLoss l = pinnTrainingLoss(m, pts, icPts, c, ps.icWeight, last ? nullptr : &g);
        run.residualLoss.push_back(l.residual);
        run.icLoss.push_back(l.initial);
        run.bcLoss.push_back(l.boundary);
        run.loss.push_back(l.total);
        if (stepDone)
            stepDone();
        if (!std::isfinite(l.total)) {
            run.firstNonfiniteStep = step;
            break;
        }
        if (last)
            break;
        std::vector<double*> w;
        std::vector<std::size_t> sizes;
        forEachParam(m.layers, [&](double* p, std::size_t n) {
            w.push_back(p);
            sizes.push_back(n);
        });
        std::vector<const double*> gp;
        forEachParam(g, [&](double* p, std::size_t) { gp.push_back(p); });
        const double t = step + 1;
        const double c1 = 1 - std::pow(beta1, t), c2 = 1 - std::pow(beta2, t);
        std::size_t off = 0;
        for (std::size_t k = 0; k < w.size(); ++k) {
            for (std::size_t j = 0; j < sizes[k]; ++j) {
                const double gj = gp[k][j];
                if (ps.optimizer == Optimizer::Adam) {
                    double& a = m1[off + j];
                    double& v = m2[off + j];
                    a = beta1 * a + (1 - beta1) * gj;
                    v = beta2 * v + (1 - beta2) * gj * gj;
                    w[k][j] -= eta * (a / c1) / (std::sqrt(v / c2) + eps);
                } else {
                    w[k][j] -= eta * gj;
                }
            }
            off += sizes[k];
        }
    }
    run.u = pinnGrid(m, ps.grid);
    run.errorRms = exactError(run.u, ps.grid, c);
    return run;
}

PinnResult runPinnInArena(const NetworkSpec& spec, const PinnSpec& pinn,
                          const std::atomic<bool>* cancel, const PinnProgress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<SpecError> errors = validate(spec);
    for (auto& e : validatePinn(spec, pinn))
        errors.push_back(std::move(e));
    if (!errors.empty())
        throw SpecInvalid(std::move(errors));
    PinnResult res;
    res.spec = spec;
    res.pinn = pinn;
    const PinnModel model = PinnModel::fromSpec(spec);
    const Eigen::MatrixXd pts = pinnPoints(spec.seed, pinn.collocation, false);
    const Eigen::MatrixXd icPts = pinnPoints(spec.seed, pinn.collocation, true);
    const std::vector<double> speeds = pinn.speedGrid();
    const std::vector<double> trainSpeeds = pinn.trainingSpeeds();
    const int total = static_cast<int>(speeds.size() + trainSpeeds.size() * (pinn.trainSteps + 1));
    int done = 0;
    const auto tick = [&] {
        ++done;
        if (progress)
            progress(done, total);
    };
    for (double c : speeds) {
        if (detail::isCancelled(cancel)) {
            res.cancelled = true;
            break;
        }
        res.points.push_back(measurePinn(model, pts, c));
        tick();
    }
    res.slopeLarge = pinnSlopes(res.points, PinnSpec::kLargeSpeed);
    res.slopeAll = pinnSlopes(res.points, 0.0);
    res.uInit = pinnGrid(model, pinn.grid);
    for (double c : trainSpeeds) {
        if (res.cancelled)
            break;
        PinnTrainRun run = trainPinn(model, pinn, pts, icPts, c, cancel, tick, res.cancelled);
        run.errorRmsInit = exactError(res.uInit, pinn.grid, c);
        if (!res.cancelled)
            res.runs.push_back(std::move(run));
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

} // namespace

PinnResult runPinn(const NetworkSpec& spec, const PinnSpec& pinn, const std::atomic<bool>* cancel,
                   const PinnProgress& progress) {
    PinnResult res;
    detail::inArena(spec.threads, [&] { res = runPinnInArena(spec, pinn, cancel, progress); });
    return res;
}

nlohmann::json pinnResultToJson(const PinnResult& r) {
    using nlohmann::json;
    json c = json::array(), rms = json::array(), gr = json::array(), gl = json::array();
    for (const PinnPoint& p : r.points) {
        c.push_back(jsonNumber(p.c));
        rms.push_back(jsonNumber(p.rmsResidual));
        gr.push_back(jsonNumber(p.gradResidual));
        gl.push_back(jsonNumber(p.gradLoss));
    }
    const auto slopes = [](const PinnSlopes& s) {
        return json{{"rms_residual", jsonNumber(s.rmsResidual)},
                    {"grad_residual", jsonNumber(s.gradResidual)},
                    {"grad_loss", jsonNumber(s.gradLoss)},
                    {"points", s.points}};
    };
    const int G = r.pinn.grid;
    const auto gridJson = [G](const std::vector<double>& u) {
        json rows = json::array();
        for (int i = 0; i < G && !u.empty(); ++i) {
            json row = json::array();
            for (int j = 0; j < G; ++j)
                row.push_back(jsonNumber(u[static_cast<std::size_t>(i * G + j)]));
            rows.push_back(row);
        }
        return rows;
    };
    json training = json::array();
    for (const PinnTrainRun& t : r.runs) {
        json steps = json::array();
        for (std::size_t s = 0; s < t.loss.size(); ++s)
            steps.push_back({{"step", s},
                             {"residual_loss", jsonNumber(t.residualLoss[s])},
                             {"ic_loss", jsonNumber(t.icLoss[s])},
                             {"bc_loss", jsonNumber(t.bcLoss[s])},
                             {"loss", jsonNumber(t.loss[s])}});
        training.push_back(
            {{"c", t.c},
             {"steps", steps},
             {"u", gridJson(t.u)},
             {"error_rms", jsonNumber(t.errorRms)},
             {"error_rms_init", jsonNumber(t.errorRmsInit)},
             {"first_nonfinite_step",
              t.firstNonfiniteStep >= 0 ? json(t.firstNonfiniteStep) : json(nullptr)}});
    }
    json o;
    o["spec"] = specToJson(r.spec);
    o["pinn"] = {{"wave_speed_range", {r.pinn.speedFrom, r.pinn.speedTo, r.pinn.speeds}},
                 {"collocation", r.pinn.collocation},
                 {"train_steps", r.pinn.trainSteps},
                 {"optimizer", optimizerName(r.pinn.optimizer)},
                 {"learning_rate", r.pinn.eta()},
                 {"ic_weight", r.pinn.icWeight},
                 {"initial_condition", "u(0, x) = sin(2 pi x) (training only)"},
                 {"boundary_condition", "periodic: u(t, 0) = u(t, 1) (training only)"},
                 {"grid", G}};
    o["c"] = c;
    o["rms_residual"] = rms;
    o["grad_residual"] = gr;
    o["grad_loss"] = gl;
    o["slope"] = slopes(r.slopeLarge);
    o["slope"]["min_c"] = PinnSpec::kLargeSpeed;
    o["slope_whole_range"] = slopes(r.slopeAll);
    o["grid_t"] = json::array();
    o["grid_x"] = json::array();
    for (int i = 0; i < G; ++i) {
        o["grid_t"].push_back(static_cast<double>(i) / (G - 1));
        o["grid_x"].push_back(static_cast<double>(i) / (G - 1));
    }
    o["u_init"] = gridJson(r.uInit);
    o["training"] = training;
    o["cancelled"] = r.cancelled;
    o["seconds"] = r.seconds;
    return o;
}

double estimatePinnSeconds(const NetworkSpec& spec, const PinnSpec& pinn) {
    const CostRates& rates = costRates();
    double weights = 0;
    for (int l = 1; l <= spec.depth; ++l)
        weights += static_cast<double>(spec.widthOf(l)) * spec.widthOf(l - 1);
    weights += spec.widthOf(spec.depth);
    // a value + tangent pass: 4 flops per weight and point; a reverse pass about 3 of those
    const double pass = 4.0 * weights * pinn.collocation / rates.doubleGemmFlops;
    const double cores =
        std::min<double>(detail::workerCount(spec.threads), std::ceil(pinn.collocation / 64.0));
    const double perSpeed = 9 * pass, perStep = 10 * pass;
    const double runs = static_cast<double>(pinn.trainingSpeeds().size());
    return (pinn.speeds * perSpeed + runs * (pinn.trainSteps + 1) * perStep) / std::max(cores, 1.0);
}

} // namespace initscope

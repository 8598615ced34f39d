#include "train/trainability.h"

#include "core/activation.h"
#include "core/parallel.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "stats/report.h"
#include "theory/meanfield.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <functional>

namespace initscope {

namespace {

bool parseNumber(const std::string& s, double& v) {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v);
}

/// FROM:TO:STEPS split into three numbers, or an error naming the option and the form.
bool splitAxis(const std::string& option, const std::string& text, const char* example,
               double& from, double& to, double& steps, std::string& error) {
    const auto c1 = text.find(':');
    const auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
    if (c2 == std::string::npos || !parseNumber(text.substr(0, c1), from) ||
        !parseNumber(text.substr(c1 + 1, c2 - c1 - 1), to) ||
        !parseNumber(text.substr(c2 + 1), steps)) {
        error =
            "--" + option + ": expected FROM:TO:STEPS, e.g. " + example + " (got '" + text + "')";
        return false;
    }
    return true;
}

std::string depthAxisProblem(const GridAxis& a) {
    if (a.from != std::floor(a.from) || a.to != std::floor(a.to) || a.from < 1 ||
        a.to > Limits::kMaxDepth || a.from > a.to)
        return "FROM and TO must be integers from 1 to " + std::to_string(Limits::kMaxDepth) +
               " with FROM <= TO";
    if (a.steps < 1 || a.steps > kMaxTrainabilitySteps)
        return "STEPS must be an integer from 1 to " + std::to_string(kMaxTrainabilitySteps);
    if (a.steps > 1 && a.to - a.from + 1 < a.steps)
        return "STEPS must be at most TO - FROM + 1 (the depths are integers, all different)";
    return {};
}

std::string sigmaAxisProblem(const GridAxis& a) {
    if (!(a.from > 0) || !(a.to <= Limits::kMaxGain) || !(a.from <= a.to))
        return "FROM and TO must be numbers with 0 < FROM <= TO <= 1e6";
    if (a.steps < 1 || a.steps > kMaxTrainabilitySteps)
        return "STEPS must be an integer from 1 to " + std::to_string(kMaxTrainabilitySteps);
    return {};
}

std::string axisText(const GridAxis& a) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%g:%g:%d", a.from, a.to, a.steps);
    return buf;
}

/// Collects the training losses of the last kLossWindow steps.
constexpr int kLossWindow = 10;

} // namespace

std::vector<int> TrainabilityGrid::depths() const {
    std::vector<int> d;
    for (double v : depth.values())
        d.push_back(static_cast<int>(std::lround(v)));
    return d;
}

std::vector<double> TrainabilityGrid::sigmaW2s() const {
    return sigmaW2.values();
}

std::optional<GridAxis> parseDepthAxis(const std::string& option, const std::string& text,
                                       std::string& error) {
    double from = 0, to = 0, steps = 0;
    if (!splitAxis(option, text, "10:100:4", from, to, steps, error))
        return std::nullopt;
    GridAxis a{from, to,
               steps == std::floor(steps) && std::abs(steps) < 1e9 ? static_cast<int>(steps) : -1};
    if (const std::string p = depthAxisProblem(a); !p.empty()) {
        error = "--" + option + ": " + p + " (got '" + text + "')";
        return std::nullopt;
    }
    return a;
}

std::optional<GridAxis> parseSigmaW2Axis(const std::string& option, const std::string& text,
                                         std::string& error) {
    double from = 0, to = 0, steps = 0;
    if (!splitAxis(option, text, "1:4:4", from, to, steps, error))
        return std::nullopt;
    GridAxis a{from, to,
               steps == std::floor(steps) && std::abs(steps) < 1e9 ? static_cast<int>(steps) : -1};
    if (const std::string p = sigmaAxisProblem(a); !p.empty()) {
        error = "--" + option + ": " + p + " (got '" + text + "')";
        return std::nullopt;
    }
    return a;
}

std::vector<SpecError> validateTrainabilityGrid(const TrainabilityGrid& grid) {
    std::vector<SpecError> e;
    if (const std::string p = depthAxisProblem(grid.depth); !p.empty())
        e.push_back({"depth_range", "depth_range: " + p + " (got " + axisText(grid.depth) + ")"});
    if (const std::string p = sigmaAxisProblem(grid.sigmaW2); !p.empty())
        e.push_back(
            {"sigma_w2_range", "sigma_w2_range: " + p + " (got " + axisText(grid.sigmaW2) + ")"});
    return e;
}

NetworkSpec trainabilityCellSpec(const NetworkSpec& base, int depth, double sigmaW2) {
    NetworkSpec s = base;
    s.depth = depth;
    s.init = InitScheme::LecunNormal;
    s.gain = sigmaW2;
    return s;
}

double trainabilitySigmaB2(const NetworkSpec& base) {
    return base.biasInit == BiasInit::Normal ? base.sigmaB2 : 0.0;
}

std::vector<SpecError> validateTrainability(const NetworkSpec& base, const TrainSpec& train,
                                            const TrainabilityGrid& grid) {
    std::vector<SpecError> e = validateTrainabilityGrid(grid);
    if (!base.widths.empty())
        e.push_back({"widths", "widths: the trainability map varies the depth, so the hidden "
                               "layers take one width (set width, not widths)"});
    if (base.biasInit == BiasInit::Constant)
        e.push_back({"bias_init", "bias_init: the trainability map's theory takes biases "
                                  "N(0, sigma_b2) or zeros (got bias_init constant)"});
    if (train.task != TrainTask::FashionMnist)
        e.push_back({"task", "task: the trainability map trains on fashion-mnist (got task " +
                                 trainTaskName(train.task) + ")"});
    if (!e.empty())
        return e;
    // the deepest cell at the largest gain: every limit that grows with depth or gain
    const std::vector<int> d = grid.depths();
    const NetworkSpec deepest = trainabilityCellSpec(base, d.back(), grid.sigmaW2.to);
    for (SpecError& x : validate(deepest))
        e.push_back(std::move(x));
    for (SpecError& x : validateTraining(deepest, train))
        e.push_back(std::move(x));
    return e;
}

TrainabilityTheory trainabilityTheory(const Activation& act, double sigmaB2,
                                      const std::vector<double>& sigmaW2) {
    TrainabilityTheory t;
    for (double sw : sigmaW2) {
        const meanfield::FixedPoint fp = meanfield::fixedPoint(act, sw, sigmaB2);
        t.xiC.push_back(fp.xiC);
        t.sixXiC.push_back(6.0 * fp.xiC);
    }
    t.criticalSigmaW2 = meanfield::criticalSigmaW2(act, sigmaB2);
    return t;
}

const TrainabilityCell* TrainabilityMap::cell(int row, int col) const {
    for (const TrainabilityCell& c : cells)
        if (c.row == row && c.col == col)
            return &c;
    return nullptr;
}

namespace {

/// One cell trained by the Trainer's public API: N updates, then the loss of mini-batch N and
/// the test set. Returns false when cancelled inside.
bool trainCell(const NetworkSpec& spec, const TrainSpec& train, TrainabilityCell& out,
               const std::atomic<bool>* cancel, const std::function<void(double)>& onStep) {
    Trainer trainer(spec, train);
    MatrixF x;
    Targets y;
    TrainParams grads;
    std::vector<double> losses;
    for (int step = 0; step <= train.steps; ++step) {
        if (detail::isCancelled(cancel))
            return false;
        trainer.batch(step, x, y);
        const bool last = step == train.steps;
        const Trainer::Evaluation ev = trainer.lossAndGradients(x, y, last ? nullptr : &grads);
        if (!std::isfinite(ev.loss)) {
            out.firstNonfiniteStep = step;
            return true;
        }
        if (step > train.steps - kLossWindow)
            losses.push_back(ev.loss);
        if (!last)
            trainer.apply(grads);
        if (onStep)
            onStep(static_cast<double>(step + 1) / (train.steps + 1));
    }
    double sum = 0;
    for (double l : losses)
        sum += l;
    out.loss = sum / static_cast<double>(losses.size());
    const Trainer::Evaluation te = trainer.test();
    out.testAccuracy = te.accuracy;
    out.testLoss = te.loss;
    if (!std::isfinite(te.loss)) { // the last update broke it
        out.firstNonfiniteStep = train.steps;
        out.testAccuracy = out.testLoss = out.loss = kNaN;
    }
    return true;
}

} // namespace

TrainabilityMap computeTrainabilityMap(const NetworkSpec& base, const TrainSpec& train,
                                       const TrainabilityGrid& grid, TrainabilitySink* sink,
                                       const std::atomic<bool>* cancel) {
    if (auto e = validateTrainability(base, train, grid); !e.empty())
        throw SpecInvalid(std::move(e));
    const auto t0 = std::chrono::steady_clock::now();
    TrainabilityMap m;
    m.base = base;
    m.train = train;
    m.grid = grid;
    m.depths = grid.depths();
    m.sigmaW2 = grid.sigmaW2s();
    m.theory = trainabilityTheory(Activation(base.activation, base.activationSlope),
                                  trainabilitySigmaB2(base), m.sigmaW2);
    if (sink)
        sink->theory(m.theory);
    // progress weights: each cell's estimated seconds (the same for every sigma_w^2 of a depth)
    std::vector<double> weight;
    double total = 0;
    for (int d : m.depths) {
        weight.push_back(estimateTrainSeconds(trainabilityCellSpec(base, d, m.sigmaW2[0]), train));
        total += weight.back() * static_cast<double>(m.sigmaW2.size());
    }
    double done = 0;
    for (std::size_t i = 0; i < m.depths.size() && !m.cancelled; ++i) {
        for (std::size_t j = 0; j < m.sigmaW2.size(); ++j) {
            if (detail::isCancelled(cancel)) {
                m.cancelled = true;
                break;
            }
            const auto c0 = std::chrono::steady_clock::now();
            TrainabilityCell c;
            c.row = static_cast<int>(i);
            c.col = static_cast<int>(j);
            c.depth = m.depths[i];
            c.sigmaW2 = m.sigmaW2[j];
            const NetworkSpec spec = trainabilityCellSpec(base, c.depth, c.sigmaW2);
            std::function<void(double)> onStep;
            if (sink)
                onStep = [&](double f) { sink->progress((done + f * weight[i]) / total); };
            if (!trainCell(spec, train, c, cancel, onStep)) {
                m.cancelled = true;
                break;
            }
            c.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
            done += weight[i];
            if (sink) {
                sink->progress(done / total);
                sink->cell(c);
            }
            m.cells.push_back(c);
        }
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return m;
}

double estimateTrainabilitySeconds(const NetworkSpec& base, const TrainSpec& train,
                                   const TrainabilityGrid& grid) {
    double s = 0;
    for (int d : grid.depths())
        s += estimateTrainSeconds(trainabilityCellSpec(base, d, grid.sigmaW2.from), train) *
             grid.sigmaW2.steps;
    return s;
}

nlohmann::json trainabilityJson(const TrainabilityMap& m) {
    using nlohmann::json;
    json acc = json::array(), loss = json::array(), testLoss = json::array(),
         diverged = json::array();
    for (std::size_t i = 0; i < m.depths.size(); ++i) {
        json a = json::array(), l = json::array(), tl = json::array(), dv = json::array();
        for (std::size_t j = 0; j < m.sigmaW2.size(); ++j) {
            const TrainabilityCell* c = m.cell(static_cast<int>(i), static_cast<int>(j));
            a.push_back(c ? jsonNumber(c->testAccuracy) : json(nullptr));
            l.push_back(c ? jsonNumber(c->loss) : json(nullptr));
            tl.push_back(c ? jsonNumber(c->testLoss) : json(nullptr));
            dv.push_back(c && c->firstNonfiniteStep >= 0 ? json(c->firstNonfiniteStep)
                                                         : json(nullptr));
        }
        acc.push_back(a);
        loss.push_back(l);
        testLoss.push_back(tl);
        diverged.push_back(dv);
    }
    json t;
    t["task"] = trainTaskName(m.train.task);
    t["optimizer"] = optimizerName(m.train.optimizer);
    t["learning_rate"] = m.train.eta();
    t["steps"] = m.train.steps;
    t["batch"] = m.base.batch;
    t["test_examples"] = m.train.testExamples;
    json o;
    o["spec"] = specToJson(m.base);
    o["train"] = t;
    o["activation"] = Activation(m.base.activation, m.base.activationSlope).name();
    o["sigma_b2"] = trainabilitySigmaB2(m.base);
    o["depth"] = m.depths;
    o["sigma_w2"] = m.sigmaW2;
    o["accuracy"] = acc;
    o["loss"] = loss;
    o["test_loss"] = testLoss;
    o["diverged_at"] = diverged;
    o["xi_c"] = jsonNumbers(m.theory.xiC);
    o["six_xi_c"] = jsonNumbers(m.theory.sixXiC);
    o["critical_sigma_w2"] = jsonNumber(m.theory.criticalSigmaW2);
    o["chance_accuracy"] = 0.1;
    o["cancelled"] = m.cancelled;
    o["seconds"] = m.seconds;
    return o;
}

} // namespace initscope

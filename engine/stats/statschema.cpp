#include "stats/statschema.h"

#include <algorithm>
#include <array>
#include <limits>

namespace initscope {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using P = StatPass;
using K = StatKind;
using T = TheoryCurves;

// One row per statistic. Titles and axis labels are the GUI's (its translation context
// "initscope::ui::Figure"); the docs are THEORY.md's definitions, and stats.h's for the ones
// THEORY.md does not list.
const std::array<LayerStatistic, 14> kRows{{
    {"q", P::Forward, K::Real, &LayerStats::q, nullptr, &T::q, "q: mean of h\u00b2",
     "q\u02e1 (log)", true, -kInf, kInf, 0.1,
     "mean of (h^l)^2 over units and inputs: the mean-field length q^l"},
    {"mean", P::Forward, K::Real, &LayerStats::mean, nullptr, nullptr, "mean of h",
     "mean of h\u02e1", false, -kInf, kInf, 0.01, "mean of h^l over units and inputs"},
    {"var", P::Forward, K::Real, &LayerStats::var, nullptr, nullptr, "var: centred variance of h",
     "Var h\u02e1 (log)", true, -kInf, kInf, 0.1, "centred variance of h^l over units and inputs"},
    {"correlation", P::Forward, K::Real, &LayerStats::correlation, nullptr, &T::c,
     "correlation c between inputs", "c\u02e1 = mean cos(h_a, h_b)", false, -1, 1, 0.25,
     "mean over input pairs a != b of h_a.h_b / (|h_a| |h_b|): the empirical c^l"},
    {"unit_spread", P::Forward, K::Real, &LayerStats::unitSpread, nullptr, nullptr,
     "unit spread (0 = every unit identical)", "std over units / rms", false, 0, kInf, 0.1,
     "mean over inputs of the standard deviation of h^l across units over the rms of h^l: "
     "exactly 0 when every unit of the layer is identical (symmetry)"},
    {"dead_fraction", P::Forward, K::Real, &LayerStats::deadFraction, nullptr, nullptr,
     "dead fraction: units with \u03c6' = 0 always", "share of units", false, 0, 1, 0.1,
     "share of units with phi'(h) = 0 for every input"},
    {"saturated_fraction", P::Forward, K::Real, &LayerStats::saturatedFraction, nullptr, nullptr,
     "saturated fraction: |\u03c6'| < 5 % of max", "share of (unit, input)", false, 0, 1, 0.1,
     "share of (unit, input) with |phi'(h)| < 0.05 max|phi'| (saturating activations; 0 for "
     "the others)"},
    {"nonfinite", P::Forward, K::Count, nullptr, &LayerStats::nonfinite, nullptr,
     "non-finite values of h", "count", false, 0, kInf, 2.0,
     "how many values of h^l are not finite (float32 overflow)"},
    {"grad_h2", P::Backward, K::Real, &LayerStats::gradH2, nullptr, &T::gradH2,
     "gradient E\u2016\u03b4\u2016\u00b2", "E\u2016\u03b4\u02e1\u2016\u00b2 (log)", true, -kInf,
     kInf, 0.1,
     "mean over inputs of ||delta^l||^2, delta^l = dLoss/dh^l for a random cotangent on a^L"},
    {"grad_w2", P::Backward, K::Real, &LayerStats::gradW2, nullptr, nullptr,
     "weight gradient \u2016\u2202L/\u2202W\u2016\u00b2",
     "\u2016\u2202L/\u2202W\u02e1\u2016\u00b2 (log)", true, -kInf, kInf, 0.1, "||dLoss/dW^l||_F^2"},
    {"relative_update", P::Backward, K::Real, &LayerStats::relativeUpdate, nullptr, nullptr,
     "relative update \u03b7\u2016\u2202L/\u2202W\u2016/\u2016W\u2016", "relative update (log)",
     true, -kInf, kInf, 0.1, "eta ||dLoss/dW^l||_F / ||W^l||_F for the learning rate eta"},
    {"grad_row_spread", P::Backward, K::Real, &LayerStats::gradRowSpread, nullptr, nullptr,
     "gradient row spread (0 = identical rows of dW)",
     "max\u1d63 \u2016\u03b4\u1d63 \u2212 \u03b4\u2081\u2016/\u2016\u03b4\u2081\u2016", false, 0,
     kInf, 0.1,
     "max over units r of ||delta_r - delta_1|| / ||delta_1|| over the batch: 0 when every row "
     "of dLoss/dW^l is the same (symmetry)"},
    {"grad_nonfinite", P::Backward, K::Count, nullptr, &LayerStats::gradNonfinite, nullptr,
     "non-finite gradient values", "count", false, 0, kInf, 2.0,
     "how many values of delta^l are not finite (float32 overflow in the backward pass)"},
    {"sigma_w2", P::Forward, K::Setting, &LayerStats::sigmaW2, nullptr, nullptr,
     "effective \u03c3_w\u00b2 = Var(W)\u00b7fan-in", "\u03c3_w\u00b2 of layer l", false, 0, kInf,
     0.5,
     "the effective sigma_w^2 = Var(W^l) fanIn that the layer's weights are drawn with; for "
     "given weights (trained, or a learned init) their own fanIn times the variance of their "
     "entries"},
}};

double inputGrad2(const RunResult& r) {
    return r.inputGrad2;
}
double gradRatio(const RunResult& r) {
    if (r.layers.empty())
        return kNaN;
    const double first = r.layers.front().gradH2, last = r.layers.back().gradH2;
    return last > 0 ? first / last : kNaN;
}
double firstNonfiniteLayer(const RunResult& r) {
    return r.firstNonfiniteLayer;
}
double chi1(const RunResult& r) {
    return r.theory.chi1;
}

using F = RunScalar::From;
const std::array<RunScalar, 12> kScalars{{
    {"last_q", F::LastLayer, "q", nullptr, "q\u1d38 of the last layer", "q of the last layer"},
    {"last_correlation", F::LastLayer, "correlation", nullptr, nullptr,
     "correlation of the last layer"},
    {"last_dead_fraction", F::LastLayer, "dead_fraction", nullptr, nullptr,
     "dead_fraction of the last layer"},
    {"last_saturated_fraction", F::LastLayer, "saturated_fraction", nullptr, nullptr,
     "saturated_fraction of the last layer"},
    {"last_unit_spread", F::LastLayer, "unit_spread", nullptr, nullptr,
     "unit_spread of the last layer"},
    {"first_grad_h2", F::FirstLayer, "grad_h2", nullptr, nullptr, "grad_h2 of layer 1"},
    {"last_grad_h2", F::LastLayer, "grad_h2", nullptr, nullptr, "grad_h2 of the last layer"},
    {"grad_ratio", F::Run, nullptr, &gradRatio,
     "gradient ratio E\u2016\u03b4\u00b9\u2016\u00b2/E\u2016\u03b4\u1d38\u2016\u00b2",
     "grad_h2 of layer 1 over grad_h2 of the last layer: above 1 when gradients grow toward "
     "the input"},
    {"input_grad2", F::Run, nullptr, &inputGrad2,
     "input gradient E\u2016\u2202L/\u2202x\u2016\u00b2",
     "mean over inputs of ||dLoss/dx||^2 (adversarial sensitivity)"},
    {"first_relative_update", F::FirstLayer, "relative_update", nullptr, nullptr,
     "relative_update of layer 1"},
    {"first_nonfinite_layer", F::Run, nullptr, &firstNonfiniteLayer, nullptr,
     "the first layer with a non-finite value, 0 when every value is finite"},
    {"chi1", F::Run, nullptr, &chi1, "\u03c7\u2081 (mean-field)",
     "the mean-field chi1 of the network (theory)"},
}};

const char* passName(StatPass p) {
    return p == StatPass::Forward ? "forward" : "backward";
}
const char* kindName(StatKind k) {
    return k == StatKind::Real ? "real" : k == StatKind::Count ? "count" : "setting";
}

} // namespace

std::span<const LayerStatistic> layerStatistics() {
    return kRows;
}

const LayerStatistic* findLayerStatistic(std::string_view key) {
    const auto it = std::find_if(kRows.begin(), kRows.end(),
                                 [&](const LayerStatistic& s) { return key == s.key; });
    return it != kRows.end() ? &*it : nullptr;
}

std::vector<std::string> layerStatisticKeys(StatKind kind) {
    std::vector<std::string> keys;
    for (const LayerStatistic& s : kRows)
        if (s.kind == kind)
            keys.emplace_back(s.key);
    return keys;
}

std::vector<std::string> layerStatisticKeys() {
    std::vector<std::string> keys;
    for (const LayerStatistic& s : kRows)
        keys.emplace_back(s.key);
    return keys;
}

void copyPass(StatPass pass, const LayerStats& from, LayerStats& into) {
    if (pass == StatPass::Backward) {
        into.hasGradients = from.hasGradients;
        into.inputGrad2 = from.inputGrad2; // an rnn step's, outside the table (as branchRatio)
    }
    for (const LayerStatistic& s : kRows) {
        if (s.pass != pass)
            continue;
        if (s.count)
            into.*s.count = from.*s.count;
        else
            into.*s.real = from.*s.real;
    }
}

std::string layerStatisticsHelp() {
    std::string out;
    for (const LayerStatistic& s : kRows) {
        out += "  ";
        out += s.key;
        out += " (";
        out += passName(s.pass);
        if (s.kind != StatKind::Real) {
            out += ", ";
            out += kindName(s.kind);
        }
        out += ")\n      ";
        out += s.doc;
        out += "\n";
    }
    return out;
}

double RunScalar::value(const RunResult& r) const {
    if (from == From::Run)
        return ofRun(r);
    if (r.layers.empty())
        return kNaN;
    const LayerStatistic* s = findLayerStatistic(layerKey);
    return s->value(from == From::FirstLayer ? r.layers.front() : r.layers.back());
}

std::span<const RunScalar> runScalars() {
    return kScalars;
}

std::string runScalarsHelp() {
    std::string out;
    for (const RunScalar& s : kScalars) {
        out += "  ";
        out += s.name;
        out += "\n      ";
        out += s.doc;
        out += "\n";
    }
    return out;
}

const RunScalar* findRunScalar(std::string_view name) {
    const auto it = std::find_if(kScalars.begin(), kScalars.end(),
                                 [&](const RunScalar& s) { return name == s.name; });
    return it != kScalars.end() ? &*it : nullptr;
}

} // namespace initscope

// initscope-cli: the headless interface (DESIGN.md "Headless CLI contract"). Every command prints
// one JSON document to stdout; errors go to stderr with exit status 2.
#include "analysis/ensemble.h"
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "analysis/sweep.h"
#include "apps/maml.h"
#include "apps/pinn.h"
#include "apps/rl.h"
#include "core/cost.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "spec/options.h"
#include "spec/preset.h"
#include "spec/tour.h"
#include "stats/commandjson.h"
#include "stats/report.h"
#include "stats/statschema.h"
#include "theory/meanfield.h"
#include "theory/phase.h"
#include "train/train.h"
#include "train/trainability.h"

#ifdef INITSCOPE_CLI_EXPORT
#include "export/figure.h"
#include "export/tourexport.h"
#include "model/presetio.h"
#include "views/viewregistry.h"

#include <QApplication>
#include <QDir>
#include <QFileInfo>
#endif

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace initscope;
using json = nlohmann::json;

namespace {

constexpr const char* kUsage =
    R"(initscope-cli: see what initialization does to a deep network, headless.

Usage: initscope-cli COMMAND [OPTIONS]   (every command prints one JSON document)

  theory   --activation A --sigma-w2 S --sigma-b2 B [--depth L] [--input-q Q] [--input-c C]
           mean-field fixed points, chi1, depth scales, phase and the q^l, c^l recursions
  critical --activation A --sigma-b2 B
           the sigma_w^2 at which chi1 = 1
  run      [--preset NAME|FILE] [run options] [--histograms]
           propagate a batch through a real random network; per-layer statistics and theory
  sweep    --sweep NAME=FROM:TO:STEPS [--preset NAME|FILE] [run options]
           one run per point; NAME is a numeric field (sigma_w2, gain, sigma_b2, depth, ...)
  jacobian [run options] [--inputs K]
           singular values of the input-output Jacobian da^L/dx for the first K [4] inputs of
           the batch; their mean square beside the mean-field product, and max/min per input
  ntk      [run options] [--inputs K] [--no-by-depth] [--no-analytic]
           the empirical NTK of f = v.a^L + b_v on the first K [16] inputs (NTK
           parameterisation), its eigenvalues and condition number, the condition number of the
           network truncated at every depth, and the analytic (infinite-width) kernel beside it
  phase    --activation A [--activation-slope a] [--sigma-w2-range FROM:TO:STEPS [0.25:4:16]]
           [--sigma-b2-range FROM:TO:STEPS [0:0.5:6]] [--threads n]
           chi1 and xi_c on the grid, one row per sigma_b^2 ("chi1"[i][j] at sigma_b2[i],
           sigma_w2[j]), and the critical sigma_w^2 of every row (null where none exists)
  ensemble --seeds S [run options]
           S runs with seeds seed, seed+1, ...: per-layer bands (mean, min, max, q10, q90) of
           every layer statistic, and each run's scalar summaries
  train    --steps N [run options] [--task fashion-mnist|teacher [fashion-mnist]]
           [--optimizer sgd|momentum|adam [sgd]] [--lr ETA] [--momentum MU [0.9]]
           [--freeze-trunk] [--record-every k [0]] [--outputs K [10]] [--test-examples T [10000]]
           mini-batch training of the mlp (batch = --batch) and a linear readout of K units on
           its own stream; every step's mini-batch loss (and accuracy), and at steps 0, every k
           and the last the layer statistics of the trained trunk on the run's batch with the
           run's loss, and the accuracy on the first T held-out t10k images. --lr defaults to
           0.05 (sgd), 0.01 (momentum), 0.001 (adam); --learning-rate is the same setting.
           fashion-mnist implies --data fashion-mnist; teacher regresses (mse) onto a random
           network of the same shape, Gaussian inputs drawn afresh every step
           [--classes LIST] [--pretrain-steps P --pretrain-classes LIST]   (LIST: 0-4, 0,2,7)
           --classes: train (and test) on those Fashion-MNIST classes only, one output each.
           With --head options the heads replace the readout: each head learns the task (its
           last width = the classes; teacher: a teacher readout of its own), total loss =
           sum of weight_h loss_h, and each step lists every head's loss ("heads"; at
           recorded steps its output mean and spread on the run's batch, grad_w2 of its own
           loss, trunk_grad2 = its push on the trunk, trunk_share). Transfer: --pretrain-steps
           P first trains the trunk with a readout of its own on --pretrain-classes, then goes
           on from that trunk (--freeze-trunk: the heads alone learn) on --classes, e.g.
             train --steps 300 --pretrain-steps 300 --pretrain-classes 0-4 --classes 5-9
                   --freeze-trunk --head fan-in:5:lecun-normal --head big:5:normal
  trainability --depth-range FROM:TO:STEPS --sigma-w2-range FROM:TO:STEPS --steps N
           [--optimizer sgd|momentum|adam [sgd]] [--lr ETA] [--test-examples T [10000]]
           [run options]
           the trainability map (Schoenholz et al. 2017): one mlp per (depth, sigma_w^2) cell,
           lecun-normal with gain sigma_w^2 at the run options' sigma_b^2, trained N steps on
           Fashion-MNIST; "accuracy" (test) and "loss" (mean training loss of the last 10
           steps) one row per depth, null where the loss diverged ("diverged_at"); "xi_c" and
           "six_xi_c" per sigma_w^2 from the mean-field theory, null where infinite (critical)
  pinn     --wave-speed-range FROM:TO:STEPS [run options] [--collocation M [256]]
           [--train-steps N [0]] [--train-speeds c1,c2,.. [FROM,TO]] [--optimizer sgd|adam
           [adam]] [--lr ETA [0.001]] [--ic-weight w [1]] [--grid G [32]]
           the PINN u(t, x) = MLP([t, x]) for u_t + c u_x = 0 (the run's trunk, a one-unit
           readout): at every c of the log grid, on M collocation points uniform in [0, 1]^2,
           rms r (r = du/dt + c du/dx, a forward-mode tangent), ||grad mean r|| and
           ||grad mean r^2||, with log-log slopes fitted over c >= 10 ("slope") and over the
           whole range; then N training steps at each training speed on mean r^2 plus w times
           the initial-condition term mean (u(0, x) - sin 2 pi x)^2, and u on a G x G grid at
           init and after. --input-dim is 2; --init defaults to he-normal here; a --preset
           that opens the pinn view brings its settings (the options override them)
  maml     --tasks steep|gentle [--meta-steps M [500]] [--inner-steps k [1]]
           [--inner-lr a [0.01]] [--meta-lr b [0.001]] [--meta-batch T [8]] [--support K [10]]
           [--query Q [10]] [--first-order] [--record-every r [10]] [--eval-tasks E [16]]
           [run options]
           MAML (Finn et al. 2017) on sine regression y = A sin(w x + p), x in [-5, 5]:
           steep A in [2, 5], w in [2, 4]; gentle A in [0.1, 1], w in [0.5, 1]; p in [0, pi].
           The run's tanh mlp with input_dim 1 and a one-unit readout (defaults here: depth 2,
           width 40, xavier-normal); k inner SGD steps at rate a on K support points, the
           query loss's exact second-order gradient (--first-order: without the Hessian terms)
           updates the init by Adam at rate b. At meta-step 0, every r and the last: each
           layer's sigma_w2 = fan_in Var(W), the saturated fraction (|phi'| < 0.05), the inner
           gradient norm and the losses on E fixed tasks, with the start under "xavier"
  rl       [--q-opt V [1]] [--episodes n [5000]] [--actions K [8]] [--states S [32]]
           [--large-gain G [100]] [--lr ETA [0.01]] [--record-every k [50]] [run options]
           optimism through the output bias: a Q-network (the run's mlp trunk, default a tanh
           2 x 64 Xavier trunk on 16 inputs, + a linear readout of K outputs) initialised
           "zero" (readout bias 0), "optimistic" (bias V) and "optimistic-large" (bias V, readout
           weight variance x G); initial Q mean and spread over the S x K pairs with their
           theory, then n episodes of greedy Q-learning (gamma 0, one SGD step per episode) on a
           seeded contextual bandit (S Gaussian states, K Bernoulli arms, rewards in {0, 1}):
           actions tried per state, cumulative regret and Q-values at episode 0, every k, last
  presets  list the bundled presets
  export   --preset NAME|FILE --chart NAME --out FILE.(png|svg|pdf|csv) [--width W [1200]]
           [--height H [750]] [--scale S [2]] [--style lecture|plain [lecture]]
           the chart of the preset, drawn by the same widgets as the GUI; FILE may also be a
           figure initscope exported (.png, .svg); NAME is one of
@CHARTS@  export-tour --tour FILE|lessons --out DIR [--format png|svg|pdf [png]] [--width W]
           [--height H] [--scale S] [--style lecture|plain]
           a tour as a slide deck: one figure per step (the view it opens) in DIR, named
           01-PRESET.png ..., and index.md / index.html listing step, title, note and file;
           "lessons" is the bundled lesson tour

  --max-seconds S [180] (run, sweep, jacobian, ntk, phase, ensemble,
                         train, trainability, pinn, maml, rl): a job estimated to take
                         longer is refused before it starts, naming the estimate

Run options (defaults in brackets; --name value or --name=value, each at most once):
)";

/// kUsage with the charts export can draw (the ui's view registry) in place of @CHARTS@.
std::string usage() {
    std::string charts, line = "          ";
#ifdef INITSCOPE_CLI_EXPORT
    for (const QString& name : ui::exportableViewNames()) {
        if (line.size() + 1 + static_cast<std::size_t>(name.size()) > 94) {
            charts += line + "\n";
            line = "          ";
        }
        line += " " + name.toStdString();
    }
#else
    line += " (none: this initscope-cli is built without the GUI, which draws the charts)";
#endif
    charts += line + "\n";
    std::string u = kUsage;
    const std::string marker = "@CHARTS@";
    u.replace(u.find(marker), marker.size(), charts);
    return u;
}

/// The per-layer statistics of "layers" (run, sweep) and the run scalars of the ensemble, from
/// the engine's one schema.
std::string statisticsHelp() {
    return "\nPer-layer statistics (each layer of \"layers\"; the ensemble bands every real "
           "one):\n" +
           layerStatisticsHelp() +
           "\nRun scalars (the ensemble's \"scalars\", the sweep view's):\n" + runScalarsHelp();
}

struct CliError {
    std::string message;
};

[[noreturn]] void fail(const std::string& message) {
    throw CliError{message};
}

using Args = CommandLine;

double number(const std::string& option, const std::string& text) {
    double v = 0;
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || text.empty() ||
        !std::isfinite(v))
        fail("--" + option + ": must be a number (got '" + text + "')");
    return v;
}

Activation activationOption(Args& a, bool required) {
    const auto name = a.take("activation");
    if (!name && required)
        fail("--activation is required (one of linear tanh relu leaky-relu sigmoid erf gelu silu "
             "selu elu softplus sin hard-tanh)");
    const auto kind = parseActivation(name.value_or("tanh"));
    if (!kind)
        fail("--activation: unknown activation '" + *name +
             "' (one of linear tanh relu leaky-relu sigmoid erf gelu silu selu elu softplus sin "
             "hard-tanh)");
    double slope = 0.01;
    if (auto s = a.take("activation-slope"))
        slope = number("activation-slope", *s);
    return Activation(*kind, slope);
}

double requiredNumber(Args& a, const std::string& name, double lo, double hi) {
    const auto v = a.take(name);
    if (!v)
        fail("--" + name + " is required");
    const double x = number(name, *v);
    if (x < lo || x > hi)
        fail("--" + name + ": must be from " + json(lo).dump() + " to " + json(hi).dump() +
             " (got " + *v + ")");
    return x;
}

/// --preset NAME|FILE, loaded, or nothing when the option is absent; a preset that cannot be read
/// fails with its errors.
std::optional<Preset> takePreset(Args& a) {
    const auto p = a.take("preset");
    if (!p)
        return std::nullopt;
    PresetParse r = loadPreset(*p);
    if (!r.preset)
        fail("--preset " + printable(*p, 200) + ":" + describeErrors(r.errors, false));
    return std::move(r.preset);
}

/// The options a command implies unless the user gives them (e.g. --data fashion-mnist for
/// training), applied to `spec` before the preset and the user's options.
void applyImplied(NetworkSpec& spec, const std::vector<std::string>& implied) {
    if (implied.empty())
        return;
    Args extra(implied, {});
    std::vector<SpecError> errors;
    if (!extra.applyRunOptions(spec, errors))
        fail("invalid network:" + describeErrors(errors, true));
}

/// Every run option of `a` applied on top of `spec` as one layer, then (with `validateWhole`)
/// the spec validated whole (the memory budget too: a preset's budget can be raised by an option).
void applyRunOptions(Args& a, NetworkSpec& spec, bool validateWhole = true) {
    std::vector<SpecError> errors;
    if (!a.applyRunOptions(spec, errors) || (validateWhole && !(errors = validate(spec)).empty()))
        fail("invalid network:" + describeErrors(errors, true));
}

/// Run options a command does not read, each with what takes its place: given, they fail
/// (nothing a user sets is silently ignored).
struct Unused {
    const char* option;
    const char* instead;
};
void refuseUnused(const Args& a, const std::string& command, std::initializer_list<Unused> unused) {
    for (const Unused& u : unused)
        if (a.has(u.option))
            fail("--" + std::string(u.option) + ": " + command + " does not use it: " + u.instead);
}

/// A spec from --preset (if any) with every run option applied on top, validated whole.
/// With `view`, a preset that opens that view also gives its probe count (`viewInputs`).
NetworkSpec specFromArgs(Args& a, const std::string& view = {}, int* viewInputs = nullptr) {
    NetworkSpec spec;
    if (const auto preset = takePreset(a)) {
        spec = preset->spec;
        if (viewInputs && preset->view == view && preset->viewInputs > 0)
            *viewInputs = preset->viewInputs;
    }
    applyRunOptions(a, spec);
    return spec;
}

json cmdTheory(Args& a) {
    const Activation act = activationOption(a, true);
    const double sw2 = requiredNumber(a, "sigma-w2", 0, 1e6);
    const double sb2 = requiredNumber(a, "sigma-b2", 0, 1e6);
    int depth = 50;
    if (auto d = a.take("depth")) {
        const double v = number("depth", *d);
        if (v != std::floor(v) || v < 1 || v > Limits::kMaxDepth)
            fail("--depth: must be an integer from 1 to " + std::to_string(Limits::kMaxDepth) +
                 " (got " + *d + ")");
        depth = static_cast<int>(v);
    }
    double q0 = 1.0, c0 = 0.5;
    if (auto q = a.take("input-q")) {
        q0 = number("input-q", *q);
        if (q0 < 0)
            fail("--input-q: must be a number >= 0 (got " + *q + ")");
    }
    if (auto c = a.take("input-c")) {
        c0 = number("input-c", *c);
        if (c0 < -1 || c0 > 1)
            fail("--input-c: must be a number from -1 to 1 (got " + *c + ")");
    }
    a.expectEmpty();
    const auto lt =
        meanfield::layerTheory(act, std::vector<double>(static_cast<std::size_t>(depth), sw2), sb2,
                               q0, c0, std::vector<int>(static_cast<std::size_t>(depth), 1));
    // the maps start at the first layer's pre-activations (q^1, c^1), as the q and c columns do
    const double q1 = lt.q.front();
    const meanfield::FixedPoint fp =
        meanfield::fixedPoint(act, sw2, sb2, q1 > 0 ? q1 : 1.0, lt.c.front());
    return theoryJson(act, sw2, sb2, q0, c0, lt, fp);
}

json cmdCritical(Args& a) {
    const Activation act = activationOption(a, true);
    const double sb2 = requiredNumber(a, "sigma-b2", 0, 1e6);
    a.expectEmpty();
    const double sw2 = meanfield::criticalSigmaW2(act, sb2);
    if (!std::isfinite(sw2))
        fail("no critical sigma_w^2 exists for " + act.name() +
             " at sigma_b^2 = " + json(sb2).dump() + " (chi1 never reaches 1 there)");
    const meanfield::FixedPoint fp = meanfield::fixedPoint(act, sw2, sb2);
    return criticalJson(act, sb2, sw2, fp);
}

/// --max-seconds S: the longest a command may be estimated to take (cost.h) before it is
/// refused. Three minutes by default: longer jobs are deliberate and say so.
constexpr double kDefaultMaxSeconds = 180;
double maxSecondsOption(Args& a) {
    const auto v = a.take("max-seconds");
    if (!v)
        return kDefaultMaxSeconds;
    const double x = number("max-seconds", *v);
    if (x <= 0)
        fail("--max-seconds: must be a number greater than 0 (got " + *v + ")");
    return x;
}
void refuseIfTooLong(const std::string& what, double estimate, double maxSeconds) {
    if (estimate > maxSeconds)
        fail(tooLongMessage(what, estimate, maxSeconds));
}

json cmdRun(Args& a) {
    const bool hist = a.flag("histograms");
    const double maxSeconds = maxSecondsOption(a);
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    refuseIfTooLong("this run", estimateRunSeconds(spec), maxSeconds);
    Engine engine;
    return resultToJson(engine.run(spec), hist);
}

json cmdSweep(Args& a) {
    const auto sweepText = a.take("sweep");
    if (!sweepText)
        fail("--sweep NAME=FROM:TO:STEPS is required, e.g. --sweep gain=0.5:4:16");
    std::string err;
    const auto axis = parseSweepAxis(*sweepText, err);
    if (!axis)
        fail(err);
    const bool hist = a.flag("histograms");
    const double maxSeconds = maxSecondsOption(a);
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    if (auto errors = validateSweep(spec, *axis); !errors.empty())
        fail(std::string("invalid sweep point:\n  ") + errors.front().message);
    refuseIfTooLong("this sweep of " + std::to_string(axis->steps) + " runs",
                    estimateSweepSeconds(spec, *axis), maxSeconds);
    Engine engine;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<SweepPoint> points;
    try {
        points = runSweep(engine, spec, *axis);
    } catch (const SpecInvalid& e) {
        fail(std::string("invalid sweep point:\n  ") + e.what());
    }
    return sweepJson(*axis, spec, points, hist,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

/// --inputs K: an integer from 1 to maxInputs (the command's validation also bounds it by the
/// batch, which is known only with the spec).
int inputsOption(Args& a, int defaultInputs, int maxInputs) {
    const auto v = a.take("inputs");
    if (!v)
        return defaultInputs;
    const std::string range = "must be an integer from 1 to " + std::to_string(maxInputs) +
                              " and at most --batch (got '" + printable(*v, 40) + "')";
    double x = 0;
    auto r = std::from_chars(v->data(), v->data() + v->size(), x);
    if (r.ec != std::errc() || r.ptr != v->data() + v->size() || v->empty() || x != std::floor(x) ||
        x < 1 || x > maxInputs)
        fail("--inputs: " + range);
    return static_cast<int>(x);
}

/// Problems of a command's own options, phrased like the run options' (--name: ...).
[[noreturn]] void failSpecErrors(const std::vector<SpecError>& errors) {
    fail("invalid options:" + describeErrors(errors, true));
}

json cmdJacobian(Args& a) {
    const bool given = a.has("inputs");
    int k = inputsOption(a, 4, kMaxJacobianInputs);
    const double maxSeconds = maxSecondsOption(a);
    int presetInputs = 0;
    NetworkSpec spec = specFromArgs(a, "jacobian", &presetInputs);
    if (!given && presetInputs > 0)
        k = presetInputs; // the preset's view settings, unless --inputs says otherwise
    a.expectEmpty();
    if (auto errors = validateJacobian(spec, k); !errors.empty())
        failSpecErrors(errors);
    refuseIfTooLong("this Jacobian", estimateJacobianSeconds(spec, k), maxSeconds);
    const JacobianResult r = computeJacobian(spec, k);
    return jacobianJson(spec, k, r);
}

json cmdNtk(Args& a) {
    NtkOptions opt;
    opt.byDepth = !a.flag("no-by-depth");
    opt.analytic = !a.flag("no-analytic");
    const bool given = a.has("inputs");
    opt.inputs = inputsOption(a, 16, kMaxNtkInputs);
    const double maxSeconds = maxSecondsOption(a);
    int presetInputs = 0;
    NetworkSpec spec = specFromArgs(a, "ntk", &presetInputs);
    if (!given && presetInputs > 0)
        opt.inputs = presetInputs; // the preset's view settings, unless --inputs says otherwise
    a.expectEmpty();
    if (auto errors = validateNtk(spec, opt); !errors.empty())
        failSpecErrors(errors);
    refuseIfTooLong("this NTK", estimateNtkSeconds(spec, opt), maxSeconds);
    const NtkResult r = computeNtk(spec, opt);
    return ntkJson(spec, opt, r);
}

GridAxis gridOption(Args& a, const std::string& name, const GridAxis& fallback) {
    const auto v = a.take(name);
    if (!v)
        return fallback;
    std::string err;
    const auto ax = parseGridAxis(name, *v, err);
    if (!ax)
        fail(err);
    return *ax;
}

json cmdPhase(Args& a) {
    const Activation act = activationOption(a, true);
    const GridAxis w = gridOption(a, "sigma-w2-range", {0.25, 4.0, 16});
    const GridAxis b = gridOption(a, "sigma-b2-range", {0.0, 0.5, 6});
    int threads = 0;
    if (auto t = a.take("threads")) {
        const double v = number("threads", *t);
        if (v != std::floor(v) || v < 0 || v > Limits::kMaxThreads)
            fail("--threads: must be an integer from 0 to " + std::to_string(Limits::kMaxThreads) +
                 " (got " + *t + ")");
        threads = static_cast<int>(v);
    }
    const double maxSeconds = maxSecondsOption(a);
    a.expectEmpty();
    const long cells = static_cast<long>(w.steps) * b.steps;
    if (cells > kMaxPhaseCells)
        fail("--sigma-w2-range, --sigma-b2-range: at most " + std::to_string(kMaxPhaseCells) +
             " cells in all (got " + std::to_string(w.steps) + " x " + std::to_string(b.steps) +
             ")");
    refuseIfTooLong("this phase diagram of " + std::to_string(cells) + " cells",
                    estimatePhaseSeconds(cells, threads), maxSeconds);
    const PhaseDiagram pd = computePhaseDiagram(act, w, b, {}, nullptr, threads);
    return phaseJson(act, pd);
}

json cmdEnsemble(Args& a) {
    const auto seedsText = a.take("seeds");
    if (!seedsText)
        fail("--seeds S is required (1 to " + std::to_string(kMaxEnsembleSeeds) + ")");
    const double sv = number("seeds", *seedsText);
    if (sv != std::floor(sv) || sv < 1 || sv > kMaxEnsembleSeeds)
        fail("--seeds: must be an integer from 1 to " + std::to_string(kMaxEnsembleSeeds) +
             " (got " + *seedsText + ")");
    const double maxSeconds = maxSecondsOption(a);
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    if (auto errors = validateEnsemble(spec, static_cast<int>(sv)); !errors.empty())
        throw SpecInvalid(std::move(errors));
    refuseIfTooLong("this ensemble of " + std::to_string(static_cast<int>(sv)) + " runs",
                    estimateEnsembleSeconds(spec, static_cast<int>(sv)), maxSeconds);
    Engine engine;
    const EnsembleResult e = runEnsemble(engine, spec, static_cast<int>(sv));
    return ensembleJson(spec, e);
}

int integerOption(Args& a, const std::string& name, int lo, int hi, int fallback) {
    const auto v = a.take(name);
    if (!v)
        return fallback;
    const double x = number(name, *v);
    if (x != std::floor(x) || x < lo || x > hi)
        fail("--" + name + ": must be an integer from " + std::to_string(lo) + " to " +
             std::to_string(hi) + " (got " + *v + ")");
    return static_cast<int>(x);
}

json cmdTrain(Args& a) {
    TrainSpec t;
    bool presetTrains = false; // a preset's "train" block gives the defaults of the options
    if (const auto name = a.peek("preset")) { // (taken, and its errors reported, below)
        PresetParse r = loadPreset(*name);
        if (r.preset && r.preset->train) {
            t = *r.preset->train;
            presetTrains = true;
        }
    }
    if (!a.has("steps") && !presetTrains)
        fail("--steps N is required (an integer from 1 to " + std::to_string(TrainSpec::kMaxSteps) +
             ")");
    t.steps = integerOption(a, "steps", 1, TrainSpec::kMaxSteps, t.steps);
    if (auto v = a.take("task"); v && !parseTrainTask(*v, t.task))
        fail("--task: unknown task '" + printable(*v, 100) + "' (fashion-mnist or teacher)");
    if (auto v = a.take("optimizer"); v && !parseOptimizer(*v, t.optimizer))
        fail("--optimizer: unknown optimizer '" + printable(*v, 100) + "' (sgd, momentum or adam)");
    if (a.has("lr") && a.has("learning-rate"))
        fail("--lr and --learning-rate are the same setting: give one");
    if (auto v = a.take("lr")) {
        t.learningRate = number("lr", *v);
        if (!(t.learningRate > 0) || t.learningRate > 1e3)
            fail("--lr: must be a number > 0 and <= 1000 (got " + *v + ")");
    }
    if (auto v = a.take("momentum")) {
        if (t.optimizer != Optimizer::Momentum)
            fail("--momentum: applies to --optimizer momentum only, and --optimizer is " +
                 optimizerName(t.optimizer));
        t.momentum = number("momentum", *v);
        if (!(t.momentum >= 0 && t.momentum < 1))
            fail("--momentum: must be a number from 0 to below 1 (got " + *v + ")");
    }
    t.freezeTrunk = a.flag("freeze-trunk") || t.freezeTrunk;
    t.recordEvery = integerOption(a, "record-every", 0, TrainSpec::kMaxSteps, t.recordEvery);
    if (a.has("outputs") && t.task == TrainTask::FashionMnist)
        fail("--outputs: applies to --task teacher only; --task fashion-mnist has its 10 classes");
    t.outputs = integerOption(a, "outputs", 1, TrainSpec::kMaxOutputs, t.outputs);
    // transfer and class subsets (fashion-mnist): the readout has one output per class
    for (const auto& [option, list] :
         {std::pair{"classes", &t.classes}, std::pair{"pretrain-classes", &t.pretrainClasses}})
        if (auto v = a.take(option)) {
            std::string err;
            if (!parseClassList(*v, *list, err))
                fail(std::string("--") + option + ": " + err);
        }
    if (t.task == TrainTask::FashionMnist && !t.classes.empty())
        t.outputs = static_cast<int>(t.classes.size());
    t.pretrainSteps = integerOption(a, "pretrain-steps", 0, TrainSpec::kMaxSteps, t.pretrainSteps);
    if (a.has("test-examples") && t.task == TrainTask::Teacher)
        fail("--test-examples: applies to --task fashion-mnist only (a teacher's inputs are "
             "fresh every step), and --task is teacher");
    t.testExamples =
        integerOption(a, "test-examples", 1, TrainSpec::kMaxTestExamples, t.testExamples);
    const double maxSeconds = maxSecondsOption(a);
    const bool learningRateOption = a.has("learning-rate");
    // fashion-mnist trains on its images: the data option follows the task unless given
    std::vector<std::string> implied;
    if (t.task == TrainTask::FashionMnist && !a.has("data") && !a.has("preset")) {
        if (a.has("input-dim"))
            fail("--input-dim: --task fashion-mnist reads 784-pixel images, so the input "
                 "dimension is theirs");
        implied = {"--data", "fashion-mnist"};
    }
    NetworkSpec spec;
    applyImplied(spec, implied);
    if (const auto preset = takePreset(a))
        spec = preset->spec;
    applyRunOptions(a, spec);
    a.expectEmpty();
    if (learningRateOption)
        t.learningRate = spec.learningRate;
    if (auto e = validateTraining(spec, t); !e.empty()) {
        std::string m = "invalid training:";
        for (const SpecError& x : e) {
            std::string line = withOptionNames(x.message); // spec fields: --data, --arch
            if (line.rfind("--", 0) != 0) { // the training's own: steps, record_every, ...
                const auto colon = line.find(':');
                std::replace(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), '_',
                             '-');
                line = "--" + line;
            }
            m += "\n  " + line;
        }
        if (e.front().field == "data")
            m += " (with --task " + trainTaskName(t.task) + ")";
        fail(m);
    }
    refuseIfTooLong("this training", estimateTrainSeconds(spec, t), maxSeconds);
    return trainResultToJson(trainNetwork(spec, t));
}

/// A validator's messages with the CLI's option names: spec fields through withOptionNames, the
/// command's own (wave_speed_range, train_steps, ...) as --wave-speed-range, --train-steps.
std::string commandErrors(const std::string& title, const std::vector<SpecError>& e) {
    std::string m = title;
    for (const SpecError& x : e) {
        std::string line = withOptionNames(x.message);
        if (line.rfind("--", 0) != 0) {
            const auto colon = line.find(':');
            std::replace(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), '_', '-');
            line = "--" + line;
        }
        m += "\n  " + line;
    }
    return m;
}

json cmdPinn(Args& a) {
    refuseUnused(a, "pinn",
                 {{"batch", "its inputs are the --collocation M points"},
                  {"input-mean", "the collocation points are uniform in [0, 1]^2"},
                  {"input-scale", "the collocation points are uniform in [0, 1]^2"},
                  {"loss", "its loss is mean r^2 plus --ic-weight times the initial condition"},
                  {"learning-rate", "its training rate is --lr"},
                  {"hist-bins", "it draws no histogram of the layers"},
                  {"hist-range", "it draws no histogram of the layers"}});
    // a preset that opens the pinn view brings its settings; the options override them
    const std::optional<Preset> preset = takePreset(a);
    PinnSpec p = preset && preset->pinn ? *preset->pinn : PinnSpec{};
    if (!a.has("wave-speed-range") && !(preset && preset->pinn))
        fail("--wave-speed-range FROM:TO:STEPS is required (a log grid of wave speeds c, "
             "0 < FROM < TO <= 1e6, STEPS from 2 to " +
             std::to_string(PinnSpec::kMaxSpeeds) + ")");
    if (a.has("wave-speed-range")) {
        const std::string text = *a.take("wave-speed-range");
        std::string err;
        const auto ax = parseGridAxis("wave-speed-range", text, err);
        if (!ax)
            fail(err);
        p.speedFrom = ax->from;
        p.speedTo = ax->to;
        p.speeds = ax->steps;
    }
    p.collocation = integerOption(a, "collocation", 1, PinnSpec::kMaxCollocation, p.collocation);
    p.trainSteps = integerOption(a, "train-steps", 0, PinnSpec::kMaxTrainSteps, p.trainSteps);
    p.grid = integerOption(a, "grid", 2, PinnSpec::kMaxGrid, p.grid);
    if (auto v = a.take("train-speeds")) {
        std::size_t start = 0;
        while (start <= v->size()) {
            const auto comma = v->find(',', start);
            const std::string item =
                v->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            const double c = number("train-speeds", item);
            if (!(std::abs(c) <= PinnSpec::kMaxSpeed))
                fail("--train-speeds: each must be a number with |c| <= 1e6 (got " + item + ")");
            p.trainSpeeds.push_back(c);
            if (comma == std::string::npos)
                break;
            start = comma + 1;
        }
        if (p.trainSpeeds.size() > 8)
            fail("--train-speeds: at most 8 speeds (got " + std::to_string(p.trainSpeeds.size()) +
                 ")");
    }
    if (auto v = a.take("optimizer")) {
        if (!parseOptimizer(*v, p.optimizer) || p.optimizer == Optimizer::Momentum)
            fail("--optimizer: unknown optimizer '" + printable(*v, 100) + "' (sgd or adam)");
    }
    if (auto v = a.take("lr")) {
        p.learningRate = number("lr", *v);
        if (!(p.learningRate > 0) || p.learningRate > 1e3)
            fail("--lr: must be a number > 0 and <= 1000 (got " + *v + ")");
    }
    if (auto v = a.take("ic-weight")) {
        p.icWeight = number("ic-weight", *v);
        if (!(p.icWeight >= 0) || p.icWeight > 1e6)
            fail("--ic-weight: must be a number from 0 to 1e6 (got " + *v + ")");
    }
    const double maxSeconds = maxSecondsOption(a);
    // the input is (t, x), and the measurement is at He init unless another init is asked for
    std::vector<std::string> implied;
    if (!preset) {
        if (!a.has("input-dim"))
            implied.insert(implied.end(), {"--input-dim", "2"});
        if (!a.has("init") && !a.has("sigma-w2"))
            implied.insert(implied.end(), {"--init", "he-normal"});
    }
    NetworkSpec spec;
    applyImplied(spec, implied);
    if (preset)
        spec = preset->spec;
    applyRunOptions(a, spec);
    a.expectEmpty();
    if (auto e = validatePinn(spec, p); !e.empty())
        fail(commandErrors("invalid pinn:", e));
    refuseIfTooLong("this pinn measurement", estimatePinnSeconds(spec, p), maxSeconds);
    return pinnResultToJson(runPinn(spec, p));
}

json cmdMaml(Args& a) {
    refuseUnused(a, "maml",
                 {{"batch", "its points are the --support K and --query Q points of each task"},
                  {"input-mean", "x is uniform in [-5, 5]"},
                  {"input-scale", "x is uniform in [-5, 5]"},
                  {"loss", "its loss is the tasks' mean squared error"},
                  {"learning-rate", "its rates are --inner-lr and --meta-lr"},
                  {"hist-bins", "it draws no histogram of the layers"},
                  {"hist-range", "it draws no histogram of the layers"}});
    MamlSpec m;
    const auto tasks = a.take("tasks");
    if (!tasks)
        fail("--tasks steep|gentle is required");
    if (!parseMamlTasks(*tasks, m.tasks))
        fail("--tasks: unknown family '" + printable(*tasks, 100) + "' (steep or gentle)");
    m.metaSteps = integerOption(a, "meta-steps", 1, MamlSpec::kMaxMetaSteps, m.metaSteps);
    m.innerSteps = integerOption(a, "inner-steps", 1, MamlSpec::kMaxInnerSteps, m.innerSteps);
    m.metaBatch = integerOption(a, "meta-batch", 1, MamlSpec::kMaxMetaBatch, m.metaBatch);
    m.support = integerOption(a, "support", 1, MamlSpec::kMaxPoints, m.support);
    m.query = integerOption(a, "query", 1, MamlSpec::kMaxPoints, m.query);
    m.recordEvery = integerOption(a, "record-every", 1, MamlSpec::kMaxMetaSteps, m.recordEvery);
    m.evalTasks = integerOption(a, "eval-tasks", 1, MamlSpec::kMaxEvalTasks, m.evalTasks);
    if (auto v = a.take("inner-lr")) {
        m.innerLr = number("inner-lr", *v);
        if (!(m.innerLr > 0 && m.innerLr <= 10))
            fail("--inner-lr: must be a number > 0 and <= 10 (got " + *v + ")");
    }
    if (auto v = a.take("meta-lr")) {
        m.metaLr = number("meta-lr", *v);
        if (!(m.metaLr > 0 && m.metaLr <= 1))
            fail("--meta-lr: must be a number > 0 and <= 1 (got " + *v + ")");
    }
    m.firstOrder = a.flag("first-order");
    const double maxSeconds = maxSecondsOption(a);
    NetworkSpec spec = mamlDefaultSpec();
    if (const auto preset = takePreset(a))
        spec = preset->spec;
    applyRunOptions(a, spec);
    a.expectEmpty();
    if (auto e = validateMaml(spec, m); !e.empty())
        fail(commandErrors("invalid options:", e));
    refuseIfTooLong("this meta-learning", estimateMamlSeconds(spec, m), maxSeconds);
    return mamlResultToJson(runMaml(spec, m));
}

json cmdRl(Args& a) {
    refuseUnused(a, "rl",
                 {{"batch", "each episode updates the Q-value of one state and action"},
                  {"loss", "its loss is the squared TD error of the action taken"},
                  {"hist-bins", "it draws no layer histogram (the initial Q-values' histogram "
                                "has 40 bins over a range common to the inits)"},
                  {"hist-range", "it draws no layer histogram (the initial Q-values' histogram "
                                 "has 40 bins over a range common to the inits)"}});
    RlSpec r;
    const auto real = [&](const char* name, double lo, double hi, double fallback) {
        const auto v = a.take(name);
        if (!v)
            return fallback;
        const double x = number(name, *v);
        const auto shown = [](double b) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", b);
            return std::string(buf);
        };
        if (x < lo || x > hi)
            fail(std::string("--") + name + ": must be from " + shown(lo) + " to " + shown(hi) +
                 " (got " + *v + ")");
        return x;
    };
    r.qOpt = real("q-opt", -1000, 1000, r.qOpt);
    r.episodes = integerOption(a, "episodes", 1, RlSpec::kMaxEpisodes, r.episodes);
    r.actions = integerOption(a, "actions", 2, RlSpec::kMaxActions, r.actions);
    r.states = integerOption(a, "states", 1, RlSpec::kMaxStates, r.states);
    r.largeGain = real("large-gain", 1e-6, 1e6, r.largeGain);
    if (a.has("lr") && a.has("learning-rate"))
        fail("--lr and --learning-rate are the same setting: give one");
    r.learningRate = real("lr", 1e-9, 10, r.learningRate);
    r.recordEvery = integerOption(a, "record-every", 1, RlSpec::kMaxEpisodes, r.recordEvery);
    const bool learningRateOption = a.has("learning-rate");
    const double maxSeconds = maxSecondsOption(a);
    NetworkSpec spec = rlDefaultSpec();
    if (const auto preset = takePreset(a))
        spec = preset->spec;
    applyRunOptions(a, spec);
    a.expectEmpty();
    if (learningRateOption)
        r.learningRate = spec.learningRate;
    if (auto e = validateRl(spec, r); !e.empty())
        fail(commandErrors("invalid rl:", e));
    refuseIfTooLong("this rl run", estimateRlSeconds(spec, r), maxSeconds);
    return rlResultToJson(runRl(spec, r));
}

/// The trainability map (trainability.h): the grid's axes, the training's options and the run
/// options of the network every cell shares.
json cmdTrainability(Args& a) {
    refuseUnused(a, "trainability",
                 {{"loss", "every cell trains on the softmax cross-entropy of Fashion-MNIST"},
                  {"hist-bins", "it draws no histogram of the layers"},
                  {"hist-range", "it draws no histogram of the layers"}});
    const auto depthText = a.take("depth-range");
    if (!depthText)
        fail("--depth-range FROM:TO:STEPS is required (integer depths, e.g. 10:100:4)");
    const auto sigmaText = a.take("sigma-w2-range");
    if (!sigmaText)
        fail("--sigma-w2-range FROM:TO:STEPS is required (e.g. 1:4:4)");
    if (!a.has("steps"))
        fail("--steps N is required (an integer from 1 to " + std::to_string(TrainSpec::kMaxSteps) +
             ")");
    TrainabilityGrid grid;
    std::string err;
    const auto depthAxis = parseDepthAxis("depth-range", *depthText, err);
    if (!depthAxis)
        fail(err);
    const auto sigmaAxis = parseSigmaW2Axis("sigma-w2-range", *sigmaText, err);
    if (!sigmaAxis)
        fail(err);
    grid.depth = *depthAxis;
    grid.sigmaW2 = *sigmaAxis;
    for (const char* o : {"depth", "init", "gain", "sigma-w2", "widths"})
        if (a.has(o))
            fail(std::string("--") + o +
                 ": the trainability map sets every cell's depth and init (lecun-normal with "
                 "gain sigma_w^2) from --depth-range and --sigma-w2-range");
    TrainSpec t;
    t.steps = integerOption(a, "steps", 1, TrainSpec::kMaxSteps, t.steps);
    if (auto v = a.take("optimizer"); v && !parseOptimizer(*v, t.optimizer))
        fail("--optimizer: unknown optimizer '" + printable(*v, 100) + "' (sgd, momentum or adam)");
    if (a.has("lr") && a.has("learning-rate"))
        fail("--lr and --learning-rate are the same setting: give one");
    if (auto v = a.take("lr")) {
        t.learningRate = number("lr", *v);
        if (!(t.learningRate > 0) || t.learningRate > 1e3)
            fail("--lr: must be a number > 0 and <= 1000 (got " + *v + ")");
    }
    t.testExamples =
        integerOption(a, "test-examples", 1, TrainSpec::kMaxTestExamples, t.testExamples);
    const double maxSeconds = maxSecondsOption(a);
    const bool learningRateOption = a.has("learning-rate");
    NetworkSpec spec;
    if (!a.has("data") && !a.has("preset")) {
        if (a.has("input-dim"))
            fail("--input-dim: the trainability map reads 784-pixel Fashion-MNIST images, so "
                 "the input dimension is theirs");
        applyImplied(spec, {"--data", "fashion-mnist"});
    }
    if (const auto preset = takePreset(a))
        spec = preset->spec;
    applyRunOptions(a, spec, false);
    a.expectEmpty();
    if (learningRateOption)
        t.learningRate = spec.learningRate;
    if (auto e = validateTrainability(spec, t, grid); !e.empty())
        fail(commandErrors("invalid trainability map:", e));
    const long cells = static_cast<long>(grid.depth.steps) * grid.sigmaW2.steps;
    refuseIfTooLong("this trainability map of " + std::to_string(cells) + " trainings",
                    estimateTrainabilitySeconds(spec, t, grid), maxSeconds);
    return trainabilityJson(computeTrainabilityMap(spec, t, grid));
}

json cmdPresets(Args& a) {
    a.expectEmpty();
    return presetsJson();
}

#ifdef INITSCOPE_CLI_EXPORT
/// --width, --height, --scale and --style of export and export-tour.
ui::FigureOptions figureOptions(Args& a) {
    ui::FigureOptions options;
    auto intOption = [&](const char* name, int lo, int hi, int fallback) {
        const auto v = a.take(name);
        if (!v)
            return fallback;
        const double x = number(name, *v);
        if (x != std::floor(x) || x < lo || x > hi)
            fail(std::string("--") + name + ": must be an integer from " + std::to_string(lo) +
                 " to " + std::to_string(hi) + " (got " + *v + ")");
        return static_cast<int>(x);
    };
    options.size = QSize(intOption("width", 320, 4000, options.size.width()),
                         intOption("height", 220, 4000, options.size.height()));
    if (const auto v = a.take("scale")) {
        options.scale = number("scale", *v);
        if (options.scale < 0.25 || options.scale > 8)
            fail("--scale: must be from 0.25 to 8 (got " + *v + ")");
    }
    if (const auto v = a.take("style")) {
        if (*v != "lecture" && *v != "plain")
            fail("--style: must be lecture or plain (got '" + *v + "')");
        options.lecture = *v == "lecture";
    }
    return options;
}

/// The Qt application the figure commands draw with (offscreen unless a platform is set).
std::unique_ptr<QApplication> startQt() {
    // Qt only here: the other commands never need a display or the Qt libraries' start-up.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    // stderr is for this command's errors: Qt's start-up notes (no XDG_RUNTIME_DIR, fonts, the
    // offscreen platform's limits) would read as failures to scripts
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext&, const QString& m) {
        if (type == QtCriticalMsg || type == QtFatalMsg)
            std::fprintf(stderr, "initscope-cli export: %s\n", qPrintable(m));
    });
    static int qtArgc = 1;
    static char qtName[] = "initscope-cli";
    static char* qtArgv[] = {qtName, nullptr};
    return std::make_unique<QApplication>(qtArgc, qtArgv);
}

json cmdExport(Args& a) {
    const auto presetArg = a.take("preset");
    const auto chart = a.take("chart");
    const auto out = a.take("out");
    if (!presetArg)
        fail("--preset NAME|FILE is required");
    if (!chart)
        fail("--chart is required (one of " +
             (ui::figureNames() + ui::analysisFigureNames())
                 .join(QStringLiteral(", "))
                 .toStdString() +
             ")");
    if (!out)
        fail("--out FILE.(png|svg|pdf|csv) is required");
    ui::FigureOptions options = figureOptions(a);
    a.expectEmpty();
    const auto app = startQt();

    PresetParse r;
    const QString arg = QString::fromStdString(*presetArg);
    if (const Preset* bundled = findBundledPreset(*presetArg))
        r.preset = *bundled;
    else if (QFileInfo::exists(arg))
        r = ui::readPresetOrFigure(arg);
    else
        r = loadPreset(*presetArg); // names the bundled presets in its error
    if (!r.preset) {
        std::string m = "--preset " + *presetArg + ":";
        for (const auto& e : r.errors)
            m += "\n  " + e.message;
        fail(m);
    }
    options.presetJson = QString::fromStdString(presetToJson(*r.preset));
    QString error;
    const QString path = QString::fromStdString(*out);
    if (!ui::exportPresetFigure(*r.preset, QString::fromStdString(*chart), path, options, &error))
        fail(error.toStdString());
    return {{"out", QFileInfo(path).absoluteFilePath().toStdString()},
            {"chart", *chart},
            {"preset", r.preset->name},
            {"format", QFileInfo(path).suffix().toLower().toStdString()},
            {"width", options.size.width()},
            {"height", options.size.height()},
            {"scale", options.scale},
            {"style", options.lecture ? "lecture" : "plain"},
            {"bytes", QFileInfo(path).size()}};
}

json cmdExportTour(Args& a) {
    const auto tourArg = a.take("tour");
    const auto out = a.take("out");
    const std::string format = a.take("format").value_or("png");
    if (!tourArg)
        fail("--tour FILE|lessons is required (lessons: the bundled lesson tour)");
    if (!out)
        fail("--out DIR is required (the folder of figures and index)");
    if (format != "png" && format != "svg" && format != "pdf")
        fail("--format: must be png, svg or pdf (got '" + format + "')");
    ui::FigureOptions options = figureOptions(a);
    a.expectEmpty();
    Tour tour;
    std::vector<TourStop> stops;
    if (*tourArg == "lessons") {
        tour = bundledTour();
        stops = resolveTour(tour, std::string()).stops;
    } else {
        const TourParse parsed = readTourFile(*tourArg);
        if (!parsed.tour) {
            std::string m = "--tour " + *tourArg + ":";
            for (const auto& e : parsed.errors)
                m += "\n  " + e.message;
            fail(m);
        }
        const TourResolve resolved =
            resolveTour(*parsed.tour, std::filesystem::absolute(*tourArg).parent_path().string());
        if (!resolved.errors.empty()) {
            std::string m = "--tour " + *tourArg + ":";
            for (const auto& e : resolved.errors)
                m += "\n  " + e.message;
            fail(m);
        }
        tour = *parsed.tour;
        stops = resolved.stops;
    }
    const auto app = startQt();
    QStringList files;
    QString error;
    const QString dir = QString::fromStdString(*out);
    if (!ui::exportTourBlocking(QString::fromStdString(tour.title), stops, dir,
                                QString::fromStdString(format), options, &files, &error))
        fail("--out " + *out + ": " + error.toStdString());
    json steps = json::array();
    for (std::size_t i = 0; i < stops.size(); ++i) {
        const QString file =
            ui::tourFigureName(static_cast<int>(i), stops[i], QString::fromStdString(format));
        steps.push_back({{"step", i + 1},
                         {"preset", stops[i].preset.name},
                         {"view", stops[i].preset.view},
                         {"title", stops[i].title},
                         {"file", file.toStdString()},
                         {"bytes", QFileInfo(QDir(dir).filePath(file)).size()}});
    }
    return {{"out", QFileInfo(dir).absoluteFilePath().toStdString()},
            {"title", tour.title},
            {"format", format},
            {"index", {"index.md", "index.html"}},
            {"steps", steps}};
}
#endif

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << usage() << runOptionsHelp() << statisticsHelp();
        return 2;
    }
    if (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
        std::string(argv[1]) == "help") {
        std::cout << usage() << runOptionsHelp() << statisticsHelp();
        return 0;
    }
    const std::vector<std::string> rest(argv + 2, argv + argc);
    const std::string cmd = argv[1];
    try {
        // every command: its name, its flags (options without a value) and its function
        struct Command {
            const char* name;
            std::vector<std::string> flags;
            json (*run)(Args&);
        };
#ifdef INITSCOPE_CLI_EXPORT
        json (*const exportCmd)(Args&) = cmdExport;
        json (*const exportTourCmd)(Args&) = cmdExportTour;
#else
        json (*const exportCmd)(Args&) = nullptr; // built without the GUI
        json (*const exportTourCmd)(Args&) = nullptr;
#endif
        const Command commands[] = {
            {"theory", {}, cmdTheory},
            {"critical", {}, cmdCritical},
            {"run", {"histograms"}, cmdRun},
            {"sweep", {"histograms"}, cmdSweep},
            {"jacobian", {}, cmdJacobian},
            {"ntk", {"no-by-depth", "no-analytic"}, cmdNtk},
            {"phase", {}, cmdPhase},
            {"ensemble", {}, cmdEnsemble},
            {"train", {"freeze-trunk"}, cmdTrain},
            {"trainability", {}, cmdTrainability},
            {"pinn", {}, cmdPinn},
            {"maml", {"first-order"}, cmdMaml},
            {"rl", {}, cmdRl},
            {"presets", {}, cmdPresets},
            {"export", {}, exportCmd},
            {"export-tour", {}, exportTourCmd},
        };
        const Command* command = nullptr;
        std::string names;
        for (const Command& c : commands) {
            names += (names.empty() ? "" : ", ") + std::string(c.name);
            if (cmd == c.name)
                command = &c;
        }
        if (!command)
            fail("unknown command '" + printable(cmd, 100) + "' (commands: " + names +
                 "; see --help)");
        if (!command->run)
            fail("this initscope-cli was built without the GUI (INITSCOPE_BUILD_GUI=OFF), so it "
                 "cannot draw charts");
        Args a(rest, command->flags);
        const json out = command->run(a);
        std::cout << out.dump() << "\n";
        return 0;
    } catch (const CliError& e) {
        std::cerr << "initscope-cli " << cmd << ": " << e.message << "\n";
    } catch (const SpecInvalid& e) {
        std::cerr << "initscope-cli " << cmd << ": invalid network:\n  " << e.what() << "\n";
    } catch (const std::bad_alloc&) {
        std::cerr << "initscope-cli " << cmd << ": out of memory (lower depth, width or batch)\n";
    } catch (const std::exception& e) {
        std::cerr << "initscope-cli " << cmd << ": " << e.what() << "\n";
    }
    return 2;
}

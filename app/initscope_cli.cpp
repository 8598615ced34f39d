// initscope-cli: the headless interface (DESIGN.md "Headless CLI contract"). Every command prints
// one JSON document to stdout; errors go to stderr with exit status 2.
#include "engine.h"
#include "ensemble.h"
#include "fields.h"
#include "jacobian.h"
#include "meanfield.h"
#include "ntk.h"
#include "phase.h"
#include "preset.h"
#include "report.h"
#include "sweep.h"

#ifdef INITSCOPE_CLI_EXPORT
#include "figure.h"
#include "presetio.h"

#include <QApplication>
#include <QFileInfo>
#endif

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
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
  presets  list the bundled presets
  export   --preset NAME|FILE --chart NAME --out FILE.(png|svg|pdf|csv) [--width W [1200]]
           [--height H [750]] [--scale S [2]] [--style lecture|plain [lecture]]
           the chart (signal gradients correlation distribution activations, or the analysis
           views phase jacobian ntk sweep as .png/.svg/.pdf) of the preset, drawn by the same
           widgets as the GUI; FILE may also be a figure initscope exported (.png, .svg)

Run options (defaults in brackets):
  --depth L [50]  --width N [256]  --widths N1,N2,...  --input-dim N0 [256]  --batch B [128]
  --activation A [tanh]: linear tanh relu leaky-relu sigmoid erf gelu silu selu elu softplus
                         sin hard-tanh     --activation-slope a [0.01] (leaky-relu)
  --init S [lecun-normal]: zeros constant normal uniform lecun-normal lecun-uniform
                         xavier-normal xavier-uniform he-normal he-uniform orthogonal
  --fan-mode fan-in|fan-out [fan-in]  --gain G [1] (multiplies the weight variance)
  --init-value v [1] (std of normal, limit of uniform, value of constant)
  --sigma-w2 S (shorthand for --init lecun-normal --gain S)
  --bias-init zeros|constant|normal [zeros]  --sigma-b2 B [0]  --bias-value v [0]
  --input-mean m [0]  --input-scale s [1]  --seed n [1]  --learning-rate eta [0.01]
  --loss cotangent|mse [cotangent] (random cotangent g on a^L, or squared error to random targets)
  --hist-bins n [64]  --hist-range r [4]  --threads n [all cores; never changes results]
  --memory-budget-gib g [4]
)";

struct CliError {
    std::string message;
};

[[noreturn]] void fail(const std::string& message) {
    throw CliError{message};
}

/// --kebab-name value pairs, plus bare flags.
struct Args {
    std::vector<std::pair<std::string, std::string>> options; // in order, names without "--"
    std::vector<std::string> flags;

    std::optional<std::string> take(const std::string& name) {
        std::optional<std::string> v;
        for (auto it = options.begin(); it != options.end();) {
            if (it->first == name) {
                if (v)
                    fail("--" + name + " is given more than once");
                v = it->second;
                it = options.erase(it);
            } else {
                ++it;
            }
        }
        return v;
    }
    bool flag(const std::string& name) {
        for (auto it = flags.begin(); it != flags.end(); ++it)
            if (*it == name) {
                flags.erase(it);
                return true;
            }
        return false;
    }
    void expectEmpty() const {
        if (!options.empty())
            fail("unknown option --" + options.front().first + " for this command (see --help)");
        if (!flags.empty())
            fail("unknown option --" + flags.front() + " for this command (see --help)");
    }
};

Args parseArgs(int argc, char** argv, int first, const std::vector<std::string>& flagNames) {
    Args a;
    for (int i = first; i < argc; ++i) {
        std::string s = argv[i];
        if (s.rfind("--", 0) != 0 || s.size() < 3)
            fail("unexpected argument '" + s + "' (options start with --; see --help)");
        s = s.substr(2);
        std::string value;
        bool hasValue = false;
        if (auto eq = s.find('='); eq != std::string::npos) {
            value = s.substr(eq + 1);
            s = s.substr(0, eq);
            hasValue = true;
        }
        if (std::find(flagNames.begin(), flagNames.end(), s) != flagNames.end()) {
            if (hasValue)
                fail("--" + s + " takes no value");
            a.flags.push_back(s);
            continue;
        }
        if (!hasValue) {
            if (i + 1 >= argc)
                fail("--" + s + " needs a value");
            value = argv[++i];
        }
        a.options.emplace_back(s, value);
    }
    return a;
}

std::string snake(std::string s) {
    for (char& c : s)
        if (c == '-')
            c = '_';
    return s;
}

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

/// A spec from --preset (if any) with every run option applied on top.
NetworkSpec specFromArgs(Args& a) {
    NetworkSpec spec;
    if (auto p = a.take("preset")) {
        PresetParse r = loadPreset(*p);
        if (!r.preset) {
            std::string m = "--preset " + *p + ":";
            for (const auto& e : r.errors)
                m += "\n  " + e.message;
            fail(m);
        }
        spec = r.preset->spec;
    }
    std::optional<std::string> sigmaW2 = a.take("sigma-w2");
    for (auto it = a.options.begin(); it != a.options.end();) {
        const std::string field = snake(it->first);
        if (std::find(specFieldNames().begin(), specFieldNames().end(), field) ==
            specFieldNames().end()) {
            ++it;
            continue;
        }
        std::string err;
        if (!setSpecFieldFromText(spec, field, it->second, err))
            fail("--" + it->first + ": " + err.substr(err.find(": ") + 2));
        it = a.options.erase(it);
    }
    if (sigmaW2) {
        const double s = number("sigma-w2", *sigmaW2);
        if (s < 0)
            fail("--sigma-w2: must be a number from 0 to 1e6 (got " + *sigmaW2 + ")");
        setSigmaW2(spec, s);
    }
    if (auto errors = validate(spec); !errors.empty()) {
        std::string m = "invalid network:";
        for (const auto& e : errors)
            m += "\n  --" + [&] {
                std::string k = e.message;
                for (std::size_t i = 0; i < k.find(':') && i < k.size(); ++i)
                    if (k[i] == '_')
                        k[i] = '-';
                return k;
            }();
        fail(m);
    }
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
    const meanfield::FixedPoint fp = meanfield::fixedPoint(act, sw2, sb2, q0 > 0 ? q0 : 1.0);
    const auto lt =
        meanfield::layerTheory(act, std::vector<double>(static_cast<std::size_t>(depth), sw2), sb2,
                               q0, c0, std::vector<int>(static_cast<std::size_t>(depth), 1));
    json o;
    o["activation"] = act.name();
    o["sigma_w2"] = sw2;
    o["sigma_b2"] = sb2;
    o["q_star"] = jsonNumber(fp.qStar);
    o["c_star"] = jsonNumber(fp.cStar);
    o["chi1"] = jsonNumber(fp.chi1);
    o["xi_q"] = jsonNumber(fp.xiQ);
    o["xi_c"] = jsonNumber(fp.xiC);
    o["phase"] = meanfield::phaseName(fp.phase);
    o["input_q"] = q0;
    o["input_c"] = c0;
    o["q"] = jsonNumbers(lt.q);
    o["c"] = jsonNumbers(lt.c);
    return o;
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
    json o;
    o["activation"] = act.name();
    o["sigma_b2"] = sb2;
    o["sigma_w2"] = sw2;
    o["q_star"] = jsonNumber(fp.qStar);
    o["chi1"] = jsonNumber(fp.chi1);
    return o;
}

json cmdRun(Args& a) {
    const bool hist = a.flag("histograms");
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
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
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    Engine engine;
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<SweepPoint> points;
    try {
        points = runSweep(engine, spec, *axis);
    } catch (const SpecInvalid& e) {
        fail(std::string("invalid sweep point:\n  ") + e.what());
    }
    json o;
    o["sweep"] = {
        {"name", axis->name}, {"from", axis->from}, {"to", axis->to}, {"steps", axis->steps}};
    o["spec"] = specToJson(spec);
    json arr = json::array();
    for (const SweepPoint& p : points) {
        json r = resultToJson(p.result, hist);
        json pt;
        pt[axis->name] = p.value;
        pt["spec"] = r["spec"];
        pt["layers"] = r["layers"];
        pt["theory"] = r["theory"];
        pt["input_grad2"] = r["input_grad2"];
        pt["first_nonfinite_layer"] = r["first_nonfinite_layer"];
        pt["message"] = r["message"];
        arr.push_back(pt);
    }
    o["points"] = arr;
    o["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return o;
}

/// --inputs K: an integer (its range is checked by the command's validation).
int inputsOption(Args& a, int defaultInputs) {
    const auto v = a.take("inputs");
    if (!v)
        return defaultInputs;
    const double x = number("inputs", *v);
    if (x != std::floor(x) || std::abs(x) > 1e6)
        fail("--inputs: must be an integer (got " + *v + ")");
    return static_cast<int>(x);
}

/// Problems of a command's own options, phrased like the run options' (--name: ...).
[[noreturn]] void failSpecErrors(const std::vector<SpecError>& errors) {
    std::string m = errors.size() == 1 ? "" : "invalid options:";
    for (const auto& e : errors)
        m += (m.empty() ? "--" : "\n  --") + e.message;
    fail(m);
}

json cmdJacobian(Args& a) {
    const int k = inputsOption(a, 4);
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    if (auto errors = validateJacobian(spec, k); !errors.empty())
        failSpecErrors(errors);
    const JacobianResult r = computeJacobian(spec, k);
    json sv = json::array(), ms = json::array(), th = json::array(), spread = json::array(),
         bad = json::array();
    for (const JacobianInput& in : r.inputs) {
        sv.push_back(jsonNumbers(in.singularValues));
        ms.push_back(jsonNumber(in.meanSq));
        th.push_back(jsonNumber(in.theoryMeanSq));
        spread.push_back(jsonNumber(in.spread));
        bad.push_back(in.firstNonfiniteLayer);
    }
    json o;
    o["spec"] = specToJson(spec);
    o["inputs"] = k;
    o["singular_values"] = sv;
    o["mean_sq"] = jsonNumber(r.meanSq);
    o["theory_mean_sq"] = jsonNumber(r.theoryMeanSq);
    o["theory_note"] = r.theoryNote;
    o["mean_sq_per_input"] = ms;
    o["theory_mean_sq_per_input"] = th;
    o["spread"] = spread;
    o["first_nonfinite_layer"] = r.firstNonfiniteLayer;
    o["first_nonfinite_layer_per_input"] = bad;
    o["message"] = r.firstNonfiniteLayer == 0
                       ? ""
                       : "non-finite from layer " + std::to_string(r.firstNonfiniteLayer);
    o["seconds"] = r.seconds;
    return o;
}

json kernelJson(const NtkKernel& k) {
    json rows = json::array();
    for (Eigen::Index i = 0; i < k.theta.rows(); ++i) {
        json row = json::array();
        for (Eigen::Index j = 0; j < k.theta.cols(); ++j)
            row.push_back(jsonNumber(k.theta(i, j)));
        rows.push_back(row);
    }
    return rows;
}

json cmdNtk(Args& a) {
    NtkOptions opt;
    opt.byDepth = !a.flag("no-by-depth");
    opt.analytic = !a.flag("no-analytic");
    opt.inputs = inputsOption(a, 16);
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    if (auto errors = validateNtk(spec, opt); !errors.empty())
        failSpecErrors(errors);
    const NtkResult r = computeNtk(spec, opt);
    json o;
    o["spec"] = specToJson(spec);
    o["inputs"] = opt.inputs;
    o["eigenvalues"] = jsonNumbers(r.empirical.eigenvalues);
    o["condition"] = jsonNumber(r.empirical.condition);
    o["condition_by_depth"] = jsonNumbers(r.conditionByDepth);
    o["kernel"] = kernelJson(r.empirical);
    if (opt.analytic) {
        json an;
        an["applicable"] = r.analyticApplicable;
        an["note"] = r.analyticNote;
        an["eigenvalues"] = jsonNumbers(r.analytic.eigenvalues);
        an["condition"] = jsonNumber(r.analytic.condition);
        an["condition_by_depth"] = jsonNumbers(r.analyticConditionByDepth);
        an["kernel"] = kernelJson(r.analytic);
        o["analytic"] = an;
    }
    o["first_nonfinite_layer"] = r.firstNonfiniteLayer;
    o["message"] = r.firstNonfiniteLayer == 0
                       ? ""
                       : "non-finite from layer " + std::to_string(r.firstNonfiniteLayer);
    o["seconds"] = r.seconds;
    return o;
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
    a.expectEmpty();
    if (static_cast<long>(w.steps) * b.steps > kMaxPhaseCells)
        fail("--sigma-w2-range, --sigma-b2-range: at most " + std::to_string(kMaxPhaseCells) +
             " cells in all (got " + std::to_string(w.steps) + " x " + std::to_string(b.steps) +
             ")");
    const PhaseDiagram pd = computePhaseDiagram(act, w, b, {}, nullptr, threads);
    json chi = json::array(), xi = json::array(), crit = json::array();
    for (const PhaseRow& row : pd.rows) {
        chi.push_back(jsonNumbers(row.chi1));
        xi.push_back(jsonNumbers(row.xiC));
        crit.push_back(jsonNumber(row.criticalSigmaW2));
    }
    json o;
    o["activation"] = act.name();
    o["sigma_w2"] = pd.sigmaW2;
    o["sigma_b2"] = pd.sigmaB2;
    o["chi1"] = chi;
    o["xi_c"] = xi;
    o["critical_line"] = crit;
    o["seconds"] = pd.seconds;
    return o;
}

json cmdEnsemble(Args& a) {
    const auto seedsText = a.take("seeds");
    if (!seedsText)
        fail("--seeds S is required (1 to " + std::to_string(kMaxEnsembleSeeds) + ")");
    const double sv = number("seeds", *seedsText);
    if (sv != std::floor(sv) || sv < 1 || sv > kMaxEnsembleSeeds)
        fail("--seeds: must be an integer from 1 to " + std::to_string(kMaxEnsembleSeeds) +
             " (got " + *seedsText + ")");
    NetworkSpec spec = specFromArgs(a);
    a.expectEmpty();
    Engine engine;
    const EnsembleResult e = runEnsemble(engine, spec, static_cast<int>(sv));
    json bands;
    for (const std::string& name : layerStatisticNames()) {
        const LayerBand b = layerBand(e.runs, name);
        bands[name] = {{"mean", jsonNumbers(b.mean)}, {"min", jsonNumbers(b.min)},
                       {"max", jsonNumbers(b.max)},   {"q10", jsonNumbers(b.q10)},
                       {"q90", jsonNumbers(b.q90)},   {"finite", b.finite}};
    }
    json scalars;
    for (const std::string& name : scalarStatisticNames()) {
        std::vector<double> v;
        for (const RunResult& r : e.runs)
            v.push_back(scalarStatistic(r, name));
        scalars[name] = jsonNumbers(v);
    }
    json seeds = json::array();
    for (const RunResult& r : e.runs)
        seeds.push_back(r.spec.seed);
    json o;
    o["spec"] = specToJson(spec);
    o["seeds"] = seeds;
    o["bands"] = bands;
    o["scalars"] = scalars;
    o["seconds"] = e.seconds;
    return o;
}

json cmdPresets(Args& a) {
    a.expectEmpty();
    json arr = json::array();
    for (const Preset& p : bundledPresets())
        arr.push_back({{"name", p.name}, {"title", p.title}, {"note", p.note}, {"view", p.view}});
    return arr;
}

#ifdef INITSCOPE_CLI_EXPORT
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
    a.expectEmpty();

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
    QApplication app(qtArgc, qtArgv);

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
#endif

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << kUsage;
        return 2;
    }
    if (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
        std::string(argv[1]) == "help") {
        std::cout << kUsage;
        return 0;
    }
    const std::string cmd = argv[1];
    try {
        json out;
        if (cmd == "theory") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdTheory(a);
        } else if (cmd == "critical") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdCritical(a);
        } else if (cmd == "run") {
            Args a = parseArgs(argc, argv, 2, {"histograms"});
            out = cmdRun(a);
        } else if (cmd == "sweep") {
            Args a = parseArgs(argc, argv, 2, {"histograms"});
            out = cmdSweep(a);
        } else if (cmd == "jacobian") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdJacobian(a);
        } else if (cmd == "ntk") {
            Args a = parseArgs(argc, argv, 2, {"no-by-depth", "no-analytic"});
            out = cmdNtk(a);
        } else if (cmd == "phase") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdPhase(a);
        } else if (cmd == "ensemble") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdEnsemble(a);
        } else if (cmd == "presets") {
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdPresets(a);
        } else if (cmd == "export") {
#ifdef INITSCOPE_CLI_EXPORT
            Args a = parseArgs(argc, argv, 2, {});
            out = cmdExport(a);
#else
            fail("this initscope-cli was built without the GUI (INITSCOPE_BUILD_GUI=OFF), so it "
                 "cannot draw charts");
#endif
        } else {
            fail("unknown command '" + cmd +
                 "' (commands: theory, critical, run, sweep, jacobian, ntk, phase, ensemble, "
                 "presets, export; see --help)");
        }
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

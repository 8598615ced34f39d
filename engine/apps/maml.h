// MAML's learned initialisation (THEORY.md scenario 18; Finn, Abbeel & Levine 2017): does
// meta-learning an init on a steep family of sine-regression tasks raise the weight variance,
// saturate the units and damp the gradients?
//
// Tasks y = A sin(w x + p), x uniform in [x_lo, x_hi], A, w, p uniform in the family's ranges
// (sineFamily): "steep" (large amplitude and frequency: curvature A w^2 up to 80) and "gentle"
// (A w^2 at most 1). The network is the run's mlp with input_dim 1 (tanh trunk of `depth` layers
// and a linear readout of one unit): its start is exactly the trainer's (engine/train/train.h) draw
// of trunk and readout for the spec (task teacher, 1 output), so step 0 is the spec's Xavier init.
//
// The meta-learning runs in double precision on a small network of its own (the trainer's float
// kernels have no second derivatives): for each task of a meta-batch, k inner SGD steps
// theta_{j+1} = theta_j - alpha grad L_S(theta_j) on the support set, the query loss
// L_Q(theta_k), and its exact gradient with respect to the initialisation theta_0 (second order:
// (I - alpha H_S(theta_0)) ... (I - alpha H_S(theta_{k-1})) grad L_Q(theta_k), each Hessian-vector
// product exact by forward-over-reverse differentiation with dual numbers; first order drops the
// Hessians). The meta-gradient, the mean over the meta-batch, updates theta_0 by Adam.
// Losses are mean squared errors mean_i (f(x_i) - y_i)^2.
//
// Determinism: every task is a pure function of (seed, meta-step, slot); the tasks of a meta-batch
// run in parallel, each in its own slot, and are summed in slot order: results are bit-identical
// whatever the thread count.
#pragma once

#include "network/network.h"
#include "spec/spec.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace initscope {

enum class MamlTasks { Steep, Gentle };
std::string mamlTasksName(MamlTasks t); // "steep", "gentle"
bool parseMamlTasks(const std::string& name, MamlTasks& out);

/// The ranges a task family draws from (uniform in each).
struct SineFamily {
    double ampLo, ampHi;     // A
    double freqLo, freqHi;   // w
    double phaseLo, phaseHi; // p
    double xLo, xHi;         // inputs
};
/// steep: A in [2, 5], w in [2, 4]; gentle: A in [0.1, 1], w in [0.5, 1]; both p in [0, pi],
/// x in [-5, 5].
SineFamily sineFamily(MamlTasks t);

/// One task: its parameters and its support and query sets.
struct SineTask {
    double amplitude = 0, frequency = 0, phase = 0;
    std::vector<double> xSupport, ySupport, xQuery, yQuery;
};
/// Task `index` of the family for `seed`: a pure function of its arguments.
SineTask sampleSineTask(const SineFamily& f, std::uint64_t seed, std::uint64_t index, int support,
                        int query);

/// What meta-learning adds to a NetworkSpec.
struct MamlSpec {
    static constexpr int kMaxMetaSteps = 100000;
    static constexpr int kMaxInnerSteps = 50;
    static constexpr int kMaxMetaBatch = 256;
    static constexpr int kMaxPoints = 1000;
    static constexpr int kMaxEvalTasks = 256;

    MamlTasks tasks = MamlTasks::Steep;
    int metaSteps = 500;     // outer updates M
    int innerSteps = 1;      // inner SGD steps k
    double innerLr = 0.01;   // alpha
    double metaLr = 0.001;   // Adam's step on the initialisation
    int metaBatch = 8;       // tasks per meta-step
    int support = 10;        // K points of a task's support set
    int query = 10;          // points of its query set
    bool firstOrder = false; // first-order MAML (no Hessian-vector products)
    int recordEvery = 10;    // measurements at meta-step 0, every k, and the last
    int evalTasks = 16;      // the fixed tasks the measurements average over
};

/// The settings of the GUI's maml view (a preset's "view_settings" with view "maml"): both
/// families, `seeds` seeds each (seed, seed + 1, ...), the rest of MamlSpec at its defaults.
struct MamlViewSettings {
    static constexpr int kMaxSeeds = 8;
    static constexpr int kMaxViewMetaSteps = 20000;
    int metaSteps = 500;
    int innerSteps = 1;
    double innerLr = 0.01;
    double metaLr = 0.001;
    int seeds = 3;
    int recordEvery = 25;
    int support = MamlSpec{}.support; // K points of a task's support set (the inner steps fit)
    int query = MamlSpec{}.query;     // points of its query set
    bool operator==(const MamlViewSettings&) const = default;
};
/// Problems of view settings, named "view_settings.meta_steps" etc.
std::vector<SpecError> validateMamlViewSettings(const MamlViewSettings& v);
/// The MamlSpec of one run of the view: `tasks`, and the view's settings.
MamlSpec mamlSpecOf(const MamlViewSettings& v, MamlTasks tasks);

/// Problems of the pair, named like the CLI's options without dashes (meta_steps, inner_lr, ...)
/// or the spec's fields (input_dim, arch, activation, data).
std::vector<SpecError> validateMaml(const NetworkSpec& spec, const MamlSpec& maml);

/// The network meta-learning starts from unless told otherwise: mlp, depth 2 (two tanh layers of
/// width 40, the readout after them), input_dim 1, xavier-normal, zero biases, seed 1.
NetworkSpec mamlDefaultSpec();

/// The shape of the double-precision network: widths N_0 = 1, N_1..N_L, 1 (readout). Layer l
/// (1-based, l = 1..L+1) has W_l (N_l x N_{l-1}, row-major) then b_l in the flat parameter vector.
struct MamlShape {
    std::vector<int> widths;
    int layers() const { return static_cast<int>(widths.size()) - 1; }
    int parameters() const;
    int weightOffset(int layer) const; // layer 1..layers()
    int biasOffset(int layer) const;
};
MamlShape mamlShape(const NetworkSpec& spec);

/// The trainer's draw of the spec's trunk and readout, flattened (double).
std::vector<double> mamlInitialParameters(const NetworkSpec& spec);

/// mean_i (f(x_i) - y_i)^2 and, when `grad` is not null, its gradient.
double mamlLoss(const MamlShape& s, const std::vector<double>& theta, const std::vector<double>& x,
                const std::vector<double>& y, std::vector<double>* grad);
/// H v of that loss at theta, exact (forward-over-reverse).
std::vector<double> mamlHessianVector(const MamlShape& s, const std::vector<double>& theta,
                                      const std::vector<double>& x, const std::vector<double>& y,
                                      const std::vector<double>& v);
/// Query loss after k inner steps from theta.
double mamlAdaptedLoss(const MamlShape& s, const std::vector<double>& theta, const SineTask& t,
                       int innerSteps, double innerLr);
/// The same loss and its gradient with respect to theta (the meta-gradient of one task).
double mamlMetaGradient(const MamlShape& s, const std::vector<double>& theta, const SineTask& t,
                        int innerSteps, double innerLr, bool firstOrder, std::vector<double>& grad);

/// The measurements of one meta-step, on the initialisation theta_0 as it stands then.
struct MamlRecord {
    int metaStep = 0;
    std::vector<double> sigmaW2;         // per layer 1..L+1: fan_in * Var(W_l)
    std::vector<double> sigmaB2;         // per layer: Var(b_l)
    std::vector<double> saturatedLayers; // per tanh layer 1..L: share of (unit, probe x) with
                                         // |phi'(h)| < 0.05 (THEORY.md's saturated_fraction)
    double saturatedFraction = 0;        // over every tanh unit and probe x
    double innerGradNorm = 0;            // ||grad L_S(theta_0)||, mean over the eval tasks
    std::vector<double> innerGradLayers; // ||grad_{W_l} L_S(theta_0)||, mean over eval tasks
    double preLoss = 0;                  // query loss at theta_0, mean over the eval tasks
    double postLoss = 0;                 // query loss after the k inner steps
    double metaLoss = 0;                 // the training meta-batch's post loss (NaN at the end)
};

struct MamlResult {
    NetworkSpec spec;
    MamlSpec maml;
    std::vector<MamlRecord> records; // meta-step 0, every recordEvery, the last
    std::vector<double> learned;     // theta_0 after the last update
    int firstNonfiniteStep = -1;
    bool cancelled = false;
    double seconds = 0;
};

/// Receives each record as it is measured, and the meta-steps done, on the computing thread.
class MamlSink {
public:
    virtual ~MamlSink() = default;
    virtual void record(const MamlRecord& /*r*/) {}
    virtual void progress(int /*metaStepsDone*/) {}
};

/// Meta-learns the initialisation; `cancel` (may be null) is looked at between meta-steps.
/// Throws SpecInvalid (engine.h) when validateMaml reports problems.
MamlResult runMaml(const NetworkSpec& spec, const MamlSpec& maml, MamlSink* sink = nullptr,
                   const std::atomic<bool>* cancel = nullptr);

/// DESIGN.md's `maml` JSON: {"spec", "maml", "family", "meta_step", "sigma_w2", "sigma_b2",
/// "saturated_fraction", "saturated_fraction_layers", "inner_grad_norm", "inner_grad_norm_layers",
/// "pre_adaptation_loss", "post_adaptation_loss", "meta_loss", "xavier", "first_nonfinite_step",
/// "message", "seconds"}.
nlohmann::json mamlResultToJson(const MamlResult& r);

/// The closest spec the main views can show for a learned init (a spec has one scheme and one
/// gain, no explicit weights): `spec` with lecun-normal and gain = the mean learned sigma_w^2 of
/// the trunk layers 2..L (layer 1 alone when L = 1), biases normal with sigma_b^2 = the mean
/// learned Var(b) of the trunk.
NetworkSpec mamlLearnedSpec(const NetworkSpec& spec, const MamlRecord& learned);

/// f(x) of the double-precision network with parameters theta, one value per input x.
std::vector<double> mamlForward(const MamlShape& s, const std::vector<double>& theta,
                                const std::vector<double>& x);

/// The learned parameters as the engine's float weights of the same network: the trunk's W^l
/// (N_l x N_{l-1}) and b^l (N_l x 1) for l = 1..L ([0] empty), what Engine::runWithWeights takes
/// for a spec of the same shape (mamlLearnedSpec keeps depth, widths, input_dim 1 and tanh), and
/// the readout (layer L + 1: 1 x N_L and 1 x 1), which the main views' run has no place for (its
/// loss reads a^L). Each entry is the double rounded once to float.
struct MamlWeights {
    DenseWeights trunk;
    MatrixF readoutW, readoutB;
};
/// Throws std::invalid_argument when theta is not of the spec's shape.
MamlWeights mamlWeights(const NetworkSpec& spec, const std::vector<double>& theta);

/// Estimated seconds of runMaml (a flop count of every meta-step and record).
double estimateMamlSeconds(const NetworkSpec& spec, const MamlSpec& maml);

} // namespace initscope

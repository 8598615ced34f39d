// A physics-informed network for the advection equation u_t + c u_x = 0 (THEORY.md scenario 15,
// "Network families, heads, training and the applications": PINN).
//
// u(t, x) = MLP([t, x]): the trunk is exactly the run's (the weights Engine::run draws for the
// spec, taken from the trainer with task teacher, input_dim 2 and one output), read out by the
// trainer's readout chain (a dense layer of one unit on its own stream). The residual
// r = du/dt + c du/dx is the directional derivative of u along (1, c), computed by a forward-mode
// tangent through the layers (hdot^l = W^l adot^{l-1}, adot^l = phi'(h^l) hdot^l, adot^0 =
// (1, c)); the loss is mean r^2 over collocation points drawn uniformly in the unit square from
// the spec's seed. Gradients with respect to every parameter go by reverse mode through the value
// and tangent pass, which needs phi'' (the tangent depends on h through phi'(h)).
//
// Everything is computed in double: the network is small and the gradients are checked against
// central finite differences, which float's 1e-7 rounding would swamp.
//
// Since u does not depend on c, r = u_t + c u_x is exactly linear in c: rms r = sqrt(a + 2bc +
// dc^2), flat for |c| << 1 and ~|c| for |c| >> 1, and so is the gradient of mean r; the loss is
// quadratic in c, its gradient ~c^2. The measurement shows it.
//
// Training (optional): Adam or SGD on the residual loss plus w_ic times an initial-condition term
// mean_j (u(0, x_j) - sin(2 pi x_j))^2 (u = const solves the PDE alone) and a periodic boundary
// term mean_j (u(t_j, 0) - u(t_j, 1))^2 (without it the region x < c t, whose characteristics
// leave the square, is undetermined); the exact solution is u = sin(2 pi (x - c t)).
//
// Determinism: the collocation points are cut into fixed chunks of columns and every reduction
// runs in a fixed order, so results are bit-identical whatever the number of threads.
#pragma once

#include "core/activation.h"
#include "core/stats.h"
#include "spec/spec.h"
#include "train/train.h"

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <vector>

namespace initscope {

struct PinnSpec {
    static constexpr int kMaxSpeeds = 200;
    static constexpr int kMaxCollocation = 65536;
    static constexpr int kMaxTrainSteps = 100000;
    static constexpr int kMaxGrid = 256;
    static constexpr double kMaxSpeed = 1e6;
    static constexpr double kLargeSpeed = 10; // the slope "at |c| >> 1" fits the c >= this

    double speedFrom = 0.01, speedTo = 100; // c on a log grid (0 < from < to)
    int speeds = 9;                         // points of the grid (2..kMaxSpeeds)
    int collocation = 256;                  // M points uniform in [0, 1]^2 (also the IC points)
    int trainSteps = 0;                     // updates of each training run (0: none)
    std::vector<double> trainSpeeds;        // c of the training runs; empty: speedFrom, speedTo
    Optimizer optimizer = Optimizer::Adam;  // sgd or adam
    double learningRate = kNaN;             // NaN: 1e-3 (both)
    double icWeight = 1.0;                  // w_ic of the initial-condition term (training)
    int grid = 32;                          // u(t, x) on grid x grid points of [0, 1]^2

    double eta() const;
    bool operator==(const PinnSpec&) const = default;
    std::vector<double> speedGrid() const; // speedFrom * (to/from)^(i/(n-1))
    std::vector<double> trainingSpeeds() const;
};

/// Every problem of the pair (fields named as in the CLI without dashes): ranges, and what the
/// PINN needs of the spec (an mlp on (t, x): input_dim 2, gaussian data).
std::vector<SpecError> validatePinn(const NetworkSpec& spec, const PinnSpec& pinn);

/// A preset's "view_settings" of the pinn view: {"wave_speed_range": [FROM, TO, STEPS],
/// "collocation", "train_steps", "train_speeds": [...], "optimizer", "learning_rate",
/// "ic_weight", "grid"}, every key optional; each problem names its field as
/// "view_settings.KEY".
PinnSpec pinnSpecFromJson(const nlohmann::json& settings, std::vector<SpecError>& errors);
nlohmann::json pinnSpecToJson(const PinnSpec& p);

/// One dense layer in double: h = W u + b.
struct PinnLayer {
    Eigen::MatrixXd w;
    Eigen::VectorXd b;
};

/// The network u(t, x): layers 1..L of the trunk (phi after each), then the readout chain (phi
/// between its layers, none after the last, which has one unit).
struct PinnModel {
    std::vector<PinnLayer> layers;
    int trunkLayers = 0; // layers[0..trunkLayers) are the trunk
    Activation act;

    /// The run's trunk and the trainer's readout for `spec` (throws SpecInvalid as Trainer does).
    static PinnModel fromSpec(const NetworkSpec& spec);

    std::size_t parameterCount() const;
};

/// Collocation points: 2 x m, rows t and x, uniform in [0, 1]^2 from the spec's seed (a stream
/// of their own); initialCondition = true gives (0, x_j) with x_j uniform.
Eigen::MatrixXd pinnPoints(std::uint64_t seed, int m, bool initialCondition);

/// u and r = du/dt + c du/dx at every column of pts (2 x m). Runs in the caller's task arena
/// (runPinn's has the spec's thread count); the results do not depend on it.
void pinnForward(const PinnModel& model, const Eigen::MatrixXd& pts, double c, Eigen::VectorXd& u,
                 Eigen::VectorXd& r);

/// Adds to `grads` (same shapes as model.layers; zeroed by pinnZeroGrads) the gradient of
/// sum_j (ubar_j u_j + rbar_j r_j) with respect to every parameter.
void pinnBackward(const PinnModel& model, const Eigen::MatrixXd& pts, double c,
                  const Eigen::VectorXd& ubar, const Eigen::VectorXd& rbar,
                  std::vector<PinnLayer>& grads);
std::vector<PinnLayer> pinnZeroGrads(const PinnModel& model);
double pinnNorm(const std::vector<PinnLayer>& g); // the Euclidean norm over every parameter

/// The at-init measurement at one c: rms r, ||grad mean r||, ||grad mean r^2||.
struct PinnPoint {
    double c = kNaN;
    double rmsResidual = kNaN;
    double gradResidual = kNaN;
    double gradLoss = kNaN;
};
PinnPoint measurePinn(const PinnModel& model, const Eigen::MatrixXd& pts, double c);

struct PinnSlopes {
    double rmsResidual = kNaN, gradResidual = kNaN, gradLoss = kNaN;
    int points = 0; // points in the fit
};
/// Least-squares slopes of log y against log |c| over the points with |c| >= minSpeed.
PinnSlopes pinnSlopes(const std::vector<PinnPoint>& points, double minSpeed);

/// The training objective: mean r^2 on pts, plus w_ic times mean (u(0, x_j) - sin 2 pi x_j)^2 on
/// the initial-condition points icPts (t = 0) and mean (u(x_j, 0) - u(x_j, 1))^2 (periodic in x,
/// at the times t_j = the IC points' x_j); its gradient into *grads when not null.
struct PinnLoss {
    double residual = kNaN, initial = kNaN, boundary = kNaN, total = kNaN;
};
PinnLoss pinnTrainingLoss(const PinnModel& model, const Eigen::MatrixXd& pts,
                          const Eigen::MatrixXd& icPts, double c, double icWeight,
                          std::vector<PinnLayer>* grads);

/// One training run at speed c.
struct PinnTrainRun {
    double c = kNaN;
    std::vector<double> residualLoss; // mean r^2 at step 0..N (before that step's update)
    std::vector<double> icLoss;       // mean (u(0, x) - sin 2 pi x)^2
    std::vector<double> bcLoss;       // mean (u(t, 0) - u(t, 1))^2 (periodic boundary)
    std::vector<double> loss;         // residualLoss + w_ic (icLoss + bcLoss)
    std::vector<double> u;            // after training: grid x grid, row i = t_i, column j = x_j
    double errorRms = kNaN;           // rms of u - sin(2 pi (x - c t)) on the grid, after
    double errorRmsInit = kNaN;       // the same at init
    int firstNonfiniteStep = -1;
};

struct PinnResult {
    NetworkSpec spec;
    PinnSpec pinn;
    std::vector<PinnPoint> points;
    PinnSlopes slopeLarge;     // |c| >= kLargeSpeed
    PinnSlopes slopeAll;       // the whole range
    std::vector<double> uInit; // u at init on the grid (independent of c)
    std::vector<PinnTrainRun> runs;
    bool cancelled = false;
    double seconds = 0;
};

/// u on the grid (row i = t_i = i/(G-1), column j = x_j = j/(G-1)), row-major.
std::vector<double> pinnGrid(const PinnModel& model, int grid);

/// Progress: done of total work units (one per speed, one per training step).
using PinnProgress = std::function<void(int done, int total)>;

/// The measurement over the speed grid, then the training runs. Throws SpecInvalid when
/// validate(spec) or validatePinn report problems. `cancel` is looked at between speeds and steps.
PinnResult runPinn(const NetworkSpec& spec, const PinnSpec& pinn,
                   const std::atomic<bool>* cancel = nullptr, const PinnProgress& progress = {});

/// DESIGN.md's `initscope-cli pinn` JSON: {"c", "rms_residual", "grad_residual", "grad_loss",
/// "slope": {...} (|c| >= 10), "slope_whole_range", "training": [...], "grid", "u_init", ...}.
nlohmann::json pinnResultToJson(const PinnResult& r);

/// Estimated seconds of runPinn (flops of the value + tangent pass and its reverse).
double estimatePinnSeconds(const NetworkSpec& spec, const PinnSpec& pinn);

} // namespace initscope

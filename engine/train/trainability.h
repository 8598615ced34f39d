// The trainability map (THEORY.md "Trainability"; Schoenholz et al. 2017, Fig. 5): a grid over
// depth L x sigma_w^2 at the spec's fixed sigma_b^2, each cell the spec's mlp with that depth and
// `--sigma-w2` (lecun-normal with gain sigma_w^2: Var(W) = sigma_w^2 / fanIn, the readout too)
// trained for a fixed number of steps on Fashion-MNIST by train.h's Trainer (its public API),
// coloured by the test accuracy reached and the training loss. Beside it the mean-field depth
// scale xi_c(sigma_w^2) of the spec's activation at its sigma_b^2 and the trainable-depth curve
// 6 xi_c: xi_c is +infinite at criticality (chi_c = 1), written null in JSON and clipped by charts.
//
// Every cell uses the spec's seed (the same draws and mini-batches a `train` of that network
// uses), cells are trained one after the other, each with the spec's threads inside the Trainer,
// so the map is bit-identical whatever the number of threads.
#pragma once

#include "spec/spec.h"
#include "theory/phase.h"
#include "train/train.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace initscope {

/// At most this many depths and this many sigma_w^2 values (a map of 64 x 64 cells would take
/// hours anyway; the time estimate refuses it first).
inline constexpr int kMaxTrainabilitySteps = 64;

/// The grid of a map: integer depths (from..to, `steps` values rounded to the nearest integer,
/// all distinct) and sigma_w^2 values (from..to, > 0).
struct TrainabilityGrid {
    GridAxis depth{10, 40, 4};
    GridAxis sigmaW2{1.0, 4.0, 4};
    std::vector<int> depths() const;      // depth.values() rounded
    std::vector<double> sigmaW2s() const; // sigmaW2.values()
    bool operator==(const TrainabilityGrid& o) const {
        return depth.from == o.depth.from && depth.to == o.depth.to &&
               depth.steps == o.depth.steps && sigmaW2.from == o.sigmaW2.from &&
               sigmaW2.to == o.sigmaW2.to && sigmaW2.steps == o.sigmaW2.steps;
    }
};

/// What the trainability view shows (a preset's "view_settings" for view "trainability": {
/// "depth_range": "FROM:TO:STEPS", "sigma_w2_range": "FROM:TO:STEPS", "steps": N }).
struct TrainabilitySettings {
    TrainabilityGrid grid;
    int steps = 200; // training steps of every cell
    bool operator==(const TrainabilitySettings& o) const {
        return grid == o.grid && steps == o.steps;
    }
};

/// "FROM:TO:STEPS" of --depth-range: integers FROM <= TO from 1 to Limits::kMaxDepth, STEPS from
/// 1 to kMaxTrainabilitySteps, the rounded depths all distinct. The error names `option`.
std::optional<GridAxis> parseDepthAxis(const std::string& option, const std::string& text,
                                       std::string& error);
/// "FROM:TO:STEPS" of --sigma-w2-range: 0 < FROM <= TO <= Limits::kMaxGain, STEPS from 1 to
/// kMaxTrainabilitySteps.
std::optional<GridAxis> parseSigmaW2Axis(const std::string& option, const std::string& text,
                                         std::string& error);
/// The same checks on axes built in code (a preset's view_settings, the GUI): empty when valid;
/// messages start with "depth_range: " / "sigma_w2_range: ".
std::vector<SpecError> validateTrainabilityGrid(const TrainabilityGrid& grid);

/// The network of one cell: `base` with depth L, init lecun-normal and gain sigma_w^2.
NetworkSpec trainabilityCellSpec(const NetworkSpec& base, int depth, double sigmaW2);

/// Every problem of the map: the grid, the training (task fashion-mnist), and the spec of the
/// deepest cell (memory, fields); a spec with per-layer widths (the depth varies) or a bias_init
/// constant (the theory takes N(0, sigma_b^2) biases) is refused by name.
std::vector<SpecError> validateTrainability(const NetworkSpec& base, const TrainSpec& train,
                                            const TrainabilityGrid& grid);

/// sigma_b^2 the theory uses: spec.sigmaB2 for normal biases, 0 for zeros.
double trainabilitySigmaB2(const NetworkSpec& base);

struct TrainabilityTheory {
    std::vector<double> xiC;    // [j] at sigma_w^2 j; +inf at criticality
    std::vector<double> sixXiC; // 6 xi_c
    double criticalSigmaW2 = 0; // meanfield::criticalSigmaW2 at sigma_b^2; NaN where none
};
/// xi_c from meanfield::fixedPoint (q0 = 1, c0 = its default) at every sigma_w^2.
TrainabilityTheory trainabilityTheory(const Activation& act, double sigmaB2,
                                      const std::vector<double>& sigmaW2);

/// One trained cell.
struct TrainabilityCell {
    int row = 0, col = 0; // depth index, sigma_w^2 index
    int depth = 0;
    double sigmaW2 = 0;
    double testAccuracy = kNaN; // after `steps` updates, on the first testExamples t10k images
    double testLoss = kNaN;
    double loss = kNaN;          // mean mini-batch training loss of the last min(10, N+1) steps
    int firstNonfiniteStep = -1; // the loss was not finite from this step: training stopped,
                                 // accuracy and losses NaN (the cell diverged)
    double seconds = 0;
};

struct TrainabilityMap {
    NetworkSpec base;
    TrainSpec train;
    TrainabilityGrid grid;
    std::vector<int> depths;
    std::vector<double> sigmaW2;
    std::vector<TrainabilityCell> cells; // the cells done, in the order trained (row-major)
    TrainabilityTheory theory;
    bool cancelled = false;
    double seconds = 0;
    /// The cell at (row, col), or null when it was not trained (cancelled before it).
    const TrainabilityCell* cell(int row, int col) const;
};

/// Receives the map as it is made, on the computing thread.
class TrainabilitySink {
public:
    virtual ~TrainabilitySink() = default;
    virtual void theory(const TrainabilityTheory& /*t*/) {}
    /// Fraction of the whole map's estimated work done (by the cost model: deep cells weigh more).
    virtual void progress(double /*fraction*/) {}
    virtual void cell(const TrainabilityCell& /*c*/) {}
};

/// Trains every cell, row by row (depths ascending, then sigma_w^2 ascending), streaming each to
/// `sink` (may be null); `cancel` (may be null) is looked at between cells and between the
/// training steps of a cell (a cell cancelled inside is dropped). Throws SpecInvalid when
/// validateTrainability reports problems, DataError when Fashion-MNIST cannot be read.
TrainabilityMap computeTrainabilityMap(const NetworkSpec& base, const TrainSpec& train,
                                       const TrainabilityGrid& grid,
                                       TrainabilitySink* sink = nullptr,
                                       const std::atomic<bool>* cancel = nullptr);

/// Estimated seconds of computeTrainabilityMap (estimateTrainSeconds of every cell).
double estimateTrainabilitySeconds(const NetworkSpec& base, const TrainSpec& train,
                                   const TrainabilityGrid& grid);

/// The CLI's JSON (DESIGN.md `initscope-cli trainability`): {"spec", "train", "activation",
/// "sigma_b2", "depth", "sigma_w2", "accuracy", "loss", "test_loss", "diverged_at" (rows per
/// depth, null where not finite / not diverged), "xi_c", "six_xi_c" (null where infinite),
/// "critical_sigma_w2", "cancelled", "seconds"}.
nlohmann::json trainabilityJson(const TrainabilityMap& m);

} // namespace initscope

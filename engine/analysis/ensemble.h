// Seed ensembles: the same specification with seeds seed, seed+1, ..., run in parallel, and
// per-layer bands of any LayerStats statistic, so that finite-width fluctuations are visible.
// Also the scalar summaries of a run that sweep views plot against gain or depth.
#pragma once

#include "network/engine.h"

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

inline constexpr int kMaxEnsembleSeeds = 256;

/// Names of the measured per-layer statistics (statschema.h rows of kind Real, in table order:
/// "q", "mean", "var", "correlation", ..., "grad_row_spread"), their JSON keys.
const std::vector<std::string>& layerStatisticNames();
/// The named statistic of one layer; throws std::invalid_argument for an unknown name.
double layerStatistic(const LayerStats& s, std::string_view name);

/// Per-layer band of one statistic over the ensemble ([l - 1] for layer l). Only finite values
/// count; a layer with none has NaN everywhere and finite = 0. Quantiles interpolate linearly
/// between order statistics (Hyndman & Fan type 7), so q10 <= mean-ish <= q90 and
/// min <= q10 <= q90 <= max always hold.
struct LayerBand {
    std::string statistic;
    std::vector<double> mean, min, max, q10, q90;
    std::vector<int> finite; // how many runs had a finite value at this layer
};

struct EnsembleResult {
    NetworkSpec spec;            // the base spec (its seed is the first run's)
    std::vector<RunResult> runs; // runs[i] has seed spec.seed + i
    bool cancelled = false;
    double seconds = 0;
};

/// How an ensemble fits its memory budget: `concurrent` runs at once, each needing
/// `bytesPerRun` (estimateMemoryBytes), plus the cached standard draws of seeds already done
/// that the engine may keep (`cachedBytes`, at most Engine::kMaxCacheBytes). `totalBytes` is the
/// whole, what is compared with the budget.
struct EnsemblePlan {
    int concurrent = 1;
    std::uint64_t bytesPerRun = 0, cachedBytes = 0, totalBytes = 0;
};
/// The largest number of runs at once (at most one per worker, at most `seeds`) whose whole
/// estimate fits spec.memoryBudgetGiB; concurrent = 0 when not even one run does.
EnsemblePlan planEnsemble(const NetworkSpec& spec, int seeds);
/// validate(spec), the seed count, and the ensemble's whole estimate against the budget (the
/// message names the total and how it is made up).
std::vector<SpecError> validateEnsemble(const NetworkSpec& spec, int seeds);

/// Runs `seeds` copies of spec (seed, seed + 1, ...) in parallel on one engine (spec.threads
/// workers in all), at most planEnsemble().concurrent at once so that the ensemble as a whole
/// stays within the memory budget. `onRun` (may be empty) sees each finished run with its index, on
/// a worker thread, in no fixed order, never two calls at once. Deterministic for a given spec.
/// Throws SpecInvalid with validateEnsemble's errors.
EnsembleResult runEnsemble(Engine& engine, const NetworkSpec& spec, int seeds,
                           const std::function<void(const RunResult&, int index)>& onRun = {},
                           const std::atomic<bool>* cancel = nullptr);

/// The band of `statistic` over the runs (which must share a depth).
LayerBand layerBand(const std::vector<RunResult>& runs, std::string_view statistic);

/// Scalar summaries of a run for sweep views, the names of statschema.h runScalars(): "last_q",
/// "last_correlation", ..., "grad_ratio" (grad_h2 of layer 1 / layer L: > 1 when gradients
/// grow toward the input), "input_grad2", "first_relative_update", "first_nonfinite_layer" (0
/// when finite), "chi1" (theory). The NTK condition number is ntkCondition() in ntk.h (it needs
/// the network again).
const std::vector<std::string>& scalarStatisticNames();
/// Throws std::invalid_argument (listing the names) for an unknown name.
double scalarStatistic(const RunResult& r, std::string_view name);

} // namespace initscope

// The one statistics schema (DESIGN.md "one network of stages"): every per-layer statistic of
// LayerStats is one row of layerStatistics(), and every place that lists statistics iterates it
// (the run JSON, ensemble bands, the preset's statistic list, the GUI's statistic view and its
// CSV column, the merge of forward and backward results, --help). Adding a statistic is one
// member in stats.h and one row here. The run scalars that sweep views plot (last_q,
// grad_ratio, ...) are the second table, runScalars(), whose per-layer rows name a row of the
// first.
//
// Not in the table (structure, not statistics): index, width, histogram, sample, hasGradients.
#pragma once

#include "core/stats.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

/// Which pass of the engine computes a statistic: forward values are final when
/// RunSink::forwardLayer sees them, backward ones when backwardLayer does.
enum class StatPass { Forward, Backward };

/// Real: a double measured over the batch (NaN = not defined; JSON null); ensemble bands and
/// layerStatistic() cover exactly these. Count: an integer count (JSON integer, never null).
/// Setting: a double the layer is built with rather than measured (sigma_w2).
enum class StatKind { Real, Count, Setting };

struct LayerStatistic {
    const char* key; // JSON key, CSV column, preset "statistic" value (snake_case)
    StatPass pass;
    StatKind kind;
    double LayerStats::*real;                  // for Real and Setting, else nullptr
    std::int64_t LayerStats::*count;           // for Count, else nullptr
    std::vector<double> TheoryCurves::*theory; // the mean-field curve of it, or nullptr
    const char* title; // chart title and chooser text (UTF-8, English: the GUI translates it)
    const char* axis;  // the y axis label, with "(log)" where the axis is logarithmic
    bool logScale;     // drawn on a log axis (positive values that span decades)
    double lo, hi;     // bounds of a bounded statistic (fractions, cosines); else -inf, +inf
    double minSpan;    // the smallest span of a linear axis (a constant statistic stays readable)
    const char* doc;   // the definition (THEORY.md "What each statistic means"), one sentence

    /// The value of this statistic in `s` (a count converted to double).
    double value(const LayerStats& s) const {
        return count ? static_cast<double>(s.*count) : s.*real;
    }
    /// True when `s` holds it: forward statistics always, backward ones once hasGradients.
    bool available(const LayerStats& s) const {
        return pass == StatPass::Forward || s.hasGradients;
    }
};

/// Every per-layer statistic, in the order the GUI's chooser lists them (forward ones first).
std::span<const LayerStatistic> layerStatistics();
/// The row of `key`, or nullptr.
const LayerStatistic* findLayerStatistic(std::string_view key);
/// The keys of the rows of `kind`, in table order.
std::vector<std::string> layerStatisticKeys(StatKind kind);
/// Every key, in table order.
std::vector<std::string> layerStatisticKeys();

/// Copies into `into` what `from` holds of `pass`: every statistic of that pass, and for the
/// backward pass hasGradients. The GUI's merge of backwardLayer() into a forwardLayer() value.
void copyPass(StatPass pass, const LayerStats& from, LayerStats& into);

/// "  key (pass, kind): doc" lines for --help, in table order.
std::string layerStatisticsHelp();

/// A scalar summary of a run, what sweep views plot against the swept field.
struct RunScalar {
    enum class From { FirstLayer, LastLayer, Run };
    const char* name;                  // the scalar's key (JSON of ensemble "scalars")
    From from;                         //
    const char* layerKey;              // FirstLayer, LastLayer: the layer statistic's key
    double (*ofRun)(const RunResult&); // Run: computes it (NaN where not defined)
    const char* title;                 // the sweep view's chooser text, or nullptr: the name
    const char* doc;
    /// The value for r: a per-layer row's value at r's first or last layer (NaN without
    /// layers), or ofRun(r).
    double value(const RunResult& r) const;
};

/// Every run scalar, in the order the sweep view lists them.
std::span<const RunScalar> runScalars();
const RunScalar* findRunScalar(std::string_view name);
/// "  name\n      doc" lines for --help, in table order.
std::string runScalarsHelp();

} // namespace initscope

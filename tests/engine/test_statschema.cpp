// The statistics schema (statschema.h) is the one list every output iterates: its rows must be
// unique, read the member they name, and be exactly what the run JSON, the ensemble bands, the
// preset's statistic list and the GUI merge carry.
#include "analysis/ensemble.h"
#include "spec/preset.h"
#include "stats/report.h"
#include "stats/statschema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace initscope;

namespace {

/// A LayerStats whose every member holds a different value (none of them a default), and the
/// value each key must read: written out by hand, independently of the table.
LayerStats distinctLayer() {
    LayerStats s;
    s.index = 3;
    s.width = 17;
    s.sigmaW2 = 1.25;
    s.q = 2.5;
    s.mean = -0.125;
    s.var = 3.75;
    s.deadFraction = 0.0625;
    s.saturatedFraction = 0.3125;
    s.correlation = 0.4375;
    s.unitSpread = 0.5625;
    s.nonfinite = 7;
    s.hasGradients = true;
    s.gradH2 = 11.5;
    s.gradW2 = 13.5;
    s.relativeUpdate = 0.0078125;
    s.gradRowSpread = 0.875;
    s.gradNonfinite = 19;
    s.histogram.lo = -1;
    s.histogram.hi = 1;
    s.histogram.counts = {1, 2, 3};
    return s;
}

const std::map<std::string, double> kExpected{
    {"q", 2.5},
    {"mean", -0.125},
    {"var", 3.75},
    {"dead_fraction", 0.0625},
    {"saturated_fraction", 0.3125},
    {"correlation", 0.4375},
    {"unit_spread", 0.5625},
    {"nonfinite", 7},
    {"grad_h2", 11.5},
    {"grad_w2", 13.5},
    {"relative_update", 0.0078125},
    {"grad_row_spread", 0.875},
    {"grad_nonfinite", 19},
    {"sigma_w2", 1.25},
};
const std::set<std::string> kBackward{"grad_h2", "grad_w2", "relative_update", "grad_row_spread",
                                      "grad_nonfinite"};
const std::set<std::string> kCounts{"nonfinite", "grad_nonfinite"};

std::set<std::string> tableKeys() {
    std::set<std::string> k;
    for (const LayerStatistic& s : layerStatistics())
        k.insert(s.key);
    return k;
}

} // namespace

TEST(StatSchema, KeysAreUniqueAndSnakeCase) {
    EXPECT_EQ(tableKeys().size(), layerStatistics().size());
    for (const LayerStatistic& s : layerStatistics()) {
        const std::string k = s.key;
        ASSERT_FALSE(k.empty());
        for (char c : k)
            EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << k;
        EXPECT_EQ(findLayerStatistic(k), &s) << k;
    }
    EXPECT_EQ(findLayerStatistic("index"), nullptr);
    EXPECT_EQ(findLayerStatistic("bogus"), nullptr);
}

// Every row reads the member it names (a row pointing at the wrong member reads another row's
// value: all values differ), and the table covers every statistic member of LayerStats.
TEST(StatSchema, EveryRowReadsItsMember) {
    const LayerStats s = distinctLayer();
    EXPECT_EQ(tableKeys().size(), kExpected.size());
    for (const LayerStatistic& row : layerStatistics()) {
        ASSERT_TRUE(kExpected.count(row.key)) << row.key;
        EXPECT_EQ(row.value(s), kExpected.at(row.key)) << row.key;
        // exactly one member pointer, of the row's kind
        EXPECT_EQ(row.count != nullptr, row.kind == StatKind::Count) << row.key;
        EXPECT_EQ(row.real != nullptr, row.kind != StatKind::Count) << row.key;
        EXPECT_EQ(row.kind == StatKind::Count, kCounts.count(row.key) == 1) << row.key;
        EXPECT_EQ(row.pass == StatPass::Backward, kBackward.count(row.key) == 1) << row.key;
    }
}

// The run JSON of a layer is the table's keys and the structural ones, each value the member's
// (counts as integers, an undefined value as null).
TEST(StatSchema, LayerJsonHasExactlyTheTablesKeys) {
    LayerStats s = distinctLayer();
    std::set<std::string> expected = tableKeys();
    expected.insert({"index", "width"});
    for (bool withHistogram : {false, true}) {
        const nlohmann::json o = layerToJson(s, withHistogram);
        std::set<std::string> keys;
        for (const auto& [k, v] : o.items())
            keys.insert(k);
        std::set<std::string> want = expected;
        if (withHistogram)
            want.insert("histogram");
        EXPECT_EQ(keys, want);
        for (const LayerStatistic& row : layerStatistics()) {
            EXPECT_EQ(o[row.key].is_number_integer(), row.kind == StatKind::Count) << row.key;
            EXPECT_EQ(o[row.key].get<double>(), kExpected.at(row.key)) << row.key;
        }
        EXPECT_EQ(o["index"], 3);
        EXPECT_EQ(o["width"], 17);
    }
    s.gradRowSpread = kNaN;
    EXPECT_TRUE(layerToJson(s, false)["grad_row_spread"].is_null());
}

// The other lists are the table's: the preset's statistic list every row in order, the
// ensemble's bands the real ones, and layerStatistic() the row's value.
TEST(StatSchema, OtherListsComeFromTheTable) {
    EXPECT_EQ(presetStatistics(), layerStatisticKeys());
    EXPECT_EQ(layerStatisticNames(), layerStatisticKeys(StatKind::Real));
    EXPECT_EQ(layerStatisticKeys(StatKind::Count),
              (std::vector<std::string>{"nonfinite", "grad_nonfinite"}));
    EXPECT_EQ(layerStatisticKeys(StatKind::Setting), std::vector<std::string>{"sigma_w2"});
    const LayerStats s = distinctLayer();
    for (const std::string& k : layerStatisticNames())
        EXPECT_EQ(layerStatistic(s, k), kExpected.at(k)) << k;
    EXPECT_THROW(layerStatistic(s, "nonfinite"), std::invalid_argument);
    EXPECT_THROW(layerStatistic(s, "sigma_w2"), std::invalid_argument);
}

// The GUI's merge: the backward pass brings its statistics and hasGradients, nothing else.
TEST(StatSchema, CopyPassCopiesExactlyThatPass) {
    const LayerStats src = distinctLayer();
    LayerStats into; // every statistic NaN or 0, no gradients
    into.index = 3;
    copyPass(StatPass::Backward, src, into);
    EXPECT_TRUE(into.hasGradients);
    for (const LayerStatistic& row : layerStatistics()) {
        const double v = row.value(into);
        if (row.pass == StatPass::Backward)
            EXPECT_EQ(v, kExpected.at(row.key)) << row.key;
        else
            EXPECT_TRUE(std::isnan(v) || v == 0) << row.key << " = " << v;
    }
    EXPECT_EQ(into.width, 0);
    EXPECT_TRUE(into.histogram.counts.empty());
    LayerStats fwd;
    copyPass(StatPass::Forward, src, fwd);
    EXPECT_FALSE(fwd.hasGradients);
    for (const LayerStatistic& row : layerStatistics()) {
        const double v = row.value(fwd);
        if (row.pass == StatPass::Forward)
            EXPECT_EQ(v, kExpected.at(row.key)) << row.key;
        else
            EXPECT_TRUE(std::isnan(v) || v == 0) << row.key << " = " << v;
    }
}

// Each theory key reads the mean-field curve of its own statistic (THEORY.md: q^l, c^l and
// E||delta^l||^2 are predicted; nothing else is).
TEST(StatSchema, TheoryKeysReadTheirCurves) {
    TheoryCurves t;
    t.q = {1.0};
    t.c = {2.0};
    t.gradH2 = {3.0};
    t.gradRatio = {4.0};
    const std::map<std::string, double> curve{{"q", 1.0}, {"correlation", 2.0}, {"grad_h2", 3.0}};
    for (const LayerStatistic& row : layerStatistics()) {
        if (curve.count(row.key)) {
            ASSERT_NE(row.theory, nullptr) << row.key;
            EXPECT_EQ((t.*row.theory).front(), curve.at(row.key)) << row.key;
        } else {
            EXPECT_EQ(row.theory, nullptr) << row.key;
        }
    }
}

TEST(StatSchema, DocsTitlesAndAxesAreGiven) {
    for (const LayerStatistic& row : layerStatistics()) {
        EXPECT_GT(std::string(row.doc).size(), 10u) << row.key;
        EXPECT_FALSE(std::string(row.title).empty()) << row.key;
        EXPECT_FALSE(std::string(row.axis).empty()) << row.key;
        // the axis label says when the axis is logarithmic
        EXPECT_EQ(std::string(row.axis).find("(log)") != std::string::npos, row.logScale)
            << row.key;
        EXPECT_LT(row.lo, row.hi) << row.key;
        EXPECT_GT(row.minSpan, 0) << row.key;
    }
    const std::string help = layerStatisticsHelp();
    for (const LayerStatistic& row : layerStatistics()) {
        EXPECT_NE(help.find(std::string("  ") + row.key + " ("), std::string::npos) << row.key;
        EXPECT_NE(help.find(row.doc), std::string::npos) << row.key;
    }
}

// The run scalars: unique names, per-layer ones naming a row of the layer table and reading it
// at the first or last layer, every one documented.
TEST(StatSchema, RunScalars) {
    RunResult r;
    LayerStats first = distinctLayer(), last = distinctLayer();
    first.index = 1;
    last.index = 2;
    last.q = 100;
    last.gradH2 = 4;
    r.layers = {first, last};
    r.inputGrad2 = 0.5;
    r.firstNonfiniteLayer = 2;
    r.theory.chi1 = 1.5;
    std::set<std::string> names;
    for (const RunScalar& s : runScalars()) {
        EXPECT_TRUE(names.insert(s.name).second) << s.name;
        EXPECT_EQ(findRunScalar(s.name), &s);
        EXPECT_GT(std::string(s.doc).size(), 5u) << s.name;
        if (s.from == RunScalar::From::Run) {
            EXPECT_NE(s.ofRun, nullptr) << s.name;
            continue;
        }
        const LayerStatistic* row = findLayerStatistic(s.layerKey);
        ASSERT_NE(row, nullptr) << s.name;
        const bool atFirst = s.from == RunScalar::From::FirstLayer;
        EXPECT_EQ(std::string(s.name), (atFirst ? "first_" : "last_") + std::string(s.layerKey));
        EXPECT_EQ(s.value(r), row->value(atFirst ? first : last)) << s.name;
        EXPECT_TRUE(std::isnan(s.value(RunResult{}))) << s.name;
    }
    EXPECT_EQ(scalarStatistic(r, "last_q"), 100);
    EXPECT_EQ(scalarStatistic(r, "grad_ratio"), 11.5 / 4);
    EXPECT_EQ(scalarStatistic(r, "input_grad2"), 0.5);
    EXPECT_EQ(scalarStatistic(r, "first_nonfinite_layer"), 2);
    EXPECT_EQ(scalarStatistic(r, "chi1"), 1.5);
    EXPECT_TRUE(std::isnan(scalarStatistic(RunResult{}, "grad_ratio")));
    std::vector<std::string> listed(names.begin(), names.end());
    std::vector<std::string> api = scalarStatisticNames();
    std::sort(api.begin(), api.end());
    EXPECT_EQ(api, listed);
}

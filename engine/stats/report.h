// JSON forms of results, as the headless CLI prints them (DESIGN.md contract). NaN and
// infinities, which JSON cannot hold, are written as null.
#pragma once

#include "core/stats.h"

#include <nlohmann/json.hpp>

namespace initscope {

nlohmann::json jsonNumber(double v);
nlohmann::json jsonNumbers(const std::vector<double>& v);
nlohmann::json layerToJson(const LayerStats& s, bool withHistogram);
nlohmann::json theoryToJson(const TheoryCurves& t);
/// {"spec", "layers", "theory", "input_grad2", "first_nonfinite_layer", "message", "seconds"}
nlohmann::json resultToJson(const RunResult& r, bool withHistograms = false);
/// "non-finite from layer 15" or "" when the run stayed finite.
std::string nonfiniteMessage(const RunResult& r);

} // namespace initscope

// The JSON document of every headless command (DESIGN.md, "Headless CLI contract"), built from
// the engine's results: the CLI (app/initscope_cli.cpp) only parses options, computes and prints
// these. Numbers that JSON cannot hold (NaN, infinities) are null (report.h).
#pragma once

#include "analysis/ensemble.h"
#include "analysis/jacobian.h"
#include "analysis/ntk.h"
#include "analysis/sweep.h"
#include "theory/meanfield.h"
#include "theory/phase.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace initscope {

/// theory: the fixed point and the recursions from (q0, c0).
nlohmann::json theoryJson(const Activation& act, double sigmaW2, double sigmaB2, double q0,
                          double c0, const meanfield::LayerTheory& lt,
                          const meanfield::FixedPoint& fp);
/// critical: the sigma_w^2 with chi1 = 1 at sigma_b^2.
nlohmann::json criticalJson(const Activation& act, double sigmaB2, double sigmaW2,
                            const meanfield::FixedPoint& fp);
/// sweep: {"sweep", "spec", "points": [{NAME, "spec", "layers", "theory", ...}], "seconds"}
nlohmann::json sweepJson(const SweepAxis& axis, const NetworkSpec& spec,
                         const std::vector<SweepPoint>& points, bool withHistograms,
                         double seconds);
/// jacobian of K probe inputs.
nlohmann::json jacobianJson(const NetworkSpec& spec, int inputs, const JacobianResult& r);
/// ntk; the "analytic" part only when it was asked for.
nlohmann::json ntkJson(const NetworkSpec& spec, const NtkOptions& options, const NtkResult& r);
/// phase diagram of one activation.
nlohmann::json phaseJson(const Activation& act, const PhaseDiagram& pd);
/// ensemble: bands of every layer statistic and the run scalars of every seed.
nlohmann::json ensembleJson(const NetworkSpec& spec, const EnsembleResult& e);
/// presets: name, title, note and view of every bundled preset.
nlohmann::json presetsJson();

} // namespace initscope

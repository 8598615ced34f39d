// Sweeps: one spec field stepped over a range, each point a full run.
#pragma once

#include "network/engine.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace initscope {

struct SweepAxis {
    std::string name; // a numeric spec field (snake_case) or "sigma_w2"
    double from = 0, to = 0;
    int steps = 1; // number of points, from and to included (steps = 1: just `from`)
    // Evenly spaced in log(value) (needs from > 0): what a log axis shows evenly; else linear.
    bool logSpaced = false;
    // An integer field (depth, width): values rounded, repeats dropped (so fewer than `steps`).
    bool integer = false;
    std::vector<double> values() const;
};

inline constexpr int kMaxSweepSteps = 10000;

/// Parses "NAME=FROM:TO:STEPS"; on failure returns nullopt and sets error.
std::optional<SweepAxis> parseSweepAxis(const std::string& text, std::string& error);

/// spec with the axis field set to v as one layer of settings (fields.h applyFields: sigma_w2
/// sets the chosen scheme's gain, sigma_b2 > 0 implies normal biases); integer fields take the
/// nearest integer of an axis point. A value the field cannot take leaves it unchanged: check
/// sweepPointErrors first.
NetworkSpec sweepSpec(const NetworkSpec& base, const std::string& name, double v);
/// Why the point v cannot be run (the field's range, cross-field and memory checks), each
/// message naming the point; empty when it can.
std::vector<SpecError> sweepPointErrors(const NetworkSpec& base, const std::string& name, double v);

struct SweepPoint {
    double value = 0;
    RunResult result;
};

/// Every point's problems (validate), each message naming the point's value; empty when all
/// points are valid.
std::vector<SpecError> validateSweep(const NetworkSpec& base, const SweepAxis& axis);

/// Runs every point in order (each run parallel inside); `onPoint` (may be empty) sees each point
/// as soon as it is done. Stops early, returning the points done, when `cancel` is set.
/// Throws SpecInvalid (naming the point's value) if a point's spec is invalid; every point is
/// validated before the first run.
std::vector<SweepPoint>
runSweep(Engine& engine, const NetworkSpec& base, const SweepAxis& axis,
         const std::function<void(const SweepPoint&, int index)>& onPoint = {},
         const std::atomic<bool>* cancel = nullptr);

} // namespace initscope

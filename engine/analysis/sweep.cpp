#include "analysis/sweep.h"

#include "spec/fields.h"

#include <charconv>
#include <cmath>
#include <sstream>

namespace initscope {

std::vector<double> SweepAxis::values() const {
    std::vector<double> v;
    v.reserve(static_cast<std::size_t>(steps));
    const bool geometric = logSpaced && from > 0 && to > 0;
    for (int i = 0; i < steps; ++i) {
        const double t = steps == 1 ? 0.0 : static_cast<double>(i) / (steps - 1);
        double x = geometric ? from * std::pow(to / from, t) : from + (to - from) * t;
        if (i == steps - 1 && steps > 1)
            x = to; // exactly the end, not pow's rounding of it
        if (integer)
            x = std::round(x);
        if (!integer || v.empty() || x != v.back())
            v.push_back(x);
    }
    return v;
}

std::optional<SweepAxis> parseSweepAxis(const std::string& text, std::string& error) {
    const std::string usage =
        "--sweep: expected NAME=FROM:TO:STEPS, e.g. gain=0.5:4:16 (got '" + text + "')";
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        error = usage;
        return std::nullopt;
    }
    SweepAxis a;
    a.name = text.substr(0, eq);
    if (a.name != "sigma_w2" && !isNumericField(a.name)) {
        error = "--sweep: '" + a.name +
                "' is not a numeric field; use one of sigma_w2, gain, sigma_b2, depth, width, "
                "input_dim, batch, input_scale, input_mean, activation_slope, init_value, "
                "bias_value, learning_rate, seed";
        return std::nullopt;
    }
    std::vector<std::string> parts;
    std::size_t pos = eq + 1;
    while (true) {
        const auto c = text.find(':', pos);
        parts.push_back(text.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
        if (c == std::string::npos)
            break;
        pos = c + 1;
    }
    if (parts.size() != 3) {
        error = usage;
        return std::nullopt;
    }
    auto num = [](const std::string& s, double& out) {
        auto r = std::from_chars(s.data(), s.data() + s.size(), out);
        return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty() &&
               std::isfinite(out);
    };
    double steps = 0;
    if (!num(parts[0], a.from) || !num(parts[1], a.to) || !num(parts[2], steps)) {
        error = usage;
        return std::nullopt;
    }
    if (steps != std::floor(steps) || steps < 1 || steps > kMaxSweepSteps) {
        error = "--sweep: STEPS must be an integer from 1 to " + std::to_string(kMaxSweepSteps) +
                " (got '" + parts[2] + "')";
        return std::nullopt;
    }
    a.steps = static_cast<int>(steps);
    return a;
}

namespace {

/// The axis point as the field's JSON value: integer fields take the nearest integer (within
/// the range where rounding is exact, so a point beyond it is refused instead of wrapped).
nlohmann::json axisValue(const std::string& name, double v) {
    const FieldInfo* f = fieldInfo(name);
    if (f && (f->kind == FieldKind::Int || f->kind == FieldKind::Seed) && std::isfinite(v) &&
        std::abs(v) < 9007199254740992.0)
        return std::round(v);
    return v;
}

} // namespace

NetworkSpec sweepSpec(const NetworkSpec& base, const std::string& name, double v) {
    NetworkSpec s = base;
    std::vector<SpecError> ignored;
    applyFields(s, {{name, axisValue(name, v)}}, ignored);
    return s;
}

std::vector<SpecError> sweepPointErrors(const NetworkSpec& base, const std::string& name,
                                        double v) {
    NetworkSpec s = base;
    std::vector<SpecError> errors;
    if (applyFields(s, {{name, axisValue(name, v)}}, errors))
        errors = validate(s);
    std::ostringstream at;
    at << "at " << name << " = " << v << ": ";
    for (SpecError& e : errors)
        e.message = at.str() + e.message;
    return errors;
}

std::vector<SpecError> validateSweep(const NetworkSpec& base, const SweepAxis& axis) {
    for (double v : axis.values())
        if (auto errors = sweepPointErrors(base, axis.name, v); !errors.empty())
            return errors;
    return {};
}

std::vector<SweepPoint> runSweep(Engine& engine, const NetworkSpec& base, const SweepAxis& axis,
                                 const std::function<void(const SweepPoint&, int)>& onPoint,
                                 const std::atomic<bool>* cancel) {
    if (auto errors = validateSweep(base, axis); !errors.empty())
        throw SpecInvalid(std::move(errors));
    const std::vector<double> values = axis.values();
    std::vector<SweepPoint> points;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (cancel && cancel->load())
            break;
        SweepPoint p;
        p.value = values[i];
        p.result = engine.run(sweepSpec(base, axis.name, values[i]), nullptr, cancel);
        if (p.result.cancelled)
            break;
        points.push_back(std::move(p));
        if (onPoint)
            onPoint(points.back(), static_cast<int>(i));
    }
    return points;
}

} // namespace initscope

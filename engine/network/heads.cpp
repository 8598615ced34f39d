#include "network/heads.h"

#include "core/rng.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>

namespace initscope {

namespace {

std::string num(double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

bool parseDouble(const std::string& s, double& out) {
    if (s.empty())
        return false;
    std::size_t used = 0;
    try {
        out = std::stod(s, &used);
    } catch (...) {
        return false;
    }
    return used == s.size() && std::isfinite(out);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(cur);
    return parts;
}

bool nameOk(const std::string& n) {
    if (n.empty() || n.size() > kMaxHeadName)
        return false;
    for (char c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    return true;
}

} // namespace

bool parseHeadOption(const std::string& text, HeadSpec& out, std::string& error) {
    const std::string quoted = "--head '" + text.substr(0, 80) + "': ";
    const auto parts = split(text, ':');
    if (parts.size() < 3) {
        error = quoted + "needs NAME:W1,W2,..:SCHEME[:gain=G][:bias=V][:weight=w] (e.g. "
                         "cls:10:lecun-normal)";
        return false;
    }
    HeadSpec h;
    h.name = parts[0];
    h.widths.clear();
    for (const std::string& w : split(parts[1], ',')) {
        std::size_t used = 0;
        long v = 0;
        try {
            v = std::stol(w, &used);
        } catch (...) {
            used = 0;
        }
        if (w.empty() || used != w.size()) {
            error =
                quoted + "widths: must be integers separated by commas (got '" + parts[1] + "')";
            return false;
        }
        h.widths.push_back(static_cast<int>(std::clamp<long>(v, -1, 1L << 30)));
    }
    if (!parseInitScheme(parts[2], h.scheme)) {
        std::string names;
        for (InitScheme s : allInitSchemes())
            names += (names.empty() ? "" : " ") + initSchemeName(s);
        error = quoted + "scheme: must be one of " + names + " (got '" + parts[2] + "')";
        return false;
    }
    std::set<std::string> seen;
    for (std::size_t i = 3; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        const std::string key = eq == std::string::npos ? parts[i] : parts[i].substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
        double* target = key == "gain"     ? &h.gain
                         : key == "bias"   ? &h.bias
                         : key == "weight" ? &h.weight
                                           : nullptr;
        if (!target) {
            error = quoted + "unknown part '" + parts[i] +
                    "' (after the scheme: gain=G, bias=V, weight=w)";
            return false;
        }
        if (!seen.insert(key).second) {
            error = quoted + key + " is given more than once";
            return false;
        }
        if (!parseDouble(value, *target)) {
            error = quoted + key + ": must be a number (got '" + value + "')";
            return false;
        }
    }
    out = std::move(h);
    return true;
}

std::string headOptionText(const HeadSpec& h) {
    std::string s = h.name + ":";
    for (std::size_t i = 0; i < h.widths.size(); ++i)
        s += (i ? "," : "") + std::to_string(h.widths[i]);
    s += ":" + initSchemeName(h.scheme);
    const HeadSpec d;
    if (h.gain != d.gain)
        s += ":gain=" + num(h.gain);
    if (h.bias != d.bias)
        s += ":bias=" + num(h.bias);
    if (h.weight != d.weight)
        s += ":weight=" + num(h.weight);
    return s;
}

nlohmann::json headsToJson(const std::vector<HeadSpec>& heads) {
    nlohmann::json a = nlohmann::json::array();
    for (const HeadSpec& h : heads) {
        nlohmann::json o;
        o["name"] = h.name;
        o["widths"] = h.widths;
        o["scheme"] = initSchemeName(h.scheme);
        o["gain"] = h.gain;
        o["bias"] = h.bias;
        o["weight"] = h.weight;
        a.push_back(std::move(o));
    }
    return a;
}

bool headsFromJson(const nlohmann::json& value, std::vector<HeadSpec>& out,
                   std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    if (!value.is_array()) {
        errors.push_back({"heads", "heads: must be a list of head objects"});
        return false;
    }
    if (value.size() > static_cast<std::size_t>(kMaxHeads)) {
        errors.push_back({"heads", "heads: at most " + std::to_string(kMaxHeads) + " heads (got " +
                                       std::to_string(value.size()) + ")"});
        return false;
    }
    std::vector<HeadSpec> heads;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string at = "heads[" + std::to_string(i) + "]";
        const nlohmann::json& o = value[i];
        if (!o.is_object()) {
            errors.push_back({at, at + ": must be an object {\"name\", \"widths\", \"scheme\", "
                                       "\"gain\", \"bias\", \"weight\"}"});
            continue;
        }
        HeadSpec h;
        bool hasName = false, hasWidths = false;
        for (const auto& [key, v] : o.items()) {
            const std::string f = at + "." + key;
            if (key == "name") {
                hasName = v.is_string();
                if (!hasName)
                    errors.push_back({f, f + ": must be a text"});
                else
                    h.name = v.get<std::string>();
            } else if (key == "widths") {
                bool ok = v.is_array() && !v.empty() && v.size() <= kMaxHeadLayers;
                if (ok)
                    for (const auto& x : v)
                        ok = ok && x.is_number_integer() && x.get<std::int64_t>() >= 1 &&
                             x.get<std::int64_t>() <= Limits::kMaxWidth;
                if (!ok) {
                    errors.push_back({f, f + ": must be a list of 1 to " +
                                             std::to_string(kMaxHeadLayers) + " integers from " +
                                             std::to_string(Limits::kMinWidth) + " to " +
                                             std::to_string(Limits::kMaxWidth)});
                } else {
                    hasWidths = true;
                    h.widths = v.get<std::vector<int>>();
                }
            } else if (key == "scheme") {
                if (!v.is_string() || !parseInitScheme(v.get<std::string>(), h.scheme))
                    errors.push_back({f, f + ": must be an init scheme name (see --init)"});
            } else if (key == "gain" || key == "bias" || key == "weight") {
                if (!v.is_number() || !std::isfinite(v.get<double>()))
                    errors.push_back({f, f + ": must be a number"});
                else
                    (key == "gain" ? h.gain : key == "bias" ? h.bias : h.weight) = v.get<double>();
            } else {
                errors.push_back({f, f + ": unknown key (a head has name, widths, scheme, gain, "
                                         "bias, weight)"});
            }
        }
        if (!o.contains("name"))
            errors.push_back({at + ".name", at + ".name: is required"});
        if (!o.contains("widths"))
            errors.push_back({at + ".widths", at + ".widths: is required"});
        if (hasName && hasWidths)
            heads.push_back(std::move(h));
    }
    if (errors.size() != before)
        return false;
    out = std::move(heads);
    return true;
}

std::vector<SpecError> validateHeads(const NetworkSpec& spec) {
    std::vector<SpecError> e;
    if (spec.heads.size() > static_cast<std::size_t>(kMaxHeads))
        e.push_back({"heads", "heads: at most " + std::to_string(kMaxHeads) + " heads (got " +
                                  std::to_string(spec.heads.size()) + ")"});
    std::set<std::string> names;
    for (std::size_t i = 0; i < spec.heads.size(); ++i) {
        const HeadSpec& h = spec.heads[i];
        const std::string at = "heads[" + std::to_string(i) + "]";
        if (!nameOk(h.name))
            e.push_back({at + ".name", at + ".name: must be 1 to " + std::to_string(kMaxHeadName) +
                                           " characters of a-z, 0-9, - and _ (got '" +
                                           h.name.substr(0, 40) + "')"});
        else if (!names.insert(h.name).second)
            e.push_back({at + ".name", at + ".name: '" + h.name +
                                           "' is the name of an earlier head (names key the "
                                           "heads' random streams: make them unique)"});
        if (h.widths.empty() || h.widths.size() > static_cast<std::size_t>(kMaxHeadLayers))
            e.push_back({at + ".widths", at + ".widths: must have 1 to " +
                                             std::to_string(kMaxHeadLayers) + " layers (got " +
                                             std::to_string(h.widths.size()) + ")"});
        for (std::size_t j = 0; j < h.widths.size(); ++j)
            if (h.widths[j] < Limits::kMinWidth || h.widths[j] > Limits::kMaxWidth)
                e.push_back({at + ".widths", at + ".widths[" + std::to_string(j) +
                                                 "]: must be an integer from " +
                                                 std::to_string(Limits::kMinWidth) + " to " +
                                                 std::to_string(Limits::kMaxWidth) + " (got " +
                                                 std::to_string(h.widths[j]) + ")"});
        if (h.scheme == InitScheme::DeltaOrthogonal)
            e.push_back({at + ".scheme", at + ".scheme: delta-orthogonal is a conv kernel's; a "
                                              "head is dense (choose another scheme)"});
        if (!(h.gain >= 0 && h.gain <= Limits::kMaxGain))
            e.push_back({at + ".gain", at + ".gain: must be a number from 0 to " +
                                           num(Limits::kMaxGain) + " (got " + num(h.gain) + ")"});
        if (!(std::abs(h.bias) <= 1e6))
            e.push_back({at + ".bias", at + ".bias: must be a number from -1e6 to 1e6 (got " +
                                           num(h.bias) + ")"});
        if (!(h.weight >= 0 && h.weight <= kMaxHeadWeight))
            e.push_back({at + ".weight", at + ".weight: must be a number from 0 to " +
                                             num(kMaxHeadWeight) + " (got " + num(h.weight) + ")"});
    }
    return e;
}

std::uint64_t headStreamSeed(std::uint64_t seed, const std::string& name) {
    // FNV-1a of the name, then mixed with the seed: a pure function of (seed, name)
    std::uint64_t hsh = 0xcbf29ce484222325ULL;
    for (unsigned char c : name) {
        hsh ^= c;
        hsh *= 0x100000001b3ULL;
    }
    return mix64(mix64(seed) ^ mix64(hsh + 0x68656164ULL));
}

double headLayerVariance(const HeadSpec& h, int nIn, int nOut) {
    if (h.scheme == InitScheme::Zeros || h.scheme == InitScheme::Constant)
        return 0.0;
    return h.gain * baseVariance(h.scheme, FanMode::FanIn, nIn, nOut, 1.0);
}

} // namespace initscope

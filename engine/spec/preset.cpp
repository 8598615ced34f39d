#include "spec/preset.h"

#include "core/data.h"
#include "spec/fields.h"
#include "stats/statschema.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

namespace initscope {

// Generated from resources/presets/*.json by resources/CMakeLists.txt.
struct BundledPresetText {
    const char* file;
    const char* text;
};
extern const BundledPresetText kBundledPresetTexts[];
extern const std::size_t kBundledPresetCount;

namespace {
using json = nlohmann::json;

bool validName(const std::string& n) {
    if (n.empty() || n.size() > 64)
        return false;
    for (char c : n)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    return true;
}
} // namespace

namespace {
std::string joinedViews() {
    std::string all;
    for (const auto& v : presetViews())
        all += (all.empty() ? "" : ", ") + v;
    return all;
}

// ---- the maml view's settings (view "maml")
json mamlViewSettingsJson(const MamlViewSettings& m) {
    json j = {{"meta_steps", m.metaSteps}, {"inner_steps", m.innerSteps},
              {"inner_lr", m.innerLr},     {"meta_lr", m.metaLr},
              {"seeds", m.seeds},          {"record_every", m.recordEvery}};
    const MamlViewSettings d;
    if (m.support != d.support || m.query != d.query) { // a preset without them reads as before
        j["support"] = m.support;
        j["query"] = m.query;
    }
    return j;
}

void parseMamlViewSettings(const json& vs, Preset& p, std::vector<SpecError>& errors) {
    if (!vs.is_object()) {
        errors.push_back({"view_settings", "view_settings: must be an object, e.g. "
                                           "{\"meta_steps\": 500, \"seeds\": 3}"});
        return;
    }
    MamlViewSettings m;
    for (const auto& [k, v] : vs.items()) {
        const std::string field = "view_settings." + printable(k);
        int* integer = k == "meta_steps"     ? &m.metaSteps
                       : k == "inner_steps"  ? &m.innerSteps
                       : k == "seeds"        ? &m.seeds
                       : k == "record_every" ? &m.recordEvery
                       : k == "support"      ? &m.support
                       : k == "query"        ? &m.query
                                             : nullptr;
        double* real = k == "inner_lr" ? &m.innerLr : k == "meta_lr" ? &m.metaLr : nullptr;
        if (integer) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 1 ||
                v.get<std::int64_t>() > MamlViewSettings::kMaxViewMetaSteps)
                errors.push_back({field, field + ": must be an integer from 1 to " +
                                             std::to_string(MamlViewSettings::kMaxViewMetaSteps)});
            else
                *integer = v.get<int>();
        } else if (real) {
            if (!v.is_number())
                errors.push_back({field, field + ": must be a number"});
            else
                *real = v.get<double>();
        } else {
            errors.push_back({field, field + ": the maml view takes no such setting (it takes "
                                             "meta_steps, inner_steps, inner_lr, meta_lr, seeds, "
                                             "record_every, support, query)"});
        }
    }
    if (errors.empty())
        for (SpecError& e : validateMamlViewSettings(m))
            errors.push_back(std::move(e));
    if (errors.empty())
        p.maml = m;
}

/// The rl view's "view_settings" (preset.h): each key optional, ranges as validateRl's.
void parseRlSettings(const json& vs, Preset& p, std::vector<SpecError>& errors) {
    if (!vs.is_object()) {
        errors.push_back({"view_settings", "view_settings: must be an object, e.g. "
                                           "{\"q_opt\": 1, \"episodes\": 5000}"});
        return;
    }
    RlSpec r;
    for (const auto& [k, v] : vs.items()) {
        const std::string field = "view_settings." + printable(k);
        const bool integer = k == "episodes" || k == "actions" || k == "states";
        const bool real = k == "q_opt" || k == "large_gain" || k == "learning_rate";
        if (!integer && !real) {
            errors.push_back({field, field + ": the rl view takes no such setting (q_opt, "
                                             "episodes, actions, states, large_gain, "
                                             "learning_rate)"});
            continue;
        }
        if (integer ? !v.is_number_integer() : !v.is_number()) {
            errors.push_back(
                {field, field + (integer ? ": must be an integer" : ": must be a number")});
            continue;
        }
        if (k == "episodes")
            r.episodes =
                static_cast<int>(std::clamp<std::int64_t>(v.get<std::int64_t>(), -1, 1 << 30));
        else if (k == "actions")
            r.actions =
                static_cast<int>(std::clamp<std::int64_t>(v.get<std::int64_t>(), -1, 1 << 30));
        else if (k == "states")
            r.states =
                static_cast<int>(std::clamp<std::int64_t>(v.get<std::int64_t>(), -1, 1 << 30));
        else if (k == "q_opt")
            r.qOpt = v.get<double>();
        else if (k == "large_gain")
            r.largeGain = v.get<double>();
        else
            r.learningRate = v.get<double>();
    }
    NetworkSpec trunk = rlDefaultSpec(); // the ranges only: the spec is checked on its own
    for (const SpecError& e : validateRl(trunk, r))
        errors.push_back({"view_settings." + e.field, "view_settings." + e.message});
    p.rl = r;
}

json rlSettingsJson(const RlSpec& r) {
    return {{"q_opt", r.qOpt},    {"episodes", r.episodes},    {"actions", r.actions},
            {"states", r.states}, {"large_gain", r.largeGain}, {"learning_rate", r.learningRate}};
}
} // namespace

const std::vector<std::string>& presetViews() {
    static const std::vector<std::string> v{
        "signal",   "gradients",    "correlation", "distribution", "activations", "phase",
        "jacobian", "ntk",          "sweep",       "statistic",    "training",    "pinn",
        "maml",     "trainability", "rl",          "ensemble"};
    return v;
}

const std::vector<std::string>& presetStatistics() {
    static const std::vector<std::string> v = layerStatisticKeys();
    return v;
}

namespace {
/// "view_settings" of view "trainability": depth_range, sigma_w2_range ("FROM:TO:STEPS", as the
/// CLI's --depth-range and --sigma-w2-range) and steps, each optional.
void parseTrainabilitySettings(const json& vs, Preset& p, std::vector<SpecError>& errors) {
    auto fail = [&](const std::string& field, const std::string& msg) {
        errors.push_back({field, field + ": " + msg});
    };
    if (!vs.is_object()) {
        fail("view_settings", "must be an object, e.g. {\"depth_range\": \"10:60:4\", "
                              "\"sigma_w2_range\": \"1:4:4\", \"steps\": 200}");
        return;
    }
    TrainabilitySettings t;
    for (const auto& [k, v] : vs.items()) {
        const std::string key = "view_settings." + printable(k);
        if (k == "depth_range" || k == "sigma_w2_range") {
            if (!v.is_string()) {
                fail(key, "must be a string FROM:TO:STEPS, e.g. \"10:60:4\"");
                continue;
            }
            std::string err;
            const auto ax = k == "depth_range" ? parseDepthAxis("x", v.get<std::string>(), err)
                                               : parseSigmaW2Axis("x", v.get<std::string>(), err);
            if (!ax) {
                fail(key, err.substr(err.find(": ") + 2)); // the reason, without "--x: "
                continue;
            }
            (k == "depth_range" ? t.grid.depth : t.grid.sigmaW2) = *ax;
        } else if (k == "steps") {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 1 ||
                v.get<std::int64_t>() > TrainSpec::kMaxSteps)
                fail(key, "must be an integer from 1 to " + std::to_string(TrainSpec::kMaxSteps));
            else
                t.steps = v.get<int>();
        } else {
            fail(key, "the trainability view takes no such setting (it takes depth_range, "
                      "sigma_w2_range and steps)");
        }
    }
    p.trainability = t;
}
} // namespace

PresetParse parsePreset(std::string_view text, const std::string& baseDir) {
    PresetParse r;
    auto fail = [&](const std::string& field, const std::string& msg) {
        r.errors.push_back({field, field + ": " + msg});
    };
    if (text.size() > kMaxPresetBytes) {
        fail("file", "preset is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(kMaxPresetBytes) + " bytes");
        return r;
    }
    json doc;
    std::string lastKey; // the key being read, to name the field of an out-of-range number
    // keys seen in each open object: a key given twice is refused (JSON parsers keep the last,
    // which would silently drop the first)
    std::vector<std::set<std::string>> open;
    std::size_t duplicates = 0;
    try {
        doc = json::parse(text, [&](int, json::parse_event_t ev, json& parsed) {
            if (ev == json::parse_event_t::object_start) {
                open.emplace_back();
            } else if (ev == json::parse_event_t::object_end) {
                if (!open.empty())
                    open.pop_back();
            } else if (ev == json::parse_event_t::key) {
                lastKey = parsed.get<std::string>();
                if (!open.empty() && !open.back().insert(lastKey).second && ++duplicates <= 20)
                    r.errors.push_back({lastKey, printable(lastKey) +
                                                     ": is given more than once in one object "
                                                     "(each key may appear once)"});
            }
            return true;
        });
    } catch (const json::out_of_range& e) {
        // a number literal beyond double range, e.g. 1e400 (not a parse_error: it used to escape)
        fail(lastKey.empty() ? "json" : printable(lastKey),
             "a number is out of range (largest magnitude about 1.8e308): " +
                 std::string(e.what()).substr(std::string(e.what()).find(']') + 2));
        return r;
    } catch (const json::parse_error& e) {
        // e.byte is the position of the problem: report it as line and column
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        fail("json", "not valid JSON at line " + std::to_string(line) + ", column " +
                         std::to_string(col) + " (truncated file or a syntax error)");
        return r;
    }
    if (!doc.is_object()) {
        fail("json", std::string("the preset must be a JSON object (got ") + doc.type_name() + ")");
        return r;
    }
    if (duplicates > 0)
        return r;
    Preset p;
    static const std::vector<std::string> known{"format", "version", "name",          "title",
                                                "note",   "view",    "view_settings", "statistic",
                                                "spec",   "train"};
    for (const auto& [k, v] : doc.items())
        if (std::find(known.begin(), known.end(), k) == known.end())
            r.errors.push_back({k, printable(k) + ": unknown key (a preset has format, version, "
                                                  "name, title, note, view, view_settings, "
                                                  "statistic, spec, train)"});
    if (!doc.contains("format") || doc["format"] != "initscope-preset")
        fail("format", "must be \"initscope-preset\"");
    if (!doc.contains("version") || !doc["version"].is_number_integer())
        fail("version", "must be the integer 1 or " + std::to_string(kPresetVersion));
    else if (const auto v = doc["version"].get<std::int64_t>(); v < 1 || v > kPresetVersion)
        fail("version", "version " + doc["version"].dump() +
                            " is not supported (this initscope reads versions 1 to " +
                            std::to_string(kPresetVersion) + ")");
    else if (v == 1 && doc.contains("spec") && doc["spec"].is_object() &&
             doc["spec"].contains("arch"))
        // version 1 describes an mlp; the network families came with version 2
        fail("arch", "needs preset version 2 (a version 1 preset is always an mlp)");
    auto str = [&](const char* key, std::string& out, bool required, std::size_t maxLen) {
        if (!doc.contains(key)) {
            if (required)
                fail(key, "is missing");
            return;
        }
        if (!doc[key].is_string()) {
            fail(key, std::string("must be a string (got ") + doc[key].type_name() + ")");
            return;
        }
        out = doc[key].get<std::string>();
        if (out.size() > maxLen)
            fail(key, "is longer than " + std::to_string(maxLen) + " characters");
    };
    str("name", p.name, true, 64);
    str("title", p.title, false, 200);
    str("note", p.note, false, 20000);
    str("view", p.view, false, 32);
    str("statistic", p.statistic, false, 32);
    if (doc.contains("statistic") && doc["statistic"].is_string() && p.statistic.size() <= 32 &&
        std::find(presetStatistics().begin(), presetStatistics().end(), p.statistic) ==
            presetStatistics().end()) {
        std::string all;
        for (const auto& s : presetStatistics())
            all += (all.empty() ? "" : ", ") + s;
        fail("statistic", "must be one of " + all + " (got \"" + printable(p.statistic) + "\")");
    }
    if (doc.contains("name") && doc["name"].is_string() && p.name.size() <= 64 &&
        !validName(p.name)) // (a longer name is reported above, without echoing it)
        fail("name", "must be 1 to 64 characters of a-z, 0-9 and '-' (got \"" + p.name + "\")");
    if (doc.contains("view") && doc["view"].is_string() &&
        std::find(presetViews().begin(), presetViews().end(), p.view) == presetViews().end())
        fail("view", "must be one of " + joinedViews() + " (got \"" + p.view + "\")");
    if (doc.contains("view_settings") && p.view == "trainability") {
        parseTrainabilitySettings(doc["view_settings"], p, r.errors);
    } else if (doc.contains("view_settings") && p.view == "rl") {
        parseRlSettings(doc["view_settings"], p, r.errors);
    } else if (doc.contains("view_settings")) {
        const json& vs = doc["view_settings"];
        const bool probes = p.view == "jacobian" || p.view == "ntk";
        const int lo = p.view == "ntk" ? kNtkViewMinInputs : 1;
        const int hi = p.view == "ntk" ? kNtkViewMaxInputs : kJacobianViewMaxInputs;
        if (p.view == "maml") {
            parseMamlViewSettings(vs, p, r.errors);
        } else if (!vs.is_object()) {
            fail("view_settings", "must be an object, e.g. {\"inputs\": 32}");
        } else if (p.view == "pinn") {
            p.pinn = pinnSpecFromJson(vs, r.errors);
        } else {
            for (const auto& [k, v] : vs.items()) {
                if (k != "inputs" || !probes) {
                    r.errors.push_back(
                        {"view_settings." + printable(k),
                         "view_settings." + printable(k) + ": the " + p.view +
                             " view takes no such setting (only the jacobian and ntk views "
                             "take \"inputs\"; the pinn, maml and trainability views take their "
                             "own)"});
                } else if (!v.is_number_integer() || v.get<std::int64_t>() < lo ||
                           v.get<std::int64_t>() > hi) {
                    fail("view_settings.inputs", "must be an integer from " + std::to_string(lo) +
                                                     " to " + std::to_string(hi) + " for the " +
                                                     p.view + " view");
                } else {
                    p.viewInputs = v.get<int>();
                }
            }
        }
    }
    if (!doc.contains("spec")) {
        fail("spec", "is missing");
    } else {
        const json& spec = doc["spec"];
        // a relative CSV path belongs to the preset's folder, not to wherever initscope started
        // (the spec is copied only then: a hostile, deeply nested spec is refused uncopied)
        std::string data;
        if (!baseDir.empty() && spec.is_object() && spec.contains("data") &&
            spec["data"].is_string())
            data = spec["data"].get<std::string>();
        if (isRealData(data) && data != "fashion-mnist" &&
            std::filesystem::path(data).is_relative()) {
            json resolved = spec;
            resolved["data"] = (std::filesystem::path(baseDir) / data).lexically_normal().string();
            specFromJson(resolved, p.spec, r.errors);
        } else {
            specFromJson(spec, p.spec, r.errors);
        }
    }
    if (r.errors.empty() && p.view == "pinn") // the network the pinn view needs: u(t, x)
        for (SpecError& e : validatePinn(p.spec, p.pinn.value_or(PinnSpec{})))
            r.errors.push_back(std::move(e));
    if (doc.contains("train") && r.errors.empty()) {
        TrainSpec t;
        if (trainSpecFromJson(doc["train"], t, r.errors)) {
            for (SpecError& e : validateTraining(p.spec, t)) {
                // the block's own settings are named "train.KEY"; the spec's keep their names
                const bool own = e.field != "data" && e.field != "arch" && e.field != "heads";
                if (own) {
                    e.field = "train." + e.field;
                    e.message = "train." + e.message;
                }
                r.errors.push_back(std::move(e));
            }
            if (r.errors.empty())
                p.train = t;
        }
    }
    if (r.errors.empty() && p.viewInputs > p.spec.batch)
        fail("view_settings.inputs", std::to_string(p.viewInputs) + " is above the batch of " +
                                         std::to_string(p.spec.batch) +
                                         " (the probes are the batch's first inputs)");
    if (r.errors.empty())
        r.preset = std::move(p);
    return r;
}

bool readBoundedFile(const std::string& path, std::uintmax_t maxBytes, const std::string& what,
                     std::string& text, std::vector<SpecError>& errors) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        errors.push_back({"file", "file: cannot read '" + path + "': " + ec.message()});
        return false;
    }
    if (size > maxBytes) {
        errors.push_back({"file", "file: '" + path + "' is " + std::to_string(size) + " bytes; " +
                                      what + " may be at most " + std::to_string(maxBytes) +
                                      " bytes"});
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) {
        errors.push_back({"file", "file: cannot read '" + path + "'"});
        return false;
    }
    text = ss.str();
    return true;
}

PresetParse readPresetFile(const std::string& path) {
    PresetParse r;
    std::string text;
    if (!readBoundedFile(path, kMaxPresetBytes, "a preset", text, r.errors))
        return r;
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty())
        dir = ".";
    return parsePreset(text, std::filesystem::absolute(dir, ec).string());
}

std::string presetToJson(const Preset& p) {
    json doc;
    doc["format"] = "initscope-preset";
    // an mlp is written as version 1, exactly as before; a network family needs version 2
    doc["version"] = p.spec.arch == Arch::Mlp ? 1 : kPresetVersion;
    doc["name"] = p.name;
    doc["title"] = p.title;
    doc["note"] = p.note;
    doc["view"] = p.view;
    if (p.viewInputs > 0)
        doc["view_settings"] = {{"inputs", p.viewInputs}};
    if (p.pinn && p.view == "pinn")
        doc["view_settings"] = pinnSpecToJson(*p.pinn);
    if (p.maml && p.view == "maml")
        doc["view_settings"] = mamlViewSettingsJson(*p.maml);
    if (p.trainability && p.view == "trainability") {
        auto axis = [](const GridAxis& a) { // shortest round-trip numbers
            auto num = [](double v) {
                char buf[32];
                const auto r = std::to_chars(buf, buf + sizeof buf, v);
                return std::string(buf, r.ptr);
            };
            return num(a.from) + ":" + num(a.to) + ":" + std::to_string(a.steps);
        };
        doc["view_settings"] = {{"depth_range", axis(p.trainability->grid.depth)},
                                {"sigma_w2_range", axis(p.trainability->grid.sigmaW2)},
                                {"steps", p.trainability->steps}};
    }
    if (p.rl && p.view == "rl")
        doc["view_settings"] = rlSettingsJson(*p.rl);
    if (!p.statistic.empty()) // a v1 preset without it is written as it was read
        doc["statistic"] = p.statistic;
    doc["spec"] = specToJson(p.spec);
    if (p.train)
        doc["train"] = trainSpecToJson(*p.train);
    return doc.dump(2) + "\n";
}

std::string writePresetFile(const Preset& preset, const std::string& path) {
    const std::string tmp = path + ".tmp-initscope";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            return "cannot write '" + tmp + "'";
        out << presetToJson(preset);
        out.close(); // flushes; a full disk shows here as failbit
        if (!out) {
            std::remove(tmp.c_str());
            return "writing '" + tmp + "' failed (disk full?)";
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        return "cannot replace '" + path + "': " + ec.message();
    }
    return {};
}

const std::vector<Preset>& bundledPresets() {
    static const std::vector<Preset> presets = [] {
        std::vector<Preset> v;
        for (std::size_t i = 0; i < kBundledPresetCount; ++i) {
            PresetParse r = parsePreset(kBundledPresetTexts[i].text);
            if (r.preset)
                v.push_back(std::move(*r.preset));
            // A broken bundled preset is caught by the tests (every bundled preset must parse).
        }
        return v;
    }();
    return presets;
}

const Preset* findBundledPreset(std::string_view name) {
    for (const Preset& p : bundledPresets())
        if (p.name == name)
            return &p;
    return nullptr;
}

PresetParse loadPreset(const std::string& nameOrPath) {
    if (const Preset* p = findBundledPreset(nameOrPath)) {
        PresetParse r;
        r.preset = *p;
        return r;
    }
    std::error_code ec;
    if (std::filesystem::exists(nameOrPath, ec))
        return readPresetFile(nameOrPath);
    PresetParse r;
    std::string names;
    for (const Preset& p : bundledPresets())
        names += (names.empty() ? "" : ", ") + p.name;
    r.errors.push_back({"preset", "preset: '" + nameOrPath + "' is neither a bundled preset (" +
                                      names + ") nor an existing file"});
    return r;
}

} // namespace initscope

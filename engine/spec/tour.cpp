#include "spec/tour.h"

#include "spec/fields.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

namespace initscope {

namespace {
using json = nlohmann::json;

// The lesson tour, in THEORY.md's scenario order: one line per step. A row whose preset is not
// bundled is left out (bundledTour), so a family's step can wait here for its preset.
// Scenario 18 (MAML) belongs last.
const std::vector<BundledTourRow> kRows = {
    // 1. symmetry
    {"symmetry-constant", "statistic", "init",
     "Constant weights: every unit of a layer is the same unit (spread 0). Pick any random "
     "scheme to break the symmetry."},
    {"symmetry-persists", "training", "init",
     "Train the constant network: unit_spread stays exactly 0 in every layer at every step "
     "(test accuracy 0.19); xavier-normal specialises its units and reaches 0.82."},
    // 2. naive random
    {"naive-normal-exploding", "signal", "init_value",
     "N(0, 1) weights at width 512: q grows x512 per layer until float32 overflows."},
    {"naive-normal-vanishing", "signal", "init_value",
     "N(0, 0.01^2): the signal shrinks x0.05 per layer and is gone within a few layers."},
    // 3. deep linear
    {"deep-linear-growing", "signal", "gain",
     "Linear network: q^l = (sigma_w^2)^l q^0. Gain 1.1 over 50 layers: x117."},
    {"deep-linear-shrinking", "signal", "gain", "Gain 0.9 over 50 layers: x0.005."},
    // 4, 5. Xavier and He
    {"xavier-tanh", "signal", "gain,depth",
     "Xavier + tanh: nearly stable, a slow 1/(2l) decay. Make it deeper."},
    {"xavier-relu", "signal", "gain", "Xavier + ReLU: ReLU drops half the variance: q halves."},
    {"he-relu", "signal", "gain", "He (gain 2) makes up for the half: q stays constant."},
    // 6. ReLU mean shift
    {"relu-mean-shift", "correlation", "sigma_b2",
     "ReLU outputs are positive: inputs look more alike with depth (c -> 1)."},
    // 7. order, edge of chaos, chaos
    {"tanh-ordered", "gradients", "gain",
     "Ordered phase (chi1 = 0.76): gradients vanish layer by layer."},
    {"tanh-edge-of-chaos", "phase", "gain,sigma_b2",
     "The edge of chaos: chi1 = 1 on the critical line; the dot is this network."},
    {"tanh-chaotic", "gradients", "gain", "Chaotic phase (chi1 = 1.21): gradients explode."},
    // 7, trained (issue 12): trainability over depth x sigma_w^2 (Schoenholz et al. 2017)
    {"trainability-map", "trainability", "sigma_b2,width",
     "Train a grid of tanh networks: deep ones learn only near the critical line, within "
     "about 6 xi_c."},
    // 8. recurrent networks: time as depth
    {"rnn-memory-vanishing", "gradients", "gain,rnn_input",
     "RNN, ordered (sigma_w^2 = 0.64): the gradient vanishes going back in time."},
    {"rnn-exploding", "gradients", "gain",
     "RNN, chaotic (chi1 = 1.58): tanh saturates, gradients explode back in time."},
    {"rnn-orthogonal", "gradients", "recurrent_init,gain",
     "Orthogonal recurrent W near criticality: the gradient survives 49 steps."},
    {"rnn-identity", "gradients", "recurrent_init",
     "IRNN (Le et al. 2015): relu with W = I integrates its inputs."},
    // 9. unnormalized inputs
    {"tanh-input-scale", "distribution", "input_scale",
     "Input scale 10: layer 1's pre-activations spread far past +-1 (the edge bins fill up), "
     "so tanh saturates there."},
    {"relu-input-scale", "statistic", "input_scale",
     "ReLU: the first layer's relative update grows as s^2."},
    // 10. NTK conditioning
    {"ntk-conditioning", "ntk", "gain,depth",
     "The NTK's condition number with depth: the ordered phase makes it rank one."},
    // 11. convolutions: fan-in is k^2 C_in
    {"cnn-correct-fan-in", "signal", "conv_fan,gain",
     "CNN with fanIn = k^2 C_in: He + ReLU keeps the expected q constant."},
    {"cnn-forgotten-k2", "signal", "conv_fan",
     "The forgotten k^2 (fanIn = C_in): q grows by k^2 = 9 per layer."},
    {"cnn-delta-orthogonal", "jacobian", "init",
     "Delta-orthogonal kernels: the Jacobian stays close to an isometry."},
    // 12, 13. heads: transfer and multi-task
    {"transfer", "training", "",
     "A frozen trunk pre-trained on classes 0-4, new heads for 5-9: the fan-in head starts at "
     "output spread 1.5 and reaches 0.86; naive heads start at 56 or 1e-4 and lag."},
    {"multi-task", "training", "",
     "Two heads of fan-in 128 and 2048, both O(1) by their own fan-in; a loss weight moves the "
     "trunk's gradient share, never the init."},
    // 14. residual networks
    {"resnet-zero-gamma", "jacobian", "residual_scale",
     "Zero-gamma: every block silent, the network is the identity (all singular values 1)."},
    {"resnet-he-doubling", "signal", "residual_scale,depth",
     "gamma = 1 with He branches: q doubles every block."},
    {"resnet-inv-sqrt-depth", "signal", "residual_scale,depth",
     "gamma = 1/sqrt(L): the signal stays bounded (q^L <= e q^0)."},
    {"resnet-fixup", "signal", "depth", "Fixup: each branch's last layer starts at zero."},
    // 15. PINN
    {"pinn-wave-speed", "pinn", "width,depth",
     "PINN u_t + c u_x = 0: r and its gradient grow as |c|, the loss gradient as c^2."},
    // 16. RL: optimism through the output bias
    {"rl-optimistic-init", "rl", "",
     "Q_opt in the readout bias with Xavier weights: every action looks good until tried; "
     "large readout weights hide the optimism."},
    // 17. adversarial sensitivity
    {"adversarial-sensitivity", "sweep", "depth",
     "Scaling the weight variance by alpha scales ||dL/dx|| by alpha^(L/2)."},
    // 18. MAML's learned init (measured: 3 seeds, the preset's view settings; see its note)
    {"maml-learned-init", "maml", "seed",
     "MAML's learned init: sigma_w^2 rises on gentle tasks (readout 1.76 -> 2.53) and falls on "
     "steep ones (1.76 -> 1.12)."},
};

std::vector<std::string> splitControls(const char* text) {
    std::vector<std::string> out;
    std::string cur;
    for (const char* p = text; *p; ++p) {
        if (*p == ',') {
            if (!cur.empty())
                out.push_back(cur);
            cur.clear();
        } else if (*p != ' ') {
            cur += *p;
        }
    }
    if (!cur.empty())
        out.push_back(cur);
    return out;
}

std::string stepName(std::size_t i) {
    return "steps[" + std::to_string(i) + "]";
}

bool isFileRef(const std::string& s) {
    return s.find('/') != std::string::npos || s.find('\\') != std::string::npos ||
           (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0);
}

bool validPresetName(const std::string& n) {
    return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

/// Each error of `inner` with `prefix` put before its field and its message.
void addPrefixed(std::vector<SpecError>& out, const std::vector<SpecError>& inner,
                 const std::string& prefix) {
    for (const SpecError& e : inner)
        out.push_back({prefix + e.field, prefix + e.message});
}
} // namespace

const std::vector<BundledTourRow>& bundledTourRows() {
    return kRows;
}

Tour tourFromRows(const std::vector<BundledTourRow>& rows, const std::string& title) {
    Tour t;
    t.title = title;
    for (const BundledTourRow& r : rows) {
        if (!findBundledPreset(r.preset))
            continue; // its family or preset is not here yet
        TourStep s;
        s.preset = r.preset;
        s.view = r.view;
        s.controls = splitControls(r.controls);
        s.note = r.note;
        t.steps.push_back(std::move(s));
    }
    return t;
}

const Tour& bundledTour() {
    static const Tour t = tourFromRows(kRows, "What initialization does to a deep network");
    return t;
}

bool looksLikeTour(std::string_view text) {
    if (text.size() > kMaxTourBytes)
        return false;
    const json doc = json::parse(text, nullptr, false);
    return doc.is_object() && doc.contains("format") && doc["format"] == "initscope-tour";
}

TourParse parseTour(std::string_view text) {
    TourParse r;
    auto fail = [&](const std::string& field, const std::string& msg) {
        r.errors.push_back({field, field + ": " + msg});
    };
    if (text.size() > kMaxTourBytes) {
        fail("file", "the tour is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(kMaxTourBytes) + " bytes");
        return r;
    }
    json doc;
    std::string lastKey;
    // where the parser is, so that a key given twice is named with its step ("steps[2].note")
    struct Frame {
        bool array = false;
        std::size_t count = 0; // an array's elements so far
        std::string key;       // an object's key being read
        std::set<std::string> keys;
    };
    std::vector<Frame> frames;
    std::size_t duplicates = 0, deepest = 0;
    auto element = [&] {
        if (!frames.empty() && frames.back().array)
            ++frames.back().count;
    };
    auto where = [&](const std::string& key) {
        std::string path;
        for (std::size_t f = 0; f + 1 < frames.size(); ++f)
            path += frames[f].array ? "[" + std::to_string(frames[f].count - 1) + "]"
                                    : (path.empty() ? "" : ".") + printable(frames[f].key);
        return path.empty() ? key : path + "." + key;
    };
    try {
        doc = json::parse(text, [&](int d, json::parse_event_t ev, json& parsed) {
            deepest = std::max(deepest, static_cast<std::size_t>(d));
            switch (ev) {
            case json::parse_event_t::object_start:
                element();
                frames.push_back(Frame{});
                break;
            case json::parse_event_t::array_start:
                element();
                frames.push_back(Frame{true, 0, {}, {}});
                break;
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                if (!frames.empty())
                    frames.pop_back();
                break;
            case json::parse_event_t::key:
                lastKey = parsed.get<std::string>();
                if (!frames.empty()) {
                    frames.back().key = lastKey;
                    if (!frames.back().keys.insert(lastKey).second && ++duplicates <= 20) {
                        const std::string field = where(printable(lastKey));
                        r.errors.push_back({field, field + ": is given more than once in one "
                                                           "object (each key may appear once)"});
                    }
                }
                break;
            case json::parse_event_t::value:
                element();
                break;
            }
            return true;
        });
    } catch (const json::out_of_range&) {
        fail(lastKey.empty() ? "json" : printable(lastKey),
             "a number is out of range (largest magnitude about 1.8e308)");
        return r;
    } catch (const json::parse_error& e) {
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
    if (deepest > 32) {
        fail("json",
             "nested " + std::to_string(deepest) + " levels deep; a tour needs a few (at most 32)");
        return r;
    }
    if (!doc.is_object()) {
        fail("json", std::string("the tour must be a JSON object (got ") + doc.type_name() + ")");
        return r;
    }
    if (duplicates > 0)
        return r;
    for (const auto& [k, v] : doc.items())
        if (k != "format" && k != "version" && k != "title" && k != "steps")
            fail(printable(k), "unknown key (a tour has format, version, title, steps)");
    if (!doc.contains("format") || doc["format"] != "initscope-tour")
        fail("format", "must be \"initscope-tour\"");
    if (!doc.contains("version") || !doc["version"].is_number_integer())
        fail("version", "must be the integer " + std::to_string(kTourVersion));
    else if (doc["version"].get<std::int64_t>() != kTourVersion)
        fail("version", "version " + doc["version"].dump() +
                            " is not supported (this initscope reads version " +
                            std::to_string(kTourVersion) + ")");
    Tour tour;
    auto text200 = [&](const json& obj, const char* key, const std::string& field, std::string& out,
                       std::size_t maxLen) {
        if (!obj.contains(key))
            return;
        if (!obj[key].is_string()) {
            fail(field, std::string("must be a string (got ") + obj[key].type_name() + ")");
            return;
        }
        out = obj[key].get<std::string>();
        if (out.size() > maxLen) {
            fail(field, "is longer than " + std::to_string(maxLen) + " characters");
            out.clear();
        }
    };
    if (!doc.contains("title"))
        fail("title", "is missing");
    else
        text200(doc, "title", "title", tour.title, 200);
    if (!doc.contains("steps")) {
        fail("steps", "is missing");
    } else if (!doc["steps"].is_array()) {
        fail("steps",
             std::string("must be an array of steps (got ") + doc["steps"].type_name() + ")");
    } else if (doc["steps"].empty()) {
        fail("steps", "is empty (a tour has at least one step)");
    } else if (doc["steps"].size() > kMaxTourSteps) {
        fail("steps", "has " + std::to_string(doc["steps"].size()) + " steps; at most " +
                          std::to_string(kMaxTourSteps));
    } else {
        const json& steps = doc["steps"];
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const std::string at = stepName(i);
            const json& st = steps[i];
            if (!st.is_object()) {
                fail(at, std::string("must be an object with a \"preset\" (got ") + st.type_name() +
                             ")");
                continue;
            }
            for (const auto& [k, v] : st.items())
                if (k != "preset" && k != "title" && k != "view" && k != "controls" && k != "note")
                    fail(at + "." + printable(k),
                         "unknown key (a step has preset, title, view, controls, note)");
            TourStep s;
            if (!st.contains("preset")) {
                fail(at + ".preset", "is missing (a bundled preset's name, a preset file or an "
                                     "inline preset or spec object)");
            } else if (const json& p = st["preset"]; p.is_string()) {
                s.preset = p.get<std::string>();
                if (isFileRef(s.preset)) {
                    s.source = TourStep::Source::File;
                    if (s.preset.size() > 4096)
                        fail(at + ".preset", "the file name is longer than 4096 characters");
                } else if (!validPresetName(s.preset)) {
                    fail(at + ".preset", "must be a bundled preset's name (a-z, 0-9, '-') or a "
                                         "file ending in .json (got \"" +
                                             printable(s.preset) + "\")");
                }
            } else if (p.is_object()) {
                s.source = TourStep::Source::Inline;
                if (p.contains("format")) {
                    const PresetParse inner = parsePreset(p.dump());
                    addPrefixed(r.errors, inner.errors, at + ".preset.");
                    s.inlinePreset = inner.preset;
                } else {
                    Preset q;
                    q.name = "step-" + std::to_string(i + 1);
                    q.title = "Step " + std::to_string(i + 1);
                    std::vector<SpecError> errs;
                    if (specFromJson(p, q.spec, errs))
                        s.inlinePreset = q;
                    addPrefixed(r.errors, errs, at + ".preset.");
                    s.inlineSpecOnly = true;
                }
            } else {
                fail(at + ".preset", std::string("must be a name, a file or an object (got ") +
                                         p.type_name() + ")");
            }
            text200(st, "title", at + ".title", s.title, 200);
            text200(st, "note", at + ".note", s.note, 2000);
            text200(st, "view", at + ".view", s.view, 32);
            if (!s.view.empty() && std::find(presetViews().begin(), presetViews().end(), s.view) ==
                                       presetViews().end()) {
                std::string all;
                for (const auto& v : presetViews())
                    all += (all.empty() ? "" : ", ") + v;
                fail(at + ".view",
                     "must be one of " + all + " (got \"" + printable(s.view) + "\")");
            }
            if (st.contains("controls")) {
                const json& c = st["controls"];
                if (!c.is_array()) {
                    fail(at + ".controls",
                         std::string("must be an array of field names, e.g. [\"gain\"] (got ") +
                             c.type_name() + ")");
                } else if (c.size() > kMaxStepControls) {
                    fail(at + ".controls", "lists " + std::to_string(c.size()) +
                                               " controls; a step shows at most " +
                                               std::to_string(kMaxStepControls));
                } else {
                    for (std::size_t j = 0; j < c.size(); ++j) {
                        const std::string cj = at + ".controls[" + std::to_string(j) + "]";
                        if (!c[j].is_string()) {
                            fail(cj, std::string("must be a field name (got ") + c[j].type_name() +
                                         ")");
                            continue;
                        }
                        const std::string name = c[j].get<std::string>();
                        const auto& names = specFieldNames();
                        if (std::find(names.begin(), names.end(), name) == names.end())
                            fail(cj, "\"" + printable(name) +
                                         "\" is not a setting (one of the spec's fields, e.g. "
                                         "gain, depth, sigma_b2)");
                        else if (std::find(s.controls.begin(), s.controls.end(), name) !=
                                 s.controls.end())
                            fail(cj, "\"" + name + "\" is listed twice");
                        else
                            s.controls.push_back(name);
                    }
                }
            }
            tour.steps.push_back(std::move(s));
        }
    }
    if (r.errors.empty())
        r.tour = std::move(tour);
    return r;
}

TourParse readTourFile(const std::string& path) {
    TourParse r;
    std::string text;
    if (!readBoundedFile(path, kMaxTourBytes, "a tour", text, r.errors))
        return r;
    return parseTour(text);
}

std::string tourToJson(const Tour& tour) {
    json doc;
    doc["format"] = "initscope-tour";
    doc["version"] = kTourVersion;
    doc["title"] = tour.title;
    json steps = json::array();
    for (const TourStep& s : tour.steps) {
        json st;
        if (s.source == TourStep::Source::Inline && s.inlinePreset)
            st["preset"] = s.inlineSpecOnly ? specToJson(s.inlinePreset->spec)
                                            : json::parse(presetToJson(*s.inlinePreset));
        else
            st["preset"] = s.preset;
        if (!s.title.empty())
            st["title"] = s.title;
        if (!s.view.empty())
            st["view"] = s.view;
        if (!s.controls.empty())
            st["controls"] = s.controls;
        if (!s.note.empty())
            st["note"] = s.note;
        steps.push_back(std::move(st));
    }
    doc["steps"] = std::move(steps);
    return doc.dump(2) + "\n";
}

TourResolve resolveTour(const Tour& tour, const std::string& baseDir) {
    TourResolve r;
    for (std::size_t i = 0; i < tour.steps.size(); ++i) {
        const TourStep& s = tour.steps[i];
        const std::string at = stepName(i) + ".preset";
        std::optional<Preset> preset;
        switch (s.source) {
        case TourStep::Source::Bundled:
            if (const Preset* p = findBundledPreset(s.preset))
                preset = *p;
            else
                r.errors.push_back({at, at + ": no bundled preset is named \"" +
                                            printable(s.preset) +
                                            "\" (initscope-cli presets lists them)"});
            break;
        case TourStep::Source::File: {
            const std::filesystem::path file = std::filesystem::path(baseDir) / s.preset;
            PresetParse p = readPresetFile(file.string());
            if (p.preset)
                preset = std::move(p.preset);
            else
                addPrefixed(r.errors, p.errors, at + " (" + s.preset + "): ");
            break;
        }
        case TourStep::Source::Inline:
            preset = s.inlinePreset;
            break;
        }
        if (!preset)
            continue;
        TourStop stop;
        stop.preset = std::move(*preset);
        if (!s.view.empty() && s.view != stop.preset.view) {
            stop.preset.view = s.view;
            // the preset's probe count belongs to the view it opens
            if (s.view != "jacobian" && s.view != "ntk")
                stop.preset.viewInputs = 0;
        }
        stop.title = s.title.empty() ? stop.preset.title : s.title;
        if (stop.title.empty())
            stop.title = stop.preset.name;
        stop.note = s.note;
        stop.controls = s.controls;
        r.stops.push_back(std::move(stop));
    }
    return r;
}

} // namespace initscope

// Presets: a versioned JSON form of an experiment (a spec plus its lecture text).
//
//   {"format": "initscope-preset", "version": 1, "name": "he-relu", "title": "...",
//    "note": "...", "view": "signal", "view_settings": {...}, "spec": {"depth": 50, ...},
//    "train": {"steps": 200, ...}}
// "train" is optional: the training settings (train.h) of a lesson that trains.
// "view_settings" is optional: the settings of the view the preset opens (see Preset).
#pragma once

#include "apps/maml.h"
#include "apps/pinn.h"
#include "apps/rl.h"
#include "spec/spec.h"
#include "train/train.h"
#include "train/trainability.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

/// The newest preset version: 2 carries the network family (spec field "arch"); version 1
/// presets (mlps) read unchanged and an mlp is still written as version 1.
inline constexpr int kPresetVersion = 2;
inline constexpr std::size_t kMaxPresetBytes = 1 << 20; // 1 MiB: presets are small

/// Probe inputs the Jacobian and NTK views show (their controls' ranges, and what a preset may
/// ask of them): the Jacobian view draws each input's spectrum, so a few.
inline constexpr int kJacobianViewMaxInputs = 8;
inline constexpr int kNtkViewMinInputs = 2, kNtkViewMaxInputs = 256;

struct Preset {
    std::string name;            // identifier, [a-z0-9-]
    std::string title;           // one line
    std::string note;            // the lecture note: what to look at and the formula behind it
    std::string view = "signal"; // the view to open first
    /// Probe inputs K of the jacobian or ntk view it opens (0: the view's default); written as
    /// "view_settings": {"inputs": K}, which only those two views take.
    int viewInputs = 0;
    std::string statistic; // optional: the statistic the "statistic" view opens with
                           // (one of presetStatistics(); empty: the view's choice)
    /// The pinn view's settings ("view_settings" of a preset opening view "pinn"; empty: the
    /// view's defaults).
    std::optional<PinnSpec> pinn;
    /// The maml view's settings ("view_settings" with view "maml"; empty: the view's defaults).
    std::optional<MamlViewSettings> maml;
    NetworkSpec spec;
    /// view "trainability": its grid and steps ("view_settings": {"depth_range": "10:60:4",
    /// "sigma_w2_range": "1:4:4", "steps": 200}); empty: the view's defaults.
    std::optional<TrainabilitySettings> trainability;
    /// The rl view's settings (view "rl" only): "view_settings": {"q_opt", "episodes",
    /// "actions", "states", "large_gain", "learning_rate"}, each optional (RlSpec's defaults).
    std::optional<RlSpec> rl;
    /// Optional "train" block (train.h trainSpecFromJson): the training the preset sets up (the
    /// Training view's controls; its view is usually "training").
    std::optional<TrainSpec> train;
    bool operator==(const Preset&) const = default;
};

/// Views a preset may open first: every tab of the window (the ui's view registry,
/// ui/views/viewregistry.h, has exactly these; a GUI test holds the two equal).
const std::vector<std::string>& presetViews();
/// The per-layer statistics (LayerStats, by their CSV keys) the "statistic" view can draw:
/// every row of statschema.h layerStatistics(), in its order.
const std::vector<std::string>& presetStatistics();

struct PresetParse {
    std::optional<Preset> preset;
    std::vector<SpecError> errors; // each names the field and the problem
};

/// Parses and validates preset text; never throws. A relative CSV path in "data" is taken
/// relative to `baseDir` when one is given (the folder of the preset file, so that a preset
/// and its data move together), else relative to the working directory.
PresetParse parsePreset(std::string_view text, const std::string& baseDir = {});
/// Reads a file of at most maxBytes into `text`; else false with an error of field "file" naming
/// the path (`what` names the kind of file in the message: "a preset", "a tour").
bool readBoundedFile(const std::string& path, std::uintmax_t maxBytes, const std::string& what,
                     std::string& text, std::vector<SpecError>& errors);
/// Reads a preset file (size checked before reading); its relative CSV paths are relative to
/// the file's folder.
PresetParse readPresetFile(const std::string& path);
/// Pretty-printed JSON text of a preset (ends with a newline).
std::string presetToJson(const Preset& preset);
/// Writes through a temporary file and rename, so a failed save leaves the old file intact.
/// Returns an empty string on success, else the error.
std::string writePresetFile(const Preset& preset, const std::string& path);

/// Presets bundled with initscope (compiled into the binary from resources/presets).
const std::vector<Preset>& bundledPresets();
const Preset* findBundledPreset(std::string_view name);

/// "NAME" of a bundled preset, or a file path: the CLI's --preset NAME|FILE.
PresetParse loadPreset(const std::string& nameOrPath);

} // namespace initscope

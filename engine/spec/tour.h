// Tours: an ordered list of presets, each with the view it opens, the controls it is about and a
// short note, saved as one versioned JSON file; the bundled lesson tour is one of them (THEORY.md's
// scenarios in order). The GUI steps through a tour (and presents it); initscope-cli export-tour
// turns one into a folder of lecture figures.
//
//   {"format": "initscope-tour", "version": 1, "title": "...",
//    "steps": [{"preset": "he-relu", "view": "signal", "controls": ["gain"], "note": "..."},
//              {"preset": "mine/deep.json"},                       (a preset file, relative)
//              {"preset": {"format": "initscope-preset", ...}},   (a preset, inline)
//              {"preset": {"depth": 20, "activation": "tanh"}, "title": "..."}]}  (a spec, inline)
//
// A step's "preset" names a bundled preset ([a-z0-9-]), a preset file (ending in .json or holding
// a '/'; relative to the tour file's folder), or is an object: a whole preset when it has "format",
// else a spec object over the defaults. "title", "view", "controls" and "note" are optional (the
// preset's title and view; no controls; no note). Parsing is as strict as a preset's: unknown and
// repeated keys, wrong types and out-of-range values are refused, each error naming the step and
// the field ("steps[3].view: must be one of ...").
#pragma once

#include "spec/preset.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

inline constexpr int kTourVersion = 1;
inline constexpr std::size_t kMaxTourBytes = 4 << 20; // inline presets make a tour larger
inline constexpr std::size_t kMaxTourSteps = 200;
inline constexpr std::size_t kMaxStepControls = 4; // a presentation bar has room for a few

struct TourStep {
    enum class Source { Bundled, File, Inline };
    Source source = Source::Bundled;
    /// Bundled: the preset's name; File: the path as written (relative to the tour's folder).
    std::string preset;
    /// Inline: the preset (from a preset object, or from a spec object as "step-N").
    std::optional<Preset> inlinePreset;
    /// Inline given as a spec object (written back as one).
    bool inlineSpecOnly = false;
    std::string title;                 // empty: the preset's title
    std::string view;                  // empty: the preset's view (else one of presetViews())
    std::vector<std::string> controls; // spec fields the step is about (specFieldNames())
    std::string note;                  // short: what to look at; empty: none
    bool operator==(const TourStep&) const = default;
};

struct Tour {
    std::string title;
    std::vector<TourStep> steps;
    bool operator==(const Tour&) const = default;
};

struct TourParse {
    std::optional<Tour> tour;
    std::vector<SpecError> errors; // each names the step and the field
};

/// Parses and validates tour text; never throws. Preset files are not read here (resolveTour).
TourParse parseTour(std::string_view text);
/// Reads a tour file (size checked before reading).
TourParse readTourFile(const std::string& path);
/// Pretty-printed JSON text of a tour (ends with a newline); parseTour reads it back equal.
std::string tourToJson(const Tour& tour);
/// Whether `text` is a JSON object whose "format" is "initscope-tour" (a cheap look, so that one
/// Open command takes presets and tours).
bool looksLikeTour(std::string_view text);

/// One step ready to show: its preset (view set to the step's), title, note and controls.
struct TourStop {
    Preset preset;
    std::string title;
    std::string note;
    std::vector<std::string> controls;
    bool operator==(const TourStop&) const = default;
};

struct TourResolve {
    std::vector<TourStop> stops;
    std::vector<SpecError> errors; // a missing bundled preset or an unreadable file, by step
};

/// Reads each step's preset: bundled by name, files relative to `baseDir` (the tour file's
/// folder), inline as given. Any step that cannot be read is an error naming it.
TourResolve resolveTour(const Tour& tour, const std::string& baseDir);

/// One row of the bundled lesson tour (engine/spec/tour.cpp): a bundled preset, the view to open
/// (empty: the preset's), the controls the step is about (comma-separated field names) and a
/// short note.
struct BundledTourRow {
    const char* preset;
    const char* view;
    const char* controls;
    const char* note;
};
/// Every row of the bundled tour, also those whose preset is not bundled (yet).
const std::vector<BundledTourRow>& bundledTourRows();
/// The bundled tour from `rows`: rows whose preset is not bundled are left out, so a step can be
/// listed before its preset exists and the tour grows with the presets.
Tour tourFromRows(const std::vector<BundledTourRow>& rows, const std::string& title);
/// The lesson tour: THEORY.md's scenarios in order, each step a bundled preset.
const Tour& bundledTour();

} // namespace initscope

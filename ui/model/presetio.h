// Preset files in the GUI: reading a preset from a .json file or from the metadata of an
// exported figure (.png, .svg), saving by writeFileReplacing, the user's own presets in the
// platform's application-data folder, and the message shown for a file that cannot be used.
// Parsing and validation are the engine's (engine/spec/preset.h): one preset reader.
#pragma once

#include "spec/preset.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace initscope::ui {

/// Reads a preset from `path`: a preset .json file, or a .png / .svg figure exported by
/// initscope (the experiment embedded in it). Never throws; errors name the field and problem.
PresetParse readPresetOrFigure(const QString& path);

/// The experiment embedded in an exported figure's metadata, empty when there is none.
QString figurePresetText(const QString& path, QString* error);

/// The text of the dialog for a file that cannot be opened: which file, then one line per
/// problem, each naming the field ("depth: must be from 1 to 5000 (got 0)").
QString presetErrorMessage(const QString& path, const std::vector<SpecError>& errors);

/// Writes `preset` to `path` by writeFileReplacing (filewrite.h): the old file stays intact unless
/// the new one was written completely. Returns false and sets `error` (naming the file) on failure.
bool savePreset(const Preset& preset, const QString& path, QString* error);

/// Folder of the user's saved presets: <AppDataLocation>/presets (created on demand).
QString userPresetDir();

/// A preset name ([a-z0-9-], at most 64 characters) made from a file name or title.
std::string presetNameFrom(const QString& text);

struct PresetEntry {
    Preset preset;
    QString path; // empty for a bundled preset
    bool bundled() const { return path.isEmpty(); }
};

/// The bundled presets, then the user's saved ones (sorted by title). Files in the user folder
/// that do not parse are left out and described in `problems` (may be null).
std::vector<PresetEntry> availablePresets(QStringList* problems = nullptr);

} // namespace initscope::ui

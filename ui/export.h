// Saving what a view draws, for lecture slides: one export path for the GUI (and for the CLI,
// which can render the same widgets offscreen).
#pragma once

#include <QString>

class QWidget;

namespace initscope::ui {

/// Saves `widget` as drawn; the format follows the suffix: .png (twice the on-screen resolution),
/// .svg (vector) or .pdf (vector). Written through QSaveFile: an existing file is replaced only
/// by a complete new one. On failure returns false and sets `error` to a sentence naming the file.
bool exportWidget(QWidget* widget, const QString& path, QString* error);

/// Writes `text` to `path` through QSaveFile (same guarantees as exportWidget).
bool saveText(const QString& text, const QString& path, QString* error);

} // namespace initscope::ui

// Saving what a view draws, for lecture slides: one export path for the GUI (and for the CLI,
// which can render the same widgets offscreen).
#pragma once

#include <QRect>
#include <QString>

class QWidget;

namespace initscope::ui {

/// Key of the experiment (preset JSON) embedded in exported PNG (a text chunk) and SVG (an
/// element of this name inside <metadata>, in namespace kFigureMetadataNamespace).
inline constexpr const char* kFigurePresetKey = "initscope-preset";
inline constexpr const char* kFigureMetadataNamespace = "urn:initscope:preset";

struct ExportOptions {
    double scale = 2.0; // PNG pixels per logical pixel
    QString presetJson; // the experiment, embedded in PNG and SVG when not empty
    QString title;      // SVG title / PDF title
    QRect source;       // the part of the widget to draw, in its coordinates (empty: all)
};

/// Saves `widget` as drawn; the format follows the suffix: .png (twice the on-screen resolution),
/// .svg (vector) or .pdf (vector). Written by writeFileReplacing (filewrite.h): an existing file
/// is replaced only by a complete new one. On failure returns false and sets `error` to a sentence
/// naming the file.
bool exportWidget(QWidget* widget, const QString& path, QString* error);
/// The same with a chosen PNG scale and the experiment embedded as metadata.
bool exportWidget(QWidget* widget, const QString& path, const ExportOptions& options,
                  QString* error);

/// Writes `text` (as UTF-8) to `path` (same guarantees as exportWidget).
bool saveText(const QString& text, const QString& path, QString* error);

} // namespace initscope::ui

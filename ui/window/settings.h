// The window's remembered choices (recent files, last folders) in one JSON file,
// <AppConfigLocation>/settings.json, written by writeFileReplacing like every other file.
// QSettings is only read, for values remembered before this file existed: its own save replaces
// the settings file through a buffered QSaveFile whose flush failure (a full disk) goes
// unnoticed, which leaves an empty settings file.
#pragma once

#include <QString>
#include <QVariant>

#include <functional>

namespace initscope::ui::settings {

/// The stored value of `key` (a string or a list of strings), or `fallback`.
QVariant value(const QString& key, const QVariant& fallback = {});
/// Stores `value` (a string or a list of strings) under `key`. On failure the file on disk is
/// unchanged, the reporter (if any) is told, and `error` (may be null) is set.
bool setValue(const QString& key, const QVariant& value, QString* error = nullptr);
/// Forgets `key` (same failure behaviour as setValue).
bool remove(const QString& key, QString* error = nullptr);

/// Where the settings live.
QString filePath();

/// Called with the message of every failed write (the main window shows it in its status bar):
/// a setting that cannot be saved is never dropped silently. Empty to stop reporting.
void setErrorReporter(std::function<void(const QString&)> reporter);

} // namespace initscope::ui::settings

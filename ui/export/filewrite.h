// The one way the GUI and the CLI put a file on disk (presets, figures, CSV, settings): the bytes
// go to a temporary file beside the target, every write and the close are checked, and only a
// complete file is renamed over the target. A full disk or a vanished folder therefore fails
// with a message and leaves the old file whole.
#pragma once

#include <QByteArray>
#include <QString>

namespace initscope::ui {

/// Replaces `path` with `bytes`. Returns false and sets `error` (a sentence naming the file and
/// the system's reason, e.g. "No space left on device") when any step fails; the target is then
/// unchanged and no temporary file is left behind.
bool writeFileReplacing(const QString& path, const QByteArray& bytes, QString* error);

} // namespace initscope::ui

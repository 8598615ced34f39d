#include "export/filewrite.h"

#include <QSaveFile>

namespace initscope::ui {

bool writeFileReplacing(const QString& path, const QByteArray& bytes, QString* error) {
    auto fail = [&](const QString& reason) {
        if (error)
            *error = QStringLiteral("Cannot write %1: %2").arg(path, reason);
        return false;
    };
    // Unbuffered: QSaveFile records an error of a write() as a reason to refuse commit(), but a
    // failure while its buffer is flushed inside commit() (ENOSPC on a small file, whose bytes
    // all sit in the buffer) is lost there and the empty temporary file replaces the target.
    // Without the buffer every byte reaches the system inside write(), where it is checked.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Unbuffered))
        return fail(file.errorString());
    qint64 done = 0;
    while (done < bytes.size()) {
        // a short count (the disk filled part-way) is followed by a call that reports the error
        const qint64 n = file.write(bytes.constData() + done, bytes.size() - done);
        if (n <= 0) {
            // the destructor removes the temporary file without committing: the target stays
            return fail(file.errorString());
        }
        done += n;
    }
    if (!file.commit())
        return fail(file.errorString());
    return true;
}

} // namespace initscope::ui

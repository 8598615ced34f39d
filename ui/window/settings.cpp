#include "window/settings.h"

#include "export/filewrite.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>
#include <QStandardPaths>

namespace initscope::ui::settings {

namespace {
std::function<void(const QString&)>& reporter() {
    static std::function<void(const QString&)> r;
    return r;
}

/// Settings are a few hundred bytes; a larger file is not ours and is ignored.
constexpr qint64 kMaxSettingsBytes = 1 << 20;

QJsonObject load() {
    QFile f(filePath());
    if (f.size() > kMaxSettingsBytes || !f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

bool store(const QJsonObject& o, QString* error) {
    QString message;
    const QString dir = QFileInfo(filePath()).absolutePath();
    bool ok = QDir().mkpath(dir);
    if (!ok)
        message = QStringLiteral("Cannot create the folder %1 for the settings.").arg(dir);
    else
        ok = writeFileReplacing(filePath(), QJsonDocument(o).toJson(), &message);
    if (ok)
        return true;
    if (error)
        *error = message;
    if (reporter())
        reporter()(message);
    return false;
}
} // namespace

QString filePath() {
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation) +
           QStringLiteral("/settings.json");
}

QVariant value(const QString& key, const QVariant& fallback) {
    const QJsonObject o = load();
    if (o.contains(key))
        return o.value(key).toVariant();
    return QSettings().value(key, fallback);
}

bool setValue(const QString& key, const QVariant& value, QString* error) {
    QJsonObject o = load();
    o.insert(key, QJsonValue::fromVariant(value));
    return store(o, error);
}

bool remove(const QString& key, QString* error) {
    QJsonObject o = load();
    o.insert(key, QJsonValue::fromVariant(QStringList())); // hides a value QSettings still holds
    return store(o, error);
}

void setErrorReporter(std::function<void(const QString&)> r) {
    reporter() = std::move(r);
}

} // namespace initscope::ui::settings

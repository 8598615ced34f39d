#include "model/presetio.h"

#include "export/export.h"
#include "export/filewrite.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QStandardPaths>
#include <QXmlStreamReader>

#include <algorithm>

namespace initscope::ui {

namespace {
QString tr(const char* text) {
    return QCoreApplication::translate("initscope::ui::PresetIO", text);
}

PresetParse failed(const std::string& field, const QString& message) {
    PresetParse r;
    r.errors.push_back({field, field + ": " + message.toStdString()});
    return r;
}

/// Figures are larger than presets; their metadata is read without decoding the whole image,
/// but a file this size is not a figure initscope wrote.
constexpr qint64 kMaxFigureBytes = qint64(256) << 20;
} // namespace

QString figurePresetText(const QString& path, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    auto fail = [error](const QString& m) {
        if (error)
            *error = m;
        return QString();
    };
    if (QFileInfo(path).size() > kMaxFigureBytes)
        return fail(tr("the file is larger than any figure initscope writes (%1 MiB)")
                        .arg(QFileInfo(path).size() >> 20));
    if (suffix == QLatin1String("png")) {
        QImageReader reader(path, "png");
        if (!reader.canRead())
            return fail(tr("not a readable PNG image (%1)").arg(reader.errorString()));
        QString text = reader.text(QString::fromLatin1(kFigurePresetKey));
        if (text.isEmpty())
            return fail(tr("this PNG carries no initscope experiment (only figures exported by "
                           "initscope do)"));
        return text;
    }
    if (suffix == QLatin1String("svg")) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return fail(tr("cannot read: %1").arg(file.errorString()));
        QXmlStreamReader xml(&file);
        while (!xml.atEnd()) {
            xml.readNext();
            if (xml.isStartElement() && xml.name() == QLatin1String(kFigurePresetKey) &&
                xml.namespaceUri() == QLatin1String(kFigureMetadataNamespace))
                return xml.readElementText();
        }
        if (xml.hasError())
            return fail(tr("not a valid SVG file (%1 at line %2)")
                            .arg(xml.errorString())
                            .arg(xml.lineNumber()));
        return fail(tr("this SVG carries no initscope experiment (only figures exported by "
                       "initscope do)"));
    }
    return fail(tr("not a figure (.png or .svg)"));
}

namespace {
/// A preset opened in the window runs as it is (no option can raise its budget first), so a
/// network beyond its own memory budget is refused at opening, naming the budget.
PresetParse runnable(PresetParse r) {
    if (r.preset) {
        std::vector<SpecError> memory = validateMemory(r.preset->spec);
        if (!memory.empty()) {
            r.errors = std::move(memory);
            r.preset.reset();
        }
    }
    return r;
}
} // namespace

PresetParse readPresetOrFigure(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists())
        return failed("file", tr("'%1' does not exist").arg(path));
    if (!info.isFile())
        return failed("file", tr("'%1' is not a file").arg(path));
    const QString suffix = info.suffix().toLower();
    if (suffix == QLatin1String("png") || suffix == QLatin1String("svg")) {
        QString error;
        const QString text = figurePresetText(path, &error);
        if (text.isEmpty())
            return failed("file", error);
        return runnable(
            parsePreset(text.toStdString(), QFile::encodeName(info.absolutePath()).toStdString()));
    }
    return runnable(readPresetFile(QFile::encodeName(path).toStdString()));
}

QString presetErrorMessage(const QString& path, const std::vector<SpecError>& errors) {
    QString m = tr("%1 cannot be opened:").arg(QDir::toNativeSeparators(path));
    const std::size_t shown = std::min<std::size_t>(errors.size(), 12);
    for (std::size_t i = 0; i < shown; ++i)
        m += QStringLiteral("\n\u2022 ") + QString::fromStdString(errors[i].message);
    if (errors.size() > shown)
        m += tr("\n\u2026 and %1 more problems").arg(errors.size() - shown);
    if (errors.empty())
        m += tr("\n\u2022 unknown problem");
    m += tr("\n\nNothing was changed.");
    return m;
}

bool savePreset(const Preset& preset, const QString& path, QString* error) {
    auto fail = [error](const QString& m) {
        if (error)
            *error = m;
        return false;
    };
    const std::vector<SpecError> problems = validate(preset.spec);
    if (!problems.empty())
        return fail(tr("Not saved: %1").arg(QString::fromStdString(problems.front().message)));
    const std::string text = presetToJson(preset);
    return writeFileReplacing(path, QByteArray::fromStdString(text), error);
}

QString userPresetDir() {
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/presets");
}

std::string presetNameFrom(const QString& text) {
    std::string name;
    bool dash = false;
    for (QChar c : text.toLower()) {
        const char a = c.toLatin1();
        if ((a >= 'a' && a <= 'z') || (a >= '0' && a <= '9')) {
            if (dash && !name.empty())
                name += '-';
            dash = false;
            name += a;
        } else {
            dash = true;
        }
        if (name.size() >= 64)
            break;
    }
    return name.empty() ? std::string("my-preset") : name;
}

std::vector<PresetEntry> availablePresets(QStringList* problems) {
    std::vector<PresetEntry> out;
    for (const Preset& p : bundledPresets())
        out.push_back({p, QString()});
    std::vector<PresetEntry> user;
    const QDir dir(userPresetDir());
    for (const QFileInfo& f :
         dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files | QDir::Readable)) {
        PresetParse r = readPresetFile(QFile::encodeName(f.absoluteFilePath()).toStdString());
        if (r.preset)
            user.push_back({std::move(*r.preset), f.absoluteFilePath()});
        else if (problems)
            problems->append(presetErrorMessage(f.absoluteFilePath(), r.errors));
    }
    std::sort(user.begin(), user.end(), [](const PresetEntry& a, const PresetEntry& b) {
        return a.preset.title < b.preset.title;
    });
    out.insert(out.end(), user.begin(), user.end());
    return out;
}

} // namespace initscope::ui

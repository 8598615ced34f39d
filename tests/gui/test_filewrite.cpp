// Writes onto a full disk fail loudly and keep the old file: a preset save, every figure format,
// a CSV export and a settings change, each on a tmpfs filled to its last byte (fulldisk.h). The
// old file must read back byte for byte, the error must give the system's reason, and no
// temporary file may be left behind. Without root (no mount) these tests are skipped, saying so.
#include "export/export.h"
#include "export/filewrite.h"
#include "fulldisk.h"
#include "guitestmain.h"
#include "model/presetio.h"
#include "window/settings.h"

#include <QDir>
#include <QFile>
#include <QLabel>
#include <QStandardPaths>

using namespace initscope;
using namespace initscope::ui;

namespace {
QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// Files in the folder other than the filler and `keep`: a leftover temporary file is a leak
/// onto the user's disk.
QStringList strays(const QString& dir, const QString& keep) {
    QStringList out;
    for (const QString& f : QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::System))
        if (f != QLatin1String(".filler") && f != keep)
            out << f;
    return out;
}

Preset presetWithNote(int noteBytes) {
    Preset p;
    p.name = "full-disk";
    p.title = "Full disk";
    p.note = std::string(static_cast<std::size_t>(noteBytes), 'n');
    return p;
}
} // namespace

class TestFileWrite : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // no QStandardPaths test mode: it ignores XDG_CONFIG_HOME, which settingsOnFullDisk
        // points into its tmpfs; the names keep the user's own settings out of reach
        QCoreApplication::setOrganizationName(QStringLiteral("initscope-test"));
        QCoreApplication::setApplicationName(QStringLiteral("initscope-test-filewrite"));
    }

    // The ordinary path: the bytes arrive whole, and nothing but the target is left.
    void writesWholeFile() {
        test::FullDisk disk; // a fresh folder even when it cannot be mounted
        const QString dir = QString::fromStdString(disk.dir());
        const QString path = dir + QStringLiteral("/a.txt");
        QByteArray bytes(100000, 'a');
        QString error;
        QVERIFY2(writeFileReplacing(path, bytes, &error), qPrintable(error));
        QCOMPARE(readAll(path), bytes);
        QVERIFY(!writeFileReplacing(dir + QStringLiteral("/no/such/dir/a.txt"), bytes, &error));
        QVERIFY2(error.contains(QStringLiteral("no/such/dir/a.txt")), qPrintable(error));
        QCOMPARE(strays(dir, QStringLiteral("a.txt")), QStringList());
        QFile::remove(path);
    }

    // A preset saved over an old one on a full disk: refused with ENOSPC's message, the old
    // preset intact. The new text is small (it would sit whole in a write buffer: the case
    // where a buffered QSaveFile lost the error and committed an empty file).
    void presetSaveOnFullDisk() {
        test::FullDisk disk;
        if (!disk.mounted())
            QSKIP(disk.reason().c_str());
        const QString path = QString::fromStdString(disk.path("old.json"));
        QString error;
        QVERIFY2(savePreset(presetWithNote(10), path, &error), qPrintable(error));
        const QByteArray before = readAll(path);
        QVERIFY(!before.isEmpty());
        QVERIFY(disk.fill());
        QVERIFY(!savePreset(presetWithNote(2000), path, &error));
        QVERIFY2(error.contains(QStringLiteral("No space left on device")), qPrintable(error));
        QVERIFY2(error.contains(path), qPrintable(error));
        QCOMPARE(readAll(path), before);
        QCOMPARE(strays(QString::fromStdString(disk.dir()), QStringLiteral("old.json")),
                 QStringList());
    }

    void figureOnFullDisk_data() {
        QTest::addColumn<QString>("suffix");
        for (const char* s : {"png", "svg", "pdf", "csv"})
            QTest::newRow(s) << QString::fromLatin1(s);
    }
    // Every figure format and the CSV export, over an old file on a full disk.
    void figureOnFullDisk() {
        QFETCH(QString, suffix);
        test::FullDisk disk;
        if (!disk.mounted())
            QSKIP(disk.reason().c_str());
        const QString name = QStringLiteral("old.") + suffix;
        const QString path = QString::fromStdString(disk.path(name.toStdString()));
        QLabel label(QStringLiteral("signal q^l against depth"));
        label.resize(300, 200);
        auto write = [&](QString* error) {
            return suffix == QLatin1String("csv")
                       ? saveText(QStringLiteral("layer,q\n1,0.5\n"), path, error)
                       : exportWidget(&label, path, error);
        };
        QString error;
        QVERIFY2(write(&error), qPrintable(error));
        const QByteArray before = readAll(path);
        QVERIFY(!before.isEmpty());
        QVERIFY(disk.fill());
        QVERIFY(!write(&error));
        QVERIFY2(error.contains(QStringLiteral("No space left on device")), qPrintable(error));
        QCOMPARE(readAll(path), before);
        QCOMPARE(strays(QString::fromStdString(disk.dir()), name), QStringList());
    }

    // A remembered setting that cannot be saved is reported, and the old settings survive.
    void settingsOnFullDisk() {
        test::FullDisk disk;
        if (!disk.mounted())
            QSKIP(disk.reason().c_str());
        // settings.json lives under AppConfigLocation: point XDG_CONFIG_HOME into the tmpfs
        const QByteArray oldConfig = qgetenv("XDG_CONFIG_HOME");
        qputenv("XDG_CONFIG_HOME", QByteArray::fromStdString(disk.path("config")));
        QString error;
        QVERIFY2(settings::setValue(QStringLiteral("k"), QStringLiteral("old"), &error),
                 qPrintable(error));
        const QByteArray before = readAll(settings::filePath());
        QVERIFY(disk.fill());
        QStringList reported;
        settings::setErrorReporter([&](const QString& m) { reported << m; });
        const bool ok = settings::setValue(QStringLiteral("k"), QString(5000, QLatin1Char('x')));
        settings::setErrorReporter({});
        QVERIFY(!ok);
        QCOMPARE(reported.size(), 1);
        QVERIFY2(reported.front().contains(QStringLiteral("No space left on device")),
                 qPrintable(reported.front()));
        QCOMPARE(readAll(settings::filePath()), before);
        QCOMPARE(settings::value(QStringLiteral("k")).toString(), QStringLiteral("old"));
        QFile::remove(settings::filePath());
        if (oldConfig.isNull())
            qunsetenv("XDG_CONFIG_HOME");
        else
            qputenv("XDG_CONFIG_HOME", oldConfig);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestFileWrite)
#include "test_filewrite.moc"

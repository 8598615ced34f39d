// Presets and figure export through the GUI's own paths: a spec saved and opened again is the
// same spec; every bundled preset loads from the browser and opens its view; a bad preset file
// is refused with a message naming the field and changes nothing; exported PNG / SVG / PDF / CSV
// files are valid and of the requested size, and the experiment they carry restores the spec;
// the CLI's figure data path gives the window's values.
#include "charts/layercharts.h"
#include "export/exportdialog.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "model/presetbrowser.h"
#include "model/presetdocument.h"
#include "model/presetio.h"
#include "settle.h"
#include "views/analysisviews.h"
#include "views/jacobianview.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "work/runcontroller.h"

#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QImageReader>
#include <QLineEdit>
#include <QListWidget>
#include <QMimeData>
#include <QPainter>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QUrl>

using namespace initscope;
using namespace initscope::ui;

namespace {
using test::kTimeoutMs;
using test::waitForSettled;

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 12;
    s.width = 64;
    s.inputDim = 48;
    s.batch = 16;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.gain = 1.5;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.inputScale = 0.75;
    s.seed = 77;
    return s;
}

QString readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}
} // namespace

class TestPresetsExport : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // keep the user's real settings and presets out of the test
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("initscope-test"));
        QCoreApplication::setApplicationName(QStringLiteral("initscope-test"));
        QDir(userPresetDir()).removeRecursively();
    }

    // spec -> preset file -> spec is exact through File > Save and File > Open.
    void saveOpenRoundTrip() {
        QTemporaryDir dir;
        MainWindow w;
        PresetDocument* doc = w.presetDocument();
        doc->setDialogsEnabled(false);
        const NetworkSpec spec = smallSpec();
        w.setSpec(spec);
        QVERIFY(w.showView(QStringLiteral("correlation")));
        QCOMPARE(w.controls()->spec(), spec);
        const QString path = dir.filePath(QStringLiteral("mine.json"));
        QVERIFY2(doc->saveAs(path), qPrintable(doc->lastError()));
        QCOMPARE(doc->recentFiles().value(0), QFileInfo(path).absoluteFilePath());

        MainWindow other;
        other.presetDocument()->setDialogsEnabled(false);
        QVERIFY(other.controls()->spec() != spec);
        QVERIFY2(other.presetDocument()->openFile(path),
                 qPrintable(other.presetDocument()->lastError()));
        QCOMPARE(other.controls()->spec(), spec);
        QCOMPARE(other.currentView(), QStringLiteral("correlation"));
        // and the file parses to the same spec without the GUI
        const PresetParse r = readPresetFile(path.toStdString());
        QVERIFY(r.preset);
        QCOMPARE(r.preset->spec, spec);
    }

    // A save that cannot be done leaves the old file byte for byte.
    void failedSaveKeepsOldFile() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("keep.json"));
        Preset good;
        good.name = "keep";
        good.spec = smallSpec();
        QString error;
        QVERIFY(savePreset(good, path, &error));
        const QString before = readAll(path);
        Preset bad = good;
        bad.spec.depth = 0; // refused before anything is written
        QVERIFY(!savePreset(bad, path, &error));
        QVERIFY(error.contains(QStringLiteral("depth")));
        QCOMPARE(readAll(path), before);
        // a folder that does not exist: the error names the file
        QVERIFY(!savePreset(good, dir.filePath(QStringLiteral("no/such/dir/x.json")), &error));
        QVERIFY(error.contains(QStringLiteral("x.json")));
    }

    // Every bundled preset is listed; loading one sets every control and opens its view.
    void browserLoadsEveryBundledPreset() {
        MainWindow w;
        PresetBrowser* b = w.presetDocument()->browser();
        QCOMPARE(b->visibleNames().size(), static_cast<qsizetype>(bundledPresets().size()));
        for (const Preset& p : bundledPresets()) {
            QVERIFY(b->select(QString::fromStdString(p.name)));
            emit b->list()->itemActivated(b->list()->currentItem());
            Preset shown = p;
            shown.spec = w.controls()->spec();
            QCOMPARE(QString::fromStdString(presetToJson(shown)),
                     QString::fromStdString(presetToJson(p)));
            QCOMPARE(w.currentView(), QString::fromStdString(p.view));
            QCOMPARE(w.presetDocument()->currentPreset().name, p.name);
        }
    }

    // The search keeps presets whose title, name or note has every word.
    void browserSearch() {
        PresetBrowser b;
        b.setFilter(QString());
        b.searchField()->setText(QStringLiteral("relu"));
        const QStringList relu = b.visibleNames();
        QVERIFY(!relu.isEmpty());
        QVERIFY(relu.size() < static_cast<qsizetype>(bundledPresets().size()));
        for (const QString& n : relu) {
            const Preset* p = findBundledPreset(n.toStdString());
            QVERIFY(p);
            const QString hay = QString::fromStdString(p->title + " " + p->name + " " + p->note);
            QVERIFY2(hay.contains(QStringLiteral("relu"), Qt::CaseInsensitive), qPrintable(n));
        }
        b.searchField()->setText(QStringLiteral("zzz-no-such-preset"));
        QVERIFY(b.visibleNames().isEmpty());
    }

    // Saved user presets appear in the browser after the bundled ones.
    void userPresetsAreListed() {
        MainWindow w;
        PresetDocument* doc = w.presetDocument();
        doc->setDialogsEnabled(false);
        w.setSpec(smallSpec());
        QVERIFY2(doc->saveToUserPresets(QStringLiteral("My ReLU lesson")),
                 qPrintable(doc->lastError()));
        QVERIFY(QFileInfo::exists(userPresetDir() + QStringLiteral("/my-relu-lesson.json")));
        QVERIFY(doc->browser()->visibleNames().contains(QStringLiteral("my-relu-lesson")));
        MainWindow fresh; // a new window reads the folder again
        QVERIFY(fresh.presetDocument()->browser()->select(QStringLiteral("my-relu-lesson")));
    }

    // Every file of the bad-preset corpus (named FIELD--problem.json) is refused with a message
    // that names the field; the controls keep their spec.
    void badPresetsNameTheField_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("field");
        const QDir dir(QStringLiteral(INITSCOPE_BAD_PRESETS));
        const QFileInfoList files = dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files);
        QVERIFY(files.size() >= 30);
        for (const QFileInfo& f : files)
            QTest::newRow(qPrintable(f.fileName()))
                << f.absoluteFilePath() << f.completeBaseName().section(QStringLiteral("--"), 0, 0);
    }
    void badPresetsNameTheField() {
        QFETCH(QString, path);
        QFETCH(QString, field);
        MainWindow w;
        PresetDocument* doc = w.presetDocument();
        doc->setDialogsEnabled(false);
        const NetworkSpec before = w.controls()->spec();
        QVERIFY(!doc->openFile(path));
        const QString message = doc->lastError();
        QVERIFY2(message.contains(field), qPrintable(message));
        QVERIFY(message.contains(QFileInfo(path).fileName()));
        QCOMPARE(w.controls()->spec(), before);
        QVERIFY(doc->currentFile().isEmpty());
    }

    // A file over the preset size limit is refused before it is read, naming the limit.
    void oversizedFileIsRefused() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("huge.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QVERIFY(f.resize(static_cast<qint64>(kMaxPresetBytes) + 1));
        f.close();
        MainWindow w;
        w.presetDocument()->setDialogsEnabled(false);
        QVERIFY(!w.presetDocument()->openFile(path));
        const QString m = w.presetDocument()->lastError();
        QVERIFY2(m.contains(QStringLiteral("file: ")) && m.contains(QStringLiteral("bytes")),
                 qPrintable(m));
    }

    // The dialog text: the file, then one bullet per problem naming its field.
    void errorMessageText() {
        const QString m = presetErrorMessage(
            QStringLiteral("/tmp/x.json"),
            {{"depth", "depth: must be from 1 to 5000 (got 0)"}, {"gain", "gain: must be ..."}});
        QVERIFY(m.startsWith(QDir::toNativeSeparators(QStringLiteral("/tmp/x.json"))));
        QVERIFY(m.contains(QStringLiteral("\u2022 depth: must be from 1 to 5000 (got 0)")));
        QVERIFY(m.contains(QStringLiteral("\u2022 gain:")));
        QVERIFY(m.contains(QStringLiteral("Nothing was changed")));
    }

    // PNG of the requested size times the scale; SVG that QSvgRenderer accepts; PDF with a page;
    // CSV with a header and one row per point; PNG and SVG carry the experiment, and opening
    // them restores it.
    void exportFormatsAndMetadata() {
        QTemporaryDir dir;
        MainWindow w;
        w.presetDocument()->setDialogsEnabled(false);
        const NetworkSpec spec = smallSpec();
        w.setSpec(spec);
        w.show();
        QVERIFY(waitForSettled(w));
        ExportRequest req;
        req.everyView = true;
        req.options.size = QSize(800, 500);
        req.options.scale = 2.0;
        for (const char* suffix : {"png", "svg", "pdf", "csv"}) {
            req.path = dir.filePath(QStringLiteral("fig.%1").arg(QLatin1String(suffix)));
            QString error;
            QVERIFY2(w.exportFigures(req, &error), qPrintable(error));
        }
        const QStringList views = MainWindow::viewNames();
        for (const QString& v : views) {
            const QString stem = dir.filePath(QStringLiteral("fig-%1.").arg(v));
            const QImage png(stem + QStringLiteral("png"));
            QCOMPARE(png.size(), QSize(1600, 1000));
            QVERIFY(png.pixelColor(2, 2) == QColor(Qt::white)); // lecture style: white
            QSvgRenderer svg(stem + QStringLiteral("svg"));
            QVERIFY2(svg.isValid(), qPrintable(v));
            QCOMPARE(svg.viewBoxF(), QRectF(0, 0, 800, 500));
            QFile pdf(stem + QStringLiteral("pdf"));
            QVERIFY(pdf.open(QIODevice::ReadOnly));
            const QByteArray bytes = pdf.readAll();
            QVERIFY(bytes.startsWith("%PDF"));
            QVERIFY(bytes.contains("/Type /Page\n") || bytes.contains("/Type /Page\r") ||
                    bytes.contains("/Type /Page ") || bytes.contains("/Type/Page"));
            const QStringList lines =
                readAll(stem + QStringLiteral("csv")).trimmed().split(QLatin1Char('\n'));
            QVERIFY(lines.size() > 1);
            QVERIFY(lines[0].startsWith(QStringLiteral("layer,")));
            const int columns = static_cast<int>(lines[0].split(QLatin1Char(',')).size());
            for (const QString& l : lines)
                QCOMPARE(static_cast<int>(l.split(QLatin1Char(',')).size()), columns);
            if (v == QLatin1String("signal") || v == QLatin1String("correlation")) {
                QCOMPARE(lines.size(), spec.depth + 1); // one row per layer
                QCOMPARE(columns, 3);                   // layer, measured, predicted
            }
            if (v == QLatin1String("distribution"))
                QCOMPARE(lines.size(), spec.depth * spec.histBins + 1); // one row per cell
        }
        // the CSV values are the drawn values
        const QStringList signal = readAll(dir.filePath(QStringLiteral("fig-signal.csv")))
                                       .trimmed()
                                       .split(QLatin1Char('\n'));
        const QList<QPointF> q = w.signalChart()->points(0);
        QCOMPARE(signal[1].split(QLatin1Char(','))[1].toDouble(), q[0].y());

        // metadata round trip: PNG, SVG, and a dropped PNG
        for (const char* suffix : {"png", "svg"}) {
            const QString path = dir.filePath(QStringLiteral("fig-gradients.%1").arg(suffix));
            QString error;
            const PresetParse r = parsePreset(figurePresetText(path, &error).toStdString());
            QVERIFY2(r.preset, qPrintable(error));
            QCOMPARE(r.preset->spec, spec);
            MainWindow other;
            other.presetDocument()->setDialogsEnabled(false);
            QVERIFY2(other.presetDocument()->openFile(path),
                     qPrintable(other.presetDocument()->lastError()));
            QCOMPARE(other.controls()->spec(), spec);
        }
        MainWindow dropped;
        dropped.presetDocument()->setDialogsEnabled(false);
        dropped.show();
        auto* mime = new QMimeData;
        mime->setUrls({QUrl::fromLocalFile(dir.filePath(QStringLiteral("fig-signal.png")))});
        QDragEnterEvent enter(QPoint(20, 20), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(dropped.centralWidget(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(20, 20), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(dropped.centralWidget(), &drop);
        QCOMPARE(dropped.controls()->spec(), spec);
        delete mime;

        // a PNG that initscope did not write is refused with a reason
        QImage plain(10, 10, QImage::Format_RGB32);
        plain.fill(Qt::red);
        const QString plainPath = dir.filePath(QStringLiteral("plain.png"));
        QVERIFY(plain.save(plainPath));
        QVERIFY(!dropped.presetDocument()->openFile(plainPath));
        QVERIFY(dropped.presetDocument()->lastError().contains(QStringLiteral("no initscope")));
    }

    // An analysis view exports its figure (not its controls) at the requested size with the
    // experiment, and its values as CSV.
    void analysisViewExport() {
        QTemporaryDir dir;
        MainWindow w;
        w.presetDocument()->setDialogsEnabled(false);
        const NetworkSpec spec = smallSpec();
        w.setSpec(spec);
        w.show();
        QVERIFY(waitForSettled(w));
        QSignalSpy shown(w.analysisViews()->jacobian(), &JacobianView::resultShown);
        QVERIFY(w.showView(QStringLiteral("jacobian")));
        QCOMPARE(w.currentView(), QStringLiteral("jacobian"));
        QVERIFY(shown.wait(kTimeoutMs));
        ExportRequest req;
        req.view = w.currentView();
        req.path = dir.filePath(QStringLiteral("j.png"));
        QString error;
        QVERIFY2(w.exportFigures(req, &error), qPrintable(error));
        QCOMPARE(QImage(req.path).size(), req.options.size * 2); // not the window's size
        QVERIFY(w.presetDocument()->openFile(req.path));
        QCOMPARE(w.controls()->spec(), spec);
        req.path = dir.filePath(QStringLiteral("j.csv"));
        QVERIFY2(w.exportFigures(req, &error), qPrintable(error));
        const QStringList lines = readAll(req.path).trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines[0], QStringLiteral("panel,series,x,y,value"));
        QVERIFY(lines.size() > 1);
    }

    // The CLI's path (engine run -> figureDataFromResult -> figure) draws the window's values.
    void cliFigurePathMatchesWindow() {
        QTemporaryDir dir;
        MainWindow w;
        const Preset* p = findBundledPreset("he-relu");
        QVERIFY(p);
        w.setSpec(p->spec);
        w.show();
        QVERIFY(waitForSettled(w));
        ExportRequest req;
        req.view = QStringLiteral("signal");
        req.path = dir.filePath(QStringLiteral("gui.csv"));
        QVERIFY(w.exportFigures(req));
        QString error;
        const QString cliPath = dir.filePath(QStringLiteral("cli.csv"));
        QVERIFY2(exportPresetFigure(*p, QStringLiteral("signal"), cliPath, FigureOptions{}, &error),
                 qPrintable(error));
        QCOMPARE(readAll(cliPath), readAll(req.path));
        QVERIFY(!exportPresetFigure(*p, QStringLiteral("nope"), cliPath, FigureOptions{}, &error));
        QVERIFY(error.contains(QStringLiteral("--chart")));
    }
};

INITSCOPE_GUI_TEST_MAIN(TestPresetsExport)
#include "test_presets_export.moc"

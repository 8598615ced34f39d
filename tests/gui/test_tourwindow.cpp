// The tour and presentation mode in the window: every step of the lesson tour loads its preset
// and opens its view; PageDown / PageUp (and the arrows in presentation mode) step through it;
// F5 enters presentation mode (docks, menu and status bar hidden, the step's controls in the bar,
// still live) and Esc leaves it with everything back in place; a tour file saved and opened is
// the same tour, and a bad one is refused naming the step and field, changing nothing; an exported
// tour is a folder of figures of the requested size with an index listing every step.
#include "charts/layercharts.h"
#include "export/figure.h"
#include "export/tourexport.h"
#include "guitestmain.h"
#include "model/presetdocument.h"
#include "settle.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "window/presentation.h"
#include "work/runcontroller.h"
#include "work/tourcontroller.h"

#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QLabel>
#include <QLegend>
#include <QListWidget>
#include <QMenuBar>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>

using namespace initscope;
using namespace initscope::ui;

namespace {
using test::kTimeoutMs;
using test::waitForSettled;

/// The window, shown and active (window shortcuts need the active window).
void start(MainWindow& w) {
    w.presetDocument()->setDialogsEnabled(false);
    w.tour()->setDialogsEnabled(false);
    w.resize(1280, 720);
    w.show();
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
}

QString readText(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

int stepIndex(const TourController* tour, const char* preset) {
    for (int i = 0; i < tour->count(); ++i)
        if (tour->stops()[static_cast<std::size_t>(i)].preset.name == preset)
            return i;
    return -1;
}

/// A small tour: quick runs, a layer view, the statistic view and an analysis view.
Tour smallTour() {
    Tour t;
    t.title = "Three steps";
    TourStep a;
    a.preset = "he-relu";
    a.view = "signal";
    a.controls = {"gain"};
    a.note = "He keeps q.";
    TourStep b;
    b.preset = "symmetry-constant";
    b.note = "Spread 0 | a bar in the note.";
    TourStep c;
    c.source = TourStep::Source::Inline;
    c.inlineSpecOnly = true;
    Preset p;
    p.name = "step-3";
    p.title = "Step 3";
    p.spec.depth = 6;
    p.spec.width = 32;
    p.spec.inputDim = 32;
    p.spec.batch = 16;
    p.spec.activation = ActivationKind::Tanh;
    c.inlinePreset = p;
    c.title = "A small tanh net";
    c.view = "jacobian";
    c.controls = {"depth", "gain"};
    t.steps = {a, b, c};
    return t;
}
} // namespace

class TestTour : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    // Every step of the lesson tour loads its bundled preset and opens the step's view, and a
    // step's run is the RunController's run of that preset.
    void lessonStepsLoadPresetsAndViews() {
        MainWindow w;
        start(w);
        TourController* tour = w.tour();
        QVERIFY(!tour->isActive());
        tour->startLessonTour();
        QCOMPARE(tour->count(), static_cast<int>(bundledTour().steps.size()));
        QCOMPARE(tour->current(), 0);
        QVERIFY(tour->dock()->isVisible());
        QCOMPARE(tour->panel()->list()->count(), tour->count());
        for (int i = 0; i < tour->count(); ++i) {
            QVERIFY(tour->goTo(i));
            const TourStop& stop = tour->stops()[static_cast<std::size_t>(i)];
            const TourStep& step = bundledTour().steps[static_cast<std::size_t>(i)];
            QCOMPARE(stop.preset.name, step.preset);
            const Preset* bundled = findBundledPreset(step.preset);
            QVERIFY(bundled);
            Preset shown = *bundled;
            shown.spec = w.controls()->spec();
            QCOMPARE(QString::fromStdString(presetToJson(shown)),
                     QString::fromStdString(presetToJson(*bundled)));
            QCOMPARE(w.currentView(), QString::fromStdString(step.view));
            if (!bundled->statistic.empty())
                QCOMPARE(w.currentStatistic(), QString::fromStdString(bundled->statistic));
            QCOMPARE(w.presetDocument()->currentPreset().name, step.preset);
            QCOMPARE(tour->panel()->list()->currentRow(), i);
            QCOMPARE(tour->panel()->noteLabel()->text(), QString::fromStdString(step.note));
        }
        // the run of a step is the window's run of its preset
        const int he = stepIndex(tour, "he-relu");
        QVERIFY(he >= 0);
        QVERIFY(tour->goTo(he));
        QVERIFY(waitForSettled(w));
        QCOMPARE(w.displayedSpec(), findBundledPreset("he-relu")->spec);
        // a click in the step list jumps
        tour->panel()->list()->setCurrentRow(2);
        QCOMPARE(tour->current(), 2);
        QCOMPARE(w.presetDocument()->currentPreset().name, bundledTour().steps[2].preset);
    }

    // PageDown / PageUp step through the tour; Left / Right only in presentation mode (outside
    // it the arrows belong to the sliders); the ends stay put.
    void keyNavigation() {
        MainWindow w;
        start(w);
        TourController* tour = w.tour();
        tour->startLessonTour();
        QCOMPARE(tour->current(), 0);
        QTest::keyClick(&w, Qt::Key_PageDown);
        QCOMPARE(tour->current(), 1);
        QTest::keyClick(&w, Qt::Key_PageDown);
        QCOMPARE(tour->current(), 2);
        QCOMPARE(w.presetDocument()->currentPreset().name, bundledTour().steps[2].preset);
        QTest::keyClick(&w, Qt::Key_PageUp);
        QCOMPARE(tour->current(), 1);
        QTest::keyClick(&w, Qt::Key_Right);
        QCOMPARE(tour->current(), 1); // not a tour key outside presentation mode
        QTest::keyClick(&w, Qt::Key_PageUp);
        QTest::keyClick(&w, Qt::Key_PageUp); // at the first step: stays
        QCOMPARE(tour->current(), 0);
        QTest::keyClick(&w, Qt::Key_F5);
        QVERIFY(w.presentation()->isActive());
        QTest::keyClick(&w, Qt::Key_Right);
        QCOMPARE(tour->current(), 1);
        QTest::keyClick(&w, Qt::Key_Right);
        QCOMPARE(tour->current(), 2);
        QTest::keyClick(&w, Qt::Key_Left);
        QCOMPARE(tour->current(), 1);
        QTest::keyClick(&w, Qt::Key_PageDown);
        QCOMPARE(tour->current(), 2);
        // the bar follows the step
        QCOMPARE(w.presentation()->stepLabel()->text(),
                 QStringLiteral("3 / %1").arg(tour->count()));
        QCOMPARE(w.presentation()->titleLabel()->text(),
                 QString::fromStdString(tour->stops()[2].title));
        QCOMPARE(w.presentation()->noteLabel()->text(),
                 QString::fromStdString(tour->stops()[2].note));
        // to the last step and past it
        while (tour->current() + 1 < tour->count())
            QTest::keyClick(&w, Qt::Key_PageDown);
        QTest::keyClick(&w, Qt::Key_Right);
        QCOMPARE(tour->current(), tour->count() - 1);
        QTest::keyClick(&w, Qt::Key_Escape);
        QVERIFY(!w.presentation()->isActive());
        QTest::keyClick(&w, Qt::Key_Left);
        QCOMPARE(tour->current(), tour->count() - 1);
    }

    // F5 enters presentation mode: full screen, the docks, menu and status bar hidden, the bar
    // with only the step's controls, which stay live (drag the gain, the run follows); lecture
    // style on the charts. Esc leaves it with the controls back in the panel and the docks back.
    void presentationModeTogglesAndHidesTheDock() {
        MainWindow w;
        start(w);
        auto* controlsDock = w.findChild<QDockWidget*>(QStringLiteral("controlsDock"));
        QVERIFY(controlsDock);
        QVERIFY(controlsDock->isVisible());
        w.tour()->startLessonTour();
        const int step = stepIndex(w.tour(), "xavier-tanh"); // controls: gain, depth
        QVERIFY(step >= 0);
        QVERIFY(w.tour()->goTo(step));
        QVERIFY(waitForSettled(w));
        PresentationMode* p = w.presentation();
        QTest::keyClick(&w, Qt::Key_F5);
        QVERIFY(p->isActive());
        QVERIFY(p->toggleAction()->isChecked());
        QVERIFY(w.windowState() & Qt::WindowFullScreen);
        QVERIFY(controlsDock->isHidden());
        QVERIFY(w.tour()->dock()->isHidden());
        QVERIFY(w.menuBar()->isHidden());
        QVERIFY(w.statusBar()->isHidden());
        QVERIFY(p->bar()->isVisible());
        // only the step's controls, and they are the panel's own widgets
        GainControl* gain = w.controls()->gainControl();
        const std::vector<QWidget*> lent = p->lentControls();
        QCOMPARE(lent.size(), std::size_t{2});
        QCOMPARE(lent[0], static_cast<QWidget*>(gain));
        QCOMPARE(lent[1], w.controls()->fieldControl(QStringLiteral("depth")));
        QVERIFY(p->bar()->isAncestorOf(gain));
        QVERIFY(!w.controls()->isAncestorOf(gain));
        QVERIFY(gain->isVisible());
        // lecture style: thick lines, large text on the live charts
        QCOMPARE(w.signalChart()->lineScale(), PresentationMode::kLineScale);
        QCOMPARE(w.signalChart()->chart()->legend()->font().pointSizeF(),
                 PresentationMode::kChartTextPt);
        QVERIFY(p->titleLabel()->font().pointSizeF() >= 20);
        // live: a change of the lent gain runs
        gain->spinBox()->setValue(1.5);
        QTRY_COMPARE_WITH_TIMEOUT(w.controls()->spec().gain, 1.5, kTimeoutMs);
        QVERIFY(waitForSettled(w));
        QCOMPARE(w.displayedSpec().gain, 1.5);
        // the next step lends its own controls and gives the others back
        QTest::keyClick(&w, Qt::Key_PageDown);
        const TourStop* next = w.tour()->currentStop();
        QVERIFY(next);
        QCOMPARE(p->lentControls().size(), next->controls.size());
        if (std::find(next->controls.begin(), next->controls.end(), "depth") ==
            next->controls.end())
            QVERIFY(
                w.controls()->isAncestorOf(w.controls()->fieldControl(QStringLiteral("depth"))));
        // Esc leaves: everything back where it was
        QTest::keyClick(&w, Qt::Key_Escape);
        QVERIFY(!p->isActive());
        QVERIFY(!(w.windowState() & Qt::WindowFullScreen));
        QVERIFY(controlsDock->isVisible());
        QVERIFY(w.menuBar()->isVisible());
        QVERIFY(w.statusBar()->isVisible());
        QVERIFY(w.controls()->isAncestorOf(gain));
        QVERIFY(w.controls()->isAncestorOf(w.controls()->fieldControl(QStringLiteral("depth"))));
        QVERIFY(gain->isVisible() || !w.controls()->isVisible());
        QCOMPARE(w.signalChart()->lineScale(), 1.0);
        QVERIFY(w.signalChart()->chart()->legend()->font().pointSizeF() <
                PresentationMode::kChartTextPt);
        QCOMPARE(w.centralWidget()->objectName(), QStringLiteral("views"));
        // the panel still drives the runs
        gain->spinBox()->setValue(1.25);
        QTRY_COMPARE_WITH_TIMEOUT(w.controls()->spec().gain, 1.25, kTimeoutMs);
        // F5 toggles, without a tour too; Esc outside presentation mode still stops a run
        QTest::keyClick(&w, Qt::Key_F5);
        QVERIFY(p->isActive());
        QTest::keyClick(&w, Qt::Key_F5);
        QVERIFY(!p->isActive());
    }

    // A tour file written and opened (File > Open, like a preset) is the same tour; each broken
    // file is refused naming the step and the field, and the tour on screen stays.
    void tourFileRoundTripAndErrors() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        MainWindow w;
        start(w);
        // a preset file beside the tour, named relatively
        Preset mine = *findBundledPreset("xavier-relu");
        mine.name = "my-relu";
        mine.spec.depth = 11;
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("presets")));
        QCOMPARE(
            writePresetFile(mine, dir.filePath(QStringLiteral("presets/mine.json")).toStdString()),
            std::string());
        Tour t = smallTour();
        TourStep file;
        file.source = TourStep::Source::File;
        file.preset = "presets/mine.json";
        file.view = "gradients";
        t.steps.insert(t.steps.begin() + 1, file);
        // a step given as a spec is named by its place in the tour
        t.steps[3].inlinePreset->name = "step-4";
        t.steps[3].inlinePreset->title = "Step 4";
        const QString path = dir.filePath(QStringLiteral("lecture.json"));
        QString error;
        QVERIFY2(saveTour(t, path, &error), qPrintable(error));
        QVERIFY(isTourFile(path));
        QVERIFY(!isTourFile(dir.filePath(QStringLiteral("presets/mine.json"))));
        // opened like a preset
        QVERIFY2(w.presetDocument()->openFile(path), qPrintable(w.presetDocument()->lastError()));
        TourController* tour = w.tour();
        QCOMPARE(tour->tour(), t);
        QCOMPARE(tour->count(), 4);
        QCOMPARE(tour->file(), QFileInfo(path).absoluteFilePath());
        QCOMPARE(tour->current(), 0);
        QCOMPARE(w.controls()->spec(), findBundledPreset("he-relu")->spec);
        QVERIFY(tour->goTo(1));
        QCOMPARE(w.controls()->spec(), mine.spec);
        QCOMPARE(w.currentView(), QStringLiteral("gradients"));
        QVERIFY(tour->goTo(3));
        QCOMPARE(w.controls()->spec().depth, 6);
        QCOMPARE(w.currentView(), QStringLiteral("jacobian"));
        QCOMPARE(QString::fromStdString(tour->currentStop()->title),
                 QStringLiteral("A small tanh net"));
        // saved elsewhere, the file step still points at the same preset
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("copy")));
        const QString copy = dir.filePath(QStringLiteral("copy/again.json"));
        QVERIFY2(tour->saveAs(copy, &error), qPrintable(error));
        MainWindow other;
        start(other);
        QVERIFY2(other.presetDocument()->openFile(copy),
                 qPrintable(other.presetDocument()->lastError()));
        QCOMPARE(other.tour()->stops(), tour->stops());
        QCOMPARE(other.tour()->tour().steps[1].preset, std::string("../presets/mine.json"));
        // the experiment on screen added as a step: inline, round trip again
        w.setSpec(mine.spec);
        const int added = tour->addCurrentExperiment(QStringLiteral("mine, again"));
        QCOMPARE(added, 4);
        QVERIFY(tour->saveAs(path, &error));
        Tour back;
        std::vector<TourStop> stops;
        QVERIFY2(readTourAndStops(path, &back, &stops, &error), qPrintable(error));
        QCOMPARE(back, tour->tour());
        QCOMPARE(stops.size(), std::size_t{5});
        QCOMPARE(stops[4].preset.spec, mine.spec);
        QCOMPARE(stops[4].note, std::string("mine, again"));

        // broken files: refused, named, nothing changed
        struct Bad {
            QString text, expected;
        };
        const QString head = QStringLiteral(
            R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": [)");
        const QList<Bad> bad = {
            {head + R"({"preset": "he-relu"}, {"preset": "he-relu", "view": "slides"}]})",
             QStringLiteral("steps[1].view")},
            {head + R"({"preset": "he-relu", "controls": ["speed"]}]})",
             QStringLiteral("steps[0].controls[0]")},
            {head + R"({"preset": "he-relu", "wat": 1}]})", QStringLiteral("steps[0].wat")},
            {head + R"({"preset": "he-relu", "note": "a", "note": "b"}]})",
             QStringLiteral("steps[0].note: is given more than once")},
            {head + R"({"preset": "no-such-preset"}]})",
             QStringLiteral("steps[0].preset: no bundled preset")},
            {head + R"({"preset": "presets/missing.json"}]})",
             QStringLiteral("steps[0].preset (presets/missing.json)")},
            {head + R"({"preset": {"depth": 0}}]})", QStringLiteral("steps[0].preset.depth")},
            {QStringLiteral(
                 R"({"format": "initscope-tour", "version": 9, "title": "t", "steps": [{"preset": "he-relu"}]})"),
             QStringLiteral("version")},
            {QStringLiteral(
                 R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": [)"),
             QStringLiteral("not valid JSON")},
        };
        const Tour before = tour->tour();
        const int current = tour->current();
        const NetworkSpec spec = w.controls()->spec();
        for (const Bad& b : bad) {
            const QString badPath = dir.filePath(QStringLiteral("bad.json"));
            QFile f(badPath);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(b.text.toUtf8());
            f.close();
            QVERIFY2(!w.presetDocument()->openFile(badPath), qPrintable(b.text));
            const QString message = w.presetDocument()->lastError();
            QVERIFY2(message.contains(b.expected), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("bad.json")), qPrintable(message));
            QCOMPARE(tour->tour(), before);
            QCOMPARE(tour->current(), current);
            QCOMPARE(w.controls()->spec(), spec);
        }
        // the tour's own Open says the same
        QVERIFY(!tour->openFile(dir.filePath(QStringLiteral("bad.json"))));
        QVERIFY(tour->lastError().contains(QStringLiteral("not valid JSON")));
        // an unwritable place: refused with the reason, the old file intact
        QVERIFY(!tour->saveAs(dir.filePath(QStringLiteral("no/such/folder/t.json")), &error));
        QVERIFY(!error.isEmpty());
        QVERIFY(readTourAndStops(path, nullptr, nullptr, &error));
    }

    // An exported tour: one lecture figure per step, of the requested pixel size, in the format
    // asked, and an index listing every step's number, title, note and file. The export returns
    // at once (the runs are on workers) and reports progress.
    void exportFolder() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const TourResolve r = resolveTour(smallTour(), std::string());
        QVERIFY(r.errors.empty());
        FigureOptions options;
        options.size = QSize(640, 400);
        options.scale = 1.5;
        for (const QString& format : {QStringLiteral("png"), QStringLiteral("svg")}) {
            const QString out = dir.filePath(format);
            TourExporter exporter(QStringLiteral("Three steps"), r.stops, out, format, options);
            QSignalSpy finished(&exporter, &TourExporter::finished);
            QSignalSpy progress(&exporter, &TourExporter::progress);
            exporter.start();
            QVERIFY(exporter.isRunning()); // start() returned before any step was computed
            QVERIFY(finished.isEmpty());
            QVERIFY(finished.wait(kTimeoutMs) || !finished.isEmpty());
            QCOMPARE(finished.count(), 1);
            QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
            QCOMPARE(progress.count(), 4); // 0, then after each of the three steps
            const QString md = readText(QDir(out).filePath(QStringLiteral("index.md")));
            const QString html = readText(QDir(out).filePath(QStringLiteral("index.html")));
            QVERIFY(md.startsWith(QStringLiteral("# Three steps")));
            for (int i = 0; i < static_cast<int>(r.stops.size()); ++i) {
                const TourStop& s = r.stops[static_cast<std::size_t>(i)];
                const QString name = tourFigureName(i, s, format);
                const QString file = QDir(out).filePath(name);
                QVERIFY2(QFileInfo(file).size() > 1000, qPrintable(file));
                if (format == QLatin1String("png")) {
                    const QImage image(file);
                    QCOMPARE(image.size(), QSize(960, 600));
                    // the step's experiment is in the figure, as in every export
                    QVERIFY(image.text(QStringLiteral("initscope-preset"))
                                .contains(QString::fromStdString(s.preset.name)));
                } else {
                    QVERIFY(readText(file).contains(QStringLiteral("<svg")));
                }
                const QString row =
                    QStringLiteral("| %1 | %2 |").arg(i + 1).arg(QString::fromStdString(s.title));
                QVERIFY2(md.contains(row), qPrintable(md));
                QVERIFY(md.contains(QStringLiteral("[%1](%1)").arg(name)));
                QVERIFY(html.contains(name));
                QVERIFY(html.contains(QString::fromStdString(s.title).toHtmlEscaped()));
            }
            QVERIFY(md.contains(QStringLiteral("Spread 0 \\| a bar in the note.")));
            QCOMPARE(exporter.files().size(), static_cast<qsizetype>(r.stops.size() + 2));
        }
        // a bad format is refused at once
        TourExporter bad(QStringLiteral("x"), r.stops, dir.filePath(QStringLiteral("bad")),
                         QStringLiteral("gif"), options);
        QSignalSpy finished(&bad, &TourExporter::finished);
        bad.start();
        QCOMPARE(finished.count(), 1);
        QVERIFY(!finished.at(0).at(0).toBool());
        QVERIFY(bad.error().contains(QStringLiteral("png, svg or pdf")));
        QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("bad"))));
        // exportTourBlocking (the CLI's) writes the same folder
        QStringList files;
        QString error;
        QVERIFY2(exportTourBlocking(QStringLiteral("Three steps"), r.stops,
                                    dir.filePath(QStringLiteral("pdf")), QStringLiteral("pdf"),
                                    options, &files, &error),
                 qPrintable(error));
        QCOMPARE(files.size(), static_cast<qsizetype>(r.stops.size() + 2));
        for (const QString& f : files)
            QVERIFY(QFileInfo(f).size() > 0);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestTour)
#include "test_tourwindow.moc"

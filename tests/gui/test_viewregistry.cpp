// The one view registry (viewregistry.h): its names are exactly the engine's presetViews(); the
// window's tabs, View menu and shortcuts follow it; every view is shown and named by name; every
// analysis row makes, recognises and copies its view; every view exports from the window, and
// the MAML view through the same path as the others (initscope-cli export, the tour export).
#include "apps/maml.h"
#include "export/figure.h"
#include "export/tourexport.h"
#include "guitestmain.h"
#include "settle.h"
#include "spec/preset.h"
#include "train/train.h"
#include "views/analysisviews.h"
#include "views/viewregistry.h"
#include "window/mainwindow.h"

#include <QAction>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QMenu>
#include <QMenuBar>
#include <QSet>
#include <QTabWidget>
#include <QTemporaryDir>

#include <set>
#include <string>

using namespace initscope;
using namespace initscope::ui;
using namespace initscope::ui::test;

namespace {
NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 6;
    s.width = 32;
    s.batch = 16;
    s.seed = 7;
    return s;
}

/// Every action of `menu` and its submenus.
QList<QAction*> allActions(QMenu* menu) {
    QList<QAction*> out;
    for (QAction* a : menu->actions()) {
        if (a->menu())
            out += allActions(a->menu());
        else
            out << a;
    }
    return out;
}

QMenu* viewMenu(MainWindow& w) {
    for (QAction* a : w.menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == QLatin1String("View"))
            return a->menu();
    return nullptr;
}

/// Quick MAML settings (test_mamlview's): 2 seeds x 2 families x 40 meta-steps.
MamlViewSettings quickMaml() {
    MamlViewSettings s;
    s.metaSteps = 40;
    s.seeds = 2;
    s.recordEvery = 10;
    return s;
}
} // namespace

class TestViewRegistry : public QObject {
    Q_OBJECT
private slots:
    // The engine (no Qt) owns the names presets, tours and the CLI accept; the registry must
    // have a row for each and no other, once each.
    void namesAreTheEnginePresetViews() {
        std::set<std::string> engine(presetViews().begin(), presetViews().end());
        QCOMPARE(engine.size(), presetViews().size());
        std::set<std::string> registry;
        for (const ViewInfo& v : viewRegistry()) {
            QVERIFY2(registry.insert(v.name.toStdString()).second, qPrintable(v.name));
            QVERIFY2(engine.count(v.name.toStdString()) == 1,
                     qPrintable(v.name + QStringLiteral(": not an engine preset view")));
        }
        for (const std::string& name : engine)
            QVERIFY2(registry.count(name) == 1, name.c_str());
        // layer views first, then the analysis views: the tab order the window always had
        QCOMPARE(viewNames(), layerViewNames() + analysisViewNames());
        QCOMPARE(layerViewNames(), QStringList({"signal", "gradients", "correlation",
                                                "distribution", "activations", "statistic"}));
        QCOMPARE(analysisViewNames(),
                 QStringList({"phase", "jacobian", "ntk", "ensemble", "sweep", "training", "pinn",
                              "maml", "trainability", "rl"}));
        // every view exports without the window (training trains its preset's train block)
        QCOMPARE(exportableViewNames(), viewNames());
        QCOMPARE(figureNames(), layerViewNames());
        QCOMPARE(analysisFigureNames(), analysisViewNames());
    }

    // Each analysis row makes its view, recognises it (and a copy of it) and names its figure.
    void analysisRowsMakeRecogniseAndCopy() {
        for (const ViewInfo& v : viewRegistry()) {
            if (v.isLayerView()) {
                QVERIFY2(v.makeFigure && !v.make, qPrintable(v.name));
                continue;
            }
            QVERIFY2(v.make && v.setSpec && v.figureParts && v.copy && v.type, qPrintable(v.name));
            const std::unique_ptr<QWidget> w(v.make());
            QCOMPARE(w->objectName(), v.name);
            QCOMPARE(findView(w.get()), &v);
            QVERIFY(!v.figureParts(w.get()).empty());
            for (QWidget* part : v.figureParts(w.get()))
                QVERIFY2(part && w->isAncestorOf(part), qPrintable(v.name));
            const std::unique_ptr<QWidget> copy = copyAnalysisFigure(w.get());
            QVERIFY2(copy, qPrintable(v.name));
            QCOMPARE(findView(copy.get()), &v);
        }
        QCOMPARE(findView(QStringLiteral("NTK")), findView(QStringLiteral("ntk")));
        QVERIFY(!findView(QStringLiteral("nope")));
        QWidget plain;
        QVERIFY(!findView(&plain));
        QVERIFY(!copyAnalysisFigure(&plain));
    }

    // The tabs, the View menu and the shortcuts are the registry's; every view is shown and
    // named by its name, by showView and by its menu action.
    void windowFollowsTheRegistry() {
        MainWindow w;
        w.setSpec(smallSpec());
        w.show();
        QVERIFY(waitForSettled(w));
        auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("views"));
        QVERIFY(tabs);
        QCOMPARE(tabs->count(), static_cast<int>(viewRegistry().size()));
        QMenu* menu = viewMenu(w);
        QVERIFY(menu);
        const QList<QAction*> actions = allActions(menu);
        QSet<QString> shortcuts;
        for (const ViewInfo& v : viewRegistry()) {
            QWidget* page = w.viewPage(v.name);
            QVERIFY2(page, qPrintable(v.name));
            QCOMPARE(tabs->tabText(tabs->indexOf(page)), v.tabTitle());
            QVERIFY(!tabs->tabToolTip(tabs->indexOf(page)).isEmpty());
            QVERIFY(w.showView(v.name));
            QCOMPARE(tabs->currentWidget(), page);
            QCOMPARE(w.currentView(), v.name);
            QVERIFY(w.showView(v.name.toUpper())); // names are case-insensitive
            // its View-menu entry: shows it from another view
            QAction* action = nullptr;
            for (QAction* a : actions)
                if (a->objectName() == QStringLiteral("view-") + v.name)
                    action = a;
            QVERIFY2(action, qPrintable(v.name));
            QCOMPARE(action->shortcut(), v.shortcut);
            if (!v.shortcut.isEmpty())
                QVERIFY2(!shortcuts.contains(v.shortcut.toString()), qPrintable(v.name));
            shortcuts.insert(v.shortcut.toString());
            QVERIFY(w.showView(v.name == QLatin1String("signal") ? QStringLiteral("rl")
                                                                 : QStringLiteral("signal")));
            action->trigger();
            QCOMPARE(w.currentView(), v.name);
        }
        // tab order (the registry's) and the shortcuts as the window always had them
        for (int i = 0; i < tabs->count(); ++i)
            QCOMPARE(tabs->widget(i), w.viewPage(viewNames()[i]));
        const QStringList numbered = {"signal",      "gradients", "correlation", "distribution",
                                      "activations", "phase",     "jacobian",    "ntk",
                                      "ensemble",    "sweep"};
        for (int i = 0; i < numbered.size(); ++i)
            QCOMPARE(
                findView(numbered[i])->shortcut,
                QKeySequence(Qt::CTRL | (i < 9 ? static_cast<Qt::Key>(Qt::Key_1 + i) : Qt::Key_0)));
        QCOMPARE(findView(QStringLiteral("statistic"))->shortcut,
                 QKeySequence(Qt::CTRL | Qt::Key_T));
        // the keys themselves (window shortcuts need the active window), in the View menu's
        // submenus as at its top
        w.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&w));
        for (const ViewInfo& v : viewRegistry()) {
            if (v.shortcut.isEmpty())
                continue;
            QVERIFY(w.showView(v.name == QLatin1String("rl") ? QStringLiteral("signal")
                                                             : QStringLiteral("rl")));
            QTest::keyClick(&w, static_cast<Qt::Key>(v.shortcut[0].key()),
                            v.shortcut[0].keyboardModifiers());
            QCOMPARE(w.currentView(), v.name);
        }
        QVERIFY(!w.showView(QStringLiteral("nope")));
        QVERIFY(w.showView(QStringLiteral("inputs"))); // the dock, not a tab
    }

    // Every view exports from the window (Ctrl+E's path): layer views draw the run, analysis
    // views a copy of what they show; PNG and CSV.
    void everyViewExportsFromTheWindow() {
        MainWindow w;
        w.setSpec(smallSpec());
        w.resize(1280, 720);
        w.show();
        QVERIFY(waitForSettled(w));
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        for (const QString& name : viewNames()) {
            QVERIFY(w.showView(name));
            for (const char* suffix : {"png", "csv"}) {
                const QString path = dir.filePath(name + QLatin1Char('.') + suffix);
                QString error;
                QVERIFY2(w.exportView(path, &error),
                         qPrintable(name + QStringLiteral(": ") + error));
                QVERIFY2(QFileInfo(path).size() > 10, qPrintable(path));
            }
            QVERIFY2(!QImage(dir.filePath(name + QStringLiteral(".png"))).isNull(),
                     qPrintable(name));
            QFile csv(dir.filePath(name + QStringLiteral(".csv")));
            QVERIFY(csv.open(QIODevice::ReadOnly));
            const QByteArray header = csv.readLine();
            if (!findView(name)->isLayerView())
                QCOMPARE(header, QByteArray("panel,series,x,y,value\n"));
            else
                QVERIFY2(!header.startsWith("panel"), qPrintable(name));
        }
    }

    // MAML's figure goes the common way: initscope-cli export and the tour export of a preset
    // that opens it take its view settings and export once its result is drawn. An unknown
    // chart is refused naming every exportable view.
    void mamlExportsThroughTheCommonPath() {
        Preset p;
        p.name = "maml-small";
        p.view = "maml";
        p.spec = mamlDefaultSpec();
        p.spec.width = 12;
        p.maml = quickMaml();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        FigureOptions o;
        o.size = QSize(500, 320);
        o.scale = 1;
        QString error;
        const QString csv = dir.filePath(QStringLiteral("maml.csv"));
        QVERIFY2(exportPresetFigure(p, QStringLiteral("maml"), csv, o, &error), qPrintable(error));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray text = f.readAll();
        QVERIFY(text.startsWith("panel,series,x,y,value\n"));
        // the preset's 40 meta-steps, recorded every 10: the last recorded step is 40 (the
        // view's default would run 500)
        QVERIFY2(text.contains(",40,") && !text.contains(",50,"), text.left(400).constData());

        TourStop stop;
        stop.preset = p;
        stop.title = "maml";
        QStringList files;
        QVERIFY2(exportTourBlocking(QStringLiteral("t"), {stop},
                                    dir.filePath(QStringLiteral("tour")), QStringLiteral("png"), o,
                                    &files, &error),
                 qPrintable(error));
        const QImage png(dir.filePath(QStringLiteral("tour/01-maml-small.png")));
        QCOMPARE(png.size(), QSize(500, 320));

        QVERIFY(!exportPresetFigure(p, QStringLiteral("nope"), csv, o, &error));
        for (const QString& name : exportableViewNames())
            QVERIFY2(error.contains(name), qPrintable(error));
    }

    // The training view exports like the others, on the same path (its export trains the
    // preset's train block), in a tour too; a preset it cannot train is refused at once, naming
    // the step and the field, instead of waiting for a training that never starts.
    void trainingExportsOrSaysWhyNot() {
        Preset p;
        p.name = "teacher";
        p.view = "training";
        p.spec.depth = 3;
        p.spec.width = 16;
        p.spec.inputDim = 8;
        p.spec.batch = 32;
        p.train = TrainSpec{};
        p.train->task = TrainTask::Teacher;
        p.train->steps = 15;
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        FigureOptions o;
        o.size = QSize(500, 320);
        o.scale = 1;
        QString error;
        TourStop stop;
        stop.preset = p;
        stop.title = "train";
        QStringList files;
        QVERIFY2(exportTourBlocking(QStringLiteral("t"), {stop},
                                    dir.filePath(QStringLiteral("tour")), QStringLiteral("png"), o,
                                    &files, &error),
                 qPrintable(error));
        QCOMPARE(QImage(dir.filePath(QStringLiteral("tour/01-teacher.png"))).size(),
                 QSize(500, 320));
        const QString csv = dir.filePath(QStringLiteral("t.csv"));
        QVERIFY2(exportPresetFigure(p, QStringLiteral("training"), csv, o, &error),
                 qPrintable(error));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().count("loss,train_loss,"), 16); // steps 0..15

        stop.preset.train->task = TrainTask::FashionMnist; // on Gaussian data: cannot train
        QVERIFY(!exportTourBlocking(QStringLiteral("t"), {stop},
                                    dir.filePath(QStringLiteral("bad")), QStringLiteral("png"), o,
                                    &files, &error));
        QVERIFY2(error.contains(QStringLiteral("step 1: data: task fashion-mnist")),
                 qPrintable(error));
    }
};

INITSCOPE_GUI_TEST_MAIN(TestViewRegistry)
#include "test_viewregistry.moc"

// The desktop application: parses a few options, then hands over to ui::MainWindow.
#include "analysisviews.h"
#include "controlpanel.h"
#include "mainwindow.h"
#include "presetdocument.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QMessageBox>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("initscope"));
    QApplication::setApplicationVersion(QStringLiteral(INITSCOPE_VERSION));
    QApplication::setOrganizationName(QStringLiteral("initscope"));
    const QString viewList =
        (initscope::ui::MainWindow::viewNames() + initscope::ui::AnalysisViews::viewNames())
            .join(QStringLiteral(", "));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("See, live, what initialization does to a deep network."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption view(QStringLiteral("view"),
                                  QStringLiteral("View shown at start: %1.").arg(viewList),
                                  QStringLiteral("NAME"));
    const QCommandLineOption perf(QStringLiteral("perf-log"),
                                  QStringLiteral("Print chart update rate and event-loop stalls "
                                                 "once a second (also INITSCOPE_PERF_LOG=1)."));
    const QCommandLineOption depth(QStringLiteral("depth"), QStringLiteral("Depth L."),
                                   QStringLiteral("L"));
    const QCommandLineOption width(QStringLiteral("width"), QStringLiteral("Width N."),
                                   QStringLiteral("N"));
    const QCommandLineOption activation(QStringLiteral("activation"),
                                        QStringLiteral("Activation name."), QStringLiteral("A"));
    const QCommandLineOption init(QStringLiteral("init"), QStringLiteral("Init scheme name."),
                                  QStringLiteral("S"));
    const QCommandLineOption gain(QStringLiteral("gain"), QStringLiteral("Variance gain."),
                                  QStringLiteral("G"));
    const QCommandLineOption sigmaB2(QStringLiteral("sigma-b2"),
                                     QStringLiteral("Bias variance (normal bias init)."),
                                     QStringLiteral("B"));
    const QCommandLineOption theme(QStringLiteral("theme"),
                                   QStringLiteral("system (default), light or dark."),
                                   QStringLiteral("T"));
    const QCommandLineOption exportTo(
        QStringLiteral("export"),
        QStringLiteral("Save the --view of the first finished run to FILE (.png, .svg, .pdf or "
                       ".csv) and quit."),
        QStringLiteral("FILE"));
    parser.addOptions({view, perf, depth, width, activation, init, gain, sigmaB2, theme, exportTo});
    parser.addPositionalArgument(
        QStringLiteral("file"),
        QStringLiteral("A preset (.json) or a figure exported by initscope (.png, .svg) to open; "
                       "the options above then change it."),
        QStringLiteral("[file]"));
    parser.process(app);

    auto fail = [](const QString& m) {
        std::fprintf(stderr, "initscope: %s\n", qPrintable(m));
        return 2;
    };
    initscope::NetworkSpec spec;
    bool ok = true;
    if (parser.isSet(depth) && ((spec.depth = parser.value(depth).toInt(&ok)), !ok))
        return fail(QStringLiteral("--depth needs an integer"));
    if (parser.isSet(width) && ((spec.width = parser.value(width).toInt(&ok)), !ok))
        return fail(QStringLiteral("--width needs an integer"));
    if (parser.isSet(width))
        spec.inputDim = spec.width;
    if (parser.isSet(activation)) {
        auto a = initscope::parseActivation(parser.value(activation).toStdString());
        if (!a)
            return fail(QStringLiteral("unknown activation '%1'").arg(parser.value(activation)));
        spec.activation = *a;
    }
    if (parser.isSet(init) &&
        !initscope::parseInitScheme(parser.value(init).toStdString(), spec.init))
        return fail(QStringLiteral("unknown init scheme '%1'").arg(parser.value(init)));
    if (parser.isSet(gain) && ((spec.gain = parser.value(gain).toDouble(&ok)), !ok))
        return fail(QStringLiteral("--gain needs a number"));
    if (parser.isSet(sigmaB2)) {
        spec.sigmaB2 = parser.value(sigmaB2).toDouble(&ok);
        if (!ok)
            return fail(QStringLiteral("--sigma-b2 needs a number"));
        spec.biasInit = spec.sigmaB2 > 0 ? initscope::BiasInit::Normal : initscope::BiasInit::Zeros;
    }

    const bool perfLog =
        parser.isSet(perf) || qEnvironmentVariableIntValue("INITSCOPE_PERF_LOG") == 1;
    initscope::ui::MainWindow window(perfLog);
    if (parser.isSet(theme)) {
        // the View > Theme menu does the same
        const QString t = parser.value(theme);
        if (t != QLatin1String("system") && t != QLatin1String("light") &&
            t != QLatin1String("dark"))
            return fail(QStringLiteral("--theme must be system, light or dark"));
        window.setTheme(t);
    }
    const QStringList files = parser.positionalArguments();
    if (files.size() > 1)
        return fail(QStringLiteral("one file at a time (got %1)").arg(files.size()));
    if (!files.isEmpty()) {
        initscope::ui::PresetDocument* doc = window.presetDocument();
        // The message goes to stderr when scripted (--export), else to a dialog over the window
        // once it is shown (not over an empty screen before it).
        doc->setDialogsEnabled(false);
        if (!doc->openFile(files.front())) {
            if (parser.isSet(exportTo))
                return fail(doc->lastError());
            QTimer::singleShot(0, &window, [&window, message = doc->lastError()] {
                QMessageBox::warning(&window, QStringLiteral("Cannot open the file"), message);
            });
        }
        doc->setDialogsEnabled(true);
        // options given beside the file change the opened experiment
        initscope::NetworkSpec opened = window.controls()->spec();
        if (parser.isSet(depth))
            opened.depth = spec.depth;
        if (parser.isSet(width)) {
            opened.width = spec.width;
            opened.inputDim = spec.inputDim;
        }
        if (parser.isSet(activation))
            opened.activation = spec.activation;
        if (parser.isSet(init))
            opened.init = spec.init;
        if (parser.isSet(gain))
            opened.gain = spec.gain;
        if (parser.isSet(sigmaB2)) {
            opened.sigmaB2 = spec.sigmaB2;
            opened.biasInit = spec.biasInit;
        }
        spec = opened;
    }
    window.setSpec(spec);
    if (parser.isSet(view) && !window.showView(parser.value(view)))
        return fail(
            QStringLiteral("unknown view '%1' (one of: %2)").arg(parser.value(view), viewList));
    window.show();
    if (parser.isSet(exportTo)) {
        const QString path = parser.value(exportTo);
        QObject::connect(&window, &initscope::ui::MainWindow::chartsUpdated, &window,
                         [&window, path](quint64, bool complete) {
                             if (!complete)
                                 return;
                             QString error;
                             if (!window.exportView(path, &error)) {
                                 std::fprintf(stderr, "initscope: %s\n", qPrintable(error));
                                 QApplication::exit(2);
                             }
                             QApplication::exit(0);
                         });
    }
    return QApplication::exec();
}

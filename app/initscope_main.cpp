// The desktop application: reads its options, then hands over to ui::MainWindow.
#include "model/presetdocument.h"
#include "views/viewregistry.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"
#include "window/presentation.h"
#include "work/tourcontroller.h"

#include <QApplication>
#include <QMessageBox>
#include <QTimer>

#include "spec/options.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("initscope"));
    QApplication::setApplicationVersion(QStringLiteral(INITSCOPE_VERSION));
    QApplication::setOrganizationName(QStringLiteral("initscope"));
    const QString viewList = initscope::ui::viewNames().join(QStringLiteral(", "));
    // the same list for --help, wrapped under its option
    QString wrappedViews, line;
    for (const QString& name : initscope::ui::viewNames()) {
        const QString item = name + QStringLiteral(",");
        if (!line.isEmpty() && 20 + line.size() + 1 + item.size() > 80) {
            wrappedViews += line + QStringLiteral("\n") + QString(20, QLatin1Char(' '));
            line.clear();
        }
        line += (line.isEmpty() ? QString() : QStringLiteral(" ")) + item;
    }
    wrappedViews += line.chopped(1);

    // The same option syntax and run options as initscope-cli (engine/spec/options.h), so that
    // "--width 64" means one thing in both programs.
    auto fail = [](const QString& m) {
        std::fprintf(stderr, "initscope: %s\n", qPrintable(m));
        return 2;
    };
    const QStringList qargs = QApplication::arguments();
    std::vector<std::string> args;
    for (qsizetype i = 1; i < qargs.size(); ++i)
        args.push_back(qargs[i].toStdString());
    if (std::find(args.begin(), args.end(), "--help") != args.end() ||
        std::find(args.begin(), args.end(), "-h") != args.end()) {
        std::printf(
            "Usage: initscope [options] [file]\n"
            "See, live, what initialization does to a deep network.\n\n"
            "  file              a preset (.json) or a figure exported by initscope (.png,\n"
            "                    .svg) to open; run options change it\n"
            "  --view NAME       view shown at start, one of\n"
            "                    %s\n"
            "                    (inputs: the Inputs dock, the first inputs of the batch)\n"
            "  --theme T         system (default), light or dark\n"
            "  --export FILE     save the --view of the first finished run to FILE (.png,\n"
            "                    .svg, .pdf or .csv) and quit\n"
            "  --tour T          step through a tour: lessons (the bundled lesson tour) or a\n"
            "                    tour file (a tour file given as the file does the same)\n"
            "  --step N          open the tour at its step N (from 1)\n"
            "  --present         start in presentation mode (F5 toggles, Esc leaves)\n"
            "  --perf-log        print chart update rate and event-loop stalls once a\n"
            "                    second (also INITSCOPE_PERF_LOG=1)\n"
            "  --version         print the version\n\n"
            "Run options (as in initscope-cli):\n%s",
            qPrintable(wrappedViews), initscope::runOptionsHelp().c_str());
        return 0;
    }
    if (std::find(args.begin(), args.end(), "--version") != args.end()) {
        std::printf("initscope %s\n", INITSCOPE_VERSION);
        return 0;
    }
    std::optional<initscope::CommandLine> cmd;
    std::optional<std::string> viewArg, themeArg, exportArg, tourArg, stepArg;
    bool perfFlag = false, presentFlag = false;
    try {
        cmd.emplace(args, std::vector<std::string>{"perf-log", "present"}, true);
        viewArg = cmd->take("view");
        themeArg = cmd->take("theme");
        exportArg = cmd->take("export");
        perfFlag = cmd->flag("perf-log");
        presentFlag = cmd->flag("present");
        tourArg = cmd->take("tour");
        stepArg = cmd->take("step");
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    const auto qstr = [](const std::optional<std::string>& s) {
        return s ? QString::fromStdString(*s) : QString();
    };

    const bool perfLog = perfFlag || qEnvironmentVariableIntValue("INITSCOPE_PERF_LOG") == 1;
    initscope::ui::MainWindow window(perfLog);
    // A scripted export neither asks before closing nor touches the remembered session; an
    // interactive start comes back as it was left (the experiment only when no file is given).
    bool restored = false;
    if (exportArg)
        window.setConfirmClose(false);
    else
        restored = window.restoreSession(cmd->positional().empty());
    if (themeArg) {
        // the View > Theme menu does the same
        const QString t = qstr(themeArg);
        if (t != QLatin1String("system") && t != QLatin1String("light") &&
            t != QLatin1String("dark"))
            return fail(QStringLiteral("--theme must be system, light or dark"));
        window.setTheme(t);
    }
    const std::vector<std::string>& files = cmd->positional();
    if (files.size() > 1)
        return fail(QStringLiteral("one file at a time (got %1)").arg(files.size()));
    initscope::NetworkSpec spec;
    if (restored)
        spec = window.controls()->spec(); // run options change the remembered experiment
    if (!files.empty()) {
        initscope::ui::PresetDocument* doc = window.presetDocument();
        // The message goes to stderr when scripted (--export), else to a dialog over the window
        // once it is shown (not over an empty screen before it).
        doc->setDialogsEnabled(false);
        if (!doc->openFile(QString::fromStdString(files.front()))) {
            if (exportArg)
                return fail(doc->lastError());
            QTimer::singleShot(0, &window, [&window, message = doc->lastError()] {
                QMessageBox::warning(&window, QStringLiteral("Cannot open the file"), message);
            });
        }
        doc->setDialogsEnabled(true);
        spec = window.controls()->spec(); // run options given beside the file change it
    }
    std::vector<initscope::SpecError> errors;
    try {
        if (!cmd->applyRunOptions(spec, errors) || !(errors = initscope::validate(spec)).empty())
            return fail(QStringLiteral("invalid network:") +
                        QString::fromStdString(initscope::describeErrors(errors, true)));
        cmd->expectEmpty();
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    window.setSpec(spec);
    // Undo starts from the experiment the window opens with, not from the defaults before it
    window.presetDocument()->clearHistory();
    if (viewArg && !window.showView(qstr(viewArg)))
        return fail(QStringLiteral("unknown view '%1' (one of: %2)").arg(qstr(viewArg), viewList));
    if (tourArg) {
        if (*tourArg == "lessons") {
            window.tour()->startLessonTour();
        } else {
            window.tour()->setDialogsEnabled(false);
            if (!window.tour()->openFile(qstr(tourArg)))
                return fail(window.tour()->lastError());
            window.tour()->setDialogsEnabled(true);
        }
    }
    if (stepArg) {
        bool ok = false;
        const int step = qstr(stepArg).toInt(&ok);
        if (!ok || !window.tour()->goTo(step - 1))
            return fail(QStringLiteral("--step must be a step of the tour, from 1 to %1 (got %2)")
                            .arg(window.tour()->count())
                            .arg(qstr(stepArg)));
    }
    window.show();
    if (presentFlag)
        window.presentation()->enter();
    if (exportArg) {
        const QString path = qstr(exportArg);
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

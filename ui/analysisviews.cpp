#include "analysisviews.h"

#include "controlpanel.h"
#include "ensembleview.h"
#include "jacobianview.h"
#include "ntkview.h"
#include "phaseview.h"
#include "rlview.h"
#include "runcontroller.h"
#include "sweepview.h"
#include "trainview.h"

#include <QKeySequence>
#include <QShortcut>
#include <QTabWidget>

#include <cmath>

namespace initscope::ui {

AnalysisViews::AnalysisViews(QTabWidget* tabs, ControlPanel* controls, RunController* controller,
                             QObject* parent)
    : QObject(parent), tabs_(tabs), controls_(controls), phase_(new PhaseView),
      jacobian_(new JacobianView), ntk_(new NtkView), ensemble_(new EnsembleView),
      sweep_(new SweepView), train_(new TrainView), rl_(new RlView) {
    phase_->setObjectName(QStringLiteral("phase"));
    jacobian_->setObjectName(QStringLiteral("jacobian"));
    ntk_->setObjectName(QStringLiteral("ntk"));
    ensemble_->setObjectName(QStringLiteral("ensemble"));
    sweep_->setObjectName(QStringLiteral("sweep"));
    train_->setObjectName(QStringLiteral("training"));
    rl_->setObjectName(QStringLiteral("rl"));
    tabs->addTab(phase_, tr("&Phase"));
    tabs->addTab(jacobian_, tr("&Jacobian"));
    tabs->addTab(ntk_, tr("&NTK"));
    tabs->addTab(ensemble_, tr("&Ensemble"));
    tabs->addTab(sweep_, tr("S&weep"));
    tabs->addTab(train_, tr("T&raining"));
    tabs->addTab(rl_, tr("R&L"));
    connect(controller, &RunController::runStarted, this,
            [this](quint64, const NetworkSpec& spec, const TheoryCurves&) { setSpec(spec); });
    connect(phase_, &PhaseView::pointChosen, this, [this](double sw2, double sb2) {
        // sigma_w^2 through the gain of the current scheme (as the Critical button does), and
        // sigma_b^2 with normal biases
        NetworkSpec s = controls_->spec();
        const double gain = ControlPanel::gainFor(s, sw2);
        if (!std::isfinite(gain) || gain < 0 || gain > Limits::kMaxGain) {
            emit message(tr("The %1 scheme cannot be scaled to sigma_w^2 = %2.")
                             .arg(QString::fromStdString(initSchemeName(s.init)))
                             .arg(sw2));
            return;
        }
        s.gain = gain;
        s.biasInit = BiasInit::Normal;
        s.sigmaB2 = sb2;
        emit message(tr("Phase diagram: sigma_w^2 = %1 (gain %2), sigma_b^2 = %3.")
                         .arg(sw2)
                         .arg(gain, 0, 'g', 6)
                         .arg(sb2));
        emit specRequested(s);
    });
    // Ctrl+6 .. Ctrl+0 beside the main window's Ctrl+1 .. Ctrl+5 for the layer views
    const Qt::Key keys[] = {Qt::Key_6, Qt::Key_7, Qt::Key_8, Qt::Key_9, Qt::Key_0};
    QWidget* views[] = {phase_, jacobian_, ntk_, ensemble_, sweep_};
    for (int i = 0; i < 5; ++i) {
        auto* shortcut = new QShortcut(QKeySequence(Qt::CTRL | keys[i]), tabs);
        connect(shortcut, &QShortcut::activated, this,
                [this, w = views[i]] { tabs_->setCurrentWidget(w); });
    }
    setSpec(controls->spec());
}

QStringList AnalysisViews::viewNames() {
    return {QStringLiteral("phase"),    QStringLiteral("jacobian"), QStringLiteral("ntk"),
            QStringLiteral("ensemble"), QStringLiteral("sweep"),    QStringLiteral("training"),
            QStringLiteral("rl")};
}

bool AnalysisViews::showView(const QString& name) {
    QWidget* views[] = {phase_, jacobian_, ntk_, ensemble_, sweep_, train_, rl_};
    const auto i = viewNames().indexOf(name.toLower());
    if (i < 0)
        return false;
    tabs_->setCurrentWidget(views[i]);
    return true;
}

void AnalysisViews::setSpec(const NetworkSpec& spec) {
    phase_->setSpec(spec);
    jacobian_->setSpec(spec);
    ntk_->setSpec(spec);
    ensemble_->setSpec(spec);
    sweep_->setSpec(spec);
    train_->setSpec(spec);
    rl_->setSpec(spec);
}

} // namespace initscope::ui

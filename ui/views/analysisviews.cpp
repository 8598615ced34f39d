#include "views/analysisviews.h"

#include "views/ensembleview.h"
#include "views/jacobianview.h"
#include "views/mamlview.h"
#include "views/ntkview.h"
#include "views/phaseview.h"
#include "views/pinnview.h"
#include "views/rlview.h"
#include "views/sweepview.h"
#include "views/trainabilityview.h"
#include "views/trainview.h"
#include "window/controlpanel.h"
#include "work/runcontroller.h"

#include <QKeySequence>
#include <QShortcut>
#include <QTabWidget>

#include <cmath>

namespace initscope::ui {

AnalysisViews::AnalysisViews(QTabWidget* tabs, ControlPanel* controls, RunController* controller,
                             QObject* parent)
    : QObject(parent), tabs_(tabs), controls_(controls), phase_(new PhaseView),
      jacobian_(new JacobianView), ntk_(new NtkView), ensemble_(new EnsembleView),
      sweep_(new SweepView), train_(new TrainView), pinn_(new PinnView), maml_(new MamlView),
      trainability_(new TrainabilityView), rl_(new RlView) {
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
    pinn_->setObjectName(QStringLiteral("pinn"));
    tabs->addTab(pinn_, tr("P&INN"));
    maml_->setObjectName(QStringLiteral("maml"));
    tabs->addTab(maml_, tr("&MAML"));
    // ---- work-W: MAML's learned weights go to the main window (MainWindow::loadWeights)
    connect(maml_, &MamlView::weightsRequested, this, &AnalysisViews::weightsRequested);
    trainability_->setObjectName(QStringLiteral("trainability"));
    tabs->addTab(trainability_, tr("Trainabilit&y"));
    connect(trainability_, &TrainabilityView::cellChosen, this, [this](const NetworkSpec& cell) {
        // the cell's network: depth, lecun-normal with gain sigma_w^2, on Fashion-MNIST
        NetworkSpec s = controls_->spec();
        s.depth = cell.depth;
        s.init = cell.init;
        s.gain = cell.gain;
        s.data = cell.data;
        s.inputDim = cell.inputDim;
        emit message(tr("Trainability map: depth %1, lecun-normal with gain \u03c3_w\u00b2 = %2.")
                         .arg(cell.depth)
                         .arg(cell.gain, 0, 'g', 4));
        emit specRequested(s);
    });
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
            QStringLiteral("pinn"),     QStringLiteral("maml"),     QStringLiteral("trainability"),
            QStringLiteral("rl")};
}

bool AnalysisViews::showView(const QString& name) {
    QWidget* views[] = {phase_, jacobian_, ntk_,  ensemble_,     sweep_,
                        train_, pinn_,     maml_, trainability_, rl_};
    const auto i = viewNames().indexOf(name.toLower());
    if (i < 0)
        return false;
    tabs_->setCurrentWidget(views[i]);
    return true;
}

// ---- work-W: the views that compute on the spec's own draws say so while the main views run
// on loaded weights
void AnalysisViews::setWeightsNote(const QString& note) {
    jacobian_->setWeightsNote(note);
    ntk_->setWeightsNote(note);
}

void AnalysisViews::setSpec(const NetworkSpec& spec) {
    phase_->setSpec(spec);
    jacobian_->setSpec(spec);
    ntk_->setSpec(spec);
    ensemble_->setSpec(spec);
    sweep_->setSpec(spec);
    train_->setSpec(spec);
    pinn_->setSpec(spec);
    maml_->setSpec(spec);
    trainability_->setSpec(spec);
    rl_->setSpec(spec);
}

} // namespace initscope::ui

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
#include "views/viewregistry.h"
#include "window/controlpanel.h"
#include "work/runcontroller.h"

#include <QBoxLayout>
#include <QLabel>

#include <cmath>

namespace initscope::ui {

AnalysisViews::AnalysisViews(ControlPanel* controls, RunController* controller, QObject* parent)
    : QObject(parent), controls_(controls) {
    for (const ViewInfo& v : viewRegistry())
        if (!v.isLayerView())
            views_.emplace_back(v.name, v.make());
    // MAML's learned weights go to the main window (MainWindow::loadWeights)
    connect(maml(), &MamlView::weightsRequested, this, &AnalysisViews::weightsRequested);
    connect(trainability(), &TrainabilityView::cellChosen, this, [this](const NetworkSpec& cell) {
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
    connect(controller, &RunController::runStarted, this,
            [this](quint64, const NetworkSpec& spec, const TheoryCurves&) { setSpec(spec); });
    connect(phase(), &PhaseView::pointChosen, this, [this](double sw2, double sb2) {
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
    setSpec(controls->spec());
}

QStringList AnalysisViews::viewNames() {
    return analysisViewNames();
}

QWidget* AnalysisViews::widget(const QString& name) const {
    const QString n = name.toLower();
    for (const auto& [viewName, w] : views_)
        if (viewName == n)
            return w;
    return nullptr;
}

// The views that compute on the spec's own draws say so while the main views run on loaded
// weights: the Jacobian and NTK in a line of their own, every other view that builds a network
// (ensemble, sweep, training, trainability, pinn, maml, rl; not the phase diagram, which is
// theory only) in a line added above its contents.
void AnalysisViews::setWeightsNote(const QString& note) {
    jacobian()->setWeightsNote(note);
    ntk()->setWeightsNote(note);
    for (const auto& [name, w] : views_) {
        if (name == QLatin1String("jacobian") || name == QLatin1String("ntk") ||
            name == QLatin1String("phase"))
            continue;
        auto* label = w->findChild<QLabel*>(QStringLiteral("weightsNote"));
        if (!label) {
            auto* box = qobject_cast<QBoxLayout*>(w->layout());
            if (!box)
                continue;
            label = new QLabel;
            label->setObjectName(QStringLiteral("weightsNote"));
            label->setWordWrap(true);
            box->insertWidget(0, label);
        }
        label->setText(note);
        label->setVisible(!note.isEmpty());
    }
}

void AnalysisViews::setSpec(const NetworkSpec& spec) {
    for (const auto& [name, w] : views_)
        findView(name)->setSpec(w, spec);
}

PhaseView* AnalysisViews::phase() const {
    return qobject_cast<PhaseView*>(widget(QStringLiteral("phase")));
}
JacobianView* AnalysisViews::jacobian() const {
    return qobject_cast<JacobianView*>(widget(QStringLiteral("jacobian")));
}
NtkView* AnalysisViews::ntk() const {
    return qobject_cast<NtkView*>(widget(QStringLiteral("ntk")));
}
EnsembleView* AnalysisViews::ensemble() const {
    return qobject_cast<EnsembleView*>(widget(QStringLiteral("ensemble")));
}
SweepView* AnalysisViews::sweep() const {
    return qobject_cast<SweepView*>(widget(QStringLiteral("sweep")));
}
TrainView* AnalysisViews::training() const {
    return qobject_cast<TrainView*>(widget(QStringLiteral("training")));
}
PinnView* AnalysisViews::pinn() const {
    return qobject_cast<PinnView*>(widget(QStringLiteral("pinn")));
}
MamlView* AnalysisViews::maml() const {
    return qobject_cast<MamlView*>(widget(QStringLiteral("maml")));
}
TrainabilityView* AnalysisViews::trainability() const {
    return qobject_cast<TrainabilityView*>(widget(QStringLiteral("trainability")));
}
RlView* AnalysisViews::rl() const {
    return qobject_cast<RlView*>(widget(QStringLiteral("rl")));
}

} // namespace initscope::ui

// The analysis tabs of issue 5 (phase diagram, Jacobian spectrum, NTK, seed ensemble, sweep)
// added to the main window's view tabs. Each view follows the spec of the runs the RunController
// starts (so presets, controls and buttons all reach it) and computes on its own JobWorker;
// a click in the phase diagram comes back as a spec for the main window to apply.
#pragma once

#include "spec/spec.h"
#include "work/runcontroller.h" // Q_DECLARE_METATYPE(NetworkSpec) before moc sees the signal

#include <QObject>
#include <QStringList>

class QTabWidget;

namespace initscope::ui {

class ControlPanel;
class EnsembleView;
class JacobianView;
class MamlView;
class NtkView;
class PhaseView;
class PinnView;
class RlView;
class RunController;
class SweepView;
class TrainView;
class TrainabilityView;

class AnalysisViews : public QObject {
    Q_OBJECT
public:
    /// Appends the six tabs to `tabs` in the order of viewNames().
    AnalysisViews(QTabWidget* tabs, ControlPanel* controls, RunController* controller,
                  QObject* parent = nullptr);

    /// phase, jacobian, ntk, ensemble, sweep, training, pinn, maml, trainability, rl
    static QStringList viewNames();
    /// Selects the view `name` (one of viewNames()); false for another name.
    bool showView(const QString& name);
    /// Passes `spec` to every view (each decides whether and when to recompute).
    void setSpec(const NetworkSpec& spec);
    /// work-W: a note shown by the Jacobian and NTK views while the main views run on loaded
    /// weights (they compute on the spec's drawn weights); empty: none.
    void setWeightsNote(const QString& note);

    PhaseView* phase() const { return phase_; }
    JacobianView* jacobian() const { return jacobian_; }
    NtkView* ntk() const { return ntk_; }
    EnsembleView* ensemble() const { return ensemble_; }
    SweepView* sweep() const { return sweep_; }
    TrainView* training() const { return train_; }
    PinnView* pinn() const { return pinn_; }
    MamlView* maml() const { return maml_; }
    TrainabilityView* trainability() const { return trainability_; }
    RlView* rl() const { return rl_; }

signals:
    /// The user chose new settings in a view (a click in the phase diagram).
    void specRequested(const initscope::NetworkSpec& spec);
    /// work-W: "Load learned init" in the MAML view: run the main views on these weights.
    void weightsRequested(const initscope::ui::LoadedWeightsPtr& weights);
    /// A status-bar message.
    void message(const QString& text);

private:
    QTabWidget* tabs_;
    ControlPanel* controls_;
    PhaseView* phase_;
    JacobianView* jacobian_;
    NtkView* ntk_;
    EnsembleView* ensemble_;
    SweepView* sweep_;
    TrainView* train_;
    PinnView* pinn_;
    MamlView* maml_;
    TrainabilityView* trainability_;
    RlView* rl_;
};

} // namespace initscope::ui

// The analysis views (every row of viewregistry.h that is not a layer view: phase diagram,
// Jacobian spectrum, NTK, seed ensemble, sweep, training, PINN, MAML, trainability, RL), made
// from their registry rows for the main window to put in its tabs. Each view follows the spec
// of the runs the RunController starts (so presets, controls and buttons all reach it) and
// computes on its own JobWorker; a click in the phase diagram comes back as a spec for the
// main window to apply.
#pragma once

#include "spec/spec.h"
#include "work/runcontroller.h" // Q_DECLARE_METATYPE(NetworkSpec) before moc sees the signal

#include <QObject>
#include <QStringList>

#include <utility>
#include <vector>

class QWidget;

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
    AnalysisViews(ControlPanel* controls, RunController* controller, QObject* parent = nullptr);

    /// The analysis views' names in tab order (viewregistry.h analysisViewNames()).
    static QStringList viewNames();
    /// The view `name` (one of viewNames(), case-insensitive), or null. Not yet parented: the
    /// main window puts every view in its tabs.
    QWidget* widget(const QString& name) const;
    /// Passes `spec` to every view (each decides whether and when to recompute).
    void setSpec(const NetworkSpec& spec);
    /// work-W: a note shown by the Jacobian and NTK views while the main views run on loaded
    /// weights (they compute on the spec's drawn weights); empty: none.
    void setWeightsNote(const QString& note);

    PhaseView* phase() const;
    JacobianView* jacobian() const;
    NtkView* ntk() const;
    EnsembleView* ensemble() const;
    SweepView* sweep() const;
    TrainView* training() const;
    PinnView* pinn() const;
    MamlView* maml() const;
    TrainabilityView* trainability() const;
    RlView* rl() const;

signals:
    /// The user chose new settings in a view (a click in the phase diagram).
    void specRequested(const initscope::NetworkSpec& spec);
    /// work-W: "Load learned init" in the MAML view: run the main views on these weights.
    void weightsRequested(const initscope::ui::LoadedWeightsPtr& weights);
    /// A status-bar message.
    void message(const QString& text);

private:
    ControlPanel* controls_;
    std::vector<std::pair<QString, QWidget*>> views_; // by registry name, in tab order
};

} // namespace initscope::ui

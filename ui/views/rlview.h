// The RL view (THEORY.md scenario 16; issue 13): optimism through the output bias of a Q-network
// whose trunk is the controls' mlp. The initial Q-values of the three inits (zero bias,
// optimistic bias with the scheme's weights, optimistic bias with large readout weights) as
// overlaid histograms with their biases marked, then the learning curves of greedy Q-learning on
// the engine's seeded contextual bandit (engine/apps/rl.h): cumulative regret, actions tried per
// state and the mean Q-value against episodes. Runs on the view's JobWorker with progress; Cancel
// stops it. A new spec or setting reruns it (debounced) while the view is visible, unless the
// estimate is long (then Run starts it).
#pragma once

#include "apps/rl.h"
#include "work/jobworker.h"
#include "work/viewrefresh.h"

#include <QWidget>

class QChartView;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class RlView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 300;
    /// Longer estimates wait for Run instead of starting on a change.
    static constexpr double kAutoRunSeconds = 15.0;

    explicit RlView(QWidget* parent = nullptr);
    ~RlView() override;

    void setSpec(const NetworkSpec& spec);
    /// The settings of the view's controls.
    RlSpec rlSpec() const;
    void setRlSpec(const RlSpec& rl);
    /// Why a computation would be refused for the current spec and settings (the field named),
    /// or empty.
    QString problems() const;
    /// Starts a computation now (the current spec and settings).
    void run();
    /// With `on`, a change computes whatever its estimate (an export); else estimates over
    /// kAutoRunSeconds wait for Run.
    void setRunsLongEstimates(bool on) { runsLong_ = on; }
    void cancel();
    /// Shows what `other` shows (settings and result), for figure export.
    void showSameAs(const RlView& other);

    // ---- for tests and export
    const RlResult& result() const { return result_; }
    bool running() const { return running_; }
    QString summaryText() const;
    QChartView* histogramChart() const { return histView_; }
    QChartView* regretChart() const { return regretView_; }
    QChartView* triedChart() const { return triedView_; }
    QChartView* qChart() const { return qView_; }
    QProgressBar* progress() const { return progress_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* cancelButton() const { return cancel_; }
    QDoubleSpinBox* qOptBox() const { return qOpt_; }
    QSpinBox* episodesBox() const { return episodes_; }
    JobWorker& worker() { return worker_; }

signals:
    /// A complete result is now drawn.
    void resultShown();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void compute(bool force);
    bool runsLong_ = false;
    void display(const RlResult& r);
    void setRunning(bool on);

    QDoubleSpinBox* qOpt_;
    QSpinBox* episodes_;
    QSpinBox* actions_;
    QSpinBox* states_;
    QDoubleSpinBox* largeGain_;
    QDoubleSpinBox* lr_;
    QPushButton* run_;
    QPushButton* cancel_;
    QProgressBar* progress_;
    QLabel* summary_;

    QChartView* histView_;
    QValueAxis* histX_;
    QValueAxis* histY_;
    std::vector<QLineSeries*> hist_;      // per init
    std::vector<QLineSeries*> biasLines_; // zero bias, Q_opt
    QChartView* regretView_;
    QValueAxis* regretX_;
    QValueAxis* regretY_;
    std::vector<QLineSeries*> regret_;
    QLineSeries* regretNone_;
    QChartView* triedView_;
    QValueAxis* triedX_;
    QValueAxis* triedY_;
    std::vector<QLineSeries*> tried_;
    QChartView* qView_;
    QValueAxis* qX_;
    QValueAxis* qY_;
    std::vector<QLineSeries*> qMean_;
    QLineSeries* muMean_;

    ViewRefresh refresh_;
    RlResult result_;
    bool running_ = false;
    JobWorker worker_;
};

} // namespace initscope::ui

// The MAML view (THEORY.md scenario 18; issue 13): does a meta-learned init raise the weight
// variance on steep task families? Both families (steep, gentle) meta-learned from the same Xavier
// start over several seeds (engine/apps/maml.h's runMaml, on the view's JobWorker, streamed record
// by record, cancellable): each layer's effective sigma_w^2 = fan_in Var(W) against meta-step, the
// saturated fraction, the inner-loop gradient norm and the adapted query loss, means over the
// seeds. "Load learned init" hands the main views the learned weights themselves (the family's
// first seed: engine/apps/maml.h's mamlWeights, the trunk as the engine's float layers) with the
// closest spec for the controls and the theory curves: lecun-normal with the learned mean
// sigma_w^2 of the hidden layers as gain, normal biases with the learned mean Var(b).
#pragma once

#include "apps/maml.h"
#include "spec/spec.h"
#include "work/jobworker.h"
#include "work/runcontroller.h"

#include <QWidget>

#include <optional>
#include <vector>

class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class MamlView : public QWidget {
    Q_OBJECT
public:
    explicit MamlView(QWidget* parent = nullptr);
    ~MamlView() override;

    /// The main controls' spec: the view takes its seed (first seed) and thread count; its
    /// network is its own (a sine task has one input): depth and width from the view's boxes.
    void setSpec(const NetworkSpec& spec);
    void setSettings(const MamlViewSettings& s);
    MamlViewSettings settings() const;
    /// Why Start would refuse the current network and settings (the field named), or empty.
    QString problems() const;
    /// The network meta-learned: mamlDefaultSpec() with the view's depth and width, the main
    /// spec's seed and threads.
    NetworkSpec networkSpec() const;

    void start();
    void stop();
    bool running() const { return running_; }

    /// Shows what `other` shows (its runs and settings), for figure export.
    void showSameAs(const MamlView& other);

    struct Run {
        MamlTasks tasks = MamlTasks::Steep;
        std::uint64_t seed = 1;
        std::vector<MamlRecord> records;
        std::vector<double> learned; // theta_0 after the last meta-step (once done)
        bool done = false;
    };
    const std::vector<Run>& runs() const { return runs_; }
    /// The closest spec to the learned init of `tasks` (means over the finished seeds' last
    /// records); nullopt before one has finished.
    std::optional<NetworkSpec> learnedSpec(MamlTasks tasks) const;
    /// The learned weights of `tasks`' first seed that has finished (the run's own learned
    /// theta_0 as the engine's trunk, with mamlLearnedSpec of its last record); null before.
    LoadedWeightsPtr learnedWeights(MamlTasks tasks) const;

    QPushButton* startButton() const { return start_; }
    QPushButton* stopButton() const { return stop_; }
    QPushButton* loadButton() const { return load_; }
    QComboBox* loadFamilyBox() const { return loadFamily_; }
    QSpinBox* metaStepsBox() const { return metaSteps_; }
    QSpinBox* seedsBox() const { return seeds_; }
    QSpinBox* supportBox() const { return support_; }
    QSpinBox* queryBox() const { return query_; }
    QProgressBar* progress() const { return progress_; }
    QChartView* sigmaChart() const { return sigmaView_; }
    QChartView* saturationChart() const { return satView_; }
    QChartView* gradientChart() const { return gradView_; }
    QChartView* lossChart() const { return lossView_; }
    QString statusText() const;
    QString loadText() const;

signals:
    /// Every run of a start finished and is drawn.
    void resultShown();
    /// "Load learned init": the learned weights (and their spec) for the main views.
    void weightsRequested(const initscope::ui::LoadedWeightsPtr& weights);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void received(int run, const MamlRecord& r);
    void runDone(int run, const QString& error, std::vector<double> learned);
    void draw();
    void updateButtons();
    void updateLoadText();
    /// Mean over the seeds of family `tasks` of record index i's value v(record).
    template <class F> QList<QPointF> meanCurve(MamlTasks tasks, F&& value) const;

    NetworkSpec spec_; // of the main controls
    MamlViewSettings shown_;
    NetworkSpec shownNet_;
    std::vector<Run> runs_;
    bool running_ = false;
    bool started_ = false; // something was started (or copied) since construction
    int stepsDone_ = 0;

    QSpinBox* depth_;
    QSpinBox* width_;
    QSpinBox* metaSteps_;
    QSpinBox* innerSteps_;
    QDoubleSpinBox* innerLr_;
    QDoubleSpinBox* metaLr_;
    QSpinBox* seeds_;
    QSpinBox* support_;
    QSpinBox* query_;
    QPushButton* start_;
    QPushButton* stop_;
    QProgressBar* progress_;
    QLabel* status_;
    QComboBox* loadFamily_;
    QPushButton* load_;
    QLabel* loadLabel_;

    QChartView* sigmaView_;
    QValueAxis* sigmaX_;
    QLogValueAxis* sigmaY_;
    std::vector<QLineSeries*> sigmaSeries_; // [family * layers + layer]
    QChartView* satView_;
    QValueAxis* satX_;
    QValueAxis* satY_;
    QLineSeries* satSeries_[2];
    QChartView* gradView_;
    QValueAxis* gradX_;
    QLogValueAxis* gradY_;
    QLineSeries* gradSeries_[2];
    QChartView* lossView_;
    QValueAxis* lossX_;
    QLogValueAxis* lossY_;
    QLineSeries* lossSeries_[2];

    JobWorker worker_;
};

} // namespace initscope::ui

// The Training view (THEORY.md, "Training"; issue 12): the network of the controls trained by
// mini-batch gradient descent on Fashion-MNIST or a random teacher, live. Loss and accuracy
// against step as they arrive; a per-layer statistic of the trunk at a chosen recorded step beside
// its value at initialisation (step 0), and as a layer x step heatmap. Start, pause/resume and
// stop; progress with an estimate of the time left. Training runs on the view's JobWorker
// (engine/train/train.h's trainNetwork); steps arrive as values; pausing holds the training thread
// between two steps, stopping cancels it between steps.
#pragma once

#include "charts/gridheatmap.h"
#include "spec/spec.h"
#include "train/train.h"
#include "work/jobworker.h"

#include <QElapsedTimer>
#include <QTimer>
#include <QWidget>

#include <atomic>
#include <memory>
#include <vector>

class QCheckBox;
class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QScatterSeries;
class QSlider;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class TrainView : public QWidget {
    Q_OBJECT
public:
    explicit TrainView(QWidget* parent = nullptr);
    ~TrainView() override;

    /// The settings of the main controls: what Start trains next (a training in progress goes on
    /// with the network it started with).
    void setSpec(const NetworkSpec& spec);
    /// The training settings of the view's own controls (and those without a control: classes,
    /// the transfer's pre-training, outputs, as the last setTrainSpec gave them).
    TrainSpec trainSpec() const;
    /// Sets the controls to `t` (a preset's "train" block); a training in progress goes on.
    void setTrainSpec(const TrainSpec& t);
    QCheckBox* freezeBox() const { return freeze_; }
    /// Problems of (spec, trainSpec()), one per line, naming the fields; empty when Start can run.
    QString problems() const;
    /// Why the last training failed (an error of the engine), or empty.
    QString failure() const { return failure_; }

    void start();
    void togglePause();
    void stop();
    bool training() const { return training_; }
    bool paused() const;

    /// Shows what `other` shows (its curves, statistic and step), for figure export.
    void showSameAs(const TrainView& other);

    /// Steps received so far (layers filled at recorded steps).
    const std::vector<TrainStep>& steps() const { return steps_; }
    QPushButton* startButton() const { return start_; }
    QPushButton* pauseButton() const { return pause_; }
    QPushButton* stopButton() const { return stop_; }
    QSpinBox* stepsBox() const { return steps_box_; }
    QSpinBox* recordEveryBox() const { return record_; }
    QComboBox* taskBox() const { return task_; }
    QComboBox* optimizerBox() const { return optimizer_; }
    QDoubleSpinBox* learningRateBox() const { return lr_; }
    QComboBox* statisticBox() const { return statistic_; }
    /// Draws the statistic `key` (statschema.h) per layer and per step; false for a key it does
    /// not offer.
    bool setStatistic(const QString& key);
    QSlider* stepSlider() const { return stepSlider_; }
    QChartView* lossChart() const { return lossView_; }
    /// With heads: one loss curve per head (legend = the head's name), in the spec's order,
    /// beside the total loss (sum of weight_h loss_h); empty without heads.
    const std::vector<QLineSeries*>& headLossSeries() const { return headLoss_; }
    QChartView* accuracyChart() const { return accView_; }
    QChartView* statisticChart() const { return statView_; }
    GridHeatmap* heatmap() const { return heatmap_; }
    QProgressBar* progress() const { return progress_; }
    QString statusText() const;

signals:
    /// A step arrived and is drawn.
    void stepShown(int step);
    /// The training ended: completed all steps (true) or was stopped / failed (false).
    void trainingEnded(bool completed);

private:
    void received(const TrainStep& s);
    void finished(const TrainResult& summary, const QString& error);
    void updateButtons();
    void updateProblems();
    void drawCurves();
    /// The head loss series for `names` (made again when the heads changed).
    void ensureHeadSeries(const std::vector<std::string>& names);
    void drawStatistic();
    void renderHeatmap();
    /// Every chart and the heatmap from steps_ (the heatmap's image rendered on render_).
    void redrawAll();
    int recordedIndexOfSlider() const;

    NetworkSpec spec_;        // of the controls
    NetworkSpec trainedSpec_; // of the training shown
    TrainSpec trainedTrain_;
    TrainSpec extra_; // the settings without a control (setTrainSpec)
    QLabel* extraLabel_ = nullptr;
    std::vector<TrainStep> steps_;
    std::vector<int> recorded_; // indices into steps_ with layers
    bool training_ = false;
    QString failure_; // the last training's error
    std::shared_ptr<std::atomic<bool>> paused_ = std::make_shared<std::atomic<bool>>(false);
    QElapsedTimer clock_; // running time of the training (paused time excluded)
    QTimer* redraw_;      // the curves are redrawn at most kRedrawMs apart, not per step
    qint64 activeMs_ = 0;

    QComboBox* task_;
    QComboBox* optimizer_;
    QDoubleSpinBox* lr_;
    QSpinBox* steps_box_;
    QSpinBox* record_;
    QCheckBox* freeze_;
    QPushButton* start_;
    QPushButton* pause_;
    QPushButton* stop_;
    QProgressBar* progress_;
    QLabel* status_;
    QLabel* problems_;

    QChartView* lossView_;
    QValueAxis* lossX_;
    QLogValueAxis* lossY_;
    QLineSeries* trainLoss_;
    QScatterSeries* testLoss_;
    std::vector<QLineSeries*> headLoss_; // per head (TrainStep::heads), object name head_loss_NAME
    QChartView* accView_;
    QValueAxis* accX_;
    QValueAxis* accY_;
    QLineSeries* trainAcc_;
    QScatterSeries* testAcc_;

    QComboBox* statistic_;
    QSlider* stepSlider_;
    QLabel* stepLabel_;
    QChartView* statView_;
    QValueAxis* statX_;
    QValueAxis* statY_;
    QLogValueAxis* statLogY_;
    QLineSeries* statInit_;
    QLineSeries* statNow_;
    GridHeatmap* heatmap_;

    JobWorker worker_; // the training
    JobWorker render_; // the heatmap image, off the GUI thread
};

} // namespace initscope::ui

// The trainability view (THEORY.md "Trainability"; Schoenholz et al. 2017, Fig. 5): a map over
// depth (y) x sigma_w^2 (x) at the spec's sigma_b^2, each cell the spec's mlp with that depth and
// lecun-normal weights of gain sigma_w^2 trained on Fashion-MNIST (trainability.h), coloured by
// test accuracy (or the training loss), with the mean-field curves 6 xi_c and xi_c over it.
// A map takes minutes: it starts with Start (never by itself, except for an export), fills in
// cell by cell from a JobWorker with progress and the time left, and stops with Stop. A click on
// a trained cell asks for that cell's network in the main controls.
#pragma once

#include "charts/gridheatmap.h"
#include "spec/spec.h"
#include "train/trainability.h"
#include "work/jobworker.h"
#include "work/runcontroller.h" // Q_DECLARE_METATYPE(NetworkSpec) before moc sees the signal

#include <QElapsedTimer>
#include <QWidget>

#include <vector>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace initscope::ui {

class TrainabilityView : public QWidget {
    Q_OBJECT
public:
    explicit TrainabilityView(QWidget* parent = nullptr);
    ~TrainabilityView() override;

    /// The network every cell shares (width, activation, sigma_b^2, batch, seed, threads); its
    /// depth and init are the map's. Stops a map in progress when the base changes.
    void setSpec(const NetworkSpec& spec);
    void setSettings(const TrainabilitySettings& settings);
    TrainabilitySettings settings() const;
    /// The base as the map trains it: the spec on Fashion-MNIST images.
    NetworkSpec baseSpec() const;
    /// Problems that keep Start disabled (empty when the map can run).
    QString problems() const;
    void start();
    void stop();
    bool running() const { return running_; }
    /// Shows what `other` shows (settings and the cells received) without computing.
    void showSameAs(const TrainabilityView& other);

    GridHeatmap* heatmap() const { return heatmap_; }
    int cellsDone() const { return static_cast<int>(cells_.size()); }
    int cellCount() const;
    const std::vector<TrainabilityCell>& cells() const { return cells_; }
    /// Centre of cell (row = depth index, col = sigma_w^2 index) in data coordinates.
    QPointF cellCentre(int row, int col) const;
    double progress() const { return progress_; }

signals:
    /// A click on a trained cell: the network of that cell (depth, lecun-normal, gain sigma_w^2).
    void cellChosen(const initscope::NetworkSpec& spec);
    /// Every cell of the map has arrived.
    void mapComplete();
    /// The map was stopped before its end.
    void mapStopped();

private:
    void refreshEstimate();
    void showGrid();
    void onClicked(QPointF data);
    void setRunning(bool running);
    struct Axes {
        std::vector<int> depths;
        std::vector<double> sigmaW2;
    };

    GridHeatmap* heatmap_;
    QSpinBox *depthFrom_, *depthTo_, *depthSteps_, *steps_;
    QDoubleSpinBox *swFrom_, *swTo_;
    QSpinBox* swSteps_;
    QComboBox* colour_;
    QPushButton *start_, *stop_;
    QProgressBar* bar_;
    QLabel* note_;
    NetworkSpec spec_;
    TrainabilitySettings shown_; // the settings of the cells shown
    NetworkSpec shownBase_;      // and their base
    std::vector<TrainabilityCell> cells_;
    std::vector<double> curveSigma_, xiC_; // the mean-field curve, on a fine sigma_w^2 grid
    double criticalSigmaW2_ = qQNaN();
    double progress_ = 0;
    bool running_ = false;
    QElapsedTimer sinceStart_;
    JobWorker worker_; // last: joined first on destruction
};

} // namespace initscope::ui

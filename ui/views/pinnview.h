// The PINN view (THEORY.md scenario 15; issue 13): u(t, x) = MLP([t, x]) for u_t + c u_x = 0 on
// the network of the controls (its input is (t, x): input_dim 2). At init, against the wave
// speed c on log-log axes: rms r, ||grad mean r|| and ||grad loss|| with their fitted slopes
// (over c >= 10 and the whole range) in the legend; then the training curves at a small and a
// large c, and u(t, x) as heatmaps at init and after each training. Computed by
// engine/apps/pinn.h's runPinn on the view's JobWorker, with progress, cancellable; the heatmap
// images are rendered there too.
#pragma once

#include "apps/pinn.h"
#include "charts/gridheatmap.h"
#include "spec/spec.h"
#include "work/jobworker.h"

#include <QTimer>
#include <QWidget>

#include <memory>
#include <optional>

class QChartView;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class PinnView : public QWidget {
    Q_OBJECT
public:
    explicit PinnView(QWidget* parent = nullptr);
    ~PinnView() override;

    /// The network of the controls (input_dim is set to 2). When it changes while the view is
    /// visible, the measurement restarts (debounced); when hidden, the next show restarts it.
    void setSpec(const NetworkSpec& spec);
    /// The view's settings (a preset's view_settings) into its controls.
    void setSettings(const PinnSpec& p);
    /// The settings of the controls.
    PinnSpec settings() const;
    /// Why Start would refuse the current spec and settings (the fields named), or empty.
    QString problems() const;
    /// The spec the view measures: the controls' with input_dim 2.
    NetworkSpec pinnSpec() const;
    /// Shows what `other` shows, without computing (the copy an export draws).
    void showSameAs(const PinnView& other);

    const std::optional<PinnResult>& result() const { return result_; }
    bool running() const { return worker_.busy(); }
    QChartView* lawChart() const { return lawView_; }
    QChartView* trainingChart() const { return trainView_; }
    GridHeatmap* initMap() const { return maps_[0]; }
    GridHeatmap* smallMap() const { return maps_[1]; }
    GridHeatmap* largeMap() const { return maps_[2]; }
    QProgressBar* progressBar() const { return progress_; }
    QPushButton* startButton() const { return start_; }
    QPushButton* stopButton() const { return stop_; }
    QString summaryText() const;

public slots:
    void start();
    void stop();

signals:
    /// A complete result is drawn.
    void resultShown();
    /// The measurement ended: complete (true) or cancelled / failed (false).
    void finished(bool complete);

protected:
    void showEvent(QShowEvent* event) override;

private:
    struct Images {
        GridImage maps[3];
    };
    void draw();

    QDoubleSpinBox* from_;
    QDoubleSpinBox* to_;
    QSpinBox* points_;
    QSpinBox* collocation_;
    QSpinBox* steps_;
    QDoubleSpinBox* small_;
    QDoubleSpinBox* large_;
    QPushButton* start_;
    QPushButton* stop_;
    QProgressBar* progress_;
    QLabel* summary_;
    QChartView* lawView_;
    QLogValueAxis* lawX_;
    QLogValueAxis* lawY_;
    QLineSeries* law_[3];
    QChartView* trainView_;
    QValueAxis* trainX_;
    QLogValueAxis* trainY_;
    QLineSeries* curves_[2];
    GridHeatmap* maps_[3];
    PinnSpec base_; // the optimizer, learning rate, grid... of the preset (no controls)
    NetworkSpec spec_;
    std::optional<PinnResult> result_;
    Images images_;
    bool stale_ = true;
    QTimer restart_;
    JobWorker worker_;
};

} // namespace initscope::ui

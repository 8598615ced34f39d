// The sweep view: a scalar statistic of a run (ensemble.h scalarStatistic, or the NTK condition
// number) against the gain, depth, sigma_b^2, input scale or width of the current spec, streamed
// point by point with a progress bar, cancellable, with the log-log slope of the curve
// (scenario 17: input_grad2 against the gain has slope L).
#pragma once

#include "analysis/sweep.h"
#include "work/jobworker.h"

#include <QTimer>
#include <QWidget>

#include <memory>

class QChartView;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QProgressBar;
class QPushButton;
class QScatterSeries;
class QSpinBox;
class QValueAxis;
class QAbstractAxis;

namespace initscope::ui {

class SweepView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kNtkInputs = 16; // probe inputs of the "ntk_condition" statistic

    explicit SweepView(QWidget* parent = nullptr);
    ~SweepView() override;

    /// The base spec of the sweeps. The view follows the settings: when they change (other than
    /// the swept field) while it is visible, the sweep restarts (debounced); when hidden, the
    /// next show restarts it.
    void setSpec(const NetworkSpec& spec);
    /// Statistic names: scalarStatisticNames() and "ntk_condition".
    static QStringList statistics();
    /// Axis names: gain, depth, sigma_b2, input_scale, width.
    static QStringList axes();
    /// Chooses what the next sweep measures; false for an unknown name.
    bool configure(const QString& statistic, const QString& axis, double from, double to,
                   int steps);
    /// Shows what `other` shows (its settings and last result) without computing: the copy
    /// that an export draws (figure.h copyAnalysisFigure).
    void showSameAs(const SweepView& other);

public slots:
    void start();
    void stop();

public:
    // ---- for tests
    /// The (axis value, statistic) points received so far, in order of the axis.
    const std::vector<QPointF>& points() const { return points_; }
    bool running() const { return worker_.busy(); }
    QProgressBar* progressBar() const { return progress_; }
    QChartView* chartView() const { return view_; }
    QString summaryText() const;

signals:
    void pointAdded(int index, double value, double statistic);
    void sweepFinished(bool complete);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void redraw();
    void setAxisKinds();

    QComboBox* statistic_;
    QComboBox* axis_;
    QDoubleSpinBox* from_;
    QDoubleSpinBox* to_;
    QSpinBox* steps_;
    QCheckBox* logX_;
    QCheckBox* logY_;
    QPushButton* start_;
    QPushButton* stop_;
    QProgressBar* progress_;
    QLabel* summary_;
    QChartView* view_;
    QValueAxis* xLin_;
    QLogValueAxis* xLog_;
    QValueAxis* yLin_;
    QLogValueAxis* yLog_;
    QLineSeries* line_ = nullptr;
    QScatterSeries* dots_ = nullptr;
    NetworkSpec spec_;
    std::vector<QPointF> points_;
    QString shownStatistic_, shownAxis_;
    int expected_ = 0;
    bool startedOnce_ = false;
    bool stale_ = true;
    NetworkSpec base_; // the spec of the sweep shown
    QTimer restart_;
    std::unique_ptr<Engine> engine_; // used only on the worker thread
    JobWorker worker_;
};

} // namespace initscope::ui

// The NTK view (scenario 10): eigenvalue spectrum of the empirical and analytic kernels (log),
// their condition numbers against depth (streamed as each depth is done), and the K x K kernel
// as a heatmap. Recomputed (debounced, superseded work cancelled) when the spec changes while
// the view is visible.
#pragma once

#include "analysis/ntk.h"
#include "charts/gridheatmap.h"
#include "work/jobworker.h"
#include "work/viewrefresh.h"

#include <QTimer>
#include <QWidget>

class QChartView;
class QComboBox;
class QLabel;
class QStackedWidget;
class QLineSeries;
class QLogValueAxis;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class NtkView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 200;

    explicit NtkView(QWidget* parent = nullptr);
    /// While the main views run on loaded weights (MAML's learned init): a note that this view
    /// computes on the spec's drawn weights; empty hides it.
    void setWeightsNote(const QString& note);
    QString weightsNote() const;
    ~NtkView() override;

    void setSpec(const NetworkSpec& spec);
    /// Why a computation would be refused for the current spec and settings (the field named),
    /// or empty.
    QString problems() const;
    void setInputs(int k);
    int inputs() const;
    /// Shows what `other` shows (its settings and last result) without computing: the copy
    /// that an export draws (figure.h copyAnalysisFigure).
    void showSameAs(const NtkView& other);

    // ---- for tests
    const NtkResult& result() const { return result_; }
    /// True while a computation is pending or running.
    bool busy() const { return worker_.busy(); }
    QString summaryText() const;
    /// Whether the view shows why the NTK is not computed for the spec (an arch it does not
    /// support, a spec it refuses) in place of its charts; the text names the field.
    bool refused() const;
    QString refusalText() const;
    QChartView* spectrumChart() const { return spectrum_; }
    QChartView* conditionChart() const { return condition_; }
    GridHeatmap* kernelMap() const { return kernel_; }
    /// Empirical condition numbers by depth received so far (NaN where not yet).
    const std::vector<double>& streamedConditions() const { return streamed_; }

signals:
    void resultShown();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void compute();
    void display(const NtkResult& r, const GridImage& empirical, const GridImage& analytic);
    void drawConditions();
    void showKernel();
    /// Shows `message` (the engine's refusal) in place of the charts; empty: the charts.
    void showRefusal(const QString& message);

    QChartView* spectrum_;
    QChartView* condition_;
    QValueAxis* eigX_;
    QLogValueAxis* eigY_;
    QLineSeries* eigEmpirical_;
    QLineSeries* eigAnalytic_;
    QValueAxis* condX_;
    QLogValueAxis* condY_;
    QLineSeries* condEmpirical_;
    QLineSeries* condAnalytic_;
    GridHeatmap* kernel_;
    QComboBox* kernelChoice_;
    QSpinBox* inputs_;
    QLabel* weightsNote_;
    QLabel* summary_;
    QStackedWidget* pages_;
    QLabel* refusal_;
    QString refusalMessage_;
    ViewRefresh refresh_;
    NtkResult result_;
    GridImage empiricalImage_, analyticImage_;
    std::vector<double> streamed_;
    JobWorker worker_;
};

} // namespace initscope::ui

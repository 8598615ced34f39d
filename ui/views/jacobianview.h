// The Jacobian spectrum view (dynamical isometry): singular values of da^L/dx for a few inputs
// as histograms on a log axis, the mean squared singular value against the mean-field product
// prod_l chi_l, and the spread max/min. Recomputed (debounced, superseded work cancelled) when
// the spec changes while the view is visible.
#pragma once

#include "analysis/jacobian.h"
#include "spec/preset.h"
#include "work/jobworker.h"
#include "work/viewrefresh.h"

#include <QTimer>
#include <QWidget>

class QChartView;
class QLabel;
class QLineSeries;
class QLogValueAxis;
class QSpinBox;
class QValueAxis;

namespace initscope::ui {

class JacobianView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 200;
    static constexpr int kBins = 40;
    static constexpr int kMaxInputs = kJacobianViewMaxInputs;

    explicit JacobianView(QWidget* parent = nullptr);
    /// While the main views run on loaded weights (MAML's learned init): a note that this view
    /// computes on the spec's drawn weights; empty hides it.
    void setWeightsNote(const QString& note);
    QString weightsNote() const;
    ~JacobianView() override;

    void setSpec(const NetworkSpec& spec);
    /// Why a computation would be refused for the current spec and settings (the field named),
    /// or empty.
    QString problems() const;
    void setInputs(int k);
    int inputs() const;
    /// Shows what `other` shows (its settings and last result) without computing: the copy
    /// that an export draws (figure.h copyAnalysisFigure).
    void showSameAs(const JacobianView& other);

    // ---- for tests
    /// The last complete result shown (empty inputs before the first).
    const JacobianResult& result() const { return result_; }
    QString summaryText() const;
    QChartView* chartView() const { return view_; }
    JobWorker& worker() { return worker_; }

signals:
    /// A complete result is now drawn.
    void resultShown();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void compute();
    void display(const JacobianResult& r);

    QChartView* view_;
    QLogValueAxis* x_;
    QValueAxis* y_;
    std::vector<QLineSeries*> series_;
    QLineSeries* measuredRms_;
    QLineSeries* theoryRms_;
    QLabel* weightsNote_;
    QLabel* summary_;
    QSpinBox* inputs_;
    ViewRefresh refresh_;
    JacobianResult result_;
    JobWorker worker_;
};

} // namespace initscope::ui

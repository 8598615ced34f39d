// The phase diagram view (scenario 7): chi1 (or the correlation depth xi_c) over a
// (sigma_w^2, sigma_b^2) grid with the critical line chi1 = 1 and the current setting marked.
// Rows are computed in parallel on a JobWorker and drawn as they arrive; the diagram depends
// only on the activation, so a gain or sigma_b^2 change only moves the marker. A click on a cell
// asks for that cell's (sigma_w^2, sigma_b^2).
#pragma once

#include "charts/gridheatmap.h"
#include "spec/spec.h"
#include "theory/phase.h"
#include "work/jobworker.h"

#include <QElapsedTimer>
#include <QWidget>

#include <optional>
#include <vector>

class QComboBox;
class QLabel;

namespace initscope::ui {

class PhaseView : public QWidget {
    Q_OBJECT
public:
    enum class Colour { Chi1, XiC };

    explicit PhaseView(QWidget* parent = nullptr);
    ~PhaseView() override;

    /// The spec shown: moves the marker; recomputes the diagram when the activation changed.
    void setSpec(const NetworkSpec& spec);
    void setColour(Colour colour);
    /// Shows what `other` shows (its settings and last result) without computing: the copy
    /// that an export draws (figure.h copyAnalysisFigure).
    void showSameAs(const PhaseView& other);

    /// The colour map spans at least chi1 = 1/1.05 .. 1.05 (a grid that is nearly critical
    /// everywhere is not blown up into deep colours).
    static constexpr double kMinChiLog = 0.0212; // log10(1.05)
    /// log10 chi1 at the bottom and top of the colour bar.
    std::pair<double, double> chiColourRange() const { return {chiLogLo_, chiLogHi_}; }
    static GridAxis sigmaW2Axis() { return {0.1, 4.0, 79}; } // steps of 0.05
    static GridAxis sigmaB2Axis() { return {0.0, 0.5, 51}; } // steps of 0.01

    // ---- for tests
    /// The note on the family shown above the diagram (empty for an mlp: it is an mlp's).
    QString familyNote() const;
    GridHeatmap* heatmap() const { return heatmap_; }
    /// (sigma_w^2 critical, sigma_b^2) of every row received so far (NaN x where none exists).
    std::vector<QPointF> criticalLine() const;
    int rowsDone() const { return rowsDone_; }
    bool complete() const { return rowsDone_ == static_cast<int>(sigmaB2Axis().values().size()); }
    /// Centre of the cell at column j (sigma_w^2) and row i (sigma_b^2), in data coordinates.
    static QPointF cellCentre(int i, int j);
    /// How many diagrams were started (the activation changed, or the first show).
    int computations() const { return computations_; }
    /// chi1 of a received cell (NaN when not received).
    double chi1At(int i, int j) const;

signals:
    /// A click chose this cell: set sigma_w^2 (through the gain) and sigma_b^2.
    void pointChosen(double sigmaW2, double sigmaB2);
    /// Every row of the diagram has arrived.
    void diagramComplete();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void compute();
    void showGrid();
    void onClicked(QPointF data);

    GridHeatmap* heatmap_;
    QComboBox* colour_;
    QLabel* note_;
    QLabel* family_; // what the diagram means for the family of the spec (resnet: its branches)
    std::optional<Activation> computedFor_, wanted_;
    NetworkSpec spec_;
    QImage chiImage_, xiImage_;
    std::vector<double> critical_;          // [i], NaN until row i arrives
    std::vector<std::vector<double>> chi1_; // [i][j]
    std::vector<std::vector<double>> xi_;   // [i][j], xi_c in layers
    // log10 chi1 at the ends of the colour map: the range of the cells received (never cut)
    double chiLogLo_ = -kMinChiLog, chiLogHi_ = kMinChiLog;
    int rowsDone_ = 0;
    int computations_ = 0;
    QElapsedTimer sinceStart_;
    JobWorker worker_; // last: joined first on destruction
};

} // namespace initscope::ui

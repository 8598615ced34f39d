// Seed ensembles: the same spec with seeds s, s+1, ..., run in parallel, drawn as the mean with
// a band (10-90 % quantiles or min-max) per layer on the signal, gradient and correlation charts,
// so finite-width fluctuations are visible.
//
// The bands are drawn on ordinary LayerCharts without changing that class: attachBand() adds the
// band's edges as two thin series of the chart (so its rescale() covers them) and fills between
// them with a QAreaSeries on the chart's own axes. The main window's charts could take bands the
// same way, but they are fed by MainWindow's push functions, so the ensemble has its own tab.
#pragma once

#include "analysis/ensemble.h"
#include "work/jobworker.h"
#include "work/viewrefresh.h"

#include <QTimer>
#include <QWidget>

#include <memory>

class QAreaSeries;
class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QSpinBox;

namespace initscope::ui {

class LayerChart;

/// A band between two series of a LayerChart, filled by a QAreaSeries. The area's own edge
/// series (owned by the area, never added to the chart: Qt Charts forbids sharing them) carry
/// the same points as the chart's edge series.
struct BandOverlay {
    int lower = -1, upper = -1; // series indices in the chart
    QAreaSeries* area = nullptr;
};
/// `key` prefixes the CSV keys of the edges (key_lower, key_upper).
BandOverlay attachBand(LayerChart* chart, const QString& name, const QString& key,
                       const QColor& color);
/// Sets the band's edges (x = layer index); `visible` false hides it.
void setBand(LayerChart* chart, const BandOverlay& band, const std::vector<QPointF>& lower,
             const std::vector<QPointF>& upper, bool visible);

class EnsembleView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kDebounceMs = 250;
    enum class Band { Quantiles, MinMax };

    explicit EnsembleView(QWidget* parent = nullptr);
    ~EnsembleView() override;

    void setSpec(const NetworkSpec& spec);
    /// Why a computation would be refused for the current spec and settings (the field named),
    /// or empty.
    QString problems() const;
    void setEnsemble(bool on, int seeds);
    void setBand(Band band);
    /// Shows what `other` shows (its settings and last result) without computing: the copy
    /// that an export draws (figure.h copyAnalysisFigure).
    void showSameAs(const EnsembleView& other);

    // ---- for tests
    LayerChart* signalChart() const { return charts_[0]; }
    LayerChart* gradientChart() const { return charts_[1]; }
    LayerChart* correlationChart() const { return charts_[2]; }
    /// Bands of the last result: q, grad_h2, correlation.
    const std::vector<LayerBand>& bands() const { return bands_; }
    int seedsShown() const { return seedsShown_; }

signals:
    void resultShown();

protected:
    void showEvent(QShowEvent* event) override;

private:
    void compute();
    void draw();

    LayerChart* charts_[3];
    BandOverlay overlays_[3];
    QCheckBox* enabled_;
    QSpinBox* seeds_;
    QComboBox* band_;
    QProgressBar* progress_;
    QLabel* summary_;
    ViewRefresh refresh_;
    std::vector<LayerBand> bands_;
    TheoryCurves theory_;
    int seedsShown_ = 0;
    int depthShown_ = 0;
    QString stageShown_ = QStringLiteral("layer");
    std::unique_ptr<Engine> engine_; // used only on the worker thread
    JobWorker worker_;
};

} // namespace initscope::ui

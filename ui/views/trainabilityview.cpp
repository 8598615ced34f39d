#include "views/trainabilityview.h"

#include "charts/colormap.h"
#include "core/cost.h"
#include "core/data.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <memory>

namespace initscope::ui {

namespace {
constexpr int kCurvePoints = 161; // the xi_c curves are drawn from this many sigma_w^2 values
const double kLn10 = std::log(10.0);

TrainSpec trainOf(const TrainabilitySettings& s) {
    TrainSpec t;
    t.steps = s.steps;
    return t;
}

/// Receives the map on the worker thread and posts every piece to the GUI thread.
class PostingSink : public TrainabilitySink {
public:
    PostingSink(JobWorker& w, quint64 gen, std::function<void(double)> progress,
                std::function<void(TrainabilityCell)> cell)
        : w_(w), gen_(gen), progress_(std::move(progress)), cell_(std::move(cell)) {}
    void progress(double f) override {
        w_.post(gen_, [p = progress_, f] { p(f); });
    }
    void cell(const TrainabilityCell& c) override {
        w_.post(gen_, [f = cell_, c] { f(c); });
    }

private:
    JobWorker& w_;
    quint64 gen_;
    std::function<void(double)> progress_;
    std::function<void(TrainabilityCell)> cell_;
};

QSpinBox* intBox(int lo, int hi, int value, const QString& tip) {
    auto* b = new QSpinBox;
    b->setRange(lo, hi);
    b->setValue(value);
    b->setToolTip(tip);
    return b;
}

QDoubleSpinBox* sigmaBox(double value, const QString& tip) {
    auto* b = new QDoubleSpinBox;
    b->setDecimals(2);
    b->setRange(0.05, 100.0);
    b->setSingleStep(0.25);
    b->setValue(value);
    b->setToolTip(tip);
    return b;
}
} // namespace

TrainabilityView::TrainabilityView(QWidget* parent)
    : QWidget(parent), heatmap_(new GridHeatmap(tr("Trainability map"))) {
    heatmap_->setEmptyText(tr("Start trains one network per (depth, \u03c3_w\u00b2) cell; the "
                              "map fills cell by cell"));
    heatmap_->setObjectName(QStringLiteral("trainabilityMap"));
    heatmap_->setOverlayKeys(QStringLiteral("six_xi_c"), QStringLiteral("xi_c"));
    const TrainabilitySettings d;
    depthFrom_ = intBox(1, Limits::kMaxDepth, static_cast<int>(d.grid.depth.from),
                        tr("Shallowest depth L (weight layers)"));
    depthTo_ = intBox(1, Limits::kMaxDepth, static_cast<int>(d.grid.depth.to),
                      tr("Deepest depth L (weight layers)"));
    depthSteps_ = intBox(1, kMaxTrainabilitySteps, d.grid.depth.steps,
                         tr("Number of depths (rows of the map)"));
    swFrom_ = sigmaBox(d.grid.sigmaW2.from, tr("Smallest weight variance sigma_w^2"));
    swTo_ = sigmaBox(d.grid.sigmaW2.to, tr("Largest weight variance sigma_w^2"));
    swSteps_ = intBox(1, kMaxTrainabilitySteps, d.grid.sigmaW2.steps,
                      tr("Number of sigma_w^2 values (columns of the map)"));
    steps_ = intBox(1, 5000, d.steps, tr("SGD steps (mini-batches) every cell is trained for"));
    for (QSpinBox* b : {depthFrom_, depthTo_, depthSteps_, swSteps_, steps_})
        connect(b, &QSpinBox::valueChanged, this, [this] { refreshEstimate(); });
    for (QDoubleSpinBox* b : {swFrom_, swTo_})
        connect(b, &QDoubleSpinBox::valueChanged, this, [this] { refreshEstimate(); });
    depthFrom_->setObjectName(QStringLiteral("trainabilityDepthFrom"));
    depthTo_->setObjectName(QStringLiteral("trainabilityDepthTo"));
    depthSteps_->setObjectName(QStringLiteral("trainabilityDepthSteps"));
    swFrom_->setObjectName(QStringLiteral("trainabilitySigmaFrom"));
    swTo_->setObjectName(QStringLiteral("trainabilitySigmaTo"));
    swSteps_->setObjectName(QStringLiteral("trainabilitySigmaSteps"));
    steps_->setObjectName(QStringLiteral("trainabilitySteps"));
    colour_ = new QComboBox;
    colour_->setObjectName(QStringLiteral("trainabilityColour"));
    colour_->addItem(tr("test accuracy"));
    colour_->addItem(tr("training loss"));
    connect(colour_, &QComboBox::currentIndexChanged, this, [this] { showGrid(); });
    start_ = new QPushButton(tr("Start"));
    start_->setObjectName(QStringLiteral("trainabilityStart"));
    stop_ = new QPushButton(tr("Stop"));
    stop_->setObjectName(QStringLiteral("trainabilityStop"));
    stop_->setEnabled(false);
    connect(start_, &QPushButton::clicked, this, &TrainabilityView::start);
    connect(stop_, &QPushButton::clicked, this, &TrainabilityView::stop);
    bar_ = new QProgressBar;
    bar_->setObjectName(QStringLiteral("trainabilityProgress"));
    bar_->setRange(0, 1000);
    bar_->setValue(0);
    bar_->setTextVisible(false);
    bar_->setMaximumWidth(220);
    note_ = new QLabel;
    note_->setObjectName(QStringLiteral("trainabilityNote"));
    note_->setWordWrap(true);

    // three short rows: the window still fits a 1280 x 720 projector beside the controls dock
    auto* row1 = new QHBoxLayout;
    row1->addWidget(new QLabel(tr("Depth L:")));
    row1->addWidget(depthFrom_);
    row1->addWidget(new QLabel(tr("to")));
    row1->addWidget(depthTo_);
    row1->addWidget(new QLabel(tr("layers in")));
    row1->addWidget(depthSteps_);
    row1->addWidget(new QLabel(tr("rows;")));
    row1->addWidget(steps_);
    row1->addWidget(new QLabel(tr("SGD steps")));
    row1->addStretch(1);
    auto* row2 = new QHBoxLayout;
    row2->addWidget(new QLabel(tr("\u03c3_w\u00b2:")));
    row2->addWidget(swFrom_);
    row2->addWidget(new QLabel(tr("to")));
    row2->addWidget(swTo_);
    row2->addWidget(new QLabel(tr("in")));
    row2->addWidget(swSteps_);
    row2->addWidget(new QLabel(tr("columns")));
    row2->addStretch(1);
    auto* row3 = new QHBoxLayout;
    row3->addWidget(new QLabel(tr("Colour:")));
    row3->addWidget(colour_);
    row3->addWidget(start_);
    row3->addWidget(stop_);
    row3->addWidget(bar_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(row1);
    layout->addLayout(row2);
    layout->addLayout(row3);
    layout->addWidget(note_);
    layout->addWidget(heatmap_, 1);
    connect(heatmap_, &GridHeatmap::clicked, this, &TrainabilityView::onClicked);
    shown_ = settings();
    shownBase_ = baseSpec();
    refreshEstimate();
    showGrid();
}

TrainabilityView::~TrainabilityView() = default;

void TrainabilityView::setSpec(const NetworkSpec& spec) {
    const NetworkSpec before = baseSpec();
    spec_ = spec;
    if (running_ && !(baseSpec() == before)) {
        stop();
        note_->setText(tr("Stopped: the network changed. Start draws the map of the new one."));
        return;
    }
    refreshEstimate();
}

void TrainabilityView::setSettings(const TrainabilitySettings& s) {
    const QSignalBlocker b1(depthFrom_), b2(depthTo_), b3(depthSteps_), b4(swFrom_), b5(swTo_),
        b6(swSteps_), b7(steps_);
    depthFrom_->setValue(static_cast<int>(s.grid.depth.from));
    depthTo_->setValue(static_cast<int>(s.grid.depth.to));
    depthSteps_->setValue(s.grid.depth.steps);
    swFrom_->setValue(s.grid.sigmaW2.from);
    swTo_->setValue(s.grid.sigmaW2.to);
    swSteps_->setValue(s.grid.sigmaW2.steps);
    steps_->setValue(s.steps);
    refreshEstimate();
}

TrainabilitySettings TrainabilityView::settings() const {
    TrainabilitySettings s;
    s.grid.depth = {static_cast<double>(depthFrom_->value()),
                    static_cast<double>(depthTo_->value()), depthSteps_->value()};
    s.grid.sigmaW2 = {swFrom_->value(), swTo_->value(), swSteps_->value()};
    s.steps = steps_->value();
    return s;
}

NetworkSpec TrainabilityView::baseSpec() const {
    NetworkSpec s = spec_;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    return s;
}

QString TrainabilityView::problems() const {
    QStringList out;
    for (const SpecError& e :
         validateTrainability(baseSpec(), trainOf(settings()), settings().grid))
        out << QString::fromStdString(e.message);
    return out.join(QStringLiteral("; "));
}

int TrainabilityView::cellCount() const {
    return shown_.grid.depth.steps * shown_.grid.sigmaW2.steps;
}

void TrainabilityView::refreshEstimate() {
    if (running_)
        return;
    if (cells_.empty()) { // nothing trained yet: the empty map is of the settings as they are
        shown_ = settings();
        shownBase_ = baseSpec();
        showGrid();
    }
    const QString p = problems();
    start_->setEnabled(p.isEmpty());
    if (!p.isEmpty()) {
        note_->setText(tr("Cannot train this map: %1").arg(p));
        return;
    }
    const TrainabilitySettings s = settings();
    const double seconds = estimateTrainabilitySeconds(baseSpec(), trainOf(s), s.grid);
    const QString time = QString::fromStdString(formatDuration(seconds));
    const int cells = s.grid.depth.steps * s.grid.sigmaW2.steps;
    QString text = tr("%1 networks (width %2, %3, \u03c3_b\u00b2 = %4), each trained %5 steps "
                      "of SGD on Fashion-MNIST: %6 (estimate). Start fills the map cell by cell.")
                       .arg(cells)
                       .arg(spec_.width)
                       .arg(QString::fromStdString(activationName(spec_.activation)))
                       .arg(trainabilitySigmaB2(spec_))
                       .arg(s.steps)
                       .arg(time);
    if (seconds > 900)
        text = tr("<b>Long:</b> ") + text;
    note_->setText(text);
}

void TrainabilityView::setRunning(bool running) {
    running_ = running;
    start_->setEnabled(!running);
    stop_->setEnabled(running);
    for (QWidget* w : std::initializer_list<QWidget*>{depthFrom_, depthTo_, depthSteps_, swFrom_,
                                                      swTo_, swSteps_, steps_})
        w->setEnabled(!running);
}

void TrainabilityView::start() {
    if (running_ || !problems().isEmpty())
        return;
    shown_ = settings();
    shownBase_ = baseSpec();
    cells_.clear();
    curveSigma_.clear();
    xiC_.clear();
    criticalSigmaW2_ = qQNaN();
    progress_ = 0;
    bar_->setValue(0);
    setRunning(true);
    sinceStart_.start();
    note_->setText(tr("Training the first cell..."));
    showGrid();
    const NetworkSpec base = shownBase_;
    const TrainabilitySettings s = shown_;
    worker_.submit([this, base, s](quint64 gen, const std::atomic<bool>& cancel) {
        // the mean-field curve first (a fine sigma_w^2 grid), then the cells
        const GridAxis fine{s.grid.sigmaW2.from, s.grid.sigmaW2.to,
                            s.grid.sigmaW2.steps > 1 ? kCurvePoints : 1};
        const std::vector<double> sw = fine.values();
        const TrainabilityTheory t = trainabilityTheory(
            Activation(base.activation, base.activationSlope), trainabilitySigmaB2(base), sw);
        worker_.post(gen, [this, sw, t] {
            curveSigma_ = sw;
            xiC_ = t.xiC;
            criticalSigmaW2_ = t.criticalSigmaW2;
            showGrid();
        });
        PostingSink sink(
            worker_, gen,
            [this](double f) {
                progress_ = f;
                bar_->setValue(static_cast<int>(std::lround(1000 * f)));
                if (f > 0) {
                    const double elapsed = sinceStart_.elapsed() / 1000.0;
                    note_->setText(
                        tr("%1 of %2 cells trained; about %3 left.")
                            .arg(cells_.size())
                            .arg(cellCount())
                            .arg(QString::fromStdString(formatDuration(elapsed / f * (1 - f)))));
                }
            },
            [this](TrainabilityCell c) {
                cells_.push_back(c);
                showGrid();
            });
        try {
            const TrainabilityMap m =
                computeTrainabilityMap(base, trainOf(s), s.grid, &sink, &cancel);
            const bool cancelled = m.cancelled;
            const double seconds = m.seconds;
            worker_.post(gen, [this, cancelled, seconds] {
                setRunning(false);
                if (cancelled)
                    return;
                bar_->setValue(1000);
                note_->setText(tr("%1 cells in %2 s. Click a cell to load its network (depth, "
                                  "lecun-normal, gain = \u03c3_w\u00b2) into the controls.")
                                   .arg(cells_.size())
                                   .arg(seconds, 0, 'f', 1));
                emit mapComplete();
            });
        } catch (const std::exception& e) {
            const QString message = QString::fromUtf8(e.what());
            worker_.post(gen, [this, message] {
                setRunning(false);
                note_->setText(tr("The map failed: %1").arg(message));
                emit mapStopped();
            });
        }
    });
}

void TrainabilityView::stop() {
    if (!running_)
        return;
    worker_.cancel();
    setRunning(false);
    note_->setText(tr("Stopped after %1 of %2 cells.").arg(cells_.size()).arg(cellCount()));
    emit mapStopped();
}

void TrainabilityView::showSameAs(const TrainabilityView& other) {
    worker_.cancel();
    setRunning(false);
    spec_ = other.spec_;
    setSettings(other.shown_);
    shown_ = other.shown_;
    shownBase_ = other.shownBase_;
    cells_ = other.cells_;
    curveSigma_ = other.curveSigma_;
    xiC_ = other.xiC_;
    criticalSigmaW2_ = other.criticalSigmaW2_;
    progress_ = other.progress_;
    {
        const QSignalBlocker b(colour_);
        colour_->setCurrentIndex(other.colour_->currentIndex());
    }
    note_->setText(other.note_->text());
    showGrid();
}

QPointF TrainabilityView::cellCentre(int row, int col) const {
    const GridAxis& d = shown_.grid.depth;
    const double dy = d.steps > 1 ? (d.to - d.from) / (d.steps - 1) : 1.0;
    return {shown_.grid.sigmaW2s().at(static_cast<std::size_t>(col)), d.from + row * dy};
}

void TrainabilityView::showGrid() {
    const GridAxis& da = shown_.grid.depth;
    const GridAxis& sa = shown_.grid.sigmaW2;
    const int rows = da.steps, cols = sa.steps;
    const double dy = rows > 1 ? (da.to - da.from) / (rows - 1) : 1.0;
    const double dx = cols > 1 ? (sa.to - sa.from) / (cols - 1) : std::max(0.1, sa.from * 0.2);
    const bool accuracy = colour_->currentIndex() == 0;
    double lossMax = kLn10;
    for (const TrainabilityCell& c : cells_)
        if (std::isfinite(c.loss))
            lossMax = std::max(lossMax, c.loss);
    GridImage g;
    g.image = QImage(cols, rows, QImage::Format_ARGB32);
    g.image.fill(Qt::transparent);
    g.values.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), std::nan(""));
    for (const TrainabilityCell& c : cells_) {
        const int y = rows - 1 - c.row; // deepest at the top
        const double v = accuracy ? c.testAccuracy : c.loss;
        QRgb colour = nonfiniteColor();
        if (std::isfinite(v))
            colour = viridis(accuracy ? v : v / lossMax);
        g.image.setPixel(c.col, y, colour);
        g.values[static_cast<std::size_t>(y) * static_cast<std::size_t>(cols) +
                 static_cast<std::size_t>(c.col)] = v;
    }
    g.xLeft = sa.from - dx / 2;
    g.xRight = sa.to + dx / 2;
    g.yTop = da.to + dy / 2;
    g.yBottom = da.from - dy / 2;
    g.vMin = 0;
    g.vMax = accuracy ? 1.0 : lossMax;
    g.xLabel = tr("weight variance \u03c3_w\u00b2 (lecun-normal gain: Var(W) = \u03c3_w\u00b2 / "
                  "fan-in)");
    g.yLabel = tr("depth L (layers)");
    g.integerY = true;
    g.colorLabel = accuracy ? tr("test accuracy (chance 0.1; grey: loss diverged)")
                            : tr("training loss (last 10 steps; ln 10 = 2.30 is chance)");
    g.valueKey = accuracy ? QStringLiteral("test_accuracy") : QStringLiteral("training_loss");
    g.rows = rows;
    g.rowsDone = static_cast<int>(cells_.size()) / std::max(1, cols);
    heatmap_->setGrid(g);
    heatmap_->setTitle(
        tr("Trainability of %1 (width %2, \u03c3_b\u00b2 = %3): %4 after %5 SGD steps on "
           "Fashion-MNIST")
            .arg(QString::fromStdString(activationName(shownBase_.activation)))
            .arg(shownBase_.width)
            .arg(trainabilitySigmaB2(shownBase_))
            .arg(accuracy ? tr("test accuracy") : tr("training loss"))
            .arg(shown_.steps));
    QPolygonF six, one;
    for (std::size_t k = 0; k < curveSigma_.size() && k < xiC_.size(); ++k) {
        const double xi = std::isfinite(xiC_[k]) ? xiC_[k] : qQNaN(); // infinite: clipped
        six << QPointF(curveSigma_[k], 6 * xi);
        one << QPointF(curveSigma_[k], xi);
    }
    const QString crit =
        std::isfinite(criticalSigmaW2_)
            ? tr("; infinite at \u03c3_w\u00b2 = %1, clipped").arg(criticalSigmaW2_, 0, 'f', 3)
            : QString();
    heatmap_->setOverlay(six, tr("6 \u03be_c (trainable depth, mean field%1)").arg(crit));
    heatmap_->setSecondOverlay(one, tr("\u03be_c"));
}

void TrainabilityView::onClicked(QPointF d) {
    const GridAxis& da = shown_.grid.depth;
    const GridAxis& sa = shown_.grid.sigmaW2;
    const double dy = da.steps > 1 ? (da.to - da.from) / (da.steps - 1) : 1.0;
    const double dx = sa.steps > 1 ? (sa.to - sa.from) / (sa.steps - 1) : 1.0;
    const int col = sa.steps > 1 ? std::clamp(static_cast<int>(std::lround((d.x() - sa.from) / dx)),
                                              0, sa.steps - 1)
                                 : 0;
    const int row = da.steps > 1 ? std::clamp(static_cast<int>(std::lround((d.y() - da.from) / dy)),
                                              0, da.steps - 1)
                                 : 0;
    const std::vector<int> depths = shown_.grid.depths();
    const std::vector<double> sw = shown_.grid.sigmaW2s();
    emit cellChosen(trainabilityCellSpec(shownBase_, depths[static_cast<std::size_t>(row)],
                                         sw[static_cast<std::size_t>(col)]));
}

} // namespace initscope::ui

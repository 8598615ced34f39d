#include "views/trainview.h"

#include "charts/colormap.h"
#include "charts/viewcharts.h"
#include "network/engine.h"
#include "stats/statschema.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QScatterSeries>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace initscope::ui {

namespace {

constexpr int kDefaultSteps = 300;
// A small network trains a thousand steps a second: the curves (thousands of points each) are
// redrawn on a 10 Hz tick, not at every step, or the window would fall behind and freeze.
constexpr int kRedrawMs = 100;

/// The statistics a training shows per layer: every real one of the schema.
std::vector<const LayerStatistic*> shownStatistics() {
    std::vector<const LayerStatistic*> out;
    for (const LayerStatistic& s : layerStatistics())
        if (s.kind == StatKind::Real)
            out.push_back(&s);
    return out;
}

double valueOf(const LayerStatistic& s, const LayerStats& l) {
    return s.real ? l.*(s.real) : kNaN;
}

/// The layer x recorded-step image of statistic `s`: column r is recorded step r, row l - 1 is
/// layer l (layer 1 at the top, as on the main heatmaps).
GridImage statisticImage(const LayerStatistic& s, const std::vector<TrainStep>& recorded,
                         const QString& stage) {
    GridImage g;
    if (recorded.empty() || recorded.front().layers.empty())
        return g;
    const int cols = static_cast<int>(recorded.size());
    const int rows = static_cast<int>(recorded.front().layers.size());
    std::vector<double> v(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols), kNaN);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int c = 0; c < cols; ++c)
        for (int r = 0; r < rows && r < static_cast<int>(recorded[std::size_t(c)].layers.size());
             ++r) {
            double x = valueOf(s, recorded[std::size_t(c)].layers[std::size_t(r)]);
            if (s.logScale)
                x = x > 0 ? std::log10(x) : kNaN;
            v[std::size_t(r) * std::size_t(cols) + std::size_t(c)] = x;
            if (std::isfinite(x)) {
                lo = std::min(lo, x);
                hi = std::max(hi, x);
            }
        }
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12) { // a constant statistic: one colour, a readable bar
        lo -= 0.5;
        hi += 0.5;
    }
    g.image = QImage(cols, rows, QImage::Format_RGB32);
    for (int r = 0; r < rows; ++r) {
        auto* line = reinterpret_cast<QRgb*>(g.image.scanLine(r));
        for (int c = 0; c < cols; ++c) {
            const double x = v[std::size_t(r) * std::size_t(cols) + std::size_t(c)];
            line[c] = std::isfinite(x) ? viridis((x - lo) / (hi - lo)) : nonfiniteColor();
        }
    }
    // columns are the recorded steps, evenly spaced by the recording interval; the x axis is
    // their step numbers
    const double first = recorded.front().step, last = recorded.back().step;
    const double dx = cols > 1 ? (last - first) / (cols - 1) : 1.0;
    g.xLeft = first - dx / 2;
    g.xRight = last + dx / 2;
    g.yTop = 0.5;
    g.yBottom = rows + 0.5;
    g.vMin = lo;
    g.vMax = hi;
    g.logColor = s.logScale;
    g.xLabel = QObject::tr("training step (recorded steps)");
    g.yLabel = QObject::tr("%1 l").arg(stage);
    g.integerY = true;
    g.colorLabel = QString::fromUtf8(s.title) + (s.logScale ? QObject::tr(" (log10)") : QString());
    g.values = std::move(v);
    g.valueKey = QString::fromUtf8(s.key);
    return g;
}

QString durationText(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0)
        return QObject::tr("?");
    if (seconds < 60)
        return QObject::tr("%1 s").arg(std::ceil(seconds), 0, 'f', 0);
    return QObject::tr("%1 min %2 s")
        .arg(std::floor(seconds / 60), 0, 'f', 0)
        .arg(std::fmod(std::ceil(seconds), 60.0), 0, 'f', 0);
}

} // namespace

TrainView::TrainView(QWidget* parent) : QWidget(parent) {
    redraw_ = new QTimer(this);
    redraw_->setSingleShot(true);
    redraw_->setInterval(kRedrawMs);
    connect(redraw_, &QTimer::timeout, this, [this] { drawCurves(); });
    // ---- controls ----
    task_ = new QComboBox;
    task_->addItem(tr("Fashion-MNIST (cross-entropy)"), QStringLiteral("fashion-mnist"));
    task_->addItem(tr("teacher (squared error)"), QStringLiteral("teacher"));
    task_->setToolTip(tr("Fashion-MNIST: 10 classes of 28x28 images, accuracy on the held-out "
                         "test images. Teacher: regression onto a random network of the same "
                         "shape, Gaussian inputs."));
    optimizer_ = new QComboBox;
    optimizer_->addItem(tr("SGD"), QStringLiteral("sgd"));
    optimizer_->addItem(tr("momentum (\u03bc = 0.9)"), QStringLiteral("momentum"));
    optimizer_->addItem(tr("Adam"), QStringLiteral("adam"));
    lr_ = new QDoubleSpinBox;
    lr_->setDecimals(5);
    lr_->setRange(1e-5, 10.0);
    lr_->setSingleStep(0.01);
    lr_->setValue(0.05);
    lr_->setToolTip(tr("Learning rate \u03b7 (per step, no schedule)"));
    steps_box_ = new QSpinBox;
    steps_box_->setRange(1, TrainSpec::kMaxSteps);
    steps_box_->setValue(kDefaultSteps);
    steps_box_->setSuffix(tr(" steps"));
    record_ = new QSpinBox;
    record_->setRange(1, TrainSpec::kMaxSteps);
    record_->setValue(10);
    record_->setPrefix(tr("every "));
    record_->setSuffix(tr(" steps"));
    record_->setToolTip(tr("Layer statistics (and test accuracy) are measured at step 0, every "
                           "k steps and the last step, on one fixed probe batch."));
    freeze_ = new QCheckBox(tr("Freeze trunk"));
    freeze_->setToolTip(tr("Train the readout only: the trunk's weights stay as drawn."));
    // narrow controls: the window, with this tab, must fit a 1280 x 720 projector beside the
    // control dock
    for (QComboBox* c : {task_, optimizer_}) {
        c->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        c->setMinimumContentsLength(10);
    }
    start_ = new QPushButton(tr("Start"));
    start_->setObjectName(QStringLiteral("trainStart"));
    pause_ = new QPushButton(tr("Pause"));
    stop_ = new QPushButton(tr("Stop"));
    progress_ = new QProgressBar;
    progress_->setRange(0, kDefaultSteps);
    progress_->setValue(0);
    progress_->setFormat(tr("not started"));
    progress_->setTextVisible(true);
    status_ = new QLabel;
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    problems_ = new QLabel;
    problems_->setWordWrap(true);
    problems_->setStyleSheet(QStringLiteral("color: #c03030;"));

    auto* form = new QGridLayout;
    form->addWidget(new QLabel(tr("Task")), 0, 0);
    form->addWidget(task_, 0, 1);
    form->addWidget(new QLabel(tr("Optimizer")), 0, 2);
    form->addWidget(optimizer_, 0, 3);
    form->addWidget(new QLabel(tr("LR \u03b7")), 0, 4);
    form->addWidget(lr_, 0, 5);
    form->addWidget(new QLabel(tr("Steps")), 1, 0);
    form->addWidget(steps_box_, 1, 1);
    form->addWidget(new QLabel(tr("Record layers")), 1, 2);
    form->addWidget(record_, 1, 3);
    form->addWidget(freeze_, 1, 4, 1, 2);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(pause_);
    buttons->addWidget(stop_);
    buttons->addWidget(progress_, 1);

    // ---- curves ----
    lossView_ = charts::makeView(tr("Loss against training step"));
    QChart* lc = lossView_->chart();
    lossX_ = charts::valueAxis(lc, tr("training step"), Qt::AlignBottom, QStringLiteral("%d"));
    lossY_ = charts::logAxis(lc, tr("loss (log)"), Qt::AlignLeft);
    lossY_->setRange(0.1, 10); // a valid range before the first loss arrives
    trainLoss_ =
        charts::addLine(lc, tr("mini-batch loss"), charts::color(0), false, lossX_, lossY_);
    testLoss_ = new QScatterSeries;
    testLoss_->setName(tr("test loss (held-out images)"));
    testLoss_->setColor(charts::color(1));
    testLoss_->setMarkerSize(8);
    lc->addSeries(testLoss_);
    testLoss_->attachAxis(lossX_);
    testLoss_->attachAxis(lossY_);
    lossView_->setObjectName(QStringLiteral("loss"));
    trainLoss_->setObjectName(QStringLiteral("train_loss"));
    testLoss_->setObjectName(QStringLiteral("test_loss"));
    charts::restyle(lossView_);

    accView_ = charts::makeView(tr("Accuracy against training step"));
    QChart* ac = accView_->chart();
    accX_ = charts::valueAxis(ac, tr("training step"), Qt::AlignBottom, QStringLiteral("%d"));
    accY_ = charts::valueAxis(ac, tr("accuracy (fraction correct)"), Qt::AlignLeft,
                              QStringLiteral("%.2f"));
    accY_->setRange(0, 1);
    trainAcc_ =
        charts::addLine(ac, tr("mini-batch accuracy"), charts::color(0), false, accX_, accY_);
    testAcc_ = new QScatterSeries;
    testAcc_->setName(tr("test accuracy (held-out images)"));
    testAcc_->setColor(charts::color(1));
    testAcc_->setMarkerSize(8);
    ac->addSeries(testAcc_);
    testAcc_->attachAxis(accX_);
    testAcc_->attachAxis(accY_);
    accView_->setObjectName(QStringLiteral("accuracy"));
    trainAcc_->setObjectName(QStringLiteral("train_accuracy"));
    testAcc_->setObjectName(QStringLiteral("test_accuracy"));
    charts::restyle(accView_);

    // ---- per-layer statistic ----
    statistic_ = new QComboBox;
    for (const LayerStatistic* s : shownStatistics())
        statistic_->addItem(tr(s->title), QString::fromUtf8(s->key));
    statistic_->setCurrentIndex(std::max(0, statistic_->findData(QStringLiteral("q"))));
    stepSlider_ = new QSlider(Qt::Horizontal);
    stepSlider_->setRange(0, 0);
    stepSlider_->setToolTip(tr("The recorded step whose statistics are drawn beside step 0"));
    stepLabel_ = new QLabel(tr("step -"));
    statView_ = charts::makeView(tr("Layer statistic at a recorded step beside initialisation"));
    QChart* sc = statView_->chart();
    statX_ = charts::valueAxis(sc, tr("layer l"), Qt::AlignBottom, QStringLiteral("%d"));
    statY_ = charts::valueAxis(sc, tr("value"), Qt::AlignLeft);
    statLogY_ = charts::logAxis(sc, tr("value (log)"), Qt::AlignLeft);
    statLogY_->setRange(0.1, 10);
    statInit_ = charts::addLine(sc, tr("at initialisation (step 0)"), charts::color(2), true,
                                statX_, statY_);
    statNow_ =
        charts::addLine(sc, tr("at the chosen step"), charts::color(0), false, statX_, statY_);
    statView_->setObjectName(QStringLiteral("statistic"));
    statInit_->setObjectName(QStringLiteral("step_0"));
    statNow_->setObjectName(QStringLiteral("chosen_step"));
    charts::restyle(statView_);
    heatmap_ = new GridHeatmap(tr("Layer statistic against training step"));
    heatmap_->setEmptyText(tr("Start trains the network; the layer x step map fills at the "
                              "recorded steps"));
    heatmap_->setObjectName(QStringLiteral("statistic_by_step"));

    auto* statBar = new QHBoxLayout;
    statBar->addWidget(new QLabel(tr("Statistic")));
    statBar->addWidget(statistic_);
    statBar->addSpacing(16);
    statBar->addWidget(new QLabel(tr("Step")));
    statBar->addWidget(stepSlider_, 1);
    statBar->addWidget(stepLabel_);

    // small minimum sizes: the window must still fit a 1280 x 720 projector with this tab
    for (QWidget* w : std::initializer_list<QWidget*>{lossView_, accView_, statView_, heatmap_})
        w->setMinimumSize(240, 140);
    auto* grid = new QGridLayout;
    grid->addWidget(lossView_, 0, 0);
    grid->addWidget(accView_, 0, 1);
    grid->addWidget(statView_, 1, 0);
    grid->addWidget(heatmap_, 1, 1);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);

    auto* top = new QVBoxLayout(this);
    top->addLayout(form);
    top->addLayout(buttons);
    top->addWidget(status_);
    top->addWidget(problems_);
    extraLabel_ = new QLabel; // settings a preset gave that have no control here
    extraLabel_->setWordWrap(true);
    extraLabel_->setVisible(false);
    top->addWidget(extraLabel_);
    top->addLayout(statBar);
    top->addLayout(grid, 1);

    connect(start_, &QPushButton::clicked, this, &TrainView::start);
    connect(pause_, &QPushButton::clicked, this, &TrainView::togglePause);
    connect(stop_, &QPushButton::clicked, this, &TrainView::stop);
    connect(statistic_, &QComboBox::currentIndexChanged, this, [this] {
        drawStatistic();
        renderHeatmap();
    });
    connect(stepSlider_, &QSlider::valueChanged, this, [this] { drawStatistic(); });
    connect(optimizer_, &QComboBox::currentIndexChanged, this, [this] {
        // each optimizer's usual step size (TrainSpec::eta's defaults); the user may change it
        const QString o = optimizer_->currentData().toString();
        lr_->setValue(o == QLatin1String("adam")       ? 0.001
                      : o == QLatin1String("momentum") ? 0.01
                                                       : 0.05);
        updateProblems();
    });
    for (QComboBox* c : {task_})
        connect(c, &QComboBox::currentIndexChanged, this, &TrainView::updateProblems);
    for (QSpinBox* b : {steps_box_, record_})
        connect(b, &QSpinBox::valueChanged, this, &TrainView::updateProblems);
    connect(lr_, &QDoubleSpinBox::valueChanged, this, &TrainView::updateProblems);
    connect(freeze_, &QCheckBox::toggled, this, &TrainView::updateProblems);
    updateButtons();
    updateProblems();
}

void TrainView::showSameAs(const TrainView& other) {
    trainedSpec_ = other.trainedSpec_;
    trainedTrain_ = other.trainedTrain_;
    steps_ = other.steps_;
    recorded_ = other.recorded_;
    statistic_->setCurrentIndex(other.statistic_->currentIndex());
    stepSlider_->setRange(other.stepSlider_->minimum(), other.stepSlider_->maximum());
    stepSlider_->setValue(other.stepSlider_->value());
    status_->setText(other.status_->text());
    drawCurves();
    drawStatistic();
    heatmap_->setGrid(other.heatmap_->grid()); // the image as shown, not rendered again
    heatmap_->setTitle(other.heatmap_->title());
}

TrainView::~TrainView() = default; // the workers cancel (a paused training too) and join

TrainSpec TrainView::trainSpec() const {
    TrainSpec t;
    t.steps = steps_box_->value();
    parseTrainTask(task_->currentData().toString().toStdString(), t.task);
    parseOptimizer(optimizer_->currentData().toString().toStdString(), t.optimizer);
    t.learningRate = lr_->value();
    t.recordEvery = record_->value();
    t.freezeTrunk = freeze_->isChecked();
    t.classes = extra_.classes;
    t.outputs = extra_.outputs;
    t.pretrainSteps = extra_.pretrainSteps;
    t.pretrainClasses = extra_.pretrainClasses;
    t.momentum = extra_.momentum;
    t.beta1 = extra_.beta1;
    t.beta2 = extra_.beta2;
    t.epsilon = extra_.epsilon;
    t.testExamples = extra_.testExamples;
    if (t.task == TrainTask::FashionMnist)
        t.outputs = t.classCount();
    return t;
}

void TrainView::setTrainSpec(const TrainSpec& t) {
    extra_ = t;
    steps_box_->setValue(t.steps);
    if (const int i = task_->findData(QString::fromStdString(trainTaskName(t.task))); i >= 0)
        task_->setCurrentIndex(i);
    if (const int i = optimizer_->findData(QString::fromStdString(optimizerName(t.optimizer)));
        i >= 0)
        optimizer_->setCurrentIndex(i);
    lr_->setValue(t.eta());
    record_->setValue(t.recordEvery);
    freeze_->setChecked(t.freezeTrunk);
    QString extra;
    if (!t.classes.empty())
        extra = tr("classes %1").arg(QString::fromStdString(classListText(t.classes)));
    if (t.pretrainSteps > 0)
        extra += (extra.isEmpty() ? QString() : QStringLiteral("; ")) +
                 tr("first pre-trains %1 steps on classes %2 (transfer)")
                     .arg(t.pretrainSteps)
                     .arg(QString::fromStdString(classListText(t.pretrainClasses)));
    if (extraLabel_) {
        extraLabel_->setText(extra);
        extraLabel_->setVisible(!extra.isEmpty());
    }
    updateProblems();
}

QString TrainView::problems() const {
    QString out;
    for (const SpecError& e : validateTraining(spec_, trainSpec()))
        out +=
            (out.isEmpty() ? QString() : QStringLiteral("\n")) + QString::fromStdString(e.message);
    return out;
}

bool TrainView::setStatistic(const QString& key) {
    const int i = statistic_->findData(key);
    if (i >= 0)
        statistic_->setCurrentIndex(i);
    return i >= 0;
}

void TrainView::setSpec(const NetworkSpec& spec) {
    spec_ = spec;
    updateProblems();
    if (!steps_.empty() && !(trainedSpec_ == spec_))
        status_->setText(tr("The controls changed since this training started: Start trains "
                            "the network they describe now."));
}

bool TrainView::paused() const {
    return paused_->load();
}

QString TrainView::statusText() const {
    return status_->text();
}

void TrainView::updateProblems() {
    const QString p = problems();
    problems_->setText(p.isEmpty() ? QString() : tr("Cannot train: %1").arg(p));
    problems_->setVisible(!p.isEmpty());
    updateButtons();
}

void TrainView::updateButtons() {
    start_->setEnabled(!training_ && problems().isEmpty());
    pause_->setEnabled(training_);
    pause_->setText(paused() ? tr("Resume") : tr("Pause"));
    stop_->setEnabled(training_);
    for (QWidget* w :
         std::initializer_list<QWidget*>{task_, optimizer_, lr_, steps_box_, record_, freeze_})
        w->setEnabled(!training_);
}

void TrainView::start() {
    if (training_ || !problems().isEmpty())
        return;
    trainedSpec_ = spec_;
    trainedTrain_ = trainSpec();
    failure_.clear();
    steps_.clear();
    recorded_.clear();
    paused_->store(false);
    training_ = true;
    activeMs_ = 0;
    clock_.start();
    progress_->setRange(0, trainedTrain_.steps);
    progress_->setValue(0);
    progress_->setFormat(tr("starting (reading the data, drawing the network) ..."));
    status_->setText(tr("Training %1 steps of %2 with %3, \u03b7 = %4.")
                         .arg(trainedTrain_.steps)
                         .arg(QString::fromStdString(trainTaskName(trainedTrain_.task)))
                         .arg(QString::fromStdString(optimizerName(trainedTrain_.optimizer)))
                         .arg(trainedTrain_.eta()));
    drawCurves();
    drawStatistic();
    heatmap_->setEmptyText(tr("training: the map fills at the recorded steps"));
    heatmap_->setGrid(GridImage{});
    updateButtons();

    const NetworkSpec spec = trainedSpec_;
    const TrainSpec train = trainedTrain_;
    auto paused = paused_;
    worker_.submit([this, spec, train, paused](quint64 gen, std::atomic<bool>& cancel) {
        // on the training thread: every step leaves as a copy; a pause holds the thread here,
        // between two steps, until it is resumed or cancelled
        class Sink : public TrainSink {
        public:
            Sink(TrainView* v, JobWorker& w, quint64 g, std::atomic<bool>& c,
                 std::shared_ptr<std::atomic<bool>> p)
                : view_(v), worker_(w), gen_(g), cancel_(c), paused_(std::move(p)) {}
            void step(const TrainStep& s) override {
                TrainStep copy = s;
                for (LayerStats& l : copy.layers) {
                    l.sample.clear();
                    l.histogram.counts.clear();
                }
                worker_.post(gen_, [v = view_, copy = std::move(copy)] { v->received(copy); });
                while (paused_->load() && !cancel_.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }

        private:
            TrainView* view_;
            JobWorker& worker_;
            quint64 gen_;
            std::atomic<bool>& cancel_;
            std::shared_ptr<std::atomic<bool>> paused_;
        };
        Sink sink(this, worker_, gen, cancel, paused);
        TrainResult r;
        QString error;
        try {
            r = trainNetwork(spec, train, &sink, &cancel);
        } catch (const SpecInvalid& e) {
            error = QString::fromStdString(e.what());
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        r.steps.clear(); // they arrived one by one
        worker_.post(gen, [this, r = std::move(r), error] { finished(r, error); });
    });
}

void TrainView::togglePause() {
    if (!training_)
        return;
    const bool nowPaused = !paused_->load();
    paused_->store(nowPaused);
    if (nowPaused) {
        activeMs_ += clock_.elapsed();
        progress_->setFormat(
            tr("paused at step %1 of %2").arg(progress_->value()).arg(trainedTrain_.steps));
    } else {
        clock_.start();
    }
    updateButtons();
}

void TrainView::stop() {
    if (!training_)
        return;
    paused_->store(false);
    worker_.cancel();
    training_ = false;
    progress_->setFormat(
        tr("stopped at step %1 of %2").arg(progress_->value()).arg(trainedTrain_.steps));
    status_->setText(tr("Stopped after %1 steps; the curves show what was trained.")
                         .arg(steps_.empty() ? 0 : steps_.back().step));
    updateButtons();
    emit trainingEnded(false);
}

void TrainView::received(const TrainStep& s) {
    if (s.pretraining) { // the transfer's first phase: progress only, the curves are phase 2's
        progress_->setFormat(
            tr("pre-training: step %1 of %2").arg(s.step).arg(trainedTrain_.pretrainSteps));
        return;
    }
    steps_.push_back(s);
    if (s.recorded)
        recorded_.push_back(static_cast<int>(steps_.size()) - 1);
    const int done = s.step;
    progress_->setValue(std::min(done, trainedTrain_.steps));
    const double elapsed = (activeMs_ + (paused() ? 0 : clock_.elapsed())) / 1000.0;
    const double left = done > 0 ? elapsed / done * (trainedTrain_.steps - done) : kNaN;
    if (!paused())
        progress_->setFormat(tr("step %1 of %2, about %3 left")
                                 .arg(done)
                                 .arg(trainedTrain_.steps)
                                 .arg(durationText(left)));
    if (!redraw_->isActive())
        redraw_->start();
    if (s.recorded) {
        const bool follow = stepSlider_->value() == stepSlider_->maximum();
        stepSlider_->setRange(0, static_cast<int>(recorded_.size()) - 1);
        if (follow)
            stepSlider_->setValue(stepSlider_->maximum());
        drawStatistic();
        renderHeatmap();
    }
    emit stepShown(s.step);
}

void TrainView::finished(const TrainResult& r, const QString& error) {
    if (!training_)
        return; // stopped: the note is already set
    training_ = false;
    redraw_->stop();
    drawCurves(); // every step, now
    if (!error.isEmpty()) {
        failure_ = error;
        progress_->setFormat(tr("failed"));
        status_->setText(tr("Training failed: %1").arg(error));
        updateButtons();
        emit trainingEnded(false);
        return;
    }
    progress_->setValue(trainedTrain_.steps);
    const bool complete = !r.cancelled && r.firstNonfiniteStep < 0;
    QString text;
    if (r.firstNonfiniteStep >= 0)
        text = tr("The loss became non-finite at step %1: training stopped there (lower the "
                  "learning rate or the gain).")
                   .arg(r.firstNonfiniteStep);
    else if (trainedTrain_.task == TrainTask::FashionMnist)
        text = tr("Done: %1 steps in %2; test accuracy %3 on %4 held-out images.")
                   .arg(trainedTrain_.steps)
                   .arg(durationText(r.seconds))
                   .arg(r.testAccuracy, 0, 'f', 3)
                   .arg(trainedTrain_.testExamples);
    else
        text = tr("Done: %1 steps in %2; final loss %3.")
                   .arg(trainedTrain_.steps)
                   .arg(durationText(r.seconds))
                   .arg(steps_.empty() ? kNaN : steps_.back().loss, 0, 'g', 4);
    progress_->setFormat(complete ? tr("done: %1 steps").arg(trainedTrain_.steps) : tr("stopped"));
    status_->setText(text);
    updateButtons();
    emit trainingEnded(complete);
}

void TrainView::ensureHeadSeries(const std::vector<std::string>& names) {
    bool same = names.size() == headLoss_.size();
    for (std::size_t i = 0; same && i < names.size(); ++i)
        same = headLoss_[i]->objectName() ==
               QStringLiteral("head_loss_") + QString::fromStdString(names[i]);
    if (same)
        return;
    QChart* lc = lossView_->chart();
    for (QLineSeries* old : headLoss_) {
        lc->removeSeries(old);
        delete old;
    }
    headLoss_.clear();
    for (std::size_t i = 0; i < names.size(); ++i) {
        const QString name = QString::fromStdString(names[i]);
        // colours after the total (0) and the test points (1)
        QLineSeries* line =
            charts::addLine(lc, tr("head %1").arg(name), charts::color(2 + static_cast<int>(i)),
                            false, lossX_, lossY_, 1.5);
        line->setObjectName(QStringLiteral("head_loss_") + name);
        headLoss_.push_back(line);
    }
    // with heads: short names in a column beside the plot (five names in one row under it
    // are cut to "total loss (\u03a3 wei..." in a figure of four panels)
    trainLoss_->setName(names.empty() ? tr("mini-batch loss")
                                      : tr("total: \u03a3 weight \u00b7 head loss"));
    testLoss_->setName(names.empty() ? tr("test loss (held-out images)") : tr("test (held-out)"));
    lc->legend()->setAlignment(names.empty() ? Qt::AlignBottom : Qt::AlignRight);
}

void TrainView::drawCurves() {
    QList<QPointF> loss, acc, tLoss, tAcc;
    std::vector<double> ys;
    // the heads of the training shown (a transfer's pre-training steps have none)
    std::vector<std::string> headNames;
    for (auto it = steps_.rbegin(); it != steps_.rend() && headNames.empty(); ++it)
        for (const HeadStep& h : it->heads)
            headNames.push_back(h.name);
    ensureHeadSeries(headNames);
    std::vector<QList<QPointF>> headPoints(headNames.size());
    for (const TrainStep& s : steps_) {
        for (std::size_t i = 0; i < s.heads.size() && i < headPoints.size(); ++i)
            if (std::isfinite(s.heads[i].loss) && s.heads[i].loss > 0) {
                headPoints[i].append({double(s.step), s.heads[i].loss});
                ys.push_back(s.heads[i].loss);
            }
        if (std::isfinite(s.loss) && s.loss > 0) {
            loss.append({double(s.step), s.loss});
            ys.push_back(s.loss);
        }
        if (std::isfinite(s.accuracy))
            acc.append({double(s.step), s.accuracy});
        if (s.recorded && std::isfinite(s.testLoss) && s.testLoss > 0) {
            tLoss.append({double(s.step), s.testLoss});
            ys.push_back(s.testLoss);
        }
        if (s.recorded && std::isfinite(s.testAccuracy))
            tAcc.append({double(s.step), s.testAccuracy});
    }
    // the axes first: points laid out against a log axis whose range is not yet valid make
    // Qt Charts stroke infinite coordinates (a freeze)
    // the x axis follows the steps done (at least 10 wide): the whole planned range of a long
    // training would squeeze the first steps into a sliver
    const double last = std::max(10, steps_.empty() ? 0 : steps_.back().step);
    charts::integerTicks(lossX_, 0, last);
    charts::integerTicks(accX_, 0, last);
    charts::fitLog(lossY_, ys);
    charts::setPoints(trainLoss_, loss);
    charts::setPoints(testLoss_, tLoss, true);
    for (std::size_t i = 0; i < headLoss_.size(); ++i)
        charts::setPoints(headLoss_[i], headPoints[i]);
    charts::setPoints(trainAcc_, acc);
    charts::setPoints(testAcc_, tAcc, true);
    const bool classify = trainedTrain_.task == TrainTask::FashionMnist;
    accView_->chart()->setTitle(classify ? tr("Accuracy against training step")
                                         : tr("Accuracy (classification only; the teacher task "
                                              "has none)"));
}

int TrainView::recordedIndexOfSlider() const {
    if (recorded_.empty())
        return -1;
    return recorded_[std::size_t(
        std::clamp(stepSlider_->value(), 0, static_cast<int>(recorded_.size()) - 1))];
}

void TrainView::drawStatistic() {
    const LayerStatistic* s =
        findLayerStatistic(statistic_->currentData().toString().toStdString());
    const int now = recordedIndexOfSlider();
    if (!s || now < 0 || recorded_.empty()) {
        charts::setPoints(statInit_, {});
        charts::setPoints(statNow_, {});
        stepLabel_->setText(tr("step -"));
        return;
    }
    const TrainStep& init = steps_[std::size_t(recorded_.front())];
    const TrainStep& cur = steps_[std::size_t(now)];
    stepLabel_->setText(tr("step %1").arg(cur.step));
    // the statistic's own axis: log for those spanning decades
    QAbstractAxis* y = s->logScale ? static_cast<QAbstractAxis*>(statLogY_) : statY_;
    for (QLineSeries* series : {statInit_, statNow_}) {
        for (QAbstractAxis* a : series->attachedAxes())
            if (a == statY_ || a == statLogY_)
                series->detachAxis(a);
        series->attachAxis(y);
    }
    statY_->setVisible(!s->logScale);
    statLogY_->setVisible(s->logScale);
    y->setTitleText(QString::fromUtf8(s->axis));
    std::vector<QPointF> a, b;
    std::vector<double> ys;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t l = 0; l < init.layers.size(); ++l) {
        const double v = valueOf(*s, init.layers[l]);
        a.emplace_back(double(l + 1), v);
        ys.push_back(v);
    }
    for (std::size_t l = 0; l < cur.layers.size(); ++l) {
        const double v = valueOf(*s, cur.layers[l]);
        b.emplace_back(double(l + 1), v);
        ys.push_back(v);
    }
    for (double v : ys)
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    charts::integerTicks(statX_, 0.5, static_cast<double>(init.layers.size()) + 0.5);
    if (s->logScale)
        charts::fitLog(statLogY_, ys);
    else if (lo <= hi)
        charts::fitLinear(statY_, std::max(lo, s->lo), std::min(hi, s->hi), s->minSpan);
    charts::setPoints(statInit_, charts::drawable(a, s->logScale), a.size() < 30);
    charts::setPoints(statNow_, charts::drawable(b, s->logScale), b.size() < 30);
    statNow_->setName(tr("after %1 steps").arg(cur.step));
    statView_->chart()->setTitle(
        tr("%1 per layer: step 0 and step %2").arg(tr(s->title)).arg(cur.step));
}

void TrainView::renderHeatmap() {
    const LayerStatistic* s =
        findLayerStatistic(statistic_->currentData().toString().toStdString());
    if (!s || recorded_.empty())
        return;
    std::vector<TrainStep> rec;
    rec.reserve(recorded_.size());
    for (int i : recorded_)
        rec.push_back(steps_[std::size_t(i)]);
    const QString title = tr("%1 against training step").arg(tr(s->title));
    render_.submit([this, s, rec = std::move(rec), title](quint64 gen, std::atomic<bool>&) {
        GridImage g = statisticImage(*s, rec, QObject::tr("layer"));
        render_.post(gen, [this, g = std::move(g), title] {
            heatmap_->setGrid(g);
            heatmap_->setTitle(title);
        });
    });
}

} // namespace initscope::ui

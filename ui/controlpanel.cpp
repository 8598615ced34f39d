#include "controlpanel.h"

#include "activation.h"
#include "meanfield.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpressionValidator>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace initscope::ui {

namespace {

/// A double spin box that shows the shortest exact text instead of trailing zeros.
class PreciseSpinBox : public QDoubleSpinBox {
public:
    using QDoubleSpinBox::QDoubleSpinBox;
    QString textFromValue(double v) const override {
        QString s = locale().toString(v, 'f', decimals());
        const QChar dot = locale().decimalPoint().front();
        if (s.contains(dot)) {
            while (s.endsWith(QLatin1Char('0')))
                s.chop(1);
            if (s.endsWith(dot))
                s.chop(1);
        }
        return s;
    }
};

QDoubleSpinBox* doubleSpin(double lo, double hi, int decimals, double step, const QString& suffix,
                           const QString& tip) {
    auto* s = new PreciseSpinBox;
    s->setRange(lo, hi);
    s->setDecimals(decimals);
    s->setSingleStep(step);
    s->setSuffix(suffix);
    s->setToolTip(tip);
    s->setKeyboardTracking(false); // a typed number applies on Enter / focus out, not per digit
    s->setAccelerated(true);
    return s;
}

QSpinBox* intSpin(int lo, int hi, const QString& suffix, const QString& tip) {
    auto* s = new QSpinBox;
    s->setRange(lo, hi);
    s->setSuffix(suffix);
    s->setToolTip(tip);
    s->setKeyboardTracking(false);
    s->setAccelerated(true);
    return s;
}

QLabel* label(const QString& text, const QString& tip) {
    auto* l = new QLabel(text);
    l->setToolTip(tip);
    return l;
}

QString fmt(double v) {
    if (std::isnan(v))
        return QStringLiteral("n/a");
    if (std::isinf(v))
        return v > 0 ? QStringLiteral("\u221e") : QStringLiteral("-\u221e");
    return QString::number(v, 'g', 6);
}

} // namespace

// ---------------------------------------------------------------- LogIntControl

LogIntControl::LogIntControl(int minimum, int sliderMaximum, int spinMaximum, QWidget* parent)
    : QWidget(parent), min_(minimum), sliderMax_(sliderMaximum) {
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setRange(0, 1000);
    slider_->setPageStep(50);
    spin_ = new QSpinBox;
    spin_->setRange(minimum, spinMaximum);
    spin_->setKeyboardTracking(false);
    spin_->setAccelerated(true);
    spin_->setMinimumWidth(80);
    auto* lay = new QHBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->addWidget(slider_, 1);
    lay->addWidget(spin_);
    connect(slider_, &QSlider::valueChanged, this, [this](int pos) {
        const int v = fromSlider(pos);
        if (v == spin_->value())
            return;
        QSignalBlocker b(spin_);
        spin_->setValue(v);
        emit valueChanged(v);
    });
    connect(spin_, &QSpinBox::valueChanged, this, [this](int v) {
        QSignalBlocker b(slider_);
        slider_->setValue(toSlider(v));
        emit valueChanged(v);
    });
}

int LogIntControl::value() const {
    return spin_->value();
}

void LogIntControl::setValue(int v) {
    QSignalBlocker b1(spin_), b2(slider_);
    spin_->setValue(v);
    slider_->setValue(toSlider(spin_->value()));
}

int LogIntControl::toSlider(int v) const {
    const double t = std::log(static_cast<double>(std::max(v, min_)) / min_) /
                     std::log(static_cast<double>(sliderMax_) / min_);
    return std::clamp(static_cast<int>(std::lround(t * 1000)), 0, 1000);
}

int LogIntControl::fromSlider(int pos) const {
    const double t = pos / 1000.0;
    return static_cast<int>(
        std::lround(min_ * std::pow(static_cast<double>(sliderMax_) / min_, t)));
}

// ---------------------------------------------------------------- GainControl

GainControl::GainControl(QWidget* parent) : QWidget(parent) {
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setRange(0, static_cast<int>((kSliderLog10Max - kSliderLog10Min) * kStepsPerDecade));
    slider_->setSingleStep(1);
    slider_->setPageStep(kStepsPerDecade / 10);
    slider_->setToolTip(tr("Variance gain on a log scale (1e-3 .. 1e3); fine steps of 0.23 %.\n"
                           "Type an exact value (0 .. %1) in the box.")
                            .arg(Limits::kMaxGain));
    spin_ = doubleSpin(0, Limits::kMaxGain, 8, 0.01, QString(),
                       tr("Variance gain: multiplies the weight variance (not the standard "
                          "deviation). Exact entry, 0 .. %1.")
                           .arg(Limits::kMaxGain));
    spin_->setMinimumWidth(110);
    auto* lay = new QHBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->addWidget(slider_, 1);
    lay->addWidget(spin_);
    connect(slider_, &QSlider::valueChanged, this, [this](int pos) {
        const double g =
            std::pow(10.0, kSliderLog10Min + static_cast<double>(pos) / kStepsPerDecade);
        QSignalBlocker b(spin_);
        spin_->setValue(g);
        emit valueChanged(spin_->value());
    });
    connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double g) {
        QSignalBlocker b(slider_);
        const double pos = g > 0 ? (std::log10(g) - kSliderLog10Min) * kStepsPerDecade : 0.0;
        slider_->setValue(static_cast<int>(
            std::lround(std::clamp(pos, 0.0, static_cast<double>(slider_->maximum())))));
        emit valueChanged(g);
    });
}

double GainControl::value() const {
    return spin_->value();
}

void GainControl::setValue(double gain) {
    QSignalBlocker b1(spin_), b2(slider_);
    spin_->setValue(gain);
    const double pos = gain > 0 ? (std::log10(gain) - kSliderLog10Min) * kStepsPerDecade : 0.0;
    slider_->setValue(static_cast<int>(
        std::lround(std::clamp(pos, 0.0, static_cast<double>(slider_->maximum())))));
}

// ---------------------------------------------------------------- ControlPanel

ControlPanel::ControlPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("controlPanel"));
    auto* root = new QVBoxLayout(this);

    // ---- architecture
    auto* arch = new QGroupBox(tr("Network"));
    auto* af = new QFormLayout(arch);
    depth_ = new LogIntControl(1, 1000, Limits::kMaxDepth);
    depth_->setObjectName(QStringLiteral("depth"));
    const QString depthTip =
        tr("Number of weight layers L (1 .. %1). Slider: log scale up to 1000.")
            .arg(Limits::kMaxDepth);
    depth_->setToolTip(depthTip);
    depth_->spinBox()->setSuffix(tr(" layers"));
    af->addRow(label(tr("Depth L"), depthTip), depth_);
    width_ = new LogIntControl(8, 4096, Limits::kMaxWidth);
    width_->setObjectName(QStringLiteral("width"));
    width_->spinBox()->setMinimum(Limits::kMinWidth);
    const QString widthTip = tr("Units per hidden layer N (%1 .. %2). Slider: log scale 8 .. 4096.")
                                 .arg(Limits::kMinWidth)
                                 .arg(Limits::kMaxWidth);
    width_->setToolTip(widthTip);
    width_->spinBox()->setSuffix(tr(" units"));
    af->addRow(label(tr("Width N"), widthTip), width_);
    activation_ = new QComboBox;
    activation_->setObjectName(QStringLiteral("activation"));
    for (ActivationKind k : allActivations())
        activation_->addItem(QString::fromStdString(activationName(k)), static_cast<int>(k));
    const QString actTip = tr("Nonlinearity phi applied after every layer: a = phi(h).");
    activation_->setToolTip(actTip);
    af->addRow(label(tr("Activation phi"), actTip), activation_);
    slope_ = doubleSpin(0, 1, 4, 0.01, QString(),
                        tr("Negative-side slope a of leaky-relu: phi(x) = a x for x < 0."));
    slope_->setObjectName(QStringLiteral("activation_slope"));
    af->addRow(label(tr("Leaky slope a"), slope_->toolTip()), slope_);
    root->addWidget(arch);

    // ---- initialisation
    auto* initBox = new QGroupBox(tr("Initialization"));
    auto* inf = new QFormLayout(initBox);
    init_ = new QComboBox;
    init_->setObjectName(QStringLiteral("init"));
    for (InitScheme s : allInitSchemes())
        init_->addItem(QString::fromStdString(initSchemeName(s)), static_cast<int>(s));
    const QString initTip =
        tr("Weight initialization scheme. Var(W) = gain x base variance:\n"
           "lecun 1/fanIn, xavier 2/(fanIn+fanOut), he 2/fan, orthogonal 1/fanIn;\n"
           "normal/uniform: naive, no fan scaling (init value = std / limit).");
    init_->setToolTip(initTip);
    inf->addRow(label(tr("Scheme"), initTip), init_);
    fanMode_ = new QComboBox;
    fanMode_->setObjectName(QStringLiteral("fan_mode"));
    fanMode_->addItem(QString::fromStdString(fanModeName(FanMode::FanIn)),
                      static_cast<int>(FanMode::FanIn));
    fanMode_->addItem(QString::fromStdString(fanModeName(FanMode::FanOut)),
                      static_cast<int>(FanMode::FanOut));
    fanMode_->setToolTip(tr("Which fan He initialization divides by (He et al. 2015)."));
    inf->addRow(label(tr("Fan mode"), fanMode_->toolTip()), fanMode_);
    gain_ = new GainControl;
    gain_->setObjectName(QStringLiteral("gain"));
    inf->addRow(label(tr("Variance gain"), gain_->spinBox()->toolTip()), gain_);
    auto* buttons = new QHBoxLayout;
    xavier_ = new QPushButton(tr("&Xavier"));
    xavier_->setObjectName(QStringLiteral("xavierButton"));
    xavier_->setToolTip(tr("Set the gain so that Var(W) = 2/(fanIn+fanOut) (Glorot & Bengio "
                           "2010). Ctrl+Shift+X"));
    he_ = new QPushButton(tr("H&e"));
    he_->setObjectName(QStringLiteral("heButton"));
    he_->setToolTip(tr("Set the gain so that sigma_w^2 = 2/(1+a^2) (He et al. 2015; a = leaky "
                       "slope, 0 for the others). Ctrl+Shift+H"));
    critical_ = new QPushButton(tr("&Critical"));
    critical_->setObjectName(QStringLiteral("criticalButton"));
    critical_->setToolTip(tr("Set the gain to the edge of chaos: the sigma_w^2 at which chi1 = 1 "
                             "for this activation and sigma_b^2 (Poole et al. 2016, Schoenholz et "
                             "al. 2017). Ctrl+Shift+C"));
    buttons->addWidget(xavier_);
    buttons->addWidget(he_);
    buttons->addWidget(critical_);
    inf->addRow(label(tr("Set gain"), tr("Gain presets for the current scheme and widths")),
                buttons);
    initValue_ = doubleSpin(0, 1e6, 6, 0.01, QString(),
                            tr("Naive schemes: standard deviation (normal), limit (uniform) or "
                               "value (constant) of the weights before the gain."));
    initValue_->setObjectName(QStringLiteral("init_value"));
    inf->addRow(label(tr("Init value"), initValue_->toolTip()), initValue_);
    biasInit_ = new QComboBox;
    biasInit_->setObjectName(QStringLiteral("bias_init"));
    for (BiasInit b : {BiasInit::Zeros, BiasInit::Constant, BiasInit::Normal})
        biasInit_->addItem(QString::fromStdString(biasInitName(b)), static_cast<int>(b));
    biasInit_->setToolTip(tr("Biases: all zero, all equal to the bias value, or N(0, sigma_b^2)."));
    inf->addRow(label(tr("Bias init"), biasInit_->toolTip()), biasInit_);
    sigmaB2_ = doubleSpin(0, Limits::kMaxSigmaB2, 6, 0.01, QString(),
                          tr("Bias variance sigma_b^2 (0 .. %1) of the normal bias init; "
                             "used only when Bias init is normal.")
                              .arg(Limits::kMaxSigmaB2));
    sigmaB2_->setObjectName(QStringLiteral("sigma_b2"));
    inf->addRow(label(tr("Bias variance \u03c3_b\u00b2"), sigmaB2_->toolTip()), sigmaB2_);
    biasValue_ = doubleSpin(-1e6, 1e6, 6, 0.01, QString(),
                            tr("Value of every bias; used only when Bias init is constant."));
    biasValue_->setObjectName(QStringLiteral("bias_value"));
    inf->addRow(label(tr("Bias value"), biasValue_->toolTip()), biasValue_);
    root->addWidget(initBox);

    // ---- inputs and run
    auto* inputs = new QGroupBox(tr("Inputs and run"));
    auto* ipf = new QFormLayout(inputs);
    batch_ = intSpin(Limits::kMinBatch, Limits::kMaxBatch, tr(" inputs"),
                     tr("Batch size B: inputs propagated together (%1 .. %2); statistics are "
                        "averaged over them.")
                         .arg(Limits::kMinBatch)
                         .arg(Limits::kMaxBatch));
    batch_->setObjectName(QStringLiteral("batch"));
    ipf->addRow(label(tr("Batch B"), batch_->toolTip()), batch_);
    inputDim_ = intSpin(1, Limits::kMaxInputDim, tr(" units"),
                        tr("Input dimension N_0 (1 .. %1).").arg(Limits::kMaxInputDim));
    inputDim_->setObjectName(QStringLiteral("input_dim"));
    ipf->addRow(label(tr("Input dim N\u2080"), inputDim_->toolTip()), inputDim_);
    inputMean_ =
        doubleSpin(-1e6, 1e6, 4, 0.1, QString(), tr("Mean mu of the inputs x_i ~ N(mu, s^2)."));
    inputMean_->setObjectName(QStringLiteral("input_mean"));
    ipf->addRow(label(tr("Input mean \u03bc"), inputMean_->toolTip()), inputMean_);
    inputScale_ = doubleSpin(0, Limits::kMaxInputScale, 4, 0.1, QString(),
                             tr("Standard deviation s of the inputs x_i ~ N(mu, s^2) (0 .. %1).")
                                 .arg(Limits::kMaxInputScale));
    inputScale_->setObjectName(QStringLiteral("input_scale"));
    ipf->addRow(label(tr("Input scale s"), inputScale_->toolTip()), inputScale_);
    seed_ = new QLineEdit;
    // every seed the engine takes, 0 .. 2^64 - 1 (a spin box stops at 2^31 - 1)
    seed_->setValidator(
        new QRegularExpressionValidator(QRegularExpression(QStringLiteral("[0-9]{1,20}")), seed_));
    seed_->setToolTip(tr("Random seed (0 .. 18446744073709551615): the same seed gives the same "
                         "network and inputs."));
    seed_->setObjectName(QStringLiteral("seed"));
    ipf->addRow(label(tr("Seed"), seed_->toolTip()), seed_);
    histRange_ = doubleSpin(0.01, 1e6, 3, 0.5, QString(),
                            tr("The distribution heatmap covers h in [-r, r]; values outside land "
                               "in the edge bins."));
    histRange_->setObjectName(QStringLiteral("hist_range"));
    ipf->addRow(label(tr("Histogram range \u00b1r"), histRange_->toolTip()), histRange_);
    root->addWidget(inputs);

    // ---- readout
    auto* read = new QGroupBox(tr("Mean-field readout"));
    read->setToolTip(tr("Infinite-width theory for the current settings (THEORY.md)."));
    auto* grid = new QGridLayout(read);
    const std::pair<const char*, QString> rows[] = {
        {"sigma_w2", tr("effective \u03c3_w\u00b2 = Var(W)\u00b7fanIn")},
        {"chi1", tr("\u03c7\u2081 (gradient factor per layer)")},
        {"q_star", tr("q* (fixed-point length)")},
        {"xi_q", tr("\u03be_q (length depth scale, layers)")},
        {"xi_c", tr("\u03be_c (correlation depth scale, layers)")},
        {"phase", tr("phase")}};
    int r = 0;
    for (const auto& [key, text] : rows) {
        auto* name = new QLabel(text);
        auto* value = new QLabel(QStringLiteral("-"));
        value->setObjectName(QStringLiteral("readout_%1").arg(QLatin1String(key)));
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        QFont f = value->font();
        f.setBold(true);
        value->setFont(f);
        grid->addWidget(name, r, 0);
        grid->addWidget(value, r, 1);
        readout_[QLatin1String(key)] = value;
        ++r;
    }
    // A sentence, not a value: wrapped across the box so it never widens the dock.
    theoryNote_ = new QLabel;
    theoryNote_->setObjectName(QStringLiteral("readout_note"));
    theoryNote_->setWordWrap(true);
    theoryNote_->hide();
    grid->addWidget(theoryNote_, r, 0, 1, 2);
    root->addWidget(read);

    error_ = new QLabel;
    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #d03030; font-weight: bold;"));
    error_->setVisible(false);
    root->addWidget(error_);
    root->addStretch(1);

    fieldWidgets_ = {{QStringLiteral("depth"), depth_},
                     {QStringLiteral("width"), width_},
                     {QStringLiteral("input_dim"), inputDim_},
                     {QStringLiteral("batch"), batch_},
                     {QStringLiteral("activation"), activation_},
                     {QStringLiteral("activation_slope"), slope_},
                     {QStringLiteral("init"), init_},
                     {QStringLiteral("fan_mode"), fanMode_},
                     {QStringLiteral("gain"), gain_},
                     {QStringLiteral("init_value"), initValue_},
                     {QStringLiteral("bias_init"), biasInit_},
                     {QStringLiteral("sigma_b2"), sigmaB2_},
                     {QStringLiteral("bias_value"), biasValue_},
                     {QStringLiteral("input_mean"), inputMean_},
                     {QStringLiteral("input_scale"), inputScale_},
                     {QStringLiteral("seed"), seed_},
                     {QStringLiteral("hist_range"), histRange_}};

    setSpec(NetworkSpec{});

    connect(depth_, &LogIntControl::valueChanged, this, &ControlPanel::edited);
    connect(width_, &LogIntControl::valueChanged, this, &ControlPanel::edited);
    connect(gain_, &GainControl::valueChanged, this, &ControlPanel::edited);
    for (QSpinBox* s : {inputDim_, batch_})
        connect(s, &QSpinBox::valueChanged, this, &ControlPanel::edited);
    connect(seed_, &QLineEdit::editingFinished, this, [this] {
        bool ok = false;
        const qulonglong v = seed_->text().toULongLong(&ok);
        if (!ok) { // empty, or beyond 2^64 - 1: say so and keep the seed that runs
            emit message(tr("Seed: must be an integer from 0 to 18446744073709551615 (got '%1')")
                             .arg(seed_->text()));
            seed_->setText(QString::number(seed_value_));
            return;
        }
        if (v == seed_value_)
            return;
        seed_value_ = v;
        edited();
    });
    for (QDoubleSpinBox* s : {slope_, initValue_, biasValue_, inputMean_, inputScale_, histRange_})
        connect(s, &QDoubleSpinBox::valueChanged, this, &ControlPanel::edited);
    connect(sigmaB2_, &QDoubleSpinBox::valueChanged, this, &ControlPanel::edited);
    for (QComboBox* c : {activation_, init_, fanMode_, biasInit_})
        connect(c, &QComboBox::currentIndexChanged, this, &ControlPanel::edited);
    connect(xavier_, &QPushButton::clicked, this, &ControlPanel::setXavierGain);
    connect(he_, &QPushButton::clicked, this, &ControlPanel::setHeGain);
    connect(critical_, &QPushButton::clicked, this, &ControlPanel::setCriticalGain);
}

NetworkSpec ControlPanel::spec() const {
    NetworkSpec s = base_;
    // A spin box shows a value rounded to its decimals; while it still shows the value setSpec
    // gave it, the spec keeps that value exactly (a preset's gain 1.7609546396067193 must not
    // become 1.76095464 by being loaded, nor per-layer widths be lost).
    auto exact = [](const QDoubleSpinBox* box, double base) {
        const double shown = QString::number(base, 'f', box->decimals()).toDouble();
        return box->value() == shown ? base : box->value();
    };
    s.depth = depth_->value();
    s.width = width_->value();
    if (s.depth != base_.depth || s.width != base_.width)
        s.widths.clear();
    s.inputDim = inputDim_->value();
    s.activation = static_cast<ActivationKind>(activation_->currentData().toInt());
    s.activationSlope = exact(slope_, base_.activationSlope);
    s.init = static_cast<InitScheme>(init_->currentData().toInt());
    s.fanMode = static_cast<FanMode>(fanMode_->currentData().toInt());
    s.gain = exact(gain_->spinBox(), base_.gain);
    s.initValue = exact(initValue_, base_.initValue);
    s.biasInit = static_cast<BiasInit>(biasInit_->currentData().toInt());
    s.sigmaB2 = exact(sigmaB2_, base_.sigmaB2);
    s.biasValue = exact(biasValue_, base_.biasValue);
    s.batch = batch_->value();
    s.inputMean = exact(inputMean_, base_.inputMean);
    s.inputScale = exact(inputScale_, base_.inputScale);
    s.seed = seed_value_;
    s.histRange = exact(histRange_, base_.histRange);
    return s;
}

void ControlPanel::setSpec(const NetworkSpec& s) {
    updating_ = true;
    base_ = s;
    const QList<QWidget*> all = findChildren<QWidget*>();
    std::vector<std::unique_ptr<QSignalBlocker>> blockers;
    for (QWidget* w : all)
        blockers.push_back(std::make_unique<QSignalBlocker>(w));
    depth_->setValue(s.depth);
    width_->setValue(s.width);
    inputDim_->setValue(s.inputDim);
    activation_->setCurrentIndex(activation_->findData(static_cast<int>(s.activation)));
    slope_->setValue(s.activationSlope);
    init_->setCurrentIndex(init_->findData(static_cast<int>(s.init)));
    fanMode_->setCurrentIndex(fanMode_->findData(static_cast<int>(s.fanMode)));
    gain_->setValue(s.gain);
    initValue_->setValue(s.initValue);
    biasInit_->setCurrentIndex(biasInit_->findData(static_cast<int>(s.biasInit)));
    sigmaB2_->setValue(s.sigmaB2);
    biasValue_->setValue(s.biasValue);
    batch_->setValue(s.batch);
    inputMean_->setValue(s.inputMean);
    inputScale_->setValue(s.inputScale);
    seed_value_ = s.seed;
    seed_->setText(QString::number(s.seed));
    histRange_->setValue(s.histRange);
    blockers.clear();
    updating_ = false;
    held_.clear(); // the spec's own values stand, not those held from before
    heldFanMode_ = -1;
    updateEnabled();
}

void ControlPanel::updateEnabled() {
    const auto init = static_cast<InitScheme>(init_->currentData().toInt());
    const bool he = init == InitScheme::HeNormal || init == InitScheme::HeUniform;
    const bool naive =
        init == InitScheme::Normal || init == InitScheme::Uniform || init == InitScheme::Constant;
    const auto bias = static_cast<BiasInit>(biasInit_->currentData().toInt());
    const NetworkSpec d;
    // A control the other settings make meaningless is disabled and shows the value that is
    // used (the default); the user's value comes back when it applies again.
    applies(slope_,
            static_cast<ActivationKind>(activation_->currentData().toInt()) ==
                ActivationKind::LeakyRelu,
            d.activationSlope);
    applies(initValue_, naive, d.initValue);
    applies(sigmaB2_, bias == BiasInit::Normal, d.sigmaB2);
    applies(biasValue_, bias == BiasInit::Constant, d.biasValue);
    if (he != fanMode_->isEnabledTo(this)) {
        QSignalBlocker b(fanMode_);
        if (!he) {
            heldFanMode_ = fanMode_->currentIndex();
            fanMode_->setCurrentIndex(fanMode_->findData(static_cast<int>(d.fanMode)));
        } else if (heldFanMode_ >= 0) {
            fanMode_->setCurrentIndex(heldFanMode_);
        }
        fanMode_->setEnabled(he);
    }
    const bool scalable = init != InitScheme::Zeros && init != InitScheme::Constant;
    xavier_->setEnabled(scalable);
    he_->setEnabled(scalable);
    critical_->setEnabled(scalable);
}

void ControlPanel::applies(QDoubleSpinBox* box, bool used, double defaultValue) {
    if (used == box->isEnabledTo(this))
        return;
    QSignalBlocker b(box);
    if (!used) {
        held_[box] = box->value();
        box->setValue(defaultValue);
    } else if (auto it = held_.find(box); it != held_.end()) {
        box->setValue(it->second);
    }
    box->setEnabled(used);
}

void ControlPanel::edited() {
    if (updating_)
        return;
    updateEnabled();
    emit specEdited();
}

double ControlPanel::gainFor(const NetworkSpec& spec, double targetSigmaW2) {
    return gainForSigmaW2(spec, targetSigmaW2);
}

void ControlPanel::setGain(double gain, const QString& why) {
    if (!std::isfinite(gain) || gain < 0 || gain > Limits::kMaxGain) {
        emit message(
            tr("Cannot set the %1 gain for the %2 scheme.").arg(why, init_->currentText()));
        return;
    }
    gain_->setValue(gain);
    emit message(tr("Gain set to %1 (%2).").arg(gain, 0, 'g', 8).arg(why));
    edited();
}

void ControlPanel::setXavierGain() {
    const NetworkSpec s = spec();
    const int l = referenceLayer(s);
    const double fanIn = s.widthOf(l - 1), fanOut = s.widthOf(l);
    // Glorot & Bengio 2010: Var(W) = 2 / (fanIn + fanOut), i.e. sigma_w^2 = 2 fanIn/(fanIn+fanOut)
    setGain(gainFor(s, 2.0 * fanIn / (fanIn + fanOut)), tr("Xavier"));
}

void ControlPanel::setHeGain() {
    const NetworkSpec s = spec();
    // He et al. 2015: sigma_w^2 = 2 / (1 + a^2) for (leaky) rectifiers with negative slope a.
    const double a = s.activation == ActivationKind::LeakyRelu ? s.activationSlope : 0.0;
    setGain(gainFor(s, 2.0 / (1.0 + a * a)), tr("He"));
}

void ControlPanel::setCriticalGain() {
    const NetworkSpec s = spec();
    const Activation act(s.activation, s.activationSlope);
    const double sb2 = effectiveSigmaB2(s);
    const double sw2 = meanfield::criticalSigmaW2(act, sb2);
    if (!std::isfinite(sw2)) {
        emit message(tr("%1 has no critical point (chi1 = 1) at sigma_b^2 = %2.")
                         .arg(activation_->currentText())
                         .arg(sb2));
        return;
    }
    setGain(gainFor(s, sw2), tr("critical: sigma_w^2 = %1 gives chi1 = 1").arg(sw2, 0, 'g', 8));
}

void ControlPanel::setTheory(const NetworkSpec& s, const TheoryCurves& t) {
    const double sw2 = effectiveSigmaW2(s, referenceLayer(s));
    QString sw = fmt(sw2);
    if (s.depth >= 2) {
        const double first = effectiveSigmaW2(s, 1);
        if (std::abs(first - sw2) > 1e-12 * std::max(1.0, std::abs(sw2)))
            sw += tr(" (layer 1: %1)").arg(fmt(first));
    }
    readout_[QStringLiteral("sigma_w2")]->setText(sw);
    if (!t.applicable) {
        for (const char* k : {"chi1", "q_star", "xi_q", "xi_c"})
            readout_[QLatin1String(k)]->setText(QStringLiteral("n/a"));
        readout_[QStringLiteral("phase")]->setText(tr("n/a"));
        readout_[QStringLiteral("phase")]->setToolTip(QString::fromStdString(t.note));
        theoryNote_->setText(QString::fromStdString(t.note));
        theoryNote_->show();
        return;
    }
    theoryNote_->hide();
    readout_[QStringLiteral("chi1")]->setText(fmt(t.chi1));
    readout_[QStringLiteral("q_star")]->setText(fmt(t.qStar));
    readout_[QStringLiteral("xi_q")]->setText(fmt(t.xiQ));
    readout_[QStringLiteral("xi_c")]->setText(fmt(t.xiC));
    QString phase = QString::fromStdString(t.phase);
    QString color = QStringLiteral("#2a8a2a");
    if (phase == QLatin1String("ordered"))
        color = QStringLiteral("#2a6fd0");
    else if (phase == QLatin1String("chaotic"))
        color = QStringLiteral("#d05a20");
    auto* ph = readout_[QStringLiteral("phase")];
    ph->setText(
        QStringLiteral("<span style='color:%1'>%2</span>").arg(color, phase.toHtmlEscaped()));
    ph->setToolTip(tr("ordered: chi1 < 1, critical: chi1 = 1, chaotic: chi1 > 1"));
}

void ControlPanel::clearTheory() {
    for (auto& [k, l] : readout_)
        l->setText(QStringLiteral("-"));
    theoryNote_->hide();
}

void ControlPanel::setErrors(const std::vector<SpecError>& errors) {
    for (auto& [name, w] : fieldWidgets_)
        w->setStyleSheet(QString());
    if (errors.empty()) {
        error_->clear();
        error_->setVisible(false);
        return;
    }
    QStringList lines;
    for (const auto& e : errors) {
        lines << QString::fromStdString(e.message);
        auto it = fieldWidgets_.find(QString::fromStdString(e.field));
        if (it != fieldWidgets_.end())
            it->second->setStyleSheet(QStringLiteral("border: 2px solid #d03030;"));
    }
    error_->setText(lines.join(QLatin1Char('\n')));
    error_->setVisible(true);
}

QString ControlPanel::errorText() const {
    return error_->isVisible() ? error_->text() : QString();
}

bool ControlPanel::isDragging() const {
    return depth_->slider()->isSliderDown() || width_->slider()->isSliderDown() ||
           gain_->slider()->isSliderDown();
}

QLabel* ControlPanel::readoutLabel(const QString& key) const {
    auto it = readout_.find(key);
    return it == readout_.end() ? nullptr : it->second;
}

} // namespace initscope::ui

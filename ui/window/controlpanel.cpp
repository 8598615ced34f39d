#include "window/controlpanel.h"

#include "charts/networkdiagram.h"
#include "core/activation.h"
#include "core/data.h"
#include "spec/fields.h"
#include "theory/meanfield.h"
#include "window/headseditor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <QKeyEvent>
#include <QLocale>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QScrollArea>
#include <QTimer>

#include <cfloat>
#include <cmath>
#include <limits>
#include <optional>

namespace initscope::ui {

namespace {

/// Digits, '.', sign and exponent as the engine's parser reads them; never the user's locale,
/// so "0,5" is not silently 5 (or 0.5 here and 5 there) and "1e3" is not 13.
/// The text a user typed, without the box's prefix and unit suffix (" GiB").
QString withoutAffixes(QString text, const QString& prefix, QString suffix) {
    text = text.trimmed();
    suffix = suffix.trimmed();
    if (!prefix.isEmpty() && text.startsWith(prefix))
        text.remove(0, prefix.size());
    if (!suffix.isEmpty() && text.endsWith(suffix))
        text.chop(suffix.size());
    return text.trimmed();
}

std::optional<double> parseNumber(const QString& typed, const QString& prefix,
                                  const QString& suffix) {
    const QString text = withoutAffixes(typed, prefix, suffix);
    static const QRegularExpression number(
        QStringLiteral("^[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$"));
    if (!number.match(text).hasMatch())
        return std::nullopt;
    bool ok = false;
    const double v = QLocale::c().toDouble(text, &ok);
    if (!ok || !std::isfinite(v))
        return std::nullopt;
    return v;
}

/// Changes a control by the wheel only while it has the focus: otherwise the wheel event goes
/// on to the scroll area, which scrolls the dock (a lecturer scrolling past the activation box
/// must not turn tanh into sigmoid).
class WheelGuard : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Wheel) {
            auto* w = qobject_cast<QWidget*>(watched);
            if (w && !w->hasFocus()) {
                event->ignore();
                return true; // not delivered here; QApplication passes it to the parents
            }
        }
        return false;
    }
};

/// Ctrl+Z (Ctrl+Shift+Z, Ctrl+Y) in a number box undoes the last change of the settings
/// (Edit > Undo), as everywhere else in the window; only while the box holds typed text not yet
/// applied does it undo the typing, as in any text field.
class UndoKeyGuard : public QObject {
public:
    using QObject::QObject;
    static constexpr const char* kTyping = "initscopeTyping";
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() != QEvent::ShortcutOverride)
            return false;
        auto* k = static_cast<QKeyEvent*>(event);
        const bool undoKey =
            k->matches(QKeySequence::Undo) || k->matches(QKeySequence::Redo) ||
            k->keyCombination() == QKeyCombination(Qt::ControlModifier, Qt::Key_Y) ||
            k->keyCombination() ==
                QKeyCombination(Qt::ControlModifier | Qt::ShiftModifier, Qt::Key_Z);
        if (!undoKey || watched->property(kTyping).toBool())
            return false;
        event->ignore(); // not the box's: the window's shortcut takes it
        return true;
    }
    /// Follows whether `box` holds typed text: from a keystroke to Enter or focus-out.
    void watch(QWidget* box, QLineEdit* edit) {
        box->installEventFilter(this);
        connect(edit, &QLineEdit::textEdited, box, [box] { box->setProperty(kTyping, true); });
        auto done = [box] { box->setProperty(kTyping, false); };
        if (auto* spin = qobject_cast<QAbstractSpinBox*>(box))
            connect(spin, &QAbstractSpinBox::editingFinished, box, done);
        else
            connect(edit, &QLineEdit::editingFinished, box, done);
    }
};

FieldSpinBox* fieldSpin(const char* field, double step, const QString& suffix, const QString& tip) {
    const FieldInfo* f = fieldInfo(field);
    auto* s = new FieldSpinBox;
    s->setObjectName(QLatin1String(field));
    s->setRange(f->lo, f->hi);
    s->setMinimumExclusive(f->loExclusive);
    s->setSingleStep(step);
    s->setSuffix(suffix);
    s->setToolTip(
        tip + QStringLiteral("\n") +
        ControlPanel::tr("Allowed: %1%2. Preset key: %3.")
            .arg(QString::fromStdString(fieldRangeText(*f)), suffix, QLatin1String(field)));
    s->setAccelerated(true);
    return s;
}

FieldIntSpinBox* intSpin(const char* field, const QString& suffix, const QString& tip) {
    const FieldInfo* f = fieldInfo(field);
    auto* s = new FieldIntSpinBox;
    s->setObjectName(QLatin1String(field));
    s->setRange(static_cast<int>(f->lo), static_cast<int>(f->hi));
    s->setSuffix(suffix);
    s->setToolTip(
        tip + QStringLiteral("\n") +
        ControlPanel::tr("Allowed: %1%2. Preset key: %3.")
            .arg(QString::fromStdString(fieldRangeText(*f)), suffix, QLatin1String(field)));
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

// ---------------------------------------------------------------- FieldSpinBox

FieldSpinBox::FieldSpinBox(QWidget* parent) : QDoubleSpinBox(parent) {
    // Every double survives: the value is never rounded to a number of decimals (the text
    // shown is the shortest that reads back as the same double).
    setDecimals(DBL_MAX_10_EXP + DBL_DIG);
    setKeyboardTracking(false); // a typed number applies on Enter / focus out, not per digit
    connect(this, &QDoubleSpinBox::valueChanged, this, [this] { setStyleSheet(QString()); });
}

QValidator::State FieldSpinBox::validate(QString& text, int&) const {
    const auto v = parseNumber(text, prefix(), suffix());
    if (v && (exclusiveMin_ ? *v > minimum() : *v >= minimum()) && *v <= maximum())
        return QValidator::Acceptable;
    // Never Invalid: a keystroke is not swallowed; what cannot be used is refused on Enter.
    return QValidator::Intermediate;
}

double FieldSpinBox::valueFromText(const QString& text) const {
    // the text shown for the value (six digits of a long one) reads back as the value itself
    if (withoutAffixes(text, prefix(), suffix()) == textFromValue(value()))
        return value();
    return parseNumber(text, prefix(), suffix()).value_or(value());
}

QString FieldSpinBox::textFromValue(double v) const {
    // plain digits where they stay short (200000, 0.001), an exponent beyond (1e+12, 1e-07)
    const double a = std::abs(v);
    const char format = a == 0 || (a >= 1e-4 && a < 1e9) ? 'f' : 'g';
    const QString exact = QString::number(v, format, QLocale::FloatingPointShortest);
    // A long value (a learned sigma_b^2 of 5.34024232551345e-05) would be cut by the box to
    // "5.3402423255" without its exponent: six significant digits are shown instead, while the
    // value itself is kept whole (valueFromText)
    return exact.size() <= 12 ? exact : QString::number(v, 'g', 6);
}

void FieldSpinBox::fixup(QString& text) const {
    // Called on Enter / focus-out (sometimes twice, by the line edit and the spin box) with
    // text validate() did not accept; one refusal is reported once the event is done.
    if (property("refusalPending").toBool())
        return;
    auto* self = const_cast<FieldSpinBox*>(this);
    self->setProperty("refusalPending", true);
    QTimer::singleShot(0, self, [self, typed = withoutAffixes(text, prefix(), suffix())] {
        self->setProperty("refusalPending", false);
        emit self->refused(typed);
    });
}

void FieldSpinBox::stepBy(int steps) {
    // 12 significant digits: 0.1 + 0.2 shows as 0.3, not 0.30000000000000004
    double v = QString::number(value() + steps * singleStep(), 'g', 12).toDouble();
    if (exclusiveMin_ && v <= minimum())
        return;
    setValue(v);
    selectAll();
}

FieldIntSpinBox::FieldIntSpinBox(QWidget* parent) : QSpinBox(parent) {
    setKeyboardTracking(false);
    connect(this, &QSpinBox::valueChanged, this, [this] { setStyleSheet(QString()); });
}

QValidator::State FieldIntSpinBox::validate(QString& text, int&) const {
    const auto v = parseNumber(text, prefix(), suffix());
    if (v && *v == std::floor(*v) && *v >= minimum() && *v <= maximum())
        return QValidator::Acceptable;
    return QValidator::Intermediate;
}

int FieldIntSpinBox::valueFromText(const QString& text) const {
    const auto v = parseNumber(text, prefix(), suffix());
    return v && *v >= minimum() && *v <= maximum() ? static_cast<int>(*v) : value();
}

void FieldIntSpinBox::fixup(QString& text) const {
    if (property("refusalPending").toBool())
        return;
    auto* self = const_cast<FieldIntSpinBox*>(this);
    self->setProperty("refusalPending", true);
    QTimer::singleShot(0, self, [self, typed = withoutAffixes(text, prefix(), suffix())] {
        self->setProperty("refusalPending", false);
        emit self->refused(typed);
    });
}

// ---------------------------------------------------------------- LogIntControl

LogIntControl::LogIntControl(int minimum, int sliderMaximum, int spinMaximum, QWidget* parent)
    : QWidget(parent), min_(minimum), sliderMax_(sliderMaximum) {
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setRange(0, 1000);
    slider_->setPageStep(50);
    spin_ = new FieldIntSpinBox;
    spin_->setRange(minimum, spinMaximum);
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

// ---------------------------------------------------------------- LogDoubleControl

LogDoubleControl::LogDoubleControl(double log10Min, double log10Max, QWidget* parent)
    : QWidget(parent), log10Min_(log10Min), log10Max_(log10Max) {
    slider_ = new QSlider(Qt::Horizontal);
    slider_->setRange(0, static_cast<int>(std::lround((log10Max - log10Min) * kStepsPerDecade)));
    slider_->setSingleStep(1);
    slider_->setPageStep(kStepsPerDecade / 10);
    slider_->installEventFilter(this);
    spin_ = new FieldSpinBox;
    spin_->setMinimumWidth(110);
    auto* lay = new QHBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    lay->addWidget(slider_, 1);
    lay->addWidget(spin_);
    connect(slider_, &QSlider::valueChanged, this, [this](int pos) {
        if (fineDrag_)
            return;
        // 6 significant digits: a slider step is 0.23 %, the digits beyond say nothing
        const double v =
            QString::number(std::pow(10.0, log10Min_ + static_cast<double>(pos) / kStepsPerDecade),
                            'g', 6)
                .toDouble();
        QSignalBlocker b(spin_);
        spin_->setValue(v);
        emit valueChanged(spin_->value());
    });
    connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        QSignalBlocker b(slider_);
        slider_->setValue(toSlider(v));
        emit valueChanged(v);
    });
}

double LogDoubleControl::value() const {
    return spin_->value();
}

void LogDoubleControl::setValue(double v) {
    QSignalBlocker b1(spin_), b2(slider_);
    spin_->setValue(v);
    slider_->setValue(toSlider(spin_->value()));
}

int LogDoubleControl::toSlider(double v) const {
    const double pos = v > 0 ? (std::log10(v) - log10Min_) * kStepsPerDecade : 0.0;
    return static_cast<int>(
        std::lround(std::clamp(pos, 0.0, static_cast<double>(slider_->maximum()))));
}

void LogDoubleControl::setFine(double v) {
    v = std::clamp(QString::number(v, 'g', 6).toDouble(), spin_->minimum(), spin_->maximum());
    if (v == spin_->value())
        return;
    setValue(v);
    emit valueChanged(spin_->value());
}

bool LogDoubleControl::eventFilter(QObject* watched, QEvent* event) {
    if (watched != slider_)
        return false;
    switch (event->type()) {
    case QEvent::KeyPress: {
        auto* k = static_cast<QKeyEvent*>(event);
        if (!(k->modifiers() & Qt::ShiftModifier))
            return false;
        int dir = 0;
        if (k->key() == Qt::Key_Right || k->key() == Qt::Key_Up)
            dir = 1;
        else if (k->key() == Qt::Key_Left || k->key() == Qt::Key_Down)
            dir = -1;
        if (dir == 0)
            return false;
        const double v = spin_->value();
        // from 0 the first fine step goes to the slider's low end
        setFine(v > 0 ? v * std::pow(kFineRatio, dir) : (dir > 0 ? std::pow(10.0, log10Min_) : 0));
        return true;
    }
    case QEvent::MouseButtonPress: {
        auto* m = static_cast<QMouseEvent*>(event);
        if (m->button() != Qt::LeftButton || !(m->modifiers() & Qt::ShiftModifier))
            return false;
        slider_->setFocus(Qt::MouseFocusReason);
        fineDrag_ = true;
        fineAnchorX_ = static_cast<int>(m->position().x());
        fineAnchorValue_ = spin_->value() > 0 ? spin_->value() : std::pow(10.0, log10Min_);
        slider_->setSliderDown(true); // a drag: runs supersede, as with a plain drag
        return true;
    }
    case QEvent::MouseMove: {
        if (!fineDrag_)
            return false;
        auto* m = static_cast<QMouseEvent*>(event);
        setFine(fineAnchorValue_ *
                std::pow(kFineRatio, static_cast<int>(m->position().x()) - fineAnchorX_));
        return true;
    }
    case QEvent::MouseButtonRelease: {
        if (!fineDrag_)
            return false;
        fineDrag_ = false;
        {
            QSignalBlocker b(slider_);
            slider_->setSliderDown(false);
        }
        emit valueChanged(spin_->value()); // the drag ended: the final value runs in full
        return true;
    }
    default:
        return false;
    }
}

GainControl::GainControl(QWidget* parent)
    : LogDoubleControl(kSliderLog10Min, kSliderLog10Max, parent) {
    const FieldInfo* f = fieldInfo("gain");
    spinBox()->setObjectName(QStringLiteral("gainSpin"));
    spinBox()->setRange(f->lo, f->hi);
    slider()->setToolTip(tr("Variance gain on a log scale (1e-3 .. 1e3), steps of 0.23 %.\n"
                            "Shift+arrows or Shift-drag: fine steps of 0.1 %.\n"
                            "Type an exact value (%1) in the box.")
                             .arg(QString::fromStdString(fieldRangeText(*f))));
    spinBox()->setSingleStep(0.01);
    spinBox()->setToolTip(tr("Variance gain: multiplies the weight variance (not the standard "
                             "deviation). Exact entry, e.g. 1.761 or 2.5e-2.\nAllowed: %1.")
                              .arg(QString::fromStdString(fieldRangeText(*f))));
}

// ---------------------------------------------------------------- ControlPanel

ControlPanel::ControlPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("controlPanel"));
    auto* root = new QVBoxLayout(this);

    // ---- architecture
    auto* arch = new QGroupBox(tr("Network"));
    auto* af = new QFormLayout(arch);
    diagram_ = new NetworkDiagram;
    af->addRow(diagram_);
    depth_ = new LogIntControl(1, 1000, Limits::kMaxDepth);
    depth_->setObjectName(QStringLiteral("depth"));
    const QString depthTip =
        tr("Number of weight layers L (1 .. %1). Slider: log scale up to 1000.")
            .arg(Limits::kMaxDepth);
    depth_->setToolTip(depthTip);
    depth_->spinBox()->setSuffix(tr(" layers"));
    depthLabel_ = label(tr("Depth L"), depthTip);
    af->addRow(depthLabel_, depth_);
    width_ = new LogIntControl(8, 4096, Limits::kMaxWidth);
    width_->setObjectName(QStringLiteral("width"));
    width_->spinBox()->setMinimum(Limits::kMinWidth);
    const QString widthTip = tr("Units per hidden layer N (%1 .. %2). Slider: log scale 8 .. 4096.")
                                 .arg(Limits::kMinWidth)
                                 .arg(Limits::kMaxWidth);
    width_->setToolTip(widthTip);
    width_->spinBox()->setSuffix(tr(" units"));
    widthLabel_ = label(tr("Width N"), widthTip);
    af->addRow(widthLabel_, width_);
    activation_ = new QComboBox;
    activation_->setObjectName(QStringLiteral("activation"));
    for (ActivationKind k : allActivations())
        activation_->addItem(QString::fromStdString(activationName(k)), static_cast<int>(k));
    const QString actTip = tr("Nonlinearity phi applied after every layer: a = phi(h).");
    activation_->setToolTip(actTip);
    af->addRow(label(tr("Activation phi"), actTip), activation_);
    slope_ = fieldSpin("activation_slope", 0.01, QString(),
                       tr("Negative-side slope a of leaky-relu: phi(x) = a x for x < 0."));
    af->addRow(label(tr("Leaky slope a"), slope_->toolTip()), slope_);
    // the family: a residual network's depth counts blocks, its branch has its own depth
    arch_ = new QComboBox;
    arch_->setObjectName(QStringLiteral("arch"));
    for (Arch a : {Arch::Mlp, Arch::Resnet, Arch::Cnn, Arch::Rnn})
        arch_->addItem(QString::fromStdString(archName(a)), static_cast<int>(a));
    arch_->setToolTip(tr("Network family: mlp (depth = dense layers), resnet (depth = residual "
                         "blocks x + gamma F(x), each branch F a stack of dense layers; input "
                         "dim = width), cnn (depth = conv layers of C channels on S x S "
                         "images; input dim = C0 S^2) or rnn (depth = time steps T of h_t = W "
                         "a_{t-1} + U x_t + b with tied weights, width = hidden units N)."));
    af->addRow(label(tr("Family"), arch_->toolTip()), arch_);
    branchDepth_ = intSpin("branch_depth", tr(" layers"),
                           tr("resnet: dense layers m in each residual branch F(x) = W_m phi(... "
                              "W_1 phi(x))."));
    af->addRow(label(tr("Branch depth m"), branchDepth_->toolTip()), branchDepth_);
    residualScale_ = new QComboBox;
    residualScale_->setObjectName(QStringLiteral("residual_scale"));
    for (ResidualScale r : {ResidualScale::Zero, ResidualScale::One, ResidualScale::InvSqrtDepth,
                            ResidualScale::Fixup, ResidualScale::Value})
        residualScale_->addItem(QString::fromStdString(residualScaleName(r)), static_cast<int>(r));
    residualScale_->setToolTip(
        tr("resnet: gamma of every block: zero (the network is the identity), one, 1/sqrt(L), "
           "Fixup (each branch's last layer zero, the others scaled by L^(-1/(2m-2))) or a "
           "value."));
    af->addRow(label(tr("Residual scale"), residualScale_->toolTip()), residualScale_);
    residualGamma_ = fieldSpin("residual_gamma", 0.05, QString(),
                               tr("resnet: gamma of every block, with residual scale 'value' "
                                  "(dimensionless)."));
    af->addRow(label(tr("Residual γ"), residualGamma_->toolTip()), residualGamma_);
    // cnn: its own rows, shown only for arch cnn
    archForm_ = af;
    channels_ = intSpin("channels", tr(" channels"),
                        tr("cnn: channels C of every conv layer (a layer has C S^2 units)."));
    af->addRow(label(tr("Channels C"), channels_->toolTip()), channels_);
    inputChannels_ = intSpin("input_channels", tr(" channels"),
                             tr("cnn: channels C0 of the input images (input dim = C0 S^2; "
                                "Fashion-MNIST: 1)."));
    af->addRow(label(tr("Input channels C0"), inputChannels_->toolTip()), inputChannels_);
    kernel_ = intSpin("kernel", QString(),
                      tr("cnn: kernel size k (odd): k x k taps, stride 1, circular padding."));
    kernel_->setSingleStep(2);
    af->addRow(label(tr("Kernel k"), kernel_->toolTip()), kernel_);
    image_ =
        intSpin("image", tr(" px"), tr("cnn: image side S (S x S pixels; Fashion-MNIST: 28)."));
    af->addRow(label(tr("Image S"), image_->toolTip()), image_);
    convFan_ = new QComboBox;
    convFan_->setObjectName(QStringLiteral("conv_fan"));
    for (ConvFan f : {ConvFan::Full, ConvFan::ChannelsOnly})
        convFan_->addItem(QString::fromStdString(convFanName(f)), static_cast<int>(f));
    convFan_->setToolTip(tr("cnn: the fans the scheme is given: full (fanIn k^2 C_in, correct) or "
                            "channels-only (fanIn C_in: the forgotten k^2, q grows by k^2 per "
                            "layer)."));
    af->addRow(label(tr("Conv fan"), convFan_->toolTip()), convFan_);
    recurrentInit_ = new QComboBox;
    recurrentInit_->setObjectName(QStringLiteral("recurrent_init"));
    for (const std::string& name : fieldInfo("recurrent_init")->choices)
        recurrentInit_->addItem(QString::fromStdString(name), QString::fromStdString(name));
    recurrentInit_->setToolTip(tr(
        "rnn: the recurrent W's scheme: none (W drawn by the init above, stacked with U as "
        "one [W U] of fan-in N + N_x), identity (W = sqrt(gain) I, Le et al. 2015), or a "
        "scheme of its own for the N x N matrix (orthogonal: every singular value sqrt(gain))."));
    af->addRow(label(tr("Recurrent W init"), recurrentInit_->toolTip()), recurrentInit_);
    rnnInput_ = new QComboBox;
    rnnInput_->setObjectName(QStringLiteral("rnn_input"));
    for (RnnInput r : {RnnInput::EveryStep, RnnInput::FirstStep})
        rnnInput_->addItem(QString::fromStdString(rnnInputName(r)), static_cast<int>(r));
    rnnInput_->setToolTip(tr("rnn: a fresh input x_t at every time step, or x_1 at t = 1 only "
                             "(how long the network remembers it)."));
    af->addRow(label(tr("Inputs"), rnnInput_->toolTip()), rnnInput_);
    archForm_ = af;
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
    initValue_ = fieldSpin("init_value", 0.01, QString(),
                           tr("Naive schemes: standard deviation (normal), limit (uniform) or "
                              "value (constant) of the weights before the gain."));
    inf->addRow(label(tr("Init value"), initValue_->toolTip()), initValue_);
    biasInit_ = new QComboBox;
    biasInit_->setObjectName(QStringLiteral("bias_init"));
    for (BiasInit b : {BiasInit::Zeros, BiasInit::Constant, BiasInit::Normal})
        biasInit_->addItem(QString::fromStdString(biasInitName(b)), static_cast<int>(b));
    biasInit_->setToolTip(tr("Biases: all zero, all equal to the bias value, or N(0, sigma_b^2)."));
    inf->addRow(label(tr("Bias init"), biasInit_->toolTip()), biasInit_);
    sigmaB2_ = fieldSpin("sigma_b2", 0.01, QString(),
                         tr("Bias variance sigma_b^2 of the normal bias init; used only when "
                            "Bias init is normal."));
    inf->addRow(label(tr("Bias variance \u03c3_b\u00b2"), sigmaB2_->toolTip()), sigmaB2_);
    biasValue_ = fieldSpin("bias_value", 0.01, QString(),
                           tr("Value of every bias; used only when Bias init is constant."));
    inf->addRow(label(tr("Bias value"), biasValue_->toolTip()), biasValue_);
    root->addWidget(initBox);

    // ---- inputs and run
    auto* inputs = new QGroupBox(tr("Inputs and run"));
    auto* ipf = new QFormLayout(inputs);
    batch_ = intSpin("batch", tr(" inputs"),
                     tr("Batch size B: inputs propagated together; statistics are averaged "
                        "over them."));
    ipf->addRow(label(tr("Batch B"), batch_->toolTip()), batch_);
    data_ = new QComboBox;
    csvReader_ = new JobWorker(this);
    data_->setObjectName(QStringLiteral("data"));
    data_->addItem(tr("gaussian"), QStringLiteral("gaussian"));
    data_->addItem(tr("Fashion-MNIST"), QStringLiteral("fashion-mnist"));
    data_->addItem(tr("CSV file\u2026"), QString()); // opens the file dialog
    data_->setToolTip(
        tr("Inputs: gaussian draws x_i ~ N(mu, s^2); Fashion-MNIST training images (28 x 28, "
           "Debian package dataset-fashion-mnist); or a CSV file of numbers (every column a "
           "feature, optional header line). Real data sets the input dimension; the input "
           "scale s multiplies it and the mean does not apply."));
    ipf->addRow(label(tr("Data"), data_->toolTip()), data_);
    standardize_ = new QCheckBox(tr("Standardize (training mean, std)"));
    standardize_->setObjectName(QStringLiteral("standardize"));
    standardize_->setToolTip(
        tr("Real data: subtract each feature's training-set mean and divide by its std. Off: "
           "raw values (pixels 0..255), scenario 9's preprocessing error."));
    ipf->addRow(QString(), standardize_);
    inputDim_ = intSpin("input_dim", tr(" units"),
                        tr("Input dimension N_0 (set by the data when it is not gaussian)."));
    ipf->addRow(label(tr("Input dim N\u2080"), inputDim_->toolTip()), inputDim_);
    inputMean_ =
        fieldSpin("input_mean", 0.1, QString(), tr("Mean mu of the inputs x_i ~ N(mu, s^2)."));
    ipf->addRow(label(tr("Input mean \u03bc"), inputMean_->toolTip()), inputMean_);
    {
        const FieldInfo* f = fieldInfo("input_scale");
        inputScale_ = new LogDoubleControl(-2, 2);
        inputScale_->setObjectName(QStringLiteral("input_scale"));
        inputScale_->spinBox()->setObjectName(QStringLiteral("inputScaleSpin"));
        inputScale_->spinBox()->setRange(f->lo, f->hi);
        inputScale_->spinBox()->setSingleStep(0.1);
        const QString tip = tr("Standard deviation s of the inputs x_i ~ N(mu, s^2).\nSlider: "
                               "log scale 0.01 .. 100; Shift+arrows or Shift-drag: 0.1 % "
                               "steps.\nAllowed: %1.")
                                .arg(QString::fromStdString(fieldRangeText(*f)));
        inputScale_->setToolTip(tip);
        inputScale_->spinBox()->setToolTip(tip);
        inputScale_->slider()->setToolTip(tip);
        ipf->addRow(label(tr("Input scale s"), tip), inputScale_);
    }
    seed_ = new QLineEdit;
    // every seed the engine takes, 0 .. 2^64 - 1 (a spin box stops at 2^31 - 1); no validator
    // swallows keystrokes: what is not a seed is refused on Enter, with the range
    seed_->setToolTip(tr("Random seed (0 .. 18446744073709551615): the same seed gives the same "
                         "network and inputs."));
    seed_->setObjectName(QStringLiteral("seed"));
    ipf->addRow(label(tr("Seed"), seed_->toolTip()), seed_);
    root->addWidget(inputs);

    // ---- heads on the trunk's last activation (each initialised by its own fans)
    auto* headsBox = new QGroupBox(tr("Heads"));
    headsBox->setToolTip(tr("Dense heads on the trunk's last activation: each initialised by its "
                            "own fan-in and fan-out, with its own output bias and loss weight "
                            "(training). run reports each head's output mean and spread."));
    auto* hl = new QVBoxLayout(headsBox);
    heads_ = new HeadsEditor;
    hl->addWidget(heads_);
    connect(heads_, &HeadsEditor::edited, this, &ControlPanel::edited);
    root->addWidget(headsBox);

    // ---- advanced: fields presets set that change results or whether a run is allowed
    auto* adv = new QGroupBox(tr("Advanced"));
    auto* avf = new QFormLayout(adv);
    loss_ = new QComboBox;
    loss_->setObjectName(QStringLiteral("loss"));
    for (Loss l : {Loss::Cotangent, Loss::Mse})
        loss_->addItem(QString::fromStdString(lossName(l)), static_cast<int>(l));
    loss_->setToolTip(tr("What the backward pass starts from: a random cotangent on the output "
                         "a^L, or the gradient of the squared error to random targets (mse)."));
    avf->addRow(label(tr("Loss"), loss_->toolTip()), loss_);
    learningRate_ = fieldSpin("learning_rate", 0.001, QString(),
                              tr("Learning rate eta in the relative update per layer, "
                                 "eta ||dW||_F / ||W||_F (dimensionless)."));
    avf->addRow(label(tr("Learning rate \u03b7"), learningRate_->toolTip()), learningRate_);
    histBins_ = intSpin("hist_bins", tr(" bins"),
                        tr("Number of bins of the pre-activation histograms (distribution "
                           "heatmap)."));
    avf->addRow(label(tr("Histogram bins"), histBins_->toolTip()), histBins_);
    histRange_ = fieldSpin("hist_range", 0.5, QString(),
                           tr("The distribution heatmap covers h in [-r, r]; values outside land "
                              "in the edge bins."));
    avf->addRow(label(tr("Histogram range \u00b1r"), histRange_->toolTip()), histRange_);
    memoryBudget_ = fieldSpin("memory_budget_gib", 0.5, tr(" GiB"),
                              tr("Largest memory a run may allocate (weights, activations kept "
                                 "for the backward pass, scratch), in GiB; raise it for wide or "
                                 "deep networks."));
    avf->addRow(label(tr("Memory budget"), memoryBudget_->toolTip()), memoryBudget_);
    root->addWidget(adv);

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
        {"phase", tr("phase")},
        {"critical_input_scale", tr("s_c (input scale where layer 1's relative update = 1)")}};
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
                     {QStringLiteral("data"), data_},
                     {QStringLiteral("standardize"), standardize_},
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
                     {QStringLiteral("hist_range"), histRange_},
                     {QStringLiteral("learning_rate"), learningRate_},
                     {QStringLiteral("loss"), loss_},
                     {QStringLiteral("hist_bins"), histBins_},
                     {QStringLiteral("memory_budget_gib"), memoryBudget_},
                     {QStringLiteral("arch"), arch_},
                     {QStringLiteral("branch_depth"), branchDepth_},
                     {QStringLiteral("residual_scale"), residualScale_},
                     {QStringLiteral("residual_gamma"), residualGamma_},
                     {QStringLiteral("channels"), channels_},
                     {QStringLiteral("input_channels"), inputChannels_},
                     {QStringLiteral("kernel"), kernel_},
                     {QStringLiteral("image"), image_},
                     {QStringLiteral("conv_fan"), convFan_},
                     {QStringLiteral("recurrent_init"), recurrentInit_},
                     {QStringLiteral("rnn_input"), rnnInput_}};

    // Only a control with the focus takes the wheel (a click or Tab gives it the focus).
    auto* guard = new WheelGuard(this);
    for (QWidget* w : findChildren<QWidget*>()) {
        if (qobject_cast<QAbstractSpinBox*>(w) || qobject_cast<QComboBox*>(w) ||
            qobject_cast<QAbstractSlider*>(w)) {
            w->setFocusPolicy(Qt::StrongFocus);
            w->installEventFilter(guard);
        }
    }
    auto* undoKeys = new UndoKeyGuard(this);
    for (QAbstractSpinBox* box : findChildren<QAbstractSpinBox*>())
        if (auto* edit = box->findChild<QLineEdit*>())
            undoKeys->watch(box, edit);
    undoKeys->watch(seed_, seed_);
    // A typed value that is refused is said, with the field and its range.
    for (auto& [name, w] : fieldWidgets_) {
        QWidget* box = w;
        if (auto* l = qobject_cast<LogIntControl*>(w))
            box = l->spinBox();
        else if (auto* d = qobject_cast<LogDoubleControl*>(w))
            box = d->spinBox();
        const QString field = name;
        if (auto* f = qobject_cast<FieldSpinBox*>(box))
            connect(f, &FieldSpinBox::refused, this,
                    [this, f, field](const QString& typed) { refuse(f, field, typed); });
        else if (auto* i = qobject_cast<FieldIntSpinBox*>(box))
            connect(i, &FieldIntSpinBox::refused, this,
                    [this, i, field](const QString& typed) { refuse(i, field, typed); });
    }

    setSpec(NetworkSpec{});

    connect(depth_, &LogIntControl::valueChanged, this, &ControlPanel::edited);
    connect(width_, &LogIntControl::valueChanged, this, &ControlPanel::edited);
    connect(gain_, &GainControl::valueChanged, this, &ControlPanel::edited);
    connect(inputScale_, &LogDoubleControl::valueChanged, this, &ControlPanel::edited);
    for (QSpinBox* s : std::initializer_list<QSpinBox*>{inputDim_, batch_, histBins_, branchDepth_,
                                                        channels_, inputChannels_, kernel_, image_})
        connect(s, &QSpinBox::valueChanged, this, &ControlPanel::edited);
    connect(seed_, &QLineEdit::editingFinished, this, [this] {
        bool ok = false;
        const QString text = seed_->text().trimmed();
        static const QRegularExpression digits(QStringLiteral("^[0-9]{1,20}$"));
        const qulonglong v = digits.match(text).hasMatch() ? text.toULongLong(&ok) : 0;
        if (!ok) { // empty, not digits, or beyond 2^64 - 1: say so and keep the seed that runs
            refuse(seed_, QStringLiteral("seed"), seed_->text());
            seed_->setText(QString::number(seed_value_));
            return;
        }
        seed_->setStyleSheet(QString());
        if (v == seed_value_)
            return;
        seed_value_ = v;
        edited();
    });
    for (QDoubleSpinBox* s : std::initializer_list<QDoubleSpinBox*>{
             slope_, initValue_, biasValue_, inputMean_, histRange_, learningRate_, memoryBudget_,
             residualGamma_})
        connect(s, &QDoubleSpinBox::valueChanged, this, &ControlPanel::edited);
    connect(sigmaB2_, &QDoubleSpinBox::valueChanged, this, &ControlPanel::edited);
    for (QComboBox* c : {activation_, init_, fanMode_, biasInit_, loss_, arch_, residualScale_,
                         convFan_, recurrentInit_, rnnInput_})
        connect(c, &QComboBox::currentIndexChanged, this, &ControlPanel::edited);
    connect(data_, &QComboBox::currentIndexChanged, this, &ControlPanel::dataChosen);
    connect(standardize_, &QCheckBox::toggled, this, &ControlPanel::edited);
    connect(xavier_, &QPushButton::clicked, this, &ControlPanel::setXavierGain);
    connect(he_, &QPushButton::clicked, this, &ControlPanel::setHeGain);
    connect(critical_, &QPushButton::clicked, this, &ControlPanel::setCriticalGain);
}

NetworkSpec ControlPanel::spec() const {
    NetworkSpec s = base_;
    s.heads = heads_->heads();
    // A spin box that rounds to its decimals would change a loaded value; while a box still
    // shows the value setSpec gave it, the spec keeps that value exactly (a preset's gain
    // 1.7609546396067193 must not become 1.76095464 by being loaded, nor per-layer widths be
    // lost). FieldSpinBox keeps every double, so this holds for any box added later.
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
    s.data = data_->itemData(dataIndex_).toString().toStdString();
    s.standardize = standardize_->isChecked();
    s.inputMean = exact(inputMean_, base_.inputMean);
    s.inputScale = exact(inputScale_->spinBox(), base_.inputScale);
    s.seed = seed_value_;
    s.learningRate = exact(learningRate_, base_.learningRate);
    s.loss = static_cast<Loss>(loss_->currentData().toInt());
    s.histBins = histBins_->value();
    s.histRange = exact(histRange_, base_.histRange);
    s.memoryBudgetGiB = exact(memoryBudget_, base_.memoryBudgetGiB);
    s.arch = static_cast<Arch>(arch_->currentData().toInt());
    s.branchDepth = branchDepth_->value();
    s.residualScale = static_cast<ResidualScale>(residualScale_->currentData().toInt());
    s.residualGamma = exact(residualGamma_, base_.residualGamma);
    if (s.arch == Arch::Resnet) { // the skip adds x^0 to the first block: N_0 = N
        s.inputDim = s.width;
        s.widths.clear();
    }
    s.channels = channels_->value();
    s.inputChannels = inputChannels_->value();
    s.kernel = kernel_->value();
    s.image = image_->value();
    s.convFan = static_cast<ConvFan>(convFan_->currentData().toInt());
    if (s.arch == Arch::Cnn) { // channels, not a width; the input is S x S x C0
        s.width = NetworkSpec{}.width;
        s.widths.clear();
        if (!isRealData(s.data)) {
            s.inputDim = s.inputChannels * s.image * s.image;
        } else if (const int root = static_cast<int>(std::lround(std::sqrt(s.inputDim)));
                   root * root == s.inputDim && root <= Limits::kMaxImage) {
            s.image = root;      // real data of D features: sqrt(D) x sqrt(D) x 1 images (as
            s.inputChannels = 1; // applyFields derives them)
        }
    } else { // the conv fields mean nothing: their defaults (as applyFields resets them)
        const NetworkSpec d;
        s.channels = d.channels;
        s.inputChannels = d.inputChannels;
        s.kernel = d.kernel;
        s.image = d.image;
        s.convFan = d.convFan;
    }
    if (s.arch == Arch::Rnn) { // N hidden units at every step; W's scheme and the schedule
        s.widths.clear();
        const NetworkSpec defaults;
        s.branchDepth = defaults.branchDepth; // the hidden resnet rows mean nothing here
        s.residualScale = defaults.residualScale;
        s.residualGamma = defaults.residualGamma;
        parseRecurrentInit(recurrentInit_->currentData().toString().toStdString(), s.recurrentInit,
                           s.recurrentScheme);
        s.rnnInput = static_cast<RnnInput>(rnnInput_->currentData().toInt());
    } else { // the recurrent fields mean nothing for the other families
        s.recurrentInit = RecurrentInit::None;
        s.recurrentScheme = InitScheme::Orthogonal;
        s.rnnInput = RnnInput::EveryStep;
    }
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
    showData(s.data);
    standardize_->setChecked(s.standardize);
    inputMean_->setValue(s.inputMean);
    inputScale_->setValue(s.inputScale);
    seed_value_ = s.seed;
    seed_->setText(QString::number(s.seed));
    learningRate_->setValue(s.learningRate);
    loss_->setCurrentIndex(loss_->findData(static_cast<int>(s.loss)));
    histBins_->setValue(s.histBins);
    histRange_->setValue(s.histRange);
    memoryBudget_->setValue(s.memoryBudgetGiB);
    arch_->setCurrentIndex(arch_->findData(static_cast<int>(s.arch)));
    branchDepth_->setValue(s.branchDepth);
    residualScale_->setCurrentIndex(residualScale_->findData(static_cast<int>(s.residualScale)));
    residualGamma_->setValue(s.residualGamma);
    channels_->setValue(s.channels);
    inputChannels_->setValue(s.inputChannels);
    kernel_->setValue(s.kernel);
    image_->setValue(s.image);
    convFan_->setCurrentIndex(convFan_->findData(static_cast<int>(s.convFan)));
    recurrentInit_->setCurrentIndex(recurrentInit_->findData(
        QString::fromStdString(recurrentInitName(s.recurrentInit, s.recurrentScheme))));
    rnnInput_->setCurrentIndex(rnnInput_->findData(static_cast<int>(s.rnnInput)));
    heads_->setHeads(s.heads);
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
    // real data sets input_dim, has no input mean, and is what standardize applies to
    const bool real = isRealData(data_->itemData(dataIndex_).toString().toStdString());
    applies(inputMean_, !real, d.inputMean);
    inputDim_->setEnabled(!real);
    standardize_->setEnabled(real);
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
    const bool resnet = static_cast<Arch>(arch_->currentData().toInt()) == Arch::Resnet;
    branchDepth_->setEnabled(resnet);
    residualScale_->setEnabled(resnet);
    applies(residualGamma_,
            resnet && static_cast<ResidualScale>(residualScale_->currentData().toInt()) ==
                          ResidualScale::Value,
            d.residualGamma);
    // a resnet's input dim is its width (with real data: the data's, and width must match it)
    inputDim_->setEnabled(!resnet && !real);
    if (resnet && !real) {
        QSignalBlocker b(inputDim_);
        inputDim_->setValue(width_->value());
    }
    // a cnn's rows are shown for arch cnn only; its width is C S^2 and its input dim C0 S^2
    const bool cnn = static_cast<Arch>(arch_->currentData().toInt()) == Arch::Cnn;
    for (QWidget* w :
         std::initializer_list<QWidget*>{channels_, inputChannels_, kernel_, image_, convFan_})
        archForm_->setRowVisible(w, cnn);
    convFan_->setEnabled(init != InitScheme::DeltaOrthogonal);
    width_->setEnabled(!cnn);
    image_->setEnabled(!real);
    inputChannels_->setEnabled(!real);
    if (cnn) {
        inputDim_->setEnabled(false);
        if (real) { // the data's images (spec() derives them)
            const NetworkSpec derived = spec();
            QSignalBlocker bi(image_), bc(inputChannels_);
            image_->setValue(derived.image);
            inputChannels_->setValue(derived.inputChannels);
        } else {
            QSignalBlocker b(inputDim_);
            inputDim_->setValue(inputChannels_->value() * image_->value() * image_->value());
        }
    }
    const bool scalable = init != InitScheme::Zeros && init != InitScheme::Constant;
    xavier_->setEnabled(scalable);
    he_->setEnabled(scalable);
    critical_->setEnabled(scalable);
    // a resnet's depth counts residual blocks, a cnn's conv layers, an rnn's time steps; an rnn's
    // width is its hidden state, and its recurrent controls show for it alone
    const bool rnn = static_cast<Arch>(arch_->currentData().toInt()) == Arch::Rnn;
    depth_->spinBox()->setSuffix(resnet ? tr(" blocks")
                                 : cnn  ? tr(" conv layers")
                                 : rnn  ? tr(" steps")
                                        : tr(" layers"));
    depthLabel_->setText(rnn ? tr("Time steps T") : tr("Depth L"));
    widthLabel_->setText(rnn ? tr("Hidden units N") : tr("Width N"));
    archForm_->setRowVisible(recurrentInit_, rnn);
    archForm_->setRowVisible(rnnInput_, rnn);
    archForm_->setRowVisible(branchDepth_, !rnn);
    archForm_->setRowVisible(residualScale_, !rnn);
    archForm_->setRowVisible(residualGamma_, !rnn);
    recurrentInit_->setEnabled(rnn);
    rnnInput_->setEnabled(rnn);
    diagram_->setSpec(spec()); // every edit and every loaded spec passes here
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

void ControlPanel::setGain(double gain, const QString& why, const QString& action) {
    if (!std::isfinite(gain) || gain < 0 || gain > Limits::kMaxGain) {
        emit message(
            tr("Cannot set the %1 gain for the %2 scheme.").arg(why, init_->currentText()));
        return;
    }
    gain_->setValue(gain);
    emit message(tr("Gain set to %1 (%2).").arg(gain, 0, 'g', 8).arg(why));
    editAction_ = action;
    edited();
    editAction_.clear();
}

void ControlPanel::setXavierGain() {
    const NetworkSpec s = spec();
    const int l = referenceLayer(s);
    const double fanIn = s.widthOf(l - 1), fanOut = s.widthOf(l);
    // Glorot & Bengio 2010: Var(W) = 2 / (fanIn + fanOut), i.e. sigma_w^2 = 2 fanIn/(fanIn+fanOut)
    setGain(gainFor(s, 2.0 * fanIn / (fanIn + fanOut)), tr("Xavier"), tr("Xavier"));
}

void ControlPanel::setHeGain() {
    const NetworkSpec s = spec();
    // He et al. 2015: sigma_w^2 = 2 / (1 + a^2) for (leaky) rectifiers with negative slope a.
    const double a = s.activation == ActivationKind::LeakyRelu ? s.activationSlope : 0.0;
    setGain(gainFor(s, 2.0 / (1.0 + a * a)), tr("He"), tr("He"));
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
    setGain(gainFor(s, sw2), tr("critical: sigma_w^2 = %1 gives chi1 = 1").arg(sw2, 0, 'g', 8),
            tr("critical"));
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
    readout_[QStringLiteral("critical_input_scale")]->setText(QStringLiteral("-")); // at the end
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

void ControlPanel::setCriticalInputScale(double s, const QString& note) {
    QLabel* l = readout_[QStringLiteral("critical_input_scale")];
    l->setText(std::isfinite(s) ? fmt(s) : tr("none"));
    l->setToolTip(note);
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
           gain_->slider()->isSliderDown() || inputScale_->slider()->isSliderDown();
}

QWidget* ControlPanel::fieldControl(const QString& name) const {
    auto it = fieldWidgets_.find(name);
    return it == fieldWidgets_.end() ? nullptr : it->second;
}

void ControlPanel::refuse(QWidget* box, const QString& field, const QString& typed) {
    const FieldInfo* f = fieldInfo(field.toStdString());
    const QString range = f ? QString::fromStdString(fieldRangeText(*f)) : QString();
    box->setStyleSheet(QStringLiteral("border: 2px solid #d03030;"));
    // the label the lecturer sees, and the key the engine's messages and presets use
    QString name = field;
    if (QWidget* control = fieldControl(field); control && control->parentWidget()) {
        if (auto* form = qobject_cast<QFormLayout*>(control->parentWidget()->layout()))
            if (auto* l = qobject_cast<QLabel*>(form->labelForField(control)))
                name = tr("%1 (%2)").arg(l->text(), field);
    }
    emit message(tr("%1: refused '%2'; must be %3. The value in use is kept.")
                     .arg(name, typed.trimmed(), range));
}

void ControlPanel::showData(const std::string& value) {
    const QSignalBlocker b(data_);
    const QString v = QString::fromStdString(value);
    int i = data_->findData(v);
    if (i < 0) { // a CSV path: an item of its own before "CSV file..."
        for (int j = data_->count() - 1; j >= 0; --j)
            if (isRealData(data_->itemData(j).toString().toStdString()) &&
                data_->itemData(j).toString() != QLatin1String("fashion-mnist"))
                data_->removeItem(j);
        i = data_->count() - 1;
        data_->insertItem(i, QFileInfo(v).fileName(), v);
        data_->setItemData(i, v, Qt::ToolTipRole);
    }
    data_->setCurrentIndex(i);
    dataIndex_ = i;
}

void ControlPanel::chooseCsvFile(const QString& path) {
    if (!isRealData(path.toStdString())) {
        csvRead(path, false, 0, tr("data: %1 is not a .csv file").arg(path));
        return;
    }
    emit message(tr("Reading %1 ...").arg(QDir::toNativeSeparators(path)));
    // parsed once on the worker (the runs then take it from the process's cache)
    csvReader_->submit([this, path](quint64 generation, const std::atomic<bool>&) {
        int dim = 0, count = 0;
        std::string error;
        const bool ok = probeData(path.toStdString(), dim, count, error);
        csvReader_->post(generation, [this, path, ok, dim, e = QString::fromStdString(error)] {
            csvRead(path, ok, dim, e);
        });
    });
}

void ControlPanel::csvRead(const QString& path, bool ok, int dim, const QString& error) {
    if (!ok) {
        emit message(error);
        showData(data_->itemData(dataIndex_).toString().toStdString());
        emit csvFileRead(path, false);
        return;
    }
    showData(path.toStdString());
    {
        const QSignalBlocker b(inputDim_);
        inputDim_->setValue(dim);
    }
    edited();
    emit message(tr("Inputs from %1: %2 columns").arg(QFileInfo(path).fileName()).arg(dim));
    emit csvFileRead(path, true);
}

void ControlPanel::dataChosen() {
    if (updating_)
        return;
    const QString v = data_->currentData().toString();
    if (v.isEmpty()) { // "CSV file..."
        const QString path = QFileDialog::getOpenFileName(this, tr("Inputs from a CSV file"),
                                                          QString(), tr("CSV files (*.csv)"));
        if (path.isEmpty())
            showData(data_->itemData(dataIndex_).toString().toStdString());
        else
            chooseCsvFile(path);
        return;
    }
    if (v == QLatin1String("fashion-mnist")) {
        int dim = 0, count = 0;
        std::string error;
        if (!probeData(v.toStdString(), dim, count, error)) { // only looks for the files
            emit message(QString::fromStdString(error));
            showData(data_->itemData(dataIndex_).toString().toStdString());
            return;
        }
        const QSignalBlocker b(inputDim_);
        inputDim_->setValue(dim);
    }
    dataIndex_ = data_->currentIndex();
    edited();
}

QLabel* ControlPanel::readoutLabel(const QString& key) const {
    auto it = readout_.find(key);
    return it == readout_.end() ? nullptr : it->second;
}

} // namespace initscope::ui

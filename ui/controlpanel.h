// The controls dock: every field of a NetworkSpec, labelled with units and tooltips, the gain
// preset buttons and the mean-field readout. It edits a spec; it never runs anything.
#pragma once

#include "spec.h"
#include "stats.h"

#include <QWidget>

#include <map>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;

namespace initscope::ui {

/// A slider on a logarithmic scale with an exact spin box (depth, width).
class LogIntControl : public QWidget {
    Q_OBJECT
public:
    LogIntControl(int minimum, int sliderMaximum, int spinMaximum, QWidget* parent = nullptr);
    int value() const;
    void setValue(int v);
    QSlider* slider() const { return slider_; }
    QSpinBox* spinBox() const { return spin_; }
signals:
    void valueChanged(int value);

private:
    int toSlider(int v) const;
    int fromSlider(int pos) const;
    int min_, sliderMax_;
    QSlider* slider_;
    QSpinBox* spin_;
};

/// The variance gain: a log-scale slider (1e-3 .. 1e3, fine steps) with an exact entry.
class GainControl : public QWidget {
    Q_OBJECT
public:
    static constexpr int kStepsPerDecade = 1000;
    static constexpr double kSliderLog10Min = -3, kSliderLog10Max = 3;
    explicit GainControl(QWidget* parent = nullptr);
    double value() const;
    void setValue(double gain);
    QSlider* slider() const { return slider_; }
    QDoubleSpinBox* spinBox() const { return spin_; }
signals:
    void valueChanged(double gain);

private:
    QSlider* slider_;
    QDoubleSpinBox* spin_;
};

class ControlPanel : public QWidget {
    Q_OBJECT
public:
    explicit ControlPanel(QWidget* parent = nullptr);

    NetworkSpec spec() const;
    /// Shows `spec` in the controls without emitting specEdited().
    void setSpec(const NetworkSpec& spec);

    /// Readout of the mean-field quantities of the running spec.
    void setTheory(const NetworkSpec& spec, const TheoryCurves& theory);
    void clearTheory();
    /// Shows validation problems next to the controls (empty clears).
    void setErrors(const std::vector<SpecError>& errors);
    QString errorText() const;

    /// The sigma_w^2 the gain buttons aim at, and the gain that gives it for the current
    /// scheme and fans (NaN when the scheme has no fan scaling, e.g. zeros/constant).
    static double gainFor(const NetworkSpec& spec, double targetSigmaW2);
    /// Layer whose effective sigma_w^2 the gain buttons set: the first hidden-to-hidden layer.
    static int referenceLayer(const NetworkSpec& spec) { return initscope::referenceLayer(spec); }

    GainControl* gainControl() const { return gain_; }
    LogIntControl* depthControl() const { return depth_; }
    LogIntControl* widthControl() const { return width_; }
    QComboBox* activationCombo() const { return activation_; }
    QComboBox* initCombo() const { return init_; }
    QLabel* readoutLabel(const QString& key) const;
    /// True while the user holds one of the sliders (a drag in progress).
    bool isDragging() const;

public slots:
    void setXavierGain();
    void setHeGain();
    void setCriticalGain();

signals:
    /// Any control changed by the user (or a gain button).
    void specEdited();
    /// A status message for the main window (e.g. "no critical point for relu with sigma_b^2 > 0").
    void message(const QString& text);

private:
    void updateEnabled();
    /// Enables `box` when its field is used, else shows defaultValue (holding the user's value).
    void applies(QDoubleSpinBox* box, bool used, double defaultValue);
    void edited();
    void setGain(double gain, const QString& why);

    LogIntControl* depth_;
    LogIntControl* width_;
    QSpinBox* inputDim_;
    QSpinBox* batch_;
    QDoubleSpinBox* inputMean_;
    QDoubleSpinBox* inputScale_;
    QLineEdit* seed_;
    std::uint64_t seed_value_ = 1; // the seed shown, parsed (all 64 bits)
    QComboBox* activation_;
    QDoubleSpinBox* slope_;
    QComboBox* init_;
    QComboBox* fanMode_;
    GainControl* gain_;
    QDoubleSpinBox* initValue_;
    QComboBox* biasInit_;
    QDoubleSpinBox* sigmaB2_;
    QDoubleSpinBox* biasValue_;
    QDoubleSpinBox* histRange_;
    QPushButton* xavier_;
    QPushButton* he_;
    QPushButton* critical_;
    QLabel* error_;
    std::map<QString, QLabel*> readout_;
    QLabel* theoryNote_ = nullptr; // why the theory does not apply (wrapped under the readout)
    std::map<QString, QWidget*> fieldWidgets_; // spec field name -> control, for error marks
    std::map<QDoubleSpinBox*, double> held_;   // values of disabled controls, restored on enable
    int heldFanMode_ = -1;
    bool updating_ = false;
    NetworkSpec base_; // fields without a control keep their values from here
};

} // namespace initscope::ui

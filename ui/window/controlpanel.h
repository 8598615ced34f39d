// The controls dock: every field of a NetworkSpec, labelled with units and tooltips, the gain
// preset buttons and the mean-field readout. It edits a spec; it never runs anything.
#pragma once

#include "core/stats.h"
#include "spec/spec.h"
#include "work/jobworker.h"

#include <QDoubleSpinBox>
#include <QSpinBox>
#include <QWidget>

#include <map>

class QCheckBox;
namespace initscope::ui {
class HeadsEditor;
class NetworkDiagram;
} // namespace initscope::ui
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;

namespace initscope::ui {

/// A number box for one spec field: takes what the engine's field parser takes (C-locale
/// digits, scientific notation such as 1e-3 or 2.5E+2), shows the shortest exact text (six
/// significant digits of a longer one, the value kept whole), and
/// refuses anything else visibly: text that is not a number in range is never rounded or
/// clipped into one; it is kept until Enter or focus-out, then refused() and the previous value
/// restored.
class FieldSpinBox : public QDoubleSpinBox {
    Q_OBJECT
public:
    explicit FieldSpinBox(QWidget* parent = nullptr);
    /// The smallest value itself is not allowed (hist_range > 0).
    void setMinimumExclusive(bool exclusive) { exclusiveMin_ = exclusive; }
    bool isMinimumExclusive() const { return exclusiveMin_; }
    QValidator::State validate(QString& text, int& pos) const override;
    double valueFromText(const QString& text) const override;
    QString textFromValue(double v) const override;
    void fixup(QString& text) const override;
    void stepBy(int steps) override;
signals:
    /// Text that was typed and refused (the value stays as it was).
    void refused(const QString& typed);

private:
    bool exclusiveMin_ = false;
};

/// The integer twin of FieldSpinBox: "2000000" over the maximum is refused, not truncated;
/// "1e3" is 1000.
class FieldIntSpinBox : public QSpinBox {
    Q_OBJECT
public:
    explicit FieldIntSpinBox(QWidget* parent = nullptr);
    QValidator::State validate(QString& text, int& pos) const override;
    int valueFromText(const QString& text) const override;
    void fixup(QString& text) const override;
signals:
    void refused(const QString& typed);
};

/// A slider on a logarithmic scale with an exact spin box (depth, width).
class LogIntControl : public QWidget {
    Q_OBJECT
public:
    LogIntControl(int minimum, int sliderMaximum, int spinMaximum, QWidget* parent = nullptr);
    int value() const;
    void setValue(int v);
    QSlider* slider() const { return slider_; }
    FieldIntSpinBox* spinBox() const { return spin_; }
signals:
    void valueChanged(int value);

private:
    int toSlider(int v) const;
    int fromSlider(int pos) const;
    int min_, sliderMax_;
    QSlider* slider_;
    FieldIntSpinBox* spin_;
};

/// A positive real on a log-scale slider with an exact entry (gain, input scale). The slider
/// spans [10^log10Min, 10^log10Max] in kStepsPerDecade steps per decade; with Shift held the
/// arrow keys and a drag move the value in fine steps of kFineRatio (0.1 %) per key press or
/// pixel, so a 140-pixel slider still lands on 1.761 (the tanh edge of chaos).
class LogDoubleControl : public QWidget {
    Q_OBJECT
public:
    static constexpr int kStepsPerDecade = 1000;
    static constexpr double kFineRatio = 1.001;
    LogDoubleControl(double log10Min, double log10Max, QWidget* parent = nullptr);
    double value() const;
    void setValue(double v);
    QSlider* slider() const { return slider_; }
    FieldSpinBox* spinBox() const { return spin_; }
    double sliderLog10Min() const { return log10Min_; }
    double sliderLog10Max() const { return log10Max_; }
signals:
    void valueChanged(double value);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    int toSlider(double v) const;
    /// Sets the value from a fine step (Shift), rounded to 6 significant digits, and emits.
    void setFine(double v);
    double log10Min_, log10Max_;
    QSlider* slider_;
    FieldSpinBox* spin_;
    bool fineDrag_ = false; // a Shift-drag in progress
    int fineAnchorX_ = 0;
    double fineAnchorValue_ = 0;
};

/// The variance gain: log slider 1e-3 .. 1e3 with an exact entry 0 .. Limits::kMaxGain.
class GainControl : public LogDoubleControl {
    Q_OBJECT
public:
    static constexpr double kSliderLog10Min = -3, kSliderLog10Max = 3;
    explicit GainControl(QWidget* parent = nullptr);
};

class ControlPanel : public QWidget {
    Q_OBJECT
public:
    explicit ControlPanel(QWidget* parent = nullptr);

    NetworkSpec spec() const;
    /// The drawing of the network the controls describe (it follows every edit).
    NetworkDiagram* diagram() const { return diagram_; }
    /// Shows `spec` in the controls without emitting specEdited().
    void setSpec(const NetworkSpec& spec);

    /// Readout of the mean-field quantities of the running spec.
    void setTheory(const NetworkSpec& spec, const TheoryCurves& theory);
    void clearTheory();
    /// Scenario 9: the finished run's critical input scale (NaN: none, with the reason).
    void setCriticalInputScale(double s, const QString& note);
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
    LogDoubleControl* inputScaleControl() const { return inputScale_; }
    QLabel* readoutLabel(const QString& key) const;
    /// The control of a spec field by its snake_case name (null for widths, threads).
    QWidget* fieldControl(const QString& name) const;
    /// True while the user holds one of the sliders (a drag in progress).
    bool isDragging() const;
    /// While specEdited() is emitted for a gain button: its name ("Xavier", "He", "critical");
    /// empty for a change made in a control.
    QString editAction() const { return editAction_; }
    /// The data chooser (gaussian / Fashion-MNIST / a CSV file / "CSV file..." opening a dialog).
    QComboBox* dataCombo() const { return data_; }
    QCheckBox* standardizeBox() const { return standardize_; }
    /// The heads editor (spec.heads).
    HeadsEditor* headsEditor() const { return heads_; }
    /// Uses the CSV file `path` as the inputs (what the file dialog does): the file is read on a
    /// worker thread (a large file takes seconds to parse), then input_dim becomes its column
    /// count and csvFileRead(path, true) follows; if it cannot be read, a message names the path
    /// and line, the data in use stays and csvFileRead(path, false) follows. Choosing again
    /// while a file is read supersedes it.
    void chooseCsvFile(const QString& path);

public slots:
    void setXavierGain();
    void setHeGain();
    void setCriticalGain();

signals:
    /// Any control changed by the user (or a gain button).
    void specEdited();
    /// A status message for the main window (e.g. "no critical point for relu with sigma_b^2 > 0").
    void message(const QString& text);
    /// The CSV file of chooseCsvFile was read (ok) or refused.
    void csvFileRead(const QString& path, bool ok);

private:
    void updateEnabled();
    /// Enables `box` when its field is used, else shows defaultValue (holding the user's value).
    void applies(QDoubleSpinBox* box, bool used, double defaultValue);
    void edited();
    /// `action`: the button's short name (editAction()).
    void setGain(double gain, const QString& why, const QString& action);
    /// Says that `typed` was refused for `field`, naming its range, and frames the box red.
    void refuse(QWidget* box, const QString& field, const QString& typed);
    /// The data combo's choice changed (by the user): dialog for "CSV file...", input_dim.
    void dataChosen();
    /// Selects the item for data value `data`, adding an item for a CSV path.
    void showData(const std::string& value);
    /// On the GUI thread, when the worker has read (or failed to read) a chosen CSV file.
    void csvRead(const QString& path, bool ok, int dim, const QString& error);

    LogIntControl* depth_;
    LogIntControl* width_;
    FieldIntSpinBox* inputDim_;
    FieldIntSpinBox* batch_;
    QComboBox* data_;
    QCheckBox* standardize_;
    HeadsEditor* heads_;
    int dataIndex_ = 0; // the data item in use (restored when the file dialog is cancelled)
    JobWorker* csvReader_;
    QDoubleSpinBox* inputMean_;
    LogDoubleControl* inputScale_;
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
    FieldSpinBox* histRange_;
    FieldSpinBox* learningRate_;
    QComboBox* loss_;
    FieldIntSpinBox* histBins_;
    FieldSpinBox* memoryBudget_;
    QComboBox* arch_;
    NetworkDiagram* diagram_;
    FieldIntSpinBox* branchDepth_;
    QComboBox* residualScale_;
    FieldSpinBox* residualGamma_;
    // cnn: shown only for arch cnn (rows of archForm_)
    QFormLayout* archForm_ = nullptr;
    FieldIntSpinBox* channels_;
    FieldIntSpinBox* inputChannels_;
    FieldIntSpinBox* kernel_;
    FieldIntSpinBox* image_;
    QComboBox* convFan_;
    // rnn family: W's scheme and the input schedule (rows shown for arch rnn only), and the
    // labels of depth and width, which an rnn calls time steps T and hidden units N
    QComboBox* recurrentInit_ = nullptr;
    QComboBox* rnnInput_ = nullptr;
    QLabel* depthLabel_ = nullptr;
    QLabel* widthLabel_ = nullptr;
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
    QString editAction_;
    NetworkSpec base_; // fields without a control keep their values from here
};

} // namespace initscope::ui

// The controls dock as a lecturer uses it: the wheel scrolls the dock instead of changing a
// control it passes over, typed numbers are taken exactly as the engine's parser takes them or
// refused visibly with the field's range, the gain lands on the edge of chaos in fine steps,
// and every spec field has a control with the engine's range.
#include "guitestmain.h"
#include "spec/fields.h"
#include "window/controlpanel.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>
#include <QWheelEvent>

#include <cmath>

using namespace initscope;
using namespace initscope::ui;

namespace {

void wheel(QWidget* w, int notches) {
    const QPointF pos(w->width() / 2.0, w->height() / 2.0);
    QWheelEvent ev(pos, w->mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches), Qt::NoButton,
                   Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(w, &ev);
}

/// The number box of a field's control (the spin box of a slider control).
QAbstractSpinBox* boxOf(QWidget* control) {
    if (auto* l = qobject_cast<LogIntControl*>(control))
        return l->spinBox();
    if (auto* d = qobject_cast<LogDoubleControl*>(control))
        return d->spinBox();
    return qobject_cast<QAbstractSpinBox*>(control);
}

double valueOf(QAbstractSpinBox* box) {
    if (auto* d = qobject_cast<QDoubleSpinBox*>(box))
        return d->value();
    return qobject_cast<QSpinBox*>(box)->value();
}

/// Types `text` over the value (as a user does after a click) and presses Enter.
void typeInto(QAbstractSpinBox* box, const QString& text) {
    box->setFocus();
    box->selectAll();
    QTest::keyClick(box, Qt::Key_Backspace);
    QTest::keyClicks(box, text);
    QTest::keyClick(box, Qt::Key_Return);
}

} // namespace

class TestControls : public QObject {
    Q_OBJECT

private slots:
    // Three notches over an unfocused combo, spin box or slider change nothing (they turned
    // tanh into sigmoid while scrolling); once the control has the focus the wheel works.
    void wheelChangesOnlyFocusedControls() {
        ControlPanel p;
        p.show();
        p.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&p));
        const NetworkSpec before = p.spec();
        QWidget* targets[] = {p.activationCombo(), p.gainControl()->spinBox(),
                              p.gainControl()->slider(), p.depthControl()->spinBox(),
                              p.inputScaleControl()->slider()};
        for (QWidget* w : targets) {
            QVERIFY(!w->hasFocus());
            QCOMPARE(w->focusPolicy(), Qt::StrongFocus);
            wheel(w, -3);
        }
        QVERIFY(p.spec() == before);

        p.activationCombo()->setFocus();
        QTRY_VERIFY(p.activationCombo()->hasFocus());
        wheel(p.activationCombo(), -1);
        QVERIFY(p.spec().activation != before.activation);
        p.gainControl()->spinBox()->setFocus();
        QTRY_VERIFY(p.gainControl()->spinBox()->hasFocus());
        wheel(p.gainControl()->spinBox(), 1);
        QVERIFY(p.spec().gain != before.gain);
    }

    void typedNumbersAccepted_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("typed");
        QTest::addColumn<double>("expected");
        QTest::newRow("learning rate 1e-3") << "learning_rate"
                                            << "1e-3" << 1e-3;
        QTest::newRow("learning rate 1e-7") << "learning_rate"
                                            << "1e-7" << 1e-7;
        QTest::newRow("depth 1e3") << "depth"
                                   << "1e3" << 1000.0;
        QTest::newRow("gain 2.5E+2") << "gain"
                                     << "2.5E+2" << 250.0;
        QTest::newRow("gain 1.7609546396067193") << "gain"
                                                 << "1.7609546396067193" << 1.7609546396067193;
        QTest::newRow("input scale 1e-3") << "input_scale"
                                          << "1e-3" << 1e-3;
        QTest::newRow("memory 1e3 GiB") << "memory_budget_gib"
                                        << "1e3" << 1000.0;
        QTest::newRow("input mean -2.5e-1") << "input_mean"
                                            << "-2.5e-1" << -0.25;
        QTest::newRow("batch 2e2") << "batch"
                                   << "2e2" << 200.0;
    }

    // Scientific notation is read as the engine reads it, and the value is kept exactly (no
    // rounding to a spin box's decimals: 1e-7 must not become 0).
    void typedNumbersAccepted() {
        QFETCH(QString, field);
        QFETCH(QString, typed);
        QFETCH(double, expected);
        ControlPanel p;
        p.show();
        QSignalSpy edited(&p, &ControlPanel::specEdited);
        QSignalSpy messages(&p, &ControlPanel::message);
        QAbstractSpinBox* box = boxOf(p.fieldControl(field));
        QVERIFY(box);
        typeInto(box, typed);
        QCoreApplication::processEvents();
        QCOMPARE(valueOf(box), expected);
        QCOMPARE(edited.count(), 1);
        QCOMPARE(messages.count(), 0);
        nlohmann::json j = specToJson(p.spec());
        QCOMPARE(j.at(field.toStdString()).get<double>(), expected);
    }

    void typedNumbersRefused_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("typed");
        QTest::newRow("comma decimal") << "input_mean"
                                       << "0,5";
        QTest::newRow("comma in learning rate") << "learning_rate"
                                                << "0,5";
        QTest::newRow("batch over the maximum") << "batch"
                                                << "2000000";
        QTest::newRow("depth over the maximum") << "depth"
                                                << "1e9";
        QTest::newRow("fractional depth") << "depth"
                                          << "2.5";
        QTest::newRow("negative gain") << "gain"
                                       << "-1";
        QTest::newRow("hist range 0 (exclusive)") << "hist_range"
                                                  << "0";
        QTest::newRow("memory over the maximum") << "memory_budget_gib"
                                                 << "5e3";
        QTest::newRow("not a number") << "input_scale"
                                      << "abc";
        QTest::newRow("empty") << "hist_bins"
                               << "";
    }

    // Not truncated, not clipped, not rounded into something else: refused with a message that
    // names the field and its range, a red frame, and the value in use unchanged.
    void typedNumbersRefused() {
        QFETCH(QString, field);
        QFETCH(QString, typed);
        ControlPanel p;
        p.show();
        QSignalSpy edited(&p, &ControlPanel::specEdited);
        QSignalSpy messages(&p, &ControlPanel::message);
        QAbstractSpinBox* box = boxOf(p.fieldControl(field));
        QVERIFY(box);
        const double before = valueOf(box);
        const NetworkSpec spec = p.spec();
        typeInto(box, typed);
        QTRY_COMPARE(messages.count(), 1);
        QCoreApplication::processEvents();
        QCOMPARE(messages.count(), 1); // once, although Enter and the line edit both fix up
        const QString text = messages.at(0).at(0).toString();
        QVERIFY2(text.contains(field), qPrintable(text));
        QVERIFY2(text.contains(QLatin1Char('\'') + typed + QLatin1Char('\'')), qPrintable(text));
        const QString range =
            QString::fromStdString(fieldRangeText(*fieldInfo(field.toStdString())));
        QVERIFY2(text.contains(range), qPrintable(text));
        QCOMPARE(valueOf(box), before);
        QVERIFY(p.spec() == spec);
        QCOMPARE(edited.count(), 0);
        QVERIFY(box->styleSheet().contains(QLatin1String("#d03030")));

        // a valid value afterwards clears the frame
        typeInto(box, QStringLiteral("3"));
        QCoreApplication::processEvents();
        QVERIFY(box->styleSheet().isEmpty());
    }

    // The seed takes all 64 bits; anything else is refused with the range, not swallowed.
    void seedTypedOrRefused() {
        ControlPanel p;
        p.show();
        QSignalSpy messages(&p, &ControlPanel::message);
        auto* seed = qobject_cast<QLineEdit*>(p.fieldControl(QStringLiteral("seed")));
        QVERIFY(seed);
        const auto type = [seed](const QString& text) {
            seed->setFocus();
            seed->selectAll();
            QTest::keyClicks(seed, text);
            QTest::keyClick(seed, Qt::Key_Return);
        };
        type(QStringLiteral("18446744073709551615"));
        QCOMPARE(p.spec().seed, 18446744073709551615ull);
        QCOMPARE(messages.count(), 0);
        for (const QString& bad :
             {QStringLiteral("18446744073709551616"), QStringLiteral("-1"), QStringLiteral("7a")}) {
            type(bad);
            QCOMPARE(messages.count(), 1);
            const QString text = messages.takeFirst().at(0).toString();
            QVERIFY2(text.contains(QLatin1String("seed")) &&
                         text.contains(QLatin1String("18446744073709551615")) &&
                         text.contains(QLatin1Char('\'') + bad + QLatin1Char('\'')),
                     qPrintable(text));
            QCOMPARE(p.spec().seed, 18446744073709551615ull);
            QVERIFY(seed->styleSheet().contains(QLatin1String("#d03030")));
        }
        type(QStringLiteral("42"));
        QCOMPARE(p.spec().seed, 42u);
        QVERIFY(seed->styleSheet().isEmpty());
    }

    // Shift+Right moves the gain by 0.1 %: from 1 it reaches the tanh edge of chaos, 1.761,
    // within 0.1 % (one fine step), which a 12 %-per-pixel drag cannot.
    void fineGainStepsReachEdgeOfChaos() {
        ControlPanel p;
        p.show();
        GainControl* g = p.gainControl();
        QCOMPARE(g->value(), 1.0);
        QSignalSpy edited(&p, &ControlPanel::specEdited);
        int presses = 0;
        while (g->value() < 1.761 && presses < 2000) {
            QTest::keyClick(g->slider(), Qt::Key_Right, Qt::ShiftModifier);
            ++presses;
        }
        QVERIFY(std::abs(g->value() - 1.761) / 1.761 <= 1e-3);
        QCOMPARE(edited.count(), presses);
        QCOMPARE(p.spec().gain, g->value());
        // one step back and forth is 0.1 % each way
        const double at = g->value();
        QTest::keyClick(g->slider(), Qt::Key_Left, Qt::ShiftModifier);
        QVERIFY(std::abs(g->value() / at - 1 / 1.001) < 1e-5);
    }

    // Shift-drag: 0.1 % per pixel from where the drag began.
    void fineGainDrag() {
        ControlPanel p;
        p.show();
        GainControl* g = p.gainControl();
        QSlider* s = g->slider();
        const int steps = static_cast<int>(std::lround(std::log(1.761) / std::log(1.001)));
        const QPointF start(10, s->height() / 2.0);
        QMouseEvent press(QEvent::MouseButtonPress, start, s->mapToGlobal(start), Qt::LeftButton,
                          Qt::LeftButton, Qt::ShiftModifier);
        QApplication::sendEvent(s, &press);
        QVERIFY(p.isDragging());
        const QPointF end = start + QPointF(steps, 0);
        QMouseEvent move(QEvent::MouseMove, end, s->mapToGlobal(end), Qt::NoButton, Qt::LeftButton,
                         Qt::ShiftModifier);
        QApplication::sendEvent(s, &move);
        QMouseEvent release(QEvent::MouseButtonRelease, end, s->mapToGlobal(end), Qt::LeftButton,
                            Qt::NoButton, Qt::ShiftModifier);
        QApplication::sendEvent(s, &release);
        QVERIFY(!p.isDragging());
        QVERIFY2(std::abs(g->value() - 1.761) / 1.761 <= 1e-3,
                 qPrintable(QString::number(g->value())));
    }

    // Every spec field but widths (per layer, from presets) and threads (never changes results)
    // has a control, and its range is the engine's field table's, not a copy that drifts.
    void everyFieldHasControlWithEngineRange() {
        ControlPanel p;
        for (const std::string& name : specFieldNames()) {
            if (name == "widths" || name == "threads")
                continue;
            const FieldInfo* f = fieldInfo(name);
            QWidget* c = p.fieldControl(QString::fromStdString(name));
            QVERIFY2(c, name.c_str());
            switch (f->kind) {
            case FieldKind::Int: {
                auto* box = qobject_cast<QSpinBox*>(boxOf(c));
                QVERIFY2(box, name.c_str());
                QCOMPARE(box->minimum(), static_cast<int>(f->lo));
                QCOMPARE(box->maximum(), static_cast<int>(f->hi));
                break;
            }
            case FieldKind::Double: {
                auto* box = qobject_cast<FieldSpinBox*>(boxOf(c));
                QVERIFY2(box, name.c_str());
                QCOMPARE(box->minimum(), f->lo);
                QCOMPARE(box->maximum(), f->hi);
                QCOMPARE(box->isMinimumExclusive(), f->loExclusive);
                break;
            }
            case FieldKind::Choice: {
                if (qobject_cast<QCheckBox*>(c)) { // a yes/no choice (standardize)
                    QCOMPARE(f->choices, (std::vector<std::string>{"yes", "no"}));
                    break;
                }
                auto* combo = qobject_cast<QComboBox*>(c);
                QVERIFY2(combo, name.c_str());
                QCOMPARE(static_cast<std::size_t>(combo->count()), f->choices.size());
                for (int i = 0; i < combo->count(); ++i)
                    QCOMPARE(combo->itemText(i).toStdString(), f->choices[i]);
                break;
            }
            case FieldKind::Seed: {
                QVERIFY2(qobject_cast<QLineEdit*>(c), name.c_str());
                break;
            }
            case FieldKind::Text: // data: gaussian, Fashion-MNIST or a CSV file
                QVERIFY2(qobject_cast<QComboBox*>(c), name.c_str());
                break;
            case FieldKind::IntList:
                QFAIL(name.c_str());
            }
        }
    }

    // The hidden state presets depend on (relu-input-scale needs mse and 0.01) round-trips
    // bit-exactly, with values no spin box's decimals hold.
    void specRoundTripsAdvancedFields() {
        // the text shown reads back as the same double
        FieldSpinBox box;
        box.setRange(-1e12, 1e12);
        for (double v : {200000.0, 1e-7, 0.1 + 0.2, 1e12, -1.0 / 3.0, 0.001}) {
            box.setValue(v);
            QCOMPARE(box.valueFromText(box.text()), v);
        }
        // a long value (a learned sigma_b^2) shows six digits with its exponent, never a cut
        // "5.3402423255" that reads as 5.34; the value stays whole through a focus-out, and a
        // typed number replaces it
        box.setValue(5.34024232551345e-05);
        QCOMPARE(box.text(), QStringLiteral("5.34024e-05"));
        box.interpretText();
        QCOMPARE(box.value(), 5.34024232551345e-05);
        box.findChild<QLineEdit*>()->setText(QStringLiteral("2e-05"));
        box.interpretText();
        QCOMPARE(box.value(), 2e-05);
        box.setValue(-1.0 / 3.0);
        QCOMPARE(box.text(), QStringLiteral("-0.333333"));

        ControlPanel p;
        NetworkSpec s;
        s.loss = Loss::Mse;
        s.learningRate = 0.0123456789012345;
        s.histBins = 100;
        s.memoryBudgetGiB = 8.5;
        s.gain = 1.7609546396067193;
        s.inputScale = 0.1 + 0.2;
        s.histRange = 1e-7;
        s.inputMean = -1.0 / 3.0;
        s.seed = 18446744073709551615ull;
        p.setSpec(s);
        QVERIFY(p.spec() == s);
        // the loss control shows what is in use
        QCOMPARE(qobject_cast<QComboBox*>(p.fieldControl(QStringLiteral("loss")))->currentText(),
                 QStringLiteral("mse"));
        // editing one field leaves every other exact
        p.depthControl()->spinBox()->setValue(12);
        NetworkSpec expect = s;
        expect.depth = 12;
        QVERIFY(p.spec() == expect);
    }

    // The input scale has a log slider like the gain's (notes say "drag input_scale").
    void inputScaleSlider() {
        ControlPanel p;
        p.show();
        QSignalSpy edited(&p, &ControlPanel::specEdited);
        LogDoubleControl* c = p.inputScaleControl();
        QCOMPARE(c->value(), 1.0);
        c->slider()->setValue(c->slider()->maximum());
        QCOMPARE(edited.count(), 1);
        QCOMPARE(p.spec().inputScale, std::pow(10.0, c->sliderLog10Max()));
        c->slider()->setValue(c->slider()->minimum());
        QCOMPARE(p.spec().inputScale, std::pow(10.0, c->sliderLog10Min()));
    }
};

INITSCOPE_GUI_TEST_MAIN(TestControls)
#include "test_controls.moc"

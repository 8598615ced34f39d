// The MAML view (issue 13): both families meta-learn on the view's worker, stream their records
// into the four charts (per-layer sigma_w^2 for steep and gentle, saturation, inner gradient
// norm, adapted loss), can be stopped, export as PNG and CSV, and "load learned init" hands the
// main window the learned spec; the tab is in the main window and a maml preset opens it.
#include "export/figure.h"
#include "guitestmain.h"
#include "model/presetdocument.h"
#include "network/engine.h"
#include "spec/preset.h"
#include "theory/meanfield.h"
#include "views/analysisviews.h"
#include "views/jacobianview.h"
#include "views/mamlview.h"
#include "views/ntkview.h"
#include "window/controlpanel.h"
#include "window/mainwindow.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QToolButton>
#include <QXYSeries>

using namespace initscope;
using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 120000; // a loaded 2-core machine

/// Small and quick: 2 seeds x 2 families x 40 meta-steps of a width-12 network.
MamlViewSettings quick() {
    MamlViewSettings s;
    s.metaSteps = 40;
    s.seeds = 2;
    s.recordEvery = 10;
    return s;
}

int pointsOf(QChartView* v, const QString& name) {
    for (QAbstractSeries* s : v->chart()->series())
        if (s->objectName() == name)
            return static_cast<int>(qobject_cast<QXYSeries*>(s)->points().size());
    return -1;
}
} // namespace

class TestMamlView : public QObject {
    Q_OBJECT
private slots:
    void runsBothFamiliesStreamsAndExports() {
        MamlView v;
        NetworkSpec s = mamlDefaultSpec();
        s.width = 12;
        v.setSpec(s);
        v.setSettings(quick());
        QSignalSpy done(&v, &MamlView::resultShown);
        QVERIFY(!v.loadButton()->isEnabled()); // nothing learned yet
        v.start();
        QVERIFY(v.running());
        QVERIFY(!v.startButton()->isEnabled());
        QVERIFY(done.wait(kTimeoutMs));
        QVERIFY(!v.running());
        QCOMPARE(v.runs().size(), std::size_t(4)); // 2 seeds x steep, gentle
        for (const MamlView::Run& r : v.runs()) {
            QVERIFY(r.done);
            QCOMPARE(r.records.size(), std::size_t(5)); // 0, 10, 20, 30, 40
        }
        QCOMPARE(v.progress()->value(), v.progress()->maximum());
        // the curves: means over the seeds at every recorded meta-step, per layer and family
        for (const char* name : {"steep_sigma_w2_layer1", "steep_sigma_w2_layer2",
                                 "steep_sigma_w2_readout", "gentle_sigma_w2_layer2"})
            QCOMPARE(pointsOf(v.sigmaChart(), QString::fromLatin1(name)), 5);
        QCOMPARE(pointsOf(v.saturationChart(), QStringLiteral("steep_saturated_fraction")), 5);
        QCOMPARE(pointsOf(v.gradientChart(), QStringLiteral("gentle_inner_grad_norm")), 5);
        QCOMPARE(pointsOf(v.lossChart(), QStringLiteral("gentle_post_adaptation_loss")), 5);
        // the mean is the mean of the two seeds' records
        double mean = 0;
        for (const MamlView::Run& r : v.runs())
            if (r.tasks == MamlTasks::Steep)
                mean += r.records.back().sigmaW2[1] / 2;
        for (QAbstractSeries* a : v.sigmaChart()->chart()->series())
            if (a->objectName() == QLatin1String("steep_sigma_w2_layer2"))
                QCOMPARE(qobject_cast<QXYSeries*>(a)->points().back().y(), mean);
        QVERIFY(v.statusText().contains(QStringLiteral("Means over 2 seeds")));
        // the learned init: the closest spec, said as such
        QVERIFY(v.loadButton()->isEnabled());
        const auto learned = v.learnedSpec(MamlTasks::Steep);
        QVERIFY(learned.has_value());
        QCOMPARE(learned->init, InitScheme::LecunNormal);
        QCOMPARE(learned->biasInit, BiasInit::Normal);
        QCOMPARE(learned->gain, mean); // depth 2: layer 2 alone is the hidden-to-hidden layer
        QCOMPARE(learned->width, 12);
        QVERIFY(v.loadText().contains(QStringLiteral("learned weights themselves")));
        // the learned weights: the first steep seed's own theta_0, as the engine's trunk
        const LoadedWeightsPtr lw = v.learnedWeights(MamlTasks::Steep);
        QVERIFY(lw);
        const MamlView::Run* first = nullptr;
        for (const MamlView::Run& r : v.runs())
            if (!first && r.tasks == MamlTasks::Steep)
                first = &r;
        QVERIFY(first && !first->learned.empty());
        QCOMPARE(lw->spec.seed, first->seed);
        QCOMPARE(lw->weights.w.size(), std::size_t(3)); // [0] empty, layers 1 and 2
        QCOMPARE(lw->weights.w[2].rows(), 12);
        const MamlShape shape = mamlShape(v.networkSpec());
        QCOMPARE(double(lw->weights.w[2](3, 5)),
                 double(float(first->learned[std::size_t(shape.weightOffset(2) + 3 * 12 + 5)])));
        // a run of them reports each layer's own sigma_w^2, the record's fan_in Var(W^l) up to
        // the weights' conversion to float (2^-24 relative per weight; 1e-5 is far above it)
        const RunResult own = Engine().runWithWeights(lw->spec, lw->weights);
        for (std::size_t l = 0; l < 2; ++l)
            QVERIFY(std::abs(own.layers[l].sigmaW2 - first->records.back().sigmaW2[l]) <=
                    1e-5 * first->records.back().sigmaW2[l]);
        QVERIFY(lw->source.contains(QStringLiteral("meta-step 40, steep family, seed")));
        QSignalSpy requested(&v, &MamlView::weightsRequested);
        v.loadButton()->click();
        QCOMPARE(requested.count(), 1);
        // export: PNG and the CSV of the four panels
        QTemporaryDir dir;
        FigureOptions o;
        o.size = QSize(900, 600);
        o.scale = 1;
        QString error;
        const QString png = dir.filePath(QStringLiteral("maml.png"));
        const std::unique_ptr<QWidget> fig = copyAnalysisFigure(&v);
        QVERIFY(fig);
        QVERIFY2(exportFigureWidget(fig.get(), QStringLiteral("maml"), png, o, &error),
                 qPrintable(error));
        QCOMPARE(QImage(png).size(), QSize(900, 600));
        const QString csv = dir.filePath(QStringLiteral("maml.csv"));
        const std::unique_ptr<QWidget> fig2 = copyAnalysisFigure(&v);
        QVERIFY2(exportFigureWidget(fig2.get(), QStringLiteral("maml"), csv, o, &error),
                 qPrintable(error));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(f.readAll());
        QVERIFY(text.startsWith(QStringLiteral("panel,series,x,y,value\n")));
        QVERIFY(text.contains(QStringLiteral("sigma_w2,steep_sigma_w2_layer2,40,")));
        QVERIFY(text.contains(QStringLiteral("saturated_fraction,gentle_saturated_fraction,0,")));
    }

    void stopCancelsBetweenMetaSteps() {
        MamlView v;
        MamlViewSettings s = quick();
        s.metaSteps = 20000;
        v.setSettings(s);
        v.start();
        QTRY_VERIFY_WITH_TIMEOUT(!v.runs().front().records.empty(), kTimeoutMs);
        v.stop();
        QVERIFY(!v.running());
        QVERIFY(v.startButton()->isEnabled());
        QVERIFY(v.progress()->value() < v.progress()->maximum());
    }

    void mainWindowHasTheTabAndPresetOpensIt() {
        MainWindow w;
        const Preset* p = findBundledPreset("maml-learned-init");
        QVERIFY(p);
        QVERIFY(p->maml.has_value());
        Preset small = *p;
        small.maml = quick();
        w.presetDocument()->applyPreset(small);
        QCOMPARE(w.currentView(), QStringLiteral("maml"));
        MamlView* v = w.analysisViews()->maml();
        QCOMPARE(v->settings().metaSteps, 40);
        QCOMPARE(w.presetDocument()->currentPreset().maml, small.maml);
        w.show();
        QSignalSpy done(v, &MamlView::resultShown);
        QVERIFY(done.wait(kTimeoutMs));         // shown: it computes
        v->loadFamilyBox()->setCurrentIndex(1); // gentle
        v->loadButton()->click();
        const LoadedWeightsPtr learned = v->learnedWeights(MamlTasks::Gentle);
        QVERIFY(learned);
        QTRY_COMPARE_WITH_TIMEOUT(w.controls()->spec().gain, learned->spec.gain, 10000);
        QCOMPARE(w.controls()->spec().init, InitScheme::LecunNormal);
        QCOMPARE(w.controls()->spec().inputDim, 1);
        QVERIFY(w.loadedWeights());
        QVERIFY(w.weightsText().contains(QStringLiteral("gentle family")));
    }

    // The support and query points are controls like the rest (a preset's view_settings set
    // them, the view's settings read them back): the fitted steep family runs in the window.
    void supportAndQueryAreControls() {
        MamlView v;
        MamlViewSettings s = quick();
        s.support = 50;
        s.query = 20;
        v.setSettings(s);
        QCOMPARE(v.supportBox()->value(), 50);
        QCOMPARE(v.queryBox()->value(), 20);
        QCOMPARE(v.settings(), s);
        QCOMPARE(mamlSpecOf(v.settings(), MamlTasks::Steep).support, 50);
        v.queryBox()->setValue(40);
        QCOMPARE(v.settings().query, 40);
    }

    // "Load learned init" runs the main views on the learned weights (issue 13): the run shown
    // is Engine::runWithWeights on them, statistic for statistic; the label says which weights;
    // an edit that keeps the weights (batch) keeps them, one that redraws them (gain) unloads
    // them with a message naming the field, and "Use drawn weights" goes back.
    void loadedWeightsRunTheMainViews() {
        MainWindow w;
        Preset small = *findBundledPreset("maml-learned-init");
        small.maml = quick();
        w.presetDocument()->applyPreset(small);
        MamlView* v = w.analysisViews()->maml();
        w.show();
        QSignalSpy done(v, &MamlView::resultShown);
        QVERIFY(done.wait(kTimeoutMs));
        v->loadFamilyBox()->setCurrentIndex(0); // steep
        QSignalSpy started(w.controller(), &RunController::runStarted);
        v->loadButton()->click();
        const LoadedWeights* lw = w.loadedWeights();
        QVERIFY(lw);
        QVERIFY2(w.weightsText().startsWith(
                     QStringLiteral("weights: MAML learned init, meta-step 40, steep family")),
                 qPrintable(w.weightsText()));
        QVERIFY(w.findChild<QWidget*>(QStringLiteral("weightsBox"))->isVisible());
        QVERIFY(w.analysisViews()->jacobian()->weightsNote().contains(QStringLiteral("drawn")));
        QVERIFY(w.analysisViews()->ntk()->weightsNote().contains(QStringLiteral("drawn")));
        // every other view that builds a network says it too (the phase diagram is theory)
        const auto viewNote = [&](const char* view) {
            auto* l = w.analysisViews()
                          ->widget(QString::fromLatin1(view))
                          ->findChild<QLabel*>(QStringLiteral("weightsNote"));
            return l && l->isVisibleTo(l->parentWidget()) ? l->text() : QString();
        };
        for (const char* view : {"ensemble", "sweep", "training", "trainability", "pinn", "rl"})
            QVERIFY2(viewNote(view).contains(QStringLiteral("drawn")), view);
        QVERIFY(viewNote("phase").isEmpty());
        w.showView(QStringLiteral("signal"));

        // the run shown is the weights' run
        // an edit reaches the controller after the window's debounce: wait for a run newer than
        // `after` (the generation before the edit), complete and shown
        quint64 after = 0;
        const auto waitShown = [&](bool withWeights) {
            return QTest::qWaitFor(
                [&] {
                    return w.controller()->generation() > after && w.displayedComplete() &&
                           w.displayedGeneration() == w.controller()->generation() &&
                           (w.shownWeights() != nullptr) == withWeights;
                },
                kTimeoutMs);
        };
        const auto sameRun = [&](const RunResult& ref) {
            const FigureData d = w.figureData();
            if (d.layers.size() != ref.layers.size())
                return false;
            for (std::size_t l = 0; l < ref.layers.size(); ++l) {
                const LayerStats &a = d.layers[l], &b = ref.layers[l];
                if (a.q != b.q || a.mean != b.mean || a.var != b.var ||
                    a.correlation != b.correlation || a.saturatedFraction != b.saturatedFraction ||
                    a.unitSpread != b.unitSpread || a.gradH2 != b.gradH2 || a.gradW2 != b.gradW2 ||
                    a.sigmaW2 != b.sigmaW2)
                    return false;
            }
            return true;
        };
        QVERIFY(waitShown(true));
        Engine engine;
        const RunResult ref = engine.runWithWeights(lw->spec, lw->weights);
        QVERIFY(sameRun(ref));
        // the theory beside them is at the weights' own sigma_w^2 per layer (layer 1's learned
        // 0.05 is far from the nearest spec's gain), not at the nearest spec's
        QVERIFY(!started.isEmpty());
        const auto theory = started.last().at(2).value<TheoryCurves>();
        std::vector<int> widths;
        std::vector<double> ownSigmaW2;
        for (int l = 1; l <= lw->spec.depth; ++l) {
            widths.push_back(lw->spec.widthOf(l));
            ownSigmaW2.push_back(ref.layers[std::size_t(l - 1)].sigmaW2);
        }
        const meanfield::LayerTheory lt =
            meanfield::layerTheory(Activation(lw->spec.activation), ownSigmaW2,
                                   effectiveSigmaB2(lw->spec), theory.q0, theory.c0, widths);
        QCOMPARE(theory.q, lt.q);
        QVERIFY(theory.note.find("given weights") != std::string::npos);
        const TheoryCurves nearest = predict(lw->spec, theory.q0, theory.c0);
        QVERIFY(std::abs(nearest.q.front() - theory.q.front()) > 0.1 * nearest.q.front());
        // and the charts keep it once the run has finished (the result carries it too)
        QCOMPARE(w.figureData().theory.q, lt.q);
        // not the drawn network of the same spec
        QVERIFY(!sameRun(engine.run(lw->spec)));
        QVERIFY(w.statusText().contains(QStringLiteral("weights: MAML learned init")));
        // a preset holds settings: saving one says, in a box, that the weights are not in it
        // and how to get them back; so does a figure's embedded experiment
        {
            QTemporaryDir dir;
            QVERIFY(w.presetDocument()->saveAs(dir.filePath(QStringLiteral("learned.json"))));
            auto* box = w.findChild<QMessageBox*>(QStringLiteral("weightsNotSavedBox"));
            QVERIFY(box);
            QVERIFY2(box->text().contains(QStringLiteral("not the loaded weights (MAML learned "
                                                         "init, meta-step 40, steep family")),
                     qPrintable(box->text()));
            QVERIFY(box->text().contains(QStringLiteral("Load learned init")));
            QVERIFY(
                w.weightsNotSaved(true).contains(QStringLiteral("The figure shows the loaded")));
            if (const QByteArray shot = qgetenv("INITSCOPE_WEIGHTS_SAVE_SHOT"); !shot.isEmpty()) {
                QTest::qWait(200);
                box->grab().save(QString::fromLocal8Bit(shot));
            }
            box->close();
            QTRY_VERIFY(!w.findChild<QMessageBox*>(QStringLiteral("weightsNotSavedBox")));
        }
        if (const QByteArray shot = qgetenv("INITSCOPE_WEIGHTS_SHOT"); !shot.isEmpty()) {
            w.resize(1280, 720);
            QTest::qWait(200);
            w.grab().save(QString::fromLocal8Bit(shot));
        }

        // batch keeps the weights: the run is on them, with the new batch
        NetworkSpec s = w.controls()->spec();
        s.batch = 64;
        after = w.controller()->generation();
        w.setSpec(s);
        QVERIFY(w.loadedWeights());
        QVERIFY(waitShown(true));
        QCOMPARE(w.displayedSpec().batch, 64);
        NetworkSpec s64 = w.loadedWeights()->spec;
        s64.batch = 64;
        QVERIFY(sameRun(engine.runWithWeights(s64, w.loadedWeights()->weights)));

        // gain redraws them: unloaded, said with the field's name, and the run is on draws
        s = w.controls()->spec();
        s.gain *= 1.1;
        after = w.controller()->generation();
        w.setSpec(s);
        // the edit is submitted at once or, inside the debounce window, a moment later
        QTRY_VERIFY_WITH_TIMEOUT(!w.loadedWeights(), kTimeoutMs);
        QVERIFY2(w.weightsMessage().contains(QStringLiteral("you changed gain")),
                 qPrintable(w.weightsMessage()));
        QVERIFY(w.weightsText().isEmpty());
        QVERIFY(!w.findChild<QWidget*>(QStringLiteral("weightsBox"))->isVisible());
        QVERIFY(w.weightsNotSaved(false).isEmpty()); // and a save says nothing of weights
        QVERIFY(w.analysisViews()->jacobian()->weightsNote().isEmpty());
        QVERIFY(viewNote("ensemble").isEmpty());
        QVERIFY(waitShown(false));
        QVERIFY(sameRun(engine.run(w.controls()->spec())));

        // loaded again, then "Use drawn weights"
        v->loadButton()->click();
        QVERIFY(w.loadedWeights());
        after = w.controller()->generation();
        w.findChild<QToolButton*>(QStringLiteral("useDrawnWeights"))->click();
        QVERIFY(!w.loadedWeights());
        QVERIFY(w.weightsMessage().contains(QStringLiteral("drawn weights")));
        QVERIFY(waitShown(false));
    }
};

INITSCOPE_GUI_TEST_MAIN(TestMamlView)
#include "test_mamlview.moc"

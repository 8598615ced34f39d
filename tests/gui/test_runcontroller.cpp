// The run controller: results arrive on the GUI thread in order, only for the latest request,
// equal to a direct engine run; cancellation and shutdown join the worker.
#include "guitestmain.h"
#include "work/runcontroller.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QThread>

#include <cmath>
#include <memory>

using namespace initscope;
using namespace initscope::ui;

namespace {
NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 12;
    s.width = 64;
    s.inputDim = 64;
    s.batch = 32;
    return s;
}
NetworkSpec slowSpec() {
    NetworkSpec s;
    s.depth = 1000; // seconds of work
    s.width = 256;
    s.inputDim = 256;
    s.batch = 64;
    return s;
}
} // namespace

class TestRunController : public QObject {
    Q_OBJECT
private slots:
    // Every layer arrives once, forward in order 1..L, then every backward layer, then the
    // result; the values are the engine's (the same Engine code, same seed: bit-identical).
    void streamsOneRun() {
        RunController c;
        QSignalSpy started(&c, &RunController::runStarted);
        QSignalSpy forward(&c, &RunController::forwardLayer);
        QSignalSpy backward(&c, &RunController::backwardLayer);
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy heatmaps(&c, &RunController::heatmapsReady);
        const NetworkSpec spec = smallSpec();
        const quint64 gen = c.request(spec);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        QCOMPARE(started.count(), 1);
        QCOMPARE(forward.count(), spec.depth);
        QCOMPARE(backward.count(), spec.depth);
        QVERIFY(heatmaps.count() >= 1);
        Engine engine;
        const RunResult direct = engine.run(spec);
        for (int i = 0; i < spec.depth; ++i) {
            QCOMPARE(forward.at(i).at(0).value<quint64>(), gen);
            const auto s = forward.at(i).at(1).value<LayerStats>();
            QCOMPARE(s.index, i + 1);
            QCOMPARE(s.q, direct.layers[static_cast<std::size_t>(i)].q);
            QVERIFY(s.sample.empty()); // the heatmap carries the activations, not the GUI copy
        }
        const auto hm = heatmaps.last().at(1).value<HeatmapImage>();
        QCOMPARE(hm.layersDone, spec.depth);
        QCOMPARE(hm.image.width(), spec.depth);
    }

    // A newer request cancels the older run; nothing of a superseded generation is delivered.
    void supersededRunsAreDropped() {
        RunController c;
        QSignalSpy forward(&c, &RunController::forwardLayer);
        QSignalSpy finished(&c, &RunController::runFinished);
        quint64 last = 0;
        for (int i = 0; i < 50; ++i) {
            NetworkSpec s = smallSpec();
            s.gain = 0.5 + 0.02 * i;
            last = c.request(s);
            // no event processing in between: the worker runs (and is cancelled) meanwhile, and
            // everything it posted for older generations is delivered only after `last` exists
            if (i % 7 == 0)
                QThread::msleep(3);
        }
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 20000);
        QTest::qWait(100);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(finished.first().at(0).value<quint64>(), last);
        for (const auto& args : forward)
            QCOMPARE(args.at(0).value<quint64>(), last);
        const auto r = finished.first().at(1).value<RunResult>();
        QCOMPARE(r.spec.gain, 0.5 + 0.02 * 49);
        QVERIFY(!r.cancelled);
    }

    // AfterCurrent: a run that finishes within the wait bound is delivered whole, then the newer.
    void afterCurrentLetsShortRunFinish() {
        RunController c;
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy started(&c, &RunController::runStarted);
        NetworkSpec a = smallSpec();
        const quint64 first = c.request(a);
        QTRY_VERIFY_WITH_TIMEOUT(!started.isEmpty(), 20000); // `a` is running
        NetworkSpec b = a;
        b.gain = 1.5;
        const quint64 second = c.request(b, RunController::Supersede::AfterCurrent);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 20000);
        QCOMPARE(finished.at(0).at(0).value<quint64>(), first);
        QCOMPARE(finished.at(1).at(0).value<quint64>(), second);
        QCOMPARE(finished.at(1).at(1).value<RunResult>().spec.gain, 1.5);
    }

    // AfterCurrent: a long run is cancelled once the newer request has waited kMaxWaitMs, and
    // nothing of it is delivered after that.
    void afterCurrentBoundsTheWait() {
        RunController c;
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy forward(&c, &RunController::forwardLayer);
        const quint64 first = c.request(slowSpec());
        QTRY_VERIFY_WITH_TIMEOUT(!forward.isEmpty(), 20000);
        QElapsedTimer t;
        t.start();
        const quint64 second = c.request(smallSpec(), RunController::Supersede::AfterCurrent);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        QCOMPARE(finished.first().at(0).value<quint64>(), second);
        QVERIFY2(t.elapsed() < 3000, qPrintable(QString("waited %1 ms").arg(t.elapsed())));
        int afterCancel = 0;
        for (const auto& args : forward)
            afterCancel += args.at(0).value<quint64>() == first &&
                           args.at(1).value<LayerStats>().index == slowSpec().depth;
        QCOMPARE(afterCancel, 0); // the long run never reached its last layer on screen
    }

    // With no gradient view visible, a run whose newer request is already waiting stops after its
    // forward pass: none of its backward layers and no result arrive (it is either cut there, or
    // cancelled earlier by the wait bound on a slow machine); the waiting run then completes with
    // its gradients, since nothing waits behind it.
    void backwardSkippedWhenNotWanted() {
        RunController c;
        c.setGradientsWanted(false);
        QSignalSpy backward(&c, &RunController::backwardLayer);
        QSignalSpy finished(&c, &RunController::runFinished);
        QSignalSpy skipped(&c, &RunController::runBackwardSkipped);
        NetworkSpec a = smallSpec();
        a.depth = 400;
        a.width = 128;
        a.inputDim = 128;
        const quint64 first = c.request(a);
        QThread::msleep(20); // `a` is dequeued and computing
        NetworkSpec b = smallSpec();
        const quint64 second = c.request(b, RunController::Supersede::AfterCurrent);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        QCOMPARE(finished.first().at(0).value<quint64>(), second);
        for (const auto& args : backward)
            QCOMPARE(args.at(0).value<quint64>(), second);
        QCOMPARE(backward.count(), b.depth);
        QVERIFY(skipped.count() <= 1);
        if (!skipped.isEmpty())
            QCOMPARE(skipped.first().at(0).value<quint64>(), first);
    }

    // An invalid spec reports the field, never throws across threads.
    void invalidSpecReportsField() {
        RunController c;
        QSignalSpy failed(&c, &RunController::runFailed);
        NetworkSpec s = smallSpec();
        s.depth = Limits::kMaxDepth + 1;
        c.request(s);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 10000);
        QCOMPARE(failed.first().at(1).toString(), QStringLiteral("depth"));
        QVERIFY(!failed.first().at(2).toString().isEmpty());
    }

    // Destroying the controller mid-run cancels between layers and joins its worker promptly.
    void destroyMidRunJoins() {
        const int before = RunController::liveWorkerThreads();
        auto c = std::make_unique<RunController>();
        QCOMPARE(RunController::liveWorkerThreads(), before + 1);
        QSignalSpy forward(c.get(), &RunController::forwardLayer);
        c->request(slowSpec());
        QTRY_VERIFY_WITH_TIMEOUT(forward.count() >= 3, 20000);
        QElapsedTimer t;
        t.start();
        c.reset();
        QCOMPARE(RunController::liveWorkerThreads(), before);
        QVERIFY2(t.elapsed() < 5000, qPrintable(QString("join took %1 ms").arg(t.elapsed())));
    }
};

INITSCOPE_GUI_TEST_MAIN(TestRunController)
#include "test_runcontroller.moc"

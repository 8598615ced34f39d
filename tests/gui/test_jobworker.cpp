// The ui's one job worker (jobworker.h), which the main run and every view use: a Cancel-submit
// cancels the running job and drops its results; an AfterCurrent-submit lets the running job
// finish and shows its results; a job can give way to the waiting one; cancel() drops
// everything in flight; the destructor joins a running job.
#include "guitestmain.h"
#include "work/jobworker.h"

#include <QSignalSpy>
#include <QTest>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 10000;

/// A job that posts `tag` every 5 ms, `steps` times, until cancelled; records how it ended.
struct Probe {
    std::vector<int> shown;                         // GUI thread: posts that arrived
    std::shared_ptr<std::atomic<int>> cancelledAt = // worker: the step its flag was seen at
        std::make_shared<std::atomic<int>>(-1);
    JobWorker::Job job(JobWorker& w, int tag, int steps) {
        auto at = cancelledAt;
        return [this, &w, tag, steps, at](quint64 gen, std::atomic<bool>& cancel) {
            for (int i = 0; i < steps; ++i) {
                if (cancel.load()) {
                    at->store(i);
                    return;
                }
                w.post(gen, [this, tag] { shown.push_back(tag); });
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        };
    }
};
} // namespace

class TestJobWorker : public QObject {
    Q_OBJECT
private slots:
    void cancelSubmitDropsTheRunningJob() {
        JobWorker w;
        Probe p;
        QSignalSpy done(&w, &JobWorker::jobDone);
        const quint64 g1 = w.submit(p.job(w, 1, 2000)); // ~10 s unless cancelled
        QTRY_VERIFY_WITH_TIMEOUT(!p.shown.empty(), kTimeoutMs);
        const quint64 g2 = w.submit(p.job(w, 2, 3));
        QCOMPARE(g2, g1 + 1);
        QVERIFY(!w.isCurrent(g1));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, kTimeoutMs);
        QVERIFY(p.cancelledAt->load() > 0); // job 1 saw its flag mid-way
        QCoreApplication::processEvents();  // anything of job 1 still queued is dropped
        const auto firstTwo = std::find(p.shown.begin(), p.shown.end(), 2);
        QVERIFY(firstTwo != p.shown.end());
        QVERIFY(std::count(firstTwo, p.shown.end(), 1) == 0);
        QCOMPARE(std::count(p.shown.begin(), p.shown.end(), 2), 3);
        QTRY_VERIFY_WITH_TIMEOUT(!w.busy(), kTimeoutMs);
    }

    void afterCurrentShowsTheRunningJob() {
        JobWorker w;
        Probe p;
        QSignalSpy done(&w, &JobWorker::jobDone);
        const quint64 g1 = w.submit(p.job(w, 1, 20));
        QTRY_VERIFY_WITH_TIMEOUT(!p.shown.empty(), kTimeoutMs);
        w.submit(p.job(w, 2, 3), JobWorker::Supersede::AfterCurrent);
        QVERIFY(w.isCurrent(g1));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, kTimeoutMs);
        QCoreApplication::processEvents();
        QCOMPARE(p.cancelledAt->load(), -1);
        QCOMPARE(std::count(p.shown.begin(), p.shown.end(), 1), 20); // every post of job 1
        QCOMPARE(std::count(p.shown.begin(), p.shown.end(), 2), 3);
    }

    void aJobGivesWayToTheWaitingOne() {
        JobWorker w;
        std::atomic<bool> gaveWay{false}, started{false};
        std::vector<int> shown;
        QSignalSpy done(&w, &JobWorker::jobDone);
        w.submit([&](quint64 gen, std::atomic<bool>& cancel) {
            started = true;
            // wait (at most 10 s) until a job waits 50 ms, then give way
            for (int i = 0; i < 2000 && !cancel.load(); ++i) {
                const auto waited = w.pendingWaited();
                if (waited && *waited > std::chrono::milliseconds(50)) {
                    w.supersedeByPending(cancel);
                    gaveWay = cancel.load();
                    w.post(gen, [&] { shown.push_back(1); }); // dropped: superseded
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
        QTRY_VERIFY_WITH_TIMEOUT(started.load(), kTimeoutMs);
        QVERIFY(!w.hasPending());
        w.submit([&](quint64 gen, std::atomic<bool>&) { w.post(gen, [&] { shown.push_back(2); }); },
                 JobWorker::Supersede::AfterCurrent);
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(shown.size(), std::size_t{1}, kTimeoutMs);
        QVERIFY(gaveWay.load());
        QCOMPARE(shown.front(), 2);
    }

    void cancelDropsEverythingInFlight() {
        JobWorker w;
        Probe p;
        QSignalSpy done(&w, &JobWorker::jobDone);
        const quint64 g = w.submit(p.job(w, 1, 2000));
        QTRY_VERIFY_WITH_TIMEOUT(!p.shown.empty(), kTimeoutMs);
        w.cancel();
        QVERIFY(!w.isCurrent(g));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kTimeoutMs);
        const auto before = p.shown.size();
        QCoreApplication::processEvents();
        QCOMPARE(p.shown.size(), before);
        QVERIFY(p.cancelledAt->load() > 0);
    }

    void destructorJoinsARunningJob() {
        const int before = JobWorker::liveThreads();
        auto ended = std::make_shared<std::atomic<bool>>(false);
        {
            JobWorker w;
            QCOMPARE(JobWorker::liveThreads(), before + 1);
            std::atomic<bool> started{false};
            w.submit([&, ended](quint64, std::atomic<bool>& cancel) {
                started = true;
                while (!cancel.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                ended->store(true);
            });
            QTRY_VERIFY_WITH_TIMEOUT(started.load(), kTimeoutMs);
        }
        QVERIFY(ended->load()); // the job saw its flag and returned before the thread was joined
        QCOMPARE(JobWorker::liveThreads(), before);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestJobWorker)
#include "test_jobworker.moc"

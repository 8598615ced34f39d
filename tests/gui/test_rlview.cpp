// The RL view (issue 13): a spec shown runs the three inits on the view's worker, streams
// progress, and draws the initial-Q histograms (every (state, action) pair counted once per
// init) and the curves the engine measured; Cancel stops a long run and leaves the view usable;
// the view exports as PNG, SVG, PDF and CSV; the bundled preset opens it with its settings.
#include "export/figure.h"
#include "guitestmain.h"
#include "model/presetdocument.h"
#include "spec/preset.h"
#include "views/analysisviews.h"
#include "views/rlview.h"
#include "window/mainwindow.h"

#include <QChart>
#include <QChartView>
#include <QFile>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QXYSeries>

using namespace initscope;
using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 120000; // a loaded 2-core machine

QXYSeries* seriesOf(QChartView* v, const QString& name) {
    for (QAbstractSeries* s : v->chart()->series())
        if (s->objectName() == name)
            return qobject_cast<QXYSeries*>(s);
    return nullptr;
}
} // namespace

class TestRlView : public QObject {
    Q_OBJECT
private slots:
    void runsDrawsAndExports() {
        RlView v;
        v.resize(1200, 760);
        RlSpec rl;
        rl.episodes = 600;
        v.setRlSpec(rl);
        QSignalSpy shown(&v, &RlView::resultShown);
        QSignalSpy progressed(v.progress(), &QProgressBar::valueChanged);
        v.show();
        v.setSpec(rlDefaultSpec());
        QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1, kTimeoutMs);
        QVERIFY(progressed.count() >= 2); // streamed, not only the final value
        const RlResult& r = v.result();
        QCOMPARE(r.inits.size(), std::size_t{3});
        // the histogram of each init counts every one of the S x K initial Q-values
        for (const char* key : {"zero", "optimistic", "optimistic_large"}) {
            QXYSeries* s = seriesOf(v.histogramChart(), QStringLiteral("initial_q_%1").arg(key));
            QVERIFY(s);
            double count = 0;
            const auto pts = s->points();
            for (int i = 1; i + 1 < pts.size(); i += 2)
                count += pts[i].y(); // each bin is a flat top (two points of the same height)
            QCOMPARE(count, static_cast<double>(rl.states * rl.actions));
            QXYSeries* regret = seriesOf(v.regretChart(), QStringLiteral("regret_%1").arg(key));
            QVERIFY(regret);
            QCOMPARE(regret->points().size(), static_cast<qsizetype>(r.steps.size()));
        }
        // the curves are the engine's numbers: the last regret point of the optimistic init
        QXYSeries* o = seriesOf(v.regretChart(), QStringLiteral("regret_optimistic"));
        QCOMPARE(o->points().back().y(), r.inits[1].regret.back());
        QCOMPARE(o->points().back().x(), static_cast<double>(rl.episodes));
        QVERIFY(v.summaryText().contains(QStringLiteral("regret")));
        QVERIFY(!v.cancelButton()->isEnabled());

        QTemporaryDir dir;
        FigureOptions opt;
        for (const char* ext : {"png", "svg", "pdf", "csv"}) {
            const std::unique_ptr<QWidget> fig = copyAnalysisFigure(&v);
            QVERIFY(fig);
            QString error;
            const QString path = dir.filePath(QStringLiteral("rl.%1").arg(ext));
            QVERIFY2(exportFigureWidget(fig.get(), QStringLiteral("rl"), path, opt, &error),
                     qPrintable(error));
            QVERIFY(QFile(path).size() > 100);
        }
        QFile f(dir.filePath(QStringLiteral("rl.csv")));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(f.readAll());
        QCOMPARE(text.count(QStringLiteral("rlRegret,regret_zero,")),
                 static_cast<int>(r.steps.size()));
        QVERIFY(text.contains(QStringLiteral("rlHistogram,initial_q_optimistic,")));
        if (const QByteArray shot = qgetenv("INITSCOPE_SHOT"); !shot.isEmpty())
            v.grab().save(QString::fromLocal8Bit(shot));
    }

    void cancelStopsALongRun() {
        RlView v;
        v.resize(1000, 700);
        RlSpec rl;
        rl.episodes = RlSpec::kMaxEpisodes;
        v.setRlSpec(rl);
        QSignalSpy shown(&v, &RlView::resultShown);
        v.show();
        NetworkSpec spec = rlDefaultSpec();
        spec.width = 128;
        v.setSpec(spec);
        // a long estimate waits for Run instead of starting on the change
        QTRY_VERIFY_WITH_TIMEOUT(v.summaryText().contains(QStringLiteral("press Run")), kTimeoutMs);
        QVERIFY(!v.running());
        v.run();
        QVERIFY(v.running());
        QTRY_VERIFY_WITH_TIMEOUT(v.progress()->value() > 0, kTimeoutMs);
        v.cancelButton()->click();
        QVERIFY(!v.running());
        QTRY_VERIFY_WITH_TIMEOUT(!v.worker().busy(), kTimeoutMs);
        QCOMPARE(shown.count(), 0);
        QVERIFY(v.summaryText().contains(QStringLiteral("Cancelled")));
    }

    void bundledPresetOpensTheViewWithItsSettings() {
        const Preset* p = findBundledPreset("rl-optimistic-init");
        QVERIFY(p);
        QCOMPARE(p->view, std::string("rl"));
        QVERIFY(p->rl.has_value());
        QVERIFY(std::find(presetViews().begin(), presetViews().end(), "rl") != presetViews().end());
        QVERIFY(AnalysisViews::viewNames().contains(QStringLiteral("rl")));
        QVERIFY(analysisFigureNames().contains(QStringLiteral("rl")));
        MainWindow w;
        w.show();
        RlSpec other;
        other.episodes = 700;
        other.qOpt = 3.0;
        w.analysisViews()->rl()->setRlSpec(other);
        w.presetDocument()->applyPreset(*p);
        QCOMPARE(w.currentView(), QStringLiteral("rl"));
        RlView* v = w.analysisViews()->rl();
        QCOMPARE(v->rlSpec().episodes, p->rl->episodes);
        QCOMPARE(v->rlSpec().qOpt, p->rl->qOpt);
        // the tab computes the preset's network: the result is the engine's for that pair
        QTRY_VERIFY_WITH_TIMEOUT(!v->result().inits.empty(), kTimeoutMs);
        QCOMPARE(v->result().spec.width, p->spec.width);
        QCOMPARE(v->result().rl.episodes, p->rl->episodes);
        // saving the experiment keeps the view's settings
        const Preset saved = w.presetDocument()->currentPreset();
        QCOMPARE(saved.view, std::string("rl"));
        QVERIFY(saved.rl.has_value());
        QCOMPARE(saved.rl->episodes, p->rl->episodes);
        const PresetParse back = parsePreset(presetToJson(saved));
        QVERIFY(back.preset.has_value());
        QCOMPARE(back.preset->rl->episodes, p->rl->episodes);
    }
};

INITSCOPE_GUI_TEST_MAIN(TestRlView)
#include "test_rlview.moc"

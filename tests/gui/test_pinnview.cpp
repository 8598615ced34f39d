// The PINN view (scenario 15): it computes on its worker and draws the engine's numbers (the
// three curves against c with their slopes in the legend, the two training curves, three
// non-uniform u heatmaps), cancels mid-computation, exports every format with its CSV, and the
// bundled preset opens it in the main window with the preset's settings.
#include "apps/pinn.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "spec/preset.h"
#include "views/analysisviews.h"
#include "views/pinnview.h"
#include "window/mainwindow.h"

#include <QChart>
#include <QChartView>
#include <QFileInfo>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <cmath>

using namespace initscope;
using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 120000; // a loaded 2-core machine; QTRY returns as soon as it holds

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 3;
    s.width = 16;
    s.inputDim = 2;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::HeNormal;
    s.seed = 3;
    return s;
}

PinnSpec smallSettings() {
    PinnSpec p;
    p.speedFrom = 0.1;
    p.speedTo = 1000;
    p.speeds = 5;
    p.collocation = 64;
    p.trainSteps = 30;
    p.trainSpeeds = {1, 30};
    p.grid = 12;
    return p;
}

QList<QLineSeries*> lines(QChartView* v) {
    QList<QLineSeries*> out;
    for (QAbstractSeries* s : v->chart()->series())
        if (auto* l = qobject_cast<QLineSeries*>(s))
            out << l;
    return out;
}
} // namespace

class TestPinnView : public QObject {
    Q_OBJECT
private slots:
    void drawsTheEnginesNumbers();
    void cancelStopsAndKeepsNoResult();
    void exportsEveryFormat();
    void presetOpensTheView();
};

void TestPinnView::drawsTheEnginesNumbers() {
    PinnView view;
    view.setSettings(smallSettings());
    view.setSpec(smallSpec());
    QSignalSpy shown(&view, &PinnView::resultShown);
    view.resize(1000, 700);
    view.show(); // starts the computation
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() == 1, kTimeoutMs);
    const PinnResult expected = runPinn(view.pinnSpec(), view.settings());
    {
        QVERIFY(view.result().has_value());
        const PinnResult& r = *view.result();
        QCOMPARE(r.points.size(), expected.points.size());
        const QList<QLineSeries*> law = lines(view.lawChart());
        QCOMPARE(law.size(), 3);
        for (int i = 0; i < 5; ++i) { // the chart's points are the engine's (deterministic)
            QCOMPARE(law[0]->at(i).x(), expected.points[static_cast<std::size_t>(i)].c);
            QCOMPARE(law[0]->at(i).y(), expected.points[static_cast<std::size_t>(i)].rmsResidual);
            QCOMPARE(law[2]->at(i).y(), expected.points[static_cast<std::size_t>(i)].gradLoss);
        }
        // the slopes are in the legend
        QVERIFY2(law[2]->name().contains(QString::number(expected.slopeLarge.gradLoss, 'f', 2)),
                 qPrintable(law[2]->name()));
        const QList<QLineSeries*> train = lines(view.trainingChart());
        QCOMPARE(train.size(), 2);
        QCOMPARE(train[0]->count(), 31);
        QCOMPARE(train[1]->at(0).y(), expected.runs[1].loss[0]);
        // heatmaps: u is not uniform at init nor after training
        for (GridHeatmap* m : {view.initMap(), view.smallMap(), view.largeMap()}) {
            const GridImage& g = m->grid();
            QCOMPARE(g.image.size(), QSize(12, 12));
            const auto [lo, hi] = std::minmax_element(g.values.begin(), g.values.end());
            QVERIFY2(*hi - *lo > 1e-3, qPrintable(m->objectName()));
        }
        QCOMPARE(view.progressBar()->value(), view.progressBar()->maximum());
    }
}

void TestPinnView::cancelStopsAndKeepsNoResult() {
    PinnView view;
    PinnSpec p = smallSettings();
    p.trainSteps = 20000; // minutes: cancelled long before
    view.setSettings(p);
    view.setSpec(smallSpec());
    QSignalSpy done(&view, &PinnView::finished);
    view.show();
    QTRY_VERIFY_WITH_TIMEOUT(view.running() && view.progressBar()->value() > 0, kTimeoutMs);
    QVERIFY(!view.startButton()->isEnabled());
    view.stopButton()->click();
    QTRY_VERIFY_WITH_TIMEOUT(!view.running(), 10000);
    QCOMPARE(done.count(), 1);
    QCOMPARE(done.at(0).at(0).toBool(), false);
    QVERIFY(!view.result().has_value());
    QVERIFY(view.startButton()->isEnabled());
    QVERIFY(view.summaryText().startsWith(QStringLiteral("Cancelled")));
}

void TestPinnView::exportsEveryFormat() {
    PinnView view;
    view.setSettings(smallSettings());
    view.setSpec(smallSpec());
    QSignalSpy shown(&view, &PinnView::resultShown);
    view.show();
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() == 1, kTimeoutMs);
    QTemporaryDir dir;
    for (const char* suffix : {"png", "svg", "pdf", "csv"}) {
        const QString path = dir.filePath(QStringLiteral("pinn.") + QLatin1String(suffix));
        auto copy = copyAnalysisFigure(&view);
        QVERIFY(copy);
        FigureOptions o;
        o.size = QSize(800, 500);
        QString error;
        QVERIFY2(exportFigureWidget(copy.get(), QStringLiteral("pinn"), path, o, &error),
                 qPrintable(error));
        QVERIFY2(QFileInfo(path).size() > 500, qPrintable(path));
    }
    QFile csv(dir.filePath(QStringLiteral("pinn.csv")));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(csv.readAll());
    QVERIFY(text.startsWith(QStringLiteral("panel,series,x,y,value\n")));
    for (const char* key : {"pinnLaw,grad_loss,", "pinnTraining,loss_large_c,", "pinnUInit,u,"})
        QVERIFY2(text.contains(QLatin1String(key)), key);
}

void TestPinnView::presetOpensTheView() {
    const Preset* preset = findBundledPreset("pinn-wave-speed");
    QVERIFY(preset);
    QCOMPARE(preset->view, std::string("pinn"));
    QVERIFY(preset->pinn.has_value());
    MainWindow w;
    w.show();
    QVERIFY(w.showView(QStringLiteral("pinn")));
    PinnView* v = w.analysisViews()->pinn();
    v->setSettings(*preset->pinn);
    QCOMPARE(v->settings().trainSteps, preset->pinn->trainSteps);
    QCOMPARE(v->settings().speeds, preset->pinn->speeds);
    QCOMPARE(v->settings().trainSpeeds, preset->pinn->trainSpeeds);
    v->stop(); // not waiting for the preset's full minute here
}

INITSCOPE_GUI_TEST_MAIN(TestPinnView)
#include "test_pinnview.moc"

// The trainability view (issue 12): a tiny map fills cell by cell from its worker with the
// mean-field curves over it, Stop cancels it between or inside cells, a click on a cell emits
// that cell's network, settings that cannot train say why, and the view exports (PNG and CSV with
// the accuracy of every cell and the 6 xi_c curve).
#include "charts/gridheatmap.h"
#include "core/data.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "views/trainabilityview.h"

#include <QFile>
#include <QMouseEvent>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <filesystem>

using namespace initscope;
using namespace initscope::ui;

namespace {
constexpr int kTimeoutMs = 120000; // the first Fashion-MNIST load on a loaded 2-core machine

bool havePackage() {
    return std::filesystem::exists(std::filesystem::path(kFashionMnistDir) /
                                   "train-images-idx3-ubyte.gz");
}

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.width = 16;
    s.batch = 16;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    return s;
}

TrainabilitySettings tiny(int steps) {
    TrainabilitySettings t;
    t.grid.depth = {2, 4, 2};
    t.grid.sigmaW2 = {1.0, 3.0, 3};
    t.steps = steps;
    return t;
}
} // namespace

class TestTrainability : public QObject {
    Q_OBJECT
private slots:
    void tinyMapFillsAndAClickEmitsTheCell() {
        if (!havePackage())
            QSKIP("Fashion-MNIST is not installed");
        TrainabilityView v;
        v.resize(900, 600);
        v.show();
        v.setSpec(smallSpec()); // gaussian data in the controls: the map trains on the images
        v.setSettings(tiny(5));
        QVERIFY2(v.problems().isEmpty(), qPrintable(v.problems()));
        QCOMPARE(v.baseSpec().data, std::string("fashion-mnist"));
        QSignalSpy complete(&v, &TrainabilityView::mapComplete);
        v.findChild<QPushButton*>(QStringLiteral("trainabilityStart"))->click();
        QVERIFY(v.running());
        QVERIFY(complete.wait(kTimeoutMs));
        QVERIFY(!v.running());
        QCOMPARE(v.cellsDone(), 6);
        QCOMPARE(v.progress(), 1.0);
        QCOMPARE(v.findChild<QProgressBar*>(QStringLiteral("trainabilityProgress"))->value(), 1000);
        const GridImage& g = v.heatmap()->grid();
        QCOMPARE(g.image.size(), QSize(3, 2));
        for (double a : g.values)
            QVERIFY(a >= 0 && a <= 1); // every cell coloured by a test accuracy
        for (int y = 0; y < 2; ++y)
            for (int x = 0; x < 3; ++x)
                QVERIFY(qAlpha(g.image.pixel(x, y)) == 255);
        // the curves: 6 xi_c is 6 x xi_c at every sigma_w^2 of the fine grid
        const QPolygonF& six = v.heatmap()->overlay();
        const QPolygonF& one = v.heatmap()->secondOverlay();
        QVERIFY(six.size() > 100);
        QCOMPARE(six.size(), one.size());
        for (int k = 0; k < six.size(); ++k)
            if (std::isfinite(one[k].y()))
                QVERIFY(std::abs(six[k].y() - 6 * one[k].y()) <= 1e-9 * six[k].y());

        // a click on the cell (depth 4, sigma_w^2 3) emits that network
        QSignalSpy chosen(&v, &TrainabilityView::cellChosen);
        const QPointF at = v.heatmap()->toWidget(v.cellCentre(1, 2));
        QMouseEvent press(QEvent::MouseButtonPress, at, v.heatmap()->mapToGlobal(at),
                          Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(v.heatmap(), &press);
        QCOMPARE(chosen.count(), 1);
        const auto spec = chosen.at(0).at(0).value<NetworkSpec>();
        QCOMPARE(spec.depth, 4);
        QCOMPARE(spec.init, InitScheme::LecunNormal);
        QCOMPARE(spec.gain, 3.0);
        QCOMPARE(spec.width, 16);

        // export: PNG, and CSV with one test_accuracy row per cell and the 6 xi_c curve
        QTemporaryDir dir;
        QString error;
        FigureOptions o;
        o.size = QSize(600, 400);
        for (const char* suffix : {"png", "csv"}) {
            const auto copy = copyAnalysisFigure(&v);
            QVERIFY(copy);
            QVERIFY2(exportFigureWidget(copy.get(), QStringLiteral("trainability"),
                                        dir.filePath(QStringLiteral("t.") + suffix), o, &error),
                     qPrintable(error));
        }
        QCOMPARE(QImage(dir.filePath(QStringLiteral("t.png"))).size(), QSize(1200, 800));
        QFile csv(dir.filePath(QStringLiteral("t.csv")));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(csv.readAll());
        QVERIFY(text.startsWith(QStringLiteral("panel,series,x,y,value\n")));
        QCOMPARE(text.count(QStringLiteral(",test_accuracy,")), 6);
        QVERIFY(text.count(QStringLiteral(",six_xi_c,")) > 100);
    }

    void stopCancelsInsideTheMap() {
        if (!havePackage())
            QSKIP("Fashion-MNIST is not installed");
        TrainabilityView v;
        v.show();
        v.setSpec(smallSpec());
        v.setSettings(tiny(400)); // long enough to stop in the middle
        QSignalSpy stopped(&v, &TrainabilityView::mapStopped);
        QSignalSpy complete(&v, &TrainabilityView::mapComplete);
        v.start();
        QTRY_VERIFY_WITH_TIMEOUT(v.progress() > 0, kTimeoutMs);
        v.findChild<QPushButton*>(QStringLiteral("trainabilityStop"))->click();
        QCOMPARE(stopped.count(), 1);
        QVERIFY(!v.running());
        const int done = v.cellsDone();
        QVERIFY(done < 6);
        QTest::qWait(500); // nothing more arrives after Stop
        QCOMPARE(v.cellsDone(), done);
        QCOMPARE(complete.count(), 0);
        QVERIFY(v.findChild<QPushButton*>(QStringLiteral("trainabilityStart"))->isEnabled());
    }

    void settingsThatCannotTrainSayWhy() {
        TrainabilityView v;
        NetworkSpec s = smallSpec();
        s.biasInit = BiasInit::Constant;
        s.sigmaB2 = 0;
        v.setSpec(s);
        QVERIFY(v.problems().contains(QStringLiteral("bias_init")));
        QVERIFY(!v.findChild<QPushButton*>(QStringLiteral("trainabilityStart"))->isEnabled());
        v.start(); // refused
        QVERIFY(!v.running());
        v.setSpec(smallSpec());
        QVERIFY(v.findChild<QPushButton*>(QStringLiteral("trainabilityStart"))->isEnabled());
    }
};

INITSCOPE_GUI_TEST_MAIN(TestTrainability)
#include "test_trainability_view.moc"

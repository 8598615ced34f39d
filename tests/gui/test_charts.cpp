// Charts and exports as a lecturer sees them: log axes labelled at decades with minor ticks
// between, curves kept off the frame, one number format; integer ticks on layer axes and a
// one-layer run drawn as a visible point; legends that show line samples and only the curves
// drawn, the measurement drawn over its prediction; the NTK kernel coloured relative to its
// diagonal with its range in the title, square; a log sweep sampled evenly on its axis; every
// view exported in every format at the requested size; one CSV header per chart from every
// export path; lecture titles that wrap instead of being cut.
#include "analysis/sweep.h"
#include "charts/gridheatmap.h"
#include "charts/layercharts.h"
#include "charts/viewcharts.h"
#include "export/exportdialog.h"
#include "export/figure.h"
#include "guitestmain.h"
#include "settle.h"
#include "spec/preset.h"
#include "train/train.h"
#include "views/ensembleview.h"
#include "views/ntkview.h"
#include "views/phaseview.h"
#include "views/sweepview.h"
#include "window/mainwindow.h"

#include <QChart>
#include <QChartView>
#include <QFile>
#include <QImage>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTextDocument>
#include <QValueAxis>

#include <cmath>

using namespace initscope;
using namespace initscope::ui;

namespace {
using test::kTimeoutMs;
using test::waitForSettled;

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.depth = 6;
    s.width = 32;
    s.inputDim = 32;
    s.batch = 8;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.gain = 1.2;
    s.seed = 5;
    return s;
}

QLogValueAxis* logY(LayerChart* c) {
    return qobject_cast<QLogValueAxis*>(c->chart()->axes(Qt::Vertical).value(0));
}
QValueAxis* linearY(LayerChart* c) {
    return qobject_cast<QValueAxis*>(c->chart()->axes(Qt::Vertical).value(0));
}
QValueAxis* xAxis(LayerChart* c) {
    return qobject_cast<QValueAxis*>(c->chart()->axes(Qt::Horizontal).value(0));
}
std::vector<QPointF> constant(int depth, double y) {
    std::vector<QPointF> out;
    for (int l = 1; l <= depth; ++l)
        out.emplace_back(l, y);
    return out;
}
QString firstLine(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    return QString::fromUtf8(f.readLine()).trimmed();
}
} // namespace

class TestCharts : public QObject {
    Q_OBJECT
private slots:
    // A constant q = 0.986 sits inside the axis, not on the decade at its top: the axis
    // reaches at least a tenth of a decade beyond the data (the spare fitLog promises), is
    // labelled at decades with 8 minor ticks (2..9) between, in the one log label format.
    void logAxisDecadesMinorTicksAndSpare() {
        std::unique_ptr<LayerChart> c(makeSignalChart());
        c->setDepth(10);
        c->setSeries(0, constant(10, 0.986));
        c->setSeries(1, constant(10, 0.986));
        c->rescale();
        QLogValueAxis* y = logY(c.get());
        QVERIFY(y);
        QCOMPARE(y->base(), 10.0);
        QCOMPARE(y->minorTickCount(), 8);
        QCOMPARE(y->labelFormat(), QString::fromLatin1(charts::kLogLabelFormat));
        QVERIFY(y->max() >= 0.986 * std::pow(10.0, 0.1));
        QVERIFY(y->min() <= 0.986 / std::pow(10.0, 0.1));
        // the NTK and sweep charts use the same format
        NtkView ntk;
        for (QAbstractAxis* a : ntk.spectrumChart()->chart()->axes(Qt::Vertical))
            if (auto* l = qobject_cast<QLogValueAxis*>(a))
                QCOMPARE(l->labelFormat(), QString::fromLatin1(charts::kLogLabelFormat));
    }

    // c = 1 at every layer is drawn below the top of the correlation chart, not on its frame.
    void boundedLinearCurveOffTheFrame() {
        std::unique_ptr<LayerChart> c(makeCorrelationChart());
        c->setDepth(10);
        c->setSeries(0, constant(10, 1.0));
        c->setSeries(1, constant(10, 1.0));
        c->rescale();
        QVERIFY(linearY(c.get())->max() > 1.0);
    }

    // Layer axes tick at integers (depth 3: 1 2 3, never 1 1 2 2 3), and a depth-1 run, one
    // point, is drawn as a visible dot (a line through one point draws nothing).
    void integerTicksAndSinglePoint() {
        for (int depth : {1, 3, 7, 40, 1000}) {
            std::unique_ptr<LayerChart> c(makeSignalChart());
            c->setDepth(depth);
            QValueAxis* x = xAxis(c.get());
            QCOMPARE(x->tickType(), QValueAxis::TicksDynamic);
            QCOMPARE(x->tickAnchor(), 0.0);
            QVERIFY2(x->tickInterval() >= 1 && x->tickInterval() == std::round(x->tickInterval()),
                     qPrintable(QString::number(depth)));
            QCOMPARE(x->labelFormat(), QStringLiteral("%d"));
            QVERIFY(x->min() < 1 && x->max() > depth); // first and last layer off the frame
        }
        std::unique_ptr<LayerChart> c(makeSignalChart());
        c->setDepth(1);
        c->setSeries(0, {{1, 0.7}});
        c->setSeries(1, {{1, 0.69}});
        c->rescale();
        QCOMPARE(c->points(0).size(), 1);
        QVERIFY(c->series(0)->pointsVisible());
        QVERIFY(c->series(1)->pointsVisible());
        c->setSeries(0, constant(5, 0.7));
        QVERIFY(!c->series(0)->pointsVisible()); // a line again
    }

    // Legends draw line samples (so dashed "predicted" differs from solid "measured"), list
    // only the curves that have points, and the predicted curve is drawn before (under) the
    // measured one.
    void legendMarkersAndStacking() {
        std::unique_ptr<LayerChart> c(makeGradientChart());
        QCOMPARE(c->chart()->legend()->markerShape(), QLegend::MarkerShapeFromSeries);
        c->setDepth(5);
        c->setSeries(0, constant(5, 1.0));
        c->setSeries(1, {});
        c->setSeries(2, constant(5, 1.0));
        c->show(); // a marker reports itself visible only inside a shown legend
        auto listed = [&](int i) {
            const auto markers = c->chart()->legend()->markers(c->series(i));
            return !markers.isEmpty() && markers.first()->isVisible();
        };
        QVERIFY(listed(0));
        QVERIFY(!listed(1)); // no points: not in the legend
        QVERIFY(listed(2));
        const QList<QAbstractSeries*> order = c->chart()->series();
        QVERIFY(order.indexOf(c->series(2)) < order.indexOf(c->series(0)));
        QVERIFY(c->series(2)->pen().style() == Qt::DashLine);
        NtkView ntk;
        QCOMPARE(ntk.spectrumChart()->chart()->legend()->markerShape(),
                 QLegend::MarkerShapeFromSeries);
    }

    // The kernel heatmap is coloured relative to the diagonal on a fixed scale (a near rank-one
    // kernel is one colour, not the whole map), its raw range is in the title, and it is square.
    void ntkKernelScaleIsHonest() {
        NtkView view;
        QSignalSpy shown(&view, &NtkView::resultShown);
        view.setInputs(8);
        view.setSpec(smallSpec());
        view.resize(900, 700);
        view.show();
        QVERIFY(shown.wait(kTimeoutMs));
        const GridImage& g = view.kernelMap()->grid();
        QVERIFY(!g.isNull());
        QCOMPARE(g.vMax, 1.0);
        QVERIFY(g.vMin == 0.0 || g.vMin == -1.0);
        QVERIFY(g.squareCells);
        const QRect plot = view.kernelMap()->plotRect();
        QCOMPARE(plot.width(), plot.height());
        for (double v : g.values)
            QVERIFY(v <= 1.0 + 1e-12 && v >= -1.0 - 1e-12); // a cosine
        const Eigen::MatrixXd& theta = view.result().empirical.theta;
        const QString title = view.kernelMap()->title();
        QVERIFY2(title.contains(QString::number(theta.minCoeff(), 'g', 4).left(4)),
                 qPrintable(title));
        QVERIFY2(title.contains(QStringLiteral(" to ")), qPrintable(title));
    }

    // The phase map's chi1 colours reach the grid's extremes (nothing clipped to 1/2..2), and
    // its legend is drawn below the plot, not over the data.
    void phaseMapRangeAndLegend() {
        PhaseView view;
        QSignalSpy done(&view, &PhaseView::diagramComplete);
        NetworkSpec s = smallSpec();
        s.activation = ActivationKind::Relu; // chi1 = sigma_w^2 / 2: 0.05 .. 2 on the grid
        view.setSpec(s);
        view.resize(900, 650);
        view.show();
        QVERIFY(done.wait(kTimeoutMs));
        const auto [lo, hi] = view.chiColourRange();
        QVERIFY2(lo <= std::log10(0.1 / 2) + 1e-9, qPrintable(QString::number(lo)));
        QVERIFY2(hi >= std::log10(4.0 / 2) - 1e-9, qPrintable(QString::number(hi)));
        const QRect legend = view.heatmap()->legendRect();
        QVERIFY(!legend.isEmpty());
        QVERIFY(!legend.intersects(view.heatmap()->plotRect()));
    }

    // A sweep over a log axis samples evenly in log(value): 1..2000 over depth gives 1, 2, 5,
    // ... (rounded, repeats dropped), not 1, 183, 365; the view passes the log spacing on.
    void sweepSamplesOnTheAxisScale() {
        SweepAxis a{"depth", 1, 2000, 12};
        a.logSpaced = true;
        a.integer = true;
        const std::vector<double> v = a.values();
        QCOMPARE(v.front(), 1.0);
        QCOMPARE(v.back(), 2000.0);
        for (std::size_t i = 2; i < v.size(); ++i) // ratios about (2000)^(1/11) = 2
            QVERIFY2(v[i] / v[i - 1] < 3.0, qPrintable(QString::number(v[i])));
        SweepView view;
        QSignalSpy finished(&view, &SweepView::sweepFinished);
        QVERIFY(view.configure(QStringLiteral("last_q"), QStringLiteral("width"), 8, 128, 5));
        NetworkSpec s = smallSpec();
        view.setSpec(s);
        view.start();
        QVERIFY(finished.wait(kTimeoutMs));
        std::vector<double> xs;
        for (const QPointF& p : view.points())
            xs.push_back(p.x());
        QCOMPARE(xs, (std::vector<double>{8, 16, 32, 64, 128}));
    }

    // Every view exports in every format at the requested size, from the CLI's path (a fresh
    // view computed for the export) in the lecture style: PNG pixels = size x scale, SVG view
    // box = size, PDF a page, CSV a header of snake_case keys.
    void everyViewEveryFormatAtTheRequestedSize() {
        QTemporaryDir dir;
        Preset p;
        p.name = "small";
        p.spec = smallSpec();
        // ReLU: its mean-field maps have closed forms, so the phase diagram computed for each of
        // the four files takes milliseconds (tanh's takes seconds on a loaded machine)
        p.spec.activation = ActivationKind::Relu;
        p.spec.init = InitScheme::HeNormal;
        // the training view trains the preset's train block: a few steps onto a teacher, which
        // the spec's Gaussian inputs can
        p.train = TrainSpec{};
        p.train->task = TrainTask::Teacher;
        p.train->steps = 20;
        FigureOptions o;
        o.size = QSize(400, 300);
        o.scale = 2;
        for (const QString& view : figureNames() + analysisFigureNames()) {
            // a trainability map trains networks for minutes: its exports are checked on a tiny
            // grid in test_trainability_view
            if (view == QLatin1String("trainability"))
                continue;
            // MAML meta-learns for seconds with its default settings: test_viewregistry exports
            // it through this path with a preset's quick settings
            if (view == QLatin1String("maml"))
                continue;
            for (const char* suffix : {"png", "svg", "pdf", "csv"}) {
                const QString path = dir.filePath(view + QLatin1Char('.') + suffix);
                QString error;
                QVERIFY2(exportPresetFigure(p, view, path, o, &error),
                         qPrintable(view + QStringLiteral(": ") + error));
            }
            const QImage png(dir.filePath(view + QStringLiteral(".png")));
            QVERIFY2(
                png.size() == QSize(800, 600),
                qPrintable(view + QStringLiteral(": %1 x %2").arg(png.width()).arg(png.height())));
            QCOMPARE(png.pixelColor(1, 1), QColor(Qt::white)); // paper, no grey margin
            QSvgRenderer svg(dir.filePath(view + QStringLiteral(".svg")));
            QVERIFY(svg.isValid());
            QCOMPARE(svg.viewBoxF(), QRectF(0, 0, 400, 300));
            QFile pdf(dir.filePath(view + QStringLiteral(".pdf")));
            QVERIFY(pdf.open(QIODevice::ReadOnly));
            QVERIFY(pdf.readAll().startsWith("%PDF"));
            const QString header = firstLine(dir.filePath(view + QStringLiteral(".csv")));
            QVERIFY2(!header.isEmpty(), qPrintable(view));
            for (QChar ch : header) // snake_case ASCII keys only
                QVERIFY2(ch.isLower() || ch.isDigit() || ch == QLatin1Char('_') ||
                             ch == QLatin1Char(','),
                         qPrintable(view + QStringLiteral(": ") + header));
        }
        QCOMPARE(firstLine(dir.filePath(QStringLiteral("signal.csv"))),
                 QStringLiteral("layer,q,q_predicted"));
        QCOMPARE(firstLine(dir.filePath(QStringLiteral("distribution.csv"))),
                 QStringLiteral("layer,h,share"));
        QCOMPARE(firstLine(dir.filePath(QStringLiteral("ntk.csv"))),
                 QStringLiteral("panel,series,x,y,value"));
    }

    // The window's exports (the dialog's request, `initscope --export`) and the CLI write the
    // same CSV header for a chart; an analysis view exports from the window at the requested
    // size in the lecture style (the copy of what the tab shows).
    void windowAndCliAgree() {
        QTemporaryDir dir;
        MainWindow w;
        const NetworkSpec spec = smallSpec();
        w.setSpec(spec);
        w.show();
        QVERIFY(waitForSettled(w));
        QVERIFY(w.showView(QStringLiteral("signal")));
        const QString plain = dir.filePath(QStringLiteral("window.csv"));
        QVERIFY(w.exportView(plain));
        ExportRequest req;
        req.view = QStringLiteral("signal");
        req.path = dir.filePath(QStringLiteral("dialog.csv"));
        QVERIFY(w.exportFigures(req));
        Preset p;
        p.spec = spec;
        const QString cli = dir.filePath(QStringLiteral("cli.csv"));
        QString error;
        QVERIFY2(exportPresetFigure(p, QStringLiteral("signal"), cli, FigureOptions{}, &error),
                 qPrintable(error));
        QCOMPARE(firstLine(plain), QStringLiteral("layer,q,q_predicted"));
        QCOMPARE(firstLine(req.path), firstLine(plain));
        QCOMPARE(firstLine(cli), firstLine(plain));

        QSignalSpy shown(w.findChild<NtkView*>(QStringLiteral("ntk")), &NtkView::resultShown);
        QVERIFY(w.showView(QStringLiteral("ntk")));
        QVERIFY(shown.wait(kTimeoutMs));
        req.view = QStringLiteral("ntk");
        req.options.size = QSize(640, 480);
        req.options.scale = 1;
        req.path = dir.filePath(QStringLiteral("ntk.png"));
        QVERIFY2(w.exportFigures(req, &error), qPrintable(error));
        const QImage png(req.path);
        QCOMPARE(png.size(), QSize(640, 480));
        QCOMPARE(png.pixelColor(1, 1), QColor(Qt::white));
        req.path = dir.filePath(QStringLiteral("ntk.csv"));
        QVERIFY2(w.exportFigures(req, &error), qPrintable(error));
        QCOMPARE(firstLine(req.path), QStringLiteral("panel,series,x,y,value"));
    }

    // At 400 x 300 in the lecture style a long title is broken into lines that each fit the
    // chart (Qt Charts would cut a line that does not with an ellipsis).
    void lectureTitlesWrapNotCut() {
        std::unique_ptr<LayerChart> c(makeGradientChart());
        c->setDepth(5);
        c->setSeries(0, constant(5, 1.0));
        c->setTitleSuffix(QStringLiteral("per-layer ratio 0.9876 measured, 0.9912 predicted"));
        applyLectureStyle(c.get());
        c->resize(400, 300);
        c->chart()->resize(400, 300);
        charts::fitTitle(c->chart());
        const QString title = c->chart()->title();
        QVERIFY(title.contains(QStringLiteral("<br>")));
        const qreal avail = c->chart()->size().width() - c->chart()->margins().left() -
                            c->chart()->margins().right();
        for (const QString& line : title.split(QStringLiteral("<br>"))) {
            QTextDocument doc;
            doc.setDefaultFont(c->chart()->titleFont());
            doc.setHtml(QStringLiteral("<b>") + line + QStringLiteral("</b>"));
            QVERIFY2(doc.size().width() <= avail, qPrintable(line));
        }
    }
};

INITSCOPE_GUI_TEST_MAIN(TestCharts)
#include "test_charts.moc"

// Heatmap rendering: colour map, what each cell of the distribution and activation maps means,
// non-finite layers never drawn as values.
#include "charts/colormap.h"
#include "charts/gridheatmap.h"
#include "charts/heatmap.h"
#include "charts/heatmapwidget.h"
#include "guitestmain.h"

#include <QSet>

#include <cmath>
#include <limits>

using namespace initscope;
using namespace initscope::ui;

namespace {
/// Colours equal up to the map's table quantisation (1024 levels: at most 1 per channel step).
bool near(QRgb a, QRgb b) {
    return std::abs(qRed(a) - qRed(b)) <= 2 && std::abs(qGreen(a) - qGreen(b)) <= 2 &&
           std::abs(qBlue(a) - qBlue(b)) <= 2;
}

LayerStats layer(int index, std::vector<std::uint64_t> counts, std::vector<float> sample) {
    LayerStats s;
    s.index = index;
    s.q = 1.0;
    s.histogram.lo = -4;
    s.histogram.hi = 4;
    s.histogram.counts = std::move(counts);
    s.sample = std::move(sample);
    return s;
}
} // namespace

class TestHeatmap : public QObject {
    Q_OBJECT
private slots:
    // The map's end points are viridis' published end colours; it is monotone in luma (a
    // perceptual ordering: dark = low, bright = high), and out-of-range or NaN input clamps
    // instead of wrapping. Tolerance 1 luma level: rounding of the interpolated channels.
    void colormapEnds() {
        QCOMPARE(viridis(0.0), qRgb(68, 1, 84));
        QCOMPARE(viridis(1.0), qRgb(253, 231, 37));
        QCOMPARE(viridis(-3.0), viridis(0.0));
        QCOMPARE(viridis(7.0), viridis(1.0));
        QCOMPARE(viridis(std::numeric_limits<double>::quiet_NaN()), viridis(0.0));
        int last = -1;
        for (int i = 0; i <= 100; ++i) {
            const QRgb c = viridis(i / 100.0);
            const int l = static_cast<int>(0.299 * qRed(c) + 0.587 * qGreen(c) + 0.114 * qBlue(c));
            QVERIFY2(l >= last - 1, qPrintable(QString("lightness drops at %1").arg(i)));
            last = l;
        }
    }

    // Distribution: column = layer, bin 0 (most negative h) at the bottom; a bin holding every
    // value is the top colour, an empty bin the bottom colour.
    void distributionCells() {
        HeatmapAccumulator acc(3);
        acc.add(layer(1, {0, 10, 0, 0}, {}));
        acc.add(layer(2, {0, 0, 0, 10}, {}));
        const HeatmapImage h = acc.renderDistribution();
        QCOMPARE(h.image.width(), 3);
        QCOMPARE(h.image.height(), 4);
        QCOMPARE(h.layersDone, 2);
        QCOMPARE(h.image.pixel(0, 2), viridis(1.0)); // layer 1, bin 1
        QCOMPARE(h.image.pixel(0, 0), viridis(0.0));
        QCOMPARE(h.image.pixel(1, 0), viridis(1.0)); // layer 2, top bin
        QCOMPARE(qAlpha(h.image.pixel(2, 0)), 0);    // layer 3 not computed yet: transparent
        QCOMPARE(h.yMin, -4.0);
        QCOMPARE(h.yMax, 4.0);
    }

    // A non-finite layer is grey in both maps and named; it never takes a colour of the map.
    void nonfiniteLayersAreMarked() {
        HeatmapAccumulator acc(2);
        acc.add(layer(1, {5, 5}, {0.5f, -0.5f}));
        LayerStats bad = layer(2, {0, 0}, {std::numeric_limits<float>::quiet_NaN(), 1e30f});
        bad.nonfinite = 7;
        bad.q = std::numeric_limits<double>::quiet_NaN();
        acc.add(bad);
        const HeatmapImage d = acc.renderDistribution();
        const HeatmapImage a = acc.renderActivations();
        QCOMPARE(d.firstNonfinite, 2);
        QCOMPARE(d.image.pixel(1, 0), nonfiniteColor());
        QCOMPARE(a.image.pixel(1, 0), nonfiniteColor());
        QCOMPARE(a.image.pixel(1, 1), nonfiniteColor());
        // the colour range comes from the finite layer only
        QCOMPARE(a.vMin, -0.5);
        QCOMPARE(a.vMax, 0.5);
        HeatmapWidget w(QStringLiteral("t"));
        w.setHeatmap(d);
        QCOMPARE(w.nonfiniteNote(), QStringLiteral("non-finite from layer 2"));
    }

    // Symmetry: identical units give one colour per column, and a constant map still gets a
    // non-degenerate colour range.
    void constantActivationsStillReadable() {
        HeatmapAccumulator acc(1);
        acc.add(layer(1, {1}, std::vector<float>(16, 0.25f)));
        const HeatmapImage a = acc.renderActivations();
        QVERIFY(a.vMax > a.vMin);
        QSet<QRgb> colours;
        for (int y = 0; y < a.image.height(); ++y)
            colours.insert(a.image.pixel(0, y));
        QCOMPARE(colours.size(), 1);
    }

    // Per-layer scaling: a vanished layer's structure spans the whole map (its largest |a| at an
    // end), while the absolute map squeezes it into the middle of the range.
    void perLayerScaling() {
        HeatmapAccumulator acc(2);
        acc.add(layer(1, {1}, {1.0f, -1.0f}));
        acc.add(layer(2, {1}, {0.001f, -0.002f}));
        const HeatmapImage n = acc.renderActivations(true);
        QCOMPARE(n.vMin, -1.0);
        QCOMPARE(n.vMax, 1.0);
        QCOMPARE(n.image.pixel(1, 0), viridis(0.0));       // unit 1 (top row): -0.002 = -max
        QVERIFY(near(n.image.pixel(1, 1), viridis(0.75))); // unit 0: +0.001 = max / 2
        const HeatmapImage a = acc.renderActivations(false);
        QVERIFY(std::abs(qRed(a.image.pixel(1, 0)) - qRed(viridis(0.5))) <= 2);
    }

    // Wide layers are subsampled to at most kMaxRows rows; the y axis still spans every unit.
    void wideLayersSubsampled() {
        HeatmapAccumulator acc(1);
        acc.add(layer(1, {1}, std::vector<float>(4096, 1.0f)));
        const HeatmapImage a = acc.renderActivations();
        QVERIFY(a.image.height() <= HeatmapAccumulator::kMaxRows);
        QCOMPARE(a.yMax, 4096.0);
    }

    void niceTicksCoverRange() {
        const auto t = niceTicks(1, 50, 6);
        QVERIFY(!t.empty());
        QVERIFY(t.front() >= 1 && t.back() <= 50);
        QCOMPARE(t[1] - t[0], 10.0);
        QVERIFY(niceTicks(2, 1, 5).empty());
        // a narrow plot (2 ticks) over cell edges half a cell beyond [0, 1]: step 2 would leave
        // the lone tick 0; the axis gets 0 and 1
        const auto edges = niceTicks(-1.0 / 62, 1 + 1.0 / 62, 2);
        QCOMPARE(edges.size(), std::size_t(2));
        QCOMPARE(edges[0], 0.0);
        QCOMPARE(edges[1], 1.0);
    }

    // An index axis (layers 1..3, cell edges 0.5..3.5) is labelled 1, 2, 3, not 0.5, 1, 1.5;
    // a log colour bar over a narrow range (q from 2.7 to 2.85, no 1-2-5 value inside) still
    // gets labels inside it (it had none), and a wide one keeps its 1-2-5 decades.
    void indexAxesAndNarrowLogBars() {
        QCOMPARE(axisTicks(0.5, 3.5, 8, true), (std::vector<double>{1, 2, 3}));
        // steps of 0.2 and 0.1 add up to 1.0000000000000002: still whole numbers
        QCOMPARE(axisTicks(0.5, 2.5, 12, true), (std::vector<double>{1, 2}));
        QCOMPARE(axisTicks(0.5, 1.5, 12, true), (std::vector<double>{1}));
        QCOMPARE(axisTicks(-0.5, 31.5, 8, true).front(), 0.0);
        QCOMPARE(axisTicks(0.5, 3.5, 8, false).size(), std::size_t(7));
        const auto narrow = logColorTicks(std::log10(2.7), std::log10(2.85), 10, 5);
        QVERIFY(narrow.size() >= 2);
        for (double t : narrow)
            QVERIFY(t >= std::log10(2.7) - 1e-12 && t <= std::log10(2.85) + 1e-12);
        const auto wide = logColorTicks(-2, 1, 10, 5);               // 0.01 .. 10
        QCOMPARE(wide.size(), std::size_t(10));                      // 0.01, 0.02, 0.05, ..., 5, 10
        QCOMPARE(logColorTicks(-2, 1, 5, 5).size(), std::size_t(4)); // crowded: decades
        QCOMPARE(logColorTicks(0, 0, 5, 5), (std::vector<double>{0})); // every value 1
    }
};

INITSCOPE_GUI_TEST_MAIN(TestHeatmap)
#include "test_heatmap.moc"

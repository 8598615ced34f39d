#include "charts/heatmap.h"

#include "charts/colormap.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace initscope::ui {

namespace {
/// viridis() sampled at 1024 levels: heatmaps of millions of cells colour each from this table.
QRgb mapColor(double t) {
    static const std::vector<QRgb> table = [] {
        std::vector<QRgb> v(1024);
        for (std::size_t i = 0; i < v.size(); ++i)
            v[i] = viridis(static_cast<double>(i) / static_cast<double>(v.size() - 1));
        return v;
    }();
    if (!(t > 0))
        return table.front();
    if (t >= 1)
        return table.back();
    return table[static_cast<std::size_t>(t * static_cast<double>(table.size() - 1) + 0.5)];
}

/// Direct pixel access (QImage::setPixel checks bounds and format on every call).
struct Pixels {
    explicit Pixels(QImage& img)
        : bits(reinterpret_cast<QRgb*>(img.bits())), stride(img.bytesPerLine() / 4) {}
    void set(int x, int y, QRgb c) { bits[static_cast<std::ptrdiff_t>(y) * stride + x] = c; }
    QRgb* bits;
    std::ptrdiff_t stride;
};
} // namespace

HeatmapAccumulator::HeatmapAccumulator(int depth) : depth_(depth) {}

void HeatmapAccumulator::add(const LayerStats& s) {
    Column c;
    c.index = s.index;
    c.finite = s.nonfinite == 0 && std::isfinite(s.q);
    if (!c.finite && firstNonfinite_ == 0)
        firstNonfinite_ = s.index;
    c.lo = s.histogram.lo;
    c.hi = s.histogram.hi;
    std::uint64_t total = 0;
    for (auto n : s.histogram.counts)
        total += n;
    c.share.reserve(s.histogram.counts.size());
    for (auto n : s.histogram.counts)
        c.share.push_back(total > 0 ? static_cast<double>(n) / static_cast<double>(total) : 0.0);
    c.sample = s.sample;
    columns_.push_back(std::move(c));
    depth_ = std::max(depth_, s.index);
}

HeatmapImage HeatmapAccumulator::renderDistribution() const {
    HeatmapImage out;
    out.depth = depth_;
    out.layersDone = layers();
    out.firstNonfinite = firstNonfinite_;
    out.logColor = true;
    out.vMin = std::log10(kMinShare);
    out.vMax = 0.0;
    out.yLabel = QStringLiteral("pre-activation h");
    // the colour bar is logarithmic; the values (and the CSV) are plain shares in [0, 1]
    out.colorLabel = QStringLiteral("share of layer's values per bin (log scale)");
    out.yKey = QStringLiteral("h");
    out.valueKey = QStringLiteral("share");
    int bins = 0;
    for (const auto& c : columns_) {
        bins = std::max(bins, static_cast<int>(c.share.size()));
        if (c.finite && c.hi > c.lo) {
            out.yMin = c.lo;
            out.yMax = c.hi;
        }
    }
    if (depth_ <= 0 || bins <= 0)
        return out;
    QImage img(depth_, bins, QImage::Format_ARGB32);
    img.fill(Qt::transparent);
    Pixels px(img);
    out.values.assign(static_cast<std::size_t>(depth_) * static_cast<std::size_t>(bins),
                      std::numeric_limits<float>::quiet_NaN());
    out.rowY.resize(static_cast<std::size_t>(bins));
    for (int b = 0; b < bins; ++b)
        out.rowY[static_cast<std::size_t>(bins - 1 - b)] =
            out.yMin + (b + 0.5) * (out.yMax - out.yMin) / bins;
    const double span = out.vMax - out.vMin;
    for (const auto& c : columns_) {
        const int x = c.index - 1;
        if (x < 0 || x >= depth_)
            continue;
        const int n = static_cast<int>(c.share.size());
        for (int b = 0; b < bins; ++b) {
            const int y = bins - 1 - b; // bin 0 (most negative) at the bottom
            if (!c.finite || b >= n) {
                px.set(x, y, c.finite ? qRgba(0, 0, 0, 0) : nonfiniteColor());
                continue;
            }
            const double share = c.share[static_cast<std::size_t>(b)];
            out.values[static_cast<std::size_t>(y) * static_cast<std::size_t>(depth_) +
                       static_cast<std::size_t>(x)] = static_cast<float>(share);
            const double t =
                share > 0 ? (std::log10(std::max(share, kMinShare)) - out.vMin) / span : 0.0;
            // An empty bin is the bottom of the log scale (share 0 is below every decade).
            px.set(x, y, share > 0 ? mapColor(t) : viridis(0));
        }
    }
    out.image = std::move(img);
    return out;
}

HeatmapImage HeatmapAccumulator::renderActivations(bool perLayer) const {
    HeatmapImage out;
    out.depth = depth_;
    out.layersDone = layers();
    out.firstNonfinite = firstNonfinite_;
    out.logColor = false;
    out.yLabel = QStringLiteral("unit index (input 0)");
    out.colorLabel = perLayer ? QStringLiteral("a / max|a| of its layer")
                              : QStringLiteral("activation a = phi(h)");
    out.yKey = QStringLiteral("unit");
    out.valueKey =
        perLayer ? QStringLiteral("activation_over_layer_max") : QStringLiteral("activation");
    int units = 0;
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (const auto& c : columns_) {
        units = std::max(units, static_cast<int>(c.sample.size()));
        if (!c.finite)
            continue;
        for (float v : c.sample) {
            if (std::isfinite(v)) {
                lo = std::min(lo, static_cast<double>(v));
                hi = std::max(hi, static_cast<double>(v));
            }
        }
    }
    if (depth_ <= 0 || units <= 0)
        return out;
    if (perLayer) {
        lo = -1;
        hi = 1;
    } else if (!(hi >= lo)) {
        lo = -1;
        hi = 1;
    } else if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
        // A constant map (symmetry: every unit identical) still needs a readable bar.
        const double pad = std::max(1e-6, 0.5 * std::abs(hi));
        lo -= pad;
        hi += pad;
    }
    out.vMin = lo;
    out.vMax = hi;
    out.yMin = 0;
    out.yMax = units;
    const int stride = (units + kMaxRows - 1) / kMaxRows;
    const int rows = (units + stride - 1) / stride;
    QImage img(depth_, rows, QImage::Format_ARGB32);
    img.fill(Qt::transparent);
    Pixels px(img);
    out.values.assign(static_cast<std::size_t>(depth_) * static_cast<std::size_t>(rows),
                      std::numeric_limits<float>::quiet_NaN());
    out.rowY.resize(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r)
        out.rowY[static_cast<std::size_t>(rows - 1 - r)] = r * stride;
    for (const auto& c : columns_) {
        const int x = c.index - 1;
        if (x < 0 || x >= depth_)
            continue;
        const int n = static_cast<int>(c.sample.size());
        double scale = 1.0;
        if (perLayer) {
            double m = 0;
            for (float v : c.sample)
                if (std::isfinite(v))
                    m = std::max(m, std::abs(static_cast<double>(v)));
            scale = m > 0 ? 1.0 / m : 1.0;
        }
        for (int r = 0; r < rows; ++r) {
            const int unit = r * stride;
            const int y = rows - 1 - r; // unit 0 at the bottom
            if (unit >= n)
                continue;
            const float v = c.sample[static_cast<std::size_t>(unit)];
            if (!c.finite || !std::isfinite(v)) {
                px.set(x, y, nonfiniteColor());
                continue;
            }
            out.values[static_cast<std::size_t>(y) * static_cast<std::size_t>(depth_) +
                       static_cast<std::size_t>(x)] = static_cast<float>(v * scale);
            px.set(x, y, mapColor((static_cast<double>(v) * scale - lo) / (hi - lo)));
        }
    }
    out.image = std::move(img);
    return out;
}

} // namespace initscope::ui

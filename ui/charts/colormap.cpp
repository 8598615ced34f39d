#include "charts/colormap.h"

#include <array>
#include <cmath>

namespace initscope::ui {

namespace {
struct Rgb {
    int r, g, b;
};
// viridis at t = 0, 0.1, ..., 1.0
constexpr std::array<Rgb, 11> kViridis{{{68, 1, 84},
                                        {72, 36, 117},
                                        {65, 68, 135},
                                        {53, 95, 141},
                                        {42, 120, 142},
                                        {33, 145, 140},
                                        {34, 168, 132},
                                        {68, 191, 112},
                                        {122, 209, 81},
                                        {189, 223, 38},
                                        {253, 231, 37}}};
} // namespace

QRgb viridis(double t) {
    if (!(t > 0.0)) // also catches NaN
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    const double pos = t * static_cast<double>(kViridis.size() - 1);
    const auto i = static_cast<std::size_t>(std::floor(pos));
    if (i >= kViridis.size() - 1)
        return qRgb(kViridis.back().r, kViridis.back().g, kViridis.back().b);
    const double f = pos - static_cast<double>(i);
    const Rgb& a = kViridis[i];
    const Rgb& b = kViridis[i + 1];
    auto mix = [f](int x, int y) {
        return static_cast<int>(std::lround(x + f * static_cast<double>(y - x)));
    };
    return qRgb(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b));
}

QRgb nonfiniteColor() {
    return qRgb(150, 150, 150);
}

} // namespace initscope::ui

// Perceptually uniform colour map for heatmaps and colour bars.
#pragma once

#include <QRgb>

namespace initscope::ui {

/// Viridis-like colour at t in [0, 1] (clamped): piecewise-linear interpolation in sRGB between
/// eleven published control points of matplotlib's viridis (van der Walt & Smith 2015).
QRgb viridis(double t);

/// Colour used for cells with no finite value (non-finite layers): a neutral grey that is not on
/// the colour map, so it can never be read as a value.
QRgb nonfiniteColor();

} // namespace initscope::ui

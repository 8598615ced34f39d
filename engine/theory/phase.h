// The phase diagram of a random network (Poole et al. 2016, Schoenholz et al. 2017): chi1 and the
// correlation depth scale xi_c over a (sigma_w^2, sigma_b^2) grid, and the critical line
// chi1 = 1, all from meanfield.h (so they agree with `initscope-cli theory` and `critical`).
#pragma once

#include "core/activation.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace initscope {

struct GridAxis {
    double from = 0, to = 0;
    int steps = 1; // points, both ends included (steps = 1: just `from`)
    std::vector<double> values() const;
};

inline constexpr int kMaxPhaseSteps = 1000;
inline constexpr long kMaxPhaseCells = 250000;

/// Parses "FROM:TO:STEPS" for the option `option` (named in the error): numbers from 0 to 1e6,
/// FROM <= TO, STEPS an integer from 1 to kMaxPhaseSteps.
std::optional<GridAxis> parseGridAxis(const std::string& option, const std::string& text,
                                      std::string& error);

/// One row of the diagram: a fixed sigma_b^2, every sigma_w^2.
struct PhaseRow {
    int index = 0; // row i = index into sigmaB2
    double sigmaB2 = 0;
    std::vector<double> chi1;   // [j] at sigmaW2[j]
    std::vector<double> xiC;    // +inf at criticality, 0 where chi_c = 0
    double criticalSigmaW2 = 0; // meanfield::criticalSigmaW2; NaN where none exists
};

struct PhaseDiagram {
    Activation activation;
    std::vector<double> sigmaW2, sigmaB2; // columns, rows
    std::vector<PhaseRow> rows;           // rows[i] for sigmaB2[i]
    bool cancelled = false;
    double seconds = 0;
};

/// Computes every row in parallel (TBB, `threads` workers, 0 = all cores); values do not depend
/// on the thread count or order. `onRow` (may be empty) sees each row as soon as it is done, in no
/// fixed order, on a worker thread, never two calls at once. `cancel` is checked between cells;
/// a cancelled diagram has the rows done so far (the others are empty or incomplete).
PhaseDiagram computePhaseDiagram(const Activation& act, const GridAxis& sigmaW2,
                                 const GridAxis& sigmaB2,
                                 const std::function<void(const PhaseRow&)>& onRow = {},
                                 const std::atomic<bool>* cancel = nullptr, int threads = 0);

} // namespace initscope

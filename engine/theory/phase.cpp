#include "theory/phase.h"

#include "core/parallel.h"
#include "theory/meanfield.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

namespace initscope {

std::vector<double> GridAxis::values() const {
    std::vector<double> v(static_cast<std::size_t>(steps));
    for (int i = 0; i < steps; ++i)
        v[static_cast<std::size_t>(i)] =
            steps == 1 ? from : from + (to - from) * static_cast<double>(i) / (steps - 1);
    return v;
}

std::optional<GridAxis> parseGridAxis(const std::string& option, const std::string& text,
                                      std::string& error) {
    const std::string form = "--" + option + ": expected FROM:TO:STEPS, e.g. 0.5:4:36";
    const auto c1 = text.find(':');
    const auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
    if (c2 == std::string::npos) {
        error = form + " (got '" + text + "')";
        return std::nullopt;
    }
    auto num = [](const std::string& s, double& v) {
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() &&
               std::isfinite(v);
    };
    GridAxis ax;
    double steps = 0;
    if (!num(text.substr(0, c1), ax.from) || !num(text.substr(c1 + 1, c2 - c1 - 1), ax.to) ||
        !num(text.substr(c2 + 1), steps)) {
        error = form + " (got '" + text + "')";
        return std::nullopt;
    }
    if (ax.from < 0 || ax.to > 1e6 || ax.from > ax.to) {
        error = "--" + option + ": FROM and TO must be from 0 to 1e6 with FROM <= TO (got '" +
                text + "')";
        return std::nullopt;
    }
    if (steps != std::floor(steps) || steps < 1 || steps > kMaxPhaseSteps) {
        error = "--" + option + ": STEPS must be an integer from 1 to " +
                std::to_string(kMaxPhaseSteps) + " (got '" + text + "')";
        return std::nullopt;
    }
    ax.steps = static_cast<int>(steps);
    return ax;
}

PhaseDiagram computePhaseDiagram(const Activation& act, const GridAxis& sigmaW2,
                                 const GridAxis& sigmaB2,
                                 const std::function<void(const PhaseRow&)>& onRow,
                                 const std::atomic<bool>* cancel, int threads) {
    const auto t0 = std::chrono::steady_clock::now();
    PhaseDiagram pd;
    pd.activation = act;
    pd.sigmaW2 = sigmaW2.values();
    pd.sigmaB2 = sigmaB2.values();
    pd.rows.resize(pd.sigmaB2.size());
    std::mutex callbackMutex;
    detail::inArena(threads, [&] {
        detail::forEachIndex(static_cast<int>(pd.sigmaB2.size()), [&](int i) {
            if (detail::isCancelled(cancel))
                return;
            PhaseRow& row = pd.rows[static_cast<std::size_t>(i)];
            row.index = i;
            row.sigmaB2 = pd.sigmaB2[static_cast<std::size_t>(i)];
            row.chi1.reserve(pd.sigmaW2.size());
            row.xiC.reserve(pd.sigmaW2.size());
            for (const double sw2 : pd.sigmaW2) {
                if (detail::isCancelled(cancel)) // a row of 1000 cells is about a second
                    return;
                // only chi1 and xi_c are drawn: no input correlation (c* is not needed)
                const meanfield::FixedPoint fp = meanfield::fixedPoint(
                    act, sw2, row.sigmaB2, 1.0, std::numeric_limits<double>::quiet_NaN());
                row.chi1.push_back(fp.chi1);
                row.xiC.push_back(fp.xiC);
            }
            row.criticalSigmaW2 = meanfield::criticalSigmaW2(act, row.sigmaB2);
            if (onRow) {
                std::lock_guard lock(callbackMutex);
                onRow(row);
            }
        });
    });
    pd.cancelled = detail::isCancelled(cancel);
    pd.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return pd;
}

} // namespace initscope

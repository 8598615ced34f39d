#include "analysis/ensemble.h"

#include "core/parallel.h"
#include "stats/statschema.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace initscope {

namespace {

std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names)
        s += (s.empty() ? "" : ", ") + n;
    return s;
}

/// Type-7 quantile of sorted values.
double quantile(const std::vector<double>& sorted, double p) {
    const double h = (static_cast<double>(sorted.size()) - 1) * p;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (h - std::floor(h)) * (sorted[hi] - sorted[lo]);
}

} // namespace

const std::vector<std::string>& layerStatisticNames() {
    static const std::vector<std::string> names = layerStatisticKeys(StatKind::Real);
    return names;
}

double layerStatistic(const LayerStats& s, std::string_view name) {
    const LayerStatistic* row = findLayerStatistic(name);
    if (!row || row->kind != StatKind::Real)
        throw std::invalid_argument("unknown layer statistic '" + std::string(name) + "' (one of " +
                                    joined(layerStatisticNames()) + ")");
    return row->value(s);
}

namespace {
/// Bytes of the standard draws of one seed (weights and biases, float), what the cache keeps.
std::uint64_t drawBytes(const NetworkSpec& spec) {
    std::uint64_t b = 0;
    for (int l = 1; l <= spec.depth; ++l)
        b += static_cast<std::uint64_t>(spec.widthOf(l)) *
             (static_cast<std::uint64_t>(spec.widthOf(l - 1)) + 1) * sizeof(float);
    return b;
}

std::string gib(std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
    return buf;
}
} // namespace

EnsemblePlan planEnsemble(const NetworkSpec& spec, int seeds) {
    const auto budget = static_cast<std::uint64_t>(spec.memoryBudgetGiB * 1024.0 * 1024.0 * 1024.0);
    EnsemblePlan plan;
    plan.bytesPerRun = estimateMemoryBytes(spec);
    const int most = std::max(1, std::min(seeds, detail::workerCount(spec.threads)));
    auto whole = [&](int k) {
        EnsemblePlan p = plan;
        p.concurrent = k;
        // draws of seeds not running now that the cache may still hold (a running seed's draws
        // are inside its own estimate)
        p.cachedBytes = std::min<std::uint64_t>(Engine::kMaxCacheBytes,
                                                static_cast<std::uint64_t>(std::max(0, seeds - k)) *
                                                    drawBytes(spec));
        p.totalBytes = static_cast<std::uint64_t>(k) * p.bytesPerRun + p.cachedBytes;
        return p;
    };
    for (int k = most; k >= 1; --k)
        if (const EnsemblePlan p = whole(k); p.totalBytes <= budget)
            return p;
    EnsemblePlan refused = whole(1);
    refused.concurrent = 0;
    return refused;
}

std::vector<SpecError> validateEnsemble(const NetworkSpec& spec, int seeds) {
    std::vector<SpecError> errors = validate(spec);
    if (seeds < 1 || seeds > kMaxEnsembleSeeds)
        errors.push_back({"seeds", "seeds: must be an integer from 1 to " +
                                       std::to_string(kMaxEnsembleSeeds) + " (got " +
                                       std::to_string(seeds) + ")"});
    if (!errors.empty())
        return errors;
    if (const EnsemblePlan p = planEnsemble(spec, seeds); p.concurrent == 0)
        errors.push_back(
            {"memory_budget_gib",
             "memory_budget_gib: the ensemble needs about " + gib(p.totalBytes) +
                 " GiB at once (one run of " + gib(p.bytesPerRun) + " GiB and " +
                 gib(p.cachedBytes) +
                 " GiB of cached draws of the other seeds), above the "
                 "memory budget of " +
                 gib(static_cast<std::uint64_t>(spec.memoryBudgetGiB * 1024.0 * 1024.0 * 1024.0)) +
                 " GiB: use fewer seeds, reduce depth, width or batch, or raise "
                 "memory_budget_gib"});
    return errors;
}

EnsembleResult runEnsemble(Engine& engine, const NetworkSpec& spec, int seeds,
                           const std::function<void(const RunResult&, int index)>& onRun,
                           const std::atomic<bool>* cancel) {
    if (std::vector<SpecError> errors = validateEnsemble(spec, seeds); !errors.empty())
        throw SpecInvalid(std::move(errors));
    const EnsemblePlan plan = planEnsemble(spec, seeds);
    const auto t0 = std::chrono::steady_clock::now();
    EnsembleResult e;
    e.spec = spec;
    e.runs.resize(static_cast<std::size_t>(seeds));
    std::mutex callbackMutex;
    // Each run is deterministic whatever its thread count, so running them side by side (each
    // in its own arena inside Engine::run) changes nothing but the wall time. The outer arena's
    // size is the number of runs at once: what the memory plan allows, not one per core.
    detail::inArena(plan.concurrent, [&] {
        detail::forEachIndex(seeds, [&](int i) {
            if (detail::isCancelled(cancel))
                return;
            NetworkSpec s = spec;
            s.seed = spec.seed + static_cast<std::uint64_t>(i);
            RunResult r = engine.run(s, nullptr, cancel);
            if (r.cancelled)
                return;
            e.runs[static_cast<std::size_t>(i)] = std::move(r);
            if (onRun) {
                std::lock_guard lock(callbackMutex);
                onRun(e.runs[static_cast<std::size_t>(i)], i);
            }
        });
    });
    e.cancelled = detail::isCancelled(cancel);
    if (e.cancelled) // keep only the runs that finished (in seed order)
        std::erase_if(e.runs, [](const RunResult& r) { return r.layers.empty(); });
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return e;
}

LayerBand layerBand(const std::vector<RunResult>& runs, std::string_view statistic) {
    LayerBand b;
    b.statistic = std::string(statistic);
    std::size_t depth = 0;
    for (const RunResult& r : runs)
        depth = std::max(depth, r.layers.size());
    for (auto* v : {&b.mean, &b.min, &b.max, &b.q10, &b.q90})
        v->assign(depth, kNaN);
    b.finite.assign(depth, 0);
    std::vector<double> vals;
    for (std::size_t l = 0; l < depth; ++l) {
        vals.clear();
        for (const RunResult& r : runs)
            if (l < r.layers.size()) {
                const double v = layerStatistic(r.layers[l], statistic);
                if (std::isfinite(v))
                    vals.push_back(v);
            }
        b.finite[l] = static_cast<int>(vals.size());
        if (vals.empty())
            continue;
        std::sort(vals.begin(), vals.end());
        double sum = 0;
        for (double v : vals)
            sum += v;
        // the mean of sorted values lies in [min, max] even after rounding
        b.mean[l] = std::clamp(sum / static_cast<double>(vals.size()), vals.front(), vals.back());
        b.min[l] = vals.front();
        b.max[l] = vals.back();
        b.q10[l] = quantile(vals, 0.1);
        b.q90[l] = quantile(vals, 0.9);
    }
    return b;
}

const std::vector<std::string>& scalarStatisticNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const RunScalar& s : runScalars())
            n.emplace_back(s.name);
        return n;
    }();
    return names;
}

double scalarStatistic(const RunResult& r, std::string_view name) {
    const RunScalar* s = findRunScalar(name);
    if (!s)
        throw std::invalid_argument("unknown statistic '" + std::string(name) + "' (one of " +
                                    joined(scalarStatisticNames()) + ")");
    return s->value(r);
}

} // namespace initscope

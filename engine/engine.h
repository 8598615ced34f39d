// Runs a specification on a real random network: forward over the batch, per-layer statistics,
// backward with a random cotangent, mean-field prediction beside it.
#pragma once

#include "spec.h"
#include "stats.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace initscope {

/// Thrown by Engine::run for an invalid specification; what() lists every problem.
class SpecInvalid : public std::runtime_error {
public:
    explicit SpecInvalid(std::vector<SpecError> errors);
    const std::vector<SpecError>& errors() const { return errors_; }

private:
    std::vector<SpecError> errors_;
};

/// The mean-field prediction for a spec, from the measured input length q0 and correlation c0.
TheoryCurves predict(const NetworkSpec& spec, double q0, double c0);

class Engine {
public:
    Engine();
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Runs `spec` on the calling thread, parallel inside (oneTBB, spec.threads workers).
    /// Safe to call from several threads at once. Results stream to `sink` (may be null) as each
    /// layer is done; `cancel` (may be null) is checked between layers and inside them (every
    /// kDrawBlock random draws, every GEMM of 64 inputs), so a run answers it within about the
    /// time of one such GEMM; a cancelled run returns with cancelled = true and without calling
    /// sink->finished().
    /// Throws SpecInvalid when validate(spec) reports problems (nothing is allocated then).
    RunResult run(const NetworkSpec& spec, RunSink* sink = nullptr,
                  const std::atomic<bool>* cancel = nullptr);

    /// The most bytes of standard draws the engine keeps between runs (least recently used ones
    /// go first); a run's own draws count toward it while it runs.
    static constexpr std::uint64_t kMaxCacheBytes = std::uint64_t(1) << 31; // 2 GiB

    /// Drops cached random draws (they are kept so that a change of gain or sigma_b^2 only
    /// rescales the same network instead of drawing it again).
    void clearCache();

private:
    struct Cache;
    RunResult runInArena(const NetworkSpec& spec, RunSink* sink, const std::atomic<bool>* cancel);
    std::unique_ptr<Cache> cache_;
};

} // namespace initscope

// Runs a specification on a real random network: forward over the batch, per-layer statistics,
// backward with a random cotangent, mean-field prediction beside it.
#pragma once

#include "core/stats.h"
#include "network/drawcache.h"
#include "spec/spec.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace initscope {

struct DenseWeights;

/// Thrown by Engine::run for an invalid specification; what() lists every problem.
class SpecInvalid : public std::runtime_error {
public:
    explicit SpecInvalid(std::vector<SpecError> errors);
    const std::vector<SpecError>& errors() const { return errors_; }

private:
    std::vector<SpecError> errors_;
};

/// The mean-field prediction for a spec, from the measured input length q0 and correlation c0.
/// With `layerSigmaW2` (an mlp's given weights, per layer 1..L: their own fan_in Var(W^l)), the
/// curves are at those variances instead of the spec's scheme.
TheoryCurves predict(const NetworkSpec& spec, double q0, double c0,
                     const std::vector<double>* layerSigmaW2 = nullptr);

/// The input scale s_c at which layer 1's relative update eta ||dW^1|| / ||W^1|| reaches 1,
/// from the update measured at the spec's scale s. A positively homogeneous network without
/// biases and with zero-mean inputs (linear, relu, leaky-relu) scales every h^l by s, so
/// dW^1 = delta^1 x^T / B scales as s (random cotangent: delta^1 does not depend on s) or as
/// s^2 for large s (mse: the error a^L - y grows as s): s_c = s / u^(1/k), k = 1 or 2 (exact for
/// the cotangent, the large-s limit for mse). Other activations have no power law in s (tanh
/// saturates): NaN, with the reason in `note`.
double criticalInputScale(const NetworkSpec& spec, double firstLayerRelativeUpdate,
                          std::string& note);

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

    /// run(spec) on the given weights W^l, b^l (l = 1..L; [0] unused) of an mlp instead of the
    /// spec's random draws: the same inputs, loss, statistics and theory (the trainer's probe of
    /// its trained network). Each layer's sigma_w2 stays the initialisation's; relative_update
    /// divides by the given ||W^l||_F. Throws SpecInvalid as run() does, and
    /// std::invalid_argument for another arch or a matrix of the wrong shape.
    RunResult runWithWeights(const NetworkSpec& spec, const DenseWeights& weights,
                             RunSink* sink = nullptr, const std::atomic<bool>* cancel = nullptr);

    /// The most bytes of standard draws kept between runs (DrawCache: one cache for the whole
    /// process, shared by every Engine, Jacobian and NTK).
    static constexpr std::uint64_t kMaxCacheBytes = DrawCache::kMaxBytes;

    /// Drops the process's cached random draws (they are kept so that a change of gain or
    /// sigma_b^2 only rescales the same network instead of drawing it again).
    void clearCache();

private:
    RunResult runInArena(const NetworkSpec& spec, RunSink* sink, const std::atomic<bool>* cancel,
                         const DenseWeights* given);
};

} // namespace initscope

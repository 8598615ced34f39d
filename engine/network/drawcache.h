// One cache of standard random draws shared by every computation of the process (runs, sweeps,
// ensembles, Jacobians, NTKs, in the GUI's workers and the CLI alike). A draw Z depends only on
// its key (seed, stream, index, shape, distribution), never on the gain or the scheme's variance
// (weights.h: W = scale Z), so a change of gain, a view that probes the same network or an
// orthogonal init (whose QR costs far more than the product it feeds) reuse one draw instead of
// drawing it again.
#pragma once

#include "core/rng.h"
#include "network/weights.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

namespace initscope {

struct DrawKey {
    std::uint64_t seed = 0;
    Stream stream = Stream::Weights;
    int index = 0; // layer (weights, biases, readouts); 0 for inputs and cotangents
    int rows = 0;  //
    int cols = 0;  //
    int kind = 0;  // static_cast<int>(DrawKind) for weights; 0 otherwise
    auto tie() const { return std::tie(seed, stream, index, rows, cols, kind); }
    bool operator<(const DrawKey& o) const { return tie() < o.tie(); }
};

struct StandardDraw {
    MatrixF z;
    double z2 = 0; // ||Z||_F^2 in double, for ||W||_F = |scale| ||Z||_F
};

class DrawCache {
public:
    /// The process's cache.
    static DrawCache& shared();

    /// The most bytes of draws kept between computations (least recently used ones go first);
    /// a computation's own draws stay alive through its shared_ptrs while it runs.
    static constexpr std::uint64_t kMaxBytes = std::uint64_t(1) << 31; // 2 GiB

    /// The cached draw of `key`, or null.
    std::shared_ptr<const StandardDraw> find(const DrawKey& key);
    /// The cached draw of `key`, or draw() now (cached unless `cancel` turned true meanwhile: an
    /// interrupted draw is incomplete, and the caller must check the flag before using it).
    std::shared_ptr<const StandardDraw>
    get(const DrawKey& key, const std::function<MatrixF()>& draw, const std::atomic<bool>* cancel);
    void insert(const DrawKey& key, std::shared_ptr<const StandardDraw> draw);
    void clear();
    std::uint64_t bytes() const;

private:
    struct Entry {
        std::shared_ptr<const StandardDraw> draw;
        std::uint64_t lastUse = 0;
    };
    mutable std::mutex mutex_;
    std::map<DrawKey, Entry> entries_;
    std::uint64_t clock_ = 0;
    std::uint64_t bytes_ = 0;
};

} // namespace initscope

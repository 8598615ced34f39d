#include "network/drawcache.h"

namespace initscope {

DrawCache& DrawCache::shared() {
    static DrawCache cache;
    return cache;
}

std::shared_ptr<const StandardDraw> DrawCache::find(const DrawKey& key) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end())
        return nullptr;
    it->second.lastUse = ++clock_;
    return it->second.draw;
}

std::shared_ptr<const StandardDraw> DrawCache::get(const DrawKey& key,
                                                   const std::function<MatrixF()>& draw,
                                                   const std::atomic<bool>* cancel) {
    if (auto d = find(key))
        return d;
    auto fresh = std::make_shared<StandardDraw>();
    fresh->z = draw();
    if (cancel && cancel->load(std::memory_order_relaxed))
        return fresh; // incomplete: never cached
    fresh->z2 = fresh->z.cast<double>().squaredNorm();
    insert(key, fresh);
    return fresh;
}

void DrawCache::insert(const DrawKey& key, std::shared_ptr<const StandardDraw> draw) {
    std::lock_guard lock(mutex_);
    const auto size = static_cast<std::uint64_t>(draw->z.size()) * sizeof(float);
    auto [it, inserted] = entries_.try_emplace(key, Entry{std::move(draw), ++clock_});
    if (!inserted)
        return;
    bytes_ += size;
    // Evict least recently used entries beyond the cap (shared_ptrs keep running users safe).
    while (bytes_ > kMaxBytes && entries_.size() > 1) {
        auto oldest = entries_.begin();
        for (auto e = entries_.begin(); e != entries_.end(); ++e)
            if (e->second.lastUse < oldest->second.lastUse)
                oldest = e;
        if (oldest == it)
            break;
        bytes_ -= static_cast<std::uint64_t>(oldest->second.draw->z.size()) * sizeof(float);
        entries_.erase(oldest);
    }
}

void DrawCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    bytes_ = 0;
}

std::uint64_t DrawCache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

} // namespace initscope

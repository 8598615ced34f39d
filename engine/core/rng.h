// Deterministic random numbers. Every stream is a pure function of (seed, purpose, index), so the
// weights of layer l never depend on how many layers were drawn before or on thread scheduling.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>

namespace initscope {

/// What a stream is for; part of its key so that e.g. weights and biases never share draws.
enum class Stream : std::uint64_t {
    Weights = 1,
    Biases = 2,
    Inputs = 3,
    Cotangent = 4,
    Readout = 5,
    Probe = 6,
    Recurrent = 7,      // rnn parameters: index 1 the stacked [W U], 2 a W of its own, 3 b
    SequenceInputs = 8, // rnn inputs x_t of steps t >= 2 (index t; x_1 is Inputs' index 0)
    HeadWeights = 9,    // a head's layer j (index j), seed keyed by the head's name (heads.h)
    HeadBiases = 10,    // a head's hidden-layer biases (index j), same seed
};

/// SplitMix64 finaliser (Steele et al. 2014): a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// xoshiro256** (Blackman & Vigna 2018), seeded through SplitMix64 from (seed, stream, index).
class Rng {
public:
    Rng(std::uint64_t seed, Stream stream, std::uint64_t index) {
        std::uint64_t k =
            mix64(seed) ^ mix64(static_cast<std::uint64_t>(stream) * 0x632be59bd9b4e019ULL +
                                mix64(index + 0x1234567ULL));
        for (auto& w : s_) {
            k = mix64(k);
            w = k;
        }
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform on (0, 1]: never 0, so log() is safe.
    double uniformOpen() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
    /// Uniform on [-1, 1).
    double uniformSym() { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }

    /// n standard normal draws (Box-Muller, computed in double, stored as float).
    void fillNormal(float* out, std::size_t n) {
        std::size_t i = 0;
        for (; i + 1 < n; i += 2) {
            const double r = std::sqrt(-2.0 * std::log(uniformOpen()));
            const double t = 2.0 * std::numbers::pi * uniformOpen();
            out[i] = static_cast<float>(r * std::cos(t));
            out[i + 1] = static_cast<float>(r * std::sin(t));
        }
        if (i < n) {
            const double r = std::sqrt(-2.0 * std::log(uniformOpen()));
            out[i] = static_cast<float>(r * std::cos(2.0 * std::numbers::pi * uniformOpen()));
        }
    }

    /// n draws from U(-sqrt 3, sqrt 3): zero mean, unit variance.
    void fillUniformUnitVariance(float* out, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            out[i] = static_cast<float>(std::numbers::sqrt3 * uniformSym());
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

} // namespace initscope

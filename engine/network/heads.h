// Heads (THEORY.md, "Heads"; spec.h HeadSpec): dense chains on the trunk's last activation, each
// initialised by its own fans on random streams keyed by its name, with its own output bias and
// loss weight. Here: the command-line form, the JSON form, validation and the streams.
//
//   --head NAME:W1,W2,..:SCHEME[:gain=G][:bias=V][:weight=w]      (repeatable)
//   "heads": [{"name", "widths": [...], "scheme", "gain", "bias", "weight"}, ...]
#pragma once

#include "spec/spec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace initscope {

inline constexpr int kMaxHeads = 8;
inline constexpr int kMaxHeadLayers = 8;
inline constexpr std::size_t kMaxHeadName = 32;
inline constexpr double kMaxHeadWeight = 1e6;

/// Parses one --head value. On failure returns false with a message naming the part
/// ("--head 'a:10': needs NAME:W1,W2,..:SCHEME ...").
bool parseHeadOption(const std::string& text, HeadSpec& out, std::string& error);
/// The --head text of a head (parseHeadOption's inverse; gain, bias and weight only when not
/// their defaults).
std::string headOptionText(const HeadSpec& h);

/// The "heads" array of a spec's JSON (every key written).
nlohmann::json headsToJson(const std::vector<HeadSpec>& heads);
/// Reads a "heads" array strictly (unknown keys, types); errors name "heads[i].key". The
/// ranges are validateHeads'.
bool headsFromJson(const nlohmann::json& value, std::vector<HeadSpec>& out,
                   std::vector<SpecError>& errors);

/// Ranges of every head: name (pattern, unique), widths (1..kMaxHeadLayers layers, each a
/// width), scheme (not delta-orthogonal), gain, bias, weight; errors name "heads[i].field".
std::vector<SpecError> validateHeads(const NetworkSpec& spec);

/// The seed of a head's streams (Stream::HeadWeights / HeadBiases, index = layer 1..): a
/// function of (seed, name) alone, so a head's draws are independent of the other heads, of
/// its position in the list, of its loss weight and of the trunk.
std::uint64_t headStreamSeed(std::uint64_t seed, const std::string& name);

/// Var(W) of layer j (1-based) of a head with input n_in and output n_out: gain times the
/// scheme's base variance (naive normal / uniform: gain; zeros / constant: 0).
double headLayerVariance(const HeadSpec& h, int nIn, int nOut);

} // namespace initscope

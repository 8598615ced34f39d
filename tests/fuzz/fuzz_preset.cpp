// Fuzz target for the preset reader (engine/spec/preset.h parsePreset): any bytes must give either
// a preset or errors, never a crash, a hang, undefined behaviour or an exception. A preset that
// parses must also survive its own round trip: presetToJson, parsed again, is the same preset
// (what the GUI's Save followed by Open relies on).
#include "spec/preset.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const initscope::PresetParse first = initscope::parsePreset(text);
    if (first.preset.has_value() == !first.errors.empty()) {
        std::fprintf(stderr, "parsePreset gave %s a preset and %zu errors\n",
                     first.preset ? "both" : "neither", first.errors.size());
        std::abort();
    }
    if (!first.preset)
        return 0;
    const std::string again = initscope::presetToJson(*first.preset);
    const initscope::PresetParse second = initscope::parsePreset(again);
    if (!second.preset) {
        std::fprintf(stderr, "a parsed preset does not parse again:\n%s\nfirst error: %s\n",
                     again.c_str(), second.errors.front().message.c_str());
        std::abort();
    }
    if (!(*second.preset == *first.preset)) {
        std::fprintf(stderr, "the round trip changed the preset:\n%s\n", again.c_str());
        std::abort();
    }
    return 0;
}

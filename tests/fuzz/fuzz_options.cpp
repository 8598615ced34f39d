// libFuzzer target: the command-line parser shared by initscope-cli and the GUI
// (engine/spec/options.h) and the run options it applies through the field table. The input is
// split on NUL bytes (or newlines) into arguments. Properties checked: parsing either throws
// OptionError or yields options that, applied to a default spec, either give errors or a spec
// that validateFields accepts; every message is bounded and free of raw control characters.
#include "spec/options.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace initscope;

namespace {
void check(const std::string& message) {
    if (message.size() > 20000)
        std::abort(); // a message is a sentence, not an echo of the input
    for (char c : message)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n')
            std::abort(); // control characters must be escaped
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> args(1);
    for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
        const char c = static_cast<char>(data[i]);
        if (c == '\0' || c == '\n')
            args.emplace_back();
        else
            args.back() += c;
    }
    try {
        CommandLine cmd(args, {"histograms", "perf-log"}, true);
        NetworkSpec spec;
        std::vector<SpecError> errors;
        if (cmd.applyRunOptions(spec, errors)) {
            errors = validateFields(spec);
        } else if (errors.empty()) {
            std::abort(); // a refusal always says why
        }
        check(describeErrors(errors, true));
        try {
            cmd.expectEmpty();
        } catch (const OptionError& e) {
            check(e.what());
        }
    } catch (const OptionError& e) {
        check(e.what());
    }
    return 0;
}

// Command-line options, shared by initscope-cli and the initscope GUI so that an option means
// the same in both: "--name value" or "--name=value", each given at most once, with the run
// options read through the field table (fields.h).
#pragma once

#include "spec/fields.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace initscope {

/// A command-line problem; what() is a whole sentence naming the option.
class OptionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CommandLine {
public:
    /// Parses args (without the program name or command). `flagNames` take no value; with
    /// `allowPositional`, arguments not starting with "--" are kept as positional. Throws
    /// OptionError for a repeated option, an option without its value (also when the next
    /// argument is another option: "--depth --width 5"), or a stray argument.
    CommandLine(const std::vector<std::string>& args, const std::vector<std::string>& flagNames,
                bool allowPositional = false);

    /// The value of --name (removed from the list), if given.
    std::optional<std::string> take(const std::string& name);
    /// True if the flag --name was given (removed from the list).
    bool flag(const std::string& name);
    bool has(const std::string& name) const;
    /// The value of --name without taking it (the first, for --head).
    std::optional<std::string> peek(const std::string& name) const;
    const std::vector<std::string>& positional() const { return positional_; }
    /// Throws OptionError naming the first option nobody took.
    void expectEmpty() const;

    /// Takes every run option (a spec field as --kebab-case, and --sigma-w2) and applies them
    /// over `spec` as one layer of settings (applyFields). Appends errors whose messages name
    /// options (--sigma-b2), and returns false on any; validation is the caller's.
    bool applyRunOptions(NetworkSpec& spec, std::vector<SpecError>& errors);

private:
    std::vector<std::pair<std::string, std::string>> options_;
    std::vector<std::string> flags_;
    std::vector<std::string> positional_;
};

/// A message about fields with each field name written as its option ("sigma_b2: ... bias_init"
/// -> "--sigma-b2: ... --bias-init").
std::string withOptionNames(const std::string& message);
/// The problems as lines "  --field: ...", at most `maxShown` of them and then a count of the
/// rest, so a file with thousands of bad keys gives a readable message.
std::string describeErrors(const std::vector<SpecError>& errors, bool optionNames,
                           std::size_t maxShown = 12);

/// The run options with their ranges and defaults, generated from the field table.
std::string runOptionsHelp();

} // namespace initscope

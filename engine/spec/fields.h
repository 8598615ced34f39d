// The named fields of a NetworkSpec: one table shared by presets (JSON keys), the CLI and the
// GUI's command line (--kebab options), sweeps (NAME=FROM:TO:STEPS) and the GUI's controls
// (ranges), so a field has one name, one range and one check everywhere.
//
// One rule for fields that other fields make meaningless (THEORY.md: "a setting that the
// chosen options would ignore is an error naming both fields"):
//   sigma_b2 > 0 needs bias_init normal; bias_value != 0 needs bias_init constant; init_value
//   != 1 needs init constant, normal or uniform; fan_mode fan-out needs he-normal or he-uniform;
//   activation_slope != 0.01 needs leaky-relu; with real data (data fashion-mnist or FILE.csv)
//   input_dim is the data's and input_mean must be 0 (input_scale still multiplies the data),
//   and standardize needs real data; batch is at most the data's training examples.
// validate() refuses each such pair. A layer of settings (a preset's spec object over the
// defaults, command-line options over a preset, one sweep point) is applied by applyFields,
// which implies what the layer leaves out: sigma_b2 > 0 alone means normal biases, and changing
// the governing field alone resets the fields it would ignore; data alone sets input_dim.
#pragma once

#include "spec/spec.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace initscope {

/// Text: a name or a path (data: gaussian, fashion-mnist or FILE.csv).
enum class FieldKind { Int, Seed, Double, Choice, IntList, Text };

/// What the GUI and the help texts need to know of a field.
struct FieldInfo {
    std::string name; // snake_case JSON key; the option is --kebab-case
    FieldKind kind = FieldKind::Double;
    double lo = 0, hi = 0;            // allowed range (Int, Double; IntList items); Seed: 0..2^64-1
    bool loExclusive = false;         // lo itself is not allowed (hist_range > 0)
    std::vector<std::string> choices; // Choice: the allowed names
    std::string doc;                  // one line: what it is, with its unit or convention
};

/// Field names in snake_case, in presentation order ("depth", "width", "gain", ...).
const std::vector<std::string>& specFieldNames();
/// The field's table entry, or null for an unknown name.
const FieldInfo* fieldInfo(std::string_view name);
/// Fields that take a number (these can be swept).
bool isNumericField(std::string_view name);
/// "an integer from 1 to 5000", "a number from 0 to 1e+06", "one of zeros constant normal".
std::string fieldRangeText(const FieldInfo& f);

/// --kebab-case option name of a snake_case field ("sigma_b2" -> "sigma-b2").
std::string optionName(std::string_view field);

/// Sets one field from a JSON value, checking its type and range. On failure returns false
/// with a message "name: must be <range> (got <value>)".
bool setSpecField(NetworkSpec& spec, std::string_view name, const nlohmann::json& value,
                  std::string& error);
/// The JSON value of command-line text ("12", "1e-3", "tanh", "64,64,32" for widths), or an
/// error naming the field and its range, quoting the text as typed.
bool fieldValueFromText(std::string_view name, const std::string& text, nlohmann::json& out,
                        std::string& error);

/// One layer of settings in the order given: (field name, value). The pseudo-field "sigma_w2"
/// sets the effective sigma_w^2 of the chosen scheme at the reference layer (the gain that gives
/// it), after every other field of the layer; it is refused with a scheme that has no fan-scaled
/// variance and together with "gain".
using FieldLayer = std::vector<std::pair<std::string, nlohmann::json>>;
/// Applies a layer over `spec` with the implications above. Appends an error per problem
/// (unknown or repeated field, type, range, sigma_w2 conflicts) and returns false on any; the
/// cross-field checks are validate()'s.
bool applyFields(NetworkSpec& spec, const FieldLayer& layer, std::vector<SpecError>& errors);
/// The same over values held elsewhere (a preset's parsed document: never copied, since a
/// hostile value may be nested deeper than a recursive copy survives).
using FieldLayerView = std::vector<std::pair<std::string, const nlohmann::json*>>;
bool applyFields(NetworkSpec& spec, const FieldLayerView& layer, std::vector<SpecError>& errors);

/// Every serialisable field. threads never changes results and is left out;
/// memory_budget_gib is written only when raised or lowered from the default, so the same
/// experiment serialises identically and a preset that needs a larger budget reopens.
nlohmann::json specToJson(const NetworkSpec& spec);
/// Reads a spec object as one layer over the defaults, then validates it without the memory
/// budget (which is checked where the spec is finally run, after command-line overrides).
/// Appends errors (field, message) and returns false on any.
bool specFromJson(const nlohmann::json& object, NetworkSpec& spec, std::vector<SpecError>& errors);

/// Range and cross-field checks of every field, without the memory budget.
std::vector<SpecError> validateFields(const NetworkSpec& spec);

/// A key or value as it may be shown in a message: control characters escaped, at most
/// maxChars characters (cut on a UTF-8 boundary, with "..."), and an empty key named as such.
std::string printable(std::string_view text, std::size_t maxChars = 60);

} // namespace initscope

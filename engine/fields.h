// The named fields of a NetworkSpec: one table shared by presets (JSON keys), the CLI (--kebab
// options) and sweeps (NAME=FROM:TO:STEPS), so a field has one name and one check everywhere.
#pragma once

#include "spec.h"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace initscope {

/// Field names in snake_case, in presentation order ("depth", "width", "gain", ...).
const std::vector<std::string>& specFieldNames();
/// Fields that take a number (these can be swept).
bool isNumericField(std::string_view name);

/// Sets one field from a JSON value, checking its type (not its range: validate() does that).
/// On failure returns false with a message naming the field and what it expects.
bool setSpecField(NetworkSpec& spec, std::string_view name, const nlohmann::json& value,
                  std::string& error);
/// Sets one field from command-line text ("12", "tanh", "64,64,32" for widths).
bool setSpecFieldFromText(NetworkSpec& spec, std::string_view name, const std::string& text,
                          std::string& error);

/// Every serialisable field (threads and memory_budget_gib are run settings, not part of the
/// experiment, and are left out so that the same experiment serialises identically).
nlohmann::json specToJson(const NetworkSpec& spec);
/// Reads a spec object: unknown keys and wrong types are errors; missing keys keep defaults.
/// Appends errors (field, message) and returns false on any; validate() is run as well.
bool specFromJson(const nlohmann::json& object, NetworkSpec& spec, std::vector<SpecError>& errors);

/// "sigma_w2" is the shorthand of DESIGN.md: lecun-normal with gain S.
void setSigmaW2(NetworkSpec& spec, double sigmaW2);

} // namespace initscope

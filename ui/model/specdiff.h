// What differs between two experiment settings, in words: the names of the undo steps ("Undo
// gain 1 → 1.76") and the label of a pinned reference run ("reference: gain 1 (now 1.76)").
// Fields come from the engine's one field table (engine/spec/fields.h), in its order.
#pragma once

#include "spec/spec.h"

#include <QString>
#include <QStringList>

namespace initscope::ui {

/// The snake_case names of the fields whose values differ, in the field table's order.
QStringList changedFields(const NetworkSpec& a, const NetworkSpec& b);

/// The value of `field` in `spec` as text ("1.76", "tanh", "64,64,32"); a number is shown with
/// as few digits as still tell it apart from the same field of `other` (1.76 vs 1.761).
QString fieldText(const NetworkSpec& spec, const QString& field, const NetworkSpec& other);

/// The name of an undo step that changes `before` into `after`: "gain 1 → 1.76" for one field,
/// "init, fan_mode" for a few, "settings" for none.
QString changeText(const NetworkSpec& before, const NetworkSpec& after);

/// The legend label of a reference run against the run shown beside it: "reference: gain 1 (now
/// 1.76)", at most kMaxReferenceFields fields, then "…"; "reference: same settings" when none
/// differ.
inline constexpr int kMaxReferenceFields = 2;
QString referenceLabel(const NetworkSpec& reference, const NetworkSpec& shown);

} // namespace initscope::ui

#include "model/specdiff.h"

#include "spec/fields.h"

#include <QCoreApplication>

#include <cmath>

namespace initscope::ui {

namespace {
using nlohmann::json;

QString tr(const char* text) {
    return QCoreApplication::translate("initscope::ui::SpecDiff", text);
}

/// Every field's value, also those specToJson leaves out while at their defaults.
json fieldValues(const NetworkSpec& s) {
    json j = specToJson(s);
    if (!j.contains("memory_budget_gib"))
        j["memory_budget_gib"] = s.memoryBudgetGiB;
    if (!j.contains("widths"))
        j["widths"] = nullptr; // uniform: depth x width
    return j;
}

QString number(double v, int digits) {
    return QString::number(v, 'g', digits);
}
} // namespace

QStringList changedFields(const NetworkSpec& a, const NetworkSpec& b) {
    const json ja = fieldValues(a), jb = fieldValues(b);
    QStringList out;
    for (const std::string& name : specFieldNames()) {
        if (name == "threads") // never changes results
            continue;
        const auto ia = ja.find(name), ib = jb.find(name);
        const bool hasA = ia != ja.end(), hasB = ib != jb.end();
        if (hasA != hasB || (hasA && *ia != *ib))
            out << QString::fromStdString(name);
    }
    return out;
}

QString fieldText(const NetworkSpec& spec, const QString& field, const NetworkSpec& other) {
    const std::string name = field.toStdString();
    const json j = fieldValues(spec), o = fieldValues(other);
    const auto it = j.find(name);
    if (it == j.end())
        return QStringLiteral("-");
    const json& v = *it;
    if (v.is_null())
        return tr("uniform");
    if (v.is_string())
        return QString::fromStdString(v.get<std::string>());
    if (v.is_number_float()) {
        const double x = v.get<double>();
        const auto ot = o.find(name);
        const double y = ot != o.end() && ot->is_number() ? ot->get<double>() : std::nan("");
        // three significant digits, more only while they would read the same
        int digits = 3;
        while (digits < 17 && std::isfinite(y) && x != y && number(x, digits) == number(y, digits))
            ++digits;
        return number(x, digits);
    }
    if (v.is_array()) {
        QStringList items;
        for (const json& e : v)
            items << QString::fromStdString(e.dump());
        return items.join(QLatin1Char(','));
    }
    return QString::fromStdString(v.dump()); // integers, the seed
}

QString changeText(const NetworkSpec& before, const NetworkSpec& after) {
    const QStringList fields = changedFields(before, after);
    if (fields.isEmpty())
        return tr("settings");
    if (fields.size() == 1)
        return QStringLiteral("%1 %2 \u2192 %3")
            .arg(fields.front(), fieldText(before, fields.front(), after),
                 fieldText(after, fields.front(), before));
    if (fields.size() <= 3)
        return fields.join(QStringLiteral(", "));
    return fields.mid(0, 3).join(QStringLiteral(", ")) + QStringLiteral(", \u2026");
}

QString referenceLabel(const NetworkSpec& reference, const NetworkSpec& shown) {
    const QStringList fields = changedFields(reference, shown);
    if (fields.isEmpty())
        return tr("reference: same settings");
    QStringList parts;
    for (const QString& f : fields.mid(0, kMaxReferenceFields))
        parts << tr("%1 %2 (now %3)")
                     .arg(f, fieldText(reference, f, shown), fieldText(shown, f, reference));
    if (fields.size() > kMaxReferenceFields)
        parts << QStringLiteral("\u2026");
    return tr("reference: %1").arg(parts.join(QStringLiteral(", ")));
}

} // namespace initscope::ui

#include "fields.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>

namespace initscope {
namespace {

using json = nlohmann::json;

enum class Type { Int, Seed, Double, Activation, Scheme, FanMode, BiasInit, Loss, IntList };

struct Field {
    const char* name;
    Type type;
    std::function<json(const NetworkSpec&)> get;
    std::function<void(NetworkSpec&, const json&)> set; // value already type-checked
};

std::string typeWord(Type t) {
    switch (t) {
    case Type::Int:
        return "an integer";
    case Type::Seed:
        return "a non-negative integer below 2^64";
    case Type::Double:
        return "a number";
    case Type::Activation: {
        std::string s = "one of";
        for (auto k : allActivations())
            s += " " + activationName(k);
        return s;
    }
    case Type::Scheme: {
        std::string s = "one of";
        for (auto k : allInitSchemes())
            s += " " + initSchemeName(k);
        return s;
    }
    case Type::FanMode:
        return "fan-in or fan-out";
    case Type::BiasInit:
        return "zeros, constant or normal";
    case Type::Loss:
        return "cotangent or mse";
    case Type::IntList:
        return "a list of integers";
    }
    return "";
}

#define INT_FIELD(key, member)                                                                     \
    Field {                                                                                        \
        key, Type::Int, [](const NetworkSpec& s) { return json(s.member); },                       \
            [](NetworkSpec& s, const json& v) { s.member = v.get<int>(); }                         \
    }
#define DOUBLE_FIELD(key, member)                                                                  \
    Field {                                                                                        \
        key, Type::Double, [](const NetworkSpec& s) { return json(s.member); },                    \
            [](NetworkSpec& s, const json& v) { s.member = v.get<double>(); }                      \
    }

const std::vector<Field>& fields() {
    static const std::vector<Field> f{
        INT_FIELD("depth", depth),
        INT_FIELD("width", width),
        Field{"widths", Type::IntList, [](const NetworkSpec& s) { return json(s.widths); },
              [](NetworkSpec& s, const json& v) { s.widths = v.get<std::vector<int>>(); }},
        INT_FIELD("input_dim", inputDim),
        Field{"activation", Type::Activation,
              [](const NetworkSpec& s) { return json(activationName(s.activation)); },
              [](NetworkSpec& s, const json& v) {
                  s.activation = *parseActivation(v.get<std::string>());
              }},
        DOUBLE_FIELD("activation_slope", activationSlope),
        Field{"init", Type::Scheme,
              [](const NetworkSpec& s) { return json(initSchemeName(s.init)); },
              [](NetworkSpec& s, const json& v) { parseInitScheme(v.get<std::string>(), s.init); }},
        Field{"fan_mode", Type::FanMode,
              [](const NetworkSpec& s) { return json(fanModeName(s.fanMode)); },
              [](NetworkSpec& s, const json& v) { parseFanMode(v.get<std::string>(), s.fanMode); }},
        DOUBLE_FIELD("gain", gain),
        DOUBLE_FIELD("init_value", initValue),
        Field{
            "bias_init", Type::BiasInit,
            [](const NetworkSpec& s) { return json(biasInitName(s.biasInit)); },
            [](NetworkSpec& s, const json& v) { parseBiasInit(v.get<std::string>(), s.biasInit); }},
        DOUBLE_FIELD("sigma_b2", sigmaB2),
        DOUBLE_FIELD("bias_value", biasValue),
        INT_FIELD("batch", batch),
        DOUBLE_FIELD("input_mean", inputMean),
        DOUBLE_FIELD("input_scale", inputScale),
        Field{"seed", Type::Seed, [](const NetworkSpec& s) { return json(s.seed); },
              [](NetworkSpec& s, const json& v) { s.seed = v.get<std::uint64_t>(); }},
        DOUBLE_FIELD("learning_rate", learningRate),
        Field{"loss", Type::Loss, [](const NetworkSpec& s) { return json(lossName(s.loss)); },
              [](NetworkSpec& s, const json& v) { parseLoss(v.get<std::string>(), s.loss); }},
        INT_FIELD("hist_bins", histBins),
        DOUBLE_FIELD("hist_range", histRange),
        INT_FIELD("threads", threads),
        DOUBLE_FIELD("memory_budget_gib", memoryBudgetGiB),
    };
    return f;
}
#undef INT_FIELD
#undef DOUBLE_FIELD

const Field* findField(std::string_view name) {
    for (const Field& f : fields())
        if (name == f.name)
            return &f;
    return nullptr;
}

/// The offending value, for an error message: short, and never a recursive dump of a container
/// (a deeply nested array in a preset file overflowed the stack) or of invalid UTF-8 (typed on
/// the command line, where dump() throws).
std::string describe(const json& v) {
    if (v.is_array())
        return "a list of " + std::to_string(v.size()) + (v.size() == 1 ? " item" : " items");
    if (v.is_object())
        return "an object of " + std::to_string(v.size()) + (v.size() == 1 ? " key" : " keys");
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 80) {
        std::size_t n = 77;
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) // not mid-character
            --n;
        s = s.substr(0, n) + "...";
    }
    return s;
}

bool isRunSetting(std::string_view name) {
    return name == "threads" || name == "memory_budget_gib";
}

/// True if v is of type t (integers must be integral and in int range).
bool typeOk(Type t, const json& v) {
    auto isInt = [](const json& x) {
        if (x.is_number_integer())
            return x.is_number_unsigned()
                       ? x.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<int>::max())
                       : (x.get<std::int64_t>() >= std::numeric_limits<int>::min() &&
                          x.get<std::int64_t>() <= std::numeric_limits<int>::max());
        if (x.is_number_float()) {
            const double d = x.get<double>();
            return std::isfinite(d) && d == std::floor(d) && std::abs(d) < 2e9;
        }
        return false;
    };
    switch (t) {
    case Type::Int:
        return isInt(v);
    case Type::Seed:
        return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    case Type::Double:
        return v.is_number();
    case Type::Activation:
        return v.is_string() && parseActivation(v.get<std::string>()).has_value();
    case Type::Scheme: {
        InitScheme s;
        return v.is_string() && parseInitScheme(v.get<std::string>(), s);
    }
    case Type::FanMode: {
        FanMode m;
        return v.is_string() && parseFanMode(v.get<std::string>(), m);
    }
    case Type::BiasInit: {
        BiasInit b;
        return v.is_string() && parseBiasInit(v.get<std::string>(), b);
    }
    case Type::Loss: {
        Loss l;
        return v.is_string() && parseLoss(v.get<std::string>(), l);
    }
    case Type::IntList:
        if (!v.is_array())
            return false;
        for (const json& x : v)
            if (!isInt(x))
                return false;
        return true;
    }
    return false;
}

} // namespace

const std::vector<std::string>& specFieldNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const Field& f : fields())
            n.emplace_back(f.name);
        return n;
    }();
    return names;
}

bool isNumericField(std::string_view name) {
    const Field* f = findField(name);
    return f && (f->type == Type::Int || f->type == Type::Double || f->type == Type::Seed);
}

void setSigmaW2(NetworkSpec& spec, double sigmaW2) {
    spec.init = InitScheme::LecunNormal;
    spec.gain = sigmaW2;
}

bool setSpecField(NetworkSpec& spec, std::string_view name, const json& value, std::string& error) {
    const Field* f = findField(name);
    if (!f) {
        error = std::string(name) + ": unknown field";
        return false;
    }
    if (!typeOk(f->type, value)) {
        error =
            std::string(name) + ": must be " + typeWord(f->type) + " (got " + describe(value) + ")";
        return false;
    }
    if (f->type == Type::Int && value.is_number_float()) // 3.0 accepted as 3
        f->set(spec, json(static_cast<int>(value.get<double>())));
    else
        f->set(spec, value);
    return true;
}

bool setSpecFieldFromText(NetworkSpec& spec, std::string_view name, const std::string& text,
                          std::string& error) {
    const Field* f = findField(name);
    if (!f) {
        error = std::string(name) + ": unknown field";
        return false;
    }
    json v;
    switch (f->type) {
    case Type::Int:
    case Type::Seed:
    case Type::Double: {
        double d = 0;
        const char* b = text.data();
        const char* e = b + text.size();
        if (f->type == Type::Seed) {
            std::uint64_t u = 0;
            auto r = std::from_chars(b, e, u);
            if (r.ec != std::errc() || r.ptr != e || text.empty()) {
                error =
                    std::string(name) + ": must be " + typeWord(f->type) + " (got '" + text + "')";
                return false;
            }
            v = u;
            break;
        }
        auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e || text.empty()) {
            error = std::string(name) + ": must be " + typeWord(f->type) + " (got '" + text + "')";
            return false;
        }
        v = d;
        break;
    }
    case Type::IntList: {
        v = json::array();
        std::size_t pos = 0;
        while (pos <= text.size()) {
            const std::size_t comma = text.find(',', pos);
            const std::string item =
                text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            int x = 0;
            auto r = std::from_chars(item.data(), item.data() + item.size(), x);
            if (r.ec != std::errc() || r.ptr != item.data() + item.size() || item.empty()) {
                error = std::string(name) + ": must be a comma-separated list of integers (got '" +
                        text + "')";
                return false;
            }
            v.push_back(x);
            if (comma == std::string::npos)
                break;
            pos = comma + 1;
        }
        break;
    }
    default:
        v = text;
        break;
    }
    return setSpecField(spec, name, v, error);
}

json specToJson(const NetworkSpec& spec) {
    json o = json::object();
    for (const Field& f : fields()) {
        if (isRunSetting(f.name))
            continue;
        if (f.type == Type::IntList && spec.widths.empty())
            continue;
        o[f.name] = f.get(spec);
    }
    return o;
}

bool specFromJson(const json& object, NetworkSpec& spec, std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    if (!object.is_object()) {
        errors.push_back({"spec", "spec: must be a JSON object of fields (got " +
                                      std::string(object.type_name()) + ")"});
        return false;
    }
    for (const auto& [key, value] : object.items()) {
        std::string err;
        if (!findField(key)) {
            errors.push_back(
                {key, key + ": unknown field (known fields: depth, width, widths, "
                            "input_dim, activation, activation_slope, init, fan_mode, "
                            "gain, init_value, bias_init, sigma_b2, bias_value, batch, "
                            "input_mean, input_scale, seed, learning_rate, loss, hist_bins, "
                            "hist_range, threads, memory_budget_gib)"});
            continue;
        }
        if (!setSpecField(spec, key, value, err))
            errors.push_back({key, err});
    }
    if (errors.size() == before)
        for (SpecError& e : validate(spec))
            errors.push_back(std::move(e));
    return errors.size() == before;
}

} // namespace initscope

#include "spec/options.h"

#include "network/heads.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace initscope {
namespace {

std::string snake(std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

bool looksLikeOption(const std::string& s) {
    return s.size() > 2 && s[0] == '-' && s[1] == '-' &&
           std::isalpha(static_cast<unsigned char>(s[2]));
}

} // namespace

CommandLine::CommandLine(const std::vector<std::string>& args,
                         const std::vector<std::string>& flagNames, bool allowPositional) {
    auto seen = [&](const std::string& name) {
        return std::any_of(options_.begin(), options_.end(),
                           [&](const auto& kv) { return kv.first == name; }) ||
               std::find(flags_.begin(), flags_.end(), name) != flags_.end();
    };
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string s = args[i];
        if (s.rfind("--", 0) != 0 || s.size() < 3) {
            if (allowPositional && s.rfind("-", 0) != 0) {
                positional_.push_back(s);
                continue;
            }
            throw OptionError("unexpected argument '" + printable(s) +
                              "' (options start with --; see --help)");
        }
        s = s.substr(2);
        std::string value;
        bool hasValue = false;
        if (auto eq = s.find('='); eq != std::string::npos) {
            value = s.substr(eq + 1);
            s = s.substr(0, eq);
            hasValue = true;
        }
        if (seen(s) && s != "head") // --head is repeatable: one per head
            throw OptionError("--" + printable(s) +
                              " is given more than once (give each option once)");
        if (std::find(flagNames.begin(), flagNames.end(), s) != flagNames.end()) {
            if (hasValue)
                throw OptionError("--" + s + " takes no value");
            flags_.push_back(s);
            continue;
        }
        if (!hasValue) {
            if (i + 1 >= args.size())
                throw OptionError("--" + printable(s) + " needs a value");
            if (looksLikeOption(args[i + 1]))
                throw OptionError("--" + printable(s) +
                                  " needs a value (the next argument is the "
                                  "option " +
                                  printable(args[i + 1]) + ")");
            value = args[++i];
        }
        options_.emplace_back(s, value);
    }
}

std::optional<std::string> CommandLine::take(const std::string& name) {
    for (auto it = options_.begin(); it != options_.end(); ++it)
        if (it->first == name) {
            std::string v = it->second;
            options_.erase(it);
            return v;
        }
    return std::nullopt;
}

bool CommandLine::flag(const std::string& name) {
    auto it = std::find(flags_.begin(), flags_.end(), name);
    if (it == flags_.end())
        return false;
    flags_.erase(it);
    return true;
}

bool CommandLine::has(const std::string& name) const {
    return std::any_of(options_.begin(), options_.end(),
                       [&](const auto& kv) { return kv.first == name; }) ||
           std::find(flags_.begin(), flags_.end(), name) != flags_.end();
}

std::optional<std::string> CommandLine::peek(const std::string& name) const {
    for (const auto& [k, v] : options_)
        if (k == name)
            return v;
    return std::nullopt;
}

void CommandLine::expectEmpty() const {
    if (!options_.empty())
        throw OptionError("unknown option --" + printable(options_.front().first) +
                          " for this command (see --help)");
    if (!flags_.empty())
        throw OptionError("unknown option --" + printable(flags_.front()) +
                          " for this command (see --help)");
}

bool CommandLine::applyRunOptions(NetworkSpec& spec, std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    FieldLayer layer;
    std::vector<HeadSpec> heads;
    bool headsGiven = false;
    for (auto it = options_.begin(); it != options_.end();) {
        if (it->first == "head") { // one head per --head, in the order given
            HeadSpec h;
            std::string err;
            if (parseHeadOption(it->second, h, err))
                heads.push_back(std::move(h));
            else
                errors.push_back({"head", err});
            headsGiven = true;
            it = options_.erase(it);
            continue;
        }
        const std::string field = snake(it->first);
        if (field != "sigma_w2" && !fieldInfo(field)) {
            ++it;
            continue;
        }
        nlohmann::json value;
        std::string err;
        if (fieldValueFromText(field, it->second, value, err))
            layer.emplace_back(field, std::move(value));
        else
            errors.push_back({field, err});
        it = options_.erase(it);
    }
    if (errors.size() == before)
        applyFields(spec, layer, errors);
    if (headsGiven && errors.size() == before) // the options' heads replace a preset's
        spec.heads = std::move(heads);
    return errors.size() == before;
}

std::string withOptionNames(const std::string& message) {
    std::vector<std::string> names = specFieldNames();
    names.push_back("sigma_w2");
    auto isWordChar = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    };
    std::string out;
    std::size_t i = 0;
    while (i < message.size()) {
        bool replaced = false;
        // not after '.': "heads[0].widths" names a head's key, not the option --widths
        if (i == 0 || (!isWordChar(message[i - 1]) && message[i - 1] != '.')) {
            for (const std::string& n : names) {
                const std::size_t end = i + n.size();
                if (message.compare(i, n.size(), n) == 0 &&
                    (end == message.size() || !isWordChar(message[end]))) {
                    out += "--" + optionName(n);
                    i = end;
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced)
            out += message[i++];
    }
    return out;
}

std::string describeErrors(const std::vector<SpecError>& errors, bool optionNames,
                           std::size_t maxShown) {
    std::string m;
    for (std::size_t i = 0; i < errors.size() && i < maxShown; ++i) {
        std::string line = errors[i].message;
        if (optionNames) {
            // a command's own option ("inputs: ...") is named as an option too
            const std::size_t colon = line.find(':');
            const bool plain =
                colon != std::string::npos && colon > 0 &&
                std::all_of(line.begin(), line.begin() + static_cast<long>(colon), [](char c) {
                    return std::islower(static_cast<unsigned char>(c)) || c == '_';
                });
            line = withOptionNames(line);
            if (plain && line.rfind("--", 0) != 0)
                line = "--" + optionName(line.substr(0, colon)) + line.substr(colon);
        }
        m += "\n  " + line;
    }
    if (errors.size() > maxShown)
        m += "\n  ... and " + std::to_string(errors.size() - maxShown) + " more problems";
    return m;
}

std::string runOptionsHelp() {
    const NetworkSpec d;
    const nlohmann::json defaults = specToJson(d);
    std::ostringstream o;
    for (const std::string& name : specFieldNames()) {
        const FieldInfo& f = *fieldInfo(name);
        std::string head = "  --" + optionName(name);
        if (defaults.contains(name)) {
            const auto& v = defaults[name];
            head += " [" + (v.is_string() ? v.get<std::string>() : v.dump()) + "]";
        } else if (name == "threads") {
            head += " [0]";
        } else if (name == "data") {
            head += " [" + d.data + "]";
        } else if (name == "standardize") {
            head += std::string(" [") + (d.standardize ? "yes" : "no") + "]";
        } else if (name == "memory_budget_gib") {
            head += " [" + nlohmann::json(d.memoryBudgetGiB).dump() + "]";
        }
        o << head << "\n      " << f.doc << "; " << fieldRangeText(f) << "\n";
    }
    o << "  --sigma-w2 S\n      the effective sigma_w^2 = Var(W) fanIn of the chosen init (sets "
         "its gain; not with --gain, and not for zeros, constant, normal, uniform)\n";
    o << "  --head NAME:W1,W2,..:SCHEME[:gain=G][:bias=V][:weight=w]   (repeatable)\n      a "
         "head on the last activation: dense layers W1.. (the last = outputs, linear), each "
         "initialised by SCHEME at its own fans times gain G [1] (normal/uniform: variance G), "
         "output biases V [0], loss weight w [1] (training; never the init); draws keyed by "
         "NAME; the options' heads replace a preset's\n";
    return o.str();
}

} // namespace initscope

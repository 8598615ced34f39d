#include "spec/fields.h"

#include "core/data.h"
#include "network/heads.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace initscope {
namespace {

using json = nlohmann::json;

const NetworkSpec kDefaults{};
constexpr std::size_t kMaxTextChars = 4096; // a path

struct Field {
    FieldInfo info;
    std::function<json(const NetworkSpec&)> get;
    std::function<void(NetworkSpec&, const json&)> set;   // value already type- and range-checked
    std::function<bool(const std::string&)> accepts = {}; // Choice: the name or an alias parses
};

std::string fmt(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::vector<std::string> names(auto all, auto nameOf) {
    std::vector<std::string> v;
    for (auto k : all)
        v.push_back(nameOf(k));
    return v;
}

Field intField(const char* key, int NetworkSpec::*member, int lo, int hi, const char* doc) {
    return {{key, FieldKind::Int, double(lo), double(hi), false, {}, doc},
            [member](const NetworkSpec& s) { return json(s.*member); },
            [member](NetworkSpec& s, const json& v) { s.*member = v.get<int>(); }};
}

Field doubleField(const char* key, double NetworkSpec::*member, double lo, double hi,
                  const char* doc, bool loExclusive = false) {
    return {{key, FieldKind::Double, lo, hi, loExclusive, {}, doc},
            [member](const NetworkSpec& s) { return json(s.*member); },
            [member](NetworkSpec& s, const json& v) { s.*member = v.get<double>(); }};
}

template <class E>
Field choiceField(const char* key, E NetworkSpec::*member, std::vector<std::string> choices,
                  std::string (*nameOf)(E), bool (*parse)(const std::string&, E&),
                  const char* doc) {
    return {
        {key, FieldKind::Choice, 0, 0, false, std::move(choices), doc},
        [member, nameOf](const NetworkSpec& s) { return json(nameOf(s.*member)); },
        [member, parse](NetworkSpec& s, const json& v) { parse(v.get<std::string>(), s.*member); },
        [parse](const std::string& name) {
            E e{};
            return parse(name, e);
        }};
}

bool parseActivationKind(const std::string& name, ActivationKind& out) {
    const auto k = parseActivation(name);
    if (k)
        out = *k;
    return k.has_value();
}

const std::vector<Field>& fields() {
    static const std::vector<Field> f{
        intField("depth", &NetworkSpec::depth, 1, Limits::kMaxDepth, "number of weight layers L"),
        intField("width", &NetworkSpec::width, Limits::kMinWidth, Limits::kMaxWidth,
                 "units per layer N (when widths is not given)"),
        Field{{"widths",
               FieldKind::IntList,
               double(Limits::kMinWidth),
               double(Limits::kMaxWidth),
               false,
               {},
               "per-layer widths N_1..N_L (one per layer; replaces width)"},
              [](const NetworkSpec& s) { return json(s.widths); },
              [](NetworkSpec& s, const json& v) { s.widths = v.get<std::vector<int>>(); }},
        intField("input_dim", &NetworkSpec::inputDim, 1, Limits::kMaxInputDim,
                 "input dimension N_0"),
        choiceField<ActivationKind>("activation", &NetworkSpec::activation,
                                    names(allActivations(), activationName), activationName,
                                    parseActivationKind, "activation phi"),
        doubleField("activation_slope", &NetworkSpec::activationSlope, -10.0, 10.0,
                    "negative slope of leaky-relu"),
        choiceField<InitScheme>("init", &NetworkSpec::init, names(allInitSchemes(), initSchemeName),
                                initSchemeName, parseInitScheme, "weight initialization scheme"),
        choiceField<FanMode>("fan_mode", &NetworkSpec::fanMode, {"fan-in", "fan-out"}, fanModeName,
                             parseFanMode, "fan of he-normal / he-uniform: 2/fanIn or 2/fanOut"),
        doubleField("gain", &NetworkSpec::gain, 0.0, Limits::kMaxGain,
                    "multiplies the weight variance (not the standard deviation)"),
        doubleField("init_value", &NetworkSpec::initValue, -1e6, 1e6,
                    "std of normal, limit of uniform, value of constant"),
        choiceField<BiasInit>("bias_init", &NetworkSpec::biasInit, {"zeros", "constant", "normal"},
                              biasInitName, parseBiasInit,
                              "biases: zeros, constant (bias_value) or N(0, sigma_b2)"),
        doubleField("sigma_b2", &NetworkSpec::sigmaB2, 0.0, Limits::kMaxSigmaB2,
                    "bias variance sigma_b^2 (> 0 means normal biases)"),
        doubleField("bias_value", &NetworkSpec::biasValue, -1e6, 1e6,
                    "every bias, with bias_init constant"),
        intField("batch", &NetworkSpec::batch, Limits::kMinBatch, Limits::kMaxBatch,
                 "inputs B propagated together"),
        doubleField("input_mean", &NetworkSpec::inputMean, -1e6, 1e6,
                    "mean mu of x_i ~ N(mu, s^2)"),
        doubleField("input_scale", &NetworkSpec::inputScale, 0.0, Limits::kMaxInputScale,
                    "standard deviation s of x_i ~ N(mu, s^2)"),
        Field{{"data",
               FieldKind::Text,
               0,
               0,
               false,
               {},
               "inputs: gaussian draws, fashion-mnist training images, or a CSV file of numbers "
               "(every column a feature, optional header line)"},
              [](const NetworkSpec& s) { return json(s.data); },
              [](NetworkSpec& s, const json& v) { s.data = v.get<std::string>(); }},
        Field{{"standardize",
               FieldKind::Choice,
               0,
               0,
               false,
               {"yes", "no"},
               "real data: standardise each feature with the training set's mean and std (no: "
               "raw values, pixels 0..255)"},
              [](const NetworkSpec& s) { return json(s.standardize ? "yes" : "no"); },
              [](NetworkSpec& s, const json& v) { s.standardize = v.get<std::string>() == "yes"; },
              [](const std::string& name) { return name == "yes" || name == "no"; }},
        Field{{"seed",
               FieldKind::Seed,
               0,
               18446744073709551615.0,
               false,
               {},
               "random seed: the same seed gives the same network and inputs"},
              [](const NetworkSpec& s) { return json(s.seed); },
              [](NetworkSpec& s, const json& v) {
                  s.seed = v.is_number_float() ? static_cast<std::uint64_t>(v.get<double>())
                                               : v.get<std::uint64_t>();
              }},
        doubleField("learning_rate", &NetworkSpec::learningRate, 0.0, 1e6,
                    "eta in relative_update = eta ||dW||_F / ||W||_F"),
        choiceField<Loss>("loss", &NetworkSpec::loss, {"cotangent", "mse"}, lossName, parseLoss,
                          "random cotangent on a^L, or squared error to random targets"),
        intField("hist_bins", &NetworkSpec::histBins, 2, Limits::kMaxHistBins,
                 "pre-activation histogram bins"),
        doubleField("hist_range", &NetworkSpec::histRange, 0.0, 1e12, "histograms cover [-r, r]",
                    true),
        intField("threads", &NetworkSpec::threads, 0, Limits::kMaxThreads,
                 "worker threads, 0 = all cores (never changes results)"),
        doubleField("memory_budget_gib", &NetworkSpec::memoryBudgetGiB, 0.001, 1024.0,
                    "largest memory a run may take, GiB"),
        choiceField<Arch>("arch", &NetworkSpec::arch, {"mlp", "resnet", "cnn", "rnn"}, archName,
                          parseArch,
                          "network family: mlp (depth = layers), resnet (depth = blocks "
                          "x + gamma F(x)), cnn (depth = conv layers) or rnn (depth = time steps "
                          "T, width = hidden units N, input_dim = N_x)"),
        intField("branch_depth", &NetworkSpec::branchDepth, 1, Limits::kMaxBranchDepth,
                 "resnet: dense layers m per residual branch"),
        choiceField<ResidualScale>("residual_scale", &NetworkSpec::residualScale,
                                   {"zero", "one", "inv-sqrt-depth", "fixup", "value"},
                                   residualScaleName, parseResidualScale,
                                   "resnet: gamma of the blocks: 0, 1, 1/sqrt(L), Fixup or "
                                   "residual_gamma"),
        doubleField("residual_gamma", &NetworkSpec::residualGamma, 0.0, Limits::kMaxResidualGamma,
                    "resnet: gamma of every block, with residual_scale value"),
        intField("channels", &NetworkSpec::channels, 1, Limits::kMaxChannels,
                 "cnn: channels C of every conv layer"),
        intField("input_channels", &NetworkSpec::inputChannels, 1, Limits::kMaxChannels,
                 "cnn: channels C0 of the input images (input_dim = C0 S^2)"),
        intField("kernel", &NetworkSpec::kernel, 1, Limits::kMaxKernel,
                 "cnn: kernel size k (odd; k x k taps, stride 1, circular padding)"),
        intField("image", &NetworkSpec::image, 1, Limits::kMaxImage,
                 "cnn: image side S (S x S pixels)"),
        choiceField<ConvFan>("conv_fan", &NetworkSpec::convFan, {"full", "channels-only"},
                             convFanName, parseConvFan,
                             "cnn: fans the scheme is given: full k^2 C (correct) or "
                             "channels-only C (the forgotten k^2)"),
        Field{{"recurrent_init", FieldKind::Choice, 0, 0, false,
               [] {
                   std::vector<std::string> v{"none", "identity"};
                   for (InitScheme k : allInitSchemes())
                       v.push_back(initSchemeName(k));
                   return v;
               }(),
               "rnn: the recurrent W's own scheme (N x N, fanIn N), identity (sqrt(gain) I), or "
               "none: W is drawn by init with U as one stacked [W U] of fanIn N + N_x"},
              [](const NetworkSpec& s) {
                  return json(recurrentInitName(s.recurrentInit, s.recurrentScheme));
              },
              [](NetworkSpec& s, const json& v) {
                  parseRecurrentInit(v.get<std::string>(), s.recurrentInit, s.recurrentScheme);
              },
              [](const std::string& name) {
                  RecurrentInit r{};
                  InitScheme k{};
                  return parseRecurrentInit(name, r, k);
              }},
        choiceField<RnnInput>("rnn_input", &NetworkSpec::rnnInput, {"every-step", "first-step"},
                              rnnInputName, parseRnnInput,
                              "rnn: an input x_t at every time step, or x_1 at t = 1 only"),
    };
    return f;
}

const Field* findField(std::string_view name) {
    for (const Field& f : fields())
        if (name == f.info.name)
            return &f;
    return nullptr;
}

/// The offending value, for an error message: short, and never a recursive dump of a container
/// (a deeply nested array in a preset file overflowed the stack) or of invalid UTF-8.
std::string describe(const json& v) {
    if (v.is_array())
        return "a list of " + std::to_string(v.size()) + (v.size() == 1 ? " item" : " items");
    if (v.is_object())
        return "an object of " + std::to_string(v.size()) + (v.size() == 1 ? " key" : " keys");
    if (v.is_number_float()) { // shortest exact form: -5, 1e+30, inf (dump() says -5.0, null)
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());
        return std::string(buf, r.ptr);
    }
    return printable(v.dump(-1, ' ', false, json::error_handler_t::replace), 80);
}

bool isInt(const json& x, double lo, double hi) {
    double d = 0;
    if (x.is_number_unsigned())
        d = static_cast<double>(x.get<std::uint64_t>());
    else if (x.is_number_integer())
        d = static_cast<double>(x.get<std::int64_t>());
    else if (x.is_number_float())
        d = x.get<double>();
    else
        return false;
    return std::isfinite(d) && d == std::floor(d) && d >= lo && d <= hi;
}

/// True if v has the field's type and lies in its range.
bool valueOk(const FieldInfo& f, const json& v) {
    switch (f.kind) {
    case FieldKind::Int:
        return isInt(v, f.lo, f.hi);
    case FieldKind::Seed:
        if (v.is_number_unsigned())
            return true;
        if (v.is_number_integer())
            return v.get<std::int64_t>() >= 0;
        if (v.is_number_float()) { // integral values exactly representable (a sweep's points)
            const double d = v.get<double>();
            return std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= 9007199254740992.0;
        }
        return false;
    case FieldKind::Double: {
        if (!v.is_number())
            return false;
        const double d = v.get<double>();
        return std::isfinite(d) && (f.loExclusive ? d > f.lo : d >= f.lo) && d <= f.hi;
    }
    case FieldKind::Choice:
        return v.is_string() && findField(f.name)->accepts(v.get<std::string>());
    case FieldKind::IntList:
        if (!v.is_array() || v.empty())
            return false;
        for (const json& x : v)
            if (!isInt(x, f.lo, f.hi))
                return false;
        return true;
    case FieldKind::Text: {
        DataKind k{};
        return v.is_string() && v.get_ref<const std::string&>().size() <= kMaxTextChars &&
               parseDataKind(v.get<std::string>(), k);
    }
    }
    return false;
}

bool usesInitValue(InitScheme s) {
    return s == InitScheme::Constant || s == InitScheme::Normal || s == InitScheme::Uniform;
}
bool isHe(InitScheme s) {
    return s == InitScheme::HeNormal || s == InitScheme::HeUniform;
}

} // namespace

std::string printable(std::string_view text, std::size_t maxChars) {
    if (text.empty())
        return "(empty)";
    std::string out;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) != 0x80) { // a character starts here
            if (chars == maxChars) {
                out += "...";
                break;
            }
            ++chars;
        }
        if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

const std::vector<std::string>& specFieldNames() {
    static const std::vector<std::string> n = [] {
        std::vector<std::string> v;
        for (const Field& f : fields())
            v.push_back(f.info.name);
        return v;
    }();
    return n;
}

const FieldInfo* fieldInfo(std::string_view name) {
    const Field* f = findField(name);
    return f ? &f->info : nullptr;
}

bool isNumericField(std::string_view name) {
    const Field* f = findField(name);
    return f && (f->info.kind == FieldKind::Int || f->info.kind == FieldKind::Double ||
                 f->info.kind == FieldKind::Seed);
}

std::string optionName(std::string_view field) {
    std::string s(field);
    std::replace(s.begin(), s.end(), '_', '-');
    return s;
}

std::string fieldRangeText(const FieldInfo& f) {
    switch (f.kind) {
    case FieldKind::Int:
        return "an integer from " + fmt(f.lo) + " to " + fmt(f.hi);
    case FieldKind::Seed:
        return "an integer from 0 to 18446744073709551615 (2^64 - 1)";
    case FieldKind::Double:
        if (f.loExclusive)
            return "a number greater than " + fmt(f.lo) + " and at most " + fmt(f.hi);
        return "a number from " + fmt(f.lo) + " to " + fmt(f.hi);
    case FieldKind::Choice: {
        std::string s = "one of";
        for (const std::string& c : f.choices)
            s += " " + c;
        return s;
    }
    case FieldKind::IntList:
        return "a non-empty list of integers from " + fmt(f.lo) + " to " + fmt(f.hi);
    case FieldKind::Text:
        return "gaussian, fashion-mnist or a path ending in .csv";
    }
    return "";
}

bool setSpecField(NetworkSpec& spec, std::string_view name, const json& value, std::string& error) {
    const Field* f = findField(name);
    if (!f) {
        error = printable(name) + ": unknown field";
        return false;
    }
    if (!valueOk(f->info, value)) {
        error = std::string(name) + ": must be " + fieldRangeText(f->info) + " (got " +
                describe(value) + ")";
        return false;
    }
    if (f->info.kind == FieldKind::Int && value.is_number_float()) // 3.0 accepted as 3
        f->set(spec, json(static_cast<int>(value.get<double>())));
    else
        f->set(spec, value);
    return true;
}

bool fieldValueFromText(std::string_view name, const std::string& text, json& out,
                        std::string& error) {
    const FieldInfo* f = fieldInfo(name);
    const bool pseudo = name == "sigma_w2";
    if (!f && !pseudo) {
        error = printable(name) + ": unknown field";
        return false;
    }
    auto bad = [&](const std::string& what) {
        error = std::string(name) + ": must be " + what + " (got '" + printable(text, 40) + "')";
        return false;
    };
    const FieldKind kind = pseudo ? FieldKind::Double : f->kind;
    const std::string range = pseudo ? "a number" : fieldRangeText(*f);
    const char* b = text.data();
    const char* e = b + text.size();
    switch (kind) {
    case FieldKind::Seed: {
        std::uint64_t u = 0;
        auto r = std::from_chars(b, e, u);
        if (r.ec != std::errc() || r.ptr != e || text.empty())
            return bad(range);
        out = u;
        return true;
    }
    case FieldKind::Int:
    case FieldKind::Double: {
        double d = 0;
        auto r = std::from_chars(b, e, d);
        if (r.ec != std::errc() || r.ptr != e || text.empty() || !std::isfinite(d))
            return bad(range);
        if (kind == FieldKind::Int && d == std::floor(d) && std::abs(d) < 9e15)
            out = static_cast<std::int64_t>(d); // shown as typed in a range message: 0, not 0.0
        else
            out = d;
        return true;
    }
    case FieldKind::IntList: {
        out = json::array();
        std::size_t pos = 0;
        while (true) {
            const std::size_t comma = text.find(',', pos);
            const std::string item =
                text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            double x = 0;
            auto r = std::from_chars(item.data(), item.data() + item.size(), x);
            if (r.ec != std::errc() || r.ptr != item.data() + item.size() || item.empty())
                return bad("a comma-separated list of integers from " + fmt(f->lo) + " to " +
                           fmt(f->hi));
            out.push_back(x);
            if (comma == std::string::npos)
                break;
            pos = comma + 1;
        }
        return true;
    }
    case FieldKind::Choice:
    case FieldKind::Text:
        out = text;
        return true;
    }
    return false;
}

bool applyFields(NetworkSpec& spec, const FieldLayer& layer, std::vector<SpecError>& errors) {
    FieldLayerView view;
    for (const auto& [name, value] : layer)
        view.emplace_back(name, &value);
    return applyFields(spec, view, errors);
}

bool applyFields(NetworkSpec& spec, const FieldLayerView& layer, std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    auto given = [&](std::string_view n) {
        return std::any_of(layer.begin(), layer.end(),
                           [&](const auto& kv) { return kv.first == n; });
    };
    const json* sigmaW2 = nullptr;
    std::set<std::string> seen;
    std::string known;
    for (const std::string& n : specFieldNames())
        known += (known.empty() ? "" : ", ") + n;
    for (const auto& [name, valuePtr] : layer) {
        const json& value = *valuePtr;
        if (!seen.insert(name).second) {
            errors.push_back({name, printable(name) + ": is given more than once"});
            continue;
        }
        if (name == "sigma_w2") {
            sigmaW2 = &value;
            continue;
        }
        if (name == "heads") { // a list of objects, not a field of the table (heads.h)
            headsFromJson(value, spec.heads, errors);
            continue;
        }
        std::string err;
        if (!findField(name)) {
            errors.push_back(
                {name, printable(name) + ": unknown field (known fields: " + known + ")"});
        } else if (!setSpecField(spec, name, value, err)) {
            errors.push_back({name, err});
        }
    }
    // What the layer leaves out follows from what it sets.
    if (given("sigma_b2") && !given("bias_init") && spec.sigmaB2 > 0)
        spec.biasInit = BiasInit::Normal;
    if (given("bias_init") && !given("sigma_b2") && spec.biasInit != BiasInit::Normal)
        spec.sigmaB2 = 0.0;
    if (given("bias_init") && !given("bias_value") && spec.biasInit != BiasInit::Constant)
        spec.biasValue = kDefaults.biasValue;
    if (given("init") && !given("init_value") && !usesInitValue(spec.init))
        spec.initValue = kDefaults.initValue;
    if (given("init") && !given("fan_mode") && !isHe(spec.init))
        spec.fanMode = kDefaults.fanMode;
    if (given("activation") && !given("activation_slope") &&
        spec.activation != ActivationKind::LeakyRelu)
        spec.activationSlope = kDefaults.activationSlope;
    if ((given("depth") || given("width")) && !given("widths"))
        spec.widths.clear(); // a per-layer list cannot follow a new depth or width
    if (given("arch") && spec.arch != Arch::Resnet) { // the residual fields mean nothing then
        if (!given("branch_depth"))
            spec.branchDepth = kDefaults.branchDepth;
        if (!given("residual_scale"))
            spec.residualScale = kDefaults.residualScale;
    }
    if (given("arch") && spec.arch != Arch::Rnn) { // the recurrent fields mean nothing then
        if (!given("recurrent_init")) {
            spec.recurrentInit = kDefaults.recurrentInit;
            spec.recurrentScheme = kDefaults.recurrentScheme;
        }
        if (!given("rnn_input"))
            spec.rnnInput = kDefaults.rnnInput;
    }
    if (spec.arch == Arch::Rnn && given("arch") && !given("widths"))
        spec.widths.clear(); // every time step has the N hidden units
    if ((given("arch") || given("residual_scale")) && !given("residual_gamma") &&
        spec.residualScale != ResidualScale::Value)
        spec.residualGamma = kDefaults.residualGamma;
    if (spec.arch == Arch::Resnet) {
        if (given("arch") && !given("widths"))
            spec.widths.clear(); // every block keeps the width N
        if ((given("arch") || given("width")) && !given("input_dim"))
            spec.inputDim = spec.width; // the skip adds x^0 to the first block's output
    }
    if (given("arch") && spec.arch != Arch::Cnn) { // the conv fields mean nothing then
        for (const char* n : {"channels", "input_channels", "kernel", "image", "conv_fan"})
            if (!given(n))
                findField(n)->set(spec, findField(n)->get(kDefaults));
    }
    if (given("data") && isRealData(spec.data)) {
        int dim = 0, count = 0;
        std::string err;
        if (!given("input_dim") && probeData(spec.data, dim, count, err))
            spec.inputDim = dim; // a data set that cannot be read is validate()'s to report
        if (!given("input_mean"))
            spec.inputMean = kDefaults.inputMean;
    }
    if (spec.arch == Arch::Cnn) {
        // a cnn has channels, not widths: width and widths keep their defaults (validate refuses
        // them set), and input_dim is the image's C0 S^2 (real data: the data's, read as
        // sqrt(D) x sqrt(D) x 1 images unless image or input_channels say otherwise)
        if (given("arch") && !given("width"))
            spec.width = kDefaults.width;
        if (given("arch") && !given("widths"))
            spec.widths.clear();
        if (isRealData(spec.data)) {
            const int root = static_cast<int>(std::lround(std::sqrt(spec.inputDim)));
            if ((given("arch") || given("data")) && !given("image") && !given("input_channels") &&
                root * root == spec.inputDim && root <= Limits::kMaxImage) {
                spec.image = root;
                spec.inputChannels = 1;
            }
        } else if ((given("arch") || given("input_channels") || given("image") || given("data")) &&
                   !given("input_dim")) {
            spec.inputDim = spec.inputChannels * spec.image * spec.image;
        }
    }
    if (given("data") && !given("standardize") && !isRealData(spec.data))
        spec.standardize = kDefaults.standardize;
    // "standardize no" with gaussian data is validate()'s to refuse; an explicit "yes" (the
    // default, which validate cannot tell from no setting) is refused here
    if (given("standardize") && !isRealData(spec.data) && spec.standardize == kDefaults.standardize)
        errors.push_back({"standardize", "standardize: applies to real data only, and data is " +
                                             printable(spec.data) +
                                             " (set data fashion-mnist or FILE.csv, or leave "
                                             "standardize out)"});
    if (sigmaW2) {
        const json& v = *sigmaW2;
        const bool number = v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0;
        if (given("gain")) {
            errors.push_back({"sigma_w2",
                              "sigma_w2: sets the gain of the chosen init, so it cannot "
                              "be given together with gain (choose one)"});
        } else if (!number) {
            errors.push_back(
                {"sigma_w2", "sigma_w2: must be a number >= 0 (got " + describe(v) + ")"});
        } else if (!hasFanScaledVariance(spec.init)) {
            errors.push_back({"sigma_w2", "sigma_w2: init " + initSchemeName(spec.init) +
                                              " has no fan-scaled variance to set (sigma_w2 "
                                              "needs init lecun-*, xavier-*, he-* or "
                                              "orthogonal; with init " +
                                              initSchemeName(spec.init) +
                                              " set gain or init_value instead)"});
        } else if (errors.size() == before) {
            const double s = v.get<double>();
            const double g = gainForSigmaW2(spec, s);
            if (!std::isfinite(g) || g > Limits::kMaxGain) {
                const double maxS = Limits::kMaxGain * (s > 0 ? s / g : 0.0);
                errors.push_back({"sigma_w2", "sigma_w2: must be a number from 0 to " + fmt(maxS) +
                                                  " with init " + initSchemeName(spec.init) +
                                                  " at these fans (the gain is at most " +
                                                  fmt(Limits::kMaxGain) + ") (got " + describe(v) +
                                                  ")"});
            } else {
                spec.gain = g;
            }
        }
    }
    return errors.size() == before;
}

std::vector<SpecError> validateFields(const NetworkSpec& s) {
    std::vector<SpecError> e;
    for (const Field& f : fields()) {
        if (f.info.kind == FieldKind::IntList) {
            for (std::size_t i = 0; i < s.widths.size(); ++i)
                if (s.widths[i] < f.info.lo || s.widths[i] > f.info.hi)
                    e.push_back({"widths", "widths[" + std::to_string(i) + "]: must be " +
                                               fieldRangeText(*fieldInfo("width")) + " (got " +
                                               std::to_string(s.widths[i]) + ")"});
            continue;
        }
        std::string err;
        NetworkSpec probe;
        if (!setSpecField(probe, f.info.name, f.get(s), err))
            e.push_back({f.info.name, err});
    }
    if (!s.widths.empty() && static_cast<long long>(s.widths.size()) != s.depth)
        e.push_back({"widths", "widths: must list one width per layer: " + std::to_string(s.depth) +
                                   " entries for depth " + std::to_string(s.depth) + " (got " +
                                   std::to_string(s.widths.size()) + ")"});
    // Settings that others make meaningless: refused, naming both fields.
    auto ignored = [&](const std::string& field, const std::string& value,
                       const std::string& governing, const std::string& needs) {
        e.push_back({field, field + ": " + value + " is ignored by " + governing + " (" + field +
                                " needs " + needs + "): change " + governing + " or leave " +
                                field + " out"});
    };
    if (s.sigmaB2 > 0 && s.biasInit != BiasInit::Normal)
        ignored("sigma_b2", fmt(s.sigmaB2), "bias_init " + biasInitName(s.biasInit),
                "bias_init normal; sigma_b2 alone implies it");
    if (s.biasValue != kDefaults.biasValue && s.biasInit != BiasInit::Constant)
        ignored("bias_value", fmt(s.biasValue), "bias_init " + biasInitName(s.biasInit),
                "bias_init constant");
    // an rnn's recurrent W may have a scheme of its own that reads init_value or fan_mode
    const bool ownW = s.arch == Arch::Rnn && s.recurrentInit == RecurrentInit::Scheme;
    if (s.initValue != kDefaults.initValue && !usesInitValue(s.init) &&
        !(ownW && usesInitValue(s.recurrentScheme)))
        ignored("init_value", fmt(s.initValue), "init " + initSchemeName(s.init),
                "init constant, normal or uniform");
    if (s.fanMode != kDefaults.fanMode && !isHe(s.init) && !(ownW && isHe(s.recurrentScheme)))
        ignored("fan_mode", fanModeName(s.fanMode), "init " + initSchemeName(s.init),
                "init he-normal or he-uniform");
    if (s.activationSlope != kDefaults.activationSlope && s.activation != ActivationKind::LeakyRelu)
        ignored("activation_slope", fmt(s.activationSlope),
                "activation " + activationName(s.activation), "activation leaky-relu");
    if (s.arch != Arch::Resnet) {
        if (s.branchDepth != kDefaults.branchDepth)
            ignored("branch_depth", std::to_string(s.branchDepth), "arch " + archName(s.arch),
                    "arch resnet");
        if (s.residualScale != kDefaults.residualScale)
            ignored("residual_scale", residualScaleName(s.residualScale),
                    "arch " + archName(s.arch), "arch resnet");
    }
    if (s.residualGamma != kDefaults.residualGamma && s.residualScale != ResidualScale::Value)
        ignored("residual_gamma", fmt(s.residualGamma),
                "residual_scale " + residualScaleName(s.residualScale),
                "residual_scale value and arch resnet");
    if (s.arch == Arch::Resnet) {
        if (!s.widths.empty())
            e.push_back({"widths", "widths: arch resnet keeps one width N in every block (set "
                                   "width, leave widths out)"});
        if (s.inputDim != s.width)
            e.push_back({"input_dim", "input_dim: arch resnet adds the input x^0 to the first "
                                      "block's output, so input_dim must equal width (input_dim " +
                                          std::to_string(s.inputDim) + ", width " +
                                          std::to_string(s.width) + ")"});
        if (s.residualScale == ResidualScale::Fixup && s.branchDepth < 2)
            e.push_back({"residual_scale",
                         "residual_scale: fixup scales a branch's first m - 1 layers by "
                         "L^(-1/(2m-2)), so it needs branch_depth 2 or more (got branch_depth " +
                             std::to_string(s.branchDepth) + ")"});
    }
    if (s.arch != Arch::Cnn) {
        if (s.channels != kDefaults.channels)
            ignored("channels", std::to_string(s.channels), "arch " + archName(s.arch), "arch cnn");
        if (s.inputChannels != kDefaults.inputChannels)
            ignored("input_channels", std::to_string(s.inputChannels), "arch " + archName(s.arch),
                    "arch cnn");
        if (s.kernel != kDefaults.kernel)
            ignored("kernel", std::to_string(s.kernel), "arch " + archName(s.arch), "arch cnn");
        if (s.image != kDefaults.image)
            ignored("image", std::to_string(s.image), "arch " + archName(s.arch), "arch cnn");
        if (s.convFan != kDefaults.convFan)
            ignored("conv_fan", convFanName(s.convFan), "arch " + archName(s.arch), "arch cnn");
        if (s.init == InitScheme::DeltaOrthogonal)
            e.push_back({"init", "init: delta-orthogonal is a convolution kernel (zero except an "
                                 "orthogonal centre tap), so it needs arch cnn (got arch " +
                                     archName(s.arch) +
                                     "; choose orthogonal for dense layers, or set arch cnn)"});
    } else {
        if (s.kernel % 2 == 0)
            e.push_back({"kernel", "kernel: must be odd (a centre tap; got " +
                                       std::to_string(s.kernel) + ")"});
        if (s.kernel > s.image)
            e.push_back({"kernel", "kernel: " + std::to_string(s.kernel) +
                                       " is larger than image " + std::to_string(s.image) +
                                       " (circular padding would wrap a kernel round the image: "
                                       "lower kernel or raise image)"});
        if (s.init == InitScheme::DeltaOrthogonal && s.convFan != kDefaults.convFan)
            ignored("conv_fan", convFanName(s.convFan), "init delta-orthogonal",
                    "a scheme scaled by the kernel's fans; delta-orthogonal's centre tap has "
                    "variance gain / C_in whatever k is");
        if (s.width != kDefaults.width)
            e.push_back({"width", "width: arch cnn has channels C in every layer, not a width "
                                  "(its units are C S^2 = " +
                                      std::to_string(s.channels * s.image * s.image) +
                                      "): set channels and image, leave width out"});
        if (!s.widths.empty())
            e.push_back({"widths", "widths: arch cnn keeps channels C in every layer (set "
                                   "channels, leave widths out)"});
        const long long want = static_cast<long long>(s.inputChannels) * s.image * s.image;
        if (s.inputDim != want)
            e.push_back(
                {"input_dim", "input_dim: arch cnn takes image x image x input_channels inputs, so "
                              "input_dim must be " +
                                  std::to_string(s.inputChannels) + " x " +
                                  std::to_string(s.image) + "^2 = " + std::to_string(want) +
                                  " (got input_dim " + std::to_string(s.inputDim) +
                                  (isRealData(s.data) ? ", the data's features; set image and "
                                                        "input_channels to the data's shape)"
                                                      : "; leave input_dim out to derive it)")});
    }
    if (s.arch != Arch::Rnn) {
        if (s.recurrentInit != kDefaults.recurrentInit)
            ignored("recurrent_init", recurrentInitName(s.recurrentInit, s.recurrentScheme),
                    "arch " + archName(s.arch), "arch rnn");
        if (s.rnnInput != kDefaults.rnnInput)
            ignored("rnn_input", rnnInputName(s.rnnInput), "arch " + archName(s.arch), "arch rnn");
    } else {
        if (!s.widths.empty())
            e.push_back({"widths", "widths: arch rnn has the same N hidden units at every time "
                                   "step (set width, leave widths out)"});
        if (s.recurrentInit == RecurrentInit::Scheme &&
            s.recurrentScheme == InitScheme::DeltaOrthogonal)
            e.push_back({"recurrent_init", "recurrent_init: delta-orthogonal is a convolution "
                                           "kernel (arch cnn); the recurrent W is a dense N x N "
                                           "matrix: choose orthogonal"});
        if (s.data != kDefaults.data)
            e.push_back({"data", "data: arch rnn draws a Gaussian input x_t per time step, so it "
                                 "needs data gaussian (got data " +
                                     printable(s.data, 200) + "): change data or arch"});
    }
    // Real data: its dimension and its number of examples bound input_dim and batch.
    DataKind dataKind{};
    if (parseDataKind(s.data, dataKind)) {
        if (dataKind == DataKind::Gaussian) {
            if (s.standardize != kDefaults.standardize)
                ignored("standardize", "no", "data gaussian", "data fashion-mnist or FILE.csv");
        } else {
            const std::string dataName = "data " + printable(s.data, 200);
            if (s.inputMean != kDefaults.inputMean)
                ignored("input_mean", fmt(s.inputMean), dataName,
                        "data gaussian; input_scale still multiplies real data");
            int dim = 0, count = 0;
            std::string err;
            if (!probeData(s.data, dim, count, err)) {
                e.push_back({"data", err});
            } else {
                if (s.inputDim != dim)
                    e.push_back({"input_dim", "input_dim: " + std::to_string(s.inputDim) +
                                                  " conflicts with " + dataName + ", which has " +
                                                  std::to_string(dim) +
                                                  " features (the data sets input_dim: leave "
                                                  "input_dim out or set it to " +
                                                  std::to_string(dim) + ")"});
                if (s.batch > count)
                    e.push_back({"batch", "batch: " + std::to_string(s.batch) +
                                              " is more than the " + std::to_string(count) +
                                              " training examples of " + dataName +
                                              " (lower batch)"});
            }
        }
    }
    for (SpecError& h : validateHeads(s))
        e.push_back(std::move(h));
    return e;
}

json specToJson(const NetworkSpec& spec) {
    json o = json::object();
    for (const Field& f : fields()) {
        if (f.info.name == "threads")
            continue;
        if (f.info.name == "memory_budget_gib" && spec.memoryBudgetGiB == kDefaults.memoryBudgetGiB)
            continue;
        // the family's fields only where they say something: an mlp preset (every v1 preset)
        // serialises as it always has
        if ((f.info.name == "arch" || f.info.name == "branch_depth" ||
             f.info.name == "residual_scale" || f.info.name == "residual_gamma" ||
             f.info.name == "channels" || f.info.name == "input_channels" ||
             f.info.name == "kernel" || f.info.name == "image" || f.info.name == "conv_fan" ||
             f.info.name == "recurrent_init" || f.info.name == "rnn_input") &&
            f.get(spec) == f.get(kDefaults))
            continue;
        if (f.info.kind == FieldKind::IntList && spec.widths.empty())
            continue;
        // written only when not the default, so presets of drawn inputs read as before
        if (f.info.name == "data" && spec.data == kDefaults.data)
            continue;
        if (f.info.name == "standardize" && spec.standardize == kDefaults.standardize)
            continue;
        o[f.info.name] = f.get(spec);
    }
    if (!spec.heads.empty()) // written only when there are heads: every spec before reads alike
        o["heads"] = headsToJson(spec.heads);
    return o;
}

bool specFromJson(const json& object, NetworkSpec& spec, std::vector<SpecError>& errors) {
    const std::size_t before = errors.size();
    if (!object.is_object()) {
        errors.push_back({"spec", "spec: must be a JSON object of fields (got " +
                                      std::string(object.type_name()) + ")"});
        return false;
    }
    FieldLayerView layer;
    for (const auto& [key, value] : object.items()) {
        if (key == "sigma_w2") { // a CLI shorthand, not a stored field
            errors.push_back({key, "sigma_w2: is not a preset field (store init and gain)"});
            continue;
        }
        layer.emplace_back(key, &value);
    }
    applyFields(spec, layer, errors);
    if (errors.size() == before)
        for (SpecError& e : validateFields(spec))
            errors.push_back(std::move(e));
    return errors.size() == before;
}

} // namespace initscope

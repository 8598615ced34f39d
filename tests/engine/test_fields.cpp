// The field table's one meaning per setting: ranges, settings that others make meaningless,
// the implications of a layer of settings, sigma_w2 for the chosen scheme, and the command-line
// parser shared by initscope-cli and the GUI.
#include "analysis/sweep.h"
#include "spec/fields.h"
#include "spec/options.h"
#include "spec/preset.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace initscope;
using json = nlohmann::json;

namespace {

bool mentions(const std::vector<SpecError>& errors, const std::string& a, const std::string& b) {
    for (const SpecError& e : errors)
        if (e.message.find(a) != std::string::npos && e.message.find(b) != std::string::npos)
            return true;
    return false;
}

NetworkSpec applied(const FieldLayer& layer, std::vector<SpecError>& errors,
                    NetworkSpec base = {}) {
    applyFields(base, layer, errors);
    if (errors.empty())
        errors = validateFields(base);
    return base;
}

} // namespace

TEST(Fields, SigmaB2AloneMeansNormalBiases) {
    std::vector<SpecError> errors;
    const NetworkSpec s = applied({{"sigma_b2", 0.05}}, errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(s.biasInit, BiasInit::Normal);
    EXPECT_EQ(effectiveSigmaB2(s), 0.05);
}

TEST(Fields, ExplicitZerosOrConstantBiasWithSigmaB2IsRefusedNamingBoth) {
    for (const char* init : {"zeros", "constant"}) {
        std::vector<SpecError> errors;
        applied({{"bias_init", init}, {"sigma_b2", 0.05}}, errors);
        EXPECT_TRUE(mentions(errors, "sigma_b2", "bias_init")) << init;
    }
    // the same in a preset's spec object
    NetworkSpec s;
    std::vector<SpecError> errors;
    EXPECT_FALSE(specFromJson(json{{"bias_init", "zeros"}, {"sigma_b2", 0.05}}, s, errors));
    EXPECT_TRUE(mentions(errors, "sigma_b2", "bias_init"));
}

TEST(Fields, ChangingTheGoverningFieldAloneResetsWhatItWouldIgnore) {
    // an override layer that switches the biases to zeros drops the lower layer's sigma_b2,
    // instead of leaving a value that no longer applies
    NetworkSpec base;
    base.biasInit = BiasInit::Normal;
    base.sigmaB2 = 0.05;
    std::vector<SpecError> errors;
    const NetworkSpec s = applied({{"bias_init", "zeros"}}, errors, base);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(s.sigmaB2, 0.0);
    NetworkSpec leaky;
    leaky.activation = ActivationKind::LeakyRelu;
    leaky.activationSlope = 0.2;
    const NetworkSpec t = applied({{"activation", "tanh"}}, errors, leaky);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(t.activationSlope, NetworkSpec{}.activationSlope);
}

TEST(Fields, IgnoredSettingsAreErrorsNamingBothFields) {
    const std::vector<std::pair<FieldLayer, std::pair<std::string, std::string>>> cases{
        {{{"init", "he-normal"}, {"init_value", 0.5}}, {"init_value", "init he-normal"}},
        {{{"init", "lecun-normal"}, {"fan_mode", "fan-out"}}, {"fan_mode", "init lecun-normal"}},
        {{{"activation", "tanh"}, {"activation_slope", 0.2}},
         {"activation_slope", "activation tanh"}},
        {{{"bias_init", "zeros"}, {"bias_value", 0.1}}, {"bias_value", "bias_init zeros"}},
    };
    for (const auto& [layer, names] : cases) {
        std::vector<SpecError> errors;
        applied(layer, errors);
        EXPECT_TRUE(mentions(errors, names.first, names.second))
            << names.first << " / " << names.second;
    }
}

TEST(Fields, SigmaW2SetsTheChosenSchemesEffectiveVariance) {
    // --init orthogonal --sigma-w2 1.2 keeps orthogonal weights, with Var(W) fanIn = 1.2
    std::vector<SpecError> errors;
    const NetworkSpec o = applied(
        {{"sigma_w2", 1.2}, {"init", "orthogonal"}, {"width", 64}, {"input_dim", 32}}, errors);
    ASSERT_TRUE(errors.empty());
    EXPECT_EQ(o.init, InitScheme::Orthogonal);
    EXPECT_NEAR(effectiveSigmaW2(o, referenceLayer(o)), 1.2, 1e-12);
    // xavier depends on both fans: the gain is what gives the reference layer 1.2
    const NetworkSpec x =
        applied({{"init", "xavier-normal"}, {"width", 64}, {"sigma_w2", 1.2}}, errors);
    ASSERT_TRUE(errors.empty());
    EXPECT_NEAR(effectiveSigmaW2(x, referenceLayer(x)), 1.2, 1e-12);
    EXPECT_NEAR(x.gain, 1.2, 1e-12); // equal fans: xavier's base variance is 1/fanIn
}

TEST(Fields, SigmaW2IsRefusedWithoutAFanScaledSchemeOrBesideGain) {
    for (const char* init : {"zeros", "constant", "normal", "uniform"}) {
        std::vector<SpecError> errors;
        applied({{"init", init}, {"sigma_w2", 1.0}}, errors);
        EXPECT_TRUE(mentions(errors, "sigma_w2", std::string("init ") + init)) << init;
    }
    std::vector<SpecError> errors;
    applied({{"gain", 2.0}, {"sigma_w2", 1.0}}, errors);
    EXPECT_TRUE(mentions(errors, "sigma_w2", "gain"));
    // out of range: blamed on sigma_w2 (the option given), with its own bound
    errors.clear();
    applied({{"sigma_w2", 1e7}}, errors);
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.front().field, "sigma_w2");
    EXPECT_NE(errors.front().message.find("from 0 to 1e+06"), std::string::npos)
        << errors.front().message;
}

TEST(Fields, TypeErrorsGiveTheRange) {
    NetworkSpec s;
    std::string err;
    EXPECT_FALSE(setSpecField(s, "depth", "abc", err));
    EXPECT_NE(err.find("an integer from 1 to 5000"), std::string::npos) << err;
    EXPECT_FALSE(setSpecField(s, "depth", 1e300, err));
    EXPECT_NE(err.find("an integer from 1 to 5000"), std::string::npos) << err;
    json v;
    EXPECT_FALSE(fieldValueFromText("depth", "inf", v, err));
    EXPECT_NE(err.find("(got 'inf')"), std::string::npos) << err;
    EXPECT_FALSE(setSpecField(s, "seed", -5, err));
    EXPECT_NE(err.find("from 0 to 18446744073709551615"), std::string::npos) << err;
}

TEST(Fields, SweepPointsAreRefusedNotWrappedOrClamped) {
    const NetworkSpec base;
    EXPECT_FALSE(sweepPointErrors(base, "depth", 4294967299.0).empty());
    EXPECT_FALSE(sweepPointErrors(base, "seed", -5).empty());
    EXPECT_FALSE(sweepPointErrors(base, "seed", 1e30).empty());
    EXPECT_TRUE(sweepPointErrors(base, "seed", 7).empty());
    EXPECT_EQ(sweepSpec(base, "seed", 7).seed, 7u);
    // a sigma_b2 sweep varies normal biases (sigma_b2 alone implies them)
    EXPECT_EQ(sweepSpec(base, "sigma_b2", 0.1).biasInit, BiasInit::Normal);
    // a sigma_w2 sweep keeps the scheme
    NetworkSpec orth;
    orth.init = InitScheme::Orthogonal;
    EXPECT_EQ(sweepSpec(orth, "sigma_w2", 1.5).init, InitScheme::Orthogonal);
}

TEST(Fields, PresetWithRaisedMemoryBudgetRoundTrips) {
    Preset p;
    p.name = "big";
    p.spec.memoryBudgetGiB = 64;
    p.spec.width = 16384;
    p.spec.inputDim = 16384;
    p.spec.depth = 20; // about 40 GiB of weights: above the default budget of 4 GiB
    NetworkSpec atDefaultBudget = p.spec;
    atDefaultBudget.memoryBudgetGiB = NetworkSpec{}.memoryBudgetGiB;
    ASSERT_FALSE(validateMemory(atDefaultBudget).empty()) << "the test needs a network over 4 GiB";
    const PresetParse r = parsePreset(presetToJson(p));
    ASSERT_TRUE(r.preset) << (r.errors.empty() ? "" : r.errors.front().message);
    EXPECT_EQ(r.preset->spec.memoryBudgetGiB, 64);
    EXPECT_TRUE(validate(r.preset->spec).empty());
}

TEST(Fields, DuplicateKeysInAPresetAreRefused) {
    const std::string text = R"({"format": "initscope-preset", "version": 1, "name": "x",
        "spec": {"depth": 5, "depth": 6}})";
    const PresetParse r = parsePreset(text);
    EXPECT_FALSE(r.preset);
    bool named = false;
    for (const SpecError& e : r.errors)
        named =
            named || (e.field == "depth" && e.message.find("more than once") != std::string::npos);
    EXPECT_TRUE(named);
    const PresetParse twoSpecs =
        parsePreset(R"({"format": "initscope-preset", "version": 1, "name": "x", "spec": {},
            "spec": {"depth": 3}})");
    EXPECT_FALSE(twoSpecs.preset);
}

TEST(Fields, ManyUnknownKeysGiveABoundedMessage) {
    std::string text = R"({"format": "initscope-preset", "version": 1, "name": "x", "spec": {)";
    for (int i = 0; i < 20000; ++i)
        text += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\": 1";
    text += "}}";
    const PresetParse r = parsePreset(text);
    EXPECT_FALSE(r.preset);
    const std::string m = describeErrors(r.errors, false);
    EXPECT_LT(m.size(), 8000u) << "a message for 20000 unknown keys must stay readable";
    EXPECT_NE(m.find("more problems"), std::string::npos);
}

TEST(Fields, KeysAreShownCutAndEscaped) {
    EXPECT_EQ(printable(""), "(empty)");
    EXPECT_EQ(printable("a\x01"
                        "b"),
              "a\\x01b");
    EXPECT_EQ(printable(std::string(500, 'k'), 10), "kkkkkkkkkk...");
    NetworkSpec s;
    std::vector<SpecError> errors;
    specFromJson(json{{"", 1}}, s, errors);
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.front().message.rfind("(empty): unknown field", 0), 0u)
        << errors.front().message;
}

TEST(Options, RepeatedOptionsAndMissingValuesAreRefused) {
    EXPECT_THROW(CommandLine({"--depth", "5", "--depth", "6"}, {}), OptionError);
    EXPECT_THROW(CommandLine({"--depth=5", "--depth", "6"}, {}), OptionError);
    try {
        CommandLine({"--depth", "--width", "5"}, {});
        FAIL() << "--depth without a value was accepted";
    } catch (const OptionError& e) {
        EXPECT_NE(std::string(e.what()).find("--depth needs a value"), std::string::npos)
            << e.what();
    }
    // a negative number is a value, not an option
    CommandLine ok({"--input-mean", "-1"}, {});
    EXPECT_EQ(ok.take("input-mean").value_or(""), "-1");
}

TEST(Options, RunOptionsGoThroughTheFieldTable) {
    CommandLine c({"--width", "64", "--sigma-b2", "0.05", "--seed", "3000000001", "--view", "x"},
                  {});
    NetworkSpec s;
    std::vector<SpecError> errors;
    ASSERT_TRUE(c.applyRunOptions(s, errors));
    EXPECT_EQ(s.width, 64);
    EXPECT_EQ(s.inputDim, NetworkSpec{}.inputDim) << "--width is not --input-dim";
    EXPECT_EQ(s.biasInit, BiasInit::Normal);
    EXPECT_EQ(s.seed, 3000000001u);
    EXPECT_EQ(c.take("view").value_or(""), "x") << "non-field options are left for the caller";
}

TEST(Options, MessagesNameOptions) {
    std::vector<SpecError> errors;
    CommandLine c({"--bias-init", "zeros", "--sigma-b2", "0.05"}, {});
    NetworkSpec s;
    c.applyRunOptions(s, errors);
    if (errors.empty())
        errors = validate(s);
    const std::string m = describeErrors(errors, true);
    EXPECT_NE(m.find("--sigma-b2"), std::string::npos) << m;
    EXPECT_NE(m.find("--bias-init"), std::string::npos) << m;
}

TEST(Presets, ViewSettingsBelongToTheViewOpened) {
    const std::string head = R"({"format": "initscope-preset", "version": 1, "name": "x", )";
    const PresetParse ok =
        parsePreset(head + R"("view": "ntk", "view_settings": {"inputs": 32}, "spec": {}})");
    ASSERT_TRUE(ok.preset) << ok.errors.front().message;
    EXPECT_EQ(ok.preset->viewInputs, 32);
    // round trip
    const PresetParse again = parsePreset(presetToJson(*ok.preset));
    ASSERT_TRUE(again.preset);
    EXPECT_EQ(again.preset->viewInputs, 32);
    // a setting the opened view does not take, out of the view's range, or beyond the batch
    for (const char* bad :
         {R"("view": "signal", "view_settings": {"inputs": 32}, "spec": {}})",
          R"("view": "jacobian", "view_settings": {"inputs": 32}, "spec": {}})",
          R"("view": "ntk", "view_settings": {"inputs": 1}, "spec": {}})",
          R"("view": "ntk", "view_settings": {"bins": 3}, "spec": {}})",
          R"("view": "ntk", "view_settings": {"inputs": 64}, "spec": {"batch": 16}})"}) {
        const PresetParse r = parsePreset(head + std::string(bad));
        EXPECT_FALSE(r.preset) << bad;
        ASSERT_FALSE(r.errors.empty());
        EXPECT_EQ(r.errors.front().field.rfind("view_settings", 0), 0u) << r.errors.front().field;
    }
    // the bundled NTK lesson stores the 32 inputs its note's figures need
    EXPECT_EQ(findBundledPreset("ntk-conditioning")->viewInputs, 32);
}

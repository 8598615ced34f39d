// Presets: exact round trip, every bundled preset valid, and bad input named precisely.
#include "spec/fields.h"
#include "spec/preset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace initscope;

TEST(Presets, RoundTripIsExact) {
    Preset p;
    p.name = "round-trip";
    p.title = "A title with \"quotes\" and unicode: sigma_w\u00b2";
    p.note = "line 1\nline 2";
    p.view = "gradients";
    p.spec.depth = 7;
    p.spec.widths = {10, 20, 30, 40, 50, 60, 70};
    p.spec.inputDim = 33;
    p.spec.activation = ActivationKind::LeakyRelu;
    p.spec.activationSlope = 0.123456789012345;
    p.spec.init = InitScheme::HeUniform;
    p.spec.fanMode = FanMode::FanOut;
    p.spec.gain = 1.0 / 3.0; // not representable in decimal: must still round-trip exactly
    p.spec.biasInit = BiasInit::Normal;
    p.spec.sigmaB2 = 0.05;
    p.spec.batch = 99;
    p.spec.inputMean = 1e-300;
    p.spec.inputScale = 2.5;
    p.spec.seed = 18446744073709551615ULL; // the largest seed
    p.spec.learningRate = 3e-4;
    p.spec.loss = Loss::Mse;
    p.spec.histBins = 17;
    p.spec.histRange = 6.5;
    const PresetParse r = parsePreset(presetToJson(p));
    ASSERT_TRUE(r.preset.has_value()) << (r.errors.empty() ? "" : r.errors[0].message);
    EXPECT_EQ(*r.preset, p);
}

TEST(Presets, EveryBundledPresetIsValid) {
    ASSERT_GE(bundledPresets().size(), 2u);
    for (const Preset& p : bundledPresets()) {
        EXPECT_TRUE(validate(p.spec).empty()) << p.name;
        EXPECT_FALSE(p.title.empty()) << p.name;
        EXPECT_FALSE(p.note.empty()) << p.name;
        EXPECT_EQ(findBundledPreset(p.name), &p);
    }
}

struct BadCase {
    const char* text;
    const char* field;    // the field the first error must name
    const char* fragment; // and a piece of its message
};

class BadPreset : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadPreset, IsRejectedWithFieldNamed) {
    const BadCase c = GetParam();
    const PresetParse r = parsePreset(c.text);
    ASSERT_FALSE(r.preset.has_value()) << c.text;
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors[0].field, c.field) << r.errors[0].message;
    EXPECT_NE(r.errors[0].message.find(c.fragment), std::string::npos) << r.errors[0].message;
}

#define HEAD R"("format": "initscope-preset", "version": 1, "name": "x", )"
INSTANTIATE_TEST_SUITE_P(
    Inline, BadPreset,
    ::testing::Values(
        BadCase{"", "json", "not valid JSON"},
        BadCase{"{\"format\": \"initscope-preset\", \"vers", "json", "line 1"},
        BadCase{"[1, 2]", "json", "must be a JSON object"},
        BadCase{R"({"version": 1, "name": "x", "spec": {}})", "format", "initscope-preset"},
        BadCase{R"({"format": "initscope-preset", "version": 9, "name": "x", "spec": {}})",
                "version", "not supported"},
        BadCase{"{" HEAD R"("spec": {"depth": 0}})", "depth", "from 1 to 5000"},
        BadCase{"{" HEAD R"("spec": {"depth": "ten"}})", "depth", "must be an integer"},
        BadCase{"{" HEAD R"("spec": {"depth": 2.5}})", "depth", "must be an integer"},
        BadCase{"{" HEAD R"("spec": {"activation": "tanhh"}})", "activation", "one of linear tanh"},
        BadCase{"{" HEAD R"("spec": {"gain": -1}})", "gain", "from 0 to"},
        BadCase{"{" HEAD R"("spec": {"deepth": 3}})", "deepth", "unknown field"},
        BadCase{"{" HEAD R"("spec": {"depth": 3, "widths": [4, 4]}})", "widths",
                "one width per layer"},
        BadCase{"{" HEAD R"("spec": {"seed": -4}})", "seed", "from 0 to 18446744073709551615"},
        BadCase{"{" HEAD R"("spec": [1]})", "spec", "JSON object"},
        BadCase{R"({"format": "initscope-preset", "version": 1, "name": "Bad Name", "spec": {}})",
                "name", "a-z"},
        BadCase{"{" HEAD R"("view": "nope", "spec": {}})", "view", "must be one of"}));
#undef HEAD

TEST(Presets, OversizedTextIsRefusedBeforeParsing) {
    const std::string big(kMaxPresetBytes + 1, ' ');
    const PresetParse r = parsePreset(big);
    ASSERT_FALSE(r.preset);
    EXPECT_EQ(r.errors[0].field, "file");
}

TEST(Presets, FailedSaveLeavesOldFileIntact) {
    const auto dir = std::filesystem::temp_directory_path() / "initscope-test-presets";
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "keep.json").string();
    Preset p;
    p.name = "keep";
    ASSERT_EQ(writePresetFile(p, path), "");
    // a save into a directory that does not exist fails without touching anything
    EXPECT_NE(writePresetFile(p, (dir / "missing" / "x.json").string()), "");
    const PresetParse back = readPresetFile(path);
    ASSERT_TRUE(back.preset);
    EXPECT_EQ(back.preset->name, "keep");
    std::filesystem::remove_all(dir);
}

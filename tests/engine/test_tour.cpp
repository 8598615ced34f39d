// Tours (engine/spec/tour.h): the bundled lesson tour names only bundled presets, views and
// settings that exist; a tour written and read again is the same tour; every malformed tour is
// refused with an error naming the step and the field; steps resolve bundled presets, preset files
// relative to the tour's folder and inline presets.
#include "spec/fields.h"
#include "spec/preset.h"
#include "spec/tour.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace initscope;

namespace {

bool hasError(const std::vector<SpecError>& errors, const std::string& field,
              const std::string& words) {
    return std::any_of(errors.begin(), errors.end(), [&](const SpecError& e) {
        return e.field == field && e.message.find(words) != std::string::npos;
    });
}

std::string allErrors(const std::vector<SpecError>& errors) {
    std::string s;
    for (const auto& e : errors)
        s += "[" + e.field + "] " + e.message + "\n";
    return s;
}

/// A valid tour text with `step` as its only step.
std::string withStep(const std::string& step) {
    return R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": [)" + step + "]}";
}

} // namespace

TEST(BundledTour, EveryStepIsABundledPresetWithAViewAndControlsThatExist) {
    const Tour& t = bundledTour();
    // the 20 presets of this build are all in the tour; rows for presets of families still to
    // come may be listed, and are then left out
    ASSERT_GE(t.steps.size(), 20u);
    EXPECT_FALSE(t.title.empty());
    const auto& fields = specFieldNames();
    for (const TourStep& s : t.steps) {
        SCOPED_TRACE(s.preset);
        EXPECT_EQ(s.source, TourStep::Source::Bundled);
        ASSERT_NE(findBundledPreset(s.preset), nullptr);
        EXPECT_NE(std::find(presetViews().begin(), presetViews().end(), s.view),
                  presetViews().end());
        EXPECT_FALSE(s.note.empty());
        EXPECT_LE(s.controls.size(), kMaxStepControls);
        for (const std::string& c : s.controls)
            EXPECT_NE(std::find(fields.begin(), fields.end(), c), fields.end()) << c;
    }
    // each bundled preset once, in THEORY.md's order: symmetry first
    EXPECT_EQ(t.steps.front().preset, "symmetry-constant");
    for (std::size_t i = 0; i < t.steps.size(); ++i)
        for (std::size_t j = i + 1; j < t.steps.size(); ++j)
            EXPECT_NE(t.steps[i].preset, t.steps[j].preset);
    // every bundled preset is a step of the lesson
    for (const Preset& p : bundledPresets())
        EXPECT_TRUE(std::any_of(t.steps.begin(), t.steps.end(),
                                [&](const TourStep& s) { return s.preset == p.name; }))
            << p.name << " is bundled but not in the lesson tour";
    // and it resolves: every step has its preset, with the step's view
    const TourResolve r = resolveTour(t, "");
    EXPECT_TRUE(r.errors.empty()) << allErrors(r.errors);
    ASSERT_EQ(r.stops.size(), t.steps.size());
    for (std::size_t i = 0; i < r.stops.size(); ++i) {
        EXPECT_EQ(r.stops[i].preset.view, t.steps[i].view);
        EXPECT_EQ(r.stops[i].preset.spec, findBundledPreset(t.steps[i].preset)->spec);
        EXPECT_EQ(r.stops[i].title, findBundledPreset(t.steps[i].preset)->title);
    }
}

TEST(BundledTour, RowsOfPresetsNotBundledAreLeftOut) {
    const std::vector<BundledTourRow> rows = {
        {"he-relu", "signal", "gain", "one"},
        {"rnn-not-yet-bundled", "signal", "depth", "a family still to come"},
        {"xavier-tanh", "", "gain, depth", "two"},
    };
    const Tour t = tourFromRows(rows, "x");
    ASSERT_EQ(t.steps.size(), 2u);
    EXPECT_EQ(t.steps[0].preset, "he-relu");
    EXPECT_EQ(t.steps[1].preset, "xavier-tanh");
    EXPECT_EQ(t.steps[1].controls, (std::vector<std::string>{"gain", "depth"}));
    // an empty view opens the preset's own
    const TourResolve r = resolveTour(t, "");
    ASSERT_EQ(r.stops.size(), 2u);
    EXPECT_EQ(r.stops[1].preset.view, findBundledPreset("xavier-tanh")->view);
}

TEST(TourFile, WrittenAndReadBackIsTheSameTour) {
    Tour t;
    t.title = "My lecture \"one\"";
    TourStep a;
    a.preset = "tanh-ordered";
    a.view = "phase";
    a.controls = {"gain", "sigma_b2"};
    a.note = "ordered: chi1 < 1";
    TourStep b;
    b.source = TourStep::Source::File;
    b.preset = "mine/deep.json";
    b.title = "Mine";
    TourStep c;
    c.source = TourStep::Source::Inline;
    Preset p = *findBundledPreset("he-relu");
    p.name = "inline-he";
    p.spec.depth = 7;
    c.inlinePreset = p;
    TourStep d;
    d.source = TourStep::Source::Inline;
    d.inlineSpecOnly = true;
    Preset q;
    q.name = "step-4";
    q.title = "Step 4";
    q.spec.depth = 9;
    q.spec.width = 33;
    d.inlinePreset = q;
    d.title = "A spec";
    t.steps = {a, b, c, d};
    const std::string text = tourToJson(t);
    EXPECT_TRUE(looksLikeTour(text));
    const TourParse back = parseTour(text);
    ASSERT_TRUE(back.tour) << allErrors(back.errors);
    EXPECT_EQ(*back.tour, t);
    EXPECT_EQ(tourToJson(*back.tour), text);
    EXPECT_FALSE(looksLikeTour(presetToJson(p)));
}

TEST(TourFile, EveryMalformedTourIsRefusedNamingTheStepAndField) {
    struct Case {
        std::string text, field, words;
    };
    const std::vector<Case> cases = {
        {"{", "json", "not valid JSON"},
        {"[1]", "json", "must be a JSON object"},
        {R"({"format": "initscope-preset", "version": 1, "title": "t", "steps": [{"preset": "he-relu"}]})",
         "format", "initscope-tour"},
        {R"({"format": "initscope-tour", "version": 2, "title": "t", "steps": [{"preset": "he-relu"}]})",
         "version", "not supported"},
        {R"({"format": "initscope-tour", "version": "1", "title": "t", "steps": [{"preset": "he-relu"}]})",
         "version", "integer"},
        {R"({"format": "initscope-tour", "version": 1, "steps": [{"preset": "he-relu"}]})", "title",
         "missing"},
        {R"({"format": "initscope-tour", "version": 1, "title": 3, "steps": [{"preset": "he-relu"}]})",
         "title", "must be a string"},
        {R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": [{"preset": "he-relu"}], "extra": 1})",
         "extra", "unknown key"},
        {R"({"format": "initscope-tour", "version": 1, "title": "t", "title": "u", "steps": [{"preset": "he-relu"}]})",
         "title", "more than once"},
        {R"({"format": "initscope-tour", "version": 1, "title": "t"})", "steps", "missing"},
        {R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": {}})", "steps",
         "array"},
        {R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": []})", "steps",
         "empty"},
        {withStep("3"), "steps[0]", "must be an object"},
        {withStep("{}"), "steps[0].preset", "missing"},
        {withStep(R"({"preset": 5})"), "steps[0].preset", "must be a name"},
        {withStep(R"({"preset": "He Relu"})"), "steps[0].preset", "bundled preset's name"},
        {withStep(R"({"preset": "he-relu", "colour": "red"})"), "steps[0].colour", "unknown key"},
        {withStep(R"({"preset": "he-relu", "note": "a", "note": "b"})"), "steps[0].note",
         "more than once"},
        {withStep(R"({"preset": "he-relu", "view": "slides"})"), "steps[0].view", "one of"},
        {withStep(R"({"preset": "he-relu", "view": 1})"), "steps[0].view", "must be a string"},
        {withStep(R"({"preset": "he-relu", "note": ["a"]})"), "steps[0].note", "must be a string"},
        {withStep(R"({"preset": "he-relu", "controls": "gain"})"), "steps[0].controls", "array"},
        {withStep(R"({"preset": "he-relu", "controls": [1]})"), "steps[0].controls[0]",
         "field name"},
        {withStep(R"({"preset": "he-relu", "controls": ["speed"]})"), "steps[0].controls[0]",
         "not a setting"},
        {withStep(R"({"preset": "he-relu", "controls": ["gain", "gain"]})"), "steps[0].controls[1]",
         "twice"},
        {withStep(
             R"({"preset": "he-relu", "controls": ["gain", "depth", "width", "seed", "batch"]})"),
         "steps[0].controls", "at most"},
        {withStep(R"({"preset": {"depth": 0}})"), "steps[0].preset.depth", "from 1"},
        {withStep(
             R"({"preset": {"format": "initscope-preset", "version": 1, "name": "x", "spec": {"width": -1}}})"),
         "steps[0].preset.width", ""},
        {withStep(R"({"preset": {"format": "initscope-preset", "version": 1, "spec": {}}})"),
         "steps[0].preset.name", "missing"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        const TourParse r = parseTour(c.text);
        EXPECT_FALSE(r.tour);
        EXPECT_TRUE(hasError(r.errors, c.field, c.words)) << allErrors(r.errors);
    }
    // the second step is named as the second
    const TourParse second = parseTour(
        R"({"format": "initscope-tour", "version": 1, "title": "t", "steps": [{"preset": "he-relu"}, {"preset": "he-relu", "view": "x"}]})");
    EXPECT_TRUE(hasError(second.errors, "steps[1].view", "one of")) << allErrors(second.errors);
    // deep nesting is refused before anything recurses into it
    const TourParse deep = parseTour(withStep(R"({"preset": "he-relu", "note": )" +
                                              std::string(200, '[') + std::string(200, ']') + "}"));
    EXPECT_TRUE(hasError(deep.errors, "json", "nested")) << allErrors(deep.errors);
}

TEST(TourFile, StepsResolveBundledFilesRelativeToTheTourAndInline) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("initscope-tour-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "mine");
    Preset p = *findBundledPreset("xavier-relu");
    p.name = "my-deep";
    p.spec.depth = 13;
    ASSERT_EQ(writePresetFile(p, (dir / "mine" / "deep.json").string()), "");
    const std::string text = withStep(
        R"({"preset": "he-relu", "controls": ["gain"]}, {"preset": "mine/deep.json", "view": "gradients", "note": "n"}, {"preset": {"depth": 4, "activation": "tanh"}, "title": "tiny"})");
    {
        std::ofstream out(dir / "t.json");
        out << text;
    }
    const TourParse parsed = readTourFile((dir / "t.json").string());
    ASSERT_TRUE(parsed.tour) << allErrors(parsed.errors);
    const TourResolve r = resolveTour(*parsed.tour, dir.string());
    ASSERT_TRUE(r.errors.empty()) << allErrors(r.errors);
    ASSERT_EQ(r.stops.size(), 3u);
    EXPECT_EQ(r.stops[0].preset, *findBundledPreset("he-relu"));
    EXPECT_EQ(r.stops[0].controls, std::vector<std::string>{"gain"});
    EXPECT_EQ(r.stops[1].preset.spec, p.spec);
    EXPECT_EQ(r.stops[1].preset.view, "gradients");
    EXPECT_EQ(r.stops[1].note, "n");
    EXPECT_EQ(r.stops[2].title, "tiny");
    EXPECT_EQ(r.stops[2].preset.spec.depth, 4);
    EXPECT_EQ(r.stops[2].preset.spec.activation, ActivationKind::Tanh);

    // from another folder the file is not found: an error naming the step
    const TourResolve elsewhere = resolveTour(*parsed.tour, (dir / "mine").string());
    EXPECT_TRUE(hasError(elsewhere.errors, "steps[1].preset (mine/deep.json): file", "cannot read"))
        << allErrors(elsewhere.errors);
    // a bundled name that is not bundled
    const TourParse missing = parseTour(withStep(R"({"preset": "no-such-preset"})"));
    ASSERT_TRUE(missing.tour);
    const TourResolve none = resolveTour(*missing.tour, dir.string());
    EXPECT_TRUE(hasError(none.errors, "steps[0].preset", "no bundled preset"))
        << allErrors(none.errors);
    // a file that is not a preset
    {
        std::ofstream out(dir / "mine" / "bad.json");
        out << R"({"format": "initscope-preset", "version": 1, "name": "b", "spec": {"depth": 0}})";
    }
    const TourParse bad = parseTour(withStep(R"({"preset": "mine/bad.json"})"));
    ASSERT_TRUE(bad.tour);
    const TourResolve badResolved = resolveTour(*bad.tour, dir.string());
    EXPECT_TRUE(hasError(badResolved.errors, "steps[0].preset (mine/bad.json): depth", "from 1"))
        << allErrors(badResolved.errors);
    std::filesystem::remove_all(dir);
}

// The trainability map (THEORY.md "Trainability"): its shape and streaming, determinism across
// thread counts, xi_c against an independent computation, strict grid checks, cancellation, and
// the property the map exists to show: far beyond 6 xi_c a deep network stays at chance while
// the same depth near the critical line learns.
#include "core/data.h"
#include "spec/preset.h"
#include "theory/meanfield.h"
#include "train/trainability.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>

using namespace initscope;

namespace {

bool haveFashionMnist() {
    return std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

NetworkSpec smallSpec(int threads) {
    NetworkSpec s;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    s.width = 32;
    s.batch = 32;
    s.activation = ActivationKind::Tanh;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.threads = threads;
    return s;
}

TrainSpec smallTrain(int steps) {
    TrainSpec t;
    t.steps = steps;
    t.testExamples = 500;
    return t;
}

struct Recorder : TrainabilitySink {
    std::vector<TrainabilityCell> cells;
    std::vector<double> fractions;
    int theories = 0;
    void theory(const TrainabilityTheory&) override { ++theories; }
    void progress(double f) override { fractions.push_back(f); }
    void cell(const TrainabilityCell& c) override { cells.push_back(c); }
};

// ---- an independent mean-field computation for tanh (smooth: the trapezoid rule on a wide
// interval converges exponentially for a Gaussian-weighted analytic integrand) ----------------

constexpr double kPi = 3.14159265358979323846;

template <class F> double gauss1(F f) {
    const int n = 2001;
    const double lim = 10.0, h = 2 * lim / (n - 1);
    double s = 0;
    for (int i = 0; i < n; ++i) {
        const double z = -lim + i * h;
        s += f(z) * std::exp(-0.5 * z * z);
    }
    return s * h / std::sqrt(2 * kPi);
}

template <class F> double gauss2(F f) {
    const int n = 161;
    const double lim = 8.0, h = 2 * lim / (n - 1);
    double s = 0;
    for (int i = 0; i < n; ++i) {
        const double z1 = -lim + i * h;
        const double w1 = std::exp(-0.5 * z1 * z1);
        for (int j = 0; j < n; ++j) {
            const double z2 = -lim + j * h;
            s += f(z1, z2) * w1 * std::exp(-0.5 * z2 * z2);
        }
    }
    return s * h * h / (2 * kPi);
}

double dtanh(double x) {
    const double t = std::tanh(x);
    return 1 - t * t;
}

/// xi_c of tanh at (sw2, sb2): q* by iterating the length map, c* by iterating the c-map from
/// 0.5, then chi_c = sw2 E[phi'(u1) phi'(u2)] at (q*, c*).
double referenceXiC(double sw2, double sb2) {
    double q = 1;
    for (int i = 0; i < 500; ++i)
        q = sw2 * gauss1([&](double z) {
                const double t = std::tanh(std::sqrt(q) * z);
                return t * t;
            }) +
            sb2;
    const double sq = std::sqrt(q);
    double c = 0.5;
    for (int i = 0; i < 300; ++i) {
        const double s = std::sqrt(std::max(0.0, 1 - c * c));
        const double next = (sw2 * gauss2([&](double z1, double z2) {
                                 return std::tanh(sq * z1) * std::tanh(sq * (c * z1 + s * z2));
                             }) +
                             sb2) /
                            q;
        if (std::abs(next - c) < 1e-13) {
            c = next;
            break;
        }
        c = next;
    }
    double chiC = 0;
    if (c > 1 - 1e-9) { // ordered: c* = 1, chi_c = chi1 (one-dimensional)
        chiC = sw2 * gauss1([&](double z) { return std::pow(dtanh(sq * z), 2); });
    } else {
        const double s = std::sqrt(1 - c * c);
        chiC = sw2 * gauss2([&](double z1, double z2) {
                   return dtanh(sq * z1) * dtanh(sq * (c * z1 + s * z2));
               });
    }
    return -1 / std::log(chiC);
}

} // namespace

// xi_c of the map is meanfield's fixed point; checked here against the independent quadrature
// above on both sides of the critical line (tanh, sigma_b^2 = 0.05: critical near 1.76). The
// reference's iterations converge to ~1e-10 and the trapezoid errors are far below that, so 1e-5
// relative leaves room only for the engine's own root-solving tolerance.
TEST(Trainability, XiCMatchesAnIndependentComputation) {
    const Activation act(ActivationKind::Tanh);
    const std::vector<double> sw = {0.8, 1.2, 2.5, 4.0};
    const TrainabilityTheory t = trainabilityTheory(act, 0.05, sw);
    ASSERT_EQ(t.xiC.size(), sw.size());
    for (std::size_t j = 0; j < sw.size(); ++j) {
        const double ref = referenceXiC(sw[j], 0.05);
        EXPECT_NEAR(t.xiC[j], ref, 1e-5 * ref) << "sigma_w2 " << sw[j];
        EXPECT_DOUBLE_EQ(t.sixXiC[j], 6 * t.xiC[j]);
    }
    EXPECT_NEAR(t.criticalSigmaW2, meanfield::criticalSigmaW2(act, 0.05), 1e-12);
    // on the critical line chi_c = 1: xi_c is infinite (or beyond any depth a map shows, the
    // root solver stopping within 1e-9 of chi1 = 1), so JSON writes null and charts clip it
    const double crit = meanfield::criticalSigmaW2(act, 0.05);
    const TrainabilityTheory at = trainabilityTheory(act, 0.05, {crit});
    EXPECT_TRUE(std::isinf(at.xiC[0]) || at.xiC[0] > 1e4) << at.xiC[0];
    // xi_c grows towards the line from both sides
    EXPECT_LT(t.xiC[0], t.xiC[1]);
    EXPECT_GT(t.xiC[2], t.xiC[3]);
}

TEST(Trainability, GridChecksNameTheOption) {
    std::string err;
    EXPECT_TRUE(parseDepthAxis("depth-range", "2:20:4", err));
    EXPECT_FALSE(parseDepthAxis("depth-range", "0:20:4", err));
    EXPECT_NE(err.find("--depth-range"), std::string::npos) << err;
    EXPECT_FALSE(parseDepthAxis("depth-range", "2.5:20:4", err));
    EXPECT_FALSE(parseDepthAxis("depth-range", "2:4:5", err)); // 5 distinct integers in 2..4
    EXPECT_NE(err.find("TO - FROM + 1"), std::string::npos) << err;
    EXPECT_FALSE(parseDepthAxis("depth-range", "2:20", err));
    EXPECT_FALSE(parseDepthAxis("depth-range", "2:20:65", err));
    EXPECT_TRUE(parseSigmaW2Axis("sigma-w2-range", "0.5:4:8", err));
    EXPECT_FALSE(parseSigmaW2Axis("sigma-w2-range", "0:4:8", err));
    EXPECT_NE(err.find("--sigma-w2-range"), std::string::npos) << err;
    EXPECT_FALSE(parseSigmaW2Axis("sigma-w2-range", "4:1:8", err));

    TrainabilityGrid g;
    g.depth = {3, 3, 1};
    EXPECT_EQ(g.depths(), std::vector<int>({3}));
    g.depth = {2, 10, 3};
    EXPECT_EQ(g.depths(), std::vector<int>({2, 6, 10}));
    NetworkSpec s = smallSpec(1);
    EXPECT_TRUE(validateTrainability(s, smallTrain(5), g).empty());
    s.biasInit = BiasInit::Constant;
    s.sigmaB2 = 0;
    auto e = validateTrainability(s, smallTrain(5), g);
    ASSERT_FALSE(e.empty());
    EXPECT_EQ(e.front().field, "bias_init");
    g.sigmaW2 = {0, 1, 2};
    e = validateTrainabilityGrid(g);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e.front().field, "sigma_w2_range");
    // a deepest cell beyond the memory budget is refused before anything is trained
    s = smallSpec(1);
    s.memoryBudgetGiB = 0.001;
    g = TrainabilityGrid{};
    g.depth = {2, 4000, 2};
    e = validateTrainability(s, smallTrain(5), g);
    ASSERT_FALSE(e.empty());
}

// A 2 x 3 map: every cell is streamed once in row-major order, progress rises to 1, every cell
// is the `train` of its own spec (lecun-normal, gain sigma_w^2), and the map is bit-identical on
// 1 and 2 threads (the trainer is; cells are sequential).
TEST(Trainability, SmallMapShapeStreamingAndDeterminism) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    TrainabilityGrid g;
    g.depth = {2, 4, 2};
    g.sigmaW2 = {0.5, 2.0, 3};
    Recorder rec;
    const TrainabilityMap m1 = computeTrainabilityMap(smallSpec(1), smallTrain(12), g, &rec);
    ASSERT_EQ(m1.cells.size(), 6u);
    ASSERT_EQ(rec.cells.size(), 6u);
    EXPECT_EQ(rec.theories, 1);
    EXPECT_FALSE(m1.cancelled);
    for (std::size_t k = 0; k < rec.cells.size(); ++k) {
        EXPECT_EQ(rec.cells[k].row, static_cast<int>(k / 3));
        EXPECT_EQ(rec.cells[k].col, static_cast<int>(k % 3));
        EXPECT_GE(rec.cells[k].testAccuracy, 0.0);
        EXPECT_LE(rec.cells[k].testAccuracy, 1.0);
        EXPECT_TRUE(std::isfinite(rec.cells[k].loss));
    }
    EXPECT_EQ(m1.cells[3].depth, 4);
    EXPECT_DOUBLE_EQ(m1.cells[1].sigmaW2, 1.25);
    ASSERT_FALSE(rec.fractions.empty());
    for (std::size_t k = 1; k < rec.fractions.size(); ++k)
        EXPECT_GE(rec.fractions[k], rec.fractions[k - 1]);
    EXPECT_NEAR(rec.fractions.back(), 1.0, 1e-12);

    // the cell's network trained by trainNetwork reaches the same test accuracy to the bit
    TrainSpec t = smallTrain(12);
    const TrainResult direct = trainNetwork(trainabilityCellSpec(smallSpec(1), 4, 2.0), t);
    EXPECT_EQ(direct.testAccuracy, m1.cell(1, 2)->testAccuracy);

    const TrainabilityMap m2 = computeTrainabilityMap(smallSpec(2), smallTrain(12), g);
    nlohmann::json j1 = trainabilityJson(m1), j2 = trainabilityJson(m2);
    j1.erase("seconds");
    j2.erase("seconds");
    j1["spec"].erase("threads");
    j2["spec"].erase("threads");
    EXPECT_EQ(j1, j2);
    ASSERT_EQ(j1["accuracy"].size(), 2u);
    ASSERT_EQ(j1["accuracy"][0].size(), 3u);
    ASSERT_EQ(j1["loss"].size(), 2u);
    ASSERT_EQ(j1["xi_c"].size(), 3u);
    ASSERT_EQ(j1["six_xi_c"].size(), 3u);
    EXPECT_EQ(j1["depth"], nlohmann::json({2, 4}));
}

TEST(Trainability, CancelStopsBetweenAndInsideCells) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    TrainabilityGrid g;
    g.depth = {2, 3, 2};
    g.sigmaW2 = {1.0, 2.0, 2};
    struct StopAfterFirst : TrainabilitySink {
        std::atomic<bool>* flag = nullptr;
        int cells = 0;
        void cell(const TrainabilityCell&) override {
            ++cells;
            flag->store(true);
        }
    } sink;
    std::atomic<bool> cancel{false};
    sink.flag = &cancel;
    const TrainabilityMap m =
        computeTrainabilityMap(smallSpec(1), smallTrain(5), g, &sink, &cancel);
    EXPECT_TRUE(m.cancelled);
    EXPECT_EQ(m.cells.size(), 1u);
    EXPECT_EQ(m.cell(0, 1), nullptr);
    const nlohmann::json j = trainabilityJson(m);
    EXPECT_TRUE(j["accuracy"][0][1].is_null());
    EXPECT_TRUE(j["cancelled"].get<bool>());

    // inside a cell: cancelled at the 3rd step's progress, no cell is kept
    struct StopInside : TrainabilitySink {
        std::atomic<bool>* flag = nullptr;
        int calls = 0;
        void progress(double) override {
            if (++calls == 3)
                flag->store(true);
        }
    } inside;
    std::atomic<bool> cancel2{false};
    inside.flag = &cancel2;
    const TrainabilityMap m2 =
        computeTrainabilityMap(smallSpec(1), smallTrain(50), g, &inside, &cancel2);
    EXPECT_TRUE(m2.cancelled);
    EXPECT_TRUE(m2.cells.empty());
}

// The map's point (Schoenholz et al. 2017): tanh, sigma_b^2 = 0.05, depth 40. At sigma_w^2 = 0.6
// (ordered) xi_c = 1.48, so 40 layers are 27 xi_c: the correlation between two inputs has
// converged to c* = 1 to within e^-27 ~ 1e-12, below float resolution, every input reaches the
// readout as the same a^L and no readout can do better than the class prior: accuracy at chance
// (0.1, +-0.03 for the 1000 test images' class counts) and a loss stuck at ln 10 (measured:
// 0.087 and 2.3033). Near the critical line (sigma_w^2 = 1.8, xi_c ~ 126 > depth) the same
// network learns within 100 steps: measured 0.457, required > 0.3 (three times chance).
TEST(Trainability, BeyondSixXiCStaysAtChanceWhileCriticalLearns) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    NetworkSpec s = smallSpec(2);
    s.width = 48;
    s.batch = 64;
    TrainSpec t = smallTrain(100);
    t.testExamples = 1000;
    TrainabilityGrid g;
    g.depth = {40, 40, 1};
    g.sigmaW2 = {0.6, 1.8, 2};
    const TrainabilityMap m = computeTrainabilityMap(s, t, g);
    ASSERT_EQ(m.cells.size(), 2u);
    EXPECT_LT(40, m.theory.sixXiC[0] * 5); // depth 40 is ~27 xi_c, not beyond reason
    EXPECT_GT(40, m.theory.sixXiC[0] * 4);
    EXPECT_GT(m.theory.xiC[1], 40);
    const TrainabilityCell& ordered = m.cells[0];
    const TrainabilityCell& critical = m.cells[1];
    EXPECT_NEAR(ordered.testAccuracy, 0.1, 0.03);
    EXPECT_NEAR(ordered.loss, std::log(10.0), 0.01);
    EXPECT_GT(critical.testAccuracy, 0.3);
    EXPECT_LT(critical.loss, ordered.loss - 0.5);
}

// A preset opening the trainability view carries its grid and steps in "view_settings", read
// back exactly; a bad setting is refused naming its field.
TEST(Trainability, PresetViewSettings) {
    const std::string head = R"({"format": "initscope-preset", "version": 1, "name": "t",
        "view": "trainability", "spec": {"depth": 5}, "view_settings": )";
    PresetParse r = parsePreset(
        head + R"({"depth_range": "10:70:4", "sigma_w2_range": "0.5:4:8", "steps": 150}})");
    ASSERT_TRUE(r.preset) << r.errors.front().message;
    ASSERT_TRUE(r.preset->trainability);
    EXPECT_EQ(r.preset->trainability->grid.depths(), std::vector<int>({10, 30, 50, 70}));
    EXPECT_EQ(r.preset->trainability->grid.sigmaW2.steps, 8);
    EXPECT_EQ(r.preset->trainability->steps, 150);
    const PresetParse again = parsePreset(presetToJson(*r.preset));
    ASSERT_TRUE(again.preset);
    EXPECT_EQ(*again.preset, *r.preset);
    r = parsePreset(head + R"({"depth_range": "0:70:4"}})");
    ASSERT_FALSE(r.preset);
    EXPECT_EQ(r.errors.front().field, "view_settings.depth_range");
    EXPECT_NE(r.errors.front().message.find("FROM and TO must be integers"), std::string::npos);
    r = parsePreset(head + R"({"inputs": 4}})");
    ASSERT_FALSE(r.preset);
    EXPECT_EQ(r.errors.front().field, "view_settings.inputs");
    r = parsePreset(head + R"({"steps": 0}})");
    ASSERT_FALSE(r.preset);
    EXPECT_EQ(r.errors.front().field, "view_settings.steps");
}

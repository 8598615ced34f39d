// Every bundled preset loads, validates, runs, and shows the effect its lecture note claims,
// asserted on the measured numbers. Each tolerance says where it comes from: exact identities get
// float32 rounding; statistical claims get a multiple of the finite-width fluctuation (Hanin &
// Rolnick 2018: log q of a ReLU net does a random walk of variance about 5/N per layer; about 2/N
// for a linear or near-linear layer).
#include "analysis/jacobian.h"
#include "network/engine.h"
#include "spec/preset.h"
#include "stats/report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <numeric>
#include <set>
#include <string>
#include <vector>

using namespace initscope;

namespace {

const Preset& preset(const char* name) {
    const Preset* p = findBundledPreset(name);
    if (!p)
        throw std::runtime_error(std::string("no bundled preset ") + name);
    return *p;
}

RunResult run(const NetworkSpec& spec) {
    static Engine engine;
    return engine.run(spec);
}

RunResult run(const char* name) {
    return run(preset(name).spec);
}

/// Geometric mean of grad_h2^l / grad_h2^{l+1} over layers a..b (1-based, a < b): the measured
/// per-layer gradient factor going down, which mean field predicts to be chi1 at q*.
double gradRate(const RunResult& r, int a, int b) {
    const double ga = r.layers[static_cast<std::size_t>(a - 1)].gradH2;
    const double gb = r.layers[static_cast<std::size_t>(b - 1)].gradH2;
    return std::exp(std::log(ga / gb) / (b - a));
}

double slope(double x0, double y0, double x1, double y1) {
    return std::log(y1 / y0) / std::log(x1 / x0);
}

} // namespace

TEST(BundledPresets, TheLessonSetIsComplete) {
    // THEORY.md scenarios 1-7, 9 and 17 (issue 4); names are what the notes cross-reference.
    for (const char* n :
         {"symmetry-constant", "naive-normal-exploding", "naive-normal-vanishing",
          "deep-linear-growing", "deep-linear-shrinking", "xavier-tanh", "xavier-relu", "he-relu",
          "relu-mean-shift", "tanh-ordered", "tanh-edge-of-chaos", "tanh-chaotic",
          "tanh-input-scale", "relu-input-scale", "adversarial-sensitivity"})
        EXPECT_NE(findBundledPreset(n), nullptr) << n;
}

TEST(BundledPresets, EveryPresetLoadsValidatesAndRuns) {
    std::set<std::string> names;
    const auto& views = presetViews();
    for (const Preset& p : bundledPresets()) {
        SCOPED_TRACE(p.name);
        EXPECT_TRUE(names.insert(p.name).second) << "duplicate name";
        EXPECT_NE(std::find(views.begin(), views.end(), p.view), views.end()) << p.view;
        EXPECT_FALSE(p.title.empty());
        EXPECT_GE(p.note.size(), 100u) << "a lecture note, not a label";
        EXPECT_TRUE(validate(p.spec).empty());
        // by name, as the CLI's --preset NAME does, and back through the text form exactly
        const PresetParse byName = loadPreset(p.name);
        ASSERT_TRUE(byName.preset.has_value());
        EXPECT_EQ(*byName.preset, p);
        const PresetParse again = parsePreset(presetToJson(p));
        ASSERT_TRUE(again.preset.has_value());
        EXPECT_EQ(*again.preset, p);
        // live GUI use: at most 512 units and 128 inputs (a run is ~0.1 s on one laptop core)
        EXPECT_LE(p.spec.width, 512);
        EXPECT_LE(p.spec.batch, 128);
        const RunResult r = run(p.spec);
        ASSERT_EQ(r.layers.size(), static_cast<std::size_t>(p.spec.depth));
        // only the overflow lesson may overflow
        if (p.name != "naive-normal-exploding") {
            EXPECT_EQ(r.firstNonfiniteLayer, 0) << nonfiniteMessage(r);
            EXPECT_TRUE(std::isfinite(r.inputGrad2));
        }
    }
    EXPECT_EQ(names.size(), bundledPresets().size());
}

// Scenario 1. Identical rows of W make identical units, bit for bit up to summation order: the
// tolerance 1e-6 is a few float32 roundings (measured: exactly 0).
TEST(BundledPresets, SymmetryUnitsAndGradientRowsAreIdentical) {
    const RunResult r = run("symmetry-constant");
    const int L = static_cast<int>(r.layers.size());
    for (const LayerStats& s : r.layers) {
        SCOPED_TRACE(s.index);
        EXPECT_GT(s.q, 1e-3) << "the signal is alive, only symmetric";
        EXPECT_LE(s.unitSpread, 1e-6);
        if (s.index < L) {
            EXPECT_LE(s.gradRowSpread, 1e-6); // every row of dW^l identical below the top
        }
    }
    // the top layer meets a different random cotangent per unit: its rows differ
    EXPECT_GT(r.layers.back().gradRowSpread, 0.1);
    // the same network with random weights has units spread over the whole range
    NetworkSpec random = preset("symmetry-constant").spec;
    random.init = InitScheme::LecunNormal;
    random.initValue = NetworkSpec{}.initValue; // lecun-normal takes no init value
    for (const LayerStats& s : run(random).layers)
        EXPECT_GT(s.unitSpread, 0.5) << s.index;
}

// Scenario 2a. sigma_w^2 = 512, linear: q^l = 512^l q^0. float32 overflows when the largest of
// the B*N = 16384 values of a layer, about sqrt(2 ln 16384) = 4.4 rms, passes FLT_MAX, i.e. at
// the first l with q^l > (FLT_MAX / 4.4)^2 = 6.0e75: layer 28 (q^28 = 7.1e75 in theory). One
// layer is 2.7 decades of q, so +-1 layer covers any plausible extreme value.
TEST(BundledPresets, NaiveNormalOverflowsAtThePredictedLayer) {
    const RunResult r = run("naive-normal-exploding");
    const double thresholdQ = std::pow(FLT_MAX / std::sqrt(2 * std::log(16384.0)), 2);
    int predicted = 0;
    for (std::size_t i = 0; i < r.theory.q.size() && !predicted; ++i)
        if (r.theory.q[i] > thresholdQ)
            predicted = static_cast<int>(i) + 1;
    EXPECT_EQ(predicted, 28);
    EXPECT_NEAR(r.firstNonfiniteLayer, predicted, 1);
    EXPECT_NE(nonfiniteMessage(r).find("non-finite from layer"), std::string::npos);
    for (int l = 1; l < r.firstNonfiniteLayer; ++l) {
        const LayerStats& s = r.layers[static_cast<std::size_t>(l - 1)];
        EXPECT_EQ(s.nonfinite, 0);
        // on the mean-field line: finite-width log-drift sd sqrt(2 l / (N B)) for independent
        // inputs is < 0.02 here; 0.2 also absorbs the correlation the batch develops
        EXPECT_NEAR(std::log(s.q / r.theory.q[static_cast<std::size_t>(l - 1)]), 0.0, 0.2) << l;
    }
    // THEORY.md's "about 15 layers" is where q (kept in double) leaves the float32 range
    EXPECT_LT(r.layers[13].q, FLT_MAX);
    EXPECT_GT(r.layers[14].q, FLT_MAX);
    EXPECT_FALSE(std::isfinite(r.layers[static_cast<std::size_t>(r.firstNonfiniteLayer - 1)].q));
}

// Scenario 2b. sigma_w^2 = 512 * 1e-4 = 0.0512 and tanh ~ identity near 0: q and gradients both
// shrink by chi1 = 0.0512 per layer. Tolerance on log q: 3 sd of the single-input linear random
// walk, 3 sqrt(2 l / N).
TEST(BundledPresets, NaiveSmallWeightsVanish) {
    const RunResult r = run("naive-normal-vanishing");
    const double N = preset("naive-normal-vanishing").spec.width;
    EXPECT_NEAR(r.theory.chi1, 0.0512, 1e-3);
    for (const LayerStats& s : r.layers)
        EXPECT_NEAR(std::log(s.q / r.theory.q[static_cast<std::size_t>(s.index - 1)]), 0.0,
                    3 * std::sqrt(2 * s.index / N))
            << s.index;
    EXPECT_LT(r.layers.back().q, 1e-20);
    // the per-layer factor over 19 layers: 3 sd of log is 3 sqrt(2 * 19 / N) = 0.8, per layer 0.04
    EXPECT_NEAR(std::log(gradRate(r, 1, 20) / r.theory.chi1), 0.0, 0.05);
    EXPECT_LT(r.inputGrad2, 1e-20);
}

// Scenario 3. Orthogonal weights scale every norm by exactly sqrt(gain): q^L / q^0 = gain^L up to
// float32 rounding (1e-7 per layer, 1e-4 allowed over 50 layers).
TEST(BundledPresets, DeepLinearFollowsGainToTheL) {
    for (const auto& [name, gain] :
         {std::pair{"deep-linear-growing", 1.1}, std::pair{"deep-linear-shrinking", 0.9}}) {
        SCOPED_TRACE(name);
        const RunResult r = run(name);
        const int L = static_cast<int>(r.layers.size());
        ASSERT_EQ(L, 50);
        EXPECT_NEAR(r.layers.back().q / r.theory.q0 / std::pow(gain, L), 1.0, 1e-4);
        EXPECT_NEAR(r.layers[24].q / r.theory.q0 / std::pow(gain, 25), 1.0, 1e-4);
        EXPECT_NEAR(gradRate(r, 1, L), gain, 1e-4); // the backward pass is the transpose
    }
    EXPECT_NEAR(std::pow(1.1, 50), 117.39, 0.01); // the figures quoted in THEORY.md and the notes
    EXPECT_NEAR(std::pow(0.9, 50), 0.00515, 0.00001);
}

// Scenario 4. sigma_w^2 = 1, tanh, sigma_b^2 = 0: q^l ~ 1/(2l), a power law. The log-drift of a
// near-linear network at small q is a random walk: seed-to-seed sd of log q^50 measured 0.16
// (6 seeds), so 0.5 (3 sd) against mean field, and +-0.3 on the log-log slope between layers 10
// and 50 (two such drifts over log 5 = 1.6).
TEST(BundledPresets, XavierTanhDecaysSlowlyLikeOneOverTwoL) {
    const RunResult r = run("xavier-tanh");
    const auto q = [&](int l) { return r.layers[static_cast<std::size_t>(l - 1)].q; };
    EXPECT_NEAR(r.theory.chi1, 1.0, 1e-9);
    EXPECT_NEAR(std::log(q(50) / r.theory.q[49]), 0.0, 0.5);
    EXPECT_NEAR(r.theory.q[49] * 2 * 50, 1.0, 0.1); // mean field itself is close to 1/(2l)
    EXPECT_NEAR(q(50) * 2 * 50, 1.0, 0.65);
    EXPECT_NEAR(slope(10, q(10), 50, q(50)), -1.0, 0.3);
    // slow: nothing like the exponential collapse of xavier-relu
    EXPECT_GT(q(50), 1e-3);
    EXPECT_GT(r.layers[0].gradH2, r.layers.back().gradH2 / 200);
}

// Scenario 5. Xavier and He draw the same standard normals; ReLU is positively homogeneous, so
// Xavier's q is exactly 2^-l times He's (float rounding: 1e-4 over 16 layers).
// He's q is flat only in expectation: a finite network's log q walks with variance ~5/N per
// layer, so each layer must stay within 3 sqrt(5 (l-1) / N) of q^1 (here 0.38 sd at l = 16).
// "Within 10% over the depth" would need sqrt(5 L / N) ~ 0.03, i.e. L < N / 500: not a usable
// network; the test states the honest band and that the seed's network ends within 25%.
TEST(BundledPresets, XavierReluHalvesWhileHeReluHolds) {
    const RunResult he = run("he-relu");
    const RunResult xa = run("xavier-relu");
    ASSERT_EQ(he.layers.size(), xa.layers.size());
    const double N = preset("he-relu").spec.width;
    const double q1 = he.layers[0].q;
    for (std::size_t i = 0; i < he.layers.size(); ++i) {
        const int l = static_cast<int>(i) + 1;
        SCOPED_TRACE(l);
        EXPECT_NEAR(xa.layers[i].q / he.layers[i].q / std::pow(0.5, l), 1.0, 1e-4);
        EXPECT_NEAR(std::log(he.layers[i].q / q1), 0.0, 3 * std::sqrt(5 * (l - 1) / N) + 1e-9);
        EXPECT_NEAR(he.theory.q[i], he.theory.q[0], 1e-9 * he.theory.q[0]); // flat mean field
    }
    EXPECT_NEAR(he.layers.back().q / q1, 1.0, 0.25);
    EXPECT_LT(xa.layers.back().q / xa.layers[0].q, 1e-4); // 2^-15 times He's walk
    // gradients: He flat within the same walk, Xavier's exactly half of He's per layer
    EXPECT_NEAR(gradRate(he, 1, 16), 1.0, 3 * std::sqrt(5 * 15 / N) / 15);
    EXPECT_NEAR(gradRate(xa, 1, 16) / gradRate(he, 1, 16), 0.5, 1e-5);
}

// Scenario 6. relu(h) >= 0 has mean sqrt(q / (2 pi)): for h ~ N(0, q) iid over units (exact
// given the previous layer), mean / rms of relu(h) over N units is sqrt(1/pi) = 0.564 with
// relative sd ~ 0.09 at N = 256: 3 sd = 0.15. Independent inputs become correlated by 1/pi after
// one ReLU and tend to 1 with depth.
TEST(BundledPresets, ReluMeanShiftCorrelatesInputs) {
    const Preset& p = preset("relu-mean-shift");
    const RunResult r = run(p.spec);
    for (const LayerStats& s : r.layers) {
        SCOPED_TRACE(s.index);
        ASSERT_EQ(s.sample.size(), static_cast<std::size_t>(s.width));
        double sum = 0, sum2 = 0;
        for (float a : s.sample) {
            EXPECT_GE(a, 0.0f);
            sum += a;
            sum2 += double(a) * a;
        }
        const double n = static_cast<double>(s.sample.size());
        EXPECT_GT(sum / n, 0.0);
        EXPECT_NEAR((sum / n) / std::sqrt(sum2 / n), std::sqrt(1 / std::numbers::pi), 0.15 * 0.564);
    }
    // c^1 ~ 0 (independent inputs: sd 1/sqrt(N0) per pair, averaged), c^2 ~ 1/pi (cosines of
    // N = 256-dim vectors: sd ~ 1/sqrt(N) = 0.06 per pair, shared weights: 0.05)
    EXPECT_NEAR(r.layers[0].correlation, 0.0, 0.02);
    EXPECT_NEAR(r.layers[1].correlation, 1 / std::numbers::pi, 0.05);
    EXPECT_GT(r.layers.back().correlation, 0.9);
    EXPECT_NEAR(r.layers.back().correlation, r.theory.c.back(), 0.05);
    EXPECT_LT(r.layers[1].correlation, r.layers[9].correlation); // rising with depth
    EXPECT_LT(r.layers[9].correlation, r.layers[29].correlation);
    // tanh is odd (zero mean): the same inputs stay uncorrelated
    NetworkSpec odd = p.spec;
    odd.activation = ActivationKind::Tanh;
    EXPECT_NEAR(run(odd).layers.back().correlation, 0.0, 0.05);
    // a shared bias component pushes c to 1 faster
    NetworkSpec biased = p.spec;
    biased.biasInit = BiasInit::Normal;
    biased.sigmaB2 = 0.1;
    EXPECT_GT(run(biased).layers.back().correlation, r.layers.back().correlation);
}

// Scenario 7. Per-layer gradient factor over layers 10..50 (past q's transient) vs chi1. The log
// of the 40-layer product has a finite-width sd of at most sqrt(40 * 5 / 256) = 0.9 for one
// input (less for the batch mean), i.e. 0.02 per layer: tolerance 0.05.
TEST(BundledPresets, OrderedCriticalChaoticGradientsScaleByChi1) {
    const RunResult ord = run("tanh-ordered");
    const RunResult crit = run("tanh-edge-of-chaos");
    const RunResult cha = run("tanh-chaotic");
    for (const RunResult* r : {&ord, &crit, &cha}) {
        EXPECT_NEAR(r->theory.qStar, r->layers.back().q, 0.1 * r->theory.qStar);
        EXPECT_NEAR(gradRate(*r, 10, 50), r->theory.chi1, 0.05);
        EXPECT_NEAR(r->spec.sigmaB2, 0.05, 0) << "the three share sigma_b^2 = 0.05";
    }
    EXPECT_LT(ord.theory.chi1, 0.8);
    EXPECT_NEAR(crit.theory.chi1, 1.0, 1e-6); // the preset's gain is the computed critical value
    EXPECT_GT(cha.theory.chi1, 1.2);
    EXPECT_EQ(ord.theory.phase, "ordered");
    EXPECT_EQ(crit.theory.phase, "critical");
    EXPECT_EQ(cha.theory.phase, "chaotic");
    // vanish / hold / explode going down 50 layers
    EXPECT_LT(ord.layers[0].gradH2 / ord.layers.back().gradH2, 1e-4);
    EXPECT_NEAR(std::log(crit.layers[0].gradH2 / crit.layers.back().gradH2), 0.0, 2.0);
    EXPECT_GT(cha.layers[0].gradH2 / cha.layers.back().gradH2, 1e3);
    // correlations: ordered -> 1, chaotic -> c* < 1 (cosine sd ~ 1/sqrt(N) = 0.06: 0.1)
    EXPECT_GT(ord.layers.back().correlation, 0.99);
    EXPECT_NEAR(cha.layers.back().correlation, cha.theory.cStar, 0.1);
    EXPECT_LT(cha.layers.back().correlation, 0.5);
    EXPECT_LT(cha.layers.back().correlation, crit.layers.back().correlation);
}

// Scenario 9, tanh. q^1 = q^0 = s^2 (LeCun weights); |tanh'(h)| < 0.05 for |h| > a = acosh(sqrt 20)
// = 2.18, so layer 1's saturated share is erfc(a / (s sqrt 2)). It is a mean over 32768
// (unit, input) pairs whose unit norms vary by sqrt(2 / N0) = 9%: tolerance 0.02.
TEST(BundledPresets, InputScaleSaturatesTanhAtLayerOne) {
    const Preset& p = preset("tanh-input-scale");
    const double a = std::acosh(std::sqrt(20.0));
    double previous = -1;
    for (double s : {0.5, 1.0, 2.0, 5.0, 10.0, 20.0}) {
        SCOPED_TRACE(s);
        NetworkSpec spec = p.spec;
        spec.inputScale = s;
        const RunResult r = run(spec);
        const double sat = r.layers[0].saturatedFraction;
        EXPECT_NEAR(sat, std::erfc(a / (s * std::sqrt(2.0))), 0.02);
        EXPECT_GT(sat, previous - 1e-12);
        previous = sat;
    }
    const RunResult r = run(p.spec);
    EXPECT_GT(r.layers[0].saturatedFraction, 0.8);
    EXPECT_LT(r.layers[1].saturatedFraction, 0.05); // tanh bounds the output: layer 2 recovers
    EXPECT_LT(r.layers[0].gradH2, r.layers[1].gradH2 / 5); // saturated units block the gradient
    // the note's figures: q^2 = 0.90 back in range, then the LeCun tanh decay (q^3 = 0.38,
    // q^10 = 0.064); width 256 x batch 128 averages leave about 2% sampling error on q
    EXPECT_NEAR(r.layers[1].q, 0.90, 0.03);
    EXPECT_NEAR(r.layers[2].q, 0.38, 0.02);
    EXPECT_NEAR(r.layers[9].q, 0.064, 0.004);
}

// Scenario 9, ReLU + MSE. Homogeneity: a^L ~ s, error (a^L - y) ~ sqrt(s^2 A + 1), dW^1 ~ error *
// s: the log-log slope of relative_update is 1 + s^2 A / (s^2 A + 1), within 0.01 of 2 for
// s >= 10 (A ~ 1): tolerance 0.05.
TEST(BundledPresets, InputScaleGrowsReluFirstLayerUpdateAsSSquared) {
    const Preset& p = preset("relu-input-scale");
    ASSERT_EQ(p.spec.loss, Loss::Mse);
    std::vector<double> s{10, 31.6227766, 100}, ru, q1;
    for (double x : s) {
        NetworkSpec spec = p.spec;
        spec.inputScale = x;
        const RunResult r = run(spec);
        ru.push_back(r.layers[0].relativeUpdate);
        q1.push_back(r.layers[0].q);
    }
    EXPECT_NEAR(slope(s[0], ru[0], s[1], ru[1]), 2.0, 0.05);
    EXPECT_NEAR(slope(s[1], ru[1], s[2], ru[2]), 2.0, 0.05);
    EXPECT_NEAR(slope(s[0], q1[0], s[2], q1[2]), 2.0, 1e-3); // q ~ s^2 exactly (homogeneous)
    // the preset's own point (s = 10) is past the critical scale where it reaches 1
    EXPECT_GT(run(p.spec).layers[0].relativeUpdate, 1.0);
}

// Scenario 17. No biases + ReLU: the masks D_l do not depend on alpha, so dLoss/dx scales by
// exactly alpha^(L/2) and input_grad2 (its square) by alpha^L: float rounding only (1e-3).
TEST(BundledPresets, AdversarialSensitivityHasSlopeHalfL) {
    const Preset& p = preset("adversarial-sensitivity");
    const double L = p.spec.depth;
    std::vector<double> alpha{0.5, 1.0, 2.0}, g2;
    for (double a : alpha) {
        NetworkSpec spec = p.spec;
        spec.gain = a;
        g2.push_back(run(spec).inputGrad2);
    }
    for (std::size_t i = 0; i + 1 < alpha.size(); ++i) {
        EXPECT_NEAR(slope(alpha[i], std::sqrt(g2[i]), alpha[i + 1], std::sqrt(g2[i + 1])), L / 2,
                    1e-3);
        EXPECT_NEAR(slope(alpha[i], g2[i], alpha[i + 1], g2[i + 1]), L, 2e-3);
    }
}

// Scenario 9's critical input scale, computed: with the random cotangent the first layer's
// update of a bias-free ReLU network is exactly linear in s, so s_c is the same from any s (to
// float rounding, 1e-5 relative); with mse it is quadratic only for large s, and at s_c the
// measured relative update is 1 within the neglected target term, ~1/(s_c^2 A) = 2%: 3%.
TEST(BundledPresets, CriticalInputScaleIsWhereTheFirstLayerUpdateReachesOne) {
    NetworkSpec s = preset("relu-input-scale").spec;
    const RunResult mse = run(s);
    ASSERT_TRUE(std::isfinite(mse.criticalInputScale)) << mse.criticalInputScaleNote;
    EXPECT_NEAR(mse.criticalInputScale, 6.6, 0.1); // the preset's note
    s.inputScale = mse.criticalInputScale;
    EXPECT_NEAR(run(s).layers.front().relativeUpdate, 1.0, 0.03);
    s.loss = Loss::Cotangent;
    s.inputScale = 10.0;
    const double a = run(s).criticalInputScale;
    s.inputScale = 2.0;
    const double b = run(s).criticalInputScale;
    EXPECT_NEAR(a / b, 1.0, 1e-5);
    s.inputScale = a;
    EXPECT_NEAR(run(s).layers.front().relativeUpdate, 1.0, 1e-5);
    // tanh saturates: no law, so no number, and the note says why
    const RunResult t = run(preset("tanh-input-scale").spec);
    EXPECT_TRUE(std::isnan(t.criticalInputScale));
    EXPECT_NE(t.criticalInputScaleNote.find("tanh"), std::string::npos);
}

// Scenario 14, as the four resnet notes state it (their figures were measured with these specs).
TEST(BundledPresets, ResnetLessons) {
    // zero-gamma: the identity, bit for bit, and every Jacobian singular value exactly 1
    const RunResult zero = run("resnet-zero-gamma");
    for (const LayerStats& s : zero.layers) {
        EXPECT_EQ(s.q, zero.layers.front().q);
        EXPECT_EQ(s.relativeUpdate, 0.0) << "gamma held at 0: the branch gets no gradient";
    }
    const JacobianResult j = computeJacobian(preset("resnet-zero-gamma").spec, 2);
    for (double sv : j.inputs.front().singularValues)
        EXPECT_NEAR(sv, 1.0, 1e-12);
    // gamma = 1: doubling per block in theory; the measured log2 slope is below 1 (the note's
    // 0.93) but far from the 0 of a bounded stack
    const RunResult one = run("resnet-he-doubling");
    const double slope2 =
        std::log2(one.layers.back().q / one.layers.front().q) / (one.layers.size() - 1.0);
    EXPECT_NEAR(one.theory.q.back() / one.theory.q0, std::pow(2.0, 20), 1e-3);
    EXPECT_GT(slope2, 0.8);
    EXPECT_LT(slope2, 1.1);
    // 1/sqrt(L): theory below e; the measured network within 10% of the theory
    const RunResult inv = run("resnet-inv-sqrt-depth");
    EXPECT_LT(inv.theory.q.back(), std::numbers::e * inv.theory.q0);
    EXPECT_NEAR(inv.layers.back().q / inv.theory.q.back(), 1.0, 0.1);
    // Fixup: the identity at init, yet the zero layers get gradients
    const RunResult fix = run("resnet-fixup");
    for (const LayerStats& s : fix.layers) {
        EXPECT_EQ(s.q, fix.layers.front().q);
        EXPECT_GT(s.gradW2, 0.0);
        EXPECT_EQ(s.branchRatio, 0.0);
    }
    EXPECT_NEAR(fix.layers.front().sigmaW2, 2.0 / 50, 1e-12);
}

// Scenario 11, as the three cnn notes state it (their figures were measured with these specs).
TEST(BundledPresets, CnnLessons) {
    const RunResult ok = run("cnn-correct-fan-in");
    const RunResult k2 = run("cnn-forgotten-k2");
    ASSERT_EQ(ok.layers.size(), 12u);
    ASSERT_EQ(k2.firstNonfiniteLayer, 0);
    for (std::size_t l = 0; l < 12; ++l) {
        EXPECT_NEAR(ok.theory.q[l] / ok.theory.q[0], 1.0, 1e-12) << "He: q constant in theory";
        EXPECT_NEAR(k2.theory.q[l] / (k2.theory.q[0] * std::pow(9.0, double(l))), 1.0, 1e-9);
    }
    // the same draws, 3x the standard deviation: relu is positively homogeneous, so every
    // layer's ratio is exactly 9x the correct network's, to float rounding
    for (std::size_t l = 1; l < 12; ++l)
        EXPECT_NEAR((k2.layers[l].q / k2.layers[l - 1].q) / (ok.layers[l].q / ok.layers[l - 1].q),
                    9.0, 1e-3);
    // the notes' geometric means per layer: 0.958 and 8.62
    EXPECT_NEAR(std::pow(ok.layers.back().q / ok.layers.front().q, 1.0 / 11), 0.958, 0.005);
    EXPECT_NEAR(std::pow(k2.layers.back().q / k2.layers.front().q, 1.0 / 11), 8.62, 0.05);
    // delta-orthogonal: max / min singular value below 3 (note: 2.0-2.6); Gaussian kernels of the
    // same sigma_w^2 have singular values down to 0 and a median below 1e-3
    NetworkSpec d = preset("cnn-delta-orthogonal").spec;
    const JacobianResult jd = computeJacobian(d, 2);
    for (const JacobianInput& in : jd.inputs)
        EXPECT_LT(in.spread, 3.0);
    d.init = InitScheme::LecunNormal;
    const JacobianResult jg = computeJacobian(d, 2);
    for (const JacobianInput& in : jg.inputs) {
        std::vector<double> sv = in.singularValues;
        std::sort(sv.begin(), sv.end());
        EXPECT_LT(sv[sv.size() / 2], 1e-3);
        EXPECT_GT(in.spread, 1e3);
    }
}

// Scenario 8, as the four rnn notes state it (their figures were measured with these specs).
// Tolerances: one network's q_t over N = 256 units is within a few % of the theory (0.1); the
// gradient k steps back follows one tied W's spectrum, so its distance from mean field is stated
// as a factor range around what the notes measured.
TEST(BundledPresets, RnnLessons) {
    // ordered: q settles at q*, the gradient vanishes by ~chi1 = 0.45 per step back
    const RunResult v = run("rnn-memory-vanishing");
    EXPECT_NEAR(v.layers.back().q / v.theory.qStar, 1.0, 0.1);
    EXPECT_NEAR(v.theory.chi1, 0.449, 0.001);
    EXPECT_LT(v.layers.front().gradH2, 1e-15 * v.layers.back().gradH2);
    EXPECT_NEAR(v.layers.back().gradH2 / v.theory.gradH2.back(), 1.0, 0.1);
    // the input gradient 7 steps back: chi1^7 of the last step's, within 20%
    EXPECT_NEAR(v.layers[42].inputGrad2 / v.layers[49].inputGrad2 / std::pow(v.theory.chi1, 7), 1.0,
                0.2);
    // the tied W's excess after 49 steps: above the mean field, less than an order of magnitude
    const double excess = v.layers.front().gradH2 / v.theory.gradH2.front();
    EXPECT_GT(excess, 1.5);
    EXPECT_LT(excess, 10.0);
    // chaotic: bounded forward, exploding backward
    const RunResult x = run("rnn-exploding");
    EXPECT_EQ(x.firstNonfiniteLayer, 0);
    EXPECT_NEAR(x.layers.back().q / x.theory.qStar, 1.0, 0.1);
    EXPECT_GT(x.layers.back().saturatedFraction, 0.4);
    EXPECT_GT(x.theory.chi1, 1.5);
    EXPECT_GT(x.layers.front().gradH2, 1e9 * x.layers.back().gradH2);
    EXPECT_GT(x.layers.front().relativeUpdate, 10.0);
    // orthogonal W near criticality follows mean field; a Gaussian W of the same sigma_w^2 (the
    // same U) does not
    const NetworkSpec os = preset("rnn-orthogonal").spec;
    const RunResult o = run(os);
    EXPECT_NEAR(o.layers.front().sigmaW2, 1.0, 1e-12);
    EXPECT_NEAR(o.layers.front().gradH2 / o.theory.gradH2.front(), 1.0, 0.3);
    NetworkSpec gs = os;
    gs.recurrentInit = RecurrentInit::Scheme;
    gs.recurrentScheme = InitScheme::Normal;
    gs.initValue = 0.0625;
    const RunResult g = run(gs);
    EXPECT_EQ(g.theory.gradH2, o.theory.gradH2);
    EXPECT_GT(g.layers.front().gradH2 / g.theory.gradH2.front(), 2.0);
    // identity + relu: q grows about linearly, the gradient survives 49 steps
    const RunResult id = run("rnn-identity");
    EXPECT_GT(id.layers.back().q, 30 * id.layers.front().q);
    EXPECT_GT(id.layers.front().gradH2, 0.02 * id.layers.back().gradH2);
    EXPECT_LT(id.theory.gradH2.front(), 1e-10 * id.theory.gradH2.back());
    EXPECT_NE(id.theory.note.find("identity"), std::string::npos);
    NetworkSpec first = preset("rnn-identity").spec;
    first.rnnInput = RnnInput::FirstStep;
    const RunResult f = run(first);
    for (std::size_t t = 2; t < f.layers.size(); ++t)
        EXPECT_EQ(f.layers[t].q, f.layers[1].q) << "relu(relu(h)) = relu(h): W = I holds it";
}

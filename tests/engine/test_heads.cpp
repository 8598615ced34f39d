// Heads (THEORY.md "Heads", scenarios 12 and 13): draws keyed by name (independent of each other,
// of their order, of the loss weights, and never moving the trunk), each head's output spread set
// by its own fan-in as the theory says, exact gradients of the weighted total loss, the loss
// weight as an exact factor on a head's push into the trunk, a frozen trunk untouched, the
// command-line and JSON forms, and transfer (pre-training, then a new head on the frozen trunk).
#include "core/data.h"
#include "network/engine.h"
#include "network/heads.h"
#include "network/network.h"
#include "spec/fields.h"
#include "spec/options.h"
#include "spec/preset.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

using namespace initscope;

namespace {

bool haveFashionMnist() {
    return std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

HeadSpec head(const std::string& name, std::vector<int> widths, InitScheme scheme,
              double gain = 1.0, double bias = 0.0, double weight = 1.0) {
    HeadSpec h;
    h.name = name;
    h.widths = std::move(widths);
    h.scheme = scheme;
    h.gain = gain;
    h.bias = bias;
    h.weight = weight;
    return h;
}

NetworkSpec smallSpec() {
    NetworkSpec s;
    s.inputDim = 6;
    s.depth = 3;
    s.width = 7;
    s.batch = 9;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.05;
    s.threads = 2;
    return s;
}

/// The materialized weight of the parameter called `name` ("cls.W1", "W2").
MatrixF paramByName(const NetworkSpec& spec, const std::string& name) {
    const Network net = buildNetwork(spec);
    const auto draws = fetchDraws(net, nullptr);
    for (std::size_t i = 0; i < net.params.size(); ++i)
        if (net.params[i].name == name)
            return materialize(net.params[i], *draws[i]);
    ADD_FAILURE() << "no parameter " << name;
    return {};
}

bool bitwiseEqual(const MatrixF& a, const MatrixF& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

} // namespace

// Adding, removing, reordering or reweighting heads never changes another head's draws, nor the
// trunk's weights, nor any statistic of the trunk in `run`.
TEST(Heads, DrawsAreKeyedByNameAlone) {
    NetworkSpec base;
    base.depth = 3;
    base.width = 32;
    base.inputDim = 16;
    base.batch = 32;
    NetworkSpec one = base, two = base, swapped = base;
    one.heads = {head("b", {5}, InitScheme::HeNormal)};
    two.heads = {head("a", {12, 3}, InitScheme::XavierNormal),
                 head("b", {5}, InitScheme::HeNormal, 1.0, 0.0, 7.5)};
    swapped.heads = {head("b", {5}, InitScheme::HeNormal, 1.0, 0.0, 0.01),
                     head("a", {12, 3}, InitScheme::XavierNormal, 1.0, 0.0, 3.0)};
    EXPECT_TRUE(bitwiseEqual(paramByName(one, "b.W1"), paramByName(two, "b.W1")));
    EXPECT_TRUE(bitwiseEqual(paramByName(two, "b.W1"), paramByName(swapped, "b.W1")));
    EXPECT_TRUE(bitwiseEqual(paramByName(two, "a.W2"), paramByName(swapped, "a.W2")));
    // heads of equal shape and scheme but different names draw different matrices
    NetworkSpec twins = base;
    twins.heads = {head("x", {5}, InitScheme::HeNormal), head("y", {5}, InitScheme::HeNormal)};
    EXPECT_FALSE(bitwiseEqual(paramByName(twins, "x.W1"), paramByName(twins, "y.W1")));
    for (int l = 1; l <= base.depth; ++l)
        EXPECT_TRUE(bitwiseEqual(paramByName(base, "W" + std::to_string(l)),
                                 paramByName(two, "W" + std::to_string(l))));

    Engine engine;
    const RunResult r0 = engine.run(base), r2 = engine.run(two), rs = engine.run(swapped);
    EXPECT_TRUE(r0.heads.empty());
    ASSERT_EQ(r2.heads.size(), 2u);
    ASSERT_EQ(r0.layers.size(), r2.layers.size());
    for (std::size_t l = 0; l < r0.layers.size(); ++l) {
        EXPECT_EQ(r0.layers[l].q, r2.layers[l].q);
        EXPECT_EQ(r0.layers[l].gradW2, r2.layers[l].gradW2);
        EXPECT_EQ(r0.layers[l].correlation, r2.layers[l].correlation);
    }
    // head b's statistics are the same wherever it stands and whatever its loss weight
    EXPECT_EQ(r2.heads[1].name, "b");
    EXPECT_EQ(rs.heads[0].name, "b");
    EXPECT_EQ(r2.heads[1].outStd, rs.heads[0].outStd);
    EXPECT_EQ(r2.heads[1].outMean, rs.heads[0].outMean);
    ASSERT_EQ(r2.heads[0].layers.size(), 2u);
}

// Each head's output spread follows its own fans. With a linear trunk the head's input a^L is
// known exactly (the trunk's weights times the run's inputs), so the expectation over the head's
// weights W (K x N, entries of variance v) of the mean square output is v tr(M) with
// M = sum_b a_b a_b^T / B, and its standard deviation is v sqrt(2 tr(M^2) / K): the tolerance is
// 5 of those (plus the output mean's own spread), computed for this batch, not guessed. A naive
// N(0, 1) head (no 1/fanIn) comes out sqrt(N) = 16 times larger, as the theory says.
TEST(Heads, OutputSpreadFollowsTheHeadsOwnFanIn) {
    NetworkSpec s;
    s.depth = 2;
    s.width = 256;
    s.inputDim = 128;
    s.batch = 256;
    s.activation = ActivationKind::Linear;
    s.init = InitScheme::LecunNormal;
    const int K = 64;
    s.heads = {head("lecun", {K}, InitScheme::LecunNormal, 1.0, 0.5),
               head("he", {K}, InitScheme::HeNormal, 1.0, -2.0),
               head("xavier4", {K}, InitScheme::XavierNormal, 4.0),
               head("naive", {K}, InitScheme::Normal)};
    Engine engine;
    const RunResult r = engine.run(s);
    ASSERT_EQ(r.heads.size(), 4u);
    // a^L = W2 W1 x with the trunk's weights (the trainer's are exactly the run's) and inputs
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.outputs = K;
    Trainer tr(s, ts);
    const MatrixF x = drawInputs(s, s.batch);
    Eigen::MatrixXd a = x.cast<double>();
    for (const DenseLayer& l : tr.params().trunk)
        a = l.w.cast<double>() * a; // zero biases, linear phi
    const Eigen::MatrixXd M = a * a.transpose() / s.batch;
    const double trM = M.trace(), trM2 = (M * M).trace();
    const double N = 256;
    const Eigen::VectorXd abar = a.rowwise().mean();
    struct Expect {
        double var, mean;
    };
    const Expect expect[] = {
        {1.0 / N, 0.5}, {2.0 / N, -2.0}, {4.0 * 2.0 / (N + K), 0.0}, {1.0, 0.0}};
    for (std::size_t h = 0; h < 4; ++h) {
        const double v = expect[h].var;
        const double second = v * trM; // E over W of the mean square of (output - bias)
        const double sd2 = v * std::sqrt(2.0 * trM2 / K);
        const double meanSd = std::sqrt(v * abar.squaredNorm() / K);
        const double got2 = r.heads[h].outStd * r.heads[h].outStd;
        EXPECT_NEAR(got2, second, 5 * sd2 + 25 * meanSd * meanSd) << r.heads[h].name;
        EXPECT_NEAR(r.heads[h].outMean, expect[h].mean, 5 * meanSd) << r.heads[h].name;
        EXPECT_LT(5 * sd2, 0.2 * second) << "the tolerance must be able to fail";
    }
    EXPECT_NEAR(r.heads[3].outStd / r.heads[0].outStd, std::sqrt(N), 0.2 * std::sqrt(N));
}

namespace {

using MatD = Eigen::MatrixXd;

/// The total loss sum_h weight_h mean_b |out_h - y_h|^2 / 2 in double, phi between layers.
double totalLossD(const std::vector<MatD>& tw, const std::vector<MatD>& tb,
                  const std::vector<std::vector<MatD>>& hw,
                  const std::vector<std::vector<MatD>>& hb, const std::vector<double>& weights,
                  const Activation& act, const MatrixF& x, const Targets& y) {
    MatD u = x.cast<double>();
    const auto phi = [&](MatD m) {
        return MatD(m.unaryExpr([&](double v) { return act.phi(v); }));
    };
    for (std::size_t l = 0; l < tw.size(); ++l) {
        MatD h = tw[l] * u;
        h.colwise() += tb[l].col(0);
        u = phi(h);
    }
    double total = 0;
    for (std::size_t c = 0; c < hw.size(); ++c) {
        MatD v = u;
        for (std::size_t j = 0; j < hw[c].size(); ++j) {
            MatD h = hw[c][j] * v;
            h.colwise() += hb[c][j].col(0);
            v = j + 1 < hw[c].size() ? phi(h) : h;
        }
        const MatrixF& t = c == 0 ? y.values : y.moreValues[c - 1];
        total +=
            weights[c] * 0.5 * (v - t.cast<double>()).squaredNorm() / static_cast<double>(x.cols());
    }
    return total;
}

} // namespace

// The gradient of the weighted total loss with two heads (one a two-layer chain) against central
// finite differences of an independent double-precision loss. Tolerance as in test_train.cpp:
// float32 rounding over sums of a few dozen terms is a few 1e-7 relative, so 2e-4 of the tensor's
// largest entry (+1e-6) is wide, and a missing weight, phi' or head contribution is O(1).
TEST(Heads, GradientsMatchFiniteDifferences) {
    NetworkSpec s = smallSpec();
    s.heads = {head("a", {4, 2}, InitScheme::XavierNormal, 1.0, 0.3, 0.7),
               head("b", {3}, InitScheme::LecunNormal, 2.0, -0.1, 1.9)};
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    Trainer tr(s, ts);
    MatrixF x;
    Targets y;
    tr.batch(0, x, y);
    ASSERT_EQ(y.values.rows(), 2);
    ASSERT_EQ(y.moreValues.size(), 1u);
    ASSERT_EQ(y.moreValues[0].rows(), 3);
    TrainParams g;
    const auto ev = tr.lossAndGradients(x, y, &g);
    const Activation act(s.activation, s.activationSlope);
    std::vector<MatD> tw, tb;
    std::vector<std::vector<MatD>> hw(2), hb(2);
    for (const auto& l : tr.params().trunk) {
        tw.push_back(l.w.cast<double>());
        tb.push_back(l.b.cast<double>());
    }
    for (std::size_t c = 0; c < 2; ++c)
        for (const auto& l : tr.params().outputs[c]) {
            hw[c].push_back(l.w.cast<double>());
            hb[c].push_back(l.b.cast<double>());
        }
    const std::vector<double> weights{0.7, 1.9};
    EXPECT_NEAR(ev.loss, totalLossD(tw, tb, hw, hb, weights, act, x, y), 1e-5 * (1 + ev.loss));
    const double eps = 1e-5;
    int checked = 0;
    // every entry of every tensor (the network is small)
    const auto check = [&](MatD& ref, const MatrixF& an, const std::string& what) {
        const double scale = an.cwiseAbs().maxCoeff();
        for (Eigen::Index k = 0; k < ref.size(); ++k) {
            const double keep = ref.data()[k];
            ref.data()[k] = keep + eps;
            const double up = totalLossD(tw, tb, hw, hb, weights, act, x, y);
            ref.data()[k] = keep - eps;
            const double down = totalLossD(tw, tb, hw, hb, weights, act, x, y);
            ref.data()[k] = keep;
            EXPECT_NEAR(an.data()[k], (up - down) / (2 * eps), 2e-4 * scale + 1e-6)
                << what << " entry " << k;
            ++checked;
        }
    };
    for (std::size_t l = 0; l < tw.size(); ++l) {
        check(tw[l], g.trunk[l].w, "W" + std::to_string(l + 1));
        check(tb[l], g.trunk[l].b, "b" + std::to_string(l + 1));
    }
    for (std::size_t c = 0; c < 2; ++c)
        for (std::size_t j = 0; j < hw[c].size(); ++j) {
            check(hw[c][j], g.outputs[c][j].w, "head " + std::to_string(c) + " W");
            check(hb[c][j], g.outputs[c][j].b, "head " + std::to_string(c) + " b");
        }
    EXPECT_GT(checked, 150);
}

// The loss weight is a factor on a head's gradient and nothing else: the heads' initial weights
// are bitwise the same whatever the weights; a weight of 2 doubles the head's push on the trunk
// exactly (a power of two commutes with every rounding); weights (a, b) give a g_A + b g_B up to
// float rounding; and headDiagnostics' trunk share moves by weight^2 while gradW2 (its own loss)
// does not move at all.
TEST(Heads, LossWeightScalesTheTrunkShareOnly) {
    const auto trainer = [](double wa, double wb) {
        NetworkSpec s = smallSpec();
        s.heads = {head("a", {4, 2}, InitScheme::XavierNormal, 1.0, 0.0, wa),
                   head("b", {3}, InitScheme::LecunNormal, 1.0, 0.0, wb)};
        TrainSpec ts;
        ts.task = TrainTask::Teacher;
        return std::make_unique<Trainer>(s, ts);
    };
    const auto trunkGrad = [](Trainer& tr) {
        MatrixF x;
        Targets y;
        tr.batch(0, x, y);
        TrainParams g;
        tr.lossAndGradients(x, y, &g);
        return g;
    };
    auto onlyA = trainer(1, 0), onlyB = trainer(0, 1), doubleA = trainer(2, 0),
         mix = trainer(0.5, 3);
    for (std::size_t c = 0; c < 2; ++c)
        for (std::size_t j = 0; j < onlyA->params().outputs[c].size(); ++j) {
            EXPECT_TRUE(
                bitwiseEqual(onlyA->params().outputs[c][j].w, mix->params().outputs[c][j].w));
            EXPECT_TRUE(
                bitwiseEqual(onlyA->params().outputs[c][j].b, mix->params().outputs[c][j].b));
        }
    const TrainParams gA = trunkGrad(*onlyA), gB = trunkGrad(*onlyB), g2A = trunkGrad(*doubleA),
                      gM = trunkGrad(*mix);
    for (std::size_t l = 0; l < gA.trunk.size(); ++l) {
        EXPECT_TRUE(bitwiseEqual(g2A.trunk[l].w, MatrixF(2.0f * gA.trunk[l].w))) << l;
        EXPECT_TRUE(bitwiseEqual(g2A.trunk[l].b, MatrixF(2.0f * gA.trunk[l].b))) << l;
        const MatrixF lin = 0.5f * gA.trunk[l].w + 3.0f * gB.trunk[l].w;
        EXPECT_LT((gM.trunk[l].w - lin).cwiseAbs().maxCoeff(),
                  1e-5 * lin.cwiseAbs().maxCoeff() + 1e-9)
            << l;
        EXPECT_GT(gA.trunk[l].w.cwiseAbs().maxCoeff(), 0.0f);
        EXPECT_GT(gB.trunk[l].w.cwiseAbs().maxCoeff(), 0.0f);
    }
    auto even = trainer(1, 1), heavy = trainer(4, 1);
    MatrixF x;
    Targets y;
    even->batch(0, x, y);
    const auto de = even->headDiagnostics(x, y), dh = heavy->headDiagnostics(x, y);
    ASSERT_EQ(de.size(), 2u);
    EXPECT_EQ(de[0].gradW2, dh[0].gradW2);
    EXPECT_EQ(de[0].outStd, dh[0].outStd);
    EXPECT_DOUBLE_EQ(dh[0].trunkGrad2, 16 * de[0].trunkGrad2);
    EXPECT_EQ(dh[1].trunkGrad2, de[1].trunkGrad2);
    EXPECT_GT(dh[0].trunkShare, de[0].trunkShare);
    EXPECT_NEAR(de[0].trunkShare + de[1].trunkShare, 1.0, 1e-12);
}

TEST(Heads, FrozenTrunkIsBitwiseUnchangedWhileHeadsLearn) {
    NetworkSpec s = smallSpec();
    s.heads = {head("a", {4, 2}, InitScheme::XavierNormal), head("b", {3}, InitScheme::HeNormal)};
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.freezeTrunk = true;
    ts.optimizer = Optimizer::Adam;
    Trainer tr(s, ts);
    const TrainParams p0 = tr.params();
    MatrixF x;
    Targets y;
    TrainParams g;
    for (int step = 0; step < 20; ++step) {
        tr.batch(step, x, y);
        tr.lossAndGradients(x, y, &g);
        tr.apply(g);
    }
    for (std::size_t l = 0; l < p0.trunk.size(); ++l) {
        EXPECT_TRUE(bitwiseEqual(tr.params().trunk[l].w, p0.trunk[l].w)) << l;
        EXPECT_TRUE(bitwiseEqual(tr.params().trunk[l].b, p0.trunk[l].b)) << l;
    }
    for (std::size_t c = 0; c < 2; ++c)
        EXPECT_FALSE(bitwiseEqual(tr.params().outputs[c].back().w, p0.outputs[c].back().w)) << c;
}

// Training with heads: the heads learn their teachers, and the result is the same to the bit
// with one thread or two.
TEST(Heads, TrainingIsDeterministicAcrossThreads) {
    NetworkSpec s = smallSpec();
    s.width = 40;
    s.batch = 100;
    s.heads = {head("a", {16, 2}, InitScheme::XavierNormal, 1.0, 0.0, 0.5),
               head("b", {3}, InitScheme::LecunNormal, 1.0, 0.0, 2.0)};
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.steps = 60;
    ts.recordEvery = 20;
    ts.learningRate = 0.05;
    s.threads = 1;
    const TrainResult one = trainNetwork(s, ts);
    s.threads = 2;
    const TrainResult two = trainNetwork(s, ts);
    auto j1 = trainResultToJson(one), j2 = trainResultToJson(two);
    j1.erase("seconds");
    j2.erase("seconds");
    j1["spec"].erase("threads");
    j2["spec"].erase("threads");
    EXPECT_EQ(j1.dump(), j2.dump());
    ASSERT_EQ(one.steps.back().heads.size(), 2u);
    for (std::size_t c = 0; c < 2; ++c)
        EXPECT_LT(one.steps.back().heads[c].loss, one.steps.front().heads[c].loss) << c;
    // the total is the weighted sum of the heads' losses
    const auto& st = one.steps[7];
    EXPECT_NEAR(st.loss, 0.5 * st.heads[0].loss + 2.0 * st.heads[1].loss, 1e-12 * (1 + st.loss));
    EXPECT_TRUE(std::isfinite(one.steps.back().heads[0].trunkShare));
}

TEST(Heads, CommandLineAndJsonForms) {
    HeadSpec h;
    std::string err;
    ASSERT_TRUE(parseHeadOption("cls:64,10:he-normal:bias=0.5:weight=2:gain=3", h, err)) << err;
    EXPECT_EQ(h.name, "cls");
    EXPECT_EQ(h.widths, (std::vector<int>{64, 10}));
    EXPECT_EQ(h.scheme, InitScheme::HeNormal);
    EXPECT_EQ(h.bias, 0.5);
    EXPECT_EQ(h.weight, 2.0);
    EXPECT_EQ(h.gain, 3.0);
    HeadSpec back;
    ASSERT_TRUE(parseHeadOption(headOptionText(h), back, err));
    EXPECT_EQ(back, h);
    EXPECT_FALSE(parseHeadOption("cls:10", h, err));
    EXPECT_NE(err.find("NAME:W1,W2"), std::string::npos) << err;
    EXPECT_FALSE(parseHeadOption("cls:1x:lecun-normal", h, err));
    EXPECT_NE(err.find("widths"), std::string::npos) << err;
    EXPECT_FALSE(parseHeadOption("cls:10:bogus", h, err));
    EXPECT_NE(err.find("scheme"), std::string::npos) << err;
    EXPECT_FALSE(parseHeadOption("cls:10:lecun-normal:colour=3", h, err));
    EXPECT_FALSE(parseHeadOption("cls:10:lecun-normal:weight=x", h, err));
    EXPECT_NE(err.find("weight"), std::string::npos) << err;

    // validation names the head and the field
    NetworkSpec s;
    s.heads = {head("ok", {10}, InitScheme::LecunNormal),
               head("Bad Name", {0}, InitScheme::LecunNormal),
               head("ok", {5}, InitScheme::DeltaOrthogonal, -1.0, 0.0, -2.0)};
    const auto e = validate(s);
    const auto has = [&](const std::string& field, const std::string& text) {
        for (const SpecError& x : e)
            if (x.field == field && x.message.find(text) != std::string::npos)
                return true;
        return false;
    };
    EXPECT_TRUE(has("heads[1].name", "heads[1].name: must be"));
    EXPECT_TRUE(has("heads[1].widths", "heads[1].widths[0]: must be an integer from 1"));
    EXPECT_TRUE(has("heads[2].name", "earlier head"));
    EXPECT_TRUE(has("heads[2].scheme", "delta-orthogonal"));
    EXPECT_TRUE(has("heads[2].gain", "heads[2].gain: must be"));
    EXPECT_TRUE(has("heads[2].weight", "heads[2].weight: must be"));

    // the spec's JSON has "heads" only when there are heads, and reads back equal
    NetworkSpec plain;
    EXPECT_FALSE(specToJson(plain).contains("heads"));
    NetworkSpec with;
    with.heads = {head("a", {8, 3}, InitScheme::Orthogonal, 2.0, 0.25, 0.5)};
    const auto j = specToJson(with);
    ASSERT_TRUE(j.contains("heads"));
    NetworkSpec read;
    std::vector<SpecError> errors;
    ASSERT_TRUE(specFromJson(j, read, errors)) << describeErrors(errors, false);
    EXPECT_EQ(read, with);
    auto bad = j;
    bad["heads"][0]["colour"] = 1;
    bad["heads"][0]["widths"] = "x";
    errors.clear();
    EXPECT_FALSE(specFromJson(bad, read, errors));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].field, "heads[0].colour");
    EXPECT_EQ(errors[1].field, "heads[0].widths");

    // --head is repeatable and replaces the spec's heads
    CommandLine cl({"--head", "a:10:lecun-normal", "--depth", "3", "--head", "b:4,10:he-normal"},
                   {});
    NetworkSpec cs = with;
    errors.clear();
    ASSERT_TRUE(cl.applyRunOptions(cs, errors)) << describeErrors(errors, true);
    ASSERT_EQ(cs.heads.size(), 2u);
    EXPECT_EQ(cs.heads[1].widths, (std::vector<int>{4, 10}));
    EXPECT_EQ(cs.depth, 3);
    // a message about a head's key is not rewritten into an option name
    EXPECT_EQ(withOptionNames("heads[0].widths: must be"), "heads[0].widths: must be");
}

// Scenario 12 on real data: pre-train on classes 0-4, then new heads on classes 5-9 over the
// frozen trunk. The trunk's statistics are the same at every recorded step of phase 2 (frozen)
// and not those of the untrained trunk; labels are renumbered within the classes; the heads learn.
TEST(Heads, TransferPretrainsThenTrainsHeadsOnAFrozenTrunk) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    NetworkSpec s;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    s.depth = 2;
    s.width = 32;
    s.batch = 64;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.threads = 2;
    s.heads = {head("fan-in", {5}, InitScheme::LecunNormal), head("big", {5}, InitScheme::Normal)};
    TrainSpec ts;
    ts.steps = 40;
    ts.recordEvery = 20;
    ts.classes = {5, 6, 7, 8, 9};
    ts.outputs = 5;
    ts.pretrainSteps = 40;
    ts.pretrainClasses = {0, 1, 2, 3, 4};
    ts.freezeTrunk = true;
    ts.testExamples = 1000;
    {
        Trainer tr(s, ts);
        MatrixF x;
        Targets y;
        tr.batch(3, x, y);
        for (int l : y.labels) {
            EXPECT_GE(l, 0);
            EXPECT_LT(l, 5);
        }
    }
    const TrainResult r = trainNetwork(s, ts);
    ASSERT_EQ(r.pretrainSteps.size(), 41u);
    ASSERT_EQ(r.steps.size(), 41u);
    EXPECT_TRUE(r.pretrainSteps.front().pretraining);
    EXPECT_GT(r.pretrainTestAccuracy, 0.5); // 5 classes: chance is 0.2
    const auto& p0 = r.pretrainSteps.front().layers;
    const auto& a = r.steps.front().layers;
    const auto& b = r.steps.back().layers;
    ASSERT_EQ(a.size(), 2u);
    for (std::size_t l = 0; l < a.size(); ++l) {
        EXPECT_EQ(a[l].q, b[l].q) << l;
        EXPECT_NE(a[l].q, p0[l].q) << l;
    }
    ASSERT_EQ(r.steps.back().heads.size(), 2u);
    EXPECT_GT(r.steps.back().heads[0].testAccuracy, 0.5);
    // the naive head's output is about sqrt(N) times the fan-in head's at step 0
    EXPECT_GT(r.steps.front().heads[1].outStd, 3 * r.steps.front().heads[0].outStd);
    const auto j = trainResultToJson(r);
    EXPECT_TRUE(j.contains("pretrain"));
    EXPECT_EQ(j["train"]["classes"], nlohmann::json({5, 6, 7, 8, 9}));
    EXPECT_TRUE(j["steps"][0]["heads"][0].contains("trunk_share"));
    // settings the transfer needs are checked by name
    TrainSpec bad = ts;
    bad.pretrainClasses.clear();
    bad.outputs = 10;
    const auto e = validateTraining(s, bad);
    bool names = false, outs = false;
    for (const SpecError& x : e) {
        names = names || x.field == "pretrain_classes";
        outs = outs || x.field == "outputs";
    }
    EXPECT_TRUE(names);
    EXPECT_TRUE(outs);
}

// A preset's "train" block: read strictly (errors name train.KEY), validated with the spec, and
// written back equal; the three lesson presets carry one and open the training view.
TEST(Heads, PresetTrainBlock) {
    const std::string head = R"({"format": "initscope-preset", "version": 1, "name": "t",
        "view": "training", "spec": {"depth": 2, "width": 8, "input_dim": 4, "batch": 8},)";
    PresetParse ok = parsePreset(head + R"("train": {"steps": 40, "task": "teacher",
        "optimizer": "adam", "learning_rate": 0.002, "record_every": 10, "outputs": 3,
        "freeze_trunk": true}})");
    ASSERT_TRUE(ok.preset) << describeErrors(ok.errors, false);
    ASSERT_TRUE(ok.preset->train);
    EXPECT_EQ(ok.preset->train->steps, 40);
    EXPECT_EQ(ok.preset->train->optimizer, Optimizer::Adam);
    EXPECT_TRUE(ok.preset->train->freezeTrunk);
    PresetParse again = parsePreset(presetToJson(*ok.preset));
    ASSERT_TRUE(again.preset);
    EXPECT_EQ(*again.preset, *ok.preset);
    const auto fieldOf = [&](const std::string& block) {
        PresetParse r = parsePreset(head + "\"train\": " + block + "}");
        EXPECT_FALSE(r.preset) << block;
        return r.errors.empty() ? std::string() : r.errors.front().field;
    };
    EXPECT_EQ(fieldOf(R"({"steps": "many"})"), "train.steps");
    EXPECT_EQ(fieldOf(R"({"steps": 0, "task": "teacher"})"), "train.steps");
    EXPECT_EQ(fieldOf(R"({"steps": 5, "colour": 1})"), "train.colour");
    EXPECT_EQ(fieldOf(R"({"steps": 5, "task": "teacher", "optimizer": "rmsprop"})"),
              "train.optimizer");
    EXPECT_EQ(fieldOf(R"({"steps": 5})"), "data"); // fashion-mnist needs its data: the spec's field
    for (const char* name : {"symmetry-persists", "transfer", "multi-task"}) {
        const Preset* p = findBundledPreset(name);
        ASSERT_TRUE(p) << name;
        EXPECT_EQ(p->view, "training");
        ASSERT_TRUE(p->train) << name;
        EXPECT_TRUE(validateTraining(p->spec, *p->train).empty()) << name;
    }
    EXPECT_EQ(findBundledPreset("transfer")->spec.heads.size(), 3u);
    EXPECT_EQ(findBundledPreset("transfer")->train->pretrainSteps, 300);
}

// The memory estimate counts the heads (issue 12): a small trunk under the budget is refused once
// a head of 16384 x 16384 (2 GiB of weights and their draws) is attached, with the estimate in the
// message; the heads' share is exactly their weights, biases, activations and the copy of a^L; a
// spec without heads estimates by the trunk's formula alone (the mlp terms written out here).
TEST(Heads, MemoryEstimateCountsTheHeads) {
    NetworkSpec s;
    s.depth = 2;
    s.width = 64;
    s.inputDim = 32;
    s.batch = 128;
    s.memoryBudgetGiB = 1.0;
    const std::uint64_t B = 128, f = sizeof(float);
    // the trunk alone: 2 layers of (draws + weights, bias draws + biases, a and phi' over B),
    // the input and delta buffers and the dW scratch of the widest layer
    const std::uint64_t trunk = (2 * 32 * 64 + 2 * 64 + 2 * 64 * B) * f +
                                (2 * 64 * 64 + 2 * 64 + 2 * 64 * B) * f + 2 * 64 * B * f +
                                64 * 64 * f;
    EXPECT_EQ(estimateMemoryBytes(s), trunk);
    EXPECT_TRUE(validate(s).empty());

    s.heads = {head("big", {16384, 16384}, InitScheme::LecunNormal)};
    const std::uint64_t big = 64 * B * f + (2 * 64 * 16384 + 2 * 16384 + 2 * 16384 * B) * f +
                              (2 * 16384ull * 16384 + 2 * 16384 + 2 * 16384 * B) * f;
    EXPECT_EQ(estimateMemoryBytes(s), trunk + big);
    const std::vector<SpecError> e = validate(s);
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e.front().field, "memory_budget_gib");
    EXPECT_NE(e.front().message.find("needs about 2"), std::string::npos) << e.front().message;
    // Engine::run refuses it before allocating anything
    Engine engine;
    EXPECT_THROW(engine.run(s), SpecInvalid);
    // two small heads: each adds its own share, independent of the other
    s.heads = {head("a", {10}, InitScheme::LecunNormal),
               head("b", {8, 3}, InitScheme::XavierNormal)};
    const std::uint64_t a = 64 * B * f + (2 * 64 * 10 + 2 * 10 + 2 * 10 * B) * f;
    const std::uint64_t b =
        64 * B * f + (2 * 64 * 8 + 2 * 8 + 2 * 8 * B) * f + (2 * 8 * 3 + 2 * 3 + 2 * 3 * B) * f;
    EXPECT_EQ(estimateMemoryBytes(s), trunk + a + b);
    EXPECT_TRUE(validate(s).empty());
}

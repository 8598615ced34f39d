// The trainer (THEORY.md "Training"): exact gradients, the optimizers' formulas, symmetry kept to
// the bit, a frozen trunk untouched, determinism across thread counts, step 0 = run, and real
// learning on Fashion-MNIST and on a teacher.
#include "core/data.h"
#include "network/engine.h"
#include "network/network.h"
#include "stats/statschema.h"
#include "theory/meanfield.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>

using namespace initscope;

namespace {

bool haveFashionMnist() {
    return std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz");
}

NetworkSpec fashionSpec(int depth, int width, int batch) {
    NetworkSpec s;
    s.data = "fashion-mnist";
    s.inputDim = kFashionMnistDim;
    s.depth = depth;
    s.width = width;
    s.batch = batch;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    s.threads = 2;
    return s;
}

NetworkSpec teacherSpec() {
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

// ---- an independent double-precision reference of the trained network -------------------------

using MatD = Eigen::MatrixXd;

struct ParamsD {
    std::vector<MatD> w, b; // trunk layers then the readout
};

ParamsD toDouble(const TrainParams& p) {
    ParamsD d;
    for (const auto& l : p.trunk) {
        d.w.push_back(l.w.cast<double>());
        d.b.push_back(l.b.cast<double>());
    }
    for (const auto& l : p.outputs.at(0)) {
        d.w.push_back(l.w.cast<double>());
        d.b.push_back(l.b.cast<double>());
    }
    return d;
}

/// Mean loss of the reference network: phi after every trunk layer, a linear readout.
double lossD(const ParamsD& p, std::size_t trunk, const Activation& act, const MatrixF& x,
             const Targets& y, bool classify) {
    MatD u = x.cast<double>();
    for (std::size_t l = 0; l < p.w.size(); ++l) {
        MatD h = p.w[l] * u;
        h.colwise() += p.b[l].col(0);
        if (l < trunk)
            h = h.unaryExpr([&](double v) { return act.phi(v); });
        u = h;
    }
    double loss = 0;
    for (Eigen::Index b = 0; b < u.cols(); ++b) {
        if (classify) {
            const double zmax = u.col(b).maxCoeff();
            const double lse = zmax + std::log((u.col(b).array() - zmax).exp().sum());
            loss += lse - u(y.labels[static_cast<std::size_t>(b)], b);
        } else {
            loss += 0.5 * (u.col(b) - y.values.col(b).cast<double>()).squaredNorm();
        }
    }
    return loss / static_cast<double>(u.cols());
}

/// Central finite differences of the reference loss against the trainer's float32 gradient.
/// Tolerance: the FD error is O(eps^2 f''') ~ 1e-10 and its rounding ~1e-16 / eps ~ 1e-10 in
/// double; the float32 gradient carries relative rounding of a few 1e-7 per accumulated term over
/// sums of a few dozen terms, so 2e-4 of the tensor's largest entry (plus 1e-6) is a wide margin
/// that a wrong factor, transpose or missing phi' (errors of order 1) cannot pass.
void expectGradientsMatch(const NetworkSpec& spec, const TrainSpec& ts) {
    Trainer tr(spec, ts);
    MatrixF x;
    Targets y;
    tr.batch(0, x, y);
    TrainParams g;
    const auto ev = tr.lossAndGradients(x, y, &g);
    const bool classify = ts.task == TrainTask::FashionMnist;
    const Activation act(spec.activation, spec.activationSlope);
    const std::size_t L = tr.params().trunk.size();
    const ParamsD base = toDouble(tr.params());
    EXPECT_NEAR(ev.loss, lossD(base, L, act, x, y, classify), 1e-5 * (1 + std::abs(ev.loss)));
    std::vector<const MatrixF*> gw, gb;
    for (const auto& l : g.trunk) {
        gw.push_back(&l.w);
        gb.push_back(&l.b);
    }
    for (const auto& l : g.outputs[0]) {
        gw.push_back(&l.w);
        gb.push_back(&l.b);
    }
    const double eps = 1e-5;
    int checked = 0;
    for (std::size_t t = 0; t < base.w.size(); ++t)
        for (int isBias = 0; isBias < 2; ++isBias) {
            const MatrixF& an = isBias ? *gb[t] : *gw[t];
            const MatD& ref = isBias ? base.b[t] : base.w[t];
            const double scale = an.cwiseAbs().maxCoeff();
            // at most 40 entries per tensor, spread over it (the 784-wide first layer is big)
            const Eigen::Index n = ref.size(), step = std::max<Eigen::Index>(1, n / 40);
            for (Eigen::Index k = 0; k < n; k += step) {
                ParamsD p = base;
                MatD& m = isBias ? p.b[t] : p.w[t];
                m.data()[k] += eps;
                const double up = lossD(p, L, act, x, y, classify);
                m.data()[k] -= 2 * eps;
                const double down = lossD(p, L, act, x, y, classify);
                const double fd = (up - down) / (2 * eps);
                EXPECT_NEAR(an.data()[k], fd, 2e-4 * scale + 1e-6)
                    << (isBias ? "b" : "W") << t + 1 << " entry " << k;
                ++checked;
            }
        }
    EXPECT_GT(checked, 100);
}

} // namespace

TEST(Train, GradientsMatchFiniteDifferencesTeacher) {
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.outputs = 3;
    expectGradientsMatch(teacherSpec(), ts);
}

TEST(Train, GradientsMatchFiniteDifferencesClassification) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    NetworkSpec s = fashionSpec(2, 5, 7);
    s.activation = ActivationKind::Tanh; // smooth: no kink for a difference to straddle
    s.biasInit = BiasInit::Normal;
    s.sigmaB2 = 0.1;
    expectGradientsMatch(s, TrainSpec{});
}

// One update of each optimizer against its formula, fed with chosen gradients.
TEST(Train, OptimizersFollowTheirFormulas) {
    for (const Optimizer opt : {Optimizer::Sgd, Optimizer::Momentum, Optimizer::Adam}) {
        TrainSpec ts;
        ts.task = TrainTask::Teacher;
        ts.outputs = 3;
        ts.optimizer = opt;
        ts.learningRate = 0.1;
        Trainer tr(teacherSpec(), ts);
        const TrainParams p0 = tr.params();
        TrainParams g1 = p0, g2 = p0; // gradients with a pattern of signs and sizes
        auto fill = [](TrainParams& g, float a) {
            for (auto& l : g.trunk)
                for (Eigen::Index k = 0; k < l.w.size(); ++k)
                    l.w.data()[k] = a * std::sin(1.0f + static_cast<float>(k));
            for (auto& l : g.outputs[0])
                l.w.setConstant(a);
            for (auto& l : g.trunk)
                l.b.setConstant(-a);
            for (auto& l : g.outputs[0])
                l.b.setConstant(-a);
        };
        fill(g1, 0.5f);
        fill(g2, -0.25f);
        tr.apply(g1);
        tr.apply(g2);
        const double eta = 0.1, mu = 0.9, b1 = 0.9, b2 = 0.999, e = 1e-8;
        for (std::size_t l = 0; l < p0.trunk.size(); ++l)
            for (Eigen::Index k = 0; k < p0.trunk[l].w.size(); ++k) {
                const double w0 = p0.trunk[l].w.data()[k];
                const double x1 = g1.trunk[l].w.data()[k], x2 = g2.trunk[l].w.data()[k];
                double w2 = 0;
                if (opt == Optimizer::Sgd) {
                    w2 = w0 - eta * x1 - eta * x2;
                } else if (opt == Optimizer::Momentum) {
                    const double v1 = x1, v2 = mu * v1 + x2;
                    w2 = w0 - eta * v1 - eta * v2;
                } else {
                    double m = (1 - b1) * x1, v = (1 - b2) * x1 * x1;
                    const double w1 = w0 - eta * (m / (1 - b1)) / (std::sqrt(v / (1 - b2)) + e);
                    m = b1 * m + (1 - b1) * x2;
                    v = b2 * v + (1 - b2) * x2 * x2;
                    w2 = w1 - eta * (m / (1 - b1 * b1)) / (std::sqrt(v / (1 - b2 * b2)) + e);
                }
                // float32 arithmetic of a few operations on O(1) values: 1e-6 absolute
                EXPECT_NEAR(tr.params().trunk[l].w.data()[k], w2, 1e-6)
                    << optimizerName(opt) << " W" << l + 1 << " entry " << k;
            }
    }
}

// THEORY.md scenario 1: from constant init every unit of a trunk layer stays identical through
// training, to the bit (unit_spread exactly 0 at every recorded step), while the network learns.
TEST(Train, ConstantInitKeepsUnitsIdenticalThroughTraining) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    for (const ActivationKind act : {ActivationKind::Relu, ActivationKind::Tanh}) {
        for (const Optimizer opt : {Optimizer::Sgd, Optimizer::Adam}) {
            NetworkSpec s = fashionSpec(3, 37, 64); // 37: a width that is no multiple of a tile
            s.activation = act;
            s.init = InitScheme::Constant;
            s.initValue = 0.05;
            s.biasInit = BiasInit::Constant;
            s.biasValue = 0.01;
            TrainSpec ts;
            ts.steps = 50;
            ts.recordEvery = 10;
            ts.optimizer = opt;
            ts.learningRate = opt == Optimizer::Adam ? 1e-3 : 0.05;
            const TrainResult r = trainNetwork(s, ts);
            ASSERT_EQ(r.steps.size(), 51u);
            int recorded = 0;
            for (const TrainStep& st : r.steps) {
                if (!st.recorded)
                    continue;
                ++recorded;
                ASSERT_EQ(st.layers.size(), 3u);
                for (const LayerStats& l : st.layers)
                    EXPECT_EQ(l.unitSpread, 0.0) << activationName(act) << " " << optimizerName(opt)
                                                 << " step " << st.step << " layer " << l.index;
            }
            EXPECT_EQ(recorded, 6);
            // it did learn (through the readout and the one feature the symmetric trunk has)
            EXPECT_LT(r.steps.back().loss, r.steps.front().loss) << activationName(act);
            EXPECT_NE(r.steps.back().layers[0].q, r.steps.front().layers[0].q);
        }
    }
}

TEST(Train, FrozenTrunkIsBitwiseUnchanged) {
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.outputs = 3;
    ts.freezeTrunk = true;
    ts.optimizer = Optimizer::Adam;
    Trainer tr(teacherSpec(), ts);
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
        EXPECT_TRUE((tr.params().trunk[l].w.array() == p0.trunk[l].w.array()).all()) << l;
        EXPECT_TRUE((tr.params().trunk[l].b.array() == p0.trunk[l].b.array()).all()) << l;
    }
    EXPECT_FALSE((tr.params().outputs[0][0].w.array() == p0.outputs[0][0].w.array()).all());
}

TEST(Train, IdenticalForOneAndTwoThreads) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    NetworkSpec s = fashionSpec(3, 96, 200); // 200: a partial last chunk of columns
    s.activation = ActivationKind::Tanh;
    TrainSpec ts;
    ts.steps = 12;
    ts.recordEvery = 6;
    ts.optimizer = Optimizer::Momentum;
    s.threads = 1;
    const TrainResult a = trainNetwork(s, ts);
    s.threads = 2;
    const TrainResult b = trainNetwork(s, ts);
    ASSERT_EQ(a.steps.size(), b.steps.size());
    for (std::size_t i = 0; i < a.steps.size(); ++i) {
        EXPECT_EQ(a.steps[i].loss, b.steps[i].loss) << i;
        EXPECT_EQ(a.steps[i].accuracy, b.steps[i].accuracy) << i;
        ASSERT_EQ(a.steps[i].layers.size(), b.steps[i].layers.size());
        for (std::size_t l = 0; l < a.steps[i].layers.size(); ++l)
            for (const LayerStatistic& st : layerStatistics()) {
                const double u = st.value(a.steps[i].layers[l]), v = st.value(b.steps[i].layers[l]);
                EXPECT_TRUE(u == v || (std::isnan(u) && std::isnan(v))) << st.key;
            }
    }
    EXPECT_EQ(a.testAccuracy, b.testAccuracy);
}

// Step 0's statistics are run's for the same spec (its weights, inputs and loss), to the bit; and
// the probe of given weights (runWithWeights), fed the initial weights, agrees with run up to the
// rounding of W = s Z formed before the product instead of inside it.
TEST(Train, StepZeroIsTheRun) {
    NetworkSpec s = teacherSpec();
    s.width = 40;
    s.batch = 100;
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.steps = 3;
    ts.learningRate = 0.02;
    const TrainResult r = trainNetwork(s, ts);
    NetworkSpec rs = s;
    rs.learningRate = 0.02;
    Engine engine;
    const RunResult run = engine.run(rs);
    ASSERT_EQ(r.steps[0].layers.size(), run.layers.size());
    for (std::size_t l = 0; l < run.layers.size(); ++l)
        for (const LayerStatistic& st : layerStatistics()) {
            const double u = st.value(r.steps[0].layers[l]), v = st.value(run.layers[l]);
            EXPECT_TRUE(u == v || (std::isnan(u) && std::isnan(v))) << st.key << " layer " << l;
        }
    const Network net = buildNetwork(rs);
    const DenseWeights w = materializeDense(net, fetchDraws(net, nullptr), nullptr);
    const RunResult given = engine.runWithWeights(rs, w);
    for (std::size_t l = 0; l < run.layers.size(); ++l) {
        EXPECT_NEAR(given.layers[l].q, run.layers[l].q, 1e-5 * run.layers[l].q);
        EXPECT_NEAR(given.layers[l].gradW2, run.layers[l].gradW2, 1e-4 * run.layers[l].gradW2);
        EXPECT_NEAR(given.layers[l].relativeUpdate, run.layers[l].relativeUpdate,
                    1e-4 * run.layers[l].relativeUpdate);
    }
    // and after training the statistics moved
    EXPECT_NE(r.steps.back().layers[0].q, run.layers[0].q);
}

/// fan_in Var(W) of a weight matrix, computed apart from the engine (two passes in double).
double fanInVariance(const MatrixF& w) {
    double mean = 0, var = 0;
    for (Eigen::Index i = 0; i < w.size(); ++i)
        mean += w.data()[i];
    mean /= static_cast<double>(w.size());
    for (Eigen::Index i = 0; i < w.size(); ++i)
        var += (w.data()[i] - mean) * (w.data()[i] - mean);
    return static_cast<double>(w.cols()) * var / static_cast<double>(w.size());
}

// A run of given weights reports each layer's own sigma_w^2 = fan_in Var(W^l), not the spec's,
// and draws the mean-field curves at those variances: here layers scaled to 0.5, 3 and 1.2 times
// the spec's He variance. The measured q follows that theory (not the spec's): at width 256 and
// batch 128, q is a mean over 32768 pre-activations whose relative spread about the
// infinite-width value is a few percent after three layers (Hanin & Rolnick 2018: the
// fluctuations grow like depth / width); 10% bounds it, while the spec's theory is off by 44%.
TEST(Train, GivenWeightsReportTheirOwnVariance) {
    NetworkSpec s;
    s.inputDim = 200;
    s.depth = 3;
    s.width = 256;
    s.batch = 128;
    s.activation = ActivationKind::Relu;
    s.init = InitScheme::HeNormal;
    const Network net = buildNetwork(s);
    DenseWeights w = materializeDense(net, fetchDraws(net, nullptr), nullptr);
    const double factor[] = {0.5, 3.0, 1.2};
    for (std::size_t l = 1; l <= 3; ++l)
        w.w[l] *= static_cast<float>(std::sqrt(factor[l - 1]));
    Engine engine;
    const RunResult given = engine.runWithWeights(s, w);
    const RunResult drawn = engine.run(s);
    std::vector<double> own;
    for (std::size_t l = 0; l < 3; ++l) {
        own.push_back(fanInVariance(w.w[l + 1]));
        EXPECT_NEAR(given.layers[l].sigmaW2, own[l], 1e-12 * own[l]) << "layer " << l + 1;
        EXPECT_NEAR(own[l], 2.0 * factor[l], 0.05 * 2.0 * factor[l]); // the draws' spread
    }
    const meanfield::LayerTheory lt =
        meanfield::layerTheory(Activation(s.activation), own, 0.0, given.theory.q0, given.theory.c0,
                               std::vector<int>(3, s.width));
    EXPECT_EQ(given.theory.q, lt.q);
    EXPECT_NE(given.theory.note.find("given weights"), std::string::npos);
    for (std::size_t l = 0; l < 3; ++l) {
        EXPECT_NEAR(given.layers[l].q, lt.q[l], 0.1 * lt.q[l]) << "layer " << l + 1;
        EXPECT_EQ(drawn.layers[l].sigmaW2, 2.0); // the spec's, for its own draws
    }
    EXPECT_GT(std::abs(drawn.theory.q[2] - given.theory.q[2]), 0.3 * given.theory.q[2]);
}

// The statistics recorded during training are those of the trained weights: each layer's
// sigma_w2 is the weights' fan_in Var(W^l) at that step (it moves as they train), not the init's.
TEST(Train, RecordedVarianceIsTheTrainedWeights) {
    NetworkSpec s = teacherSpec();
    s.width = 32;
    s.batch = 64;
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.steps = 40;
    ts.learningRate = 0.05;
    Trainer tr(s, ts);
    MatrixF x;
    Targets y;
    TrainParams g;
    for (int step = 0; step < ts.steps; ++step) {
        tr.batch(step, x, y);
        tr.lossAndGradients(x, y, &g);
        tr.apply(g);
    }
    const RunResult probe = tr.probe(nullptr);
    for (std::size_t l = 0; l < tr.params().trunk.size(); ++l) {
        const double own = fanInVariance(tr.params().trunk[l].w);
        EXPECT_NEAR(probe.layers[l].sigmaW2, own, 1e-12 * own) << "layer " << l + 1;
        EXPECT_NE(probe.layers[l].sigmaW2, effectiveSigmaW2(s, static_cast<int>(l) + 1));
    }
}

TEST(Train, TeacherRegressionLearns) {
    NetworkSpec s = teacherSpec();
    s.width = 32;
    s.batch = 64;
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.outputs = 4;
    ts.steps = 300;
    ts.optimizer = Optimizer::Adam;
    ts.learningRate = 3e-3;
    const TrainResult r = trainNetwork(s, ts);
    ASSERT_EQ(r.steps.size(), 301u);
    EXPECT_TRUE(std::isnan(r.steps.back().accuracy)); // regression: no accuracy
    // measured: the loss falls from 0.97 to 0.005 (fresh inputs every step: it generalises)
    EXPECT_LT(r.steps.back().loss, 0.2 * r.steps.front().loss);
}

// The benchmark job: He + ReLU, depth 4, width 256, batch 128, SGD 0.05, 300 steps.
// Measured: test accuracy 0.84 on the 10000 t10k images (PyTorch's peer script, same job: 0.84);
// 0.75 leaves room for rounding and seeds but not for a broken trainer (an untrained network
// scores ~0.1).
TEST(Train, FashionMnistMlpLearns) {
    if (!haveFashionMnist())
        GTEST_SKIP() << "Fashion-MNIST is not installed";
    TrainSpec ts;
    ts.steps = 300;
    ts.learningRate = 0.05;
    const TrainResult r = trainNetwork(fashionSpec(4, 256, 128), ts);
    ASSERT_FALSE(r.cancelled);
    EXPECT_LT(r.steps.front().testAccuracy, 0.3);
    EXPECT_GE(r.testAccuracy, 0.75);
    EXPECT_LT(r.steps.back().loss, r.steps.front().loss);
}

TEST(Train, CancelStopsBetweenSteps) {
    struct Stop : TrainSink {
        std::atomic<bool> flag{false};
        void step(const TrainStep& s) override {
            if (s.step == 3)
                flag = true;
        }
    } sink;
    TrainSpec ts;
    ts.task = TrainTask::Teacher;
    ts.outputs = 3;
    ts.steps = 1000;
    const TrainResult r = trainNetwork(teacherSpec(), ts, &sink, &sink.flag);
    EXPECT_TRUE(r.cancelled);
    EXPECT_EQ(r.steps.size(), 4u);
}

TEST(Train, InvalidSettingsNameTheirFields) {
    NetworkSpec s = teacherSpec();
    TrainSpec ts; // fashion-mnist on gaussian data
    auto e = validateTraining(s, ts);
    ASSERT_FALSE(e.empty());
    EXPECT_EQ(e[0].field, "data");
    ts.task = TrainTask::Teacher;
    ts.steps = 0;
    ts.momentum = 1.0;
    e = validateTraining(s, ts);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].field, "steps");
    EXPECT_EQ(e[1].field, "momentum");
    EXPECT_THROW(Trainer(s, ts), SpecInvalid);
}

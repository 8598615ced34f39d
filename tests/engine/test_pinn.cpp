// The PINN for u_t + c u_x = 0 (THEORY.md scenario 15): the forward-mode tangent against finite
// differences of u, the parameter gradients of mean r, of mean r^2 and of the initial-condition
// term against central finite differences, the trunk being the run's, determinism across thread
// counts, and the law in c that follows from r being linear in c.
//
// Tolerances: everything is computed in double. A central difference with step e has truncation
// error ~ e^2 |f'''| / 6 and rounding error ~ 1e-16 |f| / e; with e = 1e-5 and O(1) derivatives
// both are below 1e-9, so a relative agreement of 1e-6 leaves a margin of 1000 and would still
// catch any wrong term (a missing phi'' term changes the gradients at the 1e-1 level).
#include "apps/pinn.h"
#include "network/engine.h"
#include "train/train.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace initscope;

namespace {

NetworkSpec pinnSpec(ActivationKind act) {
    NetworkSpec s;
    s.inputDim = 2;
    s.depth = 3;
    s.width = 6;
    s.activation = act;
    s.init = InitScheme::HeNormal;
    s.biasInit = BiasInit::Normal; // nonzero biases so that their gradients are exercised
    s.sigmaB2 = 0.1;
    s.seed = 7;
    s.threads = 2;
    return s;
}

double meanOf(const Eigen::VectorXd& v) {
    return v.sum() / static_cast<double>(v.size());
}

/// Objectives of the parameters: mean r, mean r^2, mean (u - g)^2 on the IC points.
struct Objectives {
    double meanR, loss, ic;
};
Objectives objectives(const PinnModel& m, const Eigen::MatrixXd& pts, const Eigen::MatrixXd& ic,
                      double c) {
    Eigen::VectorXd u, r, ui, ri;
    pinnForward(m, pts, c, u, r);
    pinnForward(m, ic, c, ui, ri);
    double s = 0;
    for (Eigen::Index j = 0; j < ui.size(); ++j) {
        const double d = ui(j) - std::sin(2 * M_PI * ic(1, j));
        s += d * d;
    }
    return {meanOf(r), r.squaredNorm() / static_cast<double>(r.size()),
            s / static_cast<double>(ui.size())};
}

} // namespace

TEST(Pinn, TrunkIsTheRunsAndReadoutHasOneUnit) {
    const NetworkSpec s = pinnSpec(ActivationKind::Tanh);
    const PinnModel m = PinnModel::fromSpec(s);
    TrainSpec t;
    t.task = TrainTask::Teacher;
    t.outputs = 1;
    const Trainer trainer(s, t);
    ASSERT_EQ(m.trunkLayers, s.depth);
    ASSERT_EQ(m.layers.size(), trainer.params().trunk.size() + trainer.params().outputs[0].size());
    for (int l = 0; l < s.depth; ++l) // exactly the trainer's (= the run's) float weights
        EXPECT_EQ(m.layers[static_cast<std::size_t>(l)].w,
                  trainer.params().trunk[static_cast<std::size_t>(l)].w.cast<double>());
    EXPECT_EQ(m.layers.back().w.rows(), 1);
    EXPECT_EQ(m.layers.front().w.cols(), 2);
}

TEST(Pinn, TangentIsTheDirectionalDerivativeOfU) {
    for (ActivationKind act : {ActivationKind::Tanh, ActivationKind::Gelu, ActivationKind::Sin}) {
        const PinnModel m = PinnModel::fromSpec(pinnSpec(act));
        const Eigen::MatrixXd pts = pinnPoints(3, 50, false);
        for (double c : {0.0, 0.3, -2.0, 25.0}) {
            Eigen::VectorXd u, r, up, rp, um, rm;
            pinnForward(m, pts, c, u, r);
            const double e = 1e-5;
            Eigen::MatrixXd dir(2, pts.cols());
            dir.row(0).setOnes();
            dir.row(1).setConstant(c);
            pinnForward(m, pts + e * dir, c, up, rp);
            pinnForward(m, pts - e * dir, c, um, rm);
            const Eigen::VectorXd fd = (up - um) / (2 * e);
            // the tangent's scale is 1 + |c| times O(1) derivatives
            EXPECT_LT((fd - r).cwiseAbs().maxCoeff(), 1e-6 * (1 + std::abs(c)))
                << activationName(act) << " c=" << c;
        }
    }
}

TEST(Pinn, ResidualIsLinearInC) {
    // u does not depend on c: r(c) = r(0) + c (r(1) - r(0)) up to rounding
    const PinnModel m = PinnModel::fromSpec(pinnSpec(ActivationKind::Tanh));
    const Eigen::MatrixXd pts = pinnPoints(3, 40, false);
    Eigen::VectorXd u, r0, r1, rc;
    pinnForward(m, pts, 0.0, u, r0);
    pinnForward(m, pts, 1.0, u, r1);
    pinnForward(m, pts, 37.0, u, rc);
    EXPECT_LT((rc - (r0 + 37.0 * (r1 - r0))).cwiseAbs().maxCoeff(), 1e-12 * 37 * r1.norm());
}

TEST(Pinn, ParameterGradientsMatchCentralDifferences) {
    for (ActivationKind act : {ActivationKind::Tanh, ActivationKind::Gelu}) {
        PinnModel m = PinnModel::fromSpec(pinnSpec(act));
        const Eigen::MatrixXd pts = pinnPoints(5, 70, false); // two chunks, the second partial
        const Eigen::MatrixXd ic = pinnPoints(5, 30, true);
        const double c = 3.0;
        const Eigen::Index M = pts.cols(), Mi = ic.cols();
        Eigen::VectorXd u, r, ui, ri;
        pinnForward(m, pts, c, u, r);
        pinnForward(m, ic, c, ui, ri);
        Eigen::VectorXd diff(Mi);
        for (Eigen::Index j = 0; j < Mi; ++j)
            diff(j) = ui(j) - std::sin(2 * M_PI * ic(1, j));
        const Eigen::VectorXd zM = Eigen::VectorXd::Zero(M), zI = Eigen::VectorXd::Zero(Mi);
        auto gMean = pinnZeroGrads(m), gLoss = pinnZeroGrads(m), gIc = pinnZeroGrads(m);
        pinnBackward(m, pts, c, zM, Eigen::VectorXd::Constant(M, 1.0 / M), gMean);
        pinnBackward(m, pts, c, zM, (2.0 / M) * r, gLoss);
        pinnBackward(m, ic, c, (2.0 / Mi) * diff, zI, gIc);
        double worst = 0;
        int checked = 0;
        for (std::size_t l = 0; l < m.layers.size(); ++l) {
            const auto check = [&](double& p, double gm, double gl, double gi) {
                const double keep = p, e = 1e-5;
                p = keep + e;
                const Objectives plus = objectives(m, pts, ic, c);
                p = keep - e;
                const Objectives minus = objectives(m, pts, ic, c);
                p = keep;
                const double fm = (plus.meanR - minus.meanR) / (2 * e);
                const double fl = (plus.loss - minus.loss) / (2 * e);
                const double fi = (plus.ic - minus.ic) / (2 * e);
                worst = std::max({worst, std::abs(fm - gm) / (1 + std::abs(fm)),
                                  std::abs(fl - gl) / (1 + std::abs(fl)),
                                  std::abs(fi - gi) / (1 + std::abs(fi))});
                ++checked;
            };
            auto& L = m.layers[l];
            for (Eigen::Index k = 0; k < L.w.size(); ++k)
                check(L.w.data()[k], gMean[l].w.data()[k], gLoss[l].w.data()[k],
                      gIc[l].w.data()[k]);
            for (Eigen::Index k = 0; k < L.b.size(); ++k)
                check(L.b.data()[k], gMean[l].b.data()[k], gLoss[l].b.data()[k],
                      gIc[l].b.data()[k]);
        }
        EXPECT_EQ(static_cast<std::size_t>(checked), m.parameterCount());
        EXPECT_LT(worst, 1e-6) << activationName(act);
        // and the gradients are not trivially zero
        EXPECT_GT(pinnNorm(gLoss), 1e-3);
        EXPECT_GT(pinnNorm(gMean), 1e-3);
    }
}

TEST(Pinn, TrainingLossGradientMatchesCentralDifferences) {
    // the residual, initial-condition and periodic-boundary terms together, as training uses them
    PinnModel m = PinnModel::fromSpec(pinnSpec(ActivationKind::Tanh));
    const Eigen::MatrixXd pts = pinnPoints(9, 40, false), ic = pinnPoints(9, 20, true);
    const double c = 2.0, w = 0.7;
    std::vector<PinnLayer> g;
    pinnTrainingLoss(m, pts, ic, c, w, &g);
    double worst = 0;
    for (std::size_t l = 0; l < m.layers.size(); ++l)
        for (Eigen::Index k = 0; k < m.layers[l].w.size(); ++k) {
            double& p = m.layers[l].w.data()[k];
            const double keep = p, e = 1e-5;
            p = keep + e;
            const double plus = pinnTrainingLoss(m, pts, ic, c, w, nullptr).total;
            p = keep - e;
            const double minus = pinnTrainingLoss(m, pts, ic, c, w, nullptr).total;
            p = keep;
            const double fd = (plus - minus) / (2 * e);
            worst = std::max(worst, std::abs(fd - g[l].w.data()[k]) / (1 + std::abs(fd)));
        }
    EXPECT_LT(worst, 1e-6);
    const PinnLoss l = pinnTrainingLoss(m, pts, ic, c, w, nullptr);
    EXPECT_GT(l.boundary, 0);
    EXPECT_NEAR(l.total, l.residual + w * (l.initial + l.boundary), 1e-12 * l.total);
}

TEST(Pinn, DeterministicAcrossThreadCounts) {
    NetworkSpec s = pinnSpec(ActivationKind::Tanh);
    s.width = 16;
    PinnSpec p;
    p.speeds = 4;
    p.collocation = 200; // four chunks
    p.trainSteps = 5;
    p.grid = 6;
    s.threads = 1;
    nlohmann::json a = pinnResultToJson(runPinn(s, p));
    s.threads = 2;
    nlohmann::json b = pinnResultToJson(runPinn(s, p));
    a.erase("seconds");
    b.erase("seconds");
    a["spec"].erase("threads");
    b["spec"].erase("threads");
    EXPECT_EQ(a.dump(), b.dump());
}

TEST(Pinn, SlopesFollowFromLinearityInC) {
    // rms r = sqrt(A + 2Bc + Dc^2) with A, D > 0: at c >> sqrt(A/D) the slopes of r and of its
    // gradient tend to 1 and that of the loss gradient to 2; at c << sqrt(A/D) they tend to 0.
    NetworkSpec s = pinnSpec(ActivationKind::Tanh);
    s.width = 32;
    s.depth = 4;
    s.biasInit = BiasInit::Zeros;
    s.sigmaB2 = 0;
    PinnSpec p;
    p.speedFrom = 30;
    p.speedTo = 3000;
    p.speeds = 5;
    const PinnResult r = runPinn(s, p);
    EXPECT_NEAR(r.slopeLarge.rmsResidual, 1.0, 0.02);
    EXPECT_NEAR(r.slopeLarge.gradResidual, 1.0, 0.02);
    EXPECT_NEAR(r.slopeLarge.gradLoss, 2.0, 0.04);
    p.speedFrom = 1e-4;
    p.speedTo = 1e-2;
    const PinnResult q = runPinn(s, p);
    EXPECT_LT(std::abs(q.slopeAll.rmsResidual), 0.02);
    EXPECT_LT(std::abs(q.slopeAll.gradLoss), 0.04);
}

TEST(Pinn, TrainingLowersTheLossAtSmallSpeed) {
    NetworkSpec s = pinnSpec(ActivationKind::Tanh);
    s.width = 32;
    s.depth = 3;
    s.init = InitScheme::XavierNormal;
    PinnSpec p;
    p.speeds = 2;
    p.trainSteps = 200;
    p.trainSpeeds = {0.5};
    p.learningRate = 1e-2;
    p.grid = 8;
    const PinnResult r = runPinn(s, p);
    ASSERT_EQ(r.runs.size(), 1u);
    const auto& run = r.runs[0];
    ASSERT_EQ(run.loss.size(), 201u);
    EXPECT_LT(run.loss.back(), 0.2 * run.loss.front());
    EXPECT_LT(run.errorRms, run.errorRmsInit);
}

TEST(Pinn, ValidationNamesTheField) {
    NetworkSpec s = pinnSpec(ActivationKind::Tanh);
    PinnSpec p;
    p.speedFrom = 0; // not a log range
    s.inputDim = 3;
    const auto e = validatePinn(s, p);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].field, "wave_speed_range");
    EXPECT_EQ(e[1].field, "input_dim");
    EXPECT_THROW(runPinn(s, p), SpecInvalid);
    // a head is refused (it once reached the products with the head's shapes: an illegal GEMM)
    NetworkSpec h = pinnSpec(ActivationKind::Tanh);
    h.heads.push_back({"a", {8}});
    const auto he = validatePinn(h, PinnSpec{});
    ASSERT_EQ(he.size(), 1u);
    EXPECT_EQ(he[0].field, "heads");
    EXPECT_THROW(runPinn(h, PinnSpec{}), SpecInvalid);
}

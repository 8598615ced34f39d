// The phase diagram: its critical line is meanfield::criticalSigmaW2 (what `initscope-cli
// critical` prints), chi1 is below 1 left of it and above 1 right of it, and the grid is the same
// whatever the thread count.
#include "theory/meanfield.h"
#include "theory/phase.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace initscope;

TEST(Phase, CriticalLineSeparatesOrderFromChaos) {
    for (const ActivationKind k :
         {ActivationKind::Tanh, ActivationKind::Relu, ActivationKind::Erf}) {
        const Activation act(k);
        const PhaseDiagram pd = computePhaseDiagram(act, {0.5, 4.0, 15}, {0.0, 0.5, 6});
        ASSERT_EQ(pd.rows.size(), 6u);
        for (const PhaseRow& row : pd.rows) {
            ASSERT_EQ(row.chi1.size(), 15u);
            // the same function as the CLI's critical command: 1e-4 leaves room only for a
            // different solver tolerance
            const double crit = meanfield::criticalSigmaW2(act, row.sigmaB2);
            if (std::isnan(crit)) {
                EXPECT_TRUE(std::isnan(row.criticalSigmaW2));
                continue;
            }
            EXPECT_NEAR(row.criticalSigmaW2, crit, 1e-4);
            // chi1 at the critical point itself is 1 (to the solver's tolerance)
            EXPECT_NEAR(meanfield::fixedPoint(act, crit, row.sigmaB2).chi1, 1.0, 1e-4);
            for (std::size_t j = 0; j < pd.sigmaW2.size(); ++j) {
                // a margin of 0.05 in sigma_w^2 keeps off the line where chi1 ~ 1 +- 1e-3
                if (pd.sigmaW2[j] < crit - 0.05) {
                    EXPECT_LT(row.chi1[j], 1.0) << act.name() << " " << pd.sigmaW2[j];
                }
                if (pd.sigmaW2[j] > crit + 0.05) {
                    EXPECT_GT(row.chi1[j], 1.0) << act.name() << " " << pd.sigmaW2[j];
                }
            }
        }
    }
    // known points: tanh and relu at sigma_b^2 = 0 are critical at 1 and 2
    const PhaseDiagram t =
        computePhaseDiagram(Activation(ActivationKind::Tanh), {1, 1, 1}, {0, 0, 1});
    EXPECT_NEAR(t.rows[0].criticalSigmaW2, 1.0, 1e-4);
    const PhaseDiagram r =
        computePhaseDiagram(Activation(ActivationKind::Relu), {1, 1, 1}, {0, 0, 1});
    EXPECT_NEAR(r.rows[0].criticalSigmaW2, 2.0, 1e-4);
    EXPECT_NEAR(r.rows[0].chi1[0], 0.5, 1e-9); // relu: chi1 = sigma_w^2 / 2
}

TEST(Phase, UnbiasedOrderedRowHasInfiniteCorrelationDepth) {
    // Without bias the ordered phase has q* = 0 only as a limit: the c-map tends to that of phi's
    // linearisation at 0, whose slope at its limit is 1 (relu: c -> 1 like 1/l^2; tanh: c
    // settles on an input-dependent value), so xi_c is infinite, not -1/ln(chi1). Checked by
    // the c-map's slope after 300 layers from (q, c) = (1, 0.2): within 1e-2 of 1 for relu
    // (1 - f'(c) ~ sqrt(2 (1 - c)) / pi, 1 - c ~ 1e-5 there) and 1e-9 for tanh (q ~ 1e-90).
    // With a bias (sb2 = 0.5) the row is the fixed point's finite xi_c, as fixedPoint gives it.
    for (const ActivationKind k : {ActivationKind::Relu, ActivationKind::Tanh}) {
        const Activation act(k);
        const double sw2 = k == ActivationKind::Relu ? 1.0 : 0.5;
        const PhaseDiagram pd = computePhaseDiagram(act, {sw2, sw2, 1}, {0.0, 0.5, 2});
        EXPECT_EQ(pd.rows[0].xiC[0], std::numeric_limits<double>::infinity()) << act.name();
        double q = 1.0, c = 0.2;
        for (int l = 0; l < 300; ++l) {
            c = meanfield::correlationMap(act, sw2, 0.0, q, c);
            q = meanfield::lengthMap(act, sw2, 0.0, q);
        }
        const double h = std::min(1e-3, 0.1 * (1.0 - c));
        const double slope = (meanfield::correlationMap(act, sw2, 0.0, q, c + h) -
                              meanfield::correlationMap(act, sw2, 0.0, q, c - h)) /
                             (2 * h);
        EXPECT_NEAR(slope, 1.0, k == ActivationKind::Relu ? 1e-2 : 1e-9) << act.name();
        const double biased = pd.rows[1].xiC[0];
        EXPECT_TRUE(std::isfinite(biased)) << act.name();
        EXPECT_EQ(biased, meanfield::fixedPoint(act, sw2, 0.5).xiC) << act.name();
    }
}

TEST(Phase, DeterministicAndStreamedRowByRow) {
    const Activation act(ActivationKind::Tanh);
    const GridAxis w{0.2, 3.0, 12}, b{0.0, 0.3, 7};
    const PhaseDiagram a = computePhaseDiagram(act, w, b, {}, nullptr, 1);
    std::vector<int> rows;
    const PhaseDiagram c = computePhaseDiagram(
        act, w, b, [&](const PhaseRow& r) { rows.push_back(r.index); }, nullptr, 2);
    ASSERT_EQ(a.rows.size(), c.rows.size());
    for (std::size_t i = 0; i < a.rows.size(); ++i) {
        EXPECT_EQ(a.rows[i].chi1, c.rows[i].chi1);
        EXPECT_EQ(a.rows[i].xiC, c.rows[i].xiC);
    }
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(rows, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(Phase, CancelledBeforeStartComputesNothing) {
    std::atomic<bool> cancel{true};
    const PhaseDiagram pd = computePhaseDiagram(Activation(ActivationKind::Tanh), {0.5, 4, 10},
                                                {0, 1, 10}, {}, &cancel);
    EXPECT_TRUE(pd.cancelled);
    for (const PhaseRow& r : pd.rows)
        EXPECT_TRUE(r.chi1.empty());
}

TEST(Phase, ParsesRanges) {
    std::string err;
    const auto ax = parseGridAxis("sigma-w2-range", "0.5:4:8", err);
    ASSERT_TRUE(ax);
    EXPECT_EQ(ax->values().size(), 8u);
    EXPECT_DOUBLE_EQ(ax->values().back(), 4.0);
    EXPECT_FALSE(parseGridAxis("sigma-w2-range", "4:0.5:8", err));
    EXPECT_NE(err.find("--sigma-w2-range"), std::string::npos);
    EXPECT_FALSE(parseGridAxis("sigma-b2-range", "0:1:0", err));
    EXPECT_FALSE(parseGridAxis("sigma-b2-range", "0:1", err));
    EXPECT_FALSE(parseGridAxis("sigma-b2-range", "-1:1:3", err));
}

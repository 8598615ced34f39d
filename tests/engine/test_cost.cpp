// The cost model behind --max-seconds and the GUI's estimates: a job's estimate grows with its
// work, a sweep is the sum of its runs, and the jobs the issue timed (a depth sweep 1:5000:10000,
// about 9 h; a 500 x 500 phase grid, 205 s on 2 cores) are estimated at that order or above, so
// that the default limit refuses them. Everything here is arithmetic on the model: exact or
// with a relative tolerance of 1e-12 (the sum is the same additions in another order).
#include "analysis/ntk.h"
#include "analysis/sweep.h"
#include "core/cost.h"

#include <gtest/gtest.h>

using namespace initscope;

TEST(Cost, GrowsWithTheWork) {
    NetworkSpec s;
    const double base = estimateRunSeconds(s);
    EXPECT_GT(base, 0);
    for (auto change :
         {+[](NetworkSpec& x) { x.depth *= 2; }, +[](NetworkSpec& x) { x.width *= 2; },
          +[](NetworkSpec& x) { x.batch *= 2; }}) {
        NetworkSpec t = s;
        change(t);
        EXPECT_GT(estimateRunSeconds(t), 1.5 * base);
    }
    NtkOptions o;
    o.analytic = false; // linear in depth, and beside the backward passes
    NetworkSpec deep = s;
    deep.depth *= 2;
    // by depth, layer l is crossed by L - l + 1 backward passes: quadratic in depth
    EXPECT_GT(estimateNtkSeconds(deep, o), 3 * estimateNtkSeconds(s, o));
    EXPECT_GT(estimateJacobianSeconds(deep, 4), 1.5 * estimateJacobianSeconds(s, 4));
}

TEST(Cost, SweepIsTheSumOfItsRuns) {
    NetworkSpec s;
    const SweepAxis axis{"width", 16, 512, 7};
    double sum = 0;
    for (double v : axis.values())
        sum += estimateRunSeconds(sweepSpec(s, axis.name, v));
    EXPECT_NEAR(estimateSweepSeconds(s, axis), sum, 1e-12 * sum);
    EXPECT_NEAR(estimateEnsembleSeconds(s, 5), 5 * estimateRunSeconds(s),
                1e-12 * estimateRunSeconds(s));
}

TEST(Cost, TheIssuesLongJobsAreEstimatedLong) {
    NetworkSpec s;
    s.threads = 2; // the issue's machine
    EXPECT_GT(estimateSweepSeconds(s, SweepAxis{"depth", 1, 5000, 10000}), 3 * 3600.0);
    EXPECT_GT(estimatePhaseSeconds(500L * 500, 2), 180.0);
    EXPECT_LT(estimatePhaseSeconds(16L * 6, 2), 1.0); // the default grid
}

TEST(Cost, DurationsReadAsPeopleSayThem) {
    EXPECT_EQ(formatDuration(0.2), "under a second");
    EXPECT_EQ(formatDuration(40), "about 40 s");
    EXPECT_EQ(formatDuration(720), "about 12 min");
    EXPECT_EQ(formatDuration(9.1 * 3600), "about 9.1 h");
    const std::string m = tooLongMessage("this sweep", 7200, 180);
    EXPECT_NE(m.find("about 2.0 h"), std::string::npos) << m;
    EXPECT_NE(m.find("--max-seconds 180"), std::string::npos) << m;
}

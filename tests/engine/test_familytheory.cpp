// Mean-field theory of the network families (familytheory.h) against independent Monte Carlo
// simulations: small real networks written here in Eigen (double precision), never the engine's
// own forward pass. Each tolerance is derived from the sample it is measured on.
//
// Fluctuations. A length measured as the mean of h^2 over N units and B inputs of one network
// has a relative standard deviation of about sqrt(2 / (N B)) (h Gaussian: Var h^2 = 2 q^2) when
// the entries are independent. The weights are shared by the batch, but their contribution to
// the batch mean is only O(1/N): (1/N) tr(W S W^T) for the inputs' covariance S fluctuates by
// sqrt(2)/N relative. The finite-width bias of the mean-field limit is O(1/N) too (Hanin & Rolnick
// 2018). Errors made at one stage are carried into the next through the map's slope; where the
// slope exceeds 1 (q growing) the relative error is carried at most unchanged, because the maps
// tested there are homogeneous (relu, linear) or contracting in relative terms.
#include "core/rng.h"
#include "theory/familytheory.h"
#include "theory/meanfield.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace initscope;
using namespace initscope::meanfield;

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

/// rows x cols of N(0, sd^2), Box-Muller in double from the project's counter-based generator.
MatrixXd gaussian(Rng& rng, Eigen::Index rows, Eigen::Index cols, double sd) {
    MatrixXd m(rows, cols);
    bool spare = false;
    double cached = 0;
    for (Eigen::Index j = 0; j < cols; ++j)
        for (Eigen::Index i = 0; i < rows; ++i) {
            // both Box-Muller outputs are used: half the logarithms
            if (spare) {
                m(i, j) = sd * cached;
                spare = false;
                continue;
            }
            const double r = std::sqrt(-2.0 * std::log(rng.uniformOpen()));
            const double t = 2.0 * std::numbers::pi * rng.uniformOpen();
            m(i, j) = sd * r * std::cos(t);
            cached = r * std::sin(t);
            spare = true;
        }
    return m;
}

MatrixXd applyPhi(const Activation& act, const MatrixXd& h) {
    return h.unaryExpr([&](double v) { return act.phi(v); });
}
MatrixXd applyDphi(const Activation& act, const MatrixXd& h) {
    return h.unaryExpr([&](double v) { return act.dphi(v); });
}

double meanSquare(const MatrixXd& h) {
    return h.squaredNorm() / static_cast<double>(h.size());
}

/// Mean over b of the cosine between column b of `a` and column b of `b`.
double meanCosine(const MatrixXd& a, const MatrixXd& b) {
    double s = 0;
    for (Eigen::Index j = 0; j < a.cols(); ++j)
        s += a.col(j).dot(b.col(j)) / (a.col(j).norm() * b.col(j).norm());
    return s / static_cast<double>(a.cols());
}

/// Mean over columns of the squared column norms.
double meanColumnNorm2(const MatrixXd& m) {
    return m.squaredNorm() / static_cast<double>(m.cols());
}

/// The largest |measured - expected| / tolerance seen per check, printed when a test ends: how
/// close the simulations come to their tolerances (for the record; the checks are the EXPECTs).
class Margins {
public:
    explicit Margins(std::string test) : test_(std::move(test)) {}
    Margins(const Margins&) = delete;
    Margins& operator=(const Margins&) = delete;
    ~Margins() {
        for (const auto& [name, worst] : worst_)
            std::printf("[ margins  ] %s %s: worst |error| / tolerance %.2f, worst |error| %.4f\n",
                        test_.c_str(), name.c_str(), worst, worstAbs_[name]);
    }
    /// EXPECT_NEAR(measured, expected, tol) that also records the margin under `name`.
    void near(const std::string& name, double measured, double expected, double tol,
              const std::string& where) {
        EXPECT_NEAR(measured, expected, tol) << name << " " << where;
        double& w = worst_[name];
        w = std::max(w, std::abs(measured - expected) / tol);
        double& a = worstAbs_[name];
        a = std::max(a, std::abs(measured - expected));
    }

private:
    std::string test_;
    std::map<std::string, double> worst_;
    std::map<std::string, double> worstAbs_;
};

// ---- RNN simulation -------------------------------------------------------------------------

struct RnnSample {
    std::vector<double> q, c, gradH2, inputGrad2; // per step t = 1..T ([t-1])
};

/// An Elman RNN with tied W (N x N), U (N x Nx), b drawn once; B pairs of sequences, the second
/// of each pair x'_t = cx x_t + sqrt(1 - cx^2) xi_t (x, xi ~ N(0, I): q_x = 1, input correlation
/// cx), inputs at every step or only at t = 1; cotangent g ~ N(0, I) on a_T; backward pass
/// delta_t = phi'(h_t) (W^T delta_{t+1}). Statistics over units and all 2B sequences.
RnnSample simulateRnn(const Activation& act, int n, int nx, int b, int steps, double sw2,
                      double su2, double sb2, double cx, bool everyStep, std::uint64_t seed) {
    Rng rng(seed, Stream::Probe, 1);
    const MatrixXd w = gaussian(rng, n, n, std::sqrt(sw2 / n));
    const MatrixXd u = gaussian(rng, n, nx, std::sqrt(su2 / nx));
    const VectorXd bias = gaussian(rng, n, 1, std::sqrt(sb2));
    const auto T = static_cast<std::size_t>(steps);
    std::vector<MatrixXd> h(T);
    MatrixXd a = MatrixXd::Zero(n, 2 * b);
    RnnSample s;
    for (std::size_t t = 0; t < T; ++t) {
        MatrixXd pre = w * a;
        pre.colwise() += bias;
        if (everyStep || t == 0) {
            const MatrixXd x = gaussian(rng, nx, b, 1.0);
            const MatrixXd xi = gaussian(rng, nx, b, 1.0);
            MatrixXd both(nx, 2 * b);
            both.leftCols(b) = x;
            both.rightCols(b) = cx * x + std::sqrt(1.0 - cx * cx) * xi;
            pre += u * both;
        }
        h[t] = pre;
        a = applyPhi(act, pre);
        s.q.push_back(meanSquare(pre));
        s.c.push_back(meanCosine(pre.leftCols(b), pre.rightCols(b)));
    }
    s.gradH2.assign(T, 0.0);
    s.inputGrad2.assign(T, 0.0);
    MatrixXd delta = applyDphi(act, h[T - 1]).cwiseProduct(gaussian(rng, n, 2 * b, 1.0));
    for (std::size_t t = T; t-- > 0;) {
        if (t + 1 < T)
            delta = applyDphi(act, h[t]).cwiseProduct(w.transpose() * delta);
        s.gradH2[t] = meanColumnNorm2(delta);
        s.inputGrad2[t] = meanColumnNorm2(u.transpose() * delta);
    }
    return s;
}

/// Mean of the per-seed samples.
RnnSample averageRnn(const std::vector<RnnSample>& runs) {
    RnnSample m = runs.front();
    for (std::size_t r = 1; r < runs.size(); ++r)
        for (std::size_t t = 0; t < m.q.size(); ++t) {
            m.q[t] += runs[r].q[t];
            m.c[t] += runs[r].c[t];
            m.gradH2[t] += runs[r].gradH2[t];
            m.inputGrad2[t] += runs[r].inputGrad2[t];
        }
    const double k = static_cast<double>(runs.size());
    for (std::size_t t = 0; t < m.q.size(); ++t) {
        m.q[t] /= k;
        m.c[t] /= k;
        m.gradH2[t] /= k;
        m.inputGrad2[t] /= k;
    }
    return m;
}

// ---- ResNet simulation ----------------------------------------------------------------------

struct ResNetSample {
    double q0 = 0, c0 = 0;         // the input's measured length and correlation
    std::vector<double> q, c, jac; // per block l = 1..L: q^l, c^l, E||J v||^2 / E||v||^2 so far
    MatrixXd x0, xL, v0, vL;       // input and output, tangent in and out
};

/// x^l = x^{l-1} + gamma F(x^{l-1}), F = W_m phi(... W_1 phi(x) + b_1 ...) + b_m, N x N layers
/// with Var(W_j) = branchSw2[j] / N (0: a zero matrix) and biases N(0, sb2); B pairs of inputs
/// x ~ N(0, I), x' = c0 x + sqrt(1 - c0^2) xi; a forward-mode tangent v ~ N(0, I) per input
/// carried through dF = W_m D_{m-1} ... W_1 D_0.
ResNetSample simulateResNet(const Activation& act, int n, int b, int blocks,
                            const std::vector<double>& branchSw2, double sb2, double gamma,
                            double c0, std::uint64_t seed) {
    Rng rng(seed, Stream::Probe, 2);
    MatrixXd x(n, 2 * b);
    const MatrixXd base = gaussian(rng, n, b, 1.0);
    x.leftCols(b) = base;
    x.rightCols(b) = c0 * base + std::sqrt(1.0 - c0 * c0) * gaussian(rng, n, b, 1.0);
    MatrixXd v = gaussian(rng, n, 2 * b, 1.0);
    ResNetSample s;
    s.x0 = x;
    s.v0 = v;
    s.q0 = meanSquare(x);
    s.c0 = meanCosine(x.leftCols(b), x.rightCols(b));
    const double v0 = meanColumnNorm2(v);
    for (int l = 0; l < blocks; ++l) {
        MatrixXd y = x;
        MatrixXd dy = v;
        for (double sw2 : branchSw2) {
            const MatrixXd w = gaussian(rng, n, n, std::sqrt(sw2 / n));
            const VectorXd bias = gaussian(rng, n, 1, std::sqrt(sb2));
            dy = w * applyDphi(act, y).cwiseProduct(dy);
            y = w * applyPhi(act, y);
            y.colwise() += bias;
        }
        x += gamma * y;
        v += gamma * dy;
        s.q.push_back(meanSquare(x));
        s.c.push_back(meanCosine(x.leftCols(b), x.rightCols(b)));
        s.jac.push_back(meanColumnNorm2(v) / v0);
    }
    s.xL = x;
    s.vL = v;
    return s;
}

// ---- CNN simulation -------------------------------------------------------------------------

/// One image: C x S^2 (row = channel, column = position y * S + x).
using Image = MatrixXd;
/// A conv layer's kernel as C_out x (k^2 C_in), column (dy * k + dx) * C_in + ci.
struct Conv {
    MatrixXd w;
    VectorXd b;
    int k = 3;
};

/// im2col with circular padding: (k^2 C_in) x S^2, the patch around each position.
MatrixXd patches(const Image& in, int side, int k) {
    const Eigen::Index cin = in.rows();
    MatrixXd p(k * k * cin, side * side);
    const int r = k / 2;
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x)
            for (int dy = 0; dy < k; ++dy)
                for (int dx = 0; dx < k; ++dx) {
                    const int yy = (y + dy - r + side) % side, xx = (x + dx - r + side) % side;
                    p.block((dy * k + dx) * cin, y * side + x, cin, 1) = in.col(yy * side + xx);
                }
    return p;
}

Image conv(const Conv& c, const Image& in, int side) {
    Image out = c.w * patches(in, side, c.k);
    out.colwise() += c.b;
    return out;
}

/// Gaussian kernel: every one of the k^2 C_in C_out entries ~ N(0, v).
Conv gaussianConv(Rng& rng, int cin, int cout, int k, double v, double sb2) {
    return {gaussian(rng, cout, k * k * cin, std::sqrt(v)), gaussian(rng, cout, 1, std::sqrt(sb2)),
            k};
}

/// Delta-orthogonal kernel: zero except the centre tap, sqrt(v max(C_in, C_out)) Q with Q a
/// Haar C_out x C_in matrix with orthonormal columns (or rows), so its entries have variance v.
Conv deltaOrthogonalConv(Rng& rng, int cin, int cout, int k, double v) {
    const int tall = std::max(cin, cout), flat = std::min(cin, cout);
    const MatrixXd g = gaussian(rng, tall, flat, 1.0);
    Eigen::HouseholderQR<MatrixXd> qr(g);
    MatrixXd q = qr.householderQ() * MatrixXd::Identity(tall, flat);
    for (int j = 0; j < flat; ++j)
        if (qr.matrixQR()(j, j) < 0)
            q.col(j) = -q.col(j);
    const MatrixXd centre = std::sqrt(v * tall) * (cout >= cin ? q : MatrixXd(q.transpose()));
    Conv c{MatrixXd::Zero(cout, k * k * cin), VectorXd::Zero(cout), k};
    const int mid = (k / 2) * k + k / 2;
    c.w.block(0, mid * cin, cout, cin) = centre;
    return c;
}

} // namespace

// ---- RNN ------------------------------------------------------------------------------------

TEST(FamilyTheory, RnnStackedSigmasSplitTheFanIn) {
    // lecun on the stacked [W U] of a 512-unit cell with 128 inputs: Var = 1 / 640, so
    // sigma_w^2 = 512 / 640 and sigma_u^2 = 128 / 640 (their sum is the stacked fan-in's 1)
    const RnnSigmas s = rnnStackedSigmas(1.0 / 640.0, 512, 128);
    EXPECT_DOUBLE_EQ(s.sigmaW2, 0.8);
    EXPECT_DOUBLE_EQ(s.sigmaU2, 0.2);
}

TEST(FamilyTheory, RnnRecursionClosedForms) {
    // linear: q_1 = su2 qx + sb2, q_t = sw2 q_{t-1} + su2 qx + sb2 exactly, and the gradient
    // rate is sw2 at every step; with the input at t = 1 only the input term appears once.
    // Only rounding separates the two: 1e-13 relative.
    const Activation lin(ActivationKind::Linear);
    const double sw2 = 0.9, su2 = 0.4, sb2 = 0.05, qx = 2.0, cx = 0.3;
    for (bool every : {true, false}) {
        const RnnTheory t = rnnTheory(lin, sw2, su2, sb2, qx, cx, 20, every, 64);
        double q = su2 * qx + sb2, k = su2 * qx * cx + sb2;
        for (std::size_t s = 0; s < 20; ++s) {
            EXPECT_NEAR(t.q[s], q, 1e-13 * q) << every << " t=" << s + 1;
            EXPECT_NEAR(t.c[s], k / q, 1e-13) << every << " t=" << s + 1;
            q = sw2 * q + (every ? su2 * qx : 0.0) + sb2;
            k = sw2 * k + (every ? su2 * qx * cx : 0.0) + sb2;
        }
        for (std::size_t s = 0; s + 1 < 20; ++s)
            EXPECT_NEAR(t.gradRatio[s], sw2, 1e-15);
        EXPECT_TRUE(std::isnan(t.gradRatio.back()));
        EXPECT_NEAR(t.gradH2.back(), 64.0, 1e-12);       // N E[phi'^2] = N
        EXPECT_NEAR(t.inputGrad2[0], su2 * 64.0, 1e-12); // k = 0: the last step's input
        EXPECT_NEAR(t.inputGrad2[19], su2 * 64.0 * std::pow(sw2, 19), 1e-10);
        // fixed points: q* = (su2 qx [every] + sb2) / (1 - sw2); with the input every step
        // c* = (su2 qx cx + sb2) / (su2 qx + sb2) (k and q have the same geometric factor)
        const double add = (every ? su2 * qx : 0.0) + sb2;
        EXPECT_NEAR(t.fixed.qStar, add / (1.0 - sw2), 1e-10);
        EXPECT_NEAR(t.fixed.chi1, sw2, 1e-12);
        if (every)
            EXPECT_NEAR(t.fixed.cStar, (su2 * qx * cx + sb2) / (su2 * qx + sb2), 1e-12);
        else
            EXPECT_NEAR(t.fixed.cStar, 1.0, 1e-12); // only the shared bias is added
    }
    // relu with sw2 = 2 and no bias is critical: q grows by su2 qx per step
    const Activation relu(ActivationKind::Relu);
    const RnnTheory r = rnnTheory(relu, 2.0, 0.5, 0.0, 1.0, 0.0, 10, true, 8);
    for (std::size_t s = 0; s < 10; ++s)
        EXPECT_NEAR(r.q[s], 0.5 * static_cast<double>(s + 1), 1e-13);
    EXPECT_THROW(rnnTheory(relu, 1.0, 1.0, 0.0, 1.0, 1.5, 10, true), std::invalid_argument);
    EXPECT_THROW(rnnTheory(relu, 1.0, 1.0, 0.0, 1.0, 0.0, 0, true), std::invalid_argument);
}

TEST(FamilyTheory, RnnFixedPointsAreWhereTheRecursionEnds) {
    // The fixed point reported is where q_t and c_t go: iterate 400 steps and compare. q
    // contracts fast here; c at the rate chi_c = exp(-1/xi_c), so after 400 steps it is within
    // ~chi_c^400 of c* (times the initial distance, < 1): tolerance 10 chi_c^400 (or 1e-9).
    const Activation tanh(ActivationKind::Tanh);
    for (bool every : {true, false}) {
        const RnnTheory t = rnnTheory(tanh, 2.0, 0.5, 0.05, 1.0, 0.3, 400, every);
        EXPECT_TRUE(t.fixed.converged);
        EXPECT_NEAR(t.q.back(), t.fixed.qStar, 1e-10) << every;
        ASSERT_TRUE(std::isfinite(t.fixed.xiC));
        const double chiC = std::exp(-1.0 / t.fixed.xiC);
        EXPECT_NEAR(t.c.back(), t.fixed.cStar, std::max(1e-9, 10.0 * std::pow(chiC, 400))) << every;
        EXPECT_NEAR(t.gradRatio[398], t.fixed.chi1, 1e-9) << every;
        if (every) {
            // the input raises q*, so sw2 = 2 is ordered for the gradient (chi1 < 1), and the
            // inputs keep the two sequences apart (c* below 1)
            EXPECT_LT(t.fixed.chi1, 1.0);
            EXPECT_LT(t.fixed.cStar, 0.9);
        } else {
            EXPECT_GT(t.fixed.chi1, 1.0); // chaotic: the memory explodes
        }
    }
    // linear and diverging (sw2 > 1): k_t + A'/(sw2-1) and q_t + A/(sw2-1) grow alike
    const Activation lin(ActivationKind::Linear);
    const RnnTheory d = rnnTheory(lin, 1.1, 0.5, 0.1, 1.0, 0.2, 500, true);
    EXPECT_FALSE(d.fixed.converged);
    EXPECT_NEAR(d.c.back(), d.fixed.cStar, 1e-12);
    // relu diverging: two slopes pull c to 1
    const Activation relu(ActivationKind::Relu);
    EXPECT_EQ(rnnTheory(relu, 3.0, 0.5, 0.1, 1.0, 0.2, 50, true).fixed.cStar, 1.0);
}

TEST(FamilyTheory, RnnMatchesSimulatedTiedWeightNetworks) {
    // tanh cells of N = 512 with Nx = 128 inputs, B = 32 pairs of sequences (64 sequences),
    // S = 3 seeds: q_t, c_t, the per-step gradient rate and the input gradient per k against a
    // simulated forward and backward pass with the same W at every step.
    //
    // Tolerances, 4 standard deviations of the seed mean plus a finite-width bias 2/N per step:
    //  - q_t: the inputs' squared norm fluctuates by sqrt(2 / (Nx B)) per network (the pair's
    //    second sequence shares part of its input), the hidden units' by sqrt(2 / (N Beff)):
    //    Beff = 2B sequences when inputs arrive at every step; Beff = 1 when they arrive only at
    //    t = 1, because the autonomous dynamics of one network carries every sequence on the same
    //    W-dependent course (its q fluctuates by sqrt(2/N) from seed to seed, measured).
    //  - c_t: a cosine of two n-dimensional vectors of correlation c has standard deviation
    //    (1 - c^2) / sqrt(n), for the inputs (n = Nx, B pairs) and the hidden units (n = N).
    //  - the rate E||delta_t||^2 / E||delta_{t+1}||^2: each sum is over N entries phi'^2 y^2 of
    //    relative variance 2 (y Gaussian, over 2B sequences) and phi'^2 in [0, 1], whose relative
    //    variance is at most 1 / E[phi'^2] - 1 (over Beff sequences); the ratio of two sums about
    //    sqrt(2) times either.
    //  - ln E||dLoss/dx_{T-k}||^2: the k + 1 rates' errors add (in quadrature for the noise,
    //    linearly for the bias) plus the input layer's sqrt(2 / (Nx 2B)).
    // The memory case runs T = 12 steps: beyond ~15 steps an autonomous chaotic network of width
    // 512 settles onto an attractor of its own W (in a trial run one seed of three reached
    // c = 0.94 at t = 30 against the theory's 0.71, and q spread by ~sqrt(2/N) between seeds;
    // at N = 1024 no seed of three strayed so), a finite-size effect outside the infinite-width
    // theory.
    const Activation tanh(ActivationKind::Tanh);
    Margins margins("rnn");
    const int n = 512, nx = 128, b = 32, seeds = 3;
    struct Case {
        double sw2, su2, sb2, cx;
        bool every;
        int steps;
    };
    // ordered with inputs; the lecun split of a stacked [W U] (sw2 = 0.8, su2 = 0.2 of
    // RnnStackedSigmasSplitTheFanIn) times gain 2, with inputs; chaotic memory (input at t = 1)
    const RnnSigmas stacked = rnnStackedSigmas(2.0 / (n + nx), n, nx);
    for (const Case& k : {Case{0.8, 0.5, 0.05, 0.5, true, 30},
                          Case{stacked.sigmaW2, stacked.sigmaU2, 0.0, 0.5, true, 30},
                          Case{2.0, 1.0, 0.05, 0.6, false, 12}}) {
        std::vector<RnnSample> runs;
        for (int s = 0; s < seeds; ++s)
            runs.push_back(simulateRnn(tanh, n, nx, b, k.steps, k.sw2, k.su2, k.sb2, k.cx, k.every,
                                       1000 + static_cast<std::uint64_t>(s)));
        const RnnSample m = averageRnn(runs);
        const RnnTheory t = rnnTheory(tanh, k.sw2, k.su2, k.sb2, 1.0, k.cx, k.steps, k.every, n);
        const double S = seeds, N = n, NX = nx, B = b;
        const double beff = k.every ? 2.0 * B : 1.0;
        const double bias = 2.0 / N;
        const auto T = static_cast<std::size_t>(k.steps);
        double rateVar = 0; // accumulated variance of ln(rate) from step T down
        double rateBias = 0;
        for (std::size_t s = T; s-- > 0;) {
            const std::string where = "sw2=" + std::to_string(k.sw2) +
                                      (k.every ? " every" : " first") +
                                      " t=" + std::to_string(s + 1);
            const double sdQ =
                std::sqrt(2.0 / (N * beff * S) + (s == 0 || k.every ? 2.0 / (NX * B * S) : 0.0));
            margins.near("q_t", m.q[s] / t.q[s], 1.0, 4.0 * sdQ + bias, where);
            const double cc = t.c[s];
            const double sdC =
                (1.0 - cc * cc) * std::sqrt(1.0 / (N * std::min(beff, B) * S) +
                                            (s == 0 || k.every ? 1.0 / (NX * B * S) : 0.0));
            margins.near("c_t", m.c[s], t.c[s], 4.0 * sdC + bias, where);
            const double e2 = expectDphi2(tanh, t.q[s]);
            const double sdRate = std::sqrt(2.0) * std::sqrt((1.0 / e2 - 1.0) / (N * beff * S) +
                                                             2.0 / (N * 2 * B * S));
            if (s + 1 < T) {
                const double measured = m.gradH2[s] / m.gradH2[s + 1];
                margins.near("gradient rate", measured / t.gradRatio[s], 1.0, 4.0 * sdRate + bias,
                             where);
            }
            rateVar += sdRate * sdRate;
            rateBias += bias;
            const std::size_t kBack = T - 1 - s;
            const double tolIn = 4.0 * std::sqrt(rateVar + 2.0 / (NX * 2 * B * S)) + rateBias;
            margins.near("ln input gradient", std::log(m.inputGrad2[s] / t.inputGrad2[kBack]), 0.0,
                         tolIn, where);
        }
    }
}

// ---- ResNet ---------------------------------------------------------------------------------

TEST(FamilyTheory, ResNetClosedForms) {
    const Activation relu(ActivationKind::Relu);
    const Activation lin(ActivationKind::Linear);
    // He + relu branches, gamma = 1: q_F(q) = q (each layer: 2 * q / 2), so q doubles exactly,
    // the branch ratio is 1, chi_F = (2 * 1/2)^2 = 1 and each block's Jacobian factor is 2;
    // closed forms, so only rounding: 1e-13 relative
    const ResNetTheory he =
        resnetTheory(relu, {2.0, 2.0}, 0.0, 10, ResidualScale::One, 0, 0.7, 0.3);
    EXPECT_EQ(he.gamma, 1.0);
    for (std::size_t l = 0; l < 10; ++l) {
        const double p = std::pow(2.0, static_cast<double>(l + 1));
        EXPECT_NEAR(he.q[l], 0.7 * p, 1e-13 * 0.7 * p);
        EXPECT_NEAR(he.branchRatio[l], 1.0, 1e-13);
        EXPECT_NEAR(he.chiF[l], 1.0, 1e-13);
        EXPECT_NEAR(he.jacobianMeanSq[l], 2.0, 1e-13);
        EXPECT_NEAR(he.jacobianMeanSqTotal[l], p, 1e-13 * p);
    }
    // gamma = 0: nothing changes, exactly
    const ResNetTheory zero =
        resnetTheory(relu, {2.0, 2.0}, 0.1, 10, ResidualScale::Zero, 0, 0.7, 0.3);
    for (std::size_t l = 0; l < 10; ++l) {
        EXPECT_EQ(zero.q[l], 0.7);
        EXPECT_EQ(zero.c[l], 0.3);
        EXPECT_EQ(zero.jacobianMeanSq[l], 1.0);
    }
    // 1/sqrt(L) at L = 50: q^L = (1 + 1/L)^L q^0 < e q^0 (against 2^50 for gamma = 1)
    const ResNetTheory inv =
        resnetTheory(relu, {2.0, 2.0}, 0.0, 50, ResidualScale::InvSqrtDepth, 0, 1.0, 0.3);
    EXPECT_NEAR(inv.q.back(), std::pow(1.02, 50), 1e-12);
    EXPECT_LT(inv.q.back(), std::numbers::e);
    // Fixup: last layer zero, the others' sigma_w^2 times L^(-1/(m-1)); F = b_m at init
    EXPECT_EQ(fixupBranchSigmaW2({2.0, 2.0}, 16), (std::vector<double>{2.0 / 16.0, 0.0}));
    const std::vector<double> f3 = fixupBranchSigmaW2({2.0, 2.0, 2.0}, 16);
    EXPECT_DOUBLE_EQ(f3[0], 0.5); // 16^(-1/2): the weights scaled by 16^(-1/4)
    EXPECT_DOUBLE_EQ(f3[1], 0.5);
    EXPECT_EQ(f3[2], 0.0);
    EXPECT_EQ(fixupBranchSigmaW2({2.0}, 16), std::vector<double>{0.0});
    const ResNetTheory fix =
        resnetTheory(relu, {2.0, 2.0}, 0.0, 16, ResidualScale::Fixup, 0, 0.7, 0.3);
    const ResNetTheory fixBias =
        resnetTheory(relu, {2.0, 2.0}, 0.1, 16, ResidualScale::Fixup, 0, 0.7, 0.3);
    for (std::size_t l = 0; l < 16; ++l) {
        EXPECT_EQ(fix.q[l], 0.7);
        EXPECT_EQ(fix.jacobianMeanSq[l], 1.0);
        EXPECT_NEAR(fixBias.q[l], 0.7 + 0.1 * static_cast<double>(l + 1), 1e-14);
    }
    // linear branch without bias: k and q both grow by (1 + gamma^2 sw2), so c stays c0; the
    // Jacobian factor is 1 + gamma^2 sw2 (the cross term's expectation is 0)
    const ResNetTheory ln = resnetTheory(lin, {1.5}, 0.0, 6, ResidualScale::Value, 0.5, 2.0, 0.4);
    for (std::size_t l = 0; l < 6; ++l) {
        EXPECT_NEAR(ln.c[l], 0.4, 1e-14);
        EXPECT_NEAR(ln.jacobianMeanSq[l], 1.375, 1e-14);
        EXPECT_NEAR(ln.q[l], 2.0 * std::pow(1.375, static_cast<double>(l + 1)), 1e-12);
    }
    EXPECT_THROW(resnetTheory(relu, {}, 0.0, 4, ResidualScale::One, 0, 1, 0),
                 std::invalid_argument);
    EXPECT_THROW(resnetTheory(relu, {2.0}, 0.0, 0, ResidualScale::One, 0, 1, 0),
                 std::invalid_argument);
}

TEST(FamilyTheory, ResNetZeroGammaAndFixupAreExactIdentities) {
    // gamma = 0 adds 0 * F; Fixup's zero last layer (and zero biases) makes F = 0: the output and
    // the Jacobian-vector product equal the input bit for bit, as the theory says (q constant,
    // every Jacobian singular value 1)
    const Activation relu(ActivationKind::Relu);
    const ResNetSample zero = simulateResNet(relu, 128, 4, 10, {2.0, 2.0}, 0.1, 0.0, 0.5, 3);
    EXPECT_TRUE(zero.xL == zero.x0);
    EXPECT_TRUE(zero.vL == zero.v0);
    const std::vector<double> fix = fixupBranchSigmaW2({2.0, 2.0}, 10);
    const ResNetSample fixup = simulateResNet(relu, 128, 4, 10, fix, 0.0, 1.0, 0.5, 3);
    EXPECT_TRUE(fixup.xL == fixup.x0);
    EXPECT_TRUE(fixup.vL == fixup.v0);
    // and with He branches at gamma = 1 the same network is far from the identity
    const ResNetSample one = simulateResNet(relu, 128, 4, 10, {2.0, 2.0}, 0.0, 1.0, 0.5, 3);
    EXPECT_GT(one.q.back() / one.q0, 100.0);
}

TEST(FamilyTheory, ResNetMatchesSimulatedNetworks) {
    // N = 512 (256 for the 50 blocks); each block is checked one step at a time: the theory of one
    // block applied to the measured (q^{l-1}, c^{l-1}) predicts q^l, c^l and the tangent's growth
    // ||J v||^2 / ||v||^2. Per network, the measured ratio q^l / q^{l-1} = 1 + gamma^2
    // ||F||^2/||x||^2 + 2 gamma x.F / ||x||^2 fluctuates through
    //  - the cross term: given everything but W_m it is Gaussian with variance
    //    4 gamma^2 r_F rho / N (r_F = q_F / q), rho = the mean over input pairs (b, b') of
    //    c_x(b,b') c_a(b,b') <= (1 + c_pair) / (2B) + c_ind, where c_ind is the theory's
    //    correlation of two independent inputs at that block (the batch stops averaging once
    //    the inputs are correlated);
    //  - the branch's own length: relative sd sqrt(2/N) (shared weights, not averaged);
    // the tangent's ratio likewise, with independent tangents (rho = 1/(2B)) and the relative
    // variance (1/E[phi'^2] - 1)/N of each phi'^2 mask (shared by correlated inputs); c^l within
    // ((1 - c^2) + 2 gamma sqrt(r_F) / (1 + gamma^2 r_F)) / sqrt(N B) (cosines of B pairs of
    // N-vectors, branch and cross parts). Tolerances: 4 sd of the seed mean plus 2/N bias.
    const Activation relu(ActivationKind::Relu);
    const Activation tanh(ActivationKind::Tanh);
    Margins margins("resnet");
    struct Case {
        const Activation* act;
        std::vector<double> sw2;
        double sb2, gamma;
        int width, blocks, pairs, seeds;
    };
    for (const Case& k : {Case{&relu, {2.0, 2.0}, 0.0, 1.0, 512, 8, 16, 3},
                          Case{&tanh, {1.5, 1.5}, 0.1, 0.7, 512, 8, 16, 2},
                          Case{&relu, {2.0, 2.0}, 0.0, 1.0 / std::sqrt(50.0), 256, 50, 32, 1}}) {
        const int n = k.width;
        const double N = n;
        const double g2 = k.gamma * k.gamma, B = k.pairs, S = k.seeds;
        const auto L = static_cast<std::size_t>(k.blocks);
        std::vector<double> dq(L, 0), dc(L, 0), dj(L, 0), sdq(L, 0), sdc(L, 0), sdj(L, 0);
        double logRatioSum = 0, logRatioVar = 0, logRatioBias = 0;
        std::vector<ResNetSample> runs;
        for (int seed = 0; seed < k.seeds; ++seed) {
            const ResNetSample r =
                simulateResNet(*k.act, n, k.pairs, k.blocks, k.sw2, k.sb2, k.gamma, 0.5,
                               40 + static_cast<std::uint64_t>(seed));
            // independent inputs' correlation per block, from the theory (for rho)
            const ResNetTheory ind = resnetTheory(*k.act, k.sw2, k.sb2, k.blocks,
                                                  ResidualScale::Value, k.gamma, r.q0, 0.0);
            double qp = r.q0, cp = r.c0, jp = 1, cInd = 0;
            for (std::size_t l = 0; l < L; ++l) {
                const ResNetTheory t =
                    resnetTheory(*k.act, k.sw2, k.sb2, 1, ResidualScale::Value, k.gamma, qp, cp);
                const double rF = t.branchRatio[0], chi = t.chiF[0];
                const double rho = (1.0 + cp) / (2.0 * B) + std::abs(cInd);
                const double ratio = t.q[0] / qp;
                // masks' relative variance along the branch
                double mask = 0, qb = qp;
                for (double sw2 : k.sw2) {
                    mask += 1.0 / expectDphi2(*k.act, qb) - 1.0;
                    qb = lengthMap(*k.act, sw2, k.sb2, qb);
                }
                const double sdQ =
                    std::sqrt(4.0 * g2 * rF * rho / N + g2 * g2 * rF * rF * 2.0 / N) / ratio;
                const double sdJ =
                    std::sqrt(4.0 * g2 * chi / (2.0 * B * N) +
                              g2 * g2 * chi * chi * (2.0 / (2.0 * B * N) + mask / N)) /
                    t.jacobianMeanSq[0];
                const double sdC =
                    ((1.0 - t.c[0] * t.c[0]) + 2.0 * k.gamma * std::sqrt(rF) / (1.0 + g2 * rF)) /
                    std::sqrt(N * B);
                dq[l] += (r.q[l] / t.q[0] - 1.0) / S;
                dc[l] += (r.c[l] - t.c[0]) / S;
                dj[l] += (r.jac[l] / jp / t.jacobianMeanSq[0] - 1.0) / S;
                sdq[l] = sdQ / std::sqrt(S);
                sdc[l] = sdC / std::sqrt(S);
                sdj[l] = sdJ / std::sqrt(S);
                logRatioSum += std::log(r.q[l] / qp);
                logRatioVar += sdQ * sdQ;
                // the finite-width bias, O(1/N) of what the block adds
                logRatioBias += 2.0 / N * g2 * rF / ratio / S;
                qp = r.q[l];
                cp = r.c[l];
                jp = r.jac[l];
                cInd = ind.c[l];
            }
            runs.push_back(r);
        }
        const double bias = 2.0 / N;
        for (std::size_t l = 0; l < L; ++l) {
            const std::string where =
                "gamma=" + std::to_string(k.gamma) + " block " + std::to_string(l + 1);
            margins.near("q ratio", dq[l], 0.0, 4.0 * sdq[l] + bias, where);
            margins.near("c", dc[l], 0.0, 4.0 * sdc[l] + bias, where);
            margins.near("jacobian factor", dj[l], 0.0, 4.0 * sdj[l] + bias, where);
        }
        // the whole trajectory: ln(q^L / q^0) is the sum of the blocks' ln ratios
        const ResNetTheory whole =
            resnetTheory(*k.act, k.sw2, k.sb2, k.blocks, ResidualScale::Value, k.gamma, 1.0, 0.5);
        const double predicted = std::log(whole.q.back()); // q0 = 1 (relu: homogeneous)
        if (k.act == &relu) {
            margins.near("ln(q^L / q^0)", logRatioSum / S, predicted,
                         4.0 * std::sqrt(logRatioVar) / S + logRatioBias,
                         "gamma=" + std::to_string(k.gamma));
        }
    }
}

// ---- CNN ------------------------------------------------------------------------------------

TEST(FamilyTheory, CnnEffectiveSigmaW2) {
    // he at the full fan-in k^2 C_in: Var = 2 / (9 * 32), sigma_w^2 = 2; forgetting k^2 makes
    // the scheme's variance 2 / 32, nine times that
    EXPECT_DOUBLE_EQ(cnnEffectiveSigmaW2(2.0 / (9 * 32), 3, 32, false), 2.0);
    EXPECT_DOUBLE_EQ(cnnEffectiveSigmaW2(2.0 / (9 * 32), 3, 32, true), 18.0);
    EXPECT_DOUBLE_EQ(cnnEffectiveSigmaW2(1.0 / (25 * 8), 5, 8, true), 25.0);
    EXPECT_DOUBLE_EQ(deltaOrthogonalLayerGain(1.3 / 16, 8, 16), 1.3);
    EXPECT_DOUBLE_EQ(deltaOrthogonalLayerGain(1.3 / 16, 16, 8), 1.3);
    EXPECT_DOUBLE_EQ(deltaOrthogonalSigmaW2(1.3 / 16, 16), 1.3);
    EXPECT_NEAR(deltaOrthogonalSingularValue(1.3, 6), std::pow(1.3, 3), 1e-15);
    EXPECT_NEAR(deltaOrthogonalSingularValue({1.3, 2.0, 0.5}), std::sqrt(1.3), 1e-15);
}

TEST(FamilyTheory, CnnLengthsMatchSimulatedCircularConvolutions) {
    // k = 3, C_0 = 3 input channels, C = 64, 8 x 8 images, B = 4, L = 5, 2 seeds; each layer
    // is checked one step at a time, with sigma_w^2 from cnnEffectiveSigmaW2 for the correct
    // scheme and for the same scheme with k^2 forgotten (weights of variance 9x the intended).
    //
    // (a) The fan-in, exactly: given a layer's input a (phi of the previous h), circular padding
    // puts every input value into exactly k^2 patches, so E_W[q^l | a] = sigma_w^2 mean(a^2) +
    // ||b||^2 / C with sigma_w^2 = Var k^2 C_in. q^l is a mean over the C output channels of
    // w^T M w / n (+ bias terms), M = the sum of patch outer products, whose variance for
    // Gaussian w is exactly 2 Var^2 tr(M^2) per channel: computed here, 4 sd. (Relu's positive
    // mean gives every patch a common direction, which makes tr(M^2) / tr(M)^2 of order 1 and
    // this noise large; the formula accounts for it.)
    // (b) The MLP's length map, tanh without bias (odd: the patches share no direction, the
    // positions are uncorrelated at init as in Xiao et al. 2018): q^l against
    // lengthMap(q^{l-1}); noise from the kernels, 2 (1 + k^2 C_in / (S^2 B)) / (k^2 C_in C)
    // (a Wishart matrix's tr(M^2) / tr(M)^2), and from the sample mean of phi^2 over the
    // C_in S^2 B values (relative variance at most 1 / E[phi^2] - 1, phi^2 <= 1; 2 for the
    // Gaussian input): 4 sd plus a finite-fan bias 2 / (k^2 C_in).
    // (c) Relu without bias is positively homogeneous: with the same draws the forgotten network
    // is exactly 3^l times the correct one, so q is exactly 9^l times (rounding: 1e-12).
    const int k = 3, c0 = 3, c = 64, side = 8, batch = 4, depth = 5, seeds = 2;
    const int S2 = side * side;
    const Activation relu(ActivationKind::Relu);
    const Activation tanh(ActivationKind::Tanh);
    struct Case {
        const Activation* act;
        double sw2, sb2; // intended
        bool forgotten;
    };
    Margins margins("cnn");
    std::vector<double> reluQ[2]; // per (seed, layer), correct and forgotten
    for (const Case& cs :
         {Case{&relu, 2.0, 0.0, false}, Case{&relu, 2.0, 0.0, true}, Case{&tanh, 1.5, 0.0, false},
          Case{&tanh, 1.5, 0.0, true}, Case{&tanh, 1.2, 0.1, false}}) {
        for (int seed = 0; seed < seeds; ++seed) {
            Rng rng(90 + static_cast<std::uint64_t>(seed), Stream::Probe, 3);
            std::vector<Image> h(static_cast<std::size_t>(batch));
            double qPrev = 0;
            for (Image& im : h) {
                im = gaussian(rng, c0, S2, 1.0);
                qPrev += meanSquare(im) / batch;
            }
            for (int l = 0; l < depth; ++l) {
                const int cin = l == 0 ? c0 : c;
                const double intended = cs.sw2 / (k * k * cin);
                // the variance the scheme gives when it is told fan-in C_in instead of k^2 C_in
                const double used = cs.forgotten ? cs.sw2 / cin : intended;
                const Conv layer = gaussianConv(rng, cin, c, k, used, cs.sb2);
                const double sw2 = cnnEffectiveSigmaW2(intended, k, cin, cs.forgotten);
                MatrixXd allPatches(k * k * cin, S2 * batch);
                double a2 = 0, q = 0;
                for (std::size_t b = 0; b < h.size(); ++b) {
                    const Image a = l == 0 ? h[b] : applyPhi(*cs.act, h[b]);
                    a2 += meanSquare(a) / batch;
                    allPatches.middleCols(static_cast<Eigen::Index>(b) * S2, S2) =
                        patches(a, side, k);
                    h[b] = conv(layer, a, side);
                    q += meanSquare(h[b]) / batch;
                }
                const std::string where = cs.act->name() + " sw2=" + std::to_string(cs.sw2) +
                                          (cs.forgotten ? " forgotten" : "") + " seed " +
                                          std::to_string(seed) + " layer " + std::to_string(l + 1);
                // (a) the fan-in, given the input
                const double cond = sw2 * a2 + layer.b.squaredNorm() / c;
                const MatrixXd M = allPatches * allPatches.transpose();
                const double relVar = 2.0 * M.squaredNorm() / (M.trace() * M.trace() * c);
                // the bias cross term 2 b.(W p): relative variance 4 sb2 / (sw2 mean a^2 C)
                const double biasVar = 4.0 * cs.sb2 / (sw2 * a2 * c);
                margins.near("q given the input (fan-in)", q / cond, 1.0,
                             4.0 * std::sqrt(relVar + biasVar), where);
                // (b) the MLP's length map
                if (cs.act == &tanh) {
                    const double predicted =
                        l == 0 ? sw2 * qPrev + cs.sb2 : lengthMap(tanh, sw2, cs.sb2, qPrev);
                    const double kurt = l == 0 ? 2.0 : 1.0 / expectPhi2(tanh, qPrev) - 1.0;
                    const double kernels =
                        2.0 * (1.0 + k * k * cin / double(S2 * batch)) / (k * k * cin * c);
                    const double sd =
                        std::sqrt(kernels + kurt / (double(cin) * S2 * batch) + biasVar);
                    margins.near("tanh q (MLP length map)", q / predicted, 1.0,
                                 4.0 * sd + 2.0 / (k * k * cin), where);
                }
                if (cs.act == &relu)
                    reluQ[cs.forgotten ? 1 : 0].push_back(q);
                qPrev = q;
            }
        }
    }
    // (c) forgetting k^2 multiplies q by exactly k^2 = 9 per layer (relu, no bias)
    ASSERT_EQ(reluQ[0].size(), reluQ[1].size());
    for (std::size_t i = 0; i < reluQ[0].size(); ++i) {
        const double layers = static_cast<double>(i % depth + 1);
        EXPECT_NEAR(reluQ[1][i] / reluQ[0][i] / std::pow(9.0, layers), 1.0, 1e-12) << i;
    }
}

TEST(FamilyTheory, DeltaOrthogonalSingularValuesAreAllEqual) {
    // A linear CNN of delta-orthogonal kernels, channels 4 -> 4 -> 8 -> 8 -> 8 (non-decreasing),
    // 4 x 4 images, k = 3, circular padding; entry variance of each centre tap 1.3 / C_out, so
    // each layer's gain is 1.3. The end-to-end Jacobian (128 x 64), built by pushing the 64
    // basis images through the convolutions (the zero taps included), has all 64 singular
    // values equal to 1.3^(L/2): only rounding in double, 1e-12 relative. Gaussian kernels of
    // the same sigma_w^2 spread them (max/min > 3 with these sizes).
    const int k = 3, side = 4, L = 4;
    const std::vector<int> ch{4, 4, 8, 8, 8};
    Rng rng(11, Stream::Probe, 4);
    std::vector<Conv> ortho, gauss;
    std::vector<double> gains;
    for (std::size_t l = 0; l < static_cast<std::size_t>(L); ++l) {
        const int cin = ch[l], cout = ch[l + 1];
        const double v = 1.3 / cout;
        ortho.push_back(deltaOrthogonalConv(rng, cin, cout, k, v));
        gains.push_back(deltaOrthogonalLayerGain(v, cin, cout));
        gauss.push_back(
            gaussianConv(rng, cin, cout, k, deltaOrthogonalSigmaW2(v, cin) / (k * k * cin), 0.0));
    }
    const int inDim = ch[0] * side * side;
    const auto jacobian = [&](const std::vector<Conv>& net) {
        MatrixXd j(ch.back() * side * side, inDim);
        for (int e = 0; e < inDim; ++e) {
            Image im = Image::Zero(ch[0], side * side);
            im(e % ch[0], e / ch[0]) = 1.0;
            for (const Conv& layer : net)
                im = conv(layer, im, side);
            j.col(e) = Eigen::Map<const VectorXd>(im.data(), im.size());
        }
        return j;
    };
    const VectorXd so = Eigen::JacobiSVD<MatrixXd>(jacobian(ortho)).singularValues();
    const double expected = deltaOrthogonalSingularValue(gains);
    EXPECT_NEAR(expected, std::pow(1.3, L / 2.0), 1e-14);
    ASSERT_EQ(so.size(), inDim);
    for (Eigen::Index i = 0; i < so.size(); ++i)
        EXPECT_NEAR(so(i), expected, 1e-12 * expected) << i;
    const VectorXd sg = Eigen::JacobiSVD<MatrixXd>(jacobian(gauss)).singularValues();
    EXPECT_GT(sg.maxCoeff() / sg.minCoeff(), 3.0);
}

TEST(FamilyTheory, DeltaOrthogonalLengthMapUsesTheCentreTapFanIn) {
    // tanh, C = 64 square delta-orthogonal layers, entry variance 1.2 / 64: sigma_w^2 = v C_in =
    // 1.2 (not v k^2 C_in = 10.8). Each pixel's map is 1.2 times an orthogonal one, so given the
    // previous layer q^l = 1.2 mean(phi^2) exactly (layer 1: 1.2 q^0, to rounding); the only
    // noise is the sample mean of phi^2 over C S^2 B = 16384 values against its expectation
    // (relative sd <= sqrt((1/E[phi^2] - 1) / 16384), about 1%): 4 sd per layer.
    const int k = 3, c = 64, side = 8, batch = 4, depth = 5;
    const Activation tanh(ActivationKind::Tanh);
    Rng rng(12, Stream::Probe, 5);
    std::vector<Image> x(static_cast<std::size_t>(batch));
    double qPrev = 0;
    for (Image& im : x) {
        im = gaussian(rng, c, side * side, 1.0);
        qPrev += meanSquare(im) / batch;
    }
    const double v = 1.2 / c;
    for (int l = 0; l < depth; ++l) {
        const Conv layer = deltaOrthogonalConv(rng, c, c, k, v);
        double q = 0;
        for (Image& im : x) {
            im = conv(layer, l == 0 ? im : applyPhi(tanh, im), side);
            q += meanSquare(im) / batch;
        }
        const double sw2 = deltaOrthogonalSigmaW2(v, c);
        const double predicted = l == 0 ? sw2 * qPrev : lengthMap(tanh, sw2, 0.0, qPrev);
        const double kurt = 1.0 / expectPhi2(tanh, qPrev) - 1.0;
        const double sd = std::sqrt(kurt / (static_cast<double>(c) * side * side * batch));
        EXPECT_NEAR(q / predicted, 1.0, l == 0 ? 1e-12 : 4.0 * sd) << "layer " << l + 1;
        qPrev = q;
    }
}

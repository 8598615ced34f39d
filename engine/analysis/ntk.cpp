#include "analysis/ntk.h"

#include "analysis/ntkkernels.h"
#include "core/parallel.h"
#include "network/engine.h"
#include "network/network.h"
#include "network/weights.h"

#include <Eigen/Eigenvalues>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>
#include <numbers>
#include <utility>
#include <vector>

namespace initscope {

using ntkdetail::kBlockRows;
using ntkdetail::kDepthGroup;
using ntkdetail::splitProduct;
using ntkdetail::tiledGram;
using ntkdetail::transposedTimes;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = std::numbers::pi;

std::size_t li(int l) {
    return static_cast<std::size_t>(l);
}

// ---- Hermite (Mehler) series for the pair expectations --------------------------------------

/// Composite 8-point Gauss-Legendre on z in [-12, 12] (Gaussian mass outside ~4e-33) with panels
/// of width 1/4: exact to double precision for the products f(sqrt(q) z) He_n(z) phi(z) with
/// n < kHermiteTerms (local wavelength of He_n near z = 0 is about 2 pi / sqrt(n) > 0.55) as long
/// as f(sqrt(q) z) is smooth on the panel scale (q up to ~100 for tanh).
struct HermiteTable {
    std::vector<double> z; // nodes
    std::vector<double> w; // quadrature weights times the standard normal density
    Eigen::MatrixXd hw;    // kHermiteTerms x nodes: He_n(z_i) / sqrt(n!) * w_i
};

const HermiteTable& hermiteTable() {
    static const HermiteTable table = [] {
        constexpr std::array<double, 4> x = {0.1834346424956498, 0.5255324099163290,
                                             0.7966664774136267, 0.9602898564975363};
        constexpr std::array<double, 4> wt = {0.3626837833783620, 0.3137066458778873,
                                              0.2223810344533745, 0.1012285362903763};
        constexpr double lo = -12.0, width = 0.25;
        constexpr int panels = 96;
        HermiteTable t;
        for (int p = 0; p < panels; ++p) {
            const double mid = lo + (p + 0.5) * width, half = width / 2;
            for (std::size_t i = 0; i < 4; ++i)
                for (const double sgn : {-1.0, 1.0}) {
                    const double z = mid + sgn * half * x[i];
                    t.z.push_back(z);
                    t.w.push_back(half * wt[i] * std::exp(-z * z / 2) / std::sqrt(2 * kPi));
                }
        }
        const int nodes = static_cast<int>(t.z.size());
        t.hw.resize(kHermiteTerms, nodes);
        for (int i = 0; i < nodes; ++i) {
            const double z = t.z[li(i)];
            // orthonormal recurrence h_{n+1} = (z h_n - sqrt(n) h_{n-1}) / sqrt(n + 1)
            double hPrev = 0, h = 1;
            for (int n = 0; n < kHermiteTerms; ++n) {
                t.hw(n, i) = h * t.w[li(i)];
                const double hNext = (z * h - std::sqrt(static_cast<double>(n)) * hPrev) /
                                     std::sqrt(static_cast<double>(n + 1));
                hPrev = h;
                h = hNext;
            }
        }
        return t;
    }();
    return table;
}

/// The Hermite coefficients f_n = E[phi(sqrt(q) z) He_n(z)] / sqrt(n!) and g_n (of phi') of an
/// activation with kinks at u = +-1 (hard-tanh), and the tails r = E[f^2] - sum f_n^2: the
/// hermiteTable panels (width 1/4 on [-12, 12], 8 Gauss-Legendre nodes each) with the panels
/// that hold z = +-1/sqrt(q) split there, so that every panel integrates a polynomial times
/// the Gaussian.
void kinkedCoefficients(const Activation& act, double q, Eigen::Ref<Eigen::VectorXd> fc,
                        Eigen::Ref<Eigen::VectorXd> gc, double& fTail, double& gTail) {
    constexpr std::array<double, 4> x = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                         0.9602898564975363};
    constexpr std::array<double, 4> wt = {0.3626837833783620, 0.3137066458778873,
                                          0.2223810344533745, 0.1012285362903763};
    constexpr double lo = -12.0, width = 0.25;
    constexpr int panels = 96;
    const double sq = std::sqrt(q);
    const double kink = sq > 0 ? 1.0 / sq : kInf;
    std::vector<double> edges;
    edges.reserve(panels + 3);
    for (int p = 0; p <= panels; ++p)
        edges.push_back(lo + p * width);
    for (const double k : {-kink, kink})
        if (k > lo && k < -lo)
            edges.push_back(k);
    std::sort(edges.begin(), edges.end());
    fc.setZero();
    gc.setZero();
    double fNorm = 0, gNorm = 0;
    for (std::size_t p = 0; p + 1 < edges.size(); ++p) {
        const double mid = 0.5 * (edges[p] + edges[p + 1]), half = 0.5 * (edges[p + 1] - edges[p]);
        if (!(half > 0))
            continue;
        for (std::size_t i = 0; i < 4; ++i)
            for (const double sgn : {-1.0, 1.0}) {
                const double z = mid + sgn * half * x[i];
                const double w = half * wt[i] * std::exp(-z * z / 2) / std::sqrt(2 * kPi);
                const double f = act.phi(sq * z), g = act.dphi(sq * z);
                fNorm += w * f * f;
                gNorm += w * g * g;
                double hPrev = 0, h = 1; // orthonormal He_n(z) / sqrt(n!)
                for (int n = 0; n < kHermiteTerms; ++n) {
                    fc(n) += w * f * h;
                    gc(n) += w * g * h;
                    const double hNext = (z * h - std::sqrt(static_cast<double>(n)) * hPrev) /
                                         std::sqrt(static_cast<double>(n + 1));
                    hPrev = h;
                    h = hNext;
                }
            }
    }
    fTail = std::max(0.0, fNorm - fc.squaredNorm());
    gTail = std::max(0.0, gNorm - gc.squaredNorm());
}

/// |c| above which hard-tanh's pair expectations are integrated directly (the series is good to
/// ~1e-6 up to 0.9, measured against meanfield.h).
constexpr double kHardTanhDirectCorrelation = 0.9;

/// (E[phi(u1) phi(u2)], E[phi'(u1) phi'(u2)]) for hard-tanh, u1 = sqrt(qa) z1, u2 = sqrt(qb)
/// (c z1 + s z2), s = sqrt(1 - c^2): the inner expectation over z2 is closed (u2 given z1 is
/// N(m, sigma^2), m = sqrt(qb) c z1, sigma = sqrt(qb) s):
///     P(|u2| < 1) = Phi(b) - Phi(a),  E[clamp(u2)] = m (Phi(b) - Phi(a)) + sigma (pdf(a) -
///     pdf(b)) + Phi(-b) - Phi(a),  a = (-1 - m) / sigma, b = (1 - m) / sigma,
/// and the outer integral over z1 in [-10, 10] uses 8-point Gauss-Legendre panels cut at the
/// kinks z1 = +-1/sqrt(qa) of phi(u1) and graded around the inner steps at z1 = +-1/(sqrt(qb) c),
/// whose width in z1 is s/|c|, so that every panel holds an analytic function.
std::pair<double, double> hardTanhPair(double qa, double qb, double c) {
    constexpr std::array<double, 4> x = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267,
                                         0.9602898564975363};
    constexpr std::array<double, 4> wt = {0.3626837833783620, 0.3137066458778873,
                                          0.2223810344533745, 0.1012285362903763};
    constexpr double zMax = 10.0;
    const double sa = std::sqrt(qa), sb = std::sqrt(qb);
    const double s = std::sqrt(std::max(0.0, (1.0 - c) * (1.0 + c)));
    const double sigma = sb * s;
    std::vector<double> edges;
    edges.reserve(64);
    const auto add = [&](double z) {
        if (z > -zMax && z < zMax)
            edges.push_back(z);
    };
    for (int k = -static_cast<int>(zMax); k <= static_cast<int>(zMax); ++k)
        edges.push_back(k);
    if (sa > 0) {
        add(1.0 / sa);
        add(-1.0 / sa);
    }
    if (sb > 0 && c != 0) {
        const double w = s / std::abs(c);
        for (const double k : {-1.0, 1.0}) {
            const double centre = k / (sb * c);
            add(centre);
            for (const double v : {0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0}) {
                add(centre - v * w);
                add(centre + v * w);
            }
        }
    }
    std::sort(edges.begin(), edges.end());
    const auto Phi = [](double y) { return 0.5 * std::erfc(-y / std::numbers::sqrt2); };
    const auto pdf = [](double y) { return std::exp(-0.5 * y * y) / std::sqrt(2 * kPi); };
    double pp = 0, dd = 0;
    for (std::size_t p = 0; p + 1 < edges.size(); ++p) {
        const double mid = 0.5 * (edges[p] + edges[p + 1]), half = 0.5 * (edges[p + 1] - edges[p]);
        if (!(half > 0))
            continue;
        for (std::size_t i = 0; i < 4; ++i)
            for (const double sgn : {-1.0, 1.0}) {
                const double z = mid + sgn * half * x[i];
                const double w = half * wt[i] * pdf(z);
                const double u1 = sa * z, m = sb * c * z;
                double inside = 0, mean = 0; // P(|u2| < 1), E[clamp(u2)] given z1
                if (sigma > 0) {
                    const double lo = (-1.0 - m) / sigma, hi = (1.0 - m) / sigma;
                    inside = Phi(hi) - Phi(lo);
                    mean = m * inside + sigma * (pdf(lo) - pdf(hi)) + Phi(-hi) - Phi(lo);
                } else {
                    inside = std::abs(m) < 1.0 ? 1.0 : 0.0;
                    mean = std::clamp(m, -1.0, 1.0);
                }
                pp += w * std::clamp(u1, -1.0, 1.0) * mean;
                if (std::abs(u1) < 1.0)
                    dd += w * inside;
            }
    }
    return {pp, dd};
}

/// sum_n c^n f_n(a) f_n(b) + c^N sqrt(r_a r_b) for every pair (see ntk.h).
Eigen::MatrixXd mehlerSum(const Eigen::MatrixXd& coeff, const Eigen::VectorXd& tail,
                          const Eigen::MatrixXd& corr, const std::atomic<bool>* cancel) {
    const auto K = corr.rows();
    Eigen::MatrixXd out(K, K);
    for (Eigen::Index a = 0; a < K && !detail::isCancelled(cancel); ++a)
        for (Eigen::Index b = a; b < K; ++b) {
            const double c = corr(a, b);
            double s = 0, cn = 1;
            for (int n = 0; n < kHermiteTerms; ++n) {
                s += cn * coeff(n, a) * coeff(n, b);
                cn *= c;
            }
            s += cn * std::sqrt(tail(a) * tail(b));
            out(a, b) = out(b, a) = s;
        }
    return out;
}

} // namespace

PairExpectations pairExpectations(const Activation& act, const Eigen::MatrixXd& s,
                                  const std::atomic<bool>* cancel) {
    const auto K = s.rows();
    Eigen::VectorXd q = s.diagonal().cwiseMax(0.0);
    Eigen::MatrixXd corr(K, K);
    for (Eigen::Index a = 0; a < K; ++a)
        for (Eigen::Index b = 0; b < K; ++b) {
            const double d = std::sqrt(q(a) * q(b));
            corr(a, b) = a == b ? 1.0 : (d > 0 ? std::clamp(s(a, b) / d, -1.0, 1.0) : 0.0);
        }
    PairExpectations e;
    e.phiPhi.resize(K, K);
    e.dphiDphi.resize(K, K);
    auto each = [&](auto&& f) {
        for (Eigen::Index a = 0; a < K && !detail::isCancelled(cancel); ++a)
            for (Eigen::Index b = 0; b < K; ++b)
                f(a, b, corr(a, b), std::sqrt(q(a) * q(b)));
    };
    switch (act.kind()) {
    case ActivationKind::Linear:
        e.phiPhi = s;
        e.dphiDphi.setOnes();
        return e;
    case ActivationKind::Relu:
    case ActivationKind::LeakyRelu: {
        // arc-cosine kernels (Cho & Saul 2009): with theta = acos c,
        // E[relu(u) relu(v)] = sqrt(q_a q_b) J(c) / (2 pi), J(c) = sqrt(1 - c^2) + (pi - theta) c,
        // P(u > 0, v > 0) = (pi - theta) / (2 pi); leaky-relu phi = relu(x) - alpha relu(-x).
        const double al = act.kind() == ActivationKind::Relu ? 0.0 : act.slope();
        auto J = [](double c) {
            return std::sqrt(std::max(0.0, 1 - c * c)) + (kPi - std::acos(c)) * c;
        };
        each([&](Eigen::Index a, Eigen::Index b, double c, double sq) {
            const double th = std::acos(c);
            e.phiPhi(a, b) = sq * ((1 + al * al) * J(c) - 2 * al * J(-c)) / (2 * kPi);
            e.dphiDphi(a, b) = ((1 + al * al) * (kPi - th) + 2 * al * th) / (2 * kPi);
        });
        return e;
    }
    case ActivationKind::Erf:
        // Williams 1997; erf'(x) = (2 / sqrt(pi)) exp(-x^2) gives a Gaussian integral
        each([&](Eigen::Index a, Eigen::Index b, double, double) {
            const double da = 1 + 2 * q(a), db = 1 + 2 * q(b), sab = s(a, b);
            e.phiPhi(a, b) =
                2 / kPi * std::asin(std::clamp(2 * sab / std::sqrt(da * db), -1.0, 1.0));
            e.dphiDphi(a, b) = 4 / kPi / std::sqrt(std::max(da * db - 4 * sab * sab, 0.0));
        });
        return e;
    case ActivationKind::Sin:
        // E[sin u sin v] = e^{-(q_a + q_b)/2} sinh(S_ab), E[cos u cos v] = e^{-(q_a + q_b)/2}
        // cosh(S_ab)
        each([&](Eigen::Index a, Eigen::Index b, double, double) {
            const double g = std::exp(-(q(a) + q(b)) / 2);
            e.phiPhi(a, b) = g * std::sinh(s(a, b));
            e.dphiDphi(a, b) = g * std::cosh(s(a, b));
        });
        return e;
    default:
        break;
    }
    if (act.kind() == ActivationKind::HardTanh) {
        // phi and phi' jump in value or slope at z = +-1/sqrt(q_a), which moves with the input:
        // each input gets panels cut there (the shared table's fixed panels would put a kink
        // inside a panel, a ~1% error in E[phi'^2])
        Eigen::MatrixXd fc(kHermiteTerms, K), gc(kHermiteTerms, K);
        Eigen::VectorXd fTail(K), gTail(K);
        for (Eigen::Index a = 0; a < K && !detail::isCancelled(cancel); ++a)
            kinkedCoefficients(act, q(a), fc.col(a), gc.col(a), fTail(a), gTail(a));
        e.phiPhi = mehlerSum(fc, fTail, corr, cancel);
        e.dphiDphi = mehlerSum(gc, gTail, corr, cancel);
        // near c = +-1 the series of a step (phi') converges too slowly for its tail estimate
        // (~1% at c = 0.99): those pairs are integrated directly
        for (Eigen::Index a = 0; a < K && !detail::isCancelled(cancel); ++a)
            for (Eigen::Index b = a + 1; b < K; ++b)
                if (std::abs(corr(a, b)) > kHardTanhDirectCorrelation) {
                    const auto [pp, dd] = hardTanhPair(q(a), q(b), corr(a, b));
                    e.phiPhi(a, b) = e.phiPhi(b, a) = pp;
                    e.dphiDphi(a, b) = e.dphiDphi(b, a) = dd;
                }
        return e;
    }
    const HermiteTable& t = hermiteTable();
    const auto nodes = static_cast<Eigen::Index>(t.z.size());
    Eigen::MatrixXd f(nodes, K), g(nodes, K);
    for (Eigen::Index a = 0; a < K; ++a) {
        const double sq = std::sqrt(q(a));
        for (Eigen::Index i = 0; i < nodes; ++i) {
            const double u = sq * t.z[li(static_cast<int>(i))];
            f(i, a) = act.phi(u);
            g(i, a) = act.dphi(u);
        }
    }
    const Eigen::Map<const Eigen::VectorXd> w(t.w.data(), nodes);
    const Eigen::MatrixXd fc = t.hw * f, gc = t.hw * g;
    const Eigen::VectorXd fTail =
        ((f.array().square().colwise() * w.array()).colwise().sum().transpose() -
         fc.array().square().colwise().sum().transpose())
            .cwiseMax(0.0);
    const Eigen::VectorXd gTail =
        ((g.array().square().colwise() * w.array()).colwise().sum().transpose() -
         gc.array().square().colwise().sum().transpose())
            .cwiseMax(0.0);
    e.phiPhi = mehlerSum(fc, fTail, corr, cancel);
    e.dphiDphi = mehlerSum(gc, gTail, corr, cancel);
    return e;
}

NtkKernel spectrum(Eigen::MatrixXd theta) {
    NtkKernel k;
    if (theta.size() == 0 || !theta.allFinite())
        return k;
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(theta, Eigen::EigenvaluesOnly);
    const Eigen::VectorXd ev = es.eigenvalues(); // ascending
    k.eigenvalues.assign(ev.data(), ev.data() + ev.size());
    std::reverse(k.eigenvalues.begin(), k.eigenvalues.end());
    const double lmax = k.eigenvalues.front(), lmin = k.eigenvalues.back();
    k.condition = lmin > 0 ? lmax / lmin : (lmax > 0 ? kInf : kNaN);
    k.theta = std::move(theta);
    return k;
}

NtkKernel analyticNtk(const NetworkSpec& spec, const Eigen::MatrixXd& inputGram,
                      std::vector<double>* byDepth, const std::atomic<bool>* cancel) {
    if (spec.arch == Arch::Resnet)
        return ntkdetail::analyticResnetNtk(spec, inputGram, byDepth, cancel);
    const Activation act(spec.activation, spec.activationSlope);
    const double sb2 = effectiveSigmaB2(spec);
    const int L = spec.depth;
    Eigen::MatrixXd sigma = effectiveSigmaW2(spec, 1) * inputGram;
    sigma.array() += sb2;
    Eigen::MatrixXd theta = sigma;
    if (byDepth)
        byDepth->assign(li(L), kNaN);
    NtkKernel last;
    for (int l = 1; l <= L; ++l) {
        // a layer's expectations are K^2 Gaussian integrals (looked at per row of pairs inside),
        // its spectrum a K x K eigenvalue problem
        if (detail::isCancelled(cancel))
            return {};
        const PairExpectations e = pairExpectations(act, sigma, cancel);
        if (detail::isCancelled(cancel)) // e is incomplete
            return {};
        const bool needReadout = byDepth || l == L;
        if (needReadout) {
            const double sv2 = readoutVariance(spec, l) * spec.widthOf(l);
            Eigen::MatrixXd f = sv2 * (e.phiPhi + e.dphiDphi.cwiseProduct(theta));
            f.array() += sb2;
            NtkKernel k = spectrum(std::move(f));
            if (byDepth)
                (*byDepth)[li(l - 1)] = k.condition;
            if (l == L)
                last = std::move(k);
        }
        if (l < L) {
            const double sw2 = effectiveSigmaW2(spec, l + 1);
            sigma = sw2 * e.phiPhi;
            sigma.array() += sb2;
            theta = (sw2 * e.dphiDphi).cwiseProduct(theta) + sigma;
        }
    }
    return last;
}

namespace {

std::uint64_t ntkBytes(const NetworkSpec& spec, int inputs) {
    std::uint64_t weights = 0, acts = 0, maxN = static_cast<std::uint64_t>(spec.inputDim);
    const auto k = static_cast<std::uint64_t>(inputs);
    for (int l = 1; l <= spec.depth; ++l) {
        const auto n = static_cast<std::uint64_t>(spec.widthOf(l));
        weights += n * static_cast<std::uint64_t>(spec.widthOf(l - 1));
        acts += n * k;
        maxN = std::max(maxN, n);
    }
    const auto workers = static_cast<std::uint64_t>(detail::workerCount(spec.threads));
    // float weights, a^l and phi'(h^l) of K inputs, double Grams per layer, per-worker deltas
    return 4 * weights + 8 * acts + 8 * k * k * static_cast<std::uint64_t>(spec.depth + 1) +
           workers * (maxN * k * (2 * 4 + 8) + 8 * k * k);
}

} // namespace

std::vector<SpecError> validateNtk(const NetworkSpec& spec, const NtkOptions& options) {
    std::vector<SpecError> errors = validate(spec);
    if (!errors.empty())
        return errors;
    if (spec.arch != Arch::Mlp && spec.arch != Arch::Resnet) {
        errors.push_back({"arch", "arch: the NTK is computed for arch mlp and resnet only so far; "
                                  "got arch " +
                                      archName(spec.arch)});
        return errors;
    }
    const int maxK = std::min(spec.batch, kMaxNtkInputs);
    if (options.inputs < 1 || options.inputs > maxK) {
        errors.push_back({"inputs", "inputs: must be an integer from 1 to " + std::to_string(maxK) +
                                        " (the first K inputs of the batch; at most " +
                                        std::to_string(kMaxNtkInputs) + ") (got " +
                                        std::to_string(options.inputs) + ")"});
        return errors;
    }
    const std::uint64_t bytes = spec.arch == Arch::Resnet
                                    ? ntkdetail::resnetNtkBytes(spec, options.inputs)
                                    : ntkBytes(spec, options.inputs);
    const double gib = static_cast<double>(bytes) / (1024.0 * 1024 * 1024);
    if (gib > spec.memoryBudgetGiB) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.2f GiB", gib);
        errors.push_back({"inputs", std::string("inputs: the NTK would need about ") + buf +
                                        ", more than memory_budget_gib; use fewer inputs or "
                                        "smaller widths"});
    }
    return errors;
}

NtkResult computeNtk(const NetworkSpec& spec, const NtkOptions& options,
                     const std::function<void(const NtkDepthPoint&)>& onDepth,
                     const std::atomic<bool>* cancel) {
    if (auto errors = validateNtk(spec, options); !errors.empty())
        throw SpecInvalid(std::move(errors));
    if (spec.arch == Arch::Resnet)
        return ntkdetail::computeResnetNtk(spec, options, onDepth, cancel);
    const auto t0 = std::chrono::steady_clock::now();
    const int L = spec.depth, K = options.inputs;
    const Activation act(spec.activation, spec.activationSlope);
    const double sb2 = effectiveSigmaB2(spec);

    NtkResult result;
    result.spec = spec;
    result.inputs = K;
    if (options.byDepth)
        result.conditionByDepth.assign(li(L), kNaN);
    std::mutex callbackMutex;
    int firstBadForward = 0;
    std::vector<int> badBackward(li(L) + 1, 0); // per depth m: first layer whose delta overflowed
    std::vector<NtkKernel> kernels(li(L) + 1);

    detail::inArena(spec.threads, [&] {
        // the network's standard draws from the shared cache (the run's very draws: an
        // orthogonal init's QRs are not redone), rounded to W = float(scale) Z like initWeights
        const Network net = buildNetwork(spec);
        const auto draws = fetchDraws(net, cancel);
        if (draws.empty()) {
            result.cancelled = true;
            return;
        }
        auto [w, bias] = materializeDense(net, draws, cancel);

        // forward: a^l and phi'(h^l) of the K inputs, their Grams in double
        std::vector<MatrixF> a(li(L) + 1), d(li(L) + 1);
        std::vector<Eigen::MatrixXd> ga(li(L) + 1);
        a[0] = drawInputs(spec, K);
        ga[0] = a[0].cast<double>().transpose() * a[0].cast<double>();
        for (int l = 1; l <= L && firstBadForward == 0; ++l) {
            if (detail::isCancelled(cancel)) {
                result.cancelled = true;
                return;
            }
            const int n = spec.widthOf(l);
            const VectorF biasL = bias[li(l)].col(0);
            a[li(l)].resize(n, K);
            d[li(l)].resize(n, K);
            const int blocks = (n + kBlockRows - 1) / kBlockRows;
            detail::forEachIndex(blocks, [&](int b) { // a block is 64 N_{l-1} K multiply-adds
                if (detail::isCancelled(cancel))
                    return;
                const int r0 = b * kBlockRows, rows = std::min(kBlockRows, n - r0);
                MatrixF h = w[li(l)].middleRows(r0, rows) * a[li(l - 1)];
                h.colwise() += biasL.segment(r0, rows);
                MatrixF ab(rows, K), db(rows, K);
                act.apply(h.data(), ab.data(), db.data(), static_cast<std::size_t>(h.size()));
                a[li(l)].middleRows(r0, rows) = ab;
                d[li(l)].middleRows(r0, rows) = db;
            });
            if (detail::isCancelled(cancel)) { // some blocks were skipped
                result.cancelled = true;
                return;
            }
            if (!a[li(l)].allFinite() || !d[li(l)].allFinite()) {
                firstBadForward = l;
                break;
            }
            const Eigen::MatrixXd ad = a[li(l)].cast<double>();
            ga[li(l)] = splitProduct(K, n, K) ? tiledGram(ad, cancel) : ad.transpose() * ad;
        }
        if (detail::isCancelled(cancel)) { // the last Gram may be incomplete
            result.cancelled = true;
            return;
        }

        // One backward pass per depth m, each with its own readout v_m. Depths are handled in
        // fixed groups of kDepthGroup consecutive ones that share their products: the group's
        // deltas sit side by side in one matrix (a depth joins as the pass reaches its layer), so
        // each W^T product has several K-column blocks (a faster GEMM than K columns alone).
        const int lastDepth = firstBadForward != 0 ? firstBadForward - 1 : L;
        std::vector<Eigen::MatrixXd> theta(li(L) + 1);
        auto depthGroup = [&](int m0, int m1) {
            if (detail::isCancelled(cancel))
                return;
            // depths at or beyond a non-finite forward layer stay NaN, but are still reported so
            // that a progress display sees every depth
            for (int m = std::max(m0, lastDepth + 1); m <= m1 && options.byDepth && onDepth; ++m) {
                std::lock_guard lock(callbackMutex);
                onDepth(NtkDepthPoint{m, kNaN});
            }
            m1 = std::min(m1, lastDepth);
            if (m1 < m0)
                return;
            MatrixF delta; // blocks for depths m1, m1 - 1, ..., max(l, m0)
            for (int l = m1; l >= 1; --l) {
                if (l >= m0) { // depth l joins: delta^{l,l} = v_l (.) phi'(h^l)
                    theta[li(l)] = readoutVariance(spec, l) * ga[li(l)];
                    theta[li(l)].array() += sb2;
                    const VectorF v = initReadout(spec, l);
                    MatrixF joined(spec.widthOf(l), delta.cols() + K);
                    joined.leftCols(delta.cols()) = delta;
                    joined.rightCols(K) = v.asDiagonal() * d[li(l)];
                    delta = std::move(joined);
                }
                const double weightTerm = effectiveSigmaW2(spec, l) / spec.widthOf(l - 1);
                for (int m = m1, col = 0; m >= std::max(l, m0); --m, col += K) {
                    if (badBackward[li(m)] != 0)
                        continue;
                    const Eigen::MatrixXd dd = delta.middleCols(col, K).cast<double>();
                    const int nl = static_cast<int>(dd.rows());
                    Eigen::MatrixXd gd;
                    if (splitProduct(K, nl, K)) {
                        gd = tiledGram(dd, cancel);
                        if (detail::isCancelled(cancel)) // gd is incomplete
                            return;
                    } else {
                        gd = Eigen::MatrixXd::Zero(K, K);
                        gd.selfadjointView<Eigen::Lower>().rankUpdate(dd.transpose());
                        gd.triangularView<Eigen::StrictlyUpper>() = gd.transpose();
                    }
                    if (!gd.allFinite()) {
                        badBackward[li(m)] = l;
                        continue;
                    }
                    theta[li(m)] += weightTerm * gd.cwiseProduct(ga[li(l - 1)]) + sb2 * gd;
                }
                if (l > 1) {
                    MatrixF below = transposedTimes(w[li(l)], delta, cancel);
                    if (detail::isCancelled(cancel)) // below is incomplete
                        return;
                    for (Eigen::Index col = 0; col < below.cols(); col += K)
                        below.middleCols(col, K).array() *= d[li(l - 1)].array();
                    delta = std::move(below);
                }
                if (detail::isCancelled(cancel))
                    return;
            }
            for (int m = m1; m >= m0; --m) {
                if (detail::isCancelled(cancel)) // a spectrum is a K x K eigenvalue problem
                    return;
                NtkKernel k =
                    badBackward[li(m)] != 0 ? NtkKernel{} : spectrum(std::move(theta[li(m)]));
                if (options.byDepth) {
                    result.conditionByDepth[li(m - 1)] = k.condition;
                    if (onDepth) {
                        std::lock_guard lock(callbackMutex);
                        onDepth(NtkDepthPoint{m, k.condition});
                    }
                }
                if (m == L)
                    kernels[li(m)] = std::move(k);
            }
        };
        ntkdetail::runDepthGroups(spec, options, L, ga[0] / spec.inputDim, &analyticNtk, depthGroup,
                                  cancel, result);
    });
    ntkdetail::finishNtk(kernels, L, firstBadForward, badBackward, t0, result);
    return result;
}

namespace ntkdetail {

void runDepthGroups(const NetworkSpec& spec, const NtkOptions& options, int L,
                    const Eigen::MatrixXd& inputGram, AnalyticKernelFn analytic,
                    const std::function<void(int, int)>& depthGroup,
                    const std::atomic<bool>* cancel, NtkResult& result) {
    // The analytic kernel needs only the input Gram: it runs beside the backward passes
    // (one task, layers in sequence) instead of after them.
    tbb::task_group analyticTask;
    if (options.analytic) {
        if (spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant) {
            result.analyticNote = "the analytic NTK assumes zero-mean random weights and "
                                  "biases; constant initialization breaks its assumptions";
        } else {
            result.analyticApplicable = true;
            analyticTask.run([&] {
                std::vector<double> byDepth;
                result.analytic =
                    analytic(spec, inputGram, options.byDepth ? &byDepth : nullptr, cancel);
                result.analyticConditionByDepth = std::move(byDepth);
            });
        }
    }
    if (options.byDepth) {
        const int groups = (L + kDepthGroup - 1) / kDepthGroup;
        detail::forEachIndex(groups, [&](int g) { // deepest (costliest) first
            const int m1 = L - g * kDepthGroup;
            depthGroup(std::max(1, m1 - kDepthGroup + 1), m1);
        });
    } else {
        depthGroup(L, L);
    }
    analyticTask.wait();
    if (detail::isCancelled(cancel))
        result.cancelled = true;
}

void finishNtk(std::vector<NtkKernel>& kernels, int L, int firstBadForward,
               const std::vector<int>& badBackward, std::chrono::steady_clock::time_point t0,
               NtkResult& result) {
    result.empirical = std::move(kernels[li(L)]);
    result.firstNonfiniteLayer = firstBadForward;
    for (int m = 1; m <= L; ++m) {
        const int b = badBackward[li(m)];
        if (b != 0 && (result.firstNonfiniteLayer == 0 || b < result.firstNonfiniteLayer))
            result.firstNonfiniteLayer = b;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace ntkdetail

double ntkCondition(const NetworkSpec& spec, int inputs) {
    NtkOptions o;
    o.inputs = inputs;
    o.byDepth = false;
    o.analytic = false;
    return computeNtk(spec, o).empirical.condition;
}

} // namespace initscope

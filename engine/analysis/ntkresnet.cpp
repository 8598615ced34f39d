// The NTK of a resnet: x^l = x^{l-1} + gamma F_l(x^{l-1}), F = y_m with y_1 = W_1 phi(x) + b_1,
// y_j = W_j phi(y_{j-1}) + b_j, and the scalar readout f = v.x^L + b_v on the stream (the
// network's output is x^L itself, as in the run).
//
// Empirical, in NTK parameterisation as for the mlp (ntk.h): every parameter's gradient is scaled
// by its init standard deviation, so with a_j = phi(input of branch layer j) and g_j = df/dy_j
// the kernel is a sum of Schur products of K x K Grams,
//     Theta = sum_{blocks l, layers j} [ Var(W_j) Gram(g_j) o Gram(a_j) + Var(b_j) Gram(g_j) ]
//             + Var(v) Gram(x^L) + sigma_b^2,
// Var(W_j) = sigma_w,j^2 / N. The backward pass: df/dx^L = v; in block l, g_m = gamma df/dx^l,
// g_{j-1} = phi'(.) (W_j^T g_j), and df/dx^{l-1} = df/dx^l + phi'(x^{l-1}) (W_1^T g_1). A Fixup
// last layer starts at zero: its standard deviation, and with it its term, is zero.
//
// Analytic (infinite width): the skip and the branch are uncorrelated (W_m has zero mean and is
// independent of x), so with the stream kernel S^l (per unit; S^0 = X^T X / N) and Theta^0 = 0,
//     S_y1 = sigma_w,1^2 E[phi phi](S^{l-1}) + sigma_b^2,
//     T_y1 = sigma_w,1^2 E[phi' phi'](S^{l-1}) o Theta^{l-1} + S_y1,
//     S_yj = sigma_w,j^2 E[phi phi](S_y{j-1}) + sigma_b^2,
//     T_yj = sigma_w,j^2 E[phi' phi'](S_y{j-1}) o T_y{j-1} + S_yj,
//     S^l = S^{l-1} + gamma^2 S_ym,  Theta^l = Theta^{l-1} + gamma^2 T_ym,
// and the readout adds sigma_v^2 (S^L + Theta^L) + sigma_b^2, sigma_v^2 = Var(v) N.
//
// By depth: block m's point is the network truncated after m blocks, with its own readout v_m
// (initReadout(spec, m)) and the gamma and Fixup factors of the L-block network. For gamma = 1,
// 0 or a value that is the network of m blocks with the same seed; for 1/sqrt(L) and Fixup it is
// not (a network of m blocks would have 1/sqrt(m)).
#include "analysis/ntkkernels.h"
#include "core/parallel.h"
#include "network/engine.h"
#include "network/network.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <utility>
#include <vector>

namespace initscope::ntkdetail {

namespace {

std::size_t li(int l) {
    return static_cast<std::size_t>(l);
}

const ResidualStage& block(const Network& net, int l) {
    return std::get<ResidualStage>(net.stages[li(l) - 1]);
}

/// Var(W) of a branch weight (its entries' variance) and Var(b) of a bias: the NTK's scales.
double entryVariance(const Param& p) {
    return p.isBias ? p.sigmaW2 : p.sigmaW2 / p.fanIn;
}

} // namespace

std::uint64_t resnetNtkBytes(const NetworkSpec& spec, int inputs) {
    const auto n = static_cast<std::uint64_t>(spec.width);
    const auto k = static_cast<std::uint64_t>(inputs);
    const auto layers =
        static_cast<std::uint64_t>(spec.depth) * static_cast<std::uint64_t>(spec.branchDepth);
    const auto workers = static_cast<std::uint64_t>(detail::workerCount(spec.threads));
    // float weights; phi and phi' of every branch input and the stream, for K inputs; a double
    // Gram per branch input and stream; per worker a group's deltas (float) and their Grams
    return 4 * layers * n * n +
           4 * (2 * layers + static_cast<std::uint64_t>(spec.depth) + 1) * n * k +
           8 * k * k * (layers + static_cast<std::uint64_t>(spec.depth) + 1) +
           workers *
               (static_cast<std::uint64_t>(kDepthGroup) * n * k * 4 * 3 + 8 * n * k + 8 * k * k);
}

NtkKernel analyticResnetNtk(const NetworkSpec& spec, const Eigen::MatrixXd& inputGram,
                            std::vector<double>* byDepth, const std::atomic<bool>* cancel) {
    const Network net = buildNetwork(spec);
    const double sb2 = effectiveSigmaB2(spec);
    const int L = spec.depth;
    Eigen::MatrixXd s = inputGram;
    Eigen::MatrixXd theta = Eigen::MatrixXd::Zero(s.rows(), s.cols());
    if (byDepth)
        byDepth->assign(li(L), kNaN);
    NtkKernel last;
    for (int l = 1; l <= L; ++l) {
        const ResidualStage& st = block(net, l);
        Eigen::MatrixXd sy = s, ty = theta;
        for (std::size_t j = 0; j < st.weights.size(); ++j) {
            if (detail::isCancelled(cancel))
                return {};
            const double sw2 = net.params[li(st.weights[j])].sigmaW2;
            const double bv = net.params[li(st.biases[j])].sigmaW2;
            const PairExpectations e = pairExpectations(net.act, sy, cancel);
            if (detail::isCancelled(cancel)) // e is incomplete
                return {};
            Eigen::MatrixXd next = sw2 * e.phiPhi;
            next.array() += bv;
            ty = (sw2 * e.dphiDphi).cwiseProduct(ty) + next;
            sy = std::move(next);
        }
        const double g2 = st.gamma * st.gamma;
        s += g2 * sy;
        theta += g2 * ty;
        if (byDepth || l == L) {
            const double sv2 = readoutVariance(spec, l) * spec.width;
            Eigen::MatrixXd f = sv2 * (s + theta);
            f.array() += sb2;
            NtkKernel k = spectrum(std::move(f));
            if (byDepth)
                (*byDepth)[li(l - 1)] = k.condition;
            if (l == L)
                last = std::move(k);
        }
    }
    return last;
}

NtkResult computeResnetNtk(const NetworkSpec& spec, const NtkOptions& options,
                           const std::function<void(const NtkDepthPoint&)>& onDepth,
                           const std::atomic<bool>* cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    const int L = spec.depth, K = options.inputs;
    const double sb2 = effectiveSigmaB2(spec);

    NtkResult result;
    result.spec = spec;
    result.inputs = K;
    if (options.byDepth)
        result.conditionByDepth.assign(li(L), kNaN);
    std::mutex callbackMutex;
    int firstBadForward = 0;
    std::vector<int> badBackward(li(L) + 1, 0); // per depth m: first block whose delta overflowed
    std::vector<NtkKernel> kernels(li(L) + 1);

    detail::inArena(spec.threads, [&] {
        const Network net = buildNetwork(spec);
        const auto draws = fetchDraws(net, cancel);
        if (draws.empty()) {
            result.cancelled = true;
            return;
        }
        // every parameter as float entries, exactly the run's (materialize rounds once)
        std::vector<MatrixF> p(net.params.size());
        detail::forEachIndex(static_cast<int>(p.size()), [&](int i) {
            p[li(i)] = materialize(net.params[li(i)], *draws[li(i)], cancel);
        });
        if (detail::isCancelled(cancel)) {
            result.cancelled = true;
            return;
        }
        const int m = spec.branchDepth;

        // forward: the stream x^l, and per branch layer j phi and phi' of its input, with Grams
        std::vector<MatrixF> x(li(L) + 1);
        std::vector<Eigen::MatrixXd> gx(li(L) + 1);
        std::vector<std::vector<MatrixF>> a(li(L) + 1), d(li(L) + 1);
        std::vector<std::vector<Eigen::MatrixXd>> ga(li(L) + 1);
        x[0] = drawInputs(spec, K);
        gx[0] = gram(x[0], cancel);
        for (int l = 1; l <= L && firstBadForward == 0; ++l) {
            const ResidualStage& st = block(net, l);
            const auto ll = li(l);
            a[ll].resize(li(m));
            d[ll].resize(li(m));
            ga[ll].resize(li(m));
            MatrixF u = x[ll - 1];
            for (int j = 0; j < m; ++j) {
                if (detail::isCancelled(cancel)) {
                    result.cancelled = true;
                    return;
                }
                MatrixF aj(u.rows(), u.cols()), dj(u.rows(), u.cols());
                net.act.apply(u.data(), aj.data(), dj.data(), static_cast<std::size_t>(u.size()));
                MatrixF h = rowBlockProduct(p[li(st.weights[li(j)])], aj, cancel);
                h.colwise() += p[li(st.biases[li(j)])].col(0);
                ga[ll][li(j)] = gram(aj, cancel);
                a[ll][li(j)] = std::move(aj);
                d[ll][li(j)] = std::move(dj);
                u = std::move(h);
            }
            if (detail::isCancelled(cancel)) { // a product or Gram is incomplete
                result.cancelled = true;
                return;
            }
            x[ll] = x[ll - 1] + static_cast<float>(st.gamma) * u;
            if (!x[ll].allFinite() || !u.allFinite()) {
                firstBadForward = l;
                break;
            }
            gx[ll] = gram(x[ll], cancel);
        }
        if (detail::isCancelled(cancel)) {
            result.cancelled = true;
            return;
        }

        // One backward pass per depth m (its own readout v_m), in fixed groups of kDepthGroup
        // consecutive depths whose deltas sit side by side in one matrix, as for the mlp.
        const int lastDepth = firstBadForward != 0 ? firstBadForward - 1 : L;
        std::vector<Eigen::MatrixXd> theta(li(L) + 1);
        auto depthGroup = [&](int m0, int m1) {
            if (detail::isCancelled(cancel))
                return;
            for (int md = std::max(m0, lastDepth + 1); md <= m1 && options.byDepth && onDepth;
                 ++md) {
                std::lock_guard lock(callbackMutex);
                onDepth(NtkDepthPoint{md, kNaN});
            }
            m1 = std::min(m1, lastDepth);
            if (m1 < m0)
                return;
            MatrixF delta; // df/dx^l for depths m1, m1 - 1, ..., max(l, m0)
            for (int l = m1; l >= 1; --l) {
                const auto ll = li(l);
                if (l >= m0) { // depth l joins: df/dx^l = v_l for every input
                    theta[ll] = readoutVariance(spec, l) * gx[ll];
                    theta[ll].array() += sb2;
                    const VectorF v = initReadout(spec, l);
                    MatrixF joined(spec.width, delta.cols() + K);
                    joined.leftCols(delta.cols()) = delta;
                    joined.rightCols(K) = v.replicate(1, K);
                    delta = std::move(joined);
                }
                const ResidualStage& st = block(net, l);
                MatrixF g = static_cast<float>(st.gamma) * delta; // df/dy_m
                for (int j = m - 1; j >= 0; --j) {
                    const Param& w = net.params[li(st.weights[li(j)])];
                    const Param& b = net.params[li(st.biases[li(j)])];
                    const double wVar = entryVariance(w), bVar = entryVariance(b);
                    for (int md = m1, col = 0; md >= std::max(l, m0); --md, col += K) {
                        if (badBackward[li(md)] != 0)
                            continue;
                        const Eigen::MatrixXd gd = gram(g.middleCols(col, K), cancel);
                        if (detail::isCancelled(cancel)) // gd is incomplete
                            return;
                        if (!gd.allFinite()) {
                            badBackward[li(md)] = l;
                            continue;
                        }
                        theta[li(md)] += wVar * gd.cwiseProduct(ga[ll][li(j)]) + bVar * gd;
                    }
                    MatrixF back = transposedTimes(p[li(st.weights[li(j)])], g, cancel);
                    if (detail::isCancelled(cancel)) // back is incomplete
                        return;
                    for (Eigen::Index col = 0; col < back.cols(); col += K)
                        back.middleCols(col, K).array() *= d[ll][li(j)].array();
                    g = std::move(back); // df/dy_{j-1}, or for j = 0 the branch's df/dx^{l-1}
                }
                delta += g;
            }
            for (int md = m1; md >= m0; --md) {
                if (detail::isCancelled(cancel))
                    return;
                NtkKernel k =
                    badBackward[li(md)] != 0 ? NtkKernel{} : spectrum(std::move(theta[li(md)]));
                if (options.byDepth) {
                    result.conditionByDepth[li(md - 1)] = k.condition;
                    if (onDepth) {
                        std::lock_guard lock(callbackMutex);
                        onDepth(NtkDepthPoint{md, k.condition});
                    }
                }
                if (md == L)
                    kernels[li(md)] = std::move(k);
            }
        };
        runDepthGroups(spec, options, L, gx[0] / spec.inputDim, &analyticResnetNtk, depthGroup,
                       cancel, result);
    });
    finishNtk(kernels, L, firstBadForward, badBackward, t0, result);
    return result;
}

} // namespace initscope::ntkdetail

#include "analysis/jacobian.h"

#include "core/parallel.h"
#include "network/engine.h"
#include "network/network.h"
#include "network/weights.h"
#include "theory/meanfield.h"

#include <Eigen/SVD>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <mutex>

namespace initscope {

namespace {

// Columns of the running product per parallel task: fixed, so each block's arithmetic is the
// same whatever the thread count.
constexpr int kBlockCols = 64;

std::size_t li(int l) {
    return static_cast<std::size_t>(l);
}

struct Blocks {
    int total;
    int count() const { return (total + kBlockCols - 1) / kBlockCols; }
    int begin(int i) const { return i * kBlockCols; }
    int len(int i) const { return std::min(kBlockCols, total - i * kBlockCols); }
};

// A product block of more than kTileWork multiply-adds (a 64-column block of the running product
// through a 4096-wide layer is 2^30) is cut further into row blocks of about kTileWork, each a
// parallel task with a look at the cancel flag: one task is then tens of milliseconds, not a
// second. The row blocks depend only on the shapes (results stay independent of the thread
// count), and every layer narrower than 2048 (all bundled presets and goldens) keeps the one
// product per block it always had, bit for bit.
constexpr std::int64_t kTileWork = std::int64_t(1) << 28;

/// Rows per task for a product with `inner` terms per entry over `cols` columns: all `rows` when
/// the whole block is at most kTileWork, otherwise a multiple of 64 of about that work.
int rowStep(int rows, int inner, int cols) {
    const std::int64_t perRow = std::int64_t(inner) * cols;
    if (perRow * rows <= kTileWork)
        return rows;
    return static_cast<int>(std::max<std::int64_t>(64, kTileWork / perRow / 64 * 64));
}

std::uint64_t jacobianBytes(const NetworkSpec& spec, int inputs) {
    std::uint64_t weights = 0, maxN = static_cast<std::uint64_t>(spec.inputDim);
    for (int l = 1; l <= spec.depth; ++l) {
        const auto n = static_cast<std::uint64_t>(spec.widthOf(l));
        weights += n * static_cast<std::uint64_t>(spec.widthOf(l - 1));
        maxN = std::max(maxN, n);
    }
    const auto k = static_cast<std::uint64_t>(inputs);
    const auto side = static_cast<std::uint64_t>(std::min(spec.inputDim, spec.widthOf(spec.depth)));
    // float weights, float activations and phi' of K inputs per layer, two double products per
    // input (current and next), one layer of weights in double, and the SVD's working copy
    // a residual block holds branch_depth layers of weights and of phi'
    const auto perStage =
        static_cast<std::uint64_t>(spec.arch == Arch::Resnet ? spec.branchDepth : 1);
    return 4 * weights * perStage +
           8 * maxN * k * static_cast<std::uint64_t>(spec.depth + 1) * perStage +
           2 * 8 * k * maxN * side + 8 * maxN * maxN + 8 * maxN * side;
}

} // namespace

double theoryJacobianMeanSq(const NetworkSpec& spec, double q0, std::string* note) {
    if (spec.init == InitScheme::Constant || spec.biasInit == BiasInit::Constant) {
        if (note)
            *note = "mean-field theory assumes zero-mean random weights and biases; constant "
                    "initialization breaks its assumptions";
        return kNaN;
    }
    const Activation act(spec.activation, spec.activationSlope);
    const double sb2 = effectiveSigmaB2(spec);
    double q = 0, product = 1.0;
    if (spec.arch == Arch::Resnet) {
        // J = prod_l (I + gamma J_F^l): E||J||_F^2 / N grows by 1 + gamma^2 chi_F per block (the
        // cross terms vanish in mean: J_F is zero-mean), chi_F = prod_j sigma_w,j^2 E[phi'^2]
        // at the branch's lengths, starting from the block's input length q^{l-1}
        const Network net = buildNetwork(spec);
        q = q0;
        for (const Stage& stage : net.stages) {
            const auto& st = std::get<ResidualStage>(stage);
            double qq = q, chi = 1.0;
            for (int w : st.weights) {
                const double sw2 = net.params[static_cast<std::size_t>(w)].sigmaW2;
                chi *= sw2 * meanfield::expectDphi2(act, qq);
                qq = meanfield::lengthMap(act, sw2, sb2, qq);
            }
            product *= 1.0 + st.gamma * st.gamma * chi;
            q += st.gamma * st.gamma * qq;
        }
        return product;
    }
    for (int l = 1; l <= spec.depth; ++l) {
        const double sw2 = effectiveSigmaW2(spec, l);
        q = l == 1 ? sw2 * q0 + sb2 : meanfield::lengthMap(act, sw2, sb2, q);
        product *= sw2 * meanfield::expectDphi2(act, q);
    }
    const double nL = spec.widthOf(spec.depth);
    return nL / std::min<double>(spec.inputDim, nL) * product;
}

std::vector<SpecError> validateJacobian(const NetworkSpec& spec, int inputs) {
    std::vector<SpecError> errors = validate(spec);
    if (!errors.empty())
        return errors;
    if (spec.arch == Arch::Rnn) {
        errors.push_back({"arch", "arch: the Jacobian view is computed for arch mlp and resnet "
                                  "(products of the stages' Jacobians of one input); an rnn's "
                                  "inputs enter at every time step, so there is no single "
                                  "dx^L/dx^0 to take: got arch rnn"});
        return errors;
    }
    const int maxK = std::min(spec.batch, kMaxJacobianInputs);
    if (inputs < 1 || inputs > maxK) {
        errors.push_back({"inputs", "inputs: must be an integer from 1 to " + std::to_string(maxK) +
                                        " (the first K inputs of the batch; at most " +
                                        std::to_string(kMaxJacobianInputs) + ") (got " +
                                        std::to_string(inputs) + ")"});
        return errors;
    }
    const double gib = static_cast<double>(jacobianBytes(spec, inputs)) / (1024.0 * 1024 * 1024);
    if (gib > spec.memoryBudgetGiB) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.2f GiB", gib);
        errors.push_back({"inputs", "inputs: the Jacobians of " + std::to_string(inputs) +
                                        " inputs would need about " + buf +
                                        ", more than memory_budget_gib; use fewer inputs or "
                                        "smaller widths"});
    }
    return errors;
}

namespace {

/// The Jacobians of a residual network, J = prod_l (I + gamma W_m^l D_m^l ... W_1^l D_1^l), from
/// the input side (N_0 = N_L = N), one input per task after the forward pass of the K inputs.
void residualJacobians(const NetworkSpec& spec, int K, JacobianResult& result,
                       const std::function<void(const JacobianInput&)>& onInput,
                       std::mutex& callbackMutex, const std::atomic<bool>* cancel) {
    const Network net = buildNetwork(spec);
    const auto draws = fetchDraws(net, cancel);
    if (draws.empty()) {
        result.cancelled = true;
        return;
    }
    const int L = spec.depth, n = spec.width;
    const auto param = [&](int k) -> const Param& {
        return net.params[static_cast<std::size_t>(k)];
    };
    const auto draw = [&](int k) -> const StandardDraw& {
        return *draws[static_cast<std::size_t>(k)];
    };
    // forward of the K inputs: phi'(u_{j-1}) of every branch layer j of every block
    std::vector<std::vector<MatrixF>> d(static_cast<std::size_t>(L));
    std::vector<std::vector<MatrixF>> w(static_cast<std::size_t>(L));
    std::vector<int> bad(static_cast<std::size_t>(K), 0);
    const MatrixF x = drawInputs(spec, K);
    for (int k = 0; k < K; ++k) {
        JacobianInput& in = result.inputs[static_cast<std::size_t>(k)];
        in.index = k;
        const double q0 = x.col(k).cast<double>().squaredNorm() / spec.inputDim;
        in.theoryMeanSq = theoryJacobianMeanSq(spec, q0, &result.theoryNote);
    }
    MatrixF stream = x;
    for (int l = 0; l < L; ++l) {
        if (detail::isCancelled(cancel)) {
            result.cancelled = true;
            return;
        }
        const auto& st = std::get<ResidualStage>(net.stages[static_cast<std::size_t>(l)]);
        MatrixF u = stream, a(n, K);
        for (std::size_t j = 0; j < st.weights.size(); ++j) {
            MatrixF dj(n, K);
            net.act.apply(u.data(), a.data(), dj.data(), static_cast<std::size_t>(u.size()));
            w[static_cast<std::size_t>(l)].push_back(
                materialize(param(st.weights[j]), draw(st.weights[j])));
            u = w[static_cast<std::size_t>(l)].back() * a;
            u.colwise() += materialize(param(st.biases[j]), draw(st.biases[j])).col(0);
            d[static_cast<std::size_t>(l)].push_back(std::move(dj));
        }
        stream += static_cast<float>(st.gamma) * u;
        for (int k = 0; k < K; ++k)
            if (bad[static_cast<std::size_t>(k)] == 0 && !stream.col(k).allFinite())
                bad[static_cast<std::size_t>(k)] = l + 1;
    }
    detail::forEachIndex(K, [&](int k) {
        const auto ki = static_cast<std::size_t>(k);
        JacobianInput& in = result.inputs[ki];
        Eigen::MatrixXd p = Eigen::MatrixXd::Identity(n, n);
        for (int l = 0; l < L && bad[ki] == 0; ++l) {
            if (detail::isCancelled(cancel))
                return;
            const auto& st = std::get<ResidualStage>(net.stages[static_cast<std::size_t>(l)]);
            if (st.gamma == 0)
                continue; // the block is the identity: J^l = I exactly
            Eigen::MatrixXd r = p;
            for (std::size_t j = 0; j < st.weights.size(); ++j)
                r = w[static_cast<std::size_t>(l)][j].cast<double>() *
                    (d[static_cast<std::size_t>(l)][j].col(k).cast<double>().asDiagonal() * r);
            p += st.gamma * r;
            if (!p.allFinite())
                bad[ki] = l + 1;
        }
        in.firstNonfiniteLayer = bad[ki];
        if (bad[ki] == 0) {
            const Eigen::BDCSVD<Eigen::MatrixXd> svd(p);
            const Eigen::VectorXd s = svd.singularValues();
            in.singularValues.assign(s.data(), s.data() + s.size());
            in.meanSq = s.squaredNorm() / static_cast<double>(s.size());
            const double smax = s.maxCoeff(), smin = s.minCoeff();
            in.spread = smin > 0 ? smax / smin
                                 : (smax > 0 ? std::numeric_limits<double>::infinity() : kNaN);
        }
        if (onInput && !detail::isCancelled(cancel)) {
            std::lock_guard lock(callbackMutex);
            onInput(in);
        }
    });
    if (detail::isCancelled(cancel))
        result.cancelled = true;
}

} // namespace

JacobianResult computeJacobian(const NetworkSpec& spec, int inputs,
                               const std::function<void(const JacobianInput&)>& onInput,
                               const std::atomic<bool>* cancel) {
    if (auto errors = validateJacobian(spec, inputs); !errors.empty())
        throw SpecInvalid(std::move(errors));
    const auto t0 = std::chrono::steady_clock::now();
    const int L = spec.depth, K = inputs;
    const int n0 = spec.inputDim, nL = spec.widthOf(L);
    const bool fromInput = n0 <= nL; // accumulate from the narrower end: cost L N^2 min(N0, NL)
    const int side = std::min(n0, nL);
    const Activation act(spec.activation, spec.activationSlope);

    JacobianResult result;
    result.spec = spec;
    result.inputs.resize(static_cast<std::size_t>(K));
    std::mutex callbackMutex;

    detail::inArena(spec.threads, [&] {
        if (spec.arch == Arch::Resnet) {
            residualJacobians(spec, K, result, onInput, callbackMutex, cancel);
            return;
        }
        // the network's standard draws from the shared cache (the run's very draws: an
        // orthogonal init's QRs are not redone), rounded to W = float(scale) Z like initWeights
        const Network net = buildNetwork(spec);
        const auto draws = fetchDraws(net, cancel);
        if (draws.empty()) {
            result.cancelled = true;
            return;
        }
        // a cnn's layers as the dense maps of its flattened C S^2 units (small images)
        auto [w, bias] = spec.arch == Arch::Cnn ? materializeConvAsDense(net, draws, cancel)
                                                : materializeDense(net, draws, cancel);

        // forward pass of the K inputs together: phi'(h^l) per layer, non-finite per input
        std::vector<MatrixF> d(static_cast<std::size_t>(L) + 1);
        std::vector<int> bad(static_cast<std::size_t>(K), 0);
        {
            const MatrixF x = drawInputs(spec, K);
            for (int k = 0; k < K; ++k) {
                JacobianInput& in = result.inputs[static_cast<std::size_t>(k)];
                in.index = k;
                const double q0 = x.col(k).cast<double>().squaredNorm() / n0;
                in.theoryMeanSq = theoryJacobianMeanSq(spec, q0, &result.theoryNote);
            }
            MatrixF a = x;
            for (int l = 1; l <= L; ++l) {
                if (detail::isCancelled(cancel)) {
                    result.cancelled = true;
                    return;
                }
                const auto li = static_cast<std::size_t>(l);
                const int rows = static_cast<int>(w[li].rows()), inner = static_cast<int>(a.rows());
                const int step = rowStep(rows, inner, K);
                MatrixF h;
                if (step == rows) {
                    h = w[li] * a;
                } else { // a huge layer: row blocks as parallel tasks
                    h.resize(rows, K);
                    detail::forEachIndex((rows + step - 1) / step, [&](int b) {
                        if (detail::isCancelled(cancel))
                            return;
                        const int r0 = b * step, len = std::min(step, rows - r0);
                        h.middleRows(r0, len).noalias() = w[li].middleRows(r0, len) * a;
                    });
                    if (detail::isCancelled(cancel)) {
                        result.cancelled = true;
                        return;
                    }
                }
                h.colwise() += bias[li].col(0);
                a.resize(h.rows(), K);
                d[li].resize(h.rows(), K);
                act.apply(h.data(), a.data(), d[li].data(), static_cast<std::size_t>(h.size()));
                for (int k = 0; k < K; ++k)
                    if (bad[static_cast<std::size_t>(k)] == 0 &&
                        (!h.col(k).allFinite() || !d[li].col(k).allFinite()))
                        bad[static_cast<std::size_t>(k)] = l;
            }
        }

        // the running products, one per input: P_l = D_l W^l ... D_1 W^1 (N_l x N_0) from the
        // input side, or P = (D_L W^L ... D_l W^l)^T D_{l-1} (N_{l-1} x N_L) from the output side
        std::vector<Eigen::MatrixXd> p(static_cast<std::size_t>(K));
        for (int k = 0; k < K; ++k) {
            if (bad[static_cast<std::size_t>(k)] != 0)
                continue;
            auto& pk = p[static_cast<std::size_t>(k)];
            if (fromInput)
                pk = d[1].col(k).cast<double>().asDiagonal() * w[1].cast<double>();
            else
                pk =
                    d[li(L)].col(k).cast<double>().asDiagonal() * Eigen::MatrixXd::Identity(nL, nL);
        }
        const Blocks blocks{side};
        for (int step = 1; step < L + (fromInput ? 0 : 1); ++step) {
            if (detail::isCancelled(cancel)) {
                result.cancelled = true;
                return;
            }
            // from the input side, step s applies layer s + 1; from the output side layer L - s + 1
            const int l = fromInput ? step + 1 : L - step + 1;
            const Eigen::MatrixXd wl = fromInput
                                           ? Eigen::MatrixXd(w[li(l)].cast<double>())
                                           : Eigen::MatrixXd(w[li(l)].transpose().cast<double>());
            const int rows = static_cast<int>(wl.rows());
            std::vector<Eigen::MatrixXd> next(static_cast<std::size_t>(K));
            for (int k = 0; k < K; ++k)
                if (bad[static_cast<std::size_t>(k)] == 0)
                    next[static_cast<std::size_t>(k)].resize(rows, side);
            // tasks: input k, column block b, row block r (one row block unless the layer is huge)
            const int tileRows = rowStep(rows, static_cast<int>(wl.cols()), kBlockCols);
            const int rowBlocks = (rows + tileRows - 1) / tileRows;
            const int perInput = blocks.count() * rowBlocks;
            detail::forEachIndex(K * perInput, [&](int task) {
                const int k = task / perInput, b = task % perInput / rowBlocks;
                const int r0 = task % rowBlocks * tileRows, len = std::min(tileRows, rows - r0);
                if (bad[static_cast<std::size_t>(k)] != 0 || detail::isCancelled(cancel))
                    return;
                auto out = next[static_cast<std::size_t>(k)].block(r0, blocks.begin(b), len,
                                                                   blocks.len(b));
                out.noalias() = wl.middleRows(r0, len) * p[static_cast<std::size_t>(k)].middleCols(
                                                             blocks.begin(b), blocks.len(b));
                // from the input side the new rows belong to layer l; from the output side to l - 1
                const int dl = fromInput ? l : l - 1;
                if (dl >= 1)
                    out = d[li(dl)].col(k).segment(r0, len).cast<double>().asDiagonal() * out;
            });
            for (int k = 0; k < K; ++k) {
                const auto ki = static_cast<std::size_t>(k);
                if (bad[ki] != 0)
                    continue;
                p[ki] = std::move(next[ki]);
                if (!p[ki].allFinite()) {
                    bad[ki] = l;
                    p[ki].resize(0, 0);
                }
            }
        }

        if (detail::isCancelled(cancel)) {
            result.cancelled = true;
            return;
        }
        // singular values, one input per task
        detail::forEachIndex(K, [&](int k) {
            const auto ki = static_cast<std::size_t>(k);
            JacobianInput& in = result.inputs[ki];
            in.firstNonfiniteLayer = bad[ki];
            if (bad[ki] == 0) {
                const Eigen::BDCSVD<Eigen::MatrixXd> svd(p[ki]);
                const Eigen::VectorXd s = svd.singularValues();
                in.singularValues.assign(s.data(), s.data() + s.size());
                in.meanSq = s.squaredNorm() / static_cast<double>(s.size());
                const double smax = s.maxCoeff(), smin = s.minCoeff();
                in.spread = smin > 0 ? smax / smin
                                     : (smax > 0 ? std::numeric_limits<double>::infinity() : kNaN);
                p[ki].resize(0, 0);
            }
            if (onInput) {
                std::lock_guard lock(callbackMutex);
                onInput(in);
            }
        });
    });

    double sum = 0, theory = 0;
    int finite = 0;
    for (const JacobianInput& in : result.inputs) {
        if (in.firstNonfiniteLayer != 0) {
            if (result.firstNonfiniteLayer == 0 ||
                in.firstNonfiniteLayer < result.firstNonfiniteLayer)
                result.firstNonfiniteLayer = in.firstNonfiniteLayer;
            continue;
        }
        if (result.cancelled)
            break;
        sum += in.meanSq;
        theory += in.theoryMeanSq;
        ++finite;
    }
    if (finite > 0 && !result.cancelled) {
        result.meanSq = sum / finite;
        result.theoryMeanSq = theory / finite;
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace initscope

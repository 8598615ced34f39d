#include "jacobian.h"

#include "engine.h"
#include "meanfield.h"
#include "network.h"
#include "parallel.h"
#include "weights.h"

#include <Eigen/SVD>

#include <algorithm>
#include <chrono>
#include <cmath>
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
    return 4 * weights + 8 * maxN * k * static_cast<std::uint64_t>(spec.depth + 1) +
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
        // the network's standard draws from the shared cache (the run's very draws: an
        // orthogonal init's QRs are not redone), rounded to W = float(scale) Z like initWeights
        const Network net = buildNetwork(spec);
        const auto draws = fetchDraws(net, cancel);
        if (draws.empty()) {
            result.cancelled = true;
            return;
        }
        std::vector<MatrixF> w(static_cast<std::size_t>(L) + 1),
            bias(static_cast<std::size_t>(L) + 1);
        detail::forEachIndex(L, [&](int i) {
            const DenseStage& st = denseStage(net, i + 1);
            const auto p = [&](int k) -> const Param& {
                return net.params[static_cast<std::size_t>(k)];
            };
            const auto z = [&](int k) -> const StandardDraw& {
                return *draws[static_cast<std::size_t>(k)];
            };
            w[static_cast<std::size_t>(i) + 1] = materialize(p(st.weight), z(st.weight));
            bias[static_cast<std::size_t>(i) + 1] = materialize(p(st.bias), z(st.bias));
        });

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
                MatrixF h = w[li] * a;
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
            detail::forEachIndex(K * blocks.count(), [&](int task) {
                const int k = task / blocks.count(), b = task % blocks.count();
                if (bad[static_cast<std::size_t>(k)] != 0 || detail::isCancelled(cancel))
                    return;
                auto out =
                    next[static_cast<std::size_t>(k)].middleCols(blocks.begin(b), blocks.len(b));
                out.noalias() =
                    wl * p[static_cast<std::size_t>(k)].middleCols(blocks.begin(b), blocks.len(b));
                // from the input side the new rows belong to layer l; from the output side to l - 1
                const int dl = fromInput ? l : l - 1;
                if (dl >= 1)
                    out = d[li(dl)].col(k).cast<double>().asDiagonal() * out;
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

#include "core/cost.h"

#include "analysis/ntk.h"
#include "analysis/sweep.h"
#include "core/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace initscope {

const CostRates& costRates() {
    // Measured with initscope-cli on the AMD EPYC cores (AVX2 + FMA) of a 2-core machine shared
    // with other jobs, then rounded down: runs of width 256..1024 reached 14-20 Gflop/s per core
    // in their GEMMs, the per-entry forward and backward statistics about 50 M entries/s,
    // Box-Muller 33 M normals/s; a tanh phase cell took 1.5-3 ms of one core (5000 cells in
    // 7.5 s on 2 cores; the 500 x 500 grid, 205 s on 2 cores, is 1.6 ms); a pair
    // expectation of the analytic NTK at most 40 us.
    static const CostRates r{
        /*floatGemmFlops*/ 1.5e10, /*doubleGemmFlops*/ 1.0e10,
        /*normalDraws*/ 2.5e7,
        /*elementwise*/ 5.0e7,     /*phaseCell*/ 3.0e-3,
        /*pairIntegral*/ 4.0e-5};
    return r;
}

namespace {
double width(const NetworkSpec& s, int l) {
    return static_cast<double>(s.widthOf(l));
}
/// Sums over the layers of n_l n_{l-1} (weights) and n_l (units): in closed form for a constant
/// width, so that estimating a sweep of 10^4 points of depth 5000 stays quick on the GUI thread.
struct LayerSums {
    double weights = 0, units = 0;
};
LayerSums layerSums(const NetworkSpec& s) {
    LayerSums t;
    if (s.arch == Arch::Cnn) { // a kernel's weights act at every one of the S^2 pixels
        const double p = static_cast<double>(s.image) * s.image;
        const double k2 = static_cast<double>(s.kernel) * s.kernel;
        t.weights = p * s.channels * k2 * (s.inputChannels + (s.depth - 1.0) * s.channels);
        t.units = s.depth * s.channels * p;
        return t;
    }
    if (s.widths.empty()) {
        const double n = s.width, L = s.depth;
        t.weights = n * s.inputDim + (L - 1) * n * n;
        t.units = L * n;
        return t;
    }
    for (int l = 1; l <= s.depth; ++l) {
        t.weights += width(s, l) * width(s, l - 1);
        t.units += width(s, l);
    }
    return t;
}
/// Seconds of the weight draws: layers are drawn in parallel, each layer by one core.
double drawSeconds(const NetworkSpec& s, int cores) {
    const CostRates& r = costRates();
    double entries = layerSums(s).weights;
    double qr = 0;
    if (s.arch ==
        Arch::Cnn) { // the kernels: C x k^2 C_in each (delta-orthogonal: a QR of C x C_in)
        const double k2 = static_cast<double>(s.kernel) * s.kernel;
        entries /= static_cast<double>(s.image) * s.image;
        if (s.init == InitScheme::Orthogonal || s.init == InitScheme::DeltaOrthogonal)
            for (int l = 1; l <= s.depth; ++l) {
                const double n = s.channels;
                const double cols = (l == 1 ? s.inputChannels : s.channels) *
                                    (s.init == InitScheme::Orthogonal ? k2 : 1.0);
                qr += 4.0 * std::max(n, cols) * std::min(n, cols) * std::min(n, cols);
            }
    } else if (s.init == InitScheme::Orthogonal) // Householder QR and forming Q, in double
        for (int l = 1; l <= s.depth; ++l) {
            const double n = width(s, l), nIn = width(s, l - 1);
            qr += 4.0 * std::max(n, nIn) * std::min(n, nIn) * std::min(n, nIn);
        }
    const double parallel = std::min<double>(cores, s.depth);
    return entries / r.normalDraws / parallel + qr / (r.doubleGemmFlops / 4) / parallel;
}

/// An rnn: T steps of the one N x (N + N_x) cell (three GEMMs each), one draw of the tied
/// weights (a QR for orthogonal ones), an input per step.
double estimateRnnSeconds(const NetworkSpec& s, int cores) {
    const CostRates& r = costRates();
    const double n = s.width, nx = s.inputDim, T = s.depth, B = s.batch;
    const double flops = 6.0 * T * n * (n + nx) * B;
    const double chunks = std::ceil(B / 64.0);
    const double parallel = std::min<double>(cores, chunks);
    const bool ownW = s.recurrentInit == RecurrentInit::Scheme;
    double draws = n * (n + nx) + (ownW ? n * n : 0.0);
    double qr = 0;
    if (s.init == InitScheme::Orthogonal)
        qr += 4.0 * (n + nx) * n * n;
    if (ownW && s.recurrentScheme == InitScheme::Orthogonal)
        qr += 4.0 * n * n * n;
    const double inputs = (s.rnnInput == RnnInput::EveryStep ? T : 1.0) * nx * B + n * B;
    draws += inputs;
    return flops / r.floatGemmFlops / parallel + 2 * T * n * B / r.elementwise / parallel +
           draws / r.normalDraws + qr / (r.doubleGemmFlops / 4);
}
} // namespace

double estimateRunSeconds(const NetworkSpec& s) {
    const CostRates& r = costRates();
    const int cores = detail::workerCount(s.threads);
    if (s.arch == Arch::Rnn)
        return estimateRnnSeconds(s, cores);
    // forward h = W a, backward W^T delta and dW = delta a^T: three GEMMs of 2 n nIn B flops
    const LayerSums sums = layerSums(s);
    const double flops = 6.0 * sums.weights * s.batch;
    const double entries = sums.units * s.batch;
    // the work is split into chunks of 64 inputs: fewer chunks than cores leave cores idle
    const double chunks = std::ceil(s.batch / 64.0);
    const double parallel = std::min<double>(cores, chunks);
    const double inputs = (s.inputDim + width(s, s.depth)) * static_cast<double>(s.batch);
    return flops / r.floatGemmFlops / parallel + 2 * entries / r.elementwise / parallel +
           drawSeconds(s, cores) + inputs / r.normalDraws;
}

double estimateSweepSeconds(const NetworkSpec& base, const SweepAxis& axis) {
    double total = 0;
    for (double v : axis.values())
        total += estimateRunSeconds(sweepSpec(base, axis.name, v));
    return total;
}

double estimateEnsembleSeconds(const NetworkSpec& spec, int seeds) {
    return std::max(1, seeds) * estimateRunSeconds(spec);
}

double estimateJacobianSeconds(const NetworkSpec& s, int inputs) {
    const CostRates& r = costRates();
    const int cores = detail::workerCount(s.threads);
    const double side = std::min(width(s, 0), width(s, s.depth));
    double products = 0, maxN = width(s, 0);
    for (int l = 1; l <= s.depth; ++l) {
        products += 2.0 * width(s, l) * width(s, l - 1) * side * inputs;
        maxN = std::max(maxN, width(s, l));
    }
    // the SVD of each N x side product: a bidiagonalisation and its divide and conquer
    const double svd = 12.0 * maxN * side * side * inputs;
    const double parallel = std::min<double>(cores, inputs * std::ceil(side / 64.0));
    return products / r.doubleGemmFlops / parallel +
           svd / (r.doubleGemmFlops / 4) / std::min<double>(cores, inputs) + drawSeconds(s, cores);
}

double estimateNtkSeconds(const NetworkSpec& s, const NtkOptions& o) {
    const CostRates& r = costRates();
    const int cores = detail::workerCount(s.threads);
    const double k = o.inputs;
    // one backward pass per depth m (each through m layers) when by depth, else the last one
    double backward = 0, forward = 0;
    for (int l = 1; l <= s.depth; ++l) {
        const double layer = 2.0 * width(s, l) * width(s, l - 1) * k;
        forward += layer;
        // layer l is crossed by the passes of every depth m >= l
        const double passes = o.byDepth ? s.depth - l + 1 : 1;
        backward += passes * (layer + 2.0 * k * k * width(s, l));
    }
    const double analytic = o.analytic ? s.depth * k * k * r.pairIntegral : 0;
    // the analytic kernel runs as one task beside the backward passes
    return forward / r.floatGemmFlops + std::max(backward / r.floatGemmFlops / cores, analytic) +
           drawSeconds(s, cores);
}

double estimatePhaseSeconds(long cells, int threads) {
    return static_cast<double>(cells) * costRates().phaseCell / detail::workerCount(threads);
}

std::string formatDuration(double seconds) {
    char buf[48];
    if (!std::isfinite(seconds))
        return "an unknown time";
    if (seconds < 1)
        return "under a second";
    if (seconds < 90)
        std::snprintf(buf, sizeof buf, "about %.0f s", seconds);
    else if (seconds < 90 * 60)
        std::snprintf(buf, sizeof buf, "about %.0f min", seconds / 60);
    else if (seconds < 48 * 3600)
        std::snprintf(buf, sizeof buf, "about %.1f h", seconds / 3600);
    else
        std::snprintf(buf, sizeof buf, "about %.0f days", seconds / 86400);
    return buf;
}

std::string tooLongMessage(const std::string& what, double estimate, double maxSeconds) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", maxSeconds);
    char est[32];
    std::snprintf(est, sizeof est, "%.3g", estimate);
    return what + " would take " + formatDuration(estimate) + " (estimated " + est +
           " s), above the limit of --max-seconds " + limit +
           ": make it smaller, or raise --max-seconds to run it anyway";
}

} // namespace initscope

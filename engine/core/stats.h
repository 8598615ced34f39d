// Results of a run: immutable values handed to a sink as they are computed.
// Definitions of every statistic: THEORY.md, "What each statistic means". Every statistic of
// LayerStats is listed once, in statschema.h (a new member there is one row of its table).
#pragma once

#include "spec/spec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace initscope {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Histogram {
    double lo = 0, hi = 0;              // bins cover [lo, hi]; values outside land in the edge bins
    std::vector<std::uint64_t> counts;  // equal-width bins
    std::uint64_t below = 0, above = 0; // how many of the edge-bin counts were outside [lo, hi]
};

/// One layer's statistics. The forward part is final when the sink's forwardLayer() sees it;
/// the backward part (hasGradients) when backwardLayer() sees it. NaN marks "not defined"
/// (for example every statistic of a layer with non-finite values).
struct LayerStats {
    int index = 0;      // l = 1..L
    int width = 0;      // N_l
    double sigmaW2 = 0; // effective sigma_w^2 = Var(W^l) * fanIn
    // forward, over the batch of pre-activations h^l
    double q = kNaN;                 // mean of h^2 over units and inputs
    double mean = kNaN;              // mean of h
    double var = kNaN;               // centred variance of h
    double deadFraction = kNaN;      // units with phi'(h) = 0 for every input
    double saturatedFraction = kNaN; // (unit, input) with |phi'| < 0.05 max|phi'| (saturating phi)
    double correlation = kNaN;       // mean over pairs a != b of cos(h_a, h_b)
    double unitSpread = kNaN;        // mean over inputs of std over units / rms (0 = symmetry)
    std::int64_t nonfinite = 0;      // count of non-finite h values in this layer
    Histogram histogram;             // of h over units and inputs
    std::vector<float> sample;       // a^l = phi(h^l) of input 0 (the activation heatmap column)
    // backward (random cotangent g ~ N(0, I) on a^L; loss = mean over inputs of g_b . a^L_b)
    bool hasGradients = false;
    double gradH2 = kNaN;         // mean over inputs of ||delta^l||^2, delta = d(g_b.a_b^L)/dh^l_b
    double gradW2 = kNaN;         // ||dLoss/dW^l||_F^2
    double relativeUpdate = kNaN; // eta ||dLoss/dW^l||_F / ||W^l||_F
    double gradRowSpread = kNaN;  // max_r ||delta_r - delta_1|| / ||delta_1|| over the batch: 0
                                  // when every row of dW (= delta_r A^T / B) is the same
    std::int64_t gradNonfinite = 0;
    // residual blocks only (NaN for dense layers): q_F / q^{l-1}, the branch's output length over
    // the length of the block's input (before gamma)
    double branchRatio = kNaN;
    // rnn time steps only (NaN elsewhere, and at the steps without an input): mean over inputs
    // of ||dLoss/dx_t||^2 = ||U^T delta_t||^2, the gradient reaching the input of step t, i.e.
    // k = T - t steps back in time from the loss (a backward statistic)
    double inputGrad2 = kNaN;
};

/// Mean-field prediction for a run (NaN-filled when the theory does not apply).
struct TheoryCurves {
    bool applicable = true;
    std::string note;            // why not, when not applicable
    double q0 = kNaN, c0 = kNaN; // measured input length and correlation the prediction starts from
    std::vector<double> q, c, gradH2, gradRatio; // per layer 1..L
    std::vector<double> inputGrad2;              // rnn: per time step t (empty otherwise)
    double chi1 = kNaN, qStar = kNaN, cStar = kNaN, xiQ = kNaN, xiC = kNaN;
    std::string phase;
};

/// A head's statistics at init (heads.h): the forward statistics of each of its layers on the
/// run's batch (pre-activations h; the last layer's h is the head's output), no gradients (the
/// run's loss is on a^L).
struct HeadStats {
    std::string name;
    double outMean = kNaN; // mean of the output over units and inputs
    double outStd = kNaN;  // its spread: the square root of the centred variance
    std::vector<LayerStats> layers;
};

struct RunResult {
    NetworkSpec spec;
    std::vector<LayerStats> layers;
    std::vector<HeadStats> heads; // one per spec.heads, in order (empty without heads)
    TheoryCurves theory;
    double inputGrad2 = kNaN; // mean over inputs of ||dLoss_b/dx_b||^2
    /// Scenario 9: the input scale s at which layer 1's relative update reaches 1, from this
    /// run's value and its law in s (criticalInputScale in engine.h); NaN where no law holds.
    double criticalInputScale = kNaN;
    std::string criticalInputScaleNote; // the law used, or why there is none
    int firstNonfiniteLayer = 0;        // first layer with a non-finite value, 0 if none
    bool cancelled = false;
    double seconds = 0;
};

/// Receives results as they are computed, on the computing thread. Implementations must not
/// block for long; the GUI adapter copies the value and posts it to its own thread.
class RunSink {
public:
    virtual ~RunSink() = default;
    virtual void started(const NetworkSpec& /*spec*/, const TheoryCurves& /*theory*/) {}
    virtual void forwardLayer(const LayerStats& /*stats*/) {}
    virtual void backwardLayer(const LayerStats& /*stats*/) {}
    virtual void finished(const RunResult& /*result*/) {}
};

} // namespace initscope

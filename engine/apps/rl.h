// Optimism through the output bias (THEORY.md scenario 16 and "RL, scenario 16"): a Q-network
// Q(s, .) = the run's mlp trunk + one linear readout with one output per action, initialised
// three ways, then trained by Q-learning on a small contextual bandit made here.
//
// The network is the trainer's (train.h): task teacher with outputs = K actions gives the run's
// trunk (exactly run's weights) and a readout drawn by the spec's scheme with fan-in N_L and
// fan-out K on the readout's own stream. The three initialisations share those draws:
//   "zero"              readout bias 0,     readout weights as drawn (the scheme's variance v)
//   "optimistic"        readout bias Q_opt, readout weights as drawn
//   "optimistic-large"  readout bias Q_opt, readout weights x sqrt(large_gain) (variance
//                       large_gain * v: the spread of the initial Q-values hides Q_opt)
// For fixed trunk features a(s), Q_a(s) - b = w_a . a(s) with w_a ~ N(0, v I) independent per
// action, so over S states and K actions the pooled mean of Q has expectation b and standard
// deviation sqrt(v ||abar||^2 / K) (abar = the states' mean feature), and the pooled variance
// has expectation v (mean_s ||a(s)||^2 - ||abar||^2 / K): the bias sets the mean, the weights'
// scale the spread (exactly: the large init's Q - b is the small one's times sqrt(large_gain)).
//
// The environment: S states x_s ~ N(mean, scale^2)^N_0 (the spec's input distribution), K arms
// with Bernoulli rewards of mean mu(s, a) = sigmoid(2 theta_a . x~_s / sqrt(N_0)) in (0, 1)
// (x~ the standardised state, theta_a ~ N(0, I)). Episode t (one step: a bandit's episode ends
// after one action, so the TD target is the reward, gamma = 0) draws state s_t, takes the greedy
// action argmax_a Q(s_t, a) (ties: the lowest index), observes r_t and makes one SGD update of
// the whole network on 0.5 (Q(s_t, a_t) - r_t)^2 (the other actions' outputs get no gradient).
// States and reward draws depend only on t (common random numbers across the three inits).
// Measured: actions tried (distinct actions per state, averaged over the states), cumulative
// pseudo-regret sum_t (max_a mu(s_t, a) - mu(s_t, a_t)), and the Q-values over the states.
//
// Deterministic whatever the number of threads (the trainer's fixed chunks and order).
#pragma once

#include "core/activation.h"
#include "network/weights.h"
#include "spec/spec.h"
#include "train/train.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <vector>

namespace initscope {

enum class QInit { Zero, Optimistic, OptimisticLarge };
std::string qInitName(QInit i); // "zero", "optimistic", "optimistic-large"

/// What the RL experiment adds to a NetworkSpec (the trunk).
struct RlSpec {
    static constexpr int kMaxEpisodes = 100000;
    static constexpr int kMaxActions = 256;
    static constexpr int kMaxStates = 4096;

    double qOpt = 1.0;          // the optimistic readout bias (rewards are in [0, 1])
    int episodes = 5000;        // one step each
    int actions = 8;            // K
    int states = 32;            // S
    double largeGain = 100.0;   // readout weight variance multiplier of "optimistic-large"
    double learningRate = 0.01; // SGD step
    int recordEvery = 50;       // curves at episode 0, every k, last
    int histBins = 40;          // initial Q histogram bins (over a range common to the inits)
    bool operator==(const RlSpec&) const = default;
};

/// Every problem of the pair (fields named as in the CLI without dashes: q_opt, episodes, ...).
/// The trunk must be an mlp on Gaussian inputs.
std::vector<SpecError> validateRl(const NetworkSpec& spec, const RlSpec& rl);

/// The spec the rl command and view start from: a small tanh trunk, Xavier weights.
NetworkSpec rlDefaultSpec();

/// The contextual bandit (see above).
struct RlEnvironment {
    MatrixF states;                      // N_0 x S
    std::vector<std::vector<double>> mu; // mu[s][a]
    std::vector<double> best;            // max_a mu[s][a]
    static RlEnvironment make(const NetworkSpec& spec, const RlSpec& rl);
    int stateAt(int episode, std::uint64_t seed) const;        // s_t
    static double rewardDraw(int episode, std::uint64_t seed); // u_t in (0, 1]
};

struct RlInitResult {
    QInit init = QInit::Zero;
    double bias = 0;       // the readout bias set
    double weightGain = 1; // the readout weight variance multiplier
    // initial Q-values over the S x K (state, action) pairs
    std::vector<double> q0;     // s-major: q0[s * K + a]
    double qMean = 0, qStd = 0; // pooled over the pairs
    double qMeanSd = 0;         // theory: sd of the pooled mean around the bias
    double qStdTheory = 0;      // theory: sqrt of the pooled variance's expectation
    // curves at RlResult::steps
    std::vector<double> actionsTried; // mean over states of distinct actions tried
    std::vector<double> regret;       // cumulative pseudo-regret
    std::vector<double> qMeanCurve;   // mean Q over all pairs
    std::vector<double> qErrorCurve;  // rms over the pairs of Q - mu
    std::vector<double> rewardCurve;  // cumulative reward
    std::vector<double> qFinal;       // Q-values after the last episode (s-major)
};

struct RlResult {
    NetworkSpec spec;
    RlSpec rl;
    std::vector<int> steps;          // recorded episode counts (0 .. episodes)
    std::vector<RlInitResult> inits; // zero, optimistic, optimistic-large (fewer if cancelled)
    std::vector<double> histEdges;   // histBins + 1 edges common to the inits
    std::vector<std::vector<int>> histCounts; // per init
    double bestMeanReward = 0; // mean over states of max_a mu (per episode: an oracle)
    double meanMu = 0;         // mean over the pairs of mu (per episode: uniformly random actions)
    bool cancelled = false;
    double seconds = 0;
};

/// Progress: init i (0..2) has done `episode` of `episodes`. Called from the worker threads,
/// one call at a time.
class RlSink {
public:
    virtual ~RlSink() = default;
    virtual void progress(int /*init*/, int /*episode*/, int /*episodes*/) {}
};

/// The Q-values of the network over the columns of x (K x B): the trainer's layers, phi after
/// every trunk layer, the readout linear.
MatrixF qValues(const Activation& act, const TrainParams& p, const MatrixF& x);

/// Sets the readout of `p` (a fresh trainer's) to an init: bias b, weights times sqrt(gain).
void setQInit(TrainParams& p, double bias, double weightGain);

/// The variance v the spec's scheme gives the readout (fan-in N_L, fan-out K).
double qReadoutVariance(const NetworkSpec& spec, int actions);

/// The initial Q statistics of `p` over the environment's states (q0, qMean, qStd, and their
/// theory for readout bias `bias` and readout weight variance `readoutVariance`); no curves.
RlInitResult initialQ(const Activation& act, const TrainParams& p, const RlEnvironment& env,
                      double bias, double readoutVariance);

/// Runs the three inits in turn. Throws SpecInvalid (engine.h) when the pair is invalid.
RlResult runRl(const NetworkSpec& spec, const RlSpec& rl, RlSink* sink = nullptr,
               const std::atomic<bool>* cancel = nullptr);

/// The CLI's JSON (DESIGN.md, `initscope-cli rl`): {"spec", "rl", "steps", "inits": [{"name",
/// "bias", "weight_gain", "q_mean", "q_std", "q_mean_sd_theory", "q_std_theory", "q_initial",
/// "actions_tried", "regret", "q_mean_curve", "q_rms_error", "cumulative_reward"}],
/// "histogram": {"edges", "counts"}, "best_mean_reward", "seconds"}.
nlohmann::json rlResultToJson(const RlResult& r);

/// Estimated seconds of runRl.
double estimateRlSeconds(const NetworkSpec& spec, const RlSpec& rl);

} // namespace initscope

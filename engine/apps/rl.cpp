#include "apps/rl.h"

#include "core/cost.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "network/engine.h"
#include "spec/fields.h"
#include "stats/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

namespace initscope {

namespace {

/// Seeds of the experiment's own streams (environment, episode draws), apart from the trunk's
/// and the trainer's.
std::uint64_t rlSeed(std::uint64_t seed, std::uint64_t tag) {
    return mix64(seed ^ mix64(tag * 0xd1b54a32d192ed03ULL + 0x524c2d71ULL));
}
constexpr std::uint64_t kStatesTag = 1, kArmsTag = 2, kEpisodeStateTag = 3, kRewardTag = 4;

constexpr QInit kInits[] = {QInit::Zero, QInit::Optimistic, QInit::OptimisticLarge};

double qBias(QInit i, const RlSpec& rl) {
    return i == QInit::Zero ? 0.0 : rl.qOpt;
}
double qGain(QInit i, const RlSpec& rl) {
    return i == QInit::OptimisticLarge ? rl.largeGain : 1.0;
}

TrainSpec trainSpecOf(const RlSpec& rl) {
    TrainSpec t;
    t.task = TrainTask::Teacher;
    t.optimizer = Optimizer::Sgd;
    t.learningRate = rl.learningRate;
    t.outputs = rl.actions;
    t.steps = std::clamp(rl.episodes, 1, TrainSpec::kMaxSteps);
    return t;
}

void meanStd(const std::vector<double>& v, double& mean, double& sd) {
    double s = 0;
    for (double x : v)
        s += x;
    mean = v.empty() ? kNaN : s / static_cast<double>(v.size());
    double ss = 0;
    for (double x : v)
        ss += (x - mean) * (x - mean);
    sd = v.empty() ? kNaN : std::sqrt(ss / static_cast<double>(v.size()));
}

} // namespace

std::string qInitName(QInit i) {
    switch (i) {
    case QInit::Zero:
        return "zero";
    case QInit::Optimistic:
        return "optimistic";
    case QInit::OptimisticLarge:
        return "optimistic-large";
    }
    return "zero";
}

NetworkSpec rlDefaultSpec() {
    NetworkSpec s;
    s.depth = 2;
    s.width = 64;
    s.inputDim = 16;
    s.activation = ActivationKind::Tanh;
    s.init = InitScheme::XavierNormal;
    s.batch = 32;
    return s;
}

std::vector<SpecError> validateRl(const NetworkSpec& spec, const RlSpec& rl) {
    std::vector<SpecError> e;
    const auto range = [&](const char* field, bool ok, const std::string& allowed, double got) {
        if (!ok)
            e.push_back({field, std::string(field) + ": must be " + allowed + " (got " +
                                    nlohmann::json(got).dump() + ")"});
    };
    range("q_opt", std::isfinite(rl.qOpt) && std::abs(rl.qOpt) <= 1e3,
          "a number from -1000 to 1000", rl.qOpt);
    range("episodes", rl.episodes >= 1 && rl.episodes <= RlSpec::kMaxEpisodes,
          "an integer from 1 to " + std::to_string(RlSpec::kMaxEpisodes), rl.episodes);
    range("actions", rl.actions >= 2 && rl.actions <= RlSpec::kMaxActions,
          "an integer from 2 to " + std::to_string(RlSpec::kMaxActions), rl.actions);
    range("states", rl.states >= 1 && rl.states <= RlSpec::kMaxStates,
          "an integer from 1 to " + std::to_string(RlSpec::kMaxStates), rl.states);
    range("large_gain", std::isfinite(rl.largeGain) && rl.largeGain > 0 && rl.largeGain <= 1e6,
          "a number > 0 and <= 1e6", rl.largeGain);
    range("learning_rate",
          std::isfinite(rl.learningRate) && rl.learningRate > 0 && rl.learningRate <= 10,
          "a number > 0 and <= 10", rl.learningRate);
    range("record_every", rl.recordEvery >= 1 && rl.recordEvery <= RlSpec::kMaxEpisodes,
          "an integer from 1 to " + std::to_string(RlSpec::kMaxEpisodes), rl.recordEvery);
    range("hist_bins", rl.histBins >= 2 && rl.histBins <= 1000, "an integer from 2 to 1000",
          rl.histBins);
    if (!spec.heads.empty())
        e.push_back({"heads", "heads: the Q-network's head is its readout of one output per "
                              "action (actions), and the spec has " +
                                  std::to_string(spec.heads.size()) +
                                  " head(s) (remove the heads)"});
    if (spec.arch != Arch::Mlp)
        e.push_back(
            {"arch", "arch: the Q-network's trunk is an mlp (got " + archName(spec.arch) + ")"});
    else if (spec.data != "gaussian")
        e.push_back({"data", "data: the bandit's states are Gaussian (the spec's input "
                             "distribution); real data has no rewards here"});
    else if (e.empty())
        for (auto& x : validateTraining(spec, trainSpecOf(rl)))
            if (x.field != "outputs" && x.field != "steps")
                e.push_back(std::move(x));
    return e;
}

RlEnvironment RlEnvironment::make(const NetworkSpec& spec, const RlSpec& rl) {
    RlEnvironment env;
    const int d = spec.inputDim, S = rl.states, K = rl.actions;
    env.states.resize(d, S);
    Rng rs(rlSeed(spec.seed, kStatesTag), Stream::Inputs, 0);
    rs.fillNormal(env.states.data(), static_cast<std::size_t>(env.states.size()));
    MatrixF theta(d, K);
    Rng ra(rlSeed(spec.seed, kArmsTag), Stream::Inputs, 0);
    ra.fillNormal(theta.data(), static_cast<std::size_t>(theta.size()));
    env.mu.assign(static_cast<std::size_t>(S), std::vector<double>(static_cast<std::size_t>(K)));
    env.best.assign(static_cast<std::size_t>(S), 0.0);
    for (int s = 0; s < S; ++s) {
        for (int a = 0; a < K; ++a) {
            double z = 0;
            for (int i = 0; i < d; ++i)
                z += static_cast<double>(theta(i, a)) * env.states(i, s);
            z *= 2.0 / std::sqrt(static_cast<double>(d));
            env.mu[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)] =
                1.0 / (1.0 + std::exp(-z));
        }
        const auto& m = env.mu[static_cast<std::size_t>(s)];
        env.best[static_cast<std::size_t>(s)] = *std::max_element(m.begin(), m.end());
    }
    // the network sees the spec's input distribution: x = mean + scale * z
    env.states = (static_cast<float>(spec.inputScale) * env.states.array() +
                  static_cast<float>(spec.inputMean))
                     .matrix();
    return env;
}

int RlEnvironment::stateAt(int episode, std::uint64_t seed) const {
    Rng r(rlSeed(seed, kEpisodeStateTag), Stream::Inputs, static_cast<std::uint64_t>(episode));
    const auto S = static_cast<std::uint64_t>(states.cols());
    return static_cast<int>(r.next() % S);
}

double RlEnvironment::rewardDraw(int episode, std::uint64_t seed) {
    Rng r(rlSeed(seed, kRewardTag), Stream::Inputs, static_cast<std::uint64_t>(episode));
    return r.uniformOpen();
}

MatrixF qValues(const Activation& act, const TrainParams& p, const MatrixF& x) {
    MatrixF u = x;
    for (const DenseLayer& l : p.trunk) {
        MatrixF h(l.w.rows(), u.cols());
        h.noalias() = l.w * u;
        h.colwise() += l.b.col(0);
        MatrixF a(h.rows(), h.cols()), d(h.rows(), h.cols());
        act.apply(h.data(), a.data(), d.data(), static_cast<std::size_t>(h.size()));
        u = std::move(a);
    }
    const DenseLayer& r = p.outputs.at(0).back();
    MatrixF q(r.w.rows(), u.cols());
    q.noalias() = r.w * u;
    q.colwise() += r.b.col(0);
    return q;
}

double qReadoutVariance(const NetworkSpec& spec, int actions) {
    const bool flat = spec.init == InitScheme::Zeros || spec.init == InitScheme::Constant;
    return flat ? 0.0
                : spec.gain * baseVariance(spec.init, spec.fanMode, spec.widthOf(spec.depth),
                                           actions, spec.initValue);
}

void setQInit(TrainParams& p, double bias, double weightGain) {
    DenseLayer& r = p.outputs.at(0).back();
    r.b.setConstant(static_cast<float>(bias));
    r.w *= static_cast<float>(std::sqrt(weightGain));
}

RlInitResult initialQ(const Activation& act, const TrainParams& p, const RlEnvironment& env,
                      double bias, double readoutVariance) {
    RlInitResult r;
    r.bias = bias;
    const MatrixF q = qValues(act, p, env.states);
    const auto K = q.rows(), S = q.cols();
    r.q0.reserve(static_cast<std::size_t>(K * S));
    for (Eigen::Index s = 0; s < S; ++s)
        for (Eigen::Index a = 0; a < K; ++a)
            r.q0.push_back(q(a, s));
    meanStd(r.q0, r.qMean, r.qStd);
    // theory given the trunk features a(s) (see rl.h), v the readout weights' variance
    const MatrixF feats = [&] {
        MatrixF u = env.states;
        for (const DenseLayer& l : p.trunk) {
            MatrixF h(l.w.rows(), u.cols());
            h.noalias() = l.w * u;
            h.colwise() += l.b.col(0);
            MatrixF a(h.rows(), h.cols()), d(h.rows(), h.cols());
            act.apply(h.data(), a.data(), d.data(), static_cast<std::size_t>(h.size()));
            u = std::move(a);
        }
        return u;
    }();
    const Eigen::MatrixXd f = feats.cast<double>();
    const Eigen::VectorXd fbar = f.rowwise().mean();
    const double meanSq = f.colwise().squaredNorm().mean();
    const double barSq = fbar.squaredNorm();
    const double v = readoutVariance;
    r.qMeanSd = std::sqrt(v * barSq / static_cast<double>(K));
    r.qStdTheory = std::sqrt(std::max(0.0, v * (meanSq - barSq / static_cast<double>(K))));
    return r;
}

RlResult runRl(const NetworkSpec& spec, const RlSpec& rl, RlSink* sink,
               const std::atomic<bool>* cancel) {
    std::vector<SpecError> errors = validate(spec);
    for (auto& x : validateRl(spec, rl))
        errors.push_back(std::move(x));
    if (!errors.empty())
        throw SpecInvalid(std::move(errors));
    const auto t0 = std::chrono::steady_clock::now();
    RlResult res;
    res.spec = spec;
    res.rl = rl;
    const RlEnvironment env = RlEnvironment::make(spec, rl);
    const Activation act(spec.activation, spec.activationSlope);
    const int K = rl.actions, S = rl.states, N = rl.episodes;
    for (int t = 0; t <= N; t += rl.recordEvery)
        res.steps.push_back(t);
    if (res.steps.back() != N)
        res.steps.push_back(N);
    double bestSum = 0;
    for (double b : env.best)
        bestSum += b;
    res.bestMeanReward = bestSum / S;
    double muSum = 0;
    for (const auto& row : env.mu)
        for (double m : row)
            muSum += m;
    res.meanMu = muSum / (S * K);
    const TrainSpec ts = trainSpecOf(rl);

    // the three inits are independent: one task each (a trainer of its own on one thread: an
    // episode's update is one column, too small to split), so the thread count never changes
    // the arithmetic
    std::vector<RlInitResult> results(3);
    std::vector<char> stopped(3, 0);
    std::mutex sinkMutex;
    NetworkSpec serial = spec;
    serial.threads = 1;
    detail::inArena(spec.threads, [&] {
        detail::forEachIndex(3, [&](int ii) {
            const QInit init = kInits[ii];
            Trainer trainer(serial, ts);
            setQInit(trainer.params(), qBias(init, rl), qGain(init, rl));
            RlInitResult r = initialQ(act, trainer.params(), env, qBias(init, rl),
                                      qReadoutVariance(spec, rl.actions) * qGain(init, rl));
            r.init = init;
            r.weightGain = qGain(init, rl);
            std::vector<std::vector<char>> tried(static_cast<std::size_t>(S),
                                                 std::vector<char>(static_cast<std::size_t>(K), 0));
            int distinct = 0;
            double regret = 0, reward = 0;
            std::size_t next = 0;
            const auto record = [&] {
                const MatrixF q = qValues(act, trainer.params(), env.states);
                double sum = 0, err = 0;
                for (int s = 0; s < S; ++s)
                    for (int a = 0; a < K; ++a) {
                        sum += q(a, s);
                        const double e =
                            q(a, s) -
                            env.mu[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)];
                        err += e * e;
                    }
                r.actionsTried.push_back(static_cast<double>(distinct) / S);
                r.regret.push_back(regret);
                r.rewardCurve.push_back(reward);
                r.qMeanCurve.push_back(sum / (S * K));
                r.qErrorCurve.push_back(std::sqrt(err / (S * K)));
                ++next;
            };
            MatrixF x(spec.inputDim, 1);
            Targets y;
            TrainParams grads;
            for (int t = 0; t <= N; ++t) {
                if (next < res.steps.size() && res.steps[next] == t)
                    record();
                if (t == N)
                    break;
                if (detail::isCancelled(cancel)) {
                    stopped[static_cast<std::size_t>(ii)] = 1;
                    break;
                }
                const int s = env.stateAt(t, spec.seed);
                x = env.states.col(s);
                const MatrixF q = qValues(act, trainer.params(), x);
                Eigen::Index a = 0;
                for (Eigen::Index k = 1; k < q.rows(); ++k)
                    if (q(k, 0) > q(a, 0))
                        a = k;
                const double m = env.mu[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)];
                const double rw = RlEnvironment::rewardDraw(t, spec.seed) <= m ? 1.0 : 0.0;
                regret += env.best[static_cast<std::size_t>(s)] - m;
                reward += rw;
                char& seen = tried[static_cast<std::size_t>(s)][static_cast<std::size_t>(a)];
                if (!seen) {
                    seen = 1;
                    ++distinct;
                }
                // 0.5 (Q(s, a) - r)^2 on the taken action only: the other outputs are their
                // own targets, so their residual (and gradient) is exactly zero
                y.values = q;
                y.values(a, 0) = static_cast<float>(rw);
                trainer.lossAndGradients(x, y, &grads);
                trainer.apply(grads);
                if (sink && ((t + 1) % 50 == 0 || t + 1 == N)) {
                    const std::lock_guard<std::mutex> lock(sinkMutex);
                    sink->progress(ii, t + 1, N);
                }
            }
            const MatrixF q = qValues(act, trainer.params(), env.states);
            for (int s = 0; s < S; ++s)
                for (int a = 0; a < K; ++a)
                    r.qFinal.push_back(q(a, s));
            results[static_cast<std::size_t>(ii)] = std::move(r);
        });
    });
    res.cancelled = detail::isCancelled(cancel) ||
                    std::any_of(stopped.begin(), stopped.end(), [](char c) { return c != 0; });
    if (!res.cancelled)
        res.inits = std::move(results);

    // one histogram range for the inits: the pooled initial values' range, widened a little
    if (!res.inits.empty()) {
        double lo = res.inits[0].q0[0], hi = lo;
        for (const auto& r : res.inits)
            for (double v : r.q0) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        if (!(hi > lo)) {
            lo -= 0.5;
            hi += 0.5;
        }
        const double pad = 0.02 * (hi - lo);
        lo -= pad;
        hi += pad;
        const int B = rl.histBins;
        for (int i = 0; i <= B; ++i)
            res.histEdges.push_back(lo + (hi - lo) * i / B);
        for (const auto& r : res.inits) {
            std::vector<int> c(static_cast<std::size_t>(B), 0);
            for (double v : r.q0) {
                const int k = std::clamp(static_cast<int>((v - lo) / (hi - lo) * B), 0, B - 1);
                ++c[static_cast<std::size_t>(k)];
            }
            res.histCounts.push_back(std::move(c));
        }
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

nlohmann::json rlResultToJson(const RlResult& r) {
    using nlohmann::json;
    json out;
    out["spec"] = specToJson(r.spec);
    out["rl"] = {{"q_opt", r.rl.qOpt},
                 {"episodes", r.rl.episodes},
                 {"actions", r.rl.actions},
                 {"states", r.rl.states},
                 {"large_gain", r.rl.largeGain},
                 {"learning_rate", r.rl.learningRate},
                 {"record_every", r.rl.recordEvery},
                 {"gamma", 0.0},
                 {"environment", "contextual-bandit"}};
    out["steps"] = r.steps;
    const auto numbers = [](const std::vector<double>& v) {
        json a = json::array();
        for (double x : v)
            a.push_back(jsonNumber(x));
        return a;
    };
    json inits = json::array();
    for (const RlInitResult& i : r.inits) {
        json o;
        o["name"] = qInitName(i.init);
        o["bias"] = jsonNumber(i.bias);
        o["weight_gain"] = jsonNumber(i.weightGain);
        o["q_mean"] = jsonNumber(i.qMean);
        o["q_std"] = jsonNumber(i.qStd);
        o["q_mean_sd_theory"] = jsonNumber(i.qMeanSd);
        o["q_std_theory"] = jsonNumber(i.qStdTheory);
        o["q_initial"] = numbers(i.q0);
        o["actions_tried"] = numbers(i.actionsTried);
        o["regret"] = numbers(i.regret);
        o["cumulative_reward"] = numbers(i.rewardCurve);
        o["q_mean_curve"] = numbers(i.qMeanCurve);
        o["q_rms_error"] = numbers(i.qErrorCurve);
        o["q_final"] = numbers(i.qFinal);
        inits.push_back(std::move(o));
    }
    out["inits"] = std::move(inits);
    out["histogram"] = {{"edges", numbers(r.histEdges)}, {"counts", r.histCounts}};
    out["best_mean_reward"] = jsonNumber(r.bestMeanReward);
    out["mean_mu"] = jsonNumber(r.meanMu);
    out["cancelled"] = r.cancelled;
    out["seconds"] = r.seconds;
    return out;
}

double estimateRlSeconds(const NetworkSpec& spec, const RlSpec& rl) {
    const CostRates& rates = costRates();
    double weights = 0;
    for (int l = 1; l <= spec.depth; ++l)
        weights += static_cast<double>(spec.widthOf(l)) * spec.widthOf(l - 1);
    weights += static_cast<double>(spec.widthOf(spec.depth)) * rl.actions;
    // per episode: a greedy forward, a forward-backward and an update of one column, plus the
    // calls' overhead (1e-4 s measured on a loaded 2-core machine); per record a forward over
    // the states; the three inits in parallel
    const double perEpisode = 10.0 * weights / rates.floatGemmFlops + 1e-4;
    const double records = static_cast<double>(rl.episodes) / rl.recordEvery + 2;
    const int cores = detail::workerCount(spec.threads);
    return 3.0 / std::min(cores, 3) *
           (rl.episodes * perEpisode + records * 2.0 * weights * rl.states / rates.floatGemmFlops);
}

} // namespace initscope

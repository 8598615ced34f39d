// Training an mlp (THEORY.md, "Training"): mini-batch gradient descent (SGD, heavy-ball momentum or
// Adam) on a real task, Fashion-MNIST classification with softmax cross-entropy or regression
// onto a random teacher network, with the loss and accuracy of every step and, at recorded steps,
// every layer statistic of the statistics schema measured on one fixed probe batch.
//
// The network trained is the run's: the trunk's weights start as exactly the weights `run` draws
// for the spec (so step 0's statistics are run's), and the outputs are read by output chains on
// the trunk's last activation a^L (dense layers, phi between them, the last one linear), each on
// streams of its own so that they never move the trunk's draws. Today there is one chain, the
// readout: one dense layer of TrainSpec::outputs units (10: the classes, or the teacher's
// outputs), initialised by the spec's scheme, gain and bias init with its own fan-in N_L and
// fan-out. Heads (several chains, each with its scheme and loss weight) slot into the same list.
//
// Determinism: the batch is cut into fixed chunks of columns and every reduction runs in a fixed
// order, so results are bit-identical whatever the number of threads. Products whose left factor
// has equal rows (or right factor equal columns) are computed once and broadcast, so a network
// whose units are identical (constant init: THEORY.md scenario 1) keeps them identical to the bit.
#pragma once

#include "spec.h"
#include "stats.h"
#include "weights.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace initscope {

enum class TrainTask { FashionMnist, Teacher };
enum class Optimizer { Sgd, Momentum, Adam };
std::string trainTaskName(TrainTask t); // "fashion-mnist", "teacher"
bool parseTrainTask(const std::string& name, TrainTask& out);
std::string optimizerName(Optimizer o); // "sgd", "momentum", "adam"
bool parseOptimizer(const std::string& name, Optimizer& out);

/// What training adds to a NetworkSpec (kept apart from it: a spec describes the network at
/// initialisation). The mini-batch size is the spec's batch, and so is the probe batch: the very
/// inputs `run` propagates.
struct TrainSpec {
    static constexpr int kMaxSteps = 100000;
    static constexpr int kMaxOutputs = 4096;
    static constexpr int kMaxTestExamples = 10000;

    int steps = 100;                          // updates N (1..kMaxSteps)
    TrainTask task = TrainTask::FashionMnist; //
    Optimizer optimizer = Optimizer::Sgd;     //
    double learningRate = kNaN;               // eta; NaN: the optimizer's default
    double momentum = 0.9;                    // mu of momentum (heavy ball, v = mu v + g)
    double beta1 = 0.9, beta2 = 0.999;        // Adam
    double epsilon = 1e-8;                    // Adam
    bool freezeTrunk = false;                 // only the output chains learn
    int recordEvery = 0;                      // layer statistics at 0, every k, last (0: 0, last)
    int outputs = 10;                         // teacher outputs (fashion-mnist: its 10 classes)
    int testExamples = kMaxTestExamples;      // the first n of the held-out t10k images

    /// eta actually used: learningRate, or 0.05 (sgd), 0.01 (momentum), 0.001 (adam).
    double eta() const;
};

/// Every problem of the pair (fields named as in the CLI without dashes: steps, learning_rate,
/// momentum, ...): ranges, and settings another setting makes meaningless (a teacher on real
/// data, fashion-mnist with another data source, a resnet).
std::vector<SpecError> validateTraining(const NetworkSpec& spec, const TrainSpec& train);

/// One dense layer of a chain: h = W u + b.
struct DenseLayer {
    MatrixF w; // fanOut x fanIn
    MatrixF b; // fanOut x 1
};

/// Everything that learns: the trunk's layers 1..L (index 0..L-1 here) and the output chains.
struct TrainParams {
    std::vector<DenseLayer> trunk;
    std::vector<std::vector<DenseLayer>> outputs; // chain c's layers, input a^L
};

/// Targets of one batch: class labels (classification) or teacher outputs (regression).
struct Targets {
    std::vector<int> labels; // one per column
    MatrixF values;          // outputs x B
};

/// One entry of the training curve: the network after `step` updates, measured on mini-batch
/// `step` (before its update is applied).
struct TrainStep {
    int step = 0;
    double loss = kNaN;             // mean over the mini-batch
    double accuracy = kNaN;         // mini-batch accuracy (classification; NaN for the teacher)
    bool recorded = false;          // layers and testAccuracy are measured at this step
    double testAccuracy = kNaN;     // on the held-out images (classification)
    double testLoss = kNaN;         // mean loss on the held-out images (classification)
    std::vector<LayerStats> layers; // the run's statistics of the trained trunk, probe batch
};

struct TrainResult {
    NetworkSpec spec;
    TrainSpec train;
    std::vector<TrainStep> steps; // 0..N (fewer when stopped)
    double testAccuracy = kNaN;   // after the last update (classification)
    int firstNonfiniteStep = -1;  // first step whose loss was not finite (training stops there)
    bool cancelled = false;
    double seconds = 0;
};

/// Receives each step as it is done, on the training thread.
class TrainSink {
public:
    virtual ~TrainSink() = default;
    virtual void step(const TrainStep& /*s*/) {}
};

/// The trainer of one (spec, train) pair: its parameters, its data and its optimizer state.
/// Not thread-safe; its parallelism is inside (oneTBB over fixed chunks of the batch).
class Trainer {
public:
    /// Throws SpecInvalid (engine.h) when validate(spec) or validateTraining report problems,
    /// DataError when the data cannot be read.
    Trainer(const NetworkSpec& spec, const TrainSpec& train);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    const NetworkSpec& spec() const;
    const TrainSpec& train() const;
    const TrainParams& params() const;
    TrainParams& params(); // tests: perturb a weight for finite differences

    /// Mini-batch `step`'s inputs (inputDim x batch) and targets: for Fashion-MNIST, batch k of
    /// epoch e (a seeded permutation of the 60000 training images per epoch, the last partial
    /// batch dropped); for the teacher, fresh Gaussian inputs drawn from the step's own stream.
    void batch(int step, MatrixF& x, Targets& y) const;

    struct Evaluation {
        double loss = kNaN;     // mean over the batch
        double accuracy = kNaN; // classification
    };
    /// Loss (and accuracy) of the current parameters on (x, y), and, when `grads` is not null,
    /// the gradient of the mean loss with respect to every parameter (same shapes as params()).
    Evaluation lossAndGradients(const MatrixF& x, const Targets& y, TrainParams* grads);

    /// One optimizer update with gradients `g` (the trunk left alone when freezeTrunk).
    void apply(const TrainParams& g);

    /// Loss and accuracy on the first testExamples held-out images (classification only).
    Evaluation test();

    /// The run's statistics of the current trunk on the probe batch (run's inputs and loss):
    /// Engine::run itself while the trunk has its initial weights (before the first update, or
    /// frozen), Engine::runWithWeights after.
    RunResult probe(const std::atomic<bool>* cancel);

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

/// Trains `train.steps` updates, streaming each step to `sink` (may be null); `cancel` (may be
/// null) is looked at between steps and inside the probe. Throws as Trainer's constructor does.
TrainResult trainNetwork(const NetworkSpec& spec, const TrainSpec& train, TrainSink* sink = nullptr,
                         const std::atomic<bool>* cancel = nullptr);

/// The CLI's JSON of a training run (DESIGN.md, `initscope-cli train`): {"spec", "train",
/// "arch", "stage", "steps": [{"step", "loss", "accuracy" (classification), and at recorded steps
/// "test_accuracy", "test_loss" (classification) and "layers"}], "test_accuracy",
/// "first_nonfinite_step", "message", "seconds"}.
nlohmann::json trainResultToJson(const TrainResult& r);

/// Estimated seconds of trainNetwork (cost.h's model: the GEMM flops of every step, the test
/// evaluations and the probe runs).
double estimateTrainSeconds(const NetworkSpec& spec, const TrainSpec& train);

} // namespace initscope

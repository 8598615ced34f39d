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

#include "core/stats.h"
#include "network/weights.h"
#include "spec/spec.h"

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
    int outputs = 10;                         // teacher outputs (fashion-mnist: its classes)
    int testExamples = kMaxTestExamples;      // the first n of the held-out t10k images
    // Fashion-MNIST classes trained on (empty: all 10): mini-batches and test images are drawn
    // from these classes only, labels numbered 0..K-1 in the list's order, and every output
    // chain (the readout, or each head) has K outputs.
    std::vector<int> classes;
    // Transfer (THEORY.md scenario 12): first `pretrainSteps` updates of the trunk with a
    // readout of its own (streams of their own) on `pretrainClasses`, with the same optimizer
    // settings; then that readout is dropped and training goes on from the pretrained trunk with
    // the spec's heads (or a fresh readout) on `classes` (freeze_trunk: the heads alone learn).
    int pretrainSteps = 0;
    std::vector<int> pretrainClasses;

    /// eta actually used: learningRate, or 0.05 (sgd), 0.01 (momentum), 0.001 (adam).
    double eta() const;
    /// K of the task: classes.size() (or 10) for fashion-mnist, outputs for the teacher.
    int classCount() const;
    /// Equal settings (a NaN learning rate, the default, equals a NaN).
    bool operator==(const TrainSpec& o) const;
};

/// The "train" block of a preset: {"steps", "task", "optimizer", "learning_rate", "momentum",
/// "beta1", "beta2", "epsilon", "freeze_trunk", "record_every", "outputs", "test_examples",
/// "classes": [..], "pretrain_steps", "pretrain_classes": [..]}, every key optional over the
/// defaults (learning_rate left out: the optimizer's default; outputs left out with classes:
/// their count). Strict: unknown keys and wrong types are errors naming "train.KEY"; the ranges
/// are validateTraining's, reported as "train.KEY" too.
bool trainSpecFromJson(const nlohmann::json& block, TrainSpec& out, std::vector<SpecError>& errors);
/// The block of a TrainSpec: the keys that differ from the defaults, and always "steps".
nlohmann::json trainSpecToJson(const TrainSpec& t);

/// "0-4", "5-9", "0,2,7": a list of distinct Fashion-MNIST classes 0..9 (ranges and commas);
/// false with a message otherwise.
bool parseClassList(const std::string& text, std::vector<int>& out, std::string& error);
/// The shortest text of a class list ("0-4", "0,2,7").
std::string classListText(const std::vector<int>& classes);

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
    std::vector<int> labels;         // one per column (0..K-1: the index in TrainSpec::classes)
    MatrixF values;                  // outputs x B (the first chain's: the readout or head 0)
    std::vector<MatrixF> moreValues; // the teacher targets of heads 1.. (each head its own)
};

/// A head's part of one step (TrainStep::heads, one per spec head).
struct HeadStep {
    std::string name;
    double loss = kNaN;     // its own loss on the mini-batch (unweighted)
    double accuracy = kNaN; // classification
    // at recorded steps:
    double testAccuracy = kNaN, testLoss = kNaN; // held-out images (classification)
    double outMean = kNaN, outStd = kNaN;        // its output on the probe batch
    double gradW2 = kNaN;     // ||d loss_h / d W||_F^2 over the head's weights (its own loss)
    double trunkGrad2 = kNaN; // ||weight_h d loss_h / d theta_trunk||^2: its push on the trunk
    double trunkShare = kNaN; // trunkGrad2 over the sum of every head's
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
    std::vector<HeadStep> heads;    // with heads: each head's loss (loss = sum weight_h loss_h)
    bool pretraining = false;       // a step of the transfer's pre-training phase
};

struct TrainResult {
    NetworkSpec spec;
    TrainSpec train;
    std::vector<TrainStep> steps;         // 0..N (fewer when stopped)
    std::vector<TrainStep> pretrainSteps; // transfer: the pre-training phase's 0..P
    double pretrainTestAccuracy = kNaN;   // after pre-training, on its classes
    double testAccuracy = kNaN;           // after the last update (classification)
    int firstNonfiniteStep = -1; // first step whose loss was not finite (training stops there)
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

    /// Replaces the trunk's weights (transfer: a pretrained trunk); shapes must match. From then
    /// on the probe measures the given trunk (Engine::runWithWeights).
    void setTrunk(const std::vector<DenseLayer>& trunk);

    /// Per head (spec heads, in order) on (x, y): its own loss's gradient norms (HeadStep's
    /// gradW2, trunkGrad2 and trunkShare) and, on the probe batch, its output's mean and spread.
    /// Empty without heads. The trunk's gradient is measured even when the trunk is frozen.
    std::vector<HeadStep> headDiagnostics(const MatrixF& x, const Targets& y);
    /// Each output chain's own (unweighted) loss and accuracy in the last lossAndGradients.
    const std::vector<Evaluation>& chainEvaluations() const;
    /// test(), per output chain.
    std::vector<Evaluation> testChains();

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
/// "first_nonfinite_step", "message", "seconds"}; with heads each step adds "heads": [{"name",
/// "loss", "accuracy", at recorded steps "test_accuracy", "test_loss", "out_mean", "out_std",
/// "grad_w2", "trunk_grad2", "trunk_share"}], and a transfer adds "pretrain": {"classes",
/// "steps", "test_accuracy"}.
nlohmann::json trainResultToJson(const TrainResult& r);

/// Estimated seconds of trainNetwork (cost.h's model: the GEMM flops of every step, the test
/// evaluations and the probe runs).
double estimateTrainSeconds(const NetworkSpec& spec, const TrainSpec& train);

} // namespace initscope

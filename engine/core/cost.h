// How long a job will take, estimated before it starts from a cost model, so that the CLI can
// refuse a job of hours (above --max-seconds) and the GUI can say what a sweep or a phase grid
// is in for. The model counts the work that dominates each job (the GEMM flops of the network,
// the normal draws, the elementwise statistics, the phase cells) and divides by per-core rates
// measured on a current x86 core and rounded down, so estimates err on the long side.
#pragma once

#include "core/activation.h"
#include "spec/spec.h"

#include <string>

namespace initscope {

struct SweepAxis;
struct NtkOptions;

/// Per-core rates of the cost model (see cost.cpp for where they come from).
struct CostRates {
    double floatGemmFlops;  // flop/s of a float GEMM on one core (Eigen or OpenBLAS, AVX2)
    double doubleGemmFlops; // the same in double (Jacobian products, NTK Grams)
    double normalDraws;     // Box-Muller normals per second
    double elementwise;     // (unit, input) entries per second through phi, phi' and statistics
    double phaseCell;       // seconds per phase-diagram cell (fixed point, chi1, xi_c)
    double pairIntegral;    // seconds per 2-D Gaussian expectation (analytic NTK, per pair)
};
const CostRates& costRates();

/// Estimated seconds of Engine::run(spec) on workerCount(spec.threads) cores (no cached draws).
double estimateRunSeconds(const NetworkSpec& spec);
/// Every point of runSweep(base, axis), one after the other.
double estimateSweepSeconds(const NetworkSpec& base, const SweepAxis& axis);
/// runEnsemble(spec, seeds): the runs share the cores, so their work adds up.
double estimateEnsembleSeconds(const NetworkSpec& spec, int seeds);
/// computeJacobian(spec, inputs).
double estimateJacobianSeconds(const NetworkSpec& spec, int inputs);
/// computeNtk(spec, options).
double estimateNtkSeconds(const NetworkSpec& spec, const NtkOptions& options);
/// computePhaseDiagram over `cells` cells on workerCount(threads) cores.
double estimatePhaseSeconds(long cells, int threads);

/// "about 40 s", "about 12 min", "about 9.1 h": the estimate as people read it.
std::string formatDuration(double seconds);

/// The message of a job refused for its time: the estimate, and the option that raises the limit.
std::string tooLongMessage(const std::string& what, double estimateSeconds, double maxSeconds);

} // namespace initscope

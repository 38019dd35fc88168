#pragma once
// The analyses' options (an AnalysisRequest, which AnalysisSession.h's session runs), each described once,
// for both commands that take them: `samscape-cli analyze` and `train --analyze-every` (and so the
// app's launch form). Plain C++ (OptionTable.h): no LibTorch.

#include <cstdint>
#include <string>
#include <vector>

#include "core/options/OptionTable.h"

namespace samscape {

// What to compute, with the defaults of `samscape-cli analyze`. Each field's flag (as `analyze` spells
// it) is named beside it; analysisOptions() describes them.
struct AnalysisRequest {
  std::string split = "test";   // --split: train or test
  std::int64_t subset = 1000;   // --subset: the first N examples in file order (0: all)
  bool subsetExplicit = false;  // a subset larger than the split is an error only when the user asked for it
  std::string device;           // --device; empty: the run's device
  std::int64_t batchSize = 256; // --batch-size: examples per pass (memory; results do not depend on it)
  std::uint64_t seed = 0;       // --seed: probes and directions

  int hessianTop = 0;           // --hessian-top K (0: off)
  int hessianBottom = 0;        // --hessian-bottom K: the K smallest (most negative) eigenvalues (0: off)
  double tolerance = 1e-4;      // --tolerance
  bool eigenvectors = false;    // --eigenvectors (computed, kept in memory only)
  // --hessian-precision: the Hessian-vector products' precision. auto: float32 for every stage whose tolerance
  // float32's products can reach (>= kFloat32Tolerance), float64 for the others; float32; float64.
  // Lanczos' vectors and reorthogonalization are float64 always, and every reported eigenpair's
  // residual is measured with float64 products (analysis/EigenpairCheck.h).
  std::string precision = "auto";
  bool singlePrecision = false; // --single-precision: --hessian-precision float32 (kept: earlier runs' settings name it)
  bool trace = false;           // --trace
  bool perturbationAlignment = false;  // --perturbation-alignment: |cos| of SAM's perturbation and the top eigenvector
  bool perLayer = false;        // --per-layer: each module's diagonal Hessian block, top eigenvalue and trace
  int traceProbes = 100;        // --trace-probes
  bool esd = false;             // --esd
  int esdProbes = 10;           // --esd-probes
  int esdSteps = 80;            // --esd-steps

  bool mSharpness = false;      // --m-sharpness
  std::int64_t m = 128;         // --m
  double rho = 0.05;            // --rho
  int ascentSteps = 1;          // --ascent-steps

  // --adaptive-sharpness: max over ||d / |w| ||_p <= rho of L(w + d) - L(w), p = 2 and infinity
  // (analysis/AdaptiveSharpness.h). Defaults from Andriushchenko et al. 2023's evaluation
  // (sh/eval_sharpness_final.sh of their code): 20 steps on batches of 128 examples, and radii from the
  // middle of their grids for CNNs on CIFAR-10 (l2 0.25 to 2, l-inf 0.001 to 0.008).
  bool adaptiveSharpness = false;
  double adaptiveRhoL2 = 1.0;       // --adaptive-rho-l2 (0: not computed)
  double adaptiveRhoLinf = 0.002;   // --adaptive-rho-linf (0: not computed)
  int adaptiveSteps = 20;           // --adaptive-steps
  std::int64_t adaptiveM = 128;     // --adaptive-m: examples per batch
  bool adaptiveRandomInit = false;  // --adaptive-random-init: start at a random point of the ball (--seed)

  bool slice = false;           // --slice
  // --slice-directions: random (filter-normalized, drawn from --seed), pca (the top two principal
  // directions of the run's checkpoints: the path shows on the surface; needs a run's checkpoints) or
  // hessian (the top two Hessian eigenvectors, unit norm).
  std::string sliceDirections = "random";
  // --slice-plane A,B,C: the plane through three models (runs, checkpoints or weights files): centred
  // on their centroid G, along d1 = B - A and d2 = C - A, so A, B and C sit at (-1/3, -1/3), (2/3, -1/3)
  // and (-1/3, 2/3) of the default range. Empty: the plane through the analysed weights.
  std::string slicePlane;
  int grid = 51;                // --grid
  double rangeMin = -1.0;       // --range a:b
  double rangeMax = 1.0;
  // --directions FILE: read when it exists, else drawn (seed) and saved there. Empty: drawn per job,
  // unless a session keeps them (see AnalysisSession::keepDirections).
  std::string directionsFile;

  std::string interpolate;      // --interpolate: another model (run, checkpoint or weights file)
  int interpolatePoints = 41;   // --interpolate-points
  double interpolateMin = -0.5; // --interpolate-range a:b
  double interpolateMax = 1.5;

  // --bezier: a quadratic Bezier curve between the model and --interpolate's, its control point trained
  // (Garipov et al. 2018), evaluated at --interpolate-points points of [0, 1]: bezier.csv.
  bool bezier = false;
  int bezierSteps = 200;        // --bezier-steps: SGD steps (batches of 128 training examples)

  bool trajectory = false;      // --trajectory: the run's checkpoints so far, projected on a plane
};

// Float32 products carry a relative error of about 1e-7 to 1e-6 (ModelHessianPrecisionTest measures
// it), so Lanczos on them cannot reliably reach residuals below kFloat32LanczosFloor. It runs ten times
// tighter than the tolerance checked in float64, so that the rounding its own residual estimate does
// not see still leaves the float64 residuals within the tolerance; hence --hessian-precision auto
// takes float32 for tolerances down to kFloat32Tolerance, float64 below (the bottom eigenvalues at the
// default 1e-4 run at 1e-6: float64).
constexpr double kFloat32LanczosFloor = 1e-6;
constexpr double kFloat32Tolerance = 1e-5;

// The precision of the products of a Lanczos stage with `tolerance`: "float32" or "float64".
std::string productPrecision(const AnalysisRequest& request, double tolerance);
// The tolerance Lanczos runs at on float32 products for a stage checked at `tolerance`.
double float32LanczosTolerance(double tolerance);

// Which command's names. `analyze` has --device, --batch-size, --seed, --m and --rho for its analyses.
// `train` has those for training: its m-sharpness options are --sharpness-m and --sharpness-rho, and
// the device, evaluation batch size and seed come from the run.
enum class AnalysisCommand { Analyze, Train };

const OptionTable<AnalysisRequest>& analysisOptions(AnalysisCommand command);

// Throws ConfigError naming the first invalid option as `command` spells it.
void validateAnalysisRequest(const AnalysisRequest& request, AnalysisCommand command = AnalysisCommand::Analyze);

// The models of a --slice-plane list, split at commas and trimmed; empty when an entry is empty.
std::vector<std::string> slicePlaneModels(const std::string& list);

// Whether it asks for a stage built on Hessian-vector products (a registered stage that usesHessian()).
bool requestsHessianStage(const AnalysisRequest& request);

// The memory of one batch in flight (--batch-size, or a run's --eval-batch-size): the request's most
// demanding pass per example (a Hessian-vector product, a gradient or a forward pass), times the
// examples a batch holds.
OptionCost analysisBatchCost(const AnalysisRequest& request, const JobShape& shape);

// Whether the request asks for any analysis beyond the loss (any other registered stage).
bool requestsAnyAnalysis(const AnalysisRequest& request);

}  // namespace samscape

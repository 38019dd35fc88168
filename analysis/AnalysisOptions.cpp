#include "analysis/AnalysisOptions.h"

#include <algorithm>
#include <cstdio>

#include "analysis/stages/AnalysisStage.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/LossSurface.h"
#include "analysis/SpectralDensity.h"
#include "core/Runtime.h"

namespace samscape {
namespace {

OptionInfo info(const char* key, const char* label, std::string help) {
  OptionInfo option;
  option.key = key;
  option.label = label;
  option.group = OptionGroup::Analysis;
  option.help = std::move(help);
  return option;
}

std::string unlessAtLeast(std::int64_t value, std::int64_t least, const char* problem) {
  return value < least ? problem : "";
}

// ----- what the sizes cost (OptionCost.h), from the job's shape -----------------------------------------
// Work is counted in passes over the analysed examples: a forward pass, a gradient or a Hessian-vector
// product per example, at the speeds the session measured on a few of them.

double examples(const JobShape& shape) { return static_cast<double>(shape.evaluationExamples); }
double forwardPasses(const JobShape& shape, double passes) {
  return passes * examples(shape) * shape.evaluationSecondsPerExample;
}
double hessianProducts(const JobShape& shape, double products) {
  return products * examples(shape) * shape.hessianProductSecondsPerExample;
}
std::string count(double value) {
  char text[32];
  std::snprintf(text, sizeof text, value < 1e7 ? "%.0f" : "%.2g", value);
  return text;
}

}  // namespace

OptionCost analysisBatchCost(const AnalysisRequest& r, const JobShape& shape) {
  const std::int64_t batchSize = r.batchSize;
  if (!shape.footprintMeasured) return {};
  const double perExample = requestsHessianStage(r) ? shape.hessianProductBytesPerExample
                            : r.mSharpness || r.bezier ? shape.gradientBytesPerExample
                                                       : shape.evaluationBytesPerExample;
  const double batch = std::min(static_cast<double>(batchSize), std::max(1.0, examples(shape)));
  return {batch * perExample, 0.0, "a batch of " + count(batch) + " examples in flight, " +
                                       formatBytes(perExample) + " each"};
}

namespace {

OptionCost lanczosCost(int k, bool eigenvectors, double productsFactor, const JobShape& shape, const char* what) {
  if (k <= 0) return {};
  const std::int64_t n = std::max<std::int64_t>(shape.parameters, 1);
  const double products = productsFactor * lanczosTypicalProducts(k, n);
  return {lanczosBytes(k, n, eigenvectors), hessianProducts(shape, products),
          std::string(what) + ": a Lanczos basis of " + count(static_cast<double>(lanczosBasisSize(k, n))) +
              " vectors of " + count(static_cast<double>(n)) + " parameters, about " + count(products) +
              " Hessian-vector products"};
}

OptionTable<AnalysisRequest> makeAnalysisOptions(AnalysisCommand command) {
  using R = AnalysisRequest;
  const bool analyze = command == AnalysisCommand::Analyze;
  OptionTable<R> table;
  const auto add = [&](Option<R> option) { table.push_back(std::move(option)); };

  OptionInfo split = info("split", "Analysis split", "Analysis data: which split");
  split.kind = OptionKind::Choice;
  split.choices = {"test", "train"};
  add(fieldOption<R>(split, [](auto& r) -> auto& { return r.split; }, [](const R& r) -> std::string {
    return r.split == "train" || r.split == "test" ? "" : "expected train or test";
  }));
  add(fieldOption<R>(info("subset", "Analysis examples", "Analysis data: the first N examples of the split in file order (0: all)"),
                     [](auto& r) -> auto& { return r.subset; },
                     [](const R& r) { return unlessAtLeast(r.subset, 0, "must be 0 (all) or positive"); }));
  if (analyze) {
    add(fieldOption<R>(info("device", "Analysis device", "cpu, cuda or cuda:N (default: the run's device)"),
                       [](auto& r) -> auto& { return r.device; },
                       [](const R& r) { return r.device.empty() ? std::string() : deviceNameProblem(r.device); }));
    add(fieldOption<R>(info("batch-size", "Analysis batch size",
                            "Examples per pass (memory bound; results do not depend on it)"),
                       [](auto& r) -> auto& { return r.batchSize; },
                       [](const R& r) { return unlessAtLeast(r.batchSize, 1, "must be positive"); },
                       [](const R& r, const JobShape& shape) { return analysisBatchCost(r, shape); }));
    add(fieldOption<R>(info("seed", "Analysis seed", "Seed of the random probes and directions"),
                       [](auto& r) -> auto& { return r.seed; }));
  }
  add(fieldOption<R>(info("hessian-top", "Hessian eigenvalues", "Top-K Hessian eigenvalues by Lanczos (0: off)"),
                     [](auto& r) -> auto& { return r.hessianTop; },
                     [](const R& r) { return unlessAtLeast(r.hessianTop, 0, "must be 0 (off) or positive"); },
                     [](const R& r, const JobShape& shape) {
                       // Eigenvectors are kept when asked, for a warm start and for hessian directions.
                       return lanczosCost(r.hessianTop, true, 1.0, shape, "top eigenvalues");
                     }));
  add(fieldOption<R>(info("hessian-bottom", "Bottom eigenvalues",
                          "The K smallest (most negative) Hessian eigenvalues by Lanczos: negative curvature (0: off)"),
                     [](auto& r) -> auto& { return r.hessianBottom; },
                     [](const R& r) { return unlessAtLeast(r.hessianBottom, 0, "must be 0 (off) or positive"); },
                     [](const R& r, const JobShape& shape) {
                       // Shifted, at a hundredth of the tolerance: more restarts than the top.
                       return lanczosCost(r.hessianBottom, r.eigenvectors, 3.0, shape, "bottom eigenvalues");
                     }));
  add(fieldOption<R>(info("tolerance", "Lanczos tolerance",
                          "Lanczos convergence tolerance (relative residual; eigenvalues come out far more accurate)"),
                     [](auto& r) -> auto& { return r.tolerance; },
                     [](const R& r) -> std::string {
                       return r.tolerance > 0.0 && r.tolerance < 1.0 ? "" : "must be in (0, 1)";
                     }));
  add(fieldOption<R>(info("eigenvectors", "Eigenvectors", "Also compute the eigenvectors (kept in memory, not written)"),
                     [](auto& r) -> auto& { return r.eigenvectors; }));
  OptionInfo precision = info("hessian-precision", "Hessian product precision",
                              "Hessian-vector products in float32 (then each eigenpair is checked with float64 products, "
                              "and Lanczos reruns in float64 if it misses the tolerance), float64, or auto: float32 where "
                              "the tolerance allows it (>= 1e-5)");
  precision.kind = OptionKind::Choice;
  precision.choices = {"auto", "float32", "float64"};
  add(fieldOption<R>(precision, [](auto& r) -> auto& { return r.precision; }, [](const R& r) -> std::string {
    if (r.precision != "auto" && r.precision != "float32" && r.precision != "float64") {
      return "expected auto, float32 or float64";
    }
    if (r.singlePrecision && r.precision == "float64") return "contradicts --single-precision";
    return "";
  }));
  add(fieldOption<R>(info("single-precision", "Single precision", "The same as --hessian-precision float32"),
                     [](auto& r) -> auto& { return r.singlePrecision; }));
  add(fieldOption<R>(info("trace", "Hessian trace", "Hessian trace by Hutchinson's estimator"),
                     [](auto& r) -> auto& { return r.trace; }));
  add(fieldOption<R>(info("perturbation-alignment", "Perturbation alignment",
                          "|cos| between SAM's perturbation (the gradient's direction) and the top Hessian eigenvector"),
                     [](auto& r) -> auto& { return r.perturbationAlignment; }, {},
                     [](const R& r, const JobShape& shape) {
                       // Without --hessian-top it finds the top eigenvector by a Lanczos of its own.
                       const int own = r.perturbationAlignment && r.hessianTop == 0 ? 1 : 0;
                       return lanczosCost(own, true, 1.0, shape, "the top eigenvector for the alignment");
                     }));
  add(fieldOption<R>(info("per-layer", "Per-layer curvature",
                          "Top eigenvalue and trace of each layer's diagonal Hessian block (per_layer.csv; the trace "
                          "from --trace-probes probes)"),
                     [](auto& r) -> auto& { return r.perLayer; }, {},
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.perLayer) return {};
                       // A top eigenvalue per layer, each product a whole Hessian-vector product.
                       const double products = static_cast<double>(shape.layers) *
                                               lanczosTypicalProducts(1, std::max<std::int64_t>(shape.parameters, 1));
                       return {0.0, hessianProducts(shape, products),
                               count(shape.layers) + " layers' top eigenvalues, about " + count(products) +
                                   " Hessian-vector products"};
                     }));
  add(fieldOption<R>(info("trace-probes", "Trace probes", "Rademacher probes for --trace"),
                     [](auto& r) -> auto& { return r.traceProbes; },
                     [](const R& r) {
                       return r.trace || r.perLayer ? unlessAtLeast(r.traceProbes, 2, "needs at least 2 probes") : "";
                     },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.trace && !r.perLayer) return {};
                       // Running means: the probes cost time, not memory.
                       const double probes = r.traceProbes;
                       return {0.0, hessianProducts(shape, probes),
                               count(probes) + " Hutchinson probes, one Hessian-vector product each"};
                     }));
  add(fieldOption<R>(info("esd", "Spectral density", "Spectral density by stochastic Lanczos quadrature (esd.csv)"),
                     [](auto& r) -> auto& { return r.esd; }));
  add(fieldOption<R>(info("esd-probes", "Density probes", "Probes for --esd"),
                     [](auto& r) -> auto& { return r.esdProbes; },
                     [](const R& r) { return r.esd ? unlessAtLeast(r.esdProbes, 1, "must be positive") : ""; },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.esd || r.esdProbes < 1 || r.esdSteps < 1) return {};
                       const double steps = std::min<double>(r.esdSteps, std::max<std::int64_t>(shape.parameters, 1));
                       const double products = static_cast<double>(r.esdProbes) * steps;
                       // Every probe's quadrature nodes and weights are kept.
                       return {16.0 * products, hessianProducts(shape, products),
                               count(r.esdProbes) + " probes of " + count(steps) + " Lanczos steps, one " +
                                   "Hessian-vector product each"};
                     }));
  add(fieldOption<R>(info("esd-steps", "Density Lanczos steps", "Lanczos steps per probe for --esd"),
                     [](auto& r) -> auto& { return r.esdSteps; },
                     [](const R& r) { return r.esd ? unlessAtLeast(r.esdSteps, 1, "must be positive") : ""; },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.esd || r.esdSteps < 1) return {};
                       const std::int64_t n = std::max<std::int64_t>(shape.parameters, 1);
                       return {spectralDensityBytes(std::max(r.esdProbes, 1), r.esdSteps, n), 0.0,
                               "a reorthogonalized Lanczos basis of " + count(std::min<double>(r.esdSteps, n)) +
                                   " vectors of " + count(n) + " parameters"};
                     }));
  add(fieldOption<R>(info("m-sharpness", "m-sharpness", "m-sharpness (Foret et al. 2021, section 4.1)"),
                     [](auto& r) -> auto& { return r.mSharpness; }));
  add(fieldOption<R>(info(analyze ? "m" : "sharpness-m", "Sharpness chunk (m)", "Chunk size of --m-sharpness"),
                     [](auto& r) -> auto& { return r.m; },
                     [](const R& r) { return r.mSharpness ? unlessAtLeast(r.m, 1, "must be positive") : ""; }));
  add(fieldOption<R>(info(analyze ? "rho" : "sharpness-rho", "Sharpness radius (rho)", "Radius of --m-sharpness"),
                     [](auto& r) -> auto& { return r.rho; },
                     [](const R& r) { return r.mSharpness ? unlessNonNegative(r.rho) : ""; }));
  add(fieldOption<R>(info("ascent-steps", "Ascent steps", "Normalized-gradient ascent steps of --m-sharpness"),
                     [](auto& r) -> auto& { return r.ascentSteps; },
                     [](const R& r) { return r.mSharpness ? unlessAtLeast(r.ascentSteps, 1, "must be positive") : ""; },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.mSharpness || r.ascentSteps < 1) return {};
                       // Per chunk: the loss, ascentSteps gradients, the loss at the ascended weights.
                       const double seconds = examples(shape) * (2.0 * shape.evaluationSecondsPerExample +
                                                                 r.ascentSteps * shape.gradientSecondsPerExample);
                       return {0.0, seconds, count(r.ascentSteps) + " ascent steps over every chunk"};
                     }));
  add(fieldOption<R>(info("slice", "Loss slice",
                          "2D loss slice along two filter-normalized directions (slice.csv, slice.vts)"),
                     [](auto& r) -> auto& { return r.slice; }));
  OptionInfo sliceDirections = info("slice-directions", "Slice directions",
                                    "random (filter-normalized), pca (the checkpoint path's top two principal directions, "
                                    "scaled so the path fills the range) or hessian (the top two eigenvectors, unit norm)");
  sliceDirections.kind = OptionKind::Choice;
  sliceDirections.choices = {"random", "pca", "hessian"};
  add(fieldOption<R>(sliceDirections, [](auto& r) -> auto& { return r.sliceDirections; }, [](const R& r) -> std::string {
    if (r.sliceDirections != "random" && r.sliceDirections != "pca" && r.sliceDirections != "hessian") {
      return "expected random, pca or hessian";
    }
    return r.sliceDirections != "random" && !r.slice ? "needs --slice" : "";
  }));
  add(fieldOption<R>(info("slice-plane", "Slice plane A,B,C",
                          "The plane through three models (runs, checkpoints or weights files; e.g. init, SGD, SAM), "
                          "centred on their centroid: A, B, C at (-1/3,-1/3), (2/3,-1/3), (-1/3,2/3)"),
                     [](auto& r) -> auto& { return r.slicePlane; },
                     [](const R& r) -> std::string {
                       if (r.slicePlane.empty()) return "";
                       if (!r.slice) return "needs --slice";
                       if (r.sliceDirections != "random") return "sets the slice's directions: leave --slice-directions random";
                       return slicePlaneModels(r.slicePlane).size() == 3 ? ""
                                                                        : "expected three models separated by commas, A,B,C";
                     }));
  add(fieldOption<R>(info("grid", "Slice grid", "Points per axis of --slice"),
                     [](auto& r) -> auto& { return r.grid; },
                     [](const R& r) { return r.slice ? unlessAtLeast(r.grid, 2, "needs at least 2 points") : ""; },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.slice || r.grid < 2) return {};
                       const double points = static_cast<double>(r.grid) * static_cast<double>(r.grid);
                       return {points * kSliceBytesPerPoint, forwardPasses(shape, points),
                               "a " + count(r.grid) + " x " + count(r.grid) + " slice, " + count(points) +
                                   " points, each a pass over the examples"};
                     }));
  add(rangeOption<R>(info("range", "Slice range", "The slice spans [a, b]^2, given as a:b"),
                     [](auto& r) -> auto& { return r.rangeMin; }, [](auto& r) -> auto& { return r.rangeMax; },
                     [](const R& r) -> std::string {
                       const bool ordered = std::isfinite(r.rangeMin) && std::isfinite(r.rangeMax) && r.rangeMin < r.rangeMax;
                       return r.slice && !ordered ? "expected a:b with a < b" : "";
                     }));
  OptionInfo directions = info("directions", "Slice directions file",
                               analyze ? "Slice directions: read from FILE when it exists, else drawn (--seed) and saved there"
                                       : "Slice directions: read from FILE when it exists, else drawn at the first "
                                         "analysis and saved there (default: DIR/analysis/directions.bin)");
  directions.kind = OptionKind::Path;
  add(fieldOption<R>(directions, [](auto& r) -> auto& { return r.directionsFile; }));
  OptionInfo interpolate = info("interpolate", "Interpolate towards",
                                "1D interpolation towards another model of the same architecture (a run, checkpoint or "
                                "weights file): interpolation.csv");
  interpolate.kind = OptionKind::Path;
  add(fieldOption<R>(interpolate, [](auto& r) -> auto& { return r.interpolate; }));
  add(fieldOption<R>(info("interpolate-points", "Interpolation points", "Points of --interpolate"),
                     [](auto& r) -> auto& { return r.interpolatePoints; },
                     [](const R& r) {
                       return r.interpolate.empty() ? "" : unlessAtLeast(r.interpolatePoints, 2, "needs at least 2 points");
                     },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (r.interpolate.empty() || r.interpolatePoints < 2) return {};
                       // The straight line, and the Bezier curve at as many points.
                       const double points = static_cast<double>(r.interpolatePoints) * (r.bezier ? 2.0 : 1.0);
                       return {points * kInterpolationBytesPerPoint, forwardPasses(shape, points),
                               count(points) + " interpolation points, each a pass over the examples"};
                     }));
  add(rangeOption<R>(info("interpolate-range", "Interpolation range", "t range of --interpolate, a:b"),
                     [](auto& r) -> auto& { return r.interpolateMin; }, [](auto& r) -> auto& { return r.interpolateMax; },
                     [](const R& r) -> std::string {
                       const bool ordered = std::isfinite(r.interpolateMin) && std::isfinite(r.interpolateMax) &&
                                            r.interpolateMin < r.interpolateMax;
                       return !r.interpolate.empty() && !ordered ? "expected a:b with a < b" : "";
                     }));
  add(fieldOption<R>(info("bezier", "Bezier curve",
                          "Mode connectivity: a quadratic Bezier curve to the --interpolate model, its control point "
                          "trained on the training split (Garipov et al. 2018): bezier.csv"),
                     [](auto& r) -> auto& { return r.bezier; },
                     [](const R& r) -> std::string {
                       return r.bezier && r.interpolate.empty() ? "needs --interpolate (the curve's other end)" : "";
                     }));
  add(fieldOption<R>(info("bezier-steps", "Bezier steps", "SGD steps on the curve's control point (batches of 128)"),
                     [](auto& r) -> auto& { return r.bezierSteps; },
                     [](const R& r) { return r.bezier ? unlessAtLeast(r.bezierSteps, 0, "must be 0 or more") : ""; },
                     [](const R& r, const JobShape& shape) -> OptionCost {
                       if (!r.bezier || r.bezierSteps < 1) return {};
                       // Each step: a gradient on a batch of 128 training examples; its t and loss are kept.
                       const double seconds = r.bezierSteps * 128.0 * shape.gradientSecondsPerExample;
                       return {16.0 * r.bezierSteps, seconds, count(r.bezierSteps) + " SGD steps on batches of 128"};
                     }));
  add(fieldOption<R>(info("trajectory", "Trajectory",
                          analyze ? "The run's checkpoints projected on the PCA plane of their differences from the final "
                                    "weights (trajectory.csv; --checkpoint must be a run directory)"
                                  : "The checkpoints so far projected on the PCA plane of their differences from the "
                                    "current weights (trajectory.csv)"),
                     [](auto& r) -> auto& { return r.trajectory; }));
  return table;
}

}  // namespace

std::vector<std::string> slicePlaneModels(const std::string& list) {
  std::vector<std::string> models;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = list.find(',', begin);
    std::string entry = list.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    const auto first = entry.find_first_not_of(" \t");
    const auto last = entry.find_last_not_of(" \t");
    models.push_back(first == std::string::npos ? std::string() : entry.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  // An empty entry ("a,,c", "a,b,") is no model: the list is malformed.
  if (std::any_of(models.begin(), models.end(), [](const std::string& model) { return model.empty(); })) return {};
  return models;
}

const OptionTable<AnalysisRequest>& analysisOptions(AnalysisCommand command) {
  static const OptionTable<AnalysisRequest> analyze = makeAnalysisOptions(AnalysisCommand::Analyze);
  static const OptionTable<AnalysisRequest> train = makeAnalysisOptions(AnalysisCommand::Train);
  return command == AnalysisCommand::Analyze ? analyze : train;
}

void validateAnalysisRequest(const AnalysisRequest& request, AnalysisCommand command) {
  validateOptions(request, analysisOptions(command));
  // The options `train` does not have (they come from the run) are still checked, by analyze's names.
  if (command == AnalysisCommand::Train) {
    if (request.batchSize <= 0) throw ConfigError("--eval-batch-size", std::to_string(request.batchSize), "must be positive");
    if (!request.device.empty()) checkDeviceName(request.device);
  }
}

bool requestsHessianStage(const AnalysisRequest& r) {
  for (const auto& stage : analysisStages()) {
    if (stage->usesHessian() && stage->requested(r)) return true;
  }
  return false;
}

bool requestsAnyAnalysis(const AnalysisRequest& r) {
  // The loss is evaluated with every analysis (a default request asks for it): any other stage counts.
  const AnalysisRequest none;
  for (const auto& stage : analysisStages()) {
    if (stage->requested(r) && !stage->requested(none)) return true;
  }
  return false;
}

std::string productPrecision(const AnalysisRequest& request, double tolerance) {
  if (request.singlePrecision || request.precision == "float32") return "float32";
  if (request.precision == "float64") return "float64";
  return tolerance >= kFloat32Tolerance ? "float32" : "float64";
}

double float32LanczosTolerance(double tolerance) { return std::max(tolerance / 10.0, kFloat32LanczosFloor); }

}  // namespace samscape

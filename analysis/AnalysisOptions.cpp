#include "analysis/AnalysisOptions.h"

#include <algorithm>

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
                       [](const R& r) { return unlessAtLeast(r.batchSize, 1, "must be positive"); }));
    add(fieldOption<R>(info("seed", "Analysis seed", "Seed of the random probes and directions"),
                       [](auto& r) -> auto& { return r.seed; }));
  }
  add(fieldOption<R>(info("hessian-top", "Hessian eigenvalues", "Top-K Hessian eigenvalues by Lanczos (0: off)"),
                     [](auto& r) -> auto& { return r.hessianTop; },
                     [](const R& r) { return unlessAtLeast(r.hessianTop, 0, "must be 0 (off) or positive"); }));
  add(fieldOption<R>(info("hessian-bottom", "Bottom eigenvalues",
                          "The K smallest (most negative) Hessian eigenvalues by Lanczos: negative curvature (0: off)"),
                     [](auto& r) -> auto& { return r.hessianBottom; },
                     [](const R& r) { return unlessAtLeast(r.hessianBottom, 0, "must be 0 (off) or positive"); }));
  add(fieldOption<R>(info("tolerance", "Lanczos tolerance",
                          "Lanczos convergence tolerance (relative residual; eigenvalues come out far more accurate)"),
                     [](auto& r) -> auto& { return r.tolerance; },
                     [](const R& r) -> std::string {
                       return r.tolerance > 0.0 && r.tolerance < 1.0 ? "" : "must be in (0, 1)";
                     }));
  add(fieldOption<R>(info("eigenvectors", "Eigenvectors", "Also compute the eigenvectors (kept in memory, not written)"),
                     [](auto& r) -> auto& { return r.eigenvectors; }));
  add(fieldOption<R>(info("single-precision", "Single precision",
                          "Hessian products in float32 (default float64: Lanczos needs the accuracy)"),
                     [](auto& r) -> auto& { return r.singlePrecision; }));
  add(fieldOption<R>(info("trace", "Hessian trace", "Hessian trace by Hutchinson's estimator"),
                     [](auto& r) -> auto& { return r.trace; }));
  add(fieldOption<R>(info("per-layer", "Per-layer curvature",
                          "Top eigenvalue and trace of each layer's diagonal Hessian block (per_layer.csv; the trace "
                          "from --trace-probes probes)"),
                     [](auto& r) -> auto& { return r.perLayer; }));
  add(fieldOption<R>(info("trace-probes", "Trace probes", "Rademacher probes for --trace"),
                     [](auto& r) -> auto& { return r.traceProbes; },
                     [](const R& r) {
                       return r.trace || r.perLayer ? unlessAtLeast(r.traceProbes, 2, "needs at least 2 probes") : "";
                     }));
  add(fieldOption<R>(info("esd", "Spectral density", "Spectral density by stochastic Lanczos quadrature (esd.csv)"),
                     [](auto& r) -> auto& { return r.esd; }));
  add(fieldOption<R>(info("esd-probes", "Density probes", "Probes for --esd"),
                     [](auto& r) -> auto& { return r.esdProbes; },
                     [](const R& r) { return r.esd ? unlessAtLeast(r.esdProbes, 1, "must be positive") : ""; }));
  add(fieldOption<R>(info("esd-steps", "Density Lanczos steps", "Lanczos steps per probe for --esd"),
                     [](auto& r) -> auto& { return r.esdSteps; },
                     [](const R& r) { return r.esd ? unlessAtLeast(r.esdSteps, 1, "must be positive") : ""; }));
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
                     [](const R& r) { return r.mSharpness ? unlessAtLeast(r.ascentSteps, 1, "must be positive") : ""; }));
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
                     [](const R& r) { return r.slice ? unlessAtLeast(r.grid, 2, "needs at least 2 points") : ""; }));
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
                     [](const R& r) { return r.bezier ? unlessAtLeast(r.bezierSteps, 0, "must be 0 or more") : ""; }));
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

bool requestsAnyAnalysis(const AnalysisRequest& r) {
  return r.hessianTop > 0 || r.hessianBottom > 0 || r.perLayer || r.trace || r.esd || r.mSharpness || r.slice || !r.interpolate.empty() || r.trajectory;
}

}  // namespace samscape

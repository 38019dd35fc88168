#include "cli/AnalysisFlags.h"

namespace samscape::cli {

void addAnalysisFlags(CLI::App& app, AnalysisFlagValues& values, AnalysisFlagSet set) {
  auto& r = values.request;
  const bool analyze = set == AnalysisFlagSet::Analyze;
  app.add_option("--split", r.split, "Analysis data: train or test")->capture_default_str();
  app.add_option("--subset", r.subset, "Analysis data: the first N examples of the split in file order (0: all)")
      ->capture_default_str();
  if (analyze) {
    app.add_option("--device", r.device, "cpu, cuda or cuda:N (default: the run's device)");
    app.add_option("--batch-size", r.batchSize, "Examples per pass (memory bound; results do not depend on it)")
        ->capture_default_str();
    app.add_option("--seed", r.seed, "Seed of the random probes and directions")->capture_default_str();
  }
  app.add_option("--hessian-top", r.hessianTop, "Top-K Hessian eigenvalues by Lanczos (0: off)")->capture_default_str();
  app.add_option("--tolerance", r.tolerance,
                 "Lanczos convergence tolerance (relative residual; eigenvalues come out far more accurate)")
      ->capture_default_str();
  app.add_flag("--eigenvectors", r.eigenvectors, "Also compute the eigenvectors (kept in memory, not written)");
  app.add_flag("--single-precision", r.singlePrecision,
               "Hessian products in float32 (default float64: Lanczos needs the accuracy)");
  app.add_flag("--trace", r.trace, "Hessian trace by Hutchinson's estimator");
  app.add_option("--trace-probes", r.traceProbes, "Rademacher probes for --trace")->capture_default_str();
  app.add_flag("--esd", r.esd, "Spectral density by stochastic Lanczos quadrature (esd.csv)");
  app.add_option("--esd-probes", r.esdProbes, "Probes for --esd")->capture_default_str();
  app.add_option("--esd-steps", r.esdSteps, "Lanczos steps per probe for --esd")->capture_default_str();
  app.add_flag("--m-sharpness", r.mSharpness, "m-sharpness (Foret et al. 2021, section 4.1)");
  app.add_option(analyze ? "--m" : "--sharpness-m", r.m, "Chunk size of --m-sharpness")->capture_default_str();
  app.add_option(analyze ? "--rho" : "--sharpness-rho", r.rho, "Radius of --m-sharpness")->capture_default_str();
  app.add_option("--ascent-steps", r.ascentSteps, "Normalized-gradient ascent steps of --m-sharpness")
      ->capture_default_str();
  app.add_flag("--slice", r.slice, "2D loss slice along two filter-normalized directions (slice.csv, slice.vts)");
  app.add_option("--grid", r.grid, "Points per axis of --slice")->capture_default_str();
  app.add_option("--range", values.range, "The slice spans [a, b]^2, given as a:b")->capture_default_str();
  app.add_option("--directions", r.directionsFile,
                 analyze ? "Slice directions: read from FILE when it exists, else drawn (--seed) and saved there"
                         : "Slice directions: read from FILE when it exists, else drawn at the first analysis and "
                           "saved there (default: DIR/analysis/directions.bin)");
  app.add_option("--interpolate", r.interpolate,
                 "1D interpolation towards another model of the same architecture (a run, checkpoint or weights "
                 "file): interpolation.csv");
  app.add_option("--interpolate-points", r.interpolatePoints, "Points of --interpolate")->capture_default_str();
  app.add_option("--interpolate-range", values.interpolateRange, "t range of --interpolate, a:b")
      ->capture_default_str();
  app.add_flag("--trajectory", r.trajectory,
               analyze ? "The run's checkpoints projected on the PCA plane of their differences from the final "
                         "weights (trajectory.csv; --checkpoint must be a run directory)"
                       : "The checkpoints so far projected on the PCA plane of their differences from the "
                         "current weights (trajectory.csv)");
}

void finishAnalysisFlags(const CLI::App& app, AnalysisFlagValues& values) {
  auto& r = values.request;
  std::tie(r.rangeMin, r.rangeMax) = parseRangeFlag("--range", values.range);
  std::tie(r.interpolateMin, r.interpolateMax) = parseRangeFlag("--interpolate-range", values.interpolateRange);
  r.subsetExplicit = app.get_option("--subset")->count() > 0;
  validateAnalysisRequest(r);
}

}  // namespace samscape::cli

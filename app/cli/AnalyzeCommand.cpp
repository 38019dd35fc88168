#include "cli/AnalyzeCommand.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <filesystem>
#include <iostream>

#include "analysis/HessianSpectrum.h"
#include "analysis/HessianTrace.h"
#include "analysis/LandscapeFiles.h"
#include "analysis/LossSurfaceTorch.h"
#include "analysis/MSharpnessTorch.h"
#include "analysis/ModelHessianTorch.h"
#include "analysis/SpectralDensity.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/Network.h"
#include "core/train/Evaluation.h"
#include "core/train/RunDirectory.h"
#include "core/train/SavedRun.h"

namespace samscape::cli {
namespace {

using nlohmann::json;

// NaN and infinities are not JSON: they become null.
json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

// "a:b" with a < b, both finite.
std::pair<double, double> parseRange(const std::string& flag, const std::string& text) {
  const auto colon = text.find(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no colon");
    std::size_t used = 0;
    const double low = std::stod(text.substr(0, colon), &used);
    if (used != colon) throw std::invalid_argument("trailing text");
    const std::string upperText = text.substr(colon + 1);
    const double high = std::stod(upperText, &used);
    if (used != upperText.size()) throw std::invalid_argument("trailing text");
    if (!(std::isfinite(low) && std::isfinite(high) && low < high)) throw std::invalid_argument("order");
    return {low, high};
  } catch (const std::exception&) {
    throw ConfigError(flag, text, "expected a:b with a < b, e.g. -1:1");
  }
}

std::string csvOfDensity(const SpectralDensity& density) {
  std::ostringstream out;
  out << std::setprecision(17) << "eigenvalue,density\n";
  for (std::size_t i = 0; i < density.grid.size(); ++i) out << density.grid[i] << ',' << density.density[i] << '\n';
  return out.str();
}

}  // namespace

AnalyzeCommand::AnalyzeCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("analyze", "Flatness analyses of a saved run or a TorchScript model");
  auto* app = command_;
  auto& o = options_;
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* checkpoint = app->add_option("--checkpoint", o.checkpoint,
                                     "A run directory (latest checkpoint), a checkpoint directory or a weights file");
  auto* modelFile = app->add_option("--model-file", o.modelFile, "A TorchScript model (torch.jit.save)");
  checkpoint->excludes(modelFile);
  app->add_option("--dataset", o.dataset, "fashion-mnist, mnist, cifar10 or cifar100 (default: the run's)");
  app->add_option("--data-dir", o.dataDir, "Directory of the dataset files (default: the run's)");
  app->add_flag("--no-normalize", o.noNormalize, "Pixels in [0,1] only (default: as the run trained)");
  app->add_option("--split", o.split, "train or test")->capture_default_str();
  app->add_option("--subset", o.subset, "The first N examples of the split in file order (0: all)")
      ->capture_default_str();
  app->add_option("--device", o.device, "cpu, cuda or cuda:N")->capture_default_str();
  app->add_option("--threads", o.threads, "CPU threads (0: every core)")->capture_default_str();
  app->add_option("--batch-size", o.batchSize, "Examples per pass (memory bound; results do not depend on it)")
      ->capture_default_str();
  app->add_option("--hessian-top", o.hessianTop, "Top-K Hessian eigenvalues by Lanczos (0: off)")
      ->capture_default_str();
  app->add_option("--tolerance", o.tolerance,
                  "Lanczos convergence tolerance (relative residual; eigenvalues come out far more accurate)")
      ->capture_default_str();
  app->add_flag("--eigenvectors", o.eigenvectors, "Also compute the eigenvectors (kept in memory, not written)");
  app->add_flag("--trace", o.trace, "Hessian trace by Hutchinson's estimator");
  app->add_option("--trace-probes", o.traceProbes, "Rademacher probes for --trace")->capture_default_str();
  app->add_flag("--esd", o.esd, "Spectral density by stochastic Lanczos quadrature (esd.csv)");
  app->add_option("--esd-probes", o.esdProbes, "Probes for --esd")->capture_default_str();
  app->add_option("--esd-steps", o.esdSteps, "Lanczos steps per probe for --esd")->capture_default_str();
  app->add_flag("--m-sharpness", o.mSharpness, "m-sharpness (Foret et al. 2021, section 4.1)");
  app->add_option("--m", o.m, "Chunk size of --m-sharpness")->capture_default_str();
  app->add_option("--rho", o.rho, "Radius of --m-sharpness")->capture_default_str();
  app->add_option("--ascent-steps", o.ascentSteps, "Normalized-gradient ascent steps of --m-sharpness")
      ->capture_default_str();
  app->add_flag("--slice", o.slice, "2D loss slice along two filter-normalized directions (slice.csv, slice.vts)");
  app->add_option("--grid", o.grid, "Points per axis of --slice")->capture_default_str();
  app->add_option("--range", o.range, "The slice spans [a, b]^2, given as a:b")->capture_default_str();
  app->add_option("--directions", o.directions,
                  "Slice directions: read from FILE when it exists, else drawn (--seed) and saved there");
  app->add_option("--interpolate", o.interpolate,
                  "1D interpolation towards another model of the same architecture (a run, checkpoint or weights "
                  "file): interpolation.csv");
  app->add_option("--interpolate-points", o.interpolatePoints, "Points of --interpolate")->capture_default_str();
  app->add_option("--interpolate-range", o.interpolateRange, "t range of --interpolate, a:b")
      ->capture_default_str();
  app->add_flag("--trajectory", o.trajectory,
                "The run's checkpoints projected on the PCA plane of their differences from the final weights "
                "(trajectory.csv; --checkpoint must be a run directory)");
  app->add_option("--seed", o.seed, "Seed of the random probes and directions")->capture_default_str();
  app->add_flag("--single-precision", o.singlePrecision,
                "Hessian products in float32 (default float64: Lanczos needs the accuracy)");
  app->add_option("--out", o.outDir, "Directory for analysis.json")->required();
}

int AnalyzeCommand::run() {
  const auto& o = options_;
  if (o.checkpoint.empty() && o.modelFile.empty()) {
    throw ConfigError("--checkpoint", "", "give --checkpoint PATH or --model-file FILE");
  }
  if (o.split != "train" && o.split != "test") throw ConfigError("--split", o.split, "expected train or test");
  if (o.subset < 0) throw ConfigError("--subset", std::to_string(o.subset), "must be 0 (all) or positive");
  if (o.batchSize <= 0) throw ConfigError("--batch-size", std::to_string(o.batchSize), "must be positive");
  if (!(o.tolerance > 0.0 && o.tolerance < 1.0)) {
    throw ConfigError("--tolerance", std::to_string(o.tolerance), "must be in (0, 1)");
  }
  if (o.hessianTop < 0) throw ConfigError("--hessian-top", std::to_string(o.hessianTop), "must be 0 (off) or positive");
  if (o.mSharpness && o.m < 1) throw ConfigError("--m", std::to_string(o.m), "must be positive");
  if (o.mSharpness && !(o.rho >= 0.0)) throw ConfigError("--rho", std::to_string(o.rho), "must be 0 or positive");
  if (o.mSharpness && o.ascentSteps < 1) {
    throw ConfigError("--ascent-steps", std::to_string(o.ascentSteps), "must be positive");
  }
  if (o.slice && o.grid < 2) throw ConfigError("--grid", std::to_string(o.grid), "needs at least 2 points");
  if (o.esd && o.esdProbes < 1) throw ConfigError("--esd-probes", std::to_string(o.esdProbes), "must be positive");
  if (o.esd && o.esdSteps < 1) throw ConfigError("--esd-steps", std::to_string(o.esdSteps), "must be positive");
  if (o.trace && o.traceProbes < 2) {
    throw ConfigError("--trace-probes", std::to_string(o.traceProbes), "needs at least 2 probes");
  }
  if (o.slice) parseRange("--range", o.range);
  if (!o.interpolate.empty()) {
    parseRange("--interpolate-range", o.interpolateRange);
    if (o.interpolatePoints < 2) {
      throw ConfigError("--interpolate-points", std::to_string(o.interpolatePoints), "needs at least 2 points");
    }
  }
  checkDeviceName(o.device);
  const int threads = configureThreads(o.threads);

  // The run's config supplies the model, the data and the normalization it trained with.
  TrainConfig run;
  std::string weightsPath;
  std::string source;
  if (!o.checkpoint.empty()) {
    const SavedModel saved = locateSavedModel(o.checkpoint);
    run = saved.config;
    weightsPath = saved.weightsPath;
    source = saved.description;
  } else {
    run.model.modelFile = o.modelFile;
    source = o.modelFile;
  }
  if (!o.dataset.empty()) run.data.kind = parseDatasetName(o.dataset);
  if (!o.dataDir.empty()) run.data.dataDir = o.dataDir;
  if (o.noNormalize) run.normalize = false;
  run.data.seed = run.seed;
  // Normalization statistics come from the run's training split, as in training.
  DatasetOptions dataOptions = run.data;
  dataOptions.testSubset = 0;
  const DatasetSplits data = loadDataset(dataOptions);
  ImageSet images = o.split == "test" ? data.test : data.train;
  // The first N examples in file order. The default N (1000) shrinks to what a small split holds; an
  // N the user asked for does not.
  std::int64_t subset = o.subset;
  const auto available = static_cast<std::int64_t>(images.size());
  if (subset > available) {
    if (command_->get_option("--subset")->count() > 0) {
      throw ConfigError("--subset", std::to_string(subset),
                        "the " + o.split + " split holds only " + std::to_string(available) + " examples");
    }
    subset = available;
  }
  if (subset > 0) {
    images.labels.resize(static_cast<std::size_t>(subset));
    images.pixels.resize(static_cast<std::size_t>(subset) * images.imageBytes());
  }

  run.model.inputChannels = images.channels;
  run.model.imageHeight = images.height;
  run.model.imageWidth = images.width;
  run.model.numClasses = images.numClasses;
  auto network = makeNetwork(run.model);
  if (!weightsPath.empty()) network->load(weightsPath);
  network->to(torch::Device(o.device));

  std::filesystem::create_directories(o.outDir);
  json result;
  result["source"] = source;
  result["model"] = network->describe();
  result["split"] = o.split;
  result["examples"] = images.size();
  result["device"] = o.device;
  result["threads"] = threads;
  result["normalized"] = run.normalize;

  const Evaluation evaluation = evaluateClassifier(*network, images, run.normalize, data.trainStatistics,
                                                   o.batchSize, torch::Device(o.device));
  result["loss"] = evaluation.meanLoss;
  result["accuracy"] = evaluation.accuracy;
  std::cerr << "loss " << evaluation.meanLoss << ", accuracy " << evaluation.accuracy << " on "
            << images.size() << " " << o.split << " examples\n";

  // The spectrum, the trace and the density share one Hessian operator (and its float64 copy).
  ModelHessianOptions hessianOptions;
  hessianOptions.normalize = run.normalize;
  hessianOptions.statistics = data.trainStatistics;
  hessianOptions.batchSize = o.batchSize;
  hessianOptions.device = o.device;
  hessianOptions.doublePrecision = !o.singlePrecision;
  std::unique_ptr<ModelHessian> hessian;
  if (o.hessianTop > 0 || o.trace || o.esd) hessian = makeModelHessian(*network, images, hessianOptions);
  if (o.hessianTop > 0 || o.trace) {
    if (o.hessianTop > 0) {
      SpectrumOptions spectrumOptions;
      spectrumOptions.topK = o.hessianTop;
      spectrumOptions.eigenvectors = o.eigenvectors;
      spectrumOptions.tolerance = o.tolerance;
      const SpectrumResult spectrum = topEigenvalues(*hessian, spectrumOptions);
      json eigenvalues = json::array();
      for (double value : spectrum.eigenvalues) eigenvalues.push_back(number(value));
      result["hessian"] = {{"eigenvalues", eigenvalues},
                           {"hvp_count", spectrum.hessianVectorProducts},
                           {"converged", spectrum.converged},
                           {"status", spectrum.status},
                           {"lambda_max_over_lambda_k", number(spectrum.ratioTopOverKth)},
                           {"precision", o.singlePrecision ? "float32" : "float64"},
                           {"mode", "eval (batch norm on running statistics)"}};
      std::cerr << "hessian: top " << o.hessianTop << " eigenvalues";
      for (double value : spectrum.eigenvalues) std::cerr << " " << value;
      std::cerr << " (" << spectrum.hessianVectorProducts << " Hessian-vector products, " << spectrum.status
                << ")\n";
    }
    if (o.trace) {
      TraceOptions traceOptions;
      traceOptions.probes = o.traceProbes;
      traceOptions.seed = o.seed;
      const TraceResult trace = hutchinsonTrace(*hessian, traceOptions);
      result["trace"] = {{"mean", trace.mean},
                         {"stderr", trace.standardError},
                         {"probes", trace.probes},
                         {"hvp_count", trace.hessianVectorProducts}};
      std::cerr << "trace: " << trace.mean << " +- " << trace.standardError << " (" << trace.probes
                << " probes)\n";
    }
  }

  const std::filesystem::path out(o.outDir);
  if (o.esd) {
    SpectralDensityOptions densityOptions;
    densityOptions.probes = o.esdProbes;
    densityOptions.lanczosSteps = o.esdSteps;
    densityOptions.seed = o.seed;
    const SpectralDensity density = spectralDensity(*hessian, densityOptions);
    writeFileAtomically((out / "esd.csv").string(), csvOfDensity(density));
    result["esd"] = {{"file", "esd.csv"},
                     {"probes", density.probes},
                     {"lanczos_steps", o.esdSteps},
                     {"sigma", density.sigma},
                     {"hvp_count", density.hessianVectorProducts}};
    std::cerr << "esd: " << density.probes << " probes, " << density.hessianVectorProducts
              << " Hessian-vector products -> esd.csv\n";
  }
  // Give the network back in its own precision for the evaluations below.
  hessian.reset();
  if (o.mSharpness) {
    MSharpnessOptions sharpnessOptions;
    sharpnessOptions.m = o.m;
    sharpnessOptions.rho = o.rho;
    sharpnessOptions.ascentSteps = o.ascentSteps;
    sharpnessOptions.normalize = run.normalize;
    sharpnessOptions.statistics = data.trainStatistics;
    sharpnessOptions.batchSize = o.batchSize;
    sharpnessOptions.device = o.device;
    const MSharpnessResult sharpness = computeMSharpness(*network, images, sharpnessOptions);
    result["m_sharpness"] = number(sharpness.value);
    result["m_sharpness_details"] = {
        {"m", o.m}, {"rho", o.rho}, {"ascent_steps", o.ascentSteps}, {"chunks", sharpness.chunks},
        {"mode", "eval (batch norm on running statistics)"}};
    std::cerr << "m-sharpness (m " << o.m << ", rho " << o.rho << "): " << sharpness.value << "\n";
  }
  LandscapeEvaluationOptions evaluationOptions;
  evaluationOptions.normalize = run.normalize;
  evaluationOptions.statistics = data.trainStatistics;
  evaluationOptions.batchSize = o.batchSize;
  evaluationOptions.device = o.device;
  if (o.slice) {
    const auto [low, high] = parseRange("--range", o.range);
    SliceDirections directions;
    if (!o.directions.empty() && std::filesystem::exists(o.directions)) {
      directions = loadDirections(o.directions, parameterCount(*network));
    } else {
      DirectionOptions directionOptions;
      directionOptions.seed = o.seed;
      directions = makeFilterNormalizedDirections(*network, directionOptions);
      if (!o.directions.empty()) saveDirections(o.directions, directions);
    }
    saveDirections((out / "directions.bin").string(), directions);
    SliceOptions sliceOptions;
    sliceOptions.gridSize = o.grid;
    sliceOptions.rangeMin = low;
    sliceOptions.rangeMax = high;
    sliceOptions.evaluation = evaluationOptions;
    const SliceResult slice = computeLossSlice(*network, images, directions, sliceOptions, [](const SliceGrid& grid) {
      std::cerr << "slice: level " << grid.level << " done, " << grid.pointsDone << "/" << grid.pointsTotal
                << " points\n";
    });
    writeSliceCsv((out / "slice.csv").string(), slice.grid);
    writeSliceVts((out / "slice.vts").string(), slice.grid);
    result["slice"] = {{"grid", o.grid},
                       {"range", {low, high}},
                       {"directions", directions.seed},
                       {"directions_file", "directions.bin"},
                       {"filter_normalized", true},
                       {"centre_loss", slice.centreLoss},
                       {"files", {"slice.csv", "slice.vts"}}};
  }
  if (!o.interpolate.empty()) {
    const auto [low, high] = parseRange("--interpolate-range", o.interpolateRange);
    // A run, a checkpoint, or a bare weights file (e.g. another TorchScript model) of the same architecture.
    std::string otherWeights = o.interpolate;
    std::string otherDescription = o.interpolate;
    if (!std::filesystem::is_regular_file(o.interpolate)) {
      const SavedModel other = locateSavedModel(o.interpolate, "--interpolate");
      otherWeights = other.weightsPath;
      otherDescription = other.description;
    }
    auto otherNetwork = makeNetwork(run.model);
    otherNetwork->load(otherWeights);
    InterpolationOptions interpolationOptions;
    interpolationOptions.points = o.interpolatePoints;
    interpolationOptions.tMin = low;
    interpolationOptions.tMax = high;
    interpolationOptions.evaluation = evaluationOptions;
    const InterpolationResult curve = computeInterpolation(*network, images, flatWeights(*network),
                                                           flatWeights(*otherNetwork), interpolationOptions);
    writeInterpolationCsv((out / "interpolation.csv").string(), curve);
    result["interpolation"] = {{"to", otherDescription},
                               {"points", o.interpolatePoints},
                               {"range", {low, high}},
                               {"file", "interpolation.csv"}};
    std::cerr << "interpolation: " << curve.pointsDone << " points -> interpolation.csv\n";
  }

  if (o.trajectory) {
    if (o.checkpoint.empty()) throw ConfigError("--trajectory", "true", "needs --checkpoint RUN_DIRECTORY");
    // Every epoch's weights, oldest first; the last checkpoint is the final point. Memory: one flat
    // copy per checkpoint (fine for the small models this is drawn for; large models need sampling).
    const SavedModel saved = locateSavedModel(o.checkpoint);
    std::vector<std::filesystem::path> checkpoints;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(saved.runDirectory) / "checkpoints")) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("epoch-", 0) == 0 && name.find(".tmp") == std::string::npos) {
        checkpoints.push_back(entry.path());
      }
    }
    std::sort(checkpoints.begin(), checkpoints.end());
    if (checkpoints.size() < 2) {
      throw ConfigError("--trajectory", o.checkpoint, "the run needs at least two checkpoints");
    }
    auto walker = makeNetwork(run.model);
    std::vector<std::vector<double>> weights;
    std::vector<int> epochs;
    for (const auto& checkpoint : checkpoints) {
      walker->load((checkpoint / "model.pt").string());
      weights.push_back(flatWeights(*walker));
      epochs.push_back(std::stoi(checkpoint.filename().string().substr(6)));
    }
    const TrajectoryProjection projection = projectTrajectory(weights, weights.back());
    writeTrajectoryCsv((out / "trajectory.csv").string(), epochs, projection);
    result["trajectory"] = {{"checkpoints", epochs.size()},
                            {"explained_by_plane", number(projection.explainedByPlane())},
                            {"file", "trajectory.csv"}};
    std::cerr << "trajectory: " << epochs.size() << " checkpoints, the plane explains "
              << projection.explainedByPlane() << " of the variance\n";
  }

  const std::string path = (out / "analysis.json").string();
  writeFileAtomically(path, result.dump(2) + "\n");
  std::cout << "results in " << path << "\n";
  return 0;
}

}  // namespace samscape::cli

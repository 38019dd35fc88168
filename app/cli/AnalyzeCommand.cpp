#include "cli/AnalyzeCommand.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "analysis/HessianSpectrum.h"
#include "analysis/HessianTrace.h"
#include "analysis/ModelHessianTorch.h"
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
  app->add_flag("--eigenvectors", o.eigenvectors, "Also compute the eigenvectors (kept in memory, not written)");
  app->add_flag("--trace", o.trace, "Hessian trace by Hutchinson's estimator");
  app->add_option("--trace-probes", o.traceProbes, "Rademacher probes for --trace")->capture_default_str();
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
  if (o.hessianTop < 0) throw ConfigError("--hessian-top", std::to_string(o.hessianTop), "must be 0 (off) or positive");
  if (o.trace && o.traceProbes < 2) {
    throw ConfigError("--trace-probes", std::to_string(o.traceProbes), "needs at least 2 probes");
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
  if (o.split == "test") dataOptions.testSubset = o.subset;
  const DatasetSplits data = loadDataset(dataOptions);
  ImageSet images = o.split == "test" ? data.test : data.train;
  if (o.split == "train" && o.subset > 0) {
    if (o.subset > static_cast<std::int64_t>(images.size())) {
      throw ConfigError("--subset", std::to_string(o.subset),
                        "the training split holds only " + std::to_string(images.size()) + " examples");
    }
    images.labels.resize(static_cast<std::size_t>(o.subset));
    images.pixels.resize(static_cast<std::size_t>(o.subset) * images.imageBytes());
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

  if (o.hessianTop > 0 || o.trace) {
    ModelHessianOptions hessianOptions;
    hessianOptions.normalize = run.normalize;
    hessianOptions.statistics = data.trainStatistics;
    hessianOptions.batchSize = o.batchSize;
    hessianOptions.device = o.device;
    hessianOptions.doublePrecision = !o.singlePrecision;
    const auto hessian = makeModelHessian(*network, images, hessianOptions);
    if (o.hessianTop > 0) {
      SpectrumOptions spectrumOptions;
      spectrumOptions.topK = o.hessianTop;
      spectrumOptions.eigenvectors = o.eigenvectors;
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

  const std::string path = (std::filesystem::path(o.outDir) / "analysis.json").string();
  writeFileAtomically(path, result.dump(2) + "\n");
  std::cout << "results in " << path << "\n";
  return 0;
}

}  // namespace samscape::cli

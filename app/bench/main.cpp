// samscape-bench: training-step costs measured side by side in one run, so that the ratios hold even
// on a shared, noisy machine. For each model, at a fixed batch on random data of the model's usual
// input shape, it times full training steps (forward, backward, update, through the trainer's own
// step) for SGD, SAM, SAM with m = 32, ASAM, GSAM, LookSAM (k = 5), Momentum-SAM and late-phase SAM's
// steps before its switch (--sam-from-epoch), interleaved in rounds; then prints SGD's images/s and
// step times (the fastest round: noise on a shared machine only ever adds time) and the cost ratios
// (the median over rounds of the ratio within each round). With --pytorch-reference SCRIPT it then
// runs the same steps in PyTorch from Python (app/bench/pytorch_reference.py) on the same device, so
// a GPU run compares samscape with PyTorch on the same GPU in the same run, and a CPU run compares
// them with the same number of threads.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "analysis/AnalysisSession.h"
#include "analysis/EigenpairCheck.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/LossSurfaceTorch.h"
#include "analysis/ModelHessianTorch.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/DatasetObjective.h"
#include "core/train/DataParallelStep.h"
#include "core/train/Evaluation.h"

namespace {

using namespace samscape;
using Clock = std::chrono::steady_clock;

struct Variant {
  std::string label;
  OptimizerSpec spec;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<SharpnessRule> rule;  // its state (LookSAM's g_v) carries from step to step
  std::int64_t steps = 0;     // LookSAM's schedule counts them
  std::int64_t epoch = 0;     // the epoch its steps are taken in (late-phase SAM switches by it)
  double bestSecondsPerStep = std::numeric_limits<double>::infinity();
  std::vector<double> secondsPerRound;
};

// The median over rounds of a's time over b's in the same round: adjacent measurements share the
// machine's load of the moment, so their ratio is steadier than a ratio of separate bests.
double medianRatio(const Variant& a, const Variant& b) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < a.secondsPerRound.size(); ++i) ratios.push_back(a.secondsPerRound[i] / b.secondsPerRound[i]);
  std::sort(ratios.begin(), ratios.end());
  const std::size_t n = ratios.size();
  return n % 2 == 1 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]);
}

OptimizerSpec specFor(const std::string& kind, std::int64_t m, std::int64_t samFromEpoch = 0) {
  OptimizerSpec spec;
  spec.kind = kind;
  spec.m = m;
  spec.samFromEpoch = samFromEpoch;
  return spec;
}

// A built-in model on its usual input: 1x28x28 for mlp and cnn (Fashion-MNIST), 3x32x32 for the others
// (CIFAR-10); ten classes.
ModelSpec benchModel(const std::string& name) {
  const bool small = name == "cnn" || name == "mlp";
  ModelSpec model;
  model.name = name;
  model.inputChannels = small ? 1 : 3;
  model.imageHeight = small ? 28 : 32;
  model.imageWidth = model.imageHeight;
  model.numClasses = 10;
  return model;
}

// Returns SAM's best seconds per step (for the comparison with PyTorch's).
double benchmarkModel(const std::string& name, std::int64_t batchSize, int rounds, int stepsPerRound,
                      const std::string& device, bool print = true) {
  const ModelSpec model = benchModel(name);
  const auto channels = model.inputChannels;
  const auto side = model.imageHeight;
  torch::manual_seed(0);
  std::vector<Replica> replicas = makeReplicas(model, {device});
  replicas.front().network->setTraining(true);
  const Batch batch{torch::randn({batchSize, channels, side, side}).to(replicas.front().device),
                    torch::randint(0, 10, {batchSize}, torch::kInt64).to(replicas.front().device)};

  std::vector<Variant> variants;
  for (const auto& [label, spec] : std::vector<std::pair<std::string, OptimizerSpec>>{
           {"sgd", specFor("sgd", 0)},
           {"sam", specFor("sam", 0)},
           {"sam m=32", specFor("sam", std::min<std::int64_t>(32, batchSize))},
           {"asam", specFor("asam", 0)},
           {"gsam", specFor("gsam", 0)},
           {"looksam k=5", specFor("looksam", 0)},
           {"msam", specFor("msam", 0)},
           // Late-phase SAM switching at epoch 2, its steps taken in epoch 1: what its early epochs cost.
           {"late sam, before the switch", specFor("sam", 0, 2)}}) {
    Variant variant;
    variant.label = label;
    variant.spec = spec;
    variant.epoch = spec.samFromEpoch > 0 ? spec.samFromEpoch - 1 : 1;
    variants.push_back(std::move(variant));
  }
  // One step of a variant, through the trainer's own step with the variant's memory and step count.
  auto step = [&](Variant& variant) {
    StepContext context;
    context.globalStep = variant.steps++;
    context.epoch = variant.epoch;
    context.rule = variant.rule.get();
    trainingStep(replicas, *variant.optimizer, variant.spec, batch, nullptr, context);
  };
  for (auto& variant : variants) {
    variant.optimizer = makeOptimizer(replicas.front().parameters, variant.spec);
    variant.rule = makeSharpnessRule(variant.spec);
    step(variant);  // warm-up
  }
  for (int round = 0; round < rounds; ++round) {
    for (auto& variant : variants) {
      const auto start = Clock::now();
      // trainingStep returns host numbers, so each step has finished on the device when it returns.
      // A round of LookSAM spans whole periods of k steps, so that each round holds its share of ascents.
      const int count = variant.spec.kind == "looksam"
                            ? stepsPerRound * static_cast<int>(variant.spec.lookSamK)
                            : stepsPerRound;
      for (int i = 0; i < count; ++i) step(variant);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count() / count;
      variant.bestSecondsPerStep = std::min(variant.bestSecondsPerStep, seconds);
      variant.secondsPerRound.push_back(seconds);
    }
  }
  const double sgd = variants[0].bestSecondsPerStep;
  const double sam = variants[1].bestSecondsPerStep;
  if (!print) return sam;
  std::printf("%-10s %-8s %10.1f %9.2f %9.2f %12.3f %16.3f %11.3f %11.3f %15.3f %9.3f %13.3f\n", name.c_str(),
              (std::to_string(channels) + "x" + std::to_string(side) + "x" + std::to_string(side)).c_str(),
              static_cast<double>(batchSize) / sgd, 1000 * sgd, 1000 * sam, medianRatio(variants[1], variants[0]),
              medianRatio(variants[2], variants[1]), medianRatio(variants[3], variants[1]),
              medianRatio(variants[4], variants[1]), medianRatio(variants[5], variants[0]),
              medianRatio(variants[6], variants[0]), medianRatio(variants[7], variants[0]));
  std::fflush(stdout);
  return sam;
}

// What each analysis stage costs (analysis/StageCost.h, analysis.json "costs"): one analysis of the cnn
// (its initial weights) on --analysis-examples Fashion-MNIST test images with every Hessian stage, m-sharpness and a
// small slice, each stage's time, Hessian-vector products and peak resident memory as the job records
// them. Needs the dataset (Debian's dataset-fashion-mnist); says so and skips without it.
void benchmarkAnalysisCosts(const std::string& device, std::int64_t examples) {
  std::printf("\nanalysis cost per stage (cnn at its initial weights, %lld Fashion-MNIST test images; analysis.json "
              "\"costs\"):\n",
              static_cast<long long>(examples));
  if (!std::filesystem::is_directory(kDefaultFashionMnistDir)) {
    std::printf("  skipped: no Fashion-MNIST in %s (Debian's dataset-fashion-mnist)\n", kDefaultFashionMnistDir);
    return;
  }
  AnalysisModel model;
  model.run.model.name = "cnn";
  model.run.device = device;
  model.description = "samscape-bench: cnn, initial weights";
  AnalysisRequest request;
  request.subset = examples;
  request.hessianTop = 5;
  request.trace = true;
  request.traceProbes = 20;
  request.esd = true;
  request.esdProbes = 2;
  request.esdSteps = 30;
  request.perturbationAlignment = true;
  request.mSharpness = true;
  request.m = std::max<std::int64_t>(1, examples / 4);
  request.slice = true;
  request.grid = 11;
  torch::manual_seed(0);
  AnalysisSession session(model, request);
  const auto out = std::filesystem::temp_directory_path() / ("samscape-bench-costs-" + std::to_string(::getpid()));
  const AnalysisResults results = session.analyze("", "", out.string());
  std::error_code ignored;
  std::filesystem::remove_all(out, ignored);
  // The peak is the process' resident memory: memory an earlier stage freed but the allocator kept is
  // reused by a later one without adding to it, so the added column can read 0 for a stage whose
  // tensors fit in what was already held.
  std::printf("  %-24s %9s %9s %16s %12s\n", "stage", "seconds", "products", "peak memory +MiB", "peak MiB");
  const auto mib = [](const std::optional<double>& bytes) {
    return bytes ? std::to_string(std::llround(*bytes / (1024.0 * 1024.0))) : std::string("n/a");
  };
  for (const StageCost& cost : results.costs) {
    std::printf("  %-24s %9.3f %9lld %16s %12s\n", cost.stage.c_str(), cost.seconds,
                static_cast<long long>(cost.hessianVectorProducts), mib(cost.peakAddedBytes()).c_str(),
                mib(cost.peakResidentBytes).c_str());
  }
  std::fflush(stdout);
}

// The GPU's name, as the CUDA runtime reports it (through LibTorch, so no CUDA headers here).
std::string cudaDeviceName(const std::string& device) {
  const torch::Device target(device);
  const int index = target.has_index() ? target.index() : 0;
  // torch.cuda.get_device_name is Python-only; nvidia-smi knows it without linking CUDA here.
  const std::string command = "nvidia-smi --query-gpu=name --format=csv,noheader -i " + std::to_string(index) + " 2>/dev/null";
  std::string name;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char line[256];
    if (std::fgets(line, sizeof line, pipe) != nullptr) name = line;
    pclose(pipe);
  }
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  return name.empty() ? device + " (name unknown: no nvidia-smi)" : device + ", " + name;
}

template <typename Action>
double secondsOf(Action&& action) {
  const auto start = Clock::now();
  action();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Lanczos started cold (Spectra's fixed vector) and warm (the sum of the previous analysis' top
// eigenvectors, as `train --analyze-every` does) on the Hessian one epoch after that analysis.
struct LanczosStarts {
  int steps = 0;
  std::int64_t cold = 0;
  std::int64_t warm = 0;        // Lanczos from the sum of the previous eigenvectors (the method before LOBPCG)
  std::int64_t warmBlock = 0;   // LOBPCG from all of them (what `train --analyze-every` does now)
  double largestDifference = 0.0;  // LOBPCG's eigenvalues against cold Lanczos', largest relative difference
  bool allConverged = false;
};

LanczosStarts lanczosWarmStart(Network& network, const ImageSet& images, const std::string& device) {
  ModelHessianOptions hessianOptions;
  hessianOptions.evaluation.normalize = false;
  hessianOptions.evaluation.batchSize = static_cast<std::int64_t>(images.size());
  hessianOptions.evaluation.device = device;
  SpectrumOptions options;
  options.topK = 5;
  options.tolerance = 1e-4;
  options.eigenvectors = true;

  // SGD over the images in batches of 32: 20 epochs to leave the initialization behind, then one more
  // between the two analyses, as `train --analyze-every 1` has between its analyses mid-run.
  OptimizerSpec sgd;
  sgd.learningRate = 0.05;
  const torch::Device target(device);
  const torch::Tensor pixels = torch::tensor(std::vector<float>(images.pixels.begin(), images.pixels.end()))
                                   .view({-1, 1, 28, 28})
                                   .div(255.0)
                                   .to(target);
  const torch::Tensor labels = torch::tensor(images.labels, torch::kInt64).to(target);
  auto optimizer = makeOptimizer(network.parameters(), sgd);
  LanczosStarts result;
  const auto trainEpochs = [&](int epochs) {
    network.setTraining(true);
    for (int epoch = 0; epoch < epochs; ++epoch) {
      for (std::int64_t begin = 0; begin < static_cast<std::int64_t>(images.size()); begin += 32) {
        for (auto& parameter : network.parameters()) {
          if (parameter.grad().defined()) parameter.mutable_grad().zero_();
        }
        torch::nn::functional::cross_entropy(network.forward(pixels.slice(0, begin, begin + 32)),
                                             labels.slice(0, begin, begin + 32))
            .backward();
        optimizer->applyGradients();
        ++result.steps;
      }
    }
    network.setTraining(false);
  };
  trainEpochs(20);
  std::vector<double> start;
  std::vector<std::vector<double>> previous;
  {
    const auto hessian = makeModelHessian(network, images, hessianOptions);
    previous = topEigenvalues(*hessian, options).eigenvectors;
    for (const auto& vector : previous) {
      if (start.empty()) start.assign(vector.size(), 0.0);
      for (std::size_t i = 0; i < vector.size(); ++i) start[i] += vector[i];
    }
  }
  result.steps = 0;
  trainEpochs(1);
  const auto hessian = makeModelHessian(network, images, hessianOptions);
  options.eigenvectors = false;
  const SpectrumResult cold = topEigenvalues(*hessian, options);
  result.cold = cold.hessianVectorProducts;
  options.start = start;
  const SpectrumResult warm = topEigenvalues(*hessian, options);
  result.warm = warm.hessianVectorProducts;
  options.start.clear();
  options.startBlock = previous;
  const SpectrumResult block = topEigenvalues(*hessian, options);
  result.warmBlock = block.hessianVectorProducts;
  result.allConverged = cold.converged && warm.converged && block.converged &&
                        block.eigenvalues.size() == cold.eigenvalues.size();
  for (std::size_t i = 0; result.allConverged && i < cold.eigenvalues.size(); ++i) {
    result.largestDifference = std::max(result.largestDifference, std::abs(block.eigenvalues[i] - cold.eigenvalues[i]) /
                                                                      std::abs(cold.eigenvalues[i]));
  }
  return result;
}



// Peak resident memory since the last reset, in MiB (Linux: VmHWM, reset by writing 5 to clear_refs;
// NaN where /proc does not have them).
void resetPeakMemory() {
  if (FILE* file = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", file);
    std::fclose(file);
  }
}

double peakMemoryMiB() {
  std::FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return std::numeric_limits<double>::quiet_NaN();
  char line[256];
  double kib = std::numeric_limits<double>::quiet_NaN();
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::sscanf(line, "VmHWM: %lf kB", &kib) == 1) break;
  }
  std::fclose(file);
  return kib / 1024.0;
}

ImageSet randomImages(std::int64_t count, int channels, int side, std::uint64_t seed) {
  ImageSet images;
  images.channels = channels;
  images.height = side;
  images.width = side;
  images.numClasses = 10;
  std::mt19937_64 engine(seed);
  for (std::int64_t i = 0; i < count; ++i) {
    images.labels.push_back(i % 10);
    for (std::size_t p = 0; p < images.imageBytes(); ++p) images.pixels.push_back(static_cast<std::uint8_t>(engine()));
  }
  return images;
}

// What PyTorch from Python measured for one model (pytorch_reference.py --analysis).
struct ReferenceProducts {
  double gradient = 0.0;
  double doubleBackward = 0.0;
  double forwardOverReverse = 0.0;  // NaN when PyTorch could not
  double peakMiB = 0.0;
};

struct ScalingOptions {
  std::vector<std::string> models;
  std::int64_t examples = 256;       // gradient, products, top-5
  std::int64_t sliceExamples = 1000;
  int sliceGrid = 21;
  int timedGrid = 5;                 // the grid actually timed (its time projected to sliceGrid's)
  int rounds = 3;
  std::string device = "cpu";
};

// The scaling table: per model, parameters, one gradient, one product by each method (the
// faster one is what the analyses use), the top 5 eigenvalues to 1e-4 by the default precision policy
// (float32 products, then the eigenpairs checked with float64 products), a slice's throughput against
// plain forward passes, and the peak resident memory of these analyses.
std::map<std::string, double> analysisScaling(const ScalingOptions& options) {
  std::printf("\nanalysis scaling (%lld random images per gradient, product and top 5; evaluation mode; float32 unless "
              "said; fastest of %d)\n",
              static_cast<long long>(options.examples), options.rounds);
  std::printf("%-9s %9s %8s %9s %9s %8s %8s %-21s %9s %6s %9s %9s %9s %9s\n", "model", "params", "grad s", "db s",
              "fwd-rev s", "db/grad", "fr/grad", "analyses use", "top5 s", "hvps", "check s", "slice s", "slice/fwd",
              "peak MiB");
  std::map<std::string, double> productSeconds;
  const torch::Device target(options.device);
  for (const std::string& name : options.models) {
    const ModelSpec spec = benchModel(name);
    const auto channels = static_cast<int>(spec.inputChannels);
    const auto side = static_cast<int>(spec.imageHeight);
    torch::manual_seed(0);
    auto network = makeNetwork(spec);
    {
      // Running statistics as after training (not the initial 0 and 1).
      torch::NoGradGuard noGrad;
      network->setTraining(true);
      network->forward(torch::randn({64, channels, side, side}));
      network->setTraining(false);
    }
    network->to(target);
    const ImageSet images = randomImages(options.examples, channels, side, 11);
    resetPeakMemory();

    EvaluationSettings objectiveOptions;
    objectiveOptions.normalize = false;
    objectiveOptions.batchSize = 256;
    objectiveOptions.device = options.device;
    DatasetObjective objective(*network, images, objectiveOptions);
    const torch::Tensor v = torch::randn({objective.parameterCount()}).to(target);
    double gradient = std::numeric_limits<double>::infinity();
    double doubleBackward = gradient;
    double forwardOverReverse = gradient;
    objective.gradient();  // warm-up
    for (int round = 0; round < options.rounds; ++round) {
      gradient = std::min(gradient, secondsOf([&] { objective.gradient().sum().item<double>(); }));
      objective.setProductMethod(ProductMethod::DoubleBackward);
      doubleBackward = std::min(doubleBackward, secondsOf([&] { objective.hessianVectorProduct(v).sum().item<double>(); }));
      objective.setProductMethod(ProductMethod::ForwardOverReverse);
      forwardOverReverse =
          std::min(forwardOverReverse, secondsOf([&] { objective.hessianVectorProduct(v).sum().item<double>(); }));
    }

    ModelHessianOptions hessianOptions;
    hessianOptions.evaluation.normalize = false;
    hessianOptions.evaluation.device = options.device;
    SpectrumOptions spectrumOptions;
    spectrumOptions.topK = 5;
    spectrumOptions.tolerance = 1e-4;
    double topSeconds = 0.0;
    double checkSeconds = 0.0;
    std::int64_t products = 0;
    std::string method;
    {
      const auto start = Clock::now();
      const auto hessian = makeModelHessian(*network, images, hessianOptions);
      // The check's time: the float64 view's products, timed as they happen.
      struct TimedView : SymmetricOperator {
        SymmetricOperator& inner;
        double seconds = 0.0;
        explicit TimedView(SymmetricOperator& view) : inner(view) {}
        std::int64_t size() const override { return inner.size(); }
        void apply(const double* in, double* out) override { applyMany(1, in, out); }
        void applyMany(std::int64_t count, const double* in, double* out) override {
          seconds += secondsOf([&] { inner.applyMany(count, in, out); });
        }
      } float64(hessian->inDoublePrecision());
      const CheckedSpectrum checked = checkedTopEigenvalues(*hessian, float64, spectrumOptions);
      topSeconds = std::chrono::duration<double>(Clock::now() - start).count();
      checkSeconds = float64.seconds;
      products = checked.spectrum.hessianVectorProducts;
      method = productMethodName(hessian->productMethod().method);
      if (checked.outcome != "passed") method += " (" + checked.outcome + ")";
    }
    const double peak = peakMemoryMiB();

    // The slice: examples/s over a grid's points against plain evaluation-mode forward passes over the
    // same prepared batches.
    const ImageSet sliceImages = randomImages(options.sliceExamples, channels, side, 13);
    SliceOptions sliceOptions;
    sliceOptions.gridSize = options.sliceGrid;
    sliceOptions.evaluation.normalize = false;
    sliceOptions.evaluation.batchSize = 256;
    sliceOptions.evaluation.device = options.device;
    // A slice's cost is its points': a smaller grid is timed and projected to the whole one.
    const int timedGrid = std::min(options.timedGrid, options.sliceGrid);
    sliceOptions.gridSize = timedGrid;
    const int seen = timedGrid * timedGrid;
    const double gridPoints = static_cast<double>(options.sliceGrid) * options.sliceGrid;
    const SliceDirections directions = makeFilterNormalizedDirections(*network, DirectionOptions{});
    const double slice = secondsOf([&] { computeLossSlice(*network, sliceImages, directions, sliceOptions); });
    const torch::Tensor forwardImages =
        torch::rand({options.sliceExamples, channels, side, side}).to(target);
    const double forward = secondsOf([&] {
      torch::NoGradGuard noGrad;
      network->setTraining(false);
      for (int point = 0; point < seen; ++point) {
        for (std::int64_t begin = 0; begin < options.sliceExamples; begin += 256) {
          network->forward(forwardImages.slice(0, begin, std::min(begin + 256, options.sliceExamples))).sum().item<double>();
        }
      }
    });
    const double sliceSeconds = slice / seen * gridPoints;
    productSeconds[name] = std::min(doubleBackward, forwardOverReverse);
    std::printf("%-9s %9lld %8.3f %9.3f %9.3f %8.2f %8.2f %-21s %9.1f %6lld %9.1f %9.1f%s %9.3f %9.0f\n", name.c_str(),
                static_cast<long long>(objective.parameterCount()), gradient, doubleBackward, forwardOverReverse,
                doubleBackward / gradient, forwardOverReverse / gradient, method.c_str(), topSeconds,
                static_cast<long long>(products), checkSeconds, sliceSeconds, seen < gridPoints ? "*" : " ",
                forward / slice, peak);
    std::fflush(stdout);
    if (name == "resnet20" && options.examples == 256) {
      const double worst = std::min(doubleBackward, forwardOverReverse) / gradient;
      std::printf("  resnet20 targets: top 5 to 1e-4 on 256 images %.1f s (target 60 s: %s); product %.2f gradients "
                  "(target 3: %s)\n",
                  topSeconds, topSeconds <= 60.0 ? "met" : ("missed by " + std::to_string(static_cast<int>(topSeconds - 60.0 + 0.5)) + " s").c_str(),
                  worst, worst <= 3.0 ? "met" : "missed");
    }
  }
  std::printf("  slice: a %d x %d grid over %lld images (* projected from a %d x %d grid's time, --slice-timed-grid)\n",
              options.sliceGrid, options.sliceGrid, static_cast<long long>(options.sliceExamples),
              std::min(options.timedGrid, options.sliceGrid), std::min(options.timedGrid, options.sliceGrid));
  std::printf("  columns: one gradient; one product by double backward (db) and by forward over reverse (fwd-rev); "
              "top5: the whole stage (choosing the method, float32 Lanczos, the float64 check: check s); slice/fwd: "
              "the slice's examples/s over plain forward passes' (target >= 0.9); peak: resident memory of the "
              "gradient, products and top 5 (whole process)\n");
  std::fflush(stdout);
  return productSeconds;
}

// The same gradient and products in PyTorch from Python (pytorch_reference.py --analysis: the same
// models, images, chunk, threads and device), its lines passed through, and samscape's faster product
// over PyTorch's faster one.
void compareProductsWithPyTorch(const std::string& python, const std::string& script, const ScalingOptions& options,
                                int threads, const std::map<std::string, double>& samscapeProducts) {
  std::string modelList;
  for (const auto& model : options.models) modelList += (modelList.empty() ? "" : ",") + model;
  const std::string command = python + " '" + script + "' --analysis --device " + options.device + " --threads " +
                              std::to_string(threads) + " --models " + modelList + " --examples " +
                              std::to_string(options.examples) + " --chunk 256 --rounds " + std::to_string(options.rounds);
  std::printf("\n");
  std::fflush(stdout);
  std::FILE* reference = ::popen(command.c_str(), "r");
  if (reference == nullptr) throw Error("--pytorch-reference: cannot run `" + command + "`");
  std::map<std::string, double> pytorchProducts;
  char line[1024];
  while (std::fgets(line, sizeof line, reference) != nullptr) {
    std::fputs(line, stdout);
    char model[64];
    ReferenceProducts products;
    double parameters = 0.0;
    if (line[0] != '#' && std::sscanf(line, "%63s %lf %lf %lf %lf %lf", model, &parameters, &products.gradient,
                                      &products.doubleBackward, &products.forwardOverReverse, &products.peakMiB) == 6) {
      pytorchProducts[model] = std::isnan(products.forwardOverReverse)
                                   ? products.doubleBackward
                                   : std::min(products.doubleBackward, products.forwardOverReverse);
    }
  }
  std::fflush(stdout);
  if (::pclose(reference) != 0) throw Error("--pytorch-reference: `" + command + "` failed");
  std::printf("samscape product s / PyTorch product s (each side's faster method; same torch, threads, images)\n");
  for (const auto& model : options.models) {
    const auto ours = samscapeProducts.find(model);
    const auto theirs = pytorchProducts.find(model);
    if (ours == samscapeProducts.end() || theirs == pytorchProducts.end()) continue;
    std::printf("  %-10s %8.3f\n", model.c_str(), ours->second / theirs->second);
  }
  std::fflush(stdout);
}

void benchmarkWarmStart(const std::string& device) {
  const ImageSet images = randomImages(256, 1, 28, 7);
  ModelSpec spec;
  spec.name = "cnn";
  torch::manual_seed(0);
  auto network = makeNetwork(spec);
  network->to(torch::Device(device));
  const LanczosStarts starts = lanczosWarmStart(*network, images, device);
  // Every vector of a block counts as one product, as for Lanczos.
  std::printf("\nwarm start (cnn, 256 images of 1x28x28): Hessian-vector products, top 5 to 1e-4, one epoch "
              "(%d steps) after the last analysis: cold (Lanczos) %lld; warm LOBPCG from the 5 eigenvectors %lld "
              "(warm / cold %.3f); warm Lanczos from their sum %lld (warm / cold %.3f)\n",
              starts.steps, static_cast<long long>(starts.cold), static_cast<long long>(starts.warmBlock),
              static_cast<double>(starts.warmBlock) / static_cast<double>(starts.cold),
              static_cast<long long>(starts.warm), static_cast<double>(starts.warm) / static_cast<double>(starts.cold));
  if (starts.allConverged) {
    std::printf("  LOBPCG's eigenvalues against cold Lanczos': largest relative difference %.2g (tolerance 1e-4)\n",
                starts.largestDifference);
  } else {
    std::printf("  not every solve converged: the products above are not comparable\n");
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"samscape-bench: training-step costs of SGD, SAM, m-sharpness, ASAM, GSAM, LookSAM, Momentum-SAM and late-phase SAM"};
  int threads = 0;
  std::int64_t batchSize = 128;
  int rounds = 9;
  int steps = 2;
  std::string device = "cpu";
  std::vector<std::string> models{"cnn", "resnet20"};
  std::string pytorchReference;
  std::string python = SAMSCAPE_TORCH_PYTHON;  // the Python the build took LibTorch from
  bool skipAnalysis = false;
  app.add_option("--models", models, "Models to time (cnn on 1x28x28, the others on 3x32x32)")->delimiter(',');
  app.add_option("--pytorch-reference", pytorchReference,
                 "Then run this Python script (app/bench/pytorch_reference.py) with the same settings");
  int alternations = 5;
  app.add_option("--alternations", alternations,
                 "With --pytorch-reference: time both sides this many times, alternately, for the comparison")
      ->capture_default_str();
  app.add_option("--python", python, "Python interpreter for --pytorch-reference (one with torch)")->capture_default_str();
  app.add_flag("--skip-analysis", skipAnalysis, "Time the training steps only");
  bool analysisOnly = false;
  app.add_flag("--analysis-only", analysisOnly, "Time the analyses only (the scaling table), not the training steps");
  bool warmStartOnly = false;
  app.add_flag("--warm-start-only", warmStartOnly,
               "Only the warm start's Hessian-vector products (cold Lanczos, warm LOBPCG, warm Lanczos)");
  ScalingOptions scaling;
  scaling.models = {"mlp", "cnn", "resnet20", "wrn16-4"};
  app.add_option("--analysis-models", scaling.models, "Models of the analysis scaling table")->delimiter(',')->capture_default_str();
  app.add_option("--analysis-examples", scaling.examples, "Images for the gradient, the products and the top 5")
      ->capture_default_str();
  app.add_option("--slice-examples", scaling.sliceExamples, "Images for the slice")->capture_default_str();
  app.add_option("--slice-grid", scaling.sliceGrid, "The slice's grid (points per axis)")->capture_default_str();
  app.add_option("--slice-timed-grid", scaling.timedGrid, "The grid timed, projected to --slice-grid's")->capture_default_str();
  app.add_option("--analysis-rounds", scaling.rounds, "Gradients and products: the fastest of this many")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: every core)")->capture_default_str();
  app.add_option("--batch-size", batchSize, "Batch size")->capture_default_str();
  app.add_option("--rounds", rounds, "Interleaved rounds (ratios: median over rounds)")->capture_default_str();
  app.add_option("--steps", steps, "Timed steps per variant and round")->capture_default_str();
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::cerr << "samscape-bench: error: " << error.what() << "\n";
    return 2;
  }
  try {
    if (batchSize <= 0) throw ConfigError("--batch-size", std::to_string(batchSize), "must be positive");
    if (steps <= 0) throw ConfigError("--steps", std::to_string(steps), "must be positive");
    if (rounds <= 0) throw ConfigError("--rounds", std::to_string(rounds), "must be positive");
    if (alternations <= 0) throw ConfigError("--alternations", std::to_string(alternations), "must be positive");
    if (skipAnalysis && analysisOnly) throw ConfigError("--analysis-only", "true", "contradicts --skip-analysis");
    if (skipAnalysis && warmStartOnly) throw ConfigError("--warm-start-only", "true", "contradicts --skip-analysis");
    if (scaling.examples <= 0) throw ConfigError("--analysis-examples", std::to_string(scaling.examples), "must be positive");
    if (scaling.sliceExamples <= 0) throw ConfigError("--slice-examples", std::to_string(scaling.sliceExamples), "must be positive");
    if (scaling.sliceGrid < 2) throw ConfigError("--slice-grid", std::to_string(scaling.sliceGrid), "must be at least 2");
    if (scaling.timedGrid < 2) throw ConfigError("--slice-timed-grid", std::to_string(scaling.timedGrid), "must be at least 2");
    if (scaling.rounds <= 0) throw ConfigError("--analysis-rounds", std::to_string(scaling.rounds), "must be positive");
    scaling.device = device;
    checkDeviceName(device);
    // Checked before the minutes of timing, not after them.
    if (!pytorchReference.empty() && !std::filesystem::is_regular_file(pytorchReference)) {
      throw ConfigError("--pytorch-reference", pytorchReference, "no such file");
    }
    const int usedThreads = configureThreads(threads);
    const RuntimeInfo info = runtimeInfo();
    std::printf("samscape-bench: LibTorch %s, device %s, %d threads, batch %lld, %d rounds of %d steps\n",
                info.torchVersion.c_str(), device.c_str(), usedThreads, static_cast<long long>(batchSize), rounds,
                steps);
    if (warmStartOnly) {
      benchmarkWarmStart(device);
      return 0;
    }
    if (!analysisOnly) {
      std::printf("%-10s %-8s %10s %9s %9s %12s %16s %11s %11s %15s %9s %13s\n", "model", "input", "sgd img/s",
                  "sgd ms", "sam ms", "sam/sgd", "sam m=32/m=all", "asam/sam", "gsam/sam", "looksam k=5/sgd",
                  "msam/sgd", "late pre/sgd");
    }
    if (device != "cpu") std::printf("GPU: %s\n", cudaDeviceName(device).c_str());
    std::map<std::string, double> samSeconds;
    const auto timeModels = [&](bool print) {
      for (const auto& model : models) {
        const double sam = benchmarkModel(model, batchSize, rounds, steps, device, print);
        samSeconds[model] = samSeconds.count(model) ? std::min(samSeconds[model], sam) : sam;
      }
    };
    if (!analysisOnly) timeModels(true);
    if (!skipAnalysis) {
      const std::map<std::string, double> products = analysisScaling(scaling);
      if (!pytorchReference.empty()) compareProductsWithPyTorch(python, pytorchReference, scaling, usedThreads, products);
      benchmarkWarmStart(device);
    }
    if (!skipAnalysis) benchmarkAnalysisCosts(device, scaling.examples);
    if (!pytorchReference.empty() && !analysisOnly) {
      std::string modelList;
      for (const auto& model : models) modelList += (modelList.empty() ? "" : ",") + model;
      // The same thread count as this side: a distribution's torch may start with one intra-op thread.
      const std::string command = python + " '" + pytorchReference + "' --device " + device + " --threads " +
                                  std::to_string(usedThreads) + " --batch-size " + std::to_string(batchSize) +
                                  " --models " + modelList + " --rounds " + std::to_string(rounds) + " --steps " +
                                  std::to_string(steps);
      std::printf("\n");
      std::fflush(stdout);
      // Its lines pass through (the first time); its SAM step times are kept for the comparison below.
      std::map<std::string, double> pytorchSamSeconds;
      const auto timeReference = [&](bool print) {
        std::FILE* reference = ::popen((command + (print ? "" : " 2>/dev/null")).c_str(), "r");
        if (reference == nullptr) throw Error("--pytorch-reference: cannot run `" + command + "`");
        char line[512];
        while (std::fgets(line, sizeof line, reference) != nullptr) {
          if (print) std::fputs(line, stdout);
          char model[64];
          double images = 0.0, sgdMs = 0.0, samMs = 0.0, ratio = 0.0;
          if (std::sscanf(line, "%63s %lf %lf %lf %lf", model, &images, &sgdMs, &samMs, &ratio) == 5) {
            const double seconds = samMs / 1000.0;
            pytorchSamSeconds[model] = pytorchSamSeconds.count(model) ? std::min(pytorchSamSeconds[model], seconds) : seconds;
          }
        }
        std::fflush(stdout);
        return ::pclose(reference) == 0;
      };
      if (!timeReference(true)) {
        std::cerr << "samscape-bench: error: --pytorch-reference: `" << command << "` failed\n";
        return 1;
      }
      // The two sides run in different processes, one after the other: a slow spell of a shared machine
      // would land on one side only. So they alternate --alternations times and each side keeps its
      // fastest SAM step.
      for (int alternation = 1; alternation < alternations; ++alternation) {
        timeModels(false);
        if (!timeReference(false)) {
          std::cerr << "samscape-bench: error: --pytorch-reference: `" << command << "` failed\n";
          return 1;
        }
      }
      std::printf("\nsamscape SAM img/s / PyTorch eager SAM img/s (same torch, device, threads and batch; each side's\n"
                  "fastest SAM step over %d alternations of the two)\n", alternations);
      for (const auto& model : models) {
        const auto found = pytorchSamSeconds.find(model);
        if (found == pytorchSamSeconds.end()) continue;
        std::printf("  %-10s %8.3f\n", model.c_str(), found->second / samSeconds[model]);
      }
    }
  } catch (const samscape::Error& error) {
    std::cerr << "samscape-bench: error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}

// samscape-bench: training-step costs measured side by side in one run, so that the ratios hold even
// on a shared, noisy machine. For each model, at a fixed batch on random data of the model's usual
// input shape, it times full training steps (forward, backward, update, through the trainer's own
// step) for SGD, SAM, SAM with m = 32, ASAM, GSAM and LookSAM (k = 5), interleaved in rounds; then prints SGD's images/s and
// step times (the fastest round: noise on a shared machine only ever adds time) and the cost ratios
// (the median over rounds of the ratio within each round). With --pytorch-reference SCRIPT it then
// runs the same steps in PyTorch from Python (app/bench/pytorch_reference.py) on the same device, so
// a GPU run compares samscape with PyTorch on the same GPU in the same run, and a CPU run compares
// them with the same number of threads.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "analysis/HessianSpectrum.h"
#include "analysis/LossSurfaceTorch.h"
#include "analysis/ModelHessianTorch.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/ParameterVector.h"
#include "core/train/DataParallelStep.h"
#include "core/train/Evaluation.h"

namespace {

using namespace samscape;
using Clock = std::chrono::steady_clock;

struct Variant {
  std::string label;
  OptimizerSpec spec;
  std::unique_ptr<Optimizer> optimizer;
  GradientRuleMemory memory;  // LookSAM's g_v
  std::int64_t steps = 0;     // LookSAM's schedule counts them
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

OptimizerSpec specFor(OptimizerKind kind, std::int64_t m) {
  OptimizerSpec spec;
  spec.kind = kind;
  spec.m = m;
  return spec;
}

// Returns SAM's best seconds per step (for the comparison with PyTorch's).
double benchmarkModel(const std::string& name, int channels, int side, std::int64_t batchSize, int rounds,
                      int stepsPerRound, const std::string& device, bool print = true) {
  ModelSpec model;
  model.name = name;
  model.inputChannels = channels;
  model.imageHeight = side;
  model.imageWidth = side;
  model.numClasses = 10;
  torch::manual_seed(0);
  std::vector<Replica> replicas = makeReplicas(model, {device});
  replicas.front().network->setTraining(true);
  const Batch batch{torch::randn({batchSize, channels, side, side}).to(replicas.front().device),
                    torch::randint(0, 10, {batchSize}, torch::kInt64).to(replicas.front().device)};

  std::vector<Variant> variants;
  for (const auto& [label, spec] : std::vector<std::pair<std::string, OptimizerSpec>>{
           {"sgd", specFor(OptimizerKind::Sgd, 0)},
           {"sam", specFor(OptimizerKind::Sam, 0)},
           {"sam m=32", specFor(OptimizerKind::Sam, std::min<std::int64_t>(32, batchSize))},
           {"asam", specFor(OptimizerKind::Asam, 0)},
           {"gsam", specFor(OptimizerKind::Gsam, 0)},
           {"looksam k=5", specFor(OptimizerKind::LookSam, 0)}}) {
    Variant variant;
    variant.label = label;
    variant.spec = spec;
    variants.push_back(std::move(variant));
  }
  // One step of a variant, through the trainer's own step with the variant's memory and step count.
  auto step = [&](Variant& variant) {
    StepContext context;
    context.globalStep = variant.steps++;
    context.memory = &variant.memory;
    trainingStep(replicas, *variant.optimizer, variant.spec, batch, nullptr, context);
  };
  for (auto& variant : variants) {
    variant.optimizer = makeOptimizer(replicas.front().parameters, variant.spec);
    step(variant);  // warm-up
  }
  for (int round = 0; round < rounds; ++round) {
    for (auto& variant : variants) {
      const auto start = Clock::now();
      // trainingStep returns host numbers, so each step has finished on the device when it returns.
      // A round of LookSAM spans whole periods of k steps, so that each round holds its share of ascents.
      const int count = variant.spec.kind == OptimizerKind::LookSam
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
  std::printf("%-10s %-8s %10.1f %9.2f %9.2f %12.3f %16.3f %11.3f %11.3f %15.3f\n", name.c_str(),
              (std::to_string(channels) + "x" + std::to_string(side) + "x" + std::to_string(side)).c_str(),
              static_cast<double>(batchSize) / sgd, 1000 * sgd, 1000 * sam, medianRatio(variants[1], variants[0]),
              medianRatio(variants[2], variants[1]), medianRatio(variants[3], variants[1]),
              medianRatio(variants[4], variants[1]), medianRatio(variants[5], variants[0]));
  std::fflush(stdout);
  return sam;
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

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

template <typename Action>
double secondsOf(Action&& action) {
  const auto start = Clock::now();
  action();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The analyses' costs relative to what they are made of, on the small CNN over 256 images of
// Fashion-MNIST's shape: one Hessian-vector product over one gradient (both over the whole set, in
// float64 as `analyze` runs them), and a 5 x 5 loss slice's examples/s over plain evaluation-mode
// forward passes over the same data (float32, as the slice runs).
// Lanczos started cold (Spectra's fixed vector) and warm (the sum of the previous analysis' top
// eigenvectors, as `train --analyze-every` does) on the Hessian one epoch after that analysis.
struct LanczosStarts {
  int steps = 0;
  std::int64_t cold = 0;
  std::int64_t warm = 0;
};

LanczosStarts lanczosWarmStart(Network& network, const ImageSet& images, const std::string& device) {
  ModelHessianOptions hessianOptions;
  hessianOptions.normalize = false;
  hessianOptions.batchSize = static_cast<std::int64_t>(images.size());
  hessianOptions.device = device;
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
  {
    const auto hessian = makeModelHessian(network, images, hessianOptions);
    for (const auto& vector : topEigenvalues(*hessian, options).eigenvectors) {
      if (start.empty()) start.assign(vector.size(), 0.0);
      for (std::size_t i = 0; i < vector.size(); ++i) start[i] += vector[i];
    }
  }
  result.steps = 0;
  trainEpochs(1);
  const auto hessian = makeModelHessian(network, images, hessianOptions);
  options.eigenvectors = false;
  result.cold = topEigenvalues(*hessian, options).hessianVectorProducts;
  options.start = start;
  result.warm = topEigenvalues(*hessian, options).hessianVectorProducts;
  return result;
}

void benchmarkAnalysis(int rounds, const std::string& device) {
  ImageSet images;
  images.channels = 1;
  images.height = 28;
  images.width = 28;
  images.numClasses = 10;
  const std::int64_t count = 256;
  std::mt19937_64 engine(7);
  for (std::int64_t i = 0; i < count; ++i) {
    images.labels.push_back(i % 10);
    for (std::size_t p = 0; p < images.imageBytes(); ++p) images.pixels.push_back(static_cast<std::uint8_t>(engine()));
  }
  ModelSpec spec;
  spec.name = "cnn";
  torch::manual_seed(0);
  auto network = makeNetwork(spec);
  const torch::Device target(device);
  network->to(target);

  std::vector<double> hvpOverGradient;
  {
    network->toDtype(torch::kFloat64);
    ObjectiveOptions options;
    options.normalize = false;
    options.batchSize = count;
    options.device = target;
    DatasetObjective objective(*network, images, options);
    const torch::Tensor v = torch::randn({objective.parameterCount()}, torch::kFloat64).to(target);
    objective.hessianVectorProduct(v);  // warm-up
    for (int round = 0; round < rounds; ++round) {
      const double gradient = secondsOf([&] { objective.gradient().sum().item<double>(); });
      const double product = secondsOf([&] { objective.hessianVectorProduct(v).sum().item<double>(); });
      hvpOverGradient.push_back(product / gradient);
    }
    network->toDtype(torch::kFloat32);
  }

  std::vector<double> sliceOverEval;
  SliceOptions sliceOptions;
  sliceOptions.gridSize = 5;
  sliceOptions.evaluation.normalize = false;
  sliceOptions.evaluation.batchSize = count;
  sliceOptions.evaluation.device = device;
  const SliceDirections directions = makeFilterNormalizedDirections(*network, DirectionOptions{});
  const int points = sliceOptions.gridSize * sliceOptions.gridSize;
  for (int round = 0; round < rounds; ++round) {
    const double slice = secondsOf([&] { computeLossSlice(*network, images, directions, sliceOptions); });
    const double eval = secondsOf([&] {
      for (int i = 0; i < points; ++i) evaluateClassifier(*network, images, false, {}, count, target);
    });
    // examples/s of the slice over examples/s of plain evaluation, for the same number of examples
    sliceOverEval.push_back(eval / slice);
  }
  const LanczosStarts starts = lanczosWarmStart(*network, images, device);
  std::printf("\nanalysis (cnn, 256 images of 1x28x28, median of %d rounds)\n", rounds);
  std::printf("  one Hessian-vector product / one gradient (float64):        %.3f\n", median(hvpOverGradient));
  std::printf("  5x5 slice examples/s / evaluation-mode forward examples/s:  %.3f\n", median(sliceOverEval));
  std::printf("  Hessian-vector products, top 5 to 1e-4, one epoch (%d steps) after the last analysis: "
              "cold %lld, warm %lld (warm / cold %.3f)\n",
              starts.steps, static_cast<long long>(starts.cold), static_cast<long long>(starts.warm),
              static_cast<double>(starts.warm) / static_cast<double>(starts.cold));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"samscape-bench: training-step costs of SGD, SAM, m-sharpness, ASAM, GSAM and LookSAM"};
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
    std::printf("%-10s %-8s %10s %9s %9s %12s %16s %11s %11s %15s\n", "model", "input", "sgd img/s", "sgd ms",
                "sam ms", "sam/sgd", "sam m=32/m=all", "asam/sam", "gsam/sam", "looksam k=5/sgd");
    if (device != "cpu") std::printf("GPU: %s\n", cudaDeviceName(device).c_str());
    std::map<std::string, double> samSeconds;
    const auto timeModels = [&](bool print) {
      for (const auto& model : models) {
        const bool small = model == "cnn" || model == "mlp";
        const double sam = benchmarkModel(model, small ? 1 : 3, small ? 28 : 32, batchSize, rounds, steps, device, print);
        samSeconds[model] = samSeconds.count(model) ? std::min(samSeconds[model], sam) : sam;
      }
    };
    timeModels(true);
    if (!skipAnalysis) benchmarkAnalysis(rounds, device);
    if (!pytorchReference.empty()) {
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

// samscape-bench: training throughput measured side by side in one run, so that the ratios between
// models hold even on a shared, noisy machine. Prints images/s of full training steps (forward,
// backward, SGD update) at a fixed batch size on random data of each model's usual input shape.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/Network.h"
#include "core/optim/Optimizer.h"

namespace {

using namespace samscape;
using Clock = std::chrono::steady_clock;

struct Measurement {
  std::string model;
  std::string input;
  double imagesPerSecond = 0.0;
  double millisecondsPerStep = 0.0;
};

Measurement measureTraining(const std::string& name, int channels, int side, std::int64_t batchSize,
                            int warmupSteps, int timedSteps, const torch::Device& device) {
  ModelSpec spec;
  spec.name = name;
  spec.inputChannels = channels;
  spec.imageHeight = side;
  spec.imageWidth = side;
  spec.numClasses = 10;
  torch::manual_seed(0);
  auto network = makeNetwork(spec);
  network->to(device);
  network->setTraining(true);
  auto parameters = network->parameters();
  auto optimizer = makeOptimizer(parameters, OptimizerSpec{});
  const torch::Tensor images = torch::randn({batchSize, channels, side, side}).to(device);
  const torch::Tensor labels = torch::randint(0, 10, {batchSize}, torch::kInt64).to(device);
  const GradientClosure closure = [&]() {
    for (auto& p : parameters) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    torch::Tensor loss = torch::nn::functional::cross_entropy(network->forward(images), labels);
    loss.backward();
    return loss.detach();
  };
  for (int i = 0; i < warmupSteps; ++i) optimizer->step(closure);
  // .item() synchronizes, so the clock stops after the device has finished.
  optimizer->step(closure).item<double>();
  const auto start = Clock::now();
  torch::Tensor loss;
  for (int i = 0; i < timedSteps; ++i) loss = optimizer->step(closure);
  loss.item<double>();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  Measurement m;
  m.model = name;
  m.input = std::to_string(channels) + "x" + std::to_string(side) + "x" + std::to_string(side);
  m.imagesPerSecond = static_cast<double>(batchSize * timedSteps) / seconds;
  m.millisecondsPerStep = 1000.0 * seconds / timedSteps;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"samscape-bench: training throughput of the built-in models"};
  int threads = 0;
  std::int64_t batchSize = 128;
  int steps = 20;
  int warmup = 3;
  std::string device = "cpu";
  app.add_option("--threads", threads, "CPU threads (0: every core)")->capture_default_str();
  app.add_option("--batch-size", batchSize, "Batch size")->capture_default_str();
  app.add_option("--steps", steps, "Timed steps per model")->capture_default_str();
  app.add_option("--warmup", warmup, "Untimed steps first")->capture_default_str();
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
    checkDeviceName(device);
    const int usedThreads = configureThreads(threads);
    const RuntimeInfo info = runtimeInfo();
    std::printf("samscape-bench: LibTorch %s, device %s, %d threads, batch %lld, %d timed steps\n",
                info.torchVersion.c_str(), device.c_str(), usedThreads,
                static_cast<long long>(batchSize), steps);
    std::printf("%-10s %-8s %14s %12s\n", "model", "input", "train img/s", "ms/step");
    const std::vector<std::tuple<std::string, int, int>> models = {{"cnn", 1, 28}, {"resnet20", 3, 32}};
    for (const auto& [name, channels, side] : models) {
      const Measurement m = measureTraining(name, channels, side, batchSize, warmup, steps, torch::Device(device));
      std::printf("%-10s %-8s %14.1f %12.2f\n", m.model.c_str(), m.input.c_str(), m.imagesPerSecond,
                  m.millisecondsPerStep);
      std::fflush(stdout);
    }
  } catch (const samscape::Error& error) {
    std::cerr << "samscape-bench: error: " << error.what() << "\n";
    return 2;
  }
  return 0;
}

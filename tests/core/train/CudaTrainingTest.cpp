// Training on CUDA against the same training on the CPU. Skipped (GTEST_SKIP) where no CUDA device
// is visible, which includes every build against Debian's CPU LibTorch; the CUDA build compiles them.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/train/DataParallelStep.h"
#include "core/train/Trainer.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

int cudaDevices() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

// GTEST_SKIP only leaves the function it is in: this must expand in the test body.
#define SAMSCAPE_REQUIRE_CUDA_DEVICES(count)                                                        \
  if (cudaDevices() < (count))                                                                     \
  GTEST_SKIP() << "needs " << (count) << " CUDA device(s); this build or machine has " << cudaDevices()

ModelSpec smallResNet() {
  ModelSpec spec;
  spec.name = "resnet20";  // batch norm everywhere
  spec.inputChannels = 1;
  spec.imageHeight = 12;
  spec.imageWidth = 12;
  spec.numClasses = 10;
  return spec;
}

OptimizerSpec samSpec(std::int64_t m) {
  OptimizerSpec spec;
  spec.kind = "sam";
  spec.rho = 0.1;
  spec.m = m;
  spec.learningRate = 0.05;
  spec.momentum = 0.9;
  return spec;
}

// Steps of SAM (with m-chunks, batch norm) on `devices`, from the same initial weights and batches;
// the final weights on the CPU.
std::vector<torch::Tensor> weightsAfterSamSteps(const std::vector<std::string>& devices, std::int64_t m) {
  torch::manual_seed(3);
  std::vector<Replica> replicas = makeReplicas(smallResNet(), devices);
  for (auto& replica : replicas) replica.network->setTraining(true);
  const OptimizerSpec spec = samSpec(m);
  auto optimizer = makeOptimizer(replicas.front().parameters, spec);
  torch::manual_seed(77);
  for (int step = 0; step < 4; ++step) {
    Batch batch{torch::randn({32, 1, 12, 12}), torch::randint(0, 10, {32}, torch::kInt64)};
    if (replicas.size() == 1) batch = {batch.images.to(replicas.front().device), batch.labels.to(replicas.front().device)};
    trainingStep(replicas, *optimizer, spec, batch);
  }
  std::vector<torch::Tensor> weights;
  for (const auto& parameter : replicas.front().parameters) weights.push_back(parameter.detach().cpu());
  for (const auto& buffer : replicas.front().buffers) weights.push_back(buffer.detach().cpu());
  return weights;
}

void expectClose(const std::vector<torch::Tensor>& actual, const std::vector<torch::Tensor>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double scale = std::max(1.0, expected[i].abs().max().item<double>());
    EXPECT_LE((actual[i] - expected[i]).abs().max().item<double>(), tolerance * scale) << "tensor " << i;
  }
}

// cuDNN's convolutions sum in another order than the CPU's, so agreement is to float32 rounding
// compounded over a few steps, not bitwise.
TEST(CudaTraining, SamStepsOnCudaMatchTheCpu) {
  SAMSCAPE_REQUIRE_CUDA_DEVICES(1);
  expectClose(weightsAfterSamSteps({"cuda:0"}, 8), weightsAfterSamSteps({"cpu"}, 8), 1e-3);
}

TEST(CudaTraining, TwoCudaReplicasMatchTwoCpuReplicas) {
  SAMSCAPE_REQUIRE_CUDA_DEVICES(2);
  expectClose(weightsAfterSamSteps({"cuda:0", "cuda:1"}, 0), weightsAfterSamSteps({"cpu", "cpu"}, 0), 1e-3);
}

// A whole run through the trainer (data, schedule, evaluation) on CUDA against the CPU.
TEST(CudaTraining, ARunOnCudaMatchesTheCpuRun) {
  SAMSCAPE_REQUIRE_CUDA_DEVICES(1);
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
  config.optimizer.kind = "sam";
  config.optimizer.momentum = 0.9;
  config.model.name = "cnn";
  config.device = "cpu";
  const TrainingResult onCpu = Trainer(config).run({});
  config.device = "cuda";
  const TrainingResult onCuda = Trainer(config).run({});
  ASSERT_EQ(onCuda.epochs.size(), onCpu.epochs.size());
  for (std::size_t e = 0; e < onCpu.epochs.size(); ++e) {
    EXPECT_NEAR(onCuda.epochs[e].trainLoss, onCpu.epochs[e].trainLoss, 1e-4) << "epoch " << e + 1;
    EXPECT_NEAR(onCuda.epochs[e].testLoss, onCpu.epochs[e].testLoss, 1e-4) << "epoch " << e + 1;
  }
}

}  // namespace
}  // namespace samscape

// SAM inside real training steps: batch-norm statistics, rho = 0, replicas against m-chunks.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/Error.h"
#include "core/train/DataParallelStep.h"
#include "core/train/Trainer.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

ModelSpec smallResNet() {
  ModelSpec spec;
  spec.name = "resnet20";  // batch norm everywhere
  spec.inputChannels = 1;
  spec.imageHeight = 12;
  spec.imageWidth = 12;
  spec.numClasses = 10;
  return spec;
}

Batch randomBatch(std::int64_t size) {
  torch::manual_seed(77);
  return {torch::randn({size, 1, 12, 12}), torch::randint(0, 10, {size}, torch::kInt64)};
}

std::vector<Replica> replicasOn(const std::vector<std::string>& devices) {
  torch::manual_seed(3);
  return makeReplicas(smallResNet(), devices);
}

OptimizerSpec samSpec(std::int64_t m = 0) {
  OptimizerSpec spec;
  spec.kind = "sam";
  spec.rho = 0.1;
  spec.m = m;
  spec.learningRate = 0.05;
  return spec;
}

// The running statistics one clean training-mode forward pass over `images` leaves, from the
// statistics the replicas start with.
std::vector<torch::Tensor> statisticsAfterCleanForward(const torch::Tensor& images) {
  auto reference = replicasOn({"cpu"});
  torch::NoGradGuard noGrad;
  reference.front().network->setTraining(true);
  reference.front().network->forward(images);
  std::vector<torch::Tensor> result;
  for (const auto& buffer : reference.front().buffers) result.push_back(buffer.clone());
  return result;
}

void expectAllClose(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double difference = (a[i] - b[i]).abs().max().item<double>();
    EXPECT_LE(difference, tolerance) << "tensor " << i;
  }
}

TEST(SamTraining, BatchNormStatisticsComeFromTheCleanPassOnly) {
  auto replicas = replicasOn({"cpu"});
  replicas.front().network->setTraining(true);
  auto optimizer = makeOptimizer(replicas.front().parameters, samSpec());
  const Batch batch = randomBatch(16);
  trainingStep(replicas, *optimizer, samSpec(), batch);
  expectAllClose(replicas.front().buffers, statisticsAfterCleanForward(batch.images), 1e-6);
}

TEST(SamTraining, WithMChunksTheStatisticsAreTheAverageOfEachChunksCleanPass) {
  auto replicas = replicasOn({"cpu"});
  replicas.front().network->setTraining(true);
  auto optimizer = makeOptimizer(replicas.front().parameters, samSpec(4));
  const Batch batch = randomBatch(16);
  trainingStep(replicas, *optimizer, samSpec(4), batch);
  std::vector<torch::Tensor> average;
  for (int chunk = 0; chunk < 4; ++chunk) {
    const auto stats = statisticsAfterCleanForward(batch.images.slice(0, 4 * chunk, 4 * chunk + 4));
    if (average.empty()) {
      for (const auto& s : stats) average.push_back(s / 4.0);
    } else {
      for (std::size_t i = 0; i < stats.size(); ++i) average[i] += stats[i] / 4.0;
    }
  }
  expectAllClose(replicas.front().buffers, average, 1e-6);
}

// The paper's m-sharpness is what data parallelism gives when each replica keeps its own
// perturbation: 2 replicas with batch 2B must equal 1 replica with batch 2B and m = B.
TEST(SamTraining, TwoReplicasEqualOneReplicaWithMHalfTheBatch) {
  auto two = replicasOn({"cpu", "cpu"});
  auto one = replicasOn({"cpu"});
  for (auto* set : {&two, &one}) {
    for (auto& replica : *set) replica.network->setTraining(true);
  }
  OptimizerSpec spec = samSpec();
  auto twoOptimizer = makeOptimizer(two.front().parameters, spec);
  spec.m = 8;
  auto oneOptimizer = makeOptimizer(one.front().parameters, spec);
  for (int step = 0; step < 3; ++step) {
    const Batch batch = randomBatch(16);
    const StepOutcome a = trainingStep(two, *twoOptimizer, samSpec(), batch);
    const StepOutcome b = trainingStep(one, *oneOptimizer, spec, batch);
    EXPECT_NEAR(a.lossSum, b.lossSum, 1e-5 * std::abs(b.lossSum));
    EXPECT_EQ(a.correct, b.correct);
  }
  expectAllClose(two.front().parameters, one.front().parameters, 1e-5);
  expectAllClose(two.front().buffers, one.front().buffers, 1e-5);
  // Every replica holds the same model.
  expectAllClose(two[1].parameters, two[0].parameters, 0.0);
  expectAllClose(two[1].buffers, two[0].buffers, 0.0);
}

class SamTrainerTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
};

void expectSameMetrics(const TrainingResult& a, const TrainingResult& b, double relative) {
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (std::size_t i = 0; i < a.epochs.size(); ++i) {
    EXPECT_NEAR(a.epochs[i].trainLoss, b.epochs[i].trainLoss, relative * b.epochs[i].trainLoss) << "epoch " << i + 1;
    EXPECT_NEAR(a.epochs[i].testLoss, b.epochs[i].testLoss, relative * b.epochs[i].testLoss) << "epoch " << i + 1;
  }
}

TEST_F(SamTrainerTest, RhoZeroIsExactlySgdAndAdam) {
  config.model.name = "resnet20";
  for (const BaseOptimizerKind base : {BaseOptimizerKind::Sgd, BaseOptimizerKind::Adam}) {
    const bool adam = base == BaseOptimizerKind::Adam;
    config.optimizer.kind = adam ? "adam" : "sgd";
    config.optimizer.learningRate = adam ? 1e-3 : 0.05;
    const TrainingResult plain = Trainer(config).run({});
    config.optimizer.kind = "sam";
    config.optimizer.base = base;
    config.optimizer.rho = 0.0;
    const TrainingResult sam = Trainer(config).run({});
    expectSameMetrics(sam, plain, 0.0);
    config.optimizer.rho = 0.05;
    const TrainingResult samPositive = Trainer(config).run({});
    EXPECT_NE(samPositive.epochs.back().testLoss, plain.epochs.back().testLoss) << nameOf(base);
  }
}

TEST_F(SamTrainerTest, ReplicaRunEqualsMChunkRun) {
  config.model.name = "resnet20";
  config.optimizer.kind = "sam";
  config.batchSize = 32;
  config.devices = "cpu,cpu";
  const TrainingResult replicas = Trainer(config).run({});
  config.devices.clear();
  config.optimizer.m = 16;
  const TrainingResult chunks = Trainer(config).run({});
  ASSERT_EQ(replicas.status, RunStatus::Finished);
  expectSameMetrics(replicas, chunks, 1e-5);
}

class FirstStepLoss : public TrainingObserver {
 public:
  double loss = 0.0;
  bool onStep(const StepProgress& progress) override {
    if (progress.globalStep == 1) loss = progress.loss;
    return false;
  }
};

// A SAM run and an SGD run with the same seed start from the same weights and draw the same batches
// in the same order (with the same augmentation), so a pair differs only by the optimizer.
TEST_F(SamTrainerTest, SgdAndSamWithOneSeedSeeTheSameDataInTheSameOrder) {
  config.epochs = 2;
  config.outDir = dir.file("sgd");
  FirstStepLoss sgdFirst;
  Trainer(config).run({&sgdFirst});
  config.optimizer.kind = "sam";
  config.outDir = dir.file("sam");
  FirstStepLoss samFirst;
  Trainer(config).run({&samFirst});
  EXPECT_EQ(samFirst.loss, sgdFirst.loss);
  const std::string sgdState = test::readText(dir.file("sgd") + "/checkpoints/epoch-002/state.json");
  const std::string samState = test::readText(dir.file("sam") + "/checkpoints/epoch-002/state.json");
  auto orderState = [](const std::string& json) {
    const auto start = json.find("\"data_order_state\"");
    return json.substr(start, json.find('\n', start) - start);
  };
  EXPECT_EQ(orderState(samState), orderState(sgdState));
}

TEST_F(SamTrainerTest, MLargerThanTheReplicaBatchIsRejected) {
  config.optimizer.kind = "sam";
  config.batchSize = 32;
  config.devices = "cpu,cpu";
  config.optimizer.m = 20;
  EXPECT_THROW(validateConfig(config), ConfigError);
  config.optimizer.m = 16;
  EXPECT_NO_THROW(validateConfig(config));
  config.optimizer.kind = "sgd";
  EXPECT_THROW(validateConfig(config), ConfigError) << "m without sam";
}

}  // namespace
}  // namespace samscape

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/Error.h"
#include "core/models/Network.h"
#include "core/train/RunDirectory.h"
#include "core/train/Trainer.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

class RecordingObserver : public TrainingObserver {
 public:
  int begins = 0, steps = 0, epochEnds = 0, ends = 0;
  int stopAfterEpoch = 0;  // 0: never ask to stop
  int stopAfterStep = 0;
  TrainingResult last;
  void onBegin(const TrainingBegin&) override { ++begins; }
  bool onStep(const StepProgress& progress) override {
    ++steps;
    EXPECT_EQ(progress.globalStep, steps);
    return stopAfterStep > 0 && steps >= stopAfterStep;
  }
  bool onEpochEnd(const EpochMetrics& metrics) override {
    ++epochEnds;
    EXPECT_EQ(metrics.epoch, epochEnds);
    return stopAfterEpoch > 0 && epochEnds >= stopAfterEpoch;
  }
  void onEnd(const TrainingResult& result) override {
    ++ends;
    last = result;
  }
};

class TrainerTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
};

void expectSameMetrics(const std::vector<EpochMetrics>& a, const std::vector<EpochMetrics>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].trainLoss, b[i].trainLoss) << "epoch " << i + 1;
    EXPECT_EQ(a[i].trainAccuracy, b[i].trainAccuracy) << "epoch " << i + 1;
    EXPECT_EQ(a[i].testLoss, b[i].testLoss) << "epoch " << i + 1;
    EXPECT_EQ(a[i].testAccuracy, b[i].testAccuracy) << "epoch " << i + 1;
  }
}

TEST_F(TrainerTest, SameSeedGivesBitIdenticalRunsWithShuffleAndAugmentation) {
  config.model.name = "cnn";
  const TrainingResult first = Trainer(config).run({});
  const TrainingResult second = Trainer(config).run({});
  ASSERT_EQ(first.status, RunStatus::Finished);
  ASSERT_EQ(first.epochs.size(), 2u);
  expectSameMetrics(first.epochs, second.epochs);

  config.seed = 6;
  const TrainingResult other = Trainer(config).run({});
  EXPECT_NE(other.epochs.back().testLoss, first.epochs.back().testLoss);
}

// The app starts a pair's runs on two threads while the other's analyses build models; LibTorch's
// generator is one per process. A thread that keeps building models the way those do (holding the
// generator lock) must not change what a run's seed gives.
TEST_F(TrainerTest, ModelsBuiltOnAnotherThreadDoNotChangeWhatTheSeedGives) {
  config.model.name = "cnn";
  Trainer reference(config);
  const std::vector<EpochMetrics> expected = reference.run({}).epochs;

  std::atomic<bool> stop{false};
  std::atomic<int> built{0};
  std::thread builder([&] {
    ModelSpec spec = config.model;
    spec.name = "mlp";
    spec.inputChannels = 1;
    spec.imageHeight = test::TinyMnist::kSide;
    spec.imageWidth = test::TinyMnist::kSide;
    spec.numClasses = test::TinyMnist::kClasses;
    while (!stop.load()) {
      {
        const auto generatorLock = lockGlobalGenerator();
        makeNetwork(spec);
        ++built;
      }
      std::this_thread::yield();  // std::mutex is not fair: let the trainer in
    }
  });
  for (int attempt = 0; attempt < 5; ++attempt) {
    Trainer trainer(config);
    expectSameMetrics(trainer.run({}).epochs, expected);
  }
  stop = true;
  builder.join();
  EXPECT_GT(built.load(), 0);
}

TEST_F(TrainerTest, ObserversSeeEveryStepAndEpochInOrder) {
  RecordingObserver observer;
  Trainer trainer(config);
  EXPECT_EQ(trainer.description().stepsPerEpoch, 6);  // 96 examples / 16
  const TrainingResult result = trainer.run({&observer});
  EXPECT_EQ(observer.begins, 1);
  EXPECT_EQ(observer.steps, 12);
  EXPECT_EQ(observer.epochEnds, 2);
  EXPECT_EQ(observer.ends, 1);
  EXPECT_EQ(observer.last.status, RunStatus::Finished);
  EXPECT_EQ(result.epochs.size(), 2u);
  for (const auto& epoch : result.epochs) {
    EXPECT_GT(epoch.testLoss, 0.0);
    EXPECT_GE(epoch.testAccuracy, 0.0);
    EXPECT_LE(epoch.testAccuracy, 1.0);
    EXPECT_FALSE(epoch.validationLoss.has_value());
  }
}

TEST_F(TrainerTest, TrainingLearnsTheSyntheticClasses) {
  config.epochs = 8;
  config.schedule = ScheduleKind::Constant;
  // The synthetic classes are stripes at fixed positions: random crops would move them.
  config.augment = false;
  const TrainingResult result = Trainer(config).run({});
  ASSERT_EQ(result.status, RunStatus::Finished);
  EXPECT_LT(result.epochs.back().trainLoss, result.epochs.front().trainLoss);
  EXPECT_GT(result.epochs.back().testAccuracy, 1.0 / test::TinyMnist::kClasses + 0.25);
}

TEST_F(TrainerTest, AnObserverCanStopTheRunAfterAnEpoch) {
  config.epochs = 4;
  RecordingObserver observer;
  observer.stopAfterEpoch = 1;
  const TrainingResult result = Trainer(config).run({&observer});
  EXPECT_EQ(result.status, RunStatus::Cancelled);
  EXPECT_EQ(result.epochs.size(), 1u);
  EXPECT_NE(result.message.find("after epoch 1"), std::string::npos) << result.message;
}

TEST_F(TrainerTest, StoppingMidEpochKeepsOnlyWholeEpochs) {
  RecordingObserver observer;
  observer.stopAfterStep = 8;  // in epoch 2
  const TrainingResult result = Trainer(config).run({&observer});
  EXPECT_EQ(result.status, RunStatus::Cancelled);
  EXPECT_EQ(result.epochs.size(), 1u);
  EXPECT_EQ(observer.steps, 8);
}

TEST_F(TrainerTest, TheCancelFlagStopsBeforeTheNextStep) {
  std::atomic<bool> cancel{true};
  RecordingObserver observer;
  const TrainingResult result = Trainer(config).run({&observer}, &cancel);
  EXPECT_EQ(result.status, RunStatus::Cancelled);
  EXPECT_EQ(observer.steps, 0);
  EXPECT_TRUE(result.epochs.empty());
  EXPECT_EQ(observer.ends, 1);
}

TEST_F(TrainerTest, AnExplodingLossEndsTheRunAsDivergedNamingTheStep) {
  config.optimizer.learningRate = 1e30;
  config.schedule = ScheduleKind::Constant;
  const TrainingResult result = Trainer(config).run({});
  EXPECT_EQ(result.status, RunStatus::Diverged);
  EXPECT_NE(result.message.find("epoch 1, step"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("--lr"), std::string::npos) << result.message;
  EXPECT_TRUE(result.epochs.empty());
}

TEST_F(TrainerTest, ValidationSplitIsEvaluatedEveryEpoch) {
  config.data.valFraction = 0.25;
  Trainer trainer(config);
  EXPECT_EQ(trainer.description().trainExamples, 72);
  EXPECT_EQ(trainer.description().validationExamples, 24);
  const TrainingResult result = trainer.run({});
  ASSERT_EQ(result.epochs.size(), 2u);
  EXPECT_TRUE(result.epochs[0].validationLoss.has_value());
  EXPECT_TRUE(result.epochs[1].validationAccuracy.has_value());
}

TEST_F(TrainerTest, InvalidConfigIsRejectedBeforeAnyWork) {
  config.batchSize = 0;
  try {
    Trainer trainer(config);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--batch-size");
  }
}

using test::readText;

TEST_F(TrainerTest, RunDirectoryHoldsConfigMetricsAndModelAndRefusesReuse) {
  const std::string out = dir.file("run");
  config.outDir = out;
  config.data.valFraction = 0.25;
  RunDirectoryWriter writer(out, config);
  Trainer trainer(config);
  const TrainingResult result = trainer.run({&writer});
  trainer.saveModel(writer.modelPath());

  const auto run = nlohmann::json::parse(readText(writer.runJsonPath()));
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["seed"], 5);
  EXPECT_EQ(run["config"]["model"], "mlp");
  EXPECT_EQ(run["config"]["batch-size"], 16);
  EXPECT_FALSE(run["versions"]["libtorch"].get<std::string>().empty());
  // The config inside run.json is a valid --config: it reads back into the same config.
  TrainConfig reread;
  applyJsonConfig(reread, run["config"].dump(), "run.json");
  EXPECT_EQ(configToJson(reread), configToJson(config));

  std::istringstream csv(readText(writer.metricsCsvPath()));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "epoch,train_loss,train_acc,test_loss,test_acc,val_loss,val_acc,lr,seconds");
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    std::istringstream fields(line);
    std::string epoch, trainLoss, trainAcc, testLoss;
    std::getline(fields, epoch, ',');
    std::getline(fields, trainLoss, ',');
    std::getline(fields, trainAcc, ',');
    std::getline(fields, testLoss, ',');
    EXPECT_EQ(std::stoi(epoch), rows);
    EXPECT_NEAR(std::stod(testLoss), result.epochs[static_cast<std::size_t>(rows - 1)].testLoss, 1e-8);
  }
  EXPECT_EQ(rows, 2);
  EXPECT_GT(std::filesystem::file_size(writer.modelPath()), 1000u);

  EXPECT_THROW(RunDirectoryWriter(out, config), ConfigError);
}

TEST(TrainConfigJson, UnknownKeysAndWrongTypesNameTheKey) {
  TrainConfig config;
  try {
    applyJsonConfig(config, R"({"lr": 0.1, "learning_rate": 0.2})", "my.json");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("learning_rate"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("my.json"), std::string::npos);
  }
  EXPECT_THROW(applyJsonConfig(config, R"({"epochs": "ten"})", "my.json"), ConfigError);
  EXPECT_THROW(applyJsonConfig(config, R"({"epochs": )", "my.json"), ConfigError);
  applyJsonConfig(config, R"({"lr": 0.25, "no-augment": true, "dataset": "cifar10"})", "my.json");
  EXPECT_DOUBLE_EQ(config.optimizer.learningRate, 0.25);
  EXPECT_FALSE(config.augment);
  EXPECT_EQ(config.data.kind, DatasetKind::Cifar10);
}

}  // namespace
}  // namespace samscape

namespace samscape {
namespace {

// Every preset shipped in resources/configs must load and validate as users will use it.
}  // namespace
}  // namespace samscape

#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "core/train/Checkpoint.h"
#include "core/train/Trainer.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

class StopAfterEpoch : public TrainingObserver {
 public:
  explicit StopAfterEpoch(int epoch) : epoch_(epoch) {}
  bool onEpochEnd(const EpochMetrics& metrics) override { return metrics.epoch >= epoch_; }

 private:
  int epoch_;
};

class CheckpointResumeTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  TrainConfig config = [this] {
    TrainConfig c = test::tinyTrainConfig(dir.file("mnist"));
    // Momentum state, shuffling, augmentation, label noise and a cosine schedule all have to survive.
    c.model.name = "resnet20";
    c.optimizer.kind = "sam";
    c.data.labelNoise = 0.2;
    c.epochs = 3;
    return c;
  }();
};

TEST_F(CheckpointResumeTest, AStoppedAndResumedRunEndsExactlyAsTheUninterruptedOne) {
  config.outDir = dir.file("straight");
  const TrainingResult straight = Trainer(config).run({});
  ASSERT_EQ(straight.status, RunStatus::Finished);

  config.outDir = dir.file("interrupted");
  StopAfterEpoch stop(1);
  const TrainingResult first = Trainer(config).run({&stop});
  ASSERT_EQ(first.status, RunStatus::Cancelled);
  ASSERT_EQ(first.epochs.size(), 1u);

  Trainer resumed(config);
  resumed.resumeFrom(latestCheckpoint(config.outDir + "/checkpoints"));
  EXPECT_EQ(resumed.description().resumedEpochs.size(), 1u);
  const TrainingResult rest = resumed.run({});
  ASSERT_EQ(rest.status, RunStatus::Finished);
  ASSERT_EQ(rest.epochs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rest.epochs[i].trainLoss, straight.epochs[i].trainLoss) << "epoch " << i + 1;
    EXPECT_EQ(rest.epochs[i].trainAccuracy, straight.epochs[i].trainAccuracy) << "epoch " << i + 1;
    EXPECT_EQ(rest.epochs[i].testLoss, straight.epochs[i].testLoss) << "epoch " << i + 1;
    EXPECT_EQ(rest.epochs[i].learningRate, straight.epochs[i].learningRate) << "epoch " << i + 1;
  }
}

TEST_F(CheckpointResumeTest, EveryEpochLeavesACompleteCheckpointAndLatestNamesTheNewest) {
  config.outDir = dir.file("run");
  Trainer(config).run({});
  const fs::path checkpoints = fs::path(config.outDir) / "checkpoints";
  for (const char* name : {"epoch-001", "epoch-002", "epoch-003"}) {
    for (const char* file : {"model.pt", "optimizer.pt", "state.json"}) {
      EXPECT_TRUE(fs::exists(checkpoints / name / file)) << name << "/" << file;
    }
  }
  EXPECT_EQ(latestCheckpoint(checkpoints.string()), (checkpoints / "epoch-003").string());
  for (const auto& entry : fs::directory_iterator(checkpoints)) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
  // The initial weights, written before the first step, are weights only: nothing to resume from.
  EXPECT_TRUE(fs::exists(checkpoints / "initial" / "model.pt"));
  EXPECT_FALSE(fs::exists(checkpoints / "initial" / "state.json"));
  // The complete checkpoints, oldest first: not the initial weights, `latest`, or a staging directory
  // a crash left behind.
  fs::create_directories(checkpoints / "epoch-004.tmp");
  EXPECT_EQ(completeCheckpoints(checkpoints.string()),
            (std::vector<std::string>{(checkpoints / "epoch-001").string(), (checkpoints / "epoch-002").string(),
                                      (checkpoints / "epoch-003").string()}));
  EXPECT_TRUE(completeCheckpoints(dir.file("no-such-run")).empty());
}

TEST_F(CheckpointResumeTest, ResumingWithoutACheckpointNamesTheProblem) {
  try {
    latestCheckpoint(dir.file("nothing-here"));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no checkpoint"), std::string::npos) << error.what();
  }
}

TEST_F(CheckpointResumeTest, ACorruptCheckpointIsAnErrorNotACrash) {
  config.outDir = dir.file("run");
  config.epochs = 1;
  Trainer(config).run({});
  const std::string checkpoint = latestCheckpoint(config.outDir + "/checkpoints");
  std::ofstream(checkpoint + "/optimizer.pt") << "not an archive";
  Trainer trainer(config);
  EXPECT_THROW(trainer.resumeFrom(checkpoint), Error);
}

}  // namespace
}  // namespace samscape

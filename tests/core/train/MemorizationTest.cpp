// The memorization metrics of a label-noise run (core/train/Memorization.h): the counting against a
// hand computation, and the trainer's values against an independent evaluation of the saved model on
// the flipped and the clean examples, written to metrics.csv and kept across a resume.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/data/DatasetLoader.h"
#include "core/models/Network.h"
#include "core/train/Evaluation.h"
#include "core/train/Memorization.h"
#include "core/train/RunDirectory.h"
#include "core/train/Trainer.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

// Six examples, three of them flipped, with predictions chosen so that every case occurs:
//   example  predicted  trained-on  clean  flipped
//   0        0          0           0      no    correct
//   1        1          2           1      yes   predicts the true label
//   2        2          2           2      no    correct
//   3        3          1           3      yes   predicts the true label
//   4        0          1           1      no    wrong
//   5        3          3           1      yes   predicts the noisy label (memorized)
const std::vector<std::int64_t> kPredicted{0, 1, 2, 3, 0, 3};
const std::vector<std::int64_t> kTrained{0, 2, 2, 1, 1, 3};
const std::vector<std::int64_t> kClean{0, 1, 2, 3, 1, 1};
const std::vector<std::uint8_t> kFlipped{0, 1, 0, 1, 0, 1};

TEST(Memorization, CountsAndAccuraciesMatchAHandComputation) {
  const MemorizationCounts counts = countMemorization(kPredicted, 0, kTrained, kClean, kFlipped);
  EXPECT_EQ(counts.flipped, 3);
  EXPECT_EQ(counts.flippedPredictedNoisy, 1);  // example 5
  EXPECT_EQ(counts.flippedPredictedTrue, 2);   // examples 1 and 3
  EXPECT_EQ(counts.clean, 3);
  EXPECT_EQ(counts.cleanPredictedCorrectly, 2);  // examples 0 and 2
  EpochMetrics epoch;
  setMemorizationMetrics(counts, epoch);
  EXPECT_DOUBLE_EQ(*epoch.trainAccuracyNoisy, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*epoch.trainAccuracyNoisyTrue, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*epoch.trainAccuracyClean, 2.0 / 3.0);
}

TEST(Memorization, PartsOfTheSetAddUpToTheWhole) {
  // A rank's share: predictions for examples 3 and 4 only.
  const MemorizationCounts tail = countMemorization({3, 0}, 3, kTrained, kClean, kFlipped);
  EXPECT_EQ(tail.flipped, 1);
  EXPECT_EQ(tail.flippedPredictedTrue, 1);
  EXPECT_EQ(tail.flippedPredictedNoisy, 0);
  EXPECT_EQ(tail.clean, 1);
  EXPECT_EQ(tail.cleanPredictedCorrectly, 0);
  MemorizationCounts sum = countMemorization({0, 1, 2}, 0, kTrained, kClean, kFlipped);
  sum += tail;
  sum += countMemorization({3}, 5, kTrained, kClean, kFlipped);
  const MemorizationCounts whole = countMemorization(kPredicted, 0, kTrained, kClean, kFlipped);
  EXPECT_EQ(sum.flipped, whole.flipped);
  EXPECT_EQ(sum.flippedPredictedNoisy, whole.flippedPredictedNoisy);
  EXPECT_EQ(sum.flippedPredictedTrue, whole.flippedPredictedTrue);
  EXPECT_EQ(sum.clean, whole.clean);
  EXPECT_EQ(sum.cleanPredictedCorrectly, whole.cleanPredictedCorrectly);
}

TEST(Memorization, AnEmptyGroupIsNaNAndMismatchedSizesAreRefused) {
  EpochMetrics epoch;
  setMemorizationMetrics(countMemorization({1, 1}, 0, {1, 0}, {1, 0}, {0, 0}), epoch);
  EXPECT_TRUE(std::isnan(*epoch.trainAccuracyNoisy));  // nothing flipped
  EXPECT_TRUE(std::isnan(*epoch.trainAccuracyNoisyTrue));
  EXPECT_DOUBLE_EQ(*epoch.trainAccuracyClean, 0.5);
  EXPECT_THROW(countMemorization({0}, 0, {0, 1}, {0}, {0, 1}), std::invalid_argument);
  EXPECT_THROW(countMemorization({0, 1}, 5, kTrained, kClean, kFlipped), std::invalid_argument);
}

// The examples of `set` where mask[i] == wanted, labelled with `labels`.
ImageSet subset(const ImageSet& set, const std::vector<std::uint8_t>& mask, std::uint8_t wanted,
                const std::vector<std::int64_t>& labels) {
  ImageSet part = set;
  part.labels.clear();
  part.pixels.clear();
  for (std::size_t i = 0; i < set.size(); ++i) {
    if ((mask[i] != 0) != (wanted != 0)) continue;
    part.labels.push_back(labels[i]);
    part.pixels.insert(part.pixels.end(), set.pixels.begin() + static_cast<std::ptrdiff_t>(i * set.imageBytes()),
                       set.pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * set.imageBytes()));
  }
  return part;
}

class TrainerMemorizationTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  TrainConfig config = [this] {
    TrainConfig c = test::tinyTrainConfig(dir.file("mnist"));
    c.data.labelNoise = 0.25;  // 24 of the 96 training examples
    c.epochs = 3;
    return c;
  }();
};

TEST_F(TrainerMemorizationTest, EachEpochsValuesAreTheSavedModelsAccuraciesOnTheFlippedAndCleanExamples) {
  config.outDir = dir.file("run");
  RunDirectoryWriter writer(config.outDir, config);
  Trainer trainer(config);
  const TrainingResult result = trainer.run({&writer});
  ASSERT_EQ(result.status, RunStatus::Finished);
  ASSERT_EQ(result.epochs.size(), 3u);

  // The same data, loaded on its own: which labels are noisy is a function of the seed.
  const DatasetSplits splits = loadDataset(trainer.config().data);
  ASSERT_EQ(splits.noisyLabelCount, 24);
  const ImageSet flippedNoisy = subset(splits.train, splits.noisyLabelMask, 1, splits.train.labels);
  const ImageSet flippedTrue = subset(splits.train, splits.noisyLabelMask, 1, splits.cleanTrainLabels);
  const ImageSet clean = subset(splits.train, splits.noisyLabelMask, 0, splits.train.labels);
  ASSERT_EQ(flippedNoisy.size(), 24u);
  ASSERT_EQ(clean.size(), 72u);

  // Every epoch's checkpointed weights, evaluated by the test/validation evaluation on each part.
  const torch::Device cpu(torch::kCPU);
  for (int epoch = 1; epoch <= 3; ++epoch) {
    std::unique_ptr<Network> network = makeNetwork(trainer.config().model);
    network->load(config.outDir + "/checkpoints/epoch-00" + std::to_string(epoch) + "/model.pt");
    const auto accuracy = [&](const ImageSet& part) {
      return evaluateClassifier(*network, part, config.normalize, splits.trainStatistics, 7, cpu).accuracy;
    };
    const EpochMetrics& m = result.epochs[static_cast<std::size_t>(epoch - 1)];
    ASSERT_TRUE(m.trainAccuracyNoisy && m.trainAccuracyClean && m.trainAccuracyNoisyTrue);
    EXPECT_DOUBLE_EQ(*m.trainAccuracyNoisy, accuracy(flippedNoisy)) << "epoch " << epoch;
    EXPECT_DOUBLE_EQ(*m.trainAccuracyNoisyTrue, accuracy(flippedTrue)) << "epoch " << epoch;
    EXPECT_DOUBLE_EQ(*m.trainAccuracyClean, accuracy(clean)) << "epoch " << epoch;
  }

  // metrics.csv carries them in their own columns, read back as written.
  std::istringstream csv(test::readText(writer.metricsCsvPath()));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header,
            "epoch,train_loss,train_acc,test_loss,test_acc,train_acc_noisy,train_acc_clean,train_acc_noisy_true,lr,"
            "seconds");
  const std::vector<EpochMetrics> read = readMetricsCsv(writer.metricsCsvPath());
  ASSERT_EQ(read.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(*read[i].trainAccuracyNoisy, *result.epochs[i].trainAccuracyNoisy, 1e-9);
    EXPECT_NEAR(*read[i].trainAccuracyClean, *result.epochs[i].trainAccuracyClean, 1e-9);
    EXPECT_NEAR(*read[i].trainAccuracyNoisyTrue, *result.epochs[i].trainAccuracyNoisyTrue, 1e-9);
  }
}

TEST_F(TrainerMemorizationTest, WithoutLabelNoiseThereAreNoMemorizationValues) {
  config.data.labelNoise = 0.0;
  config.epochs = 1;
  const TrainingResult result = Trainer(config).run({});
  ASSERT_EQ(result.epochs.size(), 1u);
  EXPECT_FALSE(result.epochs[0].trainAccuracyNoisy);
  EXPECT_FALSE(result.epochs[0].trainAccuracyClean);
  EXPECT_FALSE(result.epochs[0].trainAccuracyNoisyTrue);
}

TEST_F(TrainerMemorizationTest, AResumedRunHasTheSameFlippedSetAndValuesAsTheStraightOne) {
  const test::StraightAndResumed runs = test::trainStraightAndResumed(config, dir);
  ASSERT_EQ(runs.straight.epochs.size(), 3u);
  ASSERT_EQ(runs.resumed.epochs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    // Epoch 1 comes back from the checkpoint's state.json, epochs 2 and 3 are measured after resuming.
    EXPECT_EQ(runs.resumed.epochs[i].trainAccuracyNoisy, runs.straight.epochs[i].trainAccuracyNoisy) << i;
    EXPECT_EQ(runs.resumed.epochs[i].trainAccuracyClean, runs.straight.epochs[i].trainAccuracyClean) << i;
    EXPECT_EQ(runs.resumed.epochs[i].trainAccuracyNoisyTrue, runs.straight.epochs[i].trainAccuracyNoisyTrue) << i;
  }
}

}  // namespace
}  // namespace samscape

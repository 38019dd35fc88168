#pragma once
// A small MNIST-format dataset on disk and a TrainConfig that trains on it in a fraction of a second,
// shared by the trainer, reference and CLI tests.

#include <string>

#include "core/train/Checkpoint.h"
#include "core/train/CheckpointFiles.h"
#include "core/train/TrainConfig.h"
#include "core/train/Trainer.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace samscape::test {

struct TinyMnist {
  static constexpr int kSide = 12;
  static constexpr int kClasses = 4;
  ImageSet train = makeSyntheticImageSet(96, 1, kSide, kSide, kClasses, 21);
  ImageSet test = makeSyntheticImageSet(40, 1, kSide, kSide, kClasses, 22);

  explicit TinyMnist(const std::string& directory) { writeMnistDirectory(directory, train, test, true); }
};

// mlp on the tiny dataset, one thread, two epochs of six steps.
inline TrainConfig tinyTrainConfig(const std::string& dataDir) {
  TrainConfig config;
  config.data.kind = DatasetKind::Mnist;
  config.data.dataDir = dataDir;
  config.model.name = "mlp";
  config.batchSize = 16;
  config.epochs = 2;
  config.threads = 1;
  config.seed = 5;
  config.optimizer.learningRate = 0.05;
  return config;
}

// `config` trained straight through (into DIR/straight) and again stopped after its first epoch and
// resumed from that epoch's checkpoint (DIR/interrupted): a rule whose state the checkpoints keep ends
// the resumed run exactly as the straight one.
struct StraightAndResumed {
  TrainingResult straight;
  TrainingResult interrupted;  // cancelled after the first epoch
  TrainingResult resumed;
};
inline StraightAndResumed trainStraightAndResumed(TrainConfig config, const TempDir& dir) {
  struct StopAfterFirstEpoch : TrainingObserver {
    bool onEpochEnd(const EpochMetrics& metrics) override { return metrics.epoch >= 1; }
  };
  StraightAndResumed runs;
  config.outDir = dir.file("straight");
  runs.straight = Trainer(config).run({});
  config.outDir = dir.file("interrupted");
  StopAfterFirstEpoch stop;
  runs.interrupted = Trainer(config).run({&stop});
  Trainer resumed(config);
  resumed.resumeFrom(latestCheckpoint(config.outDir + "/checkpoints"));
  runs.resumed = resumed.run({});
  return runs;
}

}  // namespace samscape::test

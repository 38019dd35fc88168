#include "core/train/Trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/Error.h"
#include "core/Runtime.h"
#include "core/data/BatchLoader.h"
#include "core/models/Network.h"
#include "core/optim/LearningRateSchedule.h"
#include "core/optim/Optimizer.h"
#include "core/train/Checkpoint.h"
#include "core/train/DataParallelStep.h"
#include "core/train/Evaluation.h"

namespace samscape {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Independent streams for the data order and the augmentation from one user seed (splitmix64), so
// that changing one use of randomness does not shift another.
std::uint64_t derivedSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string runStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::Finished: return "finished";
    case RunStatus::Diverged: return "diverged";
    case RunStatus::Cancelled: return "cancelled";
  }
  return "unknown";
}

struct Trainer::Impl {
  TrainConfig config;
  TrainingBegin description;
  DatasetSplits data;
  std::vector<Replica> replicas;  // replicas[0] holds the model the optimizer updates
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<BatchLoader> trainLoader;
  std::unique_ptr<LearningRateSchedule> schedule;
  CheckpointState resumed;

  Network& model() { return *replicas.front().network; }
  const torch::Device& device() const { return replicas.front().device; }

};

Trainer::Trainer(TrainConfig config) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validateConfig(config);
  s.config = std::move(config);
  s.config.data.seed = s.config.seed;  // one seed for everything
  const int threads = configureThreads(s.config.threads);

  s.data = loadDataset(s.config.data);
  const ImageSet& train = s.data.train;

  s.config.model.inputChannels = train.channels;
  s.config.model.imageHeight = train.height;
  s.config.model.imageWidth = train.width;
  s.config.model.numClasses = train.numClasses;
  // Built-in models draw their initial weights from LibTorch's global generator.
  torch::manual_seed(s.config.seed);
  s.replicas = makeReplicas(s.config.model, replicaDevices(s.config));
  s.optimizer = makeOptimizer(s.replicas.front().parameters, s.config.optimizer);

  BatchOptions batchOptions;
  batchOptions.batchSize = s.config.batchSize;
  batchOptions.shuffle = s.config.shuffle;
  batchOptions.augment = s.config.augment;
  batchOptions.normalize = s.config.normalize;
  batchOptions.statistics = s.data.trainStatistics;
  batchOptions.seed = derivedSeed(s.config.seed, 1);
  // With several replicas the batch is split on the host and each shard sent to its device.
  batchOptions.device = s.replicas.size() == 1 ? s.device() : torch::Device(torch::kCPU);
  s.trainLoader = std::make_unique<BatchLoader>(train, batchOptions);

  ScheduleOptions scheduleOptions;
  scheduleOptions.kind = s.config.schedule;
  scheduleOptions.baseLearningRate = s.config.optimizer.learningRate;
  scheduleOptions.epochs = s.config.epochs;
  scheduleOptions.stepsPerEpoch = s.trainLoader->batchesPerEpoch();
  scheduleOptions.warmupEpochs = s.config.warmupEpochs;
  scheduleOptions.stepEpochs = s.config.stepEpochs;
  scheduleOptions.stepFactor = s.config.stepFactor;
  s.schedule = std::make_unique<LearningRateSchedule>(scheduleOptions);

  auto& d = s.description;
  d.modelDescription = s.model().describe();
  d.optimizerDescription = s.optimizer->describe();
  const auto& o = s.config.optimizer;
  if (o.sharpnessAware()) {
    std::ostringstream sam;
    sam << o.name << " (rho " << o.effectiveRho();
    if (o.name == "asam") sam << ", eta " << o.asamEta;
    if (o.m > 0) sam << ", m " << o.m;
    sam << ") over " << d.optimizerDescription;
    d.optimizerDescription = sam.str();
  }
  if (o.clipNorm > 0) d.optimizerDescription += ", gradient norm clipped to " + std::to_string(o.clipNorm);
  d.device = s.config.devices.empty() ? s.config.device : s.config.devices;
  d.replicaDevices = replicaDevices(s.config);
  d.threads = threads;
  d.parameterCount = parameterCount(s.model());
  d.trainExamples = static_cast<std::int64_t>(train.size());
  d.validationExamples = static_cast<std::int64_t>(s.data.validation.size());
  d.testExamples = static_cast<std::int64_t>(s.data.test.size());
  d.noisyLabels = s.data.noisyLabelCount;
  d.dataDir = s.data.dataDir;
  d.epochs = s.config.epochs;
  d.stepsPerEpoch = s.trainLoader->batchesPerEpoch();
}

Trainer::~Trainer() = default;

const TrainConfig& Trainer::config() const { return impl_->config; }
const TrainingBegin& Trainer::description() const { return impl_->description; }

void Trainer::saveModel(const std::string& path) { impl_->model().save(path); }

void Trainer::resumeFrom(const std::string& checkpointDir) {
  auto& s = *impl_;
  s.resumed = readCheckpoint(checkpointDir, s.model(), *s.optimizer);
  if (s.resumed.epochsCompleted > s.config.epochs) {
    throw ConfigError("--epochs", std::to_string(s.config.epochs),
                      "the checkpoint already holds " + std::to_string(s.resumed.epochsCompleted) + " epochs");
  }
  s.trainLoader->setRandomState(s.resumed.dataOrderState);
  synchronizeReplicas(s.replicas);
  s.description.resumedEpochs = s.resumed.epochs;
}

TrainingResult Trainer::run(const std::vector<TrainingObserver*>& observers,
                            const std::atomic<bool>* cancel) {
  auto& s = *impl_;
  TrainingResult result;
  result.epochs = s.resumed.epochs;
  const auto runStart = Clock::now();
  const double earlierSeconds = s.resumed.seconds;
  for (auto* observer : observers) observer->onBegin(s.description);

  const std::int64_t stepsPerEpoch = s.trainLoader->batchesPerEpoch();
  const std::int64_t totalSteps = stepsPerEpoch * s.config.epochs;
  std::int64_t globalStep = s.resumed.globalStep;
  bool stopRequested = false;
  const std::string checkpointsDir =
      s.config.outDir.empty() ? "" : (std::filesystem::path(s.config.outDir) / "checkpoints").string();

  auto finish = [&](RunStatus status, std::string message) {
    result.status = status;
    result.message = std::move(message);
    result.seconds = earlierSeconds + secondsSince(runStart);
    for (auto* observer : observers) observer->onEnd(result);
    return result;
  };

  for (int epoch = s.resumed.epochsCompleted + 1; epoch <= s.config.epochs; ++epoch) {
    const auto epochStart = Clock::now();
    for (auto& replica : s.replicas) replica.network->setTraining(true);
    s.trainLoader->startEpoch();
    double lossSum = 0.0;
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    double learningRate = 0.0;

    for (std::int64_t step = 0; step < stepsPerEpoch; ++step) {
      if (cancel != nullptr && cancel->load()) {
        return finish(RunStatus::Cancelled, "cancelled during epoch " + std::to_string(epoch));
      }
      learningRate = s.schedule->rateAt(globalStep);
      s.optimizer->setLearningRate(learningRate);
      const Batch batch = s.trainLoader->batch(step);
      const auto batchSize = batch.labels.size(0);
      const auto [stepLossSum, stepCorrect] = trainingStep(s.replicas, *s.optimizer, s.config.optimizer, batch);
      const double loss = stepLossSum / static_cast<double>(batchSize);
      ++globalStep;

      if (!std::isfinite(loss)) {
        std::ostringstream message;
        message << "loss became " << loss << " at epoch " << epoch << ", step " << (step + 1) << " of "
                << stepsPerEpoch << " (global step " << globalStep << "); try a smaller --lr";
        return finish(RunStatus::Diverged, message.str());
      }
      lossSum += stepLossSum;
      correct += stepCorrect;
      seen += batchSize;

      StepProgress progress;
      progress.epoch = epoch;
      progress.stepInEpoch = step + 1;
      progress.stepsPerEpoch = stepsPerEpoch;
      progress.globalStep = globalStep;
      progress.totalSteps = totalSteps;
      progress.loss = loss;
      progress.learningRate = learningRate;
      for (auto* observer : observers) stopRequested = observer->onStep(progress) || stopRequested;
      if (stopRequested) break;
    }
    if (stopRequested) {
      // A partial epoch's metrics would look like a whole one in metrics.csv: leave them out.
      return finish(RunStatus::Cancelled, "stopped by request during epoch " + std::to_string(epoch));
    }

    EpochMetrics metrics;
    metrics.epoch = epoch;
    metrics.trainLoss = seen > 0 ? lossSum / static_cast<double>(seen) : 0.0;
    metrics.trainAccuracy = seen > 0 ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
    const Evaluation test = evaluateClassifier(s.model(), s.data.test, s.config.normalize,
                                               s.data.trainStatistics, s.config.evalBatchSize, s.device());
    metrics.testLoss = test.meanLoss;
    metrics.testAccuracy = test.accuracy;
    if (!s.data.validation.labels.empty()) {
      const Evaluation validation =
          evaluateClassifier(s.model(), s.data.validation, s.config.normalize, s.data.trainStatistics,
                             s.config.evalBatchSize, s.device());
      metrics.validationLoss = validation.meanLoss;
      metrics.validationAccuracy = validation.accuracy;
    }
    metrics.learningRate = learningRate;
    metrics.seconds = secondsSince(epochStart);
    result.epochs.push_back(metrics);

    if (!checkpointsDir.empty()) {
      CheckpointState state;
      state.epochsCompleted = epoch;
      state.globalStep = globalStep;
      state.dataOrderState = s.trainLoader->randomState();
      state.seconds = earlierSeconds + secondsSince(runStart);
      state.epochs = result.epochs;
      writeCheckpoint(checkpointsDir, s.model(), *s.optimizer, state);
    }
    for (auto* observer : observers) stopRequested = observer->onEpochEnd(metrics) || stopRequested;
    if (stopRequested && epoch < s.config.epochs) {
      return finish(RunStatus::Cancelled, "stopped by request after epoch " + std::to_string(epoch));
    }
  }
  return finish(RunStatus::Finished, "");
}

}  // namespace samscape

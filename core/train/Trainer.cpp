#include "core/train/Trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/Error.h"
#include "core/Runtime.h"
#include "core/data/BatchLoader.h"
#include "core/models/Network.h"
#include "core/optim/LearningRateSchedule.h"
#include "core/optim/Optimizer.h"
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
  torch::Device device = torch::kCPU;
  std::unique_ptr<Network> network;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<BatchLoader> trainLoader;
  std::unique_ptr<LearningRateSchedule> schedule;
};

Trainer::Trainer(TrainConfig config) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validateConfig(config);
  s.config = std::move(config);
  s.config.data.seed = s.config.seed;  // one seed for everything
  const int threads = configureThreads(s.config.threads);
  s.device = torch::Device(s.config.device);

  s.data = loadDataset(s.config.data);
  const ImageSet& train = s.data.train;

  s.config.model.inputChannels = train.channels;
  s.config.model.imageHeight = train.height;
  s.config.model.imageWidth = train.width;
  s.config.model.numClasses = train.numClasses;
  // Built-in models draw their initial weights from LibTorch's global generator.
  torch::manual_seed(s.config.seed);
  s.network = makeNetwork(s.config.model);
  s.network->to(s.device);
  s.optimizer = makeOptimizer(s.network->parameters(), s.config.optimizer);

  BatchOptions batchOptions;
  batchOptions.batchSize = s.config.batchSize;
  batchOptions.shuffle = s.config.shuffle;
  batchOptions.augment = s.config.augment;
  batchOptions.normalize = s.config.normalize;
  batchOptions.statistics = s.data.trainStatistics;
  batchOptions.seed = derivedSeed(s.config.seed, 1);
  batchOptions.device = s.device;
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
  d.modelDescription = s.network->describe();
  d.optimizerDescription = s.optimizer->describe();
  d.device = s.config.device;
  d.threads = threads;
  d.parameterCount = parameterCount(*s.network);
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

void Trainer::saveModel(const std::string& path) { impl_->network->save(path); }

TrainingResult Trainer::run(const std::vector<TrainingObserver*>& observers,
                            const std::atomic<bool>* cancel) {
  auto& s = *impl_;
  namespace F = torch::nn::functional;
  TrainingResult result;
  const auto runStart = Clock::now();
  for (auto* observer : observers) observer->onBegin(s.description);

  const std::int64_t stepsPerEpoch = s.trainLoader->batchesPerEpoch();
  const std::int64_t totalSteps = stepsPerEpoch * s.config.epochs;
  std::vector<torch::Tensor> parameters = s.network->parameters();
  std::int64_t globalStep = 0;
  bool stopRequested = false;

  auto finish = [&](RunStatus status, std::string message) {
    result.status = status;
    result.message = std::move(message);
    result.seconds = secondsSince(runStart);
    for (auto* observer : observers) observer->onEnd(result);
    return result;
  };

  for (int epoch = 1; epoch <= s.config.epochs; ++epoch) {
    const auto epochStart = Clock::now();
    s.network->setTraining(true);
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

      // Training accuracy comes from the first evaluation of the step (at the weights before it).
      torch::Tensor firstLogits;
      const GradientClosure computeGradient = [&]() {
        for (auto& parameter : parameters) {
          if (parameter.grad().defined()) parameter.mutable_grad().zero_();
        }
        torch::Tensor logits = s.network->forward(batch.images);
        torch::Tensor loss = F::cross_entropy(logits, batch.labels);
        loss.backward();
        if (!firstLogits.defined()) firstLogits = logits.detach();
        return loss.detach();
      };
      const double loss = s.optimizer->step(computeGradient).item<double>();
      ++globalStep;

      if (!std::isfinite(loss)) {
        std::ostringstream message;
        message << "loss became " << loss << " at epoch " << epoch << ", step " << (step + 1) << " of "
                << stepsPerEpoch << " (global step " << globalStep
                << "); try a smaller --lr";
        return finish(RunStatus::Diverged, message.str());
      }
      const auto batchSize = batch.labels.size(0);
      lossSum += loss * static_cast<double>(batchSize);
      correct += firstLogits.argmax(1).eq(batch.labels).sum().item<std::int64_t>();
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
    const Evaluation test = evaluateClassifier(*s.network, s.data.test, s.config.normalize,
                                               s.data.trainStatistics, s.config.evalBatchSize, s.device);
    metrics.testLoss = test.meanLoss;
    metrics.testAccuracy = test.accuracy;
    if (!s.data.validation.labels.empty()) {
      const Evaluation validation =
          evaluateClassifier(*s.network, s.data.validation, s.config.normalize, s.data.trainStatistics,
                             s.config.evalBatchSize, s.device);
      metrics.validationLoss = validation.meanLoss;
      metrics.validationAccuracy = validation.accuracy;
    }
    metrics.learningRate = learningRate;
    metrics.seconds = secondsSince(epochStart);
    result.epochs.push_back(metrics);
    for (auto* observer : observers) stopRequested = observer->onEpochEnd(metrics) || stopRequested;
    if (stopRequested && epoch < s.config.epochs) {
      return finish(RunStatus::Cancelled, "stopped by request after epoch " + std::to_string(epoch));
    }
  }
  return finish(RunStatus::Finished, "");
}

}  // namespace samscape

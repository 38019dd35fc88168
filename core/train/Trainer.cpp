#include "core/train/Trainer.h"

#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <tuple>
#include <utility>

#include "core/Error.h"
#include "core/Runtime.h"
#include "core/data/BatchLoader.h"
#include "core/models/Network.h"
#include "core/optim/LearningRateSchedule.h"
#include "core/optim/Optimizer.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/Checkpoint.h"
#include "core/train/DataParallelStep.h"
#include "core/train/DistributedGroup.h"
#include "core/train/Evaluation.h"
#include "core/train/Memorization.h"
#include "core/train/ResourceProbe.h"

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

// The examples [begin, end) of a set, for the rank that evaluates them.
ImageSet sliceOf(const ImageSet& set, std::size_t begin, std::size_t end) {
  ImageSet slice = set;
  slice.labels.assign(set.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                      set.labels.begin() + static_cast<std::ptrdiff_t>(end));
  slice.pixels.assign(set.pixels.begin() + static_cast<std::ptrdiff_t>(begin * set.imageBytes()),
                      set.pixels.begin() + static_cast<std::ptrdiff_t>(end * set.imageBytes()));
  return slice;
}

// This rank's contiguous part [first, second) of `total` examples split as evenly as possible over the
// ranks.
std::pair<std::size_t, std::size_t> rankRange(std::size_t total, int rank, int ranks) {
  const auto count = static_cast<std::size_t>(ranks);
  const auto index = static_cast<std::size_t>(rank);
  const std::size_t begin = index * (total / count) + std::min(index, total % count);
  const std::size_t size = total / count + (index < total % count ? 1 : 0);
  return {begin, begin + size};
}

ImageSet rankShare(const ImageSet& set, int rank, int ranks) {
  const auto [begin, end] = rankRange(set.size(), rank, ranks);
  return sliceOf(set, begin, end);
}

// Every parameter and buffer of a replica, in one flat tensor, and back: collectives move a model in
// one message.
torch::Tensor flattenModel(const Replica& replica) {
  std::vector<torch::Tensor> pieces;
  for (const auto& tensor : replica.parameters) pieces.push_back(tensor.detach().reshape(-1));
  for (const auto& tensor : replica.buffers) pieces.push_back(tensor.detach().reshape(-1).to(replica.parameters.front().dtype()));
  return torch::cat(pieces);
}

void unflattenModel(const torch::Tensor& flat, Replica& replica) {
  torch::NoGradGuard noGrad;
  std::int64_t offset = 0;
  auto copyInto = [&](torch::Tensor& tensor) {
    tensor.copy_(flat.slice(0, offset, offset + tensor.numel()).view(tensor.sizes()));
    offset += tensor.numel();
  };
  for (auto& tensor : replica.parameters) copyInto(tensor);
  for (auto& tensor : replica.buffers) copyInto(tensor);
}

}  // namespace


struct Trainer::Impl {
  TrainConfig config;
  TrainingBegin description;
  DatasetSplits data;
  std::vector<Replica> replicas;  // replicas[0] holds the model the optimizer updates
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<BatchLoader> trainLoader;
  std::unique_ptr<LearningRateSchedule> schedule;
  std::unique_ptr<SharpnessRule> rule;  // how each step's gradient is formed; its state lives across steps
  CheckpointState resumed;
  std::unique_ptr<DistributedGroup> group;  // set in a multi-process job
  ImageSet testShare;        // with a group: the part of the test set this rank evaluates
  ImageSet validationShare;  // and of the validation set
  std::string stage;         // what run() is doing, for a message when memory runs out

  TrainingResult runEpochs(const std::vector<TrainingObserver*>& observers, const std::atomic<bool>* cancel);

  Network& model() { return *replicas.front().network; }
  const torch::Device& device() const { return replicas.front().device; }
  bool writesFiles() const { return group == nullptr || group->rank() == 0; }

  // Every rank starts from rank 0's weights (they agree by construction; this makes sure).
  void startFromFirstRanksWeights() {
    if (group == nullptr) return;
    torch::Tensor flat = flattenModel(replicas.front());
    group->broadcastFromFirstRank(flat, "sharing rank 0's initial weights");
    unflattenModel(flat, replicas.front());
    synchronizeReplicas(replicas);
  }

  // With a group each rank evaluates its share and the sums are added up over the ranks.
  Evaluation evaluate(const ImageSet& whole, const ImageSet& share, const std::string& name) {
    if (group == nullptr) {
      return evaluateClassifier(model(), whole, config.normalize, data.trainStatistics, config.evalBatchSize, device());
    }
    const Evaluation part =
        evaluateClassifier(model(), share, config.normalize, data.trainStatistics, config.evalBatchSize, device());
    const auto examples = static_cast<double>(part.examples);
    torch::Tensor sums = torch::tensor({part.meanLoss * examples, part.accuracy * examples, examples},
                                       torch::dtype(torch::kFloat64))
                             .to(device());
    group->allReduceSum(sums, "the " + name + " evaluation");
    const auto values = sums.cpu();
    Evaluation total;
    total.examples = static_cast<std::int64_t>(std::llround(values[2].item<double>()));
    if (total.examples > 0) {
      total.meanLoss = values[0].item<double>() / static_cast<double>(total.examples);
      total.accuracy = std::round(values[1].item<double>()) / static_cast<double>(total.examples);
    }
    return total;
  }

  // The memorization metrics (core/train/Memorization.h): one more evaluation-mode pass, over the
  // training set as trained on (noisy labels, no augmentation), only with label noise. With a group each
  // rank predicts its share and the counts are added up over the ranks.
  void measureMemorization(EpochMetrics& metrics) {
    const ImageSet& train = data.train;
    std::size_t first = 0;
    ImageSet share;  // a rank's part; a single process evaluates the set itself, without a copy
    if (group != nullptr) {
      std::size_t end = 0;
      std::tie(first, end) = rankRange(train.size(), group->rank(), group->worldSize());
      share = sliceOf(train, first, end);
    }
    const std::vector<std::int64_t> predictions =
        predictClasses(model(), group == nullptr ? train : share, config.normalize, data.trainStatistics,
                       config.evalBatchSize, device());
    MemorizationCounts counts =
        countMemorization(predictions, first, train.labels, data.cleanTrainLabels, data.noisyLabelMask);
    if (group != nullptr) {
      torch::Tensor sums =
          torch::tensor({static_cast<double>(counts.flipped), static_cast<double>(counts.flippedPredictedNoisy),
                         static_cast<double>(counts.flippedPredictedTrue), static_cast<double>(counts.clean),
                         static_cast<double>(counts.cleanPredictedCorrectly)},
                        torch::dtype(torch::kFloat64))
              .to(device());
      group->allReduceSum(sums, "the memorization evaluation");
      const auto values = sums.cpu();
      const auto at = [&](int index) { return static_cast<std::int64_t>(std::llround(values[index].item<double>())); };
      counts = MemorizationCounts{at(0), at(1), at(2), at(3), at(4)};
    }
    setMemorizationMetrics(counts, metrics);
  }
};

Trainer::Trainer(TrainConfig config) : Trainer(std::move(config), DistributedOptions{}) {}

Trainer::Trainer(TrainConfig config, const DistributedOptions& distributed) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  validateConfig(config);
  validateDistributedOptions(distributed);
  validateRunLayout(config, distributed);
  s.config = std::move(config);
  s.config.data.seed = s.config.seed;  // one seed for everything
  const int threads = configureThreads(s.config.threads);

  s.data = loadDataset(s.config.data);
  const ImageSet& train = s.data.train;

  s.config.model.inputChannels = train.channels;
  s.config.model.imageHeight = train.height;
  s.config.model.imageWidth = train.width;
  s.config.model.numClasses = train.numClasses;
  // Built-in models draw their initial weights from LibTorch's global generator, which other
  // threads' runs and analyses use too.
  {
    const auto generatorLock = lockGlobalGenerator();
    torch::manual_seed(s.config.seed);
    s.replicas = makeReplicas(s.config.model, rankReplicaDevices(replicaDevices(s.config), distributed));
  }
  s.optimizer = makeOptimizer(s.replicas.front().parameters, s.config.optimizer);
  s.rule = makeSharpnessRule(s.config.optimizer);
  if (distributed.distributed()) {
    s.group = std::make_unique<DistributedGroup>(distributed, s.device());
    s.startFromFirstRanksWeights();
    s.testShare = rankShare(s.data.test, distributed.rank, distributed.worldSize);
    s.validationShare = rankShare(s.data.validation, distributed.rank, distributed.worldSize);
  }

  BatchOptions batchOptions;
  batchOptions.batchSize = s.config.batchSize;
  batchOptions.shuffle = s.config.shuffle;
  batchOptions.augment = s.config.augment;
  batchOptions.normalize = s.config.normalize;
  batchOptions.statistics = s.data.trainStatistics;
  batchOptions.seed = derivedSeed(s.config.seed, 1);
  // With several replicas the batch is split on the host and each shard sent to its device. Every
  // rank of a job draws the same (global) batches and takes its shards of them.
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
  if (s.rule->sharpnessAware()) {
    std::ostringstream sam;
    sam << s.rule->name() << " (rho " << o.effectiveRho();
    if (o.rhoSchedule == RhoSchedule::LearningRate) sam << " times lr / " << o.learningRate;
    sam << s.rule->describeOptions(o);
    if (o.m > 0) sam << ", m " << o.m;
    sam << ") over " << d.optimizerDescription;
    d.optimizerDescription = sam.str();
  }
  if (o.accumulate > 1) d.optimizerDescription += ", each batch in " + std::to_string(o.accumulate) + " micro-batches";
  if (s.config.precision != Precision::Fp32) d.optimizerDescription += ", " + nameOf(s.config.precision) + " autocast";
  if (o.clipNorm > 0) d.optimizerDescription += ", gradient norm clipped to " + std::to_string(o.clipNorm);
  d.device = s.config.devices.empty() ? s.config.device : s.config.devices;
  d.replicaDevices = rankReplicaDevices(replicaDevices(s.config), distributed);
  if (s.group != nullptr) {
    d.device += " on each of " + std::to_string(distributed.worldSize) + " processes";
  }
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
int Trainer::rank() const { return impl_->group == nullptr ? 0 : impl_->group->rank(); }

void Trainer::saveModel(const std::string& path) { impl_->model().save(path); }

void Trainer::resumeFrom(const std::string& checkpointDir) {
  auto& s = *impl_;
  s.resumed = readCheckpoint(checkpointDir, s.model(), *s.optimizer, s.rule.get());
  if (s.resumed.epochsCompleted > s.config.epochs) {
    throw ConfigError("--epochs", std::to_string(s.config.epochs),
                      "the checkpoint already holds " + std::to_string(s.resumed.epochsCompleted) + " epochs");
  }
  s.trainLoader->setRandomState(s.resumed.dataOrderState);
  synchronizeReplicas(s.replicas);
  s.startFromFirstRanksWeights();
  s.description.resumedEpochs = s.resumed.epochs;
}

JobShape Trainer::measureShape() {
  auto& s = *impl_;
  JobShape shape;
  shape.trainExamples = static_cast<std::int64_t>(s.data.train.size());
  shape.evaluationExamples = static_cast<std::int64_t>(s.data.test.size() + s.data.validation.size());
  // With label noise each epoch also evaluates the training set (the memorization metrics).
  if (!s.data.noisyLabelMask.empty()) shape.evaluationExamples += static_cast<std::int64_t>(s.data.train.size());
  shape.machineBytes = machineMemoryBytes();
  ProbeOptions probe;
  probe.normalize = s.config.normalize;
  probe.statistics = s.data.trainStatistics;
  probe.device = s.device().str();
  probeFootprint(s.model(), s.data.train, probe, shape);
  return shape;
}

TrainingResult Trainer::run(const std::vector<TrainingObserver*>& observers,
                            const std::atomic<bool>* cancel) {
  impl_->stage = "the start of the run";
  try {
    return impl_->runEpochs(observers, cancel);
  } catch (...) {
    rethrowOutOfMemoryAs(impl_->stage);
  }
}

TrainingResult Trainer::Impl::runEpochs(const std::vector<TrainingObserver*>& observers,
                                        const std::atomic<bool>* cancel) {
  auto& s = *this;
  TrainingResult result;
  result.epochs = s.resumed.epochs;
  const auto runStart = Clock::now();
  const double earlierSeconds = s.resumed.seconds;
  for (auto* observer : observers) observer->onBegin(s.description);

  const std::int64_t stepsPerEpoch = s.trainLoader->batchesPerEpoch();
  const std::int64_t totalSteps = stepsPerEpoch * s.config.epochs;
  std::int64_t globalStep = s.resumed.globalStep;
  bool stopRequested = false;
  const std::string checkpointsDir = s.config.outDir.empty() || !s.writesFiles()
                                         ? ""
                                         : (std::filesystem::path(s.config.outDir) / "checkpoints").string();

  auto finish = [&](RunStatus status, std::string message) {
    result.status = status;
    result.message = std::move(message);
    result.seconds = earlierSeconds + secondsSince(runStart);
    for (auto* observer : observers) observer->onEnd(result);
    return result;
  };

  if (!checkpointsDir.empty() && s.resumed.epochsCompleted == 0) {
    s.stage = "the initial weights";
    writeInitialWeights(checkpointsDir, s.model());
  }
  for (int epoch = s.resumed.epochsCompleted + 1; epoch <= s.config.epochs; ++epoch) {
    const auto epochStart = Clock::now();
    for (auto& replica : s.replicas) replica.network->setTraining(true);
    s.trainLoader->startEpoch();
    double lossSum = 0.0;
    std::int64_t correct = 0;
    std::int64_t seen = 0;
    double learningRate = 0.0;

    for (std::int64_t step = 0; step < stepsPerEpoch; ++step) {
      // In a job the ranks agree on stopping after each step (below); stopping here on one rank alone
      // would leave the others waiting in the next all-reduce.
      if (s.group == nullptr && cancel != nullptr && cancel->load()) {
        return finish(RunStatus::Cancelled, "cancelled during epoch " + std::to_string(epoch));
      }
      s.stage = "training (epoch " + std::to_string(epoch) + ", step " + std::to_string(step + 1) + ")";
      learningRate = s.schedule->rateAt(globalStep);
      s.optimizer->setLearningRate(learningRate);
      const Batch batch = s.trainLoader->batch(step);
      const auto batchSize = batch.labels.size(0);
      OptimizerSpec stepSpec = s.config.optimizer;
      if (s.rule->sharpnessAware()) stepSpec.rho = stepSpec.rhoAt(learningRate);
      StepContext context;
      context.globalStep = globalStep;
      context.epoch = epoch;
      context.rule = s.rule.get();
      context.precision = s.config.precision;
      const auto [stepLossSum, stepCorrect] =
          trainingStep(s.replicas, *s.optimizer, stepSpec, batch, s.group.get(), context);
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
      if (s.group != nullptr) {
        stopRequested = s.group->anyRank(stopRequested || (cancel != nullptr && cancel->load()),
                                         "agreeing whether to stop after a step");
      }
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
    s.stage = "the evaluation of epoch " + std::to_string(epoch) + " (--eval-batch-size)";
    const Evaluation test = s.evaluate(s.data.test, s.testShare, "test");
    metrics.testLoss = test.meanLoss;
    metrics.testAccuracy = test.accuracy;
    if (!s.data.validation.labels.empty()) {
      const Evaluation validation = s.evaluate(s.data.validation, s.validationShare, "validation");
      metrics.validationLoss = validation.meanLoss;
      metrics.validationAccuracy = validation.accuracy;
    }
    if (!s.data.noisyLabelMask.empty()) {
      s.stage = "the memorization pass of epoch " + std::to_string(epoch) + " over the training set (--eval-batch-size)";
      s.measureMemorization(metrics);
    }
    metrics.learningRate = learningRate;
    metrics.seconds = secondsSince(epochStart);
    result.epochs.push_back(metrics);

    s.stage = "the checkpoint of epoch " + std::to_string(epoch);
    if (!checkpointsDir.empty()) {
      CheckpointState state;
      state.epochsCompleted = epoch;
      state.globalStep = globalStep;
      state.dataOrderState = s.trainLoader->randomState();
      state.seconds = earlierSeconds + secondsSince(runStart);
      state.epochs = result.epochs;
      writeCheckpoint(checkpointsDir, s.model(), *s.optimizer, state, s.rule.get());
    }
    s.stage = "the end of epoch " + std::to_string(epoch) + " (its analyses and records)";
    for (auto* observer : observers) stopRequested = observer->onEpochEnd(metrics) || stopRequested;
    if (s.group != nullptr) {
      // The ranks apply the same all-reduced gradient to the same weights, so they must hold the
      // same model; checked once per epoch, cheaply, on the sum of every weight.
      double weightSum = 0.0;
      for (const auto& parameter : s.replicas.front().parameters) {
        weightSum += parameter.detach().to(torch::kFloat64).sum().item<double>();
      }
      s.group->requireSameOnEveryRank(weightSum, "the sum of the weights after epoch " + std::to_string(epoch));
      stopRequested = s.group->anyRank(stopRequested, "agreeing whether to stop after an epoch");
    }
    if (stopRequested && epoch < s.config.epochs) {
      return finish(RunStatus::Cancelled, "stopped by request after epoch " + std::to_string(epoch));
    }
  }
  return finish(RunStatus::Finished, "");
}

}  // namespace samscape

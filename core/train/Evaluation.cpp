#include "core/train/Evaluation.h"

#include <torch/nn/functional/loss.h>

#include "core/data/BatchLoader.h"

namespace samscape {
namespace {

// In file order, without augmentation: what both evaluation passes read.
BatchOptions evaluationBatches(bool normalize, const ChannelStatistics& statistics, std::int64_t batchSize,
                               const torch::Device& device) {
  BatchOptions options;
  options.batchSize = batchSize;
  options.shuffle = false;
  options.augment = false;
  options.normalize = normalize;
  options.statistics = statistics;
  options.device = device;
  return options;
}

}  // namespace

Evaluation evaluateClassifier(Network& network, const ImageSet& images, bool normalize,
                              const ChannelStatistics& statistics, std::int64_t batchSize,
                              const torch::Device& device) {
  Evaluation result;
  result.examples = static_cast<std::int64_t>(images.size());
  if (result.examples == 0) return result;

  torch::NoGradGuard noGrad;
  network.setTraining(false);
  BatchLoader loader(images, evaluationBatches(normalize, statistics, batchSize, device));
  loader.startEpoch();

  double lossSum = 0.0;
  std::int64_t correct = 0;
  namespace F = torch::nn::functional;
  for (std::int64_t index = 0; index < loader.batchesPerEpoch(); ++index) {
    const Batch batch = loader.batch(index);
    const torch::Tensor logits = network.forward(batch.images);
    lossSum += F::cross_entropy(logits, batch.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
    correct += logits.argmax(1).eq(batch.labels).sum().item<std::int64_t>();
  }
  result.meanLoss = lossSum / static_cast<double>(result.examples);
  result.accuracy = static_cast<double>(correct) / static_cast<double>(result.examples);
  return result;
}

std::vector<std::int64_t> predictClasses(Network& network, const ImageSet& images, bool normalize,
                                         const ChannelStatistics& statistics, std::int64_t batchSize,
                                         const torch::Device& device) {
  std::vector<std::int64_t> predictions;
  if (images.size() == 0) return predictions;
  predictions.reserve(images.size());
  torch::NoGradGuard noGrad;
  network.setTraining(false);
  BatchLoader loader(images, evaluationBatches(normalize, statistics, batchSize, device));
  loader.startEpoch();
  for (std::int64_t index = 0; index < loader.batchesPerEpoch(); ++index) {
    const Batch batch = loader.batch(index);
    const torch::Tensor classes = network.forward(batch.images).argmax(1).to(torch::kCPU, torch::kInt64).contiguous();
    const auto* values = classes.data_ptr<std::int64_t>();
    predictions.insert(predictions.end(), values, values + classes.numel());
  }
  return predictions;
}

}  // namespace samscape

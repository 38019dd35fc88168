#include "core/train/Evaluation.h"

#include <torch/nn/functional/loss.h>

#include "core/data/BatchLoader.h"

namespace samscape {

Evaluation evaluateClassifier(Network& network, const ImageSet& images, bool normalize,
                              const ChannelStatistics& statistics, std::int64_t batchSize,
                              const torch::Device& device) {
  Evaluation result;
  result.examples = static_cast<std::int64_t>(images.size());
  if (result.examples == 0) return result;

  torch::NoGradGuard noGrad;
  network.setTraining(false);
  BatchOptions options;
  options.batchSize = batchSize;
  options.shuffle = false;
  options.augment = false;
  options.normalize = normalize;
  options.statistics = statistics;
  options.device = device;
  BatchLoader loader(images, options);
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

}  // namespace samscape

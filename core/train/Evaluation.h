#pragma once
// Loss and accuracy of a classifier over a whole image set, in evaluation mode (batch norm on its
// running statistics) without gradients. LibTorch header: not for the GUI.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "core/data/DatasetLoader.h"
#include "core/models/Network.h"

namespace samscape {

struct Evaluation {
  double meanLoss = 0.0;  // mean cross-entropy, summed in double precision
  double accuracy = 0.0;  // fraction in [0, 1]
  std::int64_t examples = 0;
};

// Leaves the network in evaluation mode. An empty set gives examples == 0 and zeros.
Evaluation evaluateClassifier(Network& network, const ImageSet& images, bool normalize,
                              const ChannelStatistics& statistics, std::int64_t batchSize,
                              const torch::Device& device);

// The class each image is predicted as (the argmax of the logits), in the set's order, in evaluation
// mode without gradients, as evaluateClassifier sees them. Leaves the network in evaluation mode.
std::vector<std::int64_t> predictClasses(Network& network, const ImageSet& images, bool normalize,
                                         const ChannelStatistics& statistics, std::int64_t batchSize,
                                         const torch::Device& device);

}  // namespace samscape

#pragma once
// computeAdaptiveSharpness for a network. Separate from AdaptiveSharpness.h because Network is a LibTorch
// type: include this where the network is made (the analysis stage, tests), not in GUI headers.

#include <atomic>

#include "analysis/AdaptiveSharpness.h"
#include "core/data/ImageSet.h"
#include "core/models/Network.h"

namespace samscape {

// Adaptive sharpness of `network` over `images` (AdaptiveSharpness.h): for each disjoint batch of m
// examples in file order, the ascent of maximizeAdaptivePerturbation on the batch's mean cross-entropy
// (core's DatasetObjective: evaluation mode, batch norm on its running statistics), with T = diag(|w|) of
// the analysed weights; a random start of batch b is drawn from seed + b. The perturbations are applied
// to the network's own parameters in place; the weights are saved once and copied back bit for bit
// however the function ends. The network is moved to options.evaluation.device (and to float64 when
// options.doublePrecision) and given back on its device and dtype, left in evaluation mode.
// Cost per batch: steps gradients and steps + 1 losses over its examples.
// `cancel` (may be null) is checked before each step; a cancelled result has cancelled == true and a NaN
// value. Throws ConfigError for a bad device; Error for an empty set, m < 1, rho not finite or <= 0,
// steps < 1 or a batch size below 1.
AdaptiveSharpnessResult computeAdaptiveSharpness(Network& network, const ImageSet& images,
                                                 const AdaptiveSharpnessOptions& options,
                                                 const std::atomic<bool>* cancel = nullptr);

}  // namespace samscape

#pragma once
// computeMSharpness for a network. Separate from MSharpness.h because Network is a LibTorch type:
// include this where the network is made (the CLI, a worker), not in GUI headers.

#include <atomic>

#include "analysis/MSharpness.h"
#include "core/models/Network.h"

namespace samscape {

// m-sharpness of `network` over `images` (see MSharpness.h), built on core's DatasetObjective: each
// chunk's losses and gradients are computed in evaluation mode, so batch norm uses its running
// statistics (constants here) and the running statistics are never updated; L_C is then a
// deterministic function of the weights. The perturbations are applied to the network's own
// parameters in place (no model copy); the weights are saved once and copied back bit for bit when
// the function returns, also when it is cancelled or throws. The network is moved to options.device
// (and to float64 when options.doublePrecision) for the computation and given back on its original
// device and dtype; it is left in evaluation mode.
// Cost per chunk: k + 2 passes over its examples (k gradients, the loss at w and at w + e).
// A zero gradient (a chunk at a stationary point) contributes no ascent step.
// `cancel` (may be null) is checked before each chunk; a cancelled result has cancelled == true and
// a NaN value. Throws ConfigError for a bad device; Error for an empty set, m < 1, rho < 0 or not
// finite, k < 1, a batch size below 1 or statistics that do not fit the images.
MSharpnessResult computeMSharpness(Network& network, const ImageSet& images, const MSharpnessOptions& options,
                                   const MSharpnessProgress& progress = {},
                                   const std::atomic<bool>* cancel = nullptr);

}  // namespace samscape

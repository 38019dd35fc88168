#pragma once
// The loss-landscape functions that run a network. Separate from LossSurface.h because Network is a
// LibTorch type: include this where the network is made (the CLI, a worker), not in GUI headers.
//
// The evaluations run IN PLACE: the network's parameters are overwritten with each perturbed point
// (no copy of the model), and the original weights are written back bit for bit from one saved flat
// copy when the function returns, is cancelled or throws. The network is moved to the evaluation
// device for the call and back afterwards, and is left in evaluation mode (as evaluateClassifier
// leaves it). Inputs are cast to the network's floating dtype; points are evaluated in that dtype.

#include <atomic>
#include <memory>

#include "analysis/LossSurface.h"
#include "core/data/ImageSet.h"
#include "core/models/Network.h"

namespace samscape {

// Two seeded Gaussian directions, filter-normalized against the network's current weights: for each
// parameter tensor of dimension > 1, each filter (slice along dimension 0) of the direction is
// rescaled to the norm of the same filter of the weights; tensors of dimension <= 1 are zeroed, or
// with options.keepOneDimensional rescaled as a whole to the tensor's norm. A filter whose weights
// are all zero gets a zero direction. Throws Error for a network without parameters.
SliceDirections makeFilterNormalizedDirections(Network& network, const DirectionOptions& options);

// The network's current weights as a flat float64 vector (Network::parameters() order).
std::vector<double> flatWeights(Network& network);

// Loss and accuracy over `images` at w + x d1 + y d2 for (x, y) on the options' grid, w the network's
// weights at the call. Coarse to fine (see SliceOptions::coarseStride): `progress` is called after
// each level. `cancel` (may be null) is checked before each point; when it is set the function returns
// the grid so far with LandscapeStatus::Cancelled. Throws ConfigError naming --grid or --range for a
// bad grid, ConfigError naming --device for a bad device, Error for directions whose length is not
// the parameter count, an empty image set or a batch size below 1.
SliceResult computeLossSlice(Network& network, const ImageSet& images, const SliceDirections& directions,
                             const SliceOptions& options, const SliceProgress& progress = {},
                             const std::atomic<bool>* cancel = nullptr);

// Loss and accuracy over `images` at w(t) = (1 - t) w1 + t w2 (computed in float64, then cast to the
// network's dtype) on the options' t grid. The network supplies the architecture; its own weights are
// restored afterwards. Progress after each point, cancellation before each point. Throws ConfigError
// naming --interpolate-points or --interpolate-range for a bad grid and Error for weight vectors whose
// length is not the parameter count.
InterpolationResult computeInterpolation(Network& network, const ImageSet& images,
                                         const std::vector<double>& w1, const std::vector<double>& w2,
                                         const InterpolationOptions& options,
                                         const InterpolationProgress& progress = {},
                                         const std::atomic<bool>* cancel = nullptr);

}  // namespace samscape

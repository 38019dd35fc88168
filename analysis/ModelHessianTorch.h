#pragma once
// Builds a ModelHessian for a network. Separate from ModelHessian.h because Network is a LibTorch
// type: include this where the network is made (the CLI, a worker), not in GUI headers.

#include <memory>

#include "analysis/ModelHessian.h"
#include "core/models/Network.h"

namespace samscape {

// Moves the network to options.device and, when options.doublePrecision, converts it to float64;
// the ModelHessian's destructor undoes both. The network and the images must outlive the operator,
// and the network must not be trained while the operator exists. Throws ConfigError for a bad device
// and Error for an empty set, a batch size below 1 or statistics that do not fit the images.
std::unique_ptr<ModelHessian> makeModelHessian(Network& network, const ImageSet& images,
                                               const ModelHessianOptions& options);

}  // namespace samscape

#include "core/models/NetworkPlacement.h"

#include <torch/torch.h>

#include "core/Error.h"
#include "core/models/ParameterVector.h"

namespace samscape {

ScopedAnalysisPlacement::ScopedAnalysisPlacement(Network& network, torch::Device device, bool doublePrecision,
                                                 bool saveWeights)
    : network_(network), originalDevice_(torch::kCPU), originalDtype_(torch::kFloat32) {
  const std::vector<torch::Tensor> parameters = network.parameters();
  if (parameters.empty()) throw Error("the network has no trainable parameters to analyse");
  originalDevice_ = parameters.front().device();
  originalDtype_ = parameters.front().scalar_type();
  try {
    network.to(device);
    if (doublePrecision) network.toDtype(torch::kFloat64);
    if (saveWeights) saved_ = flattenParameters(network).clone();
  } catch (...) {
    restore();
    throw;
  }
}

ScopedAnalysisPlacement::~ScopedAnalysisPlacement() {
  try {
    restore();
  } catch (...) {
    // A destructor must not throw; copying a saved tensor of the right size back, and converting to a
    // dtype and device the network already had, do not fail in practice.
  }
}

void ScopedAnalysisPlacement::restore() {
  if (restored_) return;
  restored_ = true;
  if (saved_.defined()) assignParameters(network_, saved_);
  network_.toDtype(originalDtype_);
  network_.to(originalDevice_);
}

}  // namespace samscape

#pragma once
// A network moved to an analysis's device and dtype for a scope. LibTorch header: analysis .cpp files
// only.

#include <torch/types.h>

#include "core/models/Network.h"

namespace samscape {

// Puts a network on an analysis's device (and, when asked, in float64) for a scope, and gives it back
// on its original device and dtype on every exit path, exceptions included. With saveWeights it also
// keeps one flat copy of the weights (after the move, in the working dtype: float -> double -> float is
// exact) and copies it back bit for bit first, for analyses that perturb the weights in place. The
// Hessian operator, m-sharpness and the loss landscapes share it.
class ScopedAnalysisPlacement {
 public:
  // Throws Error for a network without trainable parameters.
  ScopedAnalysisPlacement(Network& network, torch::Device device, bool doublePrecision, bool saveWeights);
  ~ScopedAnalysisPlacement();  // restore(), never throwing
  ScopedAnalysisPlacement(const ScopedAnalysisPlacement&) = delete;
  ScopedAnalysisPlacement& operator=(const ScopedAnalysisPlacement&) = delete;

  // The saved weights (undefined without saveWeights).
  const torch::Tensor& savedWeights() const { return saved_; }
  // Restores now; later calls (and the destructor) do nothing.
  void restore();

 private:
  Network& network_;
  torch::Device originalDevice_;
  torch::Dtype originalDtype_;
  torch::Tensor saved_;
  bool restored_ = false;
};

}  // namespace samscape

#pragma once
// Arithmetic on lists of tensors (one per parameter) taken together as one vector, as the rules need
// it: SAM's norm is over all parameters at once. Undefined entries (a parameter the loss does not
// reach) are left out. LibTorch header.

#include <vector>

#include <torch/types.h>

namespace samscape {

// The joint L2 norm, with one synchronization.
inline double jointNorm(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> norms;
  for (const auto& tensor : tensors) {
    if (tensor.defined()) norms.push_back(tensor.norm().to(torch::kFloat64));
  }
  if (norms.empty()) return 0.0;
  return torch::stack(norms).pow(2).sum().sqrt().item<double>();
}

// The dot product, in double.
inline double jointDot(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  std::vector<torch::Tensor> products;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].defined() && b[i].defined()) products.push_back((a[i].to(torch::kFloat64) * b[i].to(torch::kFloat64)).sum());
  }
  if (products.empty()) return 0.0;
  return torch::stack(products).sum().item<double>();
}

// The parameters' .grad(), in order.
inline std::vector<torch::Tensor> gradientsOf(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> result;
  result.reserve(parameters.size());
  for (const auto& parameter : parameters) result.push_back(parameter.grad());
  return result;
}

}  // namespace samscape

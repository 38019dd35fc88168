#include "core/models/ParameterVector.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/Error.h"

namespace samscape {

torch::Tensor flattenTensors(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return torch::empty({0});
  std::vector<torch::Tensor> pieces;
  pieces.reserve(tensors.size());
  for (const auto& tensor : tensors) pieces.push_back(tensor.reshape({-1}));
  return torch::cat(pieces);
}

torch::Tensor flattenParameters(Network& network) {
  torch::NoGradGuard noGrad;
  return flattenTensors(network.parameters()).detach().clone();
}

std::vector<torch::Tensor> unflattenLike(const torch::Tensor& flat, const std::vector<torch::Tensor>& like) {
  std::int64_t total = 0;
  for (const auto& tensor : like) total += tensor.numel();
  if (flat.dim() != 1 || flat.numel() != total) {
    throw Error("a flat parameter vector of " + std::to_string(flat.numel()) + " elements does not fit " +
                std::to_string(total) + " parameters");
  }
  std::vector<torch::Tensor> out;
  out.reserve(like.size());
  std::int64_t offset = 0;
  for (const auto& tensor : like) {
    out.push_back(flat.narrow(0, offset, tensor.numel()).view(tensor.sizes()));
    offset += tensor.numel();
  }
  return out;
}

void assignParameters(Network& network, const torch::Tensor& flat) {
  const std::vector<torch::Tensor> parameters = network.parameters();
  const std::vector<torch::Tensor> pieces = unflattenLike(flat, parameters);
  torch::NoGradGuard noGrad;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    auto target = parameters[i];  // shares the tensor; copy_ writes in place
    target.copy_(pieces[i]);
  }
}


}  // namespace samscape

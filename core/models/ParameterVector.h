#pragma once
// A network's trainable parameters as one flat vector: the analyses (analysis/) and the objective
// (core/train/DatasetObjective.h) move weights through it. LibTorch header: analysis .cpp files may
// include it, their public headers and the GUI never do.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/models/Network.h"

namespace samscape {

// The parameters' values, detached, concatenated in Network::parameters() order into one 1-D tensor
// (of the parameters' device and dtype).
torch::Tensor flattenParameters(Network& network);
// Concatenates tensors (each reshaped to 1-D) in order; an empty list gives an empty tensor.
torch::Tensor flattenTensors(const std::vector<torch::Tensor>& tensors);
// Splits `flat` into views shaped like `like`, in order. Throws Error when the sizes disagree.
std::vector<torch::Tensor> unflattenLike(const torch::Tensor& flat, const std::vector<torch::Tensor>& like);
// Copies `flat` into the network's parameters in place (converting device and dtype), without autograd.
// Throws Error when its length is not the parameter count.
void assignParameters(Network& network, const torch::Tensor& flat);

}  // namespace samscape

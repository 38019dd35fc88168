#include "core/models/ParameterVector.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/Error.h"
#include "core/train/DistributedGroup.h"
#include "core/data/BatchLoader.h"

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

DatasetObjective::DatasetObjective(Network& network, const ImageSet& images, ObjectiveOptions options)
    : network_(network), images_(images), options_(std::move(options)), parameters_(network.parameters()) {
  if (images_.size() == 0) throw Error("the Hessian objective needs at least one example; the image set is empty");
  if (options_.batchSize < 1) {
    throw Error("the Hessian objective's batch size must be at least 1, not " + std::to_string(options_.batchSize));
  }
  if (options_.normalize && (options_.statistics.mean.size() != static_cast<std::size_t>(images_.channels) ||
                             options_.statistics.stddev.size() != static_cast<std::size_t>(images_.channels))) {
    throw Error("normalization statistics for " + std::to_string(options_.statistics.mean.size()) +
                " channels do not fit images with " + std::to_string(images_.channels));
  }
  for (const auto& parameter : parameters_) parameterCount_ += parameter.numel();
  if (parameterCount_ == 0) throw Error("the network has no trainable parameters to analyse");
}

std::int64_t DatasetObjective::exampleCount() const { return static_cast<std::int64_t>(images_.size()); }

std::int64_t DatasetObjective::chunkCount() const {
  // Without N + batchSize - 1, which overflows for a batch size near the int64 limit.
  return exampleCount() / options_.batchSize + (exampleCount() % options_.batchSize != 0 ? 1 : 0);
}

DatasetObjective::Chunk DatasetObjective::chunk(std::int64_t index) {
  const std::int64_t begin = index * options_.batchSize;
  const std::int64_t size = std::min(options_.batchSize, exampleCount() - begin);
  const auto bytes = static_cast<std::int64_t>(images_.imageBytes());
  // from_blob does not copy; nothing writes through these views.
  const torch::Tensor pixels =
      torch::from_blob(const_cast<std::uint8_t*>(images_.pixels.data()) + begin * bytes,
                       {size, images_.channels, images_.height, images_.width}, torch::kUInt8);
  const torch::Tensor labels =
      torch::from_blob(const_cast<std::int64_t*>(images_.labels.data()) + begin, {size}, torch::kInt64);
  // Preprocessed in float32 exactly as in training, then cast to the parameters' dtype.
  const torch::Tensor input = preprocessImages(pixels, options_.normalize, options_.statistics);
  return {input.to(options_.device, parameters_.front().scalar_type()), labels.to(options_.device)};
}

torch::Tensor DatasetObjective::chunkLoss(const Chunk& chunk) {
  namespace F = torch::nn::functional;
  const torch::Tensor logits = network_.forward(chunk.images);
  return F::cross_entropy(logits, chunk.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(exampleCount());
}

double DatasetObjective::loss() {
  torch::NoGradGuard noGrad;
  network_.setTraining(false);
  double total = 0.0;
  for (std::int64_t index = firstChunk(); index < chunkCount(); index += chunkStride()) {
    total += chunkLoss(chunk(index)).item<double>();
  }
  if (options_.group == nullptr) return total;
  torch::Tensor sum = torch::tensor({total}, torch::kFloat64).to(options_.device);
  options_.group->allReduceSum(sum, "the analysis loss");
  return sum.item<double>();
}

torch::Tensor DatasetObjective::gradient() {
  torch::AutoGradMode enableGrad(true);
  network_.setTraining(false);
  torch::Tensor total;
  for (std::int64_t index = firstChunk(); index < chunkCount(); index += chunkStride()) {
    const torch::Tensor value = chunkLoss(chunk(index));
    // allow_unused: a parameter the loss does not reach has a zero gradient.
    const auto grads = torch::autograd::grad({value}, parameters_, {}, /*retain_graph=*/false,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    std::vector<torch::Tensor> pieces;
    for (std::size_t i = 0; i < grads.size(); ++i) {
      pieces.push_back(grads[i].defined() ? grads[i] : torch::zeros_like(parameters_[i]));
    }
    const torch::Tensor flat = flattenTensors(pieces).detach();
    total = total.defined() ? total.add_(flat) : flat.clone();
  }
  return sumOverRanks(total, "the analysis gradient");
}

torch::Tensor DatasetObjective::hessianVectorProduct(const torch::Tensor& v) {
  if (v.dim() != 1 || v.numel() != parameterCount_) {
    throw Error("a Hessian-vector product needs a vector of " + std::to_string(parameterCount_) +
                " elements, not " + std::to_string(v.numel()));
  }
  torch::AutoGradMode enableGrad(true);
  const TwiceDifferentiableAttention attention;  // a transformer's attention, differentiated twice
  network_.setTraining(false);
  const torch::Tensor direction =
      v.detach().to(parameters_.front().device(), parameters_.front().scalar_type());
  const std::vector<torch::Tensor> directionPieces = unflattenLike(direction, parameters_);
  torch::Tensor total;
  for (std::int64_t index = firstChunk(); index < chunkCount(); index += chunkStride()) {
    const torch::Tensor value = chunkLoss(chunk(index));
    const auto grads = torch::autograd::grad({value}, parameters_, {}, /*retain_graph=*/true,
                                             /*create_graph=*/true, /*allow_unused=*/true);
    // g . v, summed over the parameters that the loss reaches (the others contribute zero rows).
    torch::Tensor dot;
    for (std::size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) continue;
      const torch::Tensor term = (grads[i] * directionPieces[i]).sum();
      dot = dot.defined() ? dot + term : term;
    }
    std::vector<torch::Tensor> pieces;
    if (dot.defined() && dot.requires_grad()) {
      const auto second = torch::autograd::grad({dot}, parameters_, {}, /*retain_graph=*/false,
                                                /*create_graph=*/false, /*allow_unused=*/true);
      for (std::size_t i = 0; i < second.size(); ++i) {
        pieces.push_back(second[i].defined() ? second[i] : torch::zeros_like(parameters_[i]));
      }
    } else {
      // The loss is linear in every parameter it reaches: the Hessian is zero.
      for (const auto& parameter : parameters_) pieces.push_back(torch::zeros_like(parameter));
    }
    const torch::Tensor flat = flattenTensors(pieces).detach();
    total = total.defined() ? total.add_(flat) : flat.clone();
  }
  ++hessianVectorProducts_;
  return sumOverRanks(total, "Hessian-vector product " + std::to_string(hessianVectorProducts_));
}

std::int64_t DatasetObjective::firstChunk() const { return options_.group == nullptr ? 0 : options_.group->rank(); }

std::int64_t DatasetObjective::chunkStride() const { return options_.group == nullptr ? 1 : options_.group->worldSize(); }

torch::Tensor DatasetObjective::sumOverRanks(torch::Tensor local, const std::string& purpose) {
  // A rank with no chunk of its own (fewer chunks than ranks) contributes zeros.
  if (!local.defined()) {
    local = torch::zeros({parameterCount_}, torch::TensorOptions().dtype(parameters_.front().scalar_type()).device(parameters_.front().device()));
  }
  if (options_.group != nullptr) options_.group->allReduceSum(local, purpose);
  return local;
}

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

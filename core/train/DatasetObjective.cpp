#include "core/train/DatasetObjective.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "core/Error.h"
#include "core/data/BatchLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/DistributedGroup.h"

namespace samscape {

DatasetObjective::DatasetObjective(Network& network, const ImageSet& images, EvaluationSettings options)
    : network_(network),
      images_(images),
      options_(std::move(options)),
      device_(options_.device),  // options_ is declared (and so initialized) first
      parameters_(network.parameters()) {
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
  return rows(begin, std::min(options_.batchSize, exampleCount() - begin));
}

DatasetObjective::Chunk DatasetObjective::rows(std::int64_t begin, std::int64_t size) {
  const auto bytes = static_cast<std::int64_t>(images_.imageBytes());
  // from_blob does not copy; nothing writes through these views.
  const torch::Tensor pixels =
      torch::from_blob(const_cast<std::uint8_t*>(images_.pixels.data()) + begin * bytes,
                       {size, images_.channels, images_.height, images_.width}, torch::kUInt8);
  const torch::Tensor labels =
      torch::from_blob(const_cast<std::int64_t*>(images_.labels.data()) + begin, {size}, torch::kInt64);
  // Preprocessed in float32 exactly as in training, then cast to the parameters' dtype.
  const torch::Tensor input = preprocessImages(pixels, options_.normalize, options_.statistics);
  return {input.to(device_, parameters_.front().scalar_type()), labels.to(device_)};
}

torch::Tensor DatasetObjective::chunkLoss(const Chunk& chunk) {
  const torch::Tensor logits = network_.forward(chunk.images);
  // The cross-entropy -log softmax(z)_y = logsumexp(z) - z_y, summed over the chunk.
  const torch::Tensor picked = logits.gather(1, chunk.labels.unsqueeze(1)).squeeze(1);
  return (torch::logsumexp(logits, 1) - picked).sum() / static_cast<double>(exampleCount());
}

double DatasetObjective::loss() {
  torch::NoGradGuard noGrad;
  network_.setTraining(false);
  double total = 0.0;
  for (std::int64_t index = firstChunk(); index < chunkCount(); index += chunkStride()) {
    total += chunkLoss(chunk(index)).item<double>();
  }
  if (options_.group == nullptr) return total;
  torch::Tensor sum = torch::tensor({total}, torch::kFloat64).to(device_);
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

const char* productMethodName(ProductMethod method) {
  return method == ProductMethod::ForwardOverReverse ? "forward over reverse" : "double backward";
}

namespace {

// LibTorch's forward-mode AD levels are global to the process, and it supports one at a time ("Nested
// forward mode AD is not supported"): analyses that run side by side on worker threads (the app
// analyses a pair's two runs at once) take turns at forward-over-reverse passes.
std::mutex& dualLevelMutex() {
  static std::mutex mutex;
  return mutex;
}

// A forward-mode AD level for a scope: the tangents set at this level are cleared on every exit path.
class DualLevel {
 public:
  DualLevel() : lock_(dualLevelMutex()), level_(torch::autograd::forward_ad::enter_dual_level()) {}
  ~DualLevel() { torch::autograd::forward_ad::exit_dual_level(level_); }
  DualLevel(const DualLevel&) = delete;
  DualLevel& operator=(const DualLevel&) = delete;
  std::uint64_t level() const { return level_; }

 private:
  std::lock_guard<std::mutex> lock_;
  std::uint64_t level_;
};

// The pieces as one flat vector, an undefined piece (a parameter the loss does not reach) as zeros.
torch::Tensor flattenOrZeros(const std::vector<torch::Tensor>& pieces, const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> filled;
  filled.reserve(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    filled.push_back(pieces[i].defined() ? pieces[i] : torch::zeros_like(parameters[i]));
  }
  return flattenTensors(filled).detach();
}

template <typename Action>
double secondsOf(Action&& action) {
  const auto start = std::chrono::steady_clock::now();
  action();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<torch::Tensor> DatasetObjective::directionPieces(const torch::Tensor& v) {
  if (v.dim() != 1 || v.numel() != parameterCount_) {
    throw Error("a Hessian-vector product needs a vector of " + std::to_string(parameterCount_) +
                " elements, not " + std::to_string(v.numel()));
  }
  const torch::Tensor direction = v.detach().to(parameters_.front().device(), parameters_.front().scalar_type());
  return unflattenLike(direction, parameters_);
}

std::vector<torch::Tensor> DatasetObjective::chunkProducts(const Chunk& chunk, ProductMethod method,
                                                           const std::vector<std::vector<torch::Tensor>>& directions) {
  std::vector<torch::Tensor> products;
  if (method == ProductMethod::ForwardOverReverse) {
    for (const auto& pieces : directions) {
      const DualLevel dual;
      for (std::size_t i = 0; i < parameters_.size(); ++i) {
        parameters_[i]._set_fw_grad(pieces[i], dual.level(), /*is_inplace_op=*/false);
      }
      const torch::Tensor value = chunkLoss(chunk);
      const auto grads = torch::autograd::grad({value}, parameters_, {}, /*retain_graph=*/false,
                                               /*create_graph=*/false, /*allow_unused=*/true);
      std::vector<torch::Tensor> tangents;
      // No tangent: the gradient does not depend on the parameters along v (a zero row of H).
      for (const auto& grad : grads) tangents.push_back(grad.defined() ? grad._fw_grad(dual.level()) : torch::Tensor());
      products.push_back(flattenOrZeros(tangents, parameters_));
    }
    return products;
  }
  const torch::Tensor value = chunkLoss(chunk);
  const auto grads = torch::autograd::grad({value}, parameters_, {}, /*retain_graph=*/true,
                                           /*create_graph=*/true, /*allow_unused=*/true);
  // The gradients that depend on the parameters (the others are constant: zero rows of H).
  std::vector<torch::Tensor> outputs;
  std::vector<std::size_t> reached;
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (grads[i].defined() && grads[i].requires_grad()) {
      outputs.push_back(grads[i]);
      reached.push_back(i);
    }
  }
  for (std::size_t j = 0; j < directions.size(); ++j) {
    if (outputs.empty()) {  // the loss is linear in every parameter it reaches: H = 0
      products.push_back(torch::zeros({parameterCount_}, parameters_.front().options()));
      continue;
    }
    std::vector<torch::Tensor> gradOutputs;
    for (std::size_t i : reached) gradOutputs.push_back(directions[j][i]);
    // grad(g, w, v) = (dg/dw)^T v = H v (H symmetric).
    const auto second = torch::autograd::grad(outputs, parameters_, gradOutputs, /*retain_graph=*/j + 1 < directions.size(),
                                              /*create_graph=*/false, /*allow_unused=*/true);
    products.push_back(flattenOrZeros(second, parameters_));
  }
  return products;
}

std::vector<torch::Tensor> DatasetObjective::hessianVectorProducts(const std::vector<torch::Tensor>& vectors) {
  if (vectors.empty()) return {};
  torch::AutoGradMode enableGrad(true);
  const TwiceDifferentiableAttention attention;  // a transformer's attention, differentiated twice
  network_.setTraining(false);
  std::vector<std::vector<torch::Tensor>> directions;
  for (const auto& v : vectors) directions.push_back(directionPieces(v));
  std::vector<torch::Tensor> totals;
  for (std::int64_t index = firstChunk(); index < chunkCount(); index += chunkStride()) {
    std::vector<torch::Tensor> products = chunkProducts(chunk(index), productMethod_, directions);
    if (totals.empty()) {
      totals = std::move(products);
    } else {
      for (std::size_t j = 0; j < totals.size(); ++j) totals[j].add_(products[j]);
    }
  }
  std::vector<torch::Tensor> results;
  for (std::size_t j = 0; j < vectors.size(); ++j) {
    ++hessianVectorProducts_;
    results.push_back(sumOverRanks(totals.empty() ? torch::Tensor() : totals[j],
                                   "Hessian-vector product " + std::to_string(hessianVectorProducts_)));
  }
  return results;
}

torch::Tensor DatasetObjective::hessianVectorProduct(const torch::Tensor& v) { return hessianVectorProducts({v}).front(); }

ProductMethodChoice DatasetObjective::chooseProductMethod(std::int64_t examples) {
  torch::AutoGradMode enableGrad(true);
  const TwiceDifferentiableAttention attention;
  network_.setTraining(false);
  ProductMethodChoice choice;
  choice.examples = std::max<std::int64_t>(1, std::min({examples, options_.batchSize, exampleCount()}));
  const Chunk probe = rows(0, choice.examples);
  // A fixed direction: the probe times the methods, its values are not used.
  const std::vector<std::vector<torch::Tensor>> direction{
      directionPieces(torch::ones({parameterCount_}, parameters_.front().options()))};
  const auto fastestOfTwo = [&](ProductMethod method) {
    chunkProducts(probe, method, direction);  // warm-up (and the test of support)
    double best = secondsOf([&] { chunkProducts(probe, method, direction).front().sum().item<double>(); });
    return std::min(best, secondsOf([&] { chunkProducts(probe, method, direction).front().sum().item<double>(); }));
  };
  choice.doubleBackwardSeconds = fastestOfTwo(ProductMethod::DoubleBackward);
  try {
    choice.forwardOverReverseSeconds = fastestOfTwo(ProductMethod::ForwardOverReverse);
  } catch (const c10::Error& error) {
    // An operation without a forward derivative of its backward (LibTorch: NotImplementedError).
    choice.forwardOverReverseSeconds = std::numeric_limits<double>::quiet_NaN();
    const std::string message = error.what_without_backtrace();
    choice.forwardOverReverseError = message.substr(0, message.find('\n'));
  }
  choice.method = choice.forwardOverReverseSeconds < choice.doubleBackwardSeconds ? ProductMethod::ForwardOverReverse
                                                                                 : ProductMethod::DoubleBackward;
  productMethod_ = choice.method;
  return choice;
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

}  // namespace samscape

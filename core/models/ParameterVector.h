#pragma once
// A network's trainable parameters as one flat vector, and the mean cross-entropy over a whole image
// set as a function of that vector: its value, gradient and Hessian-vector products. The Hessian
// analyses (analysis/) are built on this. LibTorch header: analysis .cpp files may include it, their
// public headers and the GUI never do.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/data/DatasetLoader.h"
#include "core/data/ImageSet.h"
#include "core/models/Network.h"
#include "core/models/ProductMethod.h"

namespace samscape {

class DistributedGroup;

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

struct ObjectiveOptions {
  // Standardize each channel with `statistics` (as in training with normalization); otherwise pixels
  // are only scaled to [0, 1].
  bool normalize = true;
  ChannelStatistics statistics;
  // Examples per forward/backward pass: the memory bound. The result does not depend on it (up to
  // rounding).
  std::int64_t batchSize = 256;
  torch::Device device = torch::kCPU;
  // A multi-process job (samscape-cli launch -- analyze): each rank takes every world-size-th chunk of
  // the set, and the sums over chunks are all-reduced, so every rank gets the whole set's value.
  DistributedGroup* group = nullptr;
};

// L(w) = (1/N) sum_n CE(f(x_n; w), y_n) over every example of an image set, at the network's current
// parameters, in evaluation mode (batch norm on its running statistics, which are constants here), so
// L is a deterministic function of w. Each method runs over the set in chunks of batchSize examples
// and sums the chunks' contributions (chunk sum / N), so memory stays bounded. Inputs are cast to the
// parameters' dtype: convert the network with Network::toDtype(torch::kFloat64) first for a
// double-precision analysis. The network must already be on `device`; every method leaves it in
// evaluation mode.
// Keeps references to the network and the images: both must outlive the objective.
class DatasetObjective {
 public:
  // Throws Error for an empty image set, a batch size below 1 or a network without parameters.
  DatasetObjective(Network& network, const ImageSet& images, ObjectiveOptions options);

  std::int64_t parameterCount() const { return parameterCount_; }
  // The dtype of the parameters, and so of gradients and products, now (it follows the network's).
  torch::Dtype gradientDtype() const { return parameters_.front().scalar_type(); }
  std::int64_t exampleCount() const;

  double loss();
  // dL/dw, flat, on the device in the parameters' dtype.
  torch::Tensor gradient();
  // H v with H the Hessian of L at the current parameters, per chunk by productMethod(), summed. `v` is
  // flat, of length parameterCount(), on any device and of any floating dtype (converted); the result is
  // like gradient().
  torch::Tensor hessianVectorProduct(const torch::Tensor& v);
  // H v_j for several vectors in one pass over the set. By double backward, each chunk's forward pass
  // and first backward pass serve every vector (then one second backward pass per vector); by forward
  // over reverse, one pass per vector. Counts as vectors.size() products.
  std::vector<torch::Tensor> hessianVectorProducts(const std::vector<torch::Tensor>& vectors);
  // How many Hessian-vector products this objective has computed (each one pass over the set's worth).
  std::int64_t hessianVectorProducts() const { return hessianVectorProducts_; }

  ProductMethod productMethod() const { return productMethod_; }
  void setProductMethod(ProductMethod method) { productMethod_ = method; }
  // Times one product of each method over the set's first `examples` examples (fewer when the set or
  // the batch size is smaller), the faster of two tries each, and sets the faster method. A network
  // whose operations lack forward derivatives keeps double backward (the reason is returned). The
  // probe's products are not counted.
  ProductMethodChoice chooseProductMethod(std::int64_t examples = 64);

 private:
  struct Chunk {
    torch::Tensor images;
    torch::Tensor labels;
  };
  std::int64_t chunkCount() const;
  Chunk chunk(std::int64_t index);
  Chunk rows(std::int64_t begin, std::int64_t size);
  // Sum of the chunk's cross-entropies divided by the whole set's size, with autograd on. Written as
  // logsumexp(z) - z_y rather than through cross_entropy: LibTorch's nll_loss_backward has no forward
  // derivative, which forward over reverse needs.
  torch::Tensor chunkLoss(const Chunk& chunk);
  // The chunk's share of H v_j for each direction (each given split like the parameters).
  std::vector<torch::Tensor> chunkProducts(const Chunk& chunk, ProductMethod method,
                                           const std::vector<std::vector<torch::Tensor>>& directions);
  std::vector<torch::Tensor> directionPieces(const torch::Tensor& v);

  Network& network_;
  const ImageSet& images_;
  // This rank's chunks: firstChunk(), firstChunk() + chunkStride(), ... (all of them in one process).
  std::int64_t firstChunk() const;
  std::int64_t chunkStride() const;
  // `local` summed over the ranks (as it is in one process); undefined counts as zeros.
  torch::Tensor sumOverRanks(torch::Tensor local, const std::string& purpose);

  ObjectiveOptions options_;
  std::vector<torch::Tensor> parameters_;
  std::int64_t parameterCount_ = 0;
  std::int64_t hessianVectorProducts_ = 0;
  ProductMethod productMethod_ = ProductMethod::DoubleBackward;
};

}  // namespace samscape

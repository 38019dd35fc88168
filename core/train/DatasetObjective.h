#pragma once
// The mean cross-entropy over a whole image set as a function of the network's flat parameter vector
// (core/models/ParameterVector.h): its value, gradient and Hessian-vector products. The Hessian
// analyses (analysis/) and the resource probe are built on this. LibTorch header: analysis .cpp files
// may include it, their public headers and the GUI never do.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/data/EvaluationSettings.h"
#include "core/data/ImageSet.h"
#include "core/models/Network.h"
#include "core/models/ProductMethod.h"

namespace samscape {

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
  DatasetObjective(Network& network, const ImageSet& images, EvaluationSettings options);

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

  EvaluationSettings options_;
  torch::Device device_;
  std::vector<torch::Tensor> parameters_;
  std::int64_t parameterCount_ = 0;
  std::int64_t hessianVectorProducts_ = 0;
  ProductMethod productMethod_ = ProductMethod::DoubleBackward;
};

}  // namespace samscape

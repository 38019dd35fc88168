#include "analysis/ModelHessian.h"

#include <torch/types.h>

#include <cstring>
#include <optional>
#include <utility>

#include "analysis/ModelHessianTorch.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/ParameterVector.h"

namespace samscape {

struct ModelHessian::Impl {
  Network& network;
  torch::Device originalDevice;
  torch::Dtype originalDtype;
  std::optional<DatasetObjective> objective;

  Impl(Network& network, torch::Device device, torch::Dtype dtype)
      : network(network), originalDevice(device), originalDtype(dtype) {}

  void restoreNetwork() {
    network.toDtype(originalDtype);
    network.to(originalDevice);
  }
};

ModelHessian::ModelHessian(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelHessian::~ModelHessian() {
  if (!impl_) return;
  try {
    impl_->restoreNetwork();
  } catch (...) {
    // A destructor must not throw; converting back to a dtype and device the network already had
    // does not fail in practice.
  }
}

std::int64_t ModelHessian::size() const { return impl_->objective->parameterCount(); }

std::int64_t ModelHessian::exampleCount() const { return impl_->objective->exampleCount(); }

std::int64_t ModelHessian::hessianVectorProducts() const { return impl_->objective->hessianVectorProducts(); }

void ModelHessian::apply(const double* in, double* out) {
  const std::int64_t n = size();
  // from_blob does not copy and `in` is never written through.
  const torch::Tensor direction = torch::from_blob(const_cast<double*>(in), {n}, torch::kFloat64);
  const torch::Tensor product =
      impl_->objective->hessianVectorProduct(direction).to(torch::kCPU, torch::kFloat64).contiguous();
  std::memcpy(out, product.data_ptr<double>(), static_cast<std::size_t>(n) * sizeof(double));
}

double ModelHessian::loss() { return impl_->objective->loss(); }

std::vector<double> ModelHessian::gradient() {
  const torch::Tensor gradient = impl_->objective->gradient().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = gradient.data_ptr<double>();
  return std::vector<double>(data, data + gradient.numel());
}

std::unique_ptr<ModelHessian> makeModelHessian(Network& network, const ImageSet& images,
                                               const ModelHessianOptions& options) {
  checkDeviceName(options.device);
  const std::vector<torch::Tensor> parameters = network.parameters();
  if (parameters.empty()) throw Error("the network has no trainable parameters to analyse");
  auto impl = std::make_unique<ModelHessian::Impl>(network, parameters.front().device(),
                                                   parameters.front().scalar_type());
  ObjectiveOptions objectiveOptions;
  objectiveOptions.normalize = options.normalize;
  objectiveOptions.statistics = options.statistics;
  objectiveOptions.batchSize = options.batchSize;
  objectiveOptions.device = torch::Device(options.device);
  network.to(objectiveOptions.device);
  if (options.doublePrecision) network.toDtype(torch::kFloat64);
  try {
    impl->objective.emplace(network, images, objectiveOptions);
  } catch (...) {
    impl->restoreNetwork();
    throw;
  }
  return std::make_unique<ModelHessian>(std::move(impl));
}

}  // namespace samscape

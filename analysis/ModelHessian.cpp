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
  // Declared first, destroyed last: the objective goes before the network is given back.
  ScopedAnalysisPlacement placement;
  std::optional<DatasetObjective> objective;

  Impl(Network& network, torch::Device device, bool doublePrecision)
      : placement(network, device, doublePrecision, /*saveWeights=*/false) {}
};

ModelHessian::ModelHessian(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelHessian::~ModelHessian() = default;

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
  ObjectiveOptions objectiveOptions;
  objectiveOptions.normalize = options.normalize;
  objectiveOptions.statistics = options.statistics;
  objectiveOptions.batchSize = options.batchSize;
  objectiveOptions.device = torch::Device(options.device);
  objectiveOptions.group = options.group;
  // If the objective throws, destroying `impl` gives the network back.
  auto impl = std::make_unique<ModelHessian::Impl>(network, objectiveOptions.device, options.doublePrecision);
  impl->objective.emplace(network, images, objectiveOptions);
  return std::make_unique<ModelHessian>(std::move(impl));
}

}  // namespace samscape

#include "analysis/ModelHessian.h"

#include <torch/types.h>

#include <cstring>
#include <optional>
#include <vector>
#include <utility>

#include "analysis/ModelHessianTorch.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "core/models/NetworkPlacement.h"

namespace samscape {

namespace {

// Products of `count` vectors of `n` doubles through the objective, written to `out`.
void objectiveProducts(DatasetObjective& objective, std::int64_t count, const double* in, double* out) {
  const std::int64_t n = objective.parameterCount();
  std::vector<torch::Tensor> vectors;
  for (std::int64_t j = 0; j < count; ++j) {
    // from_blob does not copy and `in` is never written through.
    vectors.push_back(torch::from_blob(const_cast<double*>(in + j * n), {n}, torch::kFloat64));
  }
  const std::vector<torch::Tensor> products = objective.hessianVectorProducts(vectors);
  for (std::int64_t j = 0; j < count; ++j) {
    const torch::Tensor product = products[static_cast<std::size_t>(j)].to(torch::kCPU, torch::kFloat64).contiguous();
    std::memcpy(out + j * n, product.data_ptr<double>(), static_cast<std::size_t>(n) * sizeof(double));
  }
}

}  // namespace

struct ModelHessian::Impl {
  // Declared first, destroyed last: the objective goes before the network is given back.
  ScopedAnalysisPlacement placement;
  std::optional<DatasetObjective> objective;
  Network& network;
  bool doublePrecision;
  ProductMethodChoice method;

  // The float64 view (ModelHessian::inDoublePrecision).
  class DoublePrecisionView : public SymmetricOperator {
   public:
    explicit DoublePrecisionView(Impl& impl) : impl_(impl) {}
    std::int64_t size() const override { return impl_.objective->parameterCount(); }
    void apply(const double* in, double* out) override { applyMany(1, in, out); }
    void applyMany(std::int64_t count, const double* in, double* out) override {
      if (impl_.doublePrecision) return objectiveProducts(*impl_.objective, count, in, out);
      const torch::Dtype own = impl_.objective->gradientDtype();
      impl_.network.toDtype(torch::kFloat64);
      try {
        objectiveProducts(*impl_.objective, count, in, out);
      } catch (...) {
        impl_.network.toDtype(own);
        throw;
      }
      impl_.network.toDtype(own);
    }

   private:
    Impl& impl_;
  };
  DoublePrecisionView doubleView{*this};

  Impl(Network& network, torch::Device device, bool doublePrecision)
      : placement(network, device, doublePrecision, /*saveWeights=*/false), network(network),
        doublePrecision(doublePrecision) {}
};

ModelHessian::ModelHessian(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ModelHessian::~ModelHessian() = default;

std::int64_t ModelHessian::size() const { return impl_->objective->parameterCount(); }

std::int64_t ModelHessian::exampleCount() const { return impl_->objective->exampleCount(); }

std::int64_t ModelHessian::hessianVectorProducts() const { return impl_->objective->hessianVectorProducts(); }

void ModelHessian::apply(const double* in, double* out) { objectiveProducts(*impl_->objective, 1, in, out); }

void ModelHessian::applyMany(std::int64_t count, const double* in, double* out) {
  objectiveProducts(*impl_->objective, count, in, out);
}

SymmetricOperator& ModelHessian::inDoublePrecision() { return impl_->doubleView; }

bool ModelHessian::doublePrecision() const { return impl_->doublePrecision; }

const ProductMethodChoice& ModelHessian::productMethod() const { return impl_->method; }

double ModelHessian::loss() { return impl_->objective->loss(); }

std::vector<double> ModelHessian::gradient() {
  const torch::Tensor gradient = impl_->objective->gradient().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = gradient.data_ptr<double>();
  return std::vector<double>(data, data + gradient.numel());
}

std::unique_ptr<ModelHessian> makeModelHessian(Network& network, const ImageSet& images,
                                               const ModelHessianOptions& options) {
  checkDeviceName(options.evaluation.device);
  // If the objective throws, destroying `impl` gives the network back.
  auto impl = std::make_unique<ModelHessian::Impl>(network, torch::Device(options.evaluation.device), options.doublePrecision);
  impl->objective.emplace(network, images, options.evaluation);
  if (options.chooseProductMethod) {
    impl->method = impl->objective->chooseProductMethod();
  } else {
    impl->method.method = options.productMethod;
    impl->objective->setProductMethod(options.productMethod);
  }
  return std::make_unique<ModelHessian>(std::move(impl));
}

}  // namespace samscape

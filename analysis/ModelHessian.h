#pragma once
// The Hessian of a network's mean training loss over an image set, as a SymmetricOperator that the
// spectrum (HessianSpectrum.h) and trace (HessianTrace.h) estimators take. Built by makeModelHessian
// in analysis/ModelHessianTorch.h, the one header here that names LibTorch types; this one carries
// none, so the GUI can hold and run the operator.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analysis/HessianSpectrum.h"
#include "core/data/DatasetLoader.h"
#include "core/data/EvaluationSettings.h"
#include "core/data/ImageSet.h"
#include "core/models/ProductMethod.h"

namespace samscape {

struct ModelHessianOptions {
  // The passes over the set: per-channel standardization as the run trained, examples per pass (bounds
  // memory; the result does not depend on it), device, and a multi-process job's group (each rank's
  // share of the set, the products' sums all-reduced).
  EvaluationSettings evaluation;
  // Products in float64 (the network is converted for the operator's lifetime and back afterwards);
  // otherwise in the network's own precision (float32), about 6 times faster on a CPU (a ResNet-20's
  // product: samscape-bench's analysis table), accurate to about 1e-6 relative, and checkable in
  // float64 afterwards through inDoublePrecision() (see analysis/EigenpairCheck.h).
  bool doublePrecision = false;
  // Time both product methods on a few examples and use the faster (ProductMethod.h); otherwise
  // `productMethod`.
  bool chooseProductMethod = true;
  ProductMethod productMethod = ProductMethod::DoubleBackward;
};

// H = d^2 L / dw^2 with L the mean cross-entropy over the image set in evaluation mode, at the
// network's parameters as they are when the operator is built, in Network::parameters() order.
// Each apply() is one pass over the set (forward, backward and double backward per chunk).
class ModelHessian : public SymmetricOperator {
 public:
  struct Impl;
  explicit ModelHessian(std::unique_ptr<Impl> impl);
  // Gives the network back on its original device and dtype.
  ~ModelHessian() override;
  ModelHessian(const ModelHessian&) = delete;
  ModelHessian& operator=(const ModelHessian&) = delete;

  std::int64_t size() const override;  // the parameter count
  void apply(const double* in, double* out) override;
  // One pass over the set for all the vectors (by double backward, the forward pass is shared).
  void applyMany(std::int64_t count, const double* in, double* out) override;

  // The same Hessian with its products in float64, whatever this operator's precision: the network is
  // converted to float64 for each call and back (float32 -> float64 -> float32 is exact), so the
  // products check results obtained in float32 on the same data. Counted in this operator's products.
  SymmetricOperator& inDoublePrecision();
  bool doublePrecision() const;
  // The method the products use, and what choosing it measured (examples 0: not chosen, as set).
  const ProductMethodChoice& productMethod() const;

  double loss();
  std::vector<double> gradient();
  std::int64_t exampleCount() const;
  std::int64_t hessianVectorProducts() const;  // apply() calls so far

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

#pragma once
// An explicit matrix as analysis's SymmetricOperator, counting its applications: the independent
// reference the spectrum, trace and density tests compare the matrix-free estimators against.

#include <Eigen/Dense>

#include <cstdint>
#include <utility>

#include "analysis/HessianSpectrum.h"

namespace samscape::test {

class DenseOperator : public SymmetricOperator {
 public:
  explicit DenseOperator(Eigen::MatrixXd matrix) : matrix_(std::move(matrix)) {}
  std::int64_t size() const override { return matrix_.rows(); }
  void apply(const double* in, double* out) override {
    Eigen::Map<Eigen::VectorXd>(out, matrix_.rows()) =
        matrix_ * Eigen::Map<const Eigen::VectorXd>(in, matrix_.cols());
    ++applications;
  }
  std::int64_t applications = 0;

 private:
  Eigen::MatrixXd matrix_;
};

}  // namespace samscape::test

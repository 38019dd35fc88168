// The precision policy's check (analysis/EigenpairCheck.h) on operators whose spectrum is known exactly:
// a diagonal matrix as the float64 reference, and the same matrix with a symmetric perturbation as a
// stand-in for float32 products whose rounding stops Lanczos short of a tight tolerance.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "analysis/EigenpairCheck.h"
#include "core/Error.h"

namespace samscape {
namespace {

class DenseOperator : public SymmetricOperator {
 public:
  explicit DenseOperator(Eigen::MatrixXd matrix) : matrix_(std::move(matrix)) {}
  std::int64_t size() const override { return matrix_.rows(); }
  void apply(const double* in, double* out) override {
    Eigen::Map<Eigen::VectorXd>(out, matrix_.rows()) = matrix_ * Eigen::Map<const Eigen::VectorXd>(in, matrix_.rows());
    ++products;
  }
  std::int64_t products = 0;

 private:
  Eigen::MatrixXd matrix_;
};

// 200 dimensions, eigenvalues 10, 9, ..., then a bulk in [0, 1): the top ones well separated.
Eigen::MatrixXd diagonal() {
  Eigen::VectorXd values(200);
  for (int i = 0; i < 200; ++i) values(i) = i < 10 ? 10.0 - i : 0.005 * (i - 10);
  return values.asDiagonal();
}

Eigen::MatrixXd perturbation(double size) {
  std::mt19937_64 engine(3);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd noise(200, 200);
  for (int i = 0; i < 200; ++i) {
    for (int j = 0; j < 200; ++j) noise(i, j) = normal(engine);
  }
  const Eigen::MatrixXd symmetric = 0.5 * (noise + noise.transpose());
  return size * symmetric / symmetric.norm();
}

TEST(EigenpairCheck, ExactEigenpairsPassWithTheirRayleighQuotients) {
  DenseOperator reference(diagonal());
  std::vector<std::vector<double>> vectors;
  for (int i = 0; i < 3; ++i) {
    std::vector<double> vector(200, 0.0);
    vector[static_cast<std::size_t>(i)] = 2.0;  // not unit: the check normalizes
    vectors.push_back(vector);
  }
  const EigenpairCheck check = checkEigenpairs(reference, vectors, 1e-12);
  EXPECT_TRUE(check.passed);
  EXPECT_EQ(check.products, 3);
  EXPECT_EQ(reference.products, 3);  // one applyMany of three vectors
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(check.rayleighQuotients[static_cast<std::size_t>(i)], 10.0 - i);
    EXPECT_EQ(check.residuals[static_cast<std::size_t>(i)], 0.0);
  }
}

TEST(EigenpairCheck, AnInexactPairFailsWithItsMeasuredResidual) {
  DenseOperator reference(diagonal());
  // e0 tilted by 0.01 towards e5: theta = (10 + 1e-4 * 5) / (1 + 1e-4), residual by hand.
  std::vector<double> vector(200, 0.0);
  vector[0] = 1.0;
  vector[5] = 0.01;
  const EigenpairCheck check = checkEigenpairs(reference, {vector}, 1e-4);
  const double norm2 = 1.0 + 1e-4;
  const double theta = (10.0 + 1e-4 * 5.0) / norm2;
  const double residual = std::sqrt((10.0 - theta) * (10.0 - theta) + 1e-4 * (5.0 - theta) * (5.0 - theta)) / std::sqrt(norm2);
  EXPECT_NEAR(check.rayleighQuotients[0], theta, 1e-14);
  EXPECT_NEAR(check.residuals[0], residual, 1e-14);
  EXPECT_NEAR(check.relativeResiduals[0], residual / theta, 1e-14);
  EXPECT_FALSE(check.passed);  // about 5e-3 relative
  EXPECT_THROW(checkEigenpairs(reference, {std::vector<double>(3, 1.0)}, 1e-4), Error);
  EXPECT_THROW(checkEigenpairs(reference, {std::vector<double>(200, 0.0)}, 1e-4), Error);
}

TEST(EigenpairCheck, AWorkingPrecisionThatMeetsTheTolerancePassesWithoutRefinement) {
  DenseOperator reference(diagonal());
  DenseOperator working(diagonal() + perturbation(1e-9));
  SpectrumOptions options;
  options.topK = 3;
  options.tolerance = 1e-6;
  const CheckedSpectrum checked = checkedTopEigenvalues(working, reference, options);
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  EXPECT_EQ(checked.outcome, "passed");
  EXPECT_TRUE(checked.check.passed);
  EXPECT_EQ(checked.checkProducts, 3);
  EXPECT_EQ(reference.products, 3);
  EXPECT_EQ(checked.spectrum.hessianVectorProducts, working.products + reference.products);
  EXPECT_TRUE(checked.spectrum.eigenvectors.empty());  // not asked for
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(checked.spectrum.eigenvalues[static_cast<std::size_t>(i)], 10.0 - i, 1e-8);
}

TEST(EigenpairCheck, PairsJustShortOfTheToleranceAreRefinedByRayleighRitzInTheReference) {
  DenseOperator reference(diagonal());
  // A perturbation of Frobenius norm 1e-6 (about 7e-8 on a vector): residuals of about 1e-8 relative,
  // above 2e-9, and one or two Rayleigh-Ritz steps (3 products each) bring them within it.
  DenseOperator working(diagonal() + perturbation(1e-6));
  SpectrumOptions options;
  options.topK = 3;
  options.tolerance = 2e-9;
  const CheckedSpectrum checked = checkedTopEigenvalues(working, reference, options, 1e-12);
  EXPECT_EQ(checked.outcome, "refined");
  EXPECT_TRUE(checked.check.passed);
  EXPECT_GE(checked.checkProducts, 6);
  EXPECT_LE(checked.checkProducts, 3 + 3 * kRayleighRitzSteps);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(checked.spectrum.eigenvalues[static_cast<std::size_t>(i)], 10.0 - i, 1e-12 * (10.0 - i));
  }
}

TEST(EigenpairCheck, AWorkingPrecisionThatMissesTheToleranceIsRefinedInTheReference) {
  DenseOperator reference(diagonal());
  // Errors of 1e-3 in the products: Lanczos converges on the perturbed matrix, whose eigenpairs are
  // about 1e-4 relative off the reference's, far outside 1e-8.
  DenseOperator working(diagonal() + perturbation(1e-3));
  SpectrumOptions options;
  options.topK = 3;
  options.tolerance = 1e-8;
  options.eigenvectors = true;
  const CheckedSpectrum checked = checkedTopEigenvalues(working, reference, options);
  EXPECT_TRUE(checked.outcome == "refined" || checked.outcome == "recomputed") << checked.outcome;
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  EXPECT_TRUE(checked.check.passed);
  EXPECT_EQ(checked.checkProducts, reference.products);
  ASSERT_EQ(checked.spectrum.eigenvectors.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(checked.spectrum.eigenvalues[static_cast<std::size_t>(i)], 10.0 - i, 1e-10 * (10.0 - i));
    EXPECT_LE(checked.check.relativeResiduals[static_cast<std::size_t>(i)], 1e-8);
    EXPECT_NEAR(std::abs(checked.spectrum.eigenvectors[static_cast<std::size_t>(i)][static_cast<std::size_t>(i)]), 1.0, 1e-8);
  }
}

// Products with fresh rounding-like noise at every call (as float32 products of a large sum): Lanczos
// on them cannot reach 1e-10, gives up after kWorkingRestarts restarts, and the reference finishes.
class NoisyOperator : public SymmetricOperator {
 public:
  explicit NoisyOperator(Eigen::MatrixXd matrix) : matrix_(std::move(matrix)) {}
  std::int64_t size() const override { return matrix_.rows(); }
  void apply(const double* in, double* out) override {
    Eigen::Map<Eigen::VectorXd> result(out, matrix_.rows());
    result = matrix_ * Eigen::Map<const Eigen::VectorXd>(in, matrix_.rows());
    for (Eigen::Index i = 0; i < result.size(); ++i) result(i) += 1e-6 * normal_(engine_);
    ++products;
  }
  std::int64_t products = 0;

 private:
  Eigen::MatrixXd matrix_;
  std::mt19937_64 engine_{5};
  std::normal_distribution<double> normal_;
};

TEST(EigenpairCheck, AWorkingRunThatCannotConvergeGivesUpAndTheReferenceFinishes) {
  DenseOperator reference(diagonal());
  NoisyOperator working(diagonal());
  SpectrumOptions options;
  options.topK = 3;
  options.tolerance = 1e-10;
  const CheckedSpectrum checked = checkedTopEigenvalues(working, reference, options);
  EXPECT_EQ(checked.outcome, "recomputed");
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  EXPECT_TRUE(checked.check.passed);
  // The working run stopped at its restart limit: its first factorization and kWorkingRestarts restarts.
  EXPECT_LE(working.products, lanczosBasisSize(3, 200) * (kWorkingRestarts + 1));
  EXPECT_EQ(checked.spectrum.hessianVectorProducts, working.products + reference.products);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(checked.spectrum.eigenvalues[static_cast<std::size_t>(i)], 10.0 - i, 1e-9);
}

TEST(EigenpairCheck, TheSmallestAreCheckedOnTheShiftedScale) {
  DenseOperator reference(diagonal());
  SpectrumOptions options;
  options.topK = 2;
  options.smallest = true;
  options.shift = 10.0;
  options.tolerance = 1e-8;
  const CheckedSpectrum checked = checkedTopEigenvalues(reference, reference, options);
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  EXPECT_EQ(checked.outcome, "passed");
  EXPECT_NEAR(checked.spectrum.eigenvalues[0], 0.0, 1e-7);
  EXPECT_NEAR(checked.spectrum.eigenvalues[1], 0.005, 1e-7);
  // Residual over |theta + shift| (about 10), as Spectra's test on the shifted operator.
  EXPECT_NEAR(checked.check.relativeResiduals[0], checked.check.residuals[0] / (checked.spectrum.eigenvalues[0] + 10.0), 1e-15);
}

}  // namespace
}  // namespace samscape

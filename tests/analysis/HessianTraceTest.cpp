// Hutchinson's trace estimator against the exact trace of explicit matrices, and its standard error
// against the closed-form variance of z^T A z for Rademacher z: Var = 2 sum_{i != j} A_ij^2.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "analysis/HessianTrace.h"
#include "core/Error.h"
#include "tests/support/DenseOperator.h"

namespace samscape {
namespace {

using test::DenseOperator;

Eigen::MatrixXd randomSymmetric(Eigen::Index n, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  Eigen::MatrixXd matrix(n, n);
  for (Eigen::Index i = 0; i < matrix.size(); ++i) {
    matrix.data()[i] = static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.3;
  }
  return 0.5 * (matrix + matrix.transpose());
}

double offDiagonalSquares(const Eigen::MatrixXd& matrix) {
  return matrix.squaredNorm() - matrix.diagonal().squaredNorm();
}

TEST(HessianTrace, EstimateIsWithinItsStandardErrorOfTheExactTrace) {
  const Eigen::MatrixXd matrix = randomSymmetric(70, 3);  // 70 dims: not a multiple of 64 bits
  DenseOperator op(matrix);
  TraceOptions options;
  options.probes = 800;
  options.seed = 12;
  const TraceResult result = hutchinsonTrace(op, options);
  EXPECT_EQ(result.probes, 800);
  EXPECT_EQ(result.hessianVectorProducts, 800);
  EXPECT_EQ(op.applications, 800);
  EXPECT_GT(result.standardError, 0.0);
  EXPECT_LT(std::abs(result.mean - matrix.trace()), 4.0 * result.standardError)
      << result.mean << " vs " << matrix.trace() << " +- " << result.standardError;
  // The standard error estimates sqrt(Var / probes) with Var known in closed form.
  const double exact = std::sqrt(2.0 * offDiagonalSquares(matrix) / 800.0);
  EXPECT_NEAR(result.standardError, exact, 0.15 * exact);
}

TEST(HessianTrace, StandardErrorShrinksWithTheProbes) {
  const Eigen::MatrixXd matrix = randomSymmetric(40, 4);
  DenseOperator op(matrix);
  TraceOptions few;
  few.probes = 100;
  TraceOptions many = few;
  many.probes = 1600;
  const TraceResult coarse = hutchinsonTrace(op, few);
  const TraceResult fine = hutchinsonTrace(op, many);
  // sqrt(1600 / 100) = 4: the error shrinks about fourfold.
  EXPECT_LT(fine.standardError, 0.4 * coarse.standardError);
  EXPECT_GT(fine.standardError, 0.15 * coarse.standardError);
  EXPECT_LT(std::abs(fine.mean - matrix.trace()), 4.0 * fine.standardError);
}

TEST(HessianTrace, SameSeedSameResultOtherSeedOtherResult) {
  const Eigen::MatrixXd matrix = randomSymmetric(30, 5);
  DenseOperator op(matrix);
  TraceOptions options;
  options.probes = 20;
  options.seed = 99;
  const TraceResult first = hutchinsonTrace(op, options);
  const TraceResult again = hutchinsonTrace(op, options);
  EXPECT_EQ(first.mean, again.mean);
  EXPECT_EQ(first.standardError, again.standardError);
  options.seed = 100;
  const TraceResult other = hutchinsonTrace(op, options);
  EXPECT_NE(first.mean, other.mean);
}

TEST(HessianTrace, DiagonalMatricesAreExactWithZeroError) {
  // z^T D z = tr(D) for every sign vector z.
  Eigen::VectorXd diagonal(5);
  diagonal << 2.0, -1.0, 0.5, 4.0, 3.25;
  DenseOperator op(diagonal.asDiagonal().toDenseMatrix());
  TraceOptions options;
  options.probes = 10;
  const TraceResult result = hutchinsonTrace(op, options);
  EXPECT_DOUBLE_EQ(result.mean, 8.75);
  EXPECT_NEAR(result.standardError, 0.0, 1e-15);
}

TEST(HessianTrace, FewerThanTwoProbesIsAnError) {
  DenseOperator op(randomSymmetric(3, 1));
  TraceOptions options;
  options.probes = 1;
  EXPECT_THROW(hutchinsonTrace(op, options), Error);
  EXPECT_EQ(op.applications, 0);
}

}  // namespace
}  // namespace samscape

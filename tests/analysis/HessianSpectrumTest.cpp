// topEigenvalues (Spectra's Lanczos behind a plain-C++ operator) against an independent dense
// eigendecomposition (Eigen::SelfAdjointEigenSolver) of explicit symmetric matrices whose spectrum is
// known by construction.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "analysis/HessianSpectrum.h"
#include "core/Error.h"
#include "tests/support/DenseOperator.h"

namespace samscape {
namespace {

using test::DenseOperator;

// Q diag(eigenvalues) Q^T with Q a seeded random orthogonal matrix (QR of a matrix of uniform draws
// made from the engine's raw bits).
Eigen::MatrixXd withSpectrum(const std::vector<double>& eigenvalues, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(eigenvalues.size());
  std::mt19937_64 engine(seed);
  Eigen::MatrixXd random(n, n);
  for (Eigen::Index i = 0; i < random.size(); ++i) {
    random.data()[i] = static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5;
  }
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(random).householderQ();
  const Eigen::VectorXd diagonal = Eigen::Map<const Eigen::VectorXd>(eigenvalues.data(), n);
  const Eigen::MatrixXd matrix = q * diagonal.asDiagonal() * q.transpose();
  return 0.5 * (matrix + matrix.transpose());
}

// 60 eigenvalues: a few large positive ones, two negative ones larger in magnitude than all of them
// (a largest-magnitude search would return those), and a bulk in [-1, 1].
std::vector<double> mixedSpectrum() {
  std::vector<double> values{9.0, 7.25, 5.5, 4.0, 3.1, -25.0, -12.0};
  for (int i = 0; values.size() < 60; ++i) values.push_back(-1.0 + 2.0 * static_cast<double>(i) / 53.0);
  return values;
}

// The largest `k` eigenvalues of `matrix` and their eigenvectors, descending, computed densely.
struct DenseTop {
  std::vector<double> values;
  std::vector<Eigen::VectorXd> vectors;
};
DenseTop denseTop(const Eigen::MatrixXd& matrix, int k) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(matrix);
  DenseTop top;
  for (int i = 0; i < k; ++i) {
    const Eigen::Index column = matrix.rows() - 1 - i;
    top.values.push_back(solver.eigenvalues()(column));
    top.vectors.push_back(solver.eigenvectors().col(column));
  }
  return top;
}

TEST(HessianSpectrum, LargestAlgebraicEigenvaluesMatchDenseDecomposition) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(), 7);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 5;
  const SpectrumResult result = topEigenvalues(op, options);

  ASSERT_TRUE(result.converged) << result.status;
  EXPECT_EQ(result.status, "converged");
  const DenseTop expected = denseTop(matrix, 5);
  ASSERT_EQ(result.eigenvalues.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(result.eigenvalues[i], expected.values[i], 1e-10 * std::abs(expected.values[i])) << i;
  }
  // And the spectrum it was built with (the dense solver is not trusted blindly either).
  const std::vector<double> built{9.0, 7.25, 5.5, 4.0, 3.1};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(result.eigenvalues[i], built[i], 1e-10 * built[i]) << i;
  EXPECT_NEAR(result.ratioTopOverKth, 9.0 / 3.1, 1e-9);
  EXPECT_EQ(result.hessianVectorProducts, op.applications);
  EXPECT_GT(result.hessianVectorProducts, 0);
  EXPECT_TRUE(result.eigenvectors.empty());
}

TEST(HessianSpectrum, EigenvectorsMatchUpToSign) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(), 11);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 3;
  options.eigenvectors = true;
  const SpectrumResult result = topEigenvalues(op, options);
  ASSERT_TRUE(result.converged) << result.status;
  ASSERT_EQ(result.eigenvectors.size(), 3U);
  const DenseTop expected = denseTop(matrix, 3);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(result.eigenvectors[i].size(), 60U);
    const Eigen::Map<const Eigen::VectorXd> vector(result.eigenvectors[i].data(), 60);
    EXPECT_NEAR(vector.norm(), 1.0, 1e-10);
    EXPECT_NEAR(std::abs(vector.dot(expected.vectors[i])), 1.0, 1e-9) << i;
    EXPECT_LT((matrix * vector - result.eigenvalues[i] * vector).norm(), 1e-8) << i;
  }
}

TEST(HessianSpectrum, ExplicitBasisSizeGivesTheSameEigenvalues) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(), 3);
  DenseOperator small(matrix);
  DenseOperator large(matrix);
  SpectrumOptions options;
  options.topK = 2;
  options.ncv = 5;
  const SpectrumResult narrow = topEigenvalues(small, options);
  options.ncv = 40;
  const SpectrumResult wide = topEigenvalues(large, options);
  ASSERT_TRUE(narrow.converged) << narrow.status;
  ASSERT_TRUE(wide.converged) << wide.status;
  for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(narrow.eigenvalues[i], wide.eigenvalues[i], 1e-9);
}

TEST(HessianSpectrum, NonConvergenceIsReportedNotThrown) {
  // A bulk of close eigenvalues and a tiny Krylov basis with one restart cannot reach 1e-14.
  std::vector<double> values;
  for (int i = 0; i < 200; ++i) values.push_back(1.0 + 1e-3 * static_cast<double>(i));
  DenseOperator op(withSpectrum(values, 5));
  SpectrumOptions options;
  options.topK = 5;
  options.ncv = 7;
  options.maxIterations = 1;
  options.tolerance = 1e-14;
  const SpectrumResult result = topEigenvalues(op, options);
  EXPECT_FALSE(result.converged);
  EXPECT_LT(result.eigenvalues.size(), 5U);
  EXPECT_NE(result.status.find("not converged"), std::string::npos) << result.status;
  EXPECT_NE(result.status.find("1e-14"), std::string::npos) << result.status;
  EXPECT_TRUE(std::isnan(result.ratioTopOverKth));
  EXPECT_EQ(result.hessianVectorProducts, op.applications);
}

TEST(HessianSpectrum, TinyOperatorsAreDiagonalizedDensely) {
  const Eigen::MatrixXd matrix = withSpectrum({3.0, -4.0, 0.5, 2.0}, 9);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 6;  // more than the 4 dimensions
  options.eigenvectors = true;
  const SpectrumResult result = topEigenvalues(op, options);
  ASSERT_TRUE(result.converged) << result.status;
  const std::vector<double> expected{3.0, 2.0, 0.5, -4.0};
  ASSERT_EQ(result.eigenvalues.size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(result.eigenvalues[i], expected[i], 1e-12) << i;
  ASSERT_EQ(result.eigenvectors.size(), 4U);
  const Eigen::Map<const Eigen::VectorXd> top(result.eigenvectors[0].data(), 4);
  EXPECT_LT((matrix * top - 3.0 * top).norm(), 1e-12);
  EXPECT_EQ(result.hessianVectorProducts, 4);
}

TEST(HessianSpectrum, BadOptionsAreErrors) {
  DenseOperator op(withSpectrum(mixedSpectrum(), 1));
  SpectrumOptions options;
  options.topK = 0;
  EXPECT_THROW(topEigenvalues(op, options), Error);
  options.topK = 5;
  options.ncv = 5;  // must exceed topK
  EXPECT_THROW(topEigenvalues(op, options), Error);
  options.ncv = 61;  // more than n
  EXPECT_THROW(topEigenvalues(op, options), Error);
  options.ncv = 0;
  options.maxIterations = 0;
  EXPECT_THROW(topEigenvalues(op, options), Error);
  EXPECT_EQ(op.applications, 0);
}

TEST(HessianSpectrum, SmallestAlgebraicEigenvaluesMatchDenseDecompositionAscending) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(), 13);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 3;
  options.smallest = true;
  options.eigenvectors = true;
  const SpectrumResult result = topEigenvalues(op, options);
  ASSERT_TRUE(result.converged) << result.status;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(matrix);
  ASSERT_EQ(result.eigenvalues.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    const double expected = dense.eigenvalues()(static_cast<Eigen::Index>(i));
    EXPECT_NEAR(result.eigenvalues[i], expected, 1e-10 * std::max(1.0, std::abs(expected))) << i;
    const Eigen::Map<const Eigen::VectorXd> vector(result.eigenvectors[i].data(), 60);
    EXPECT_LT((matrix * vector - result.eigenvalues[i] * vector).norm(), 1e-8) << i;
  }
  // The spectrum was built with -25 and -12 at the bottom, then the bulk from -1.
  EXPECT_NEAR(result.eigenvalues[0], -25.0, 1e-9);
  EXPECT_NEAR(result.eigenvalues[1], -12.0, 1e-9);
  EXPECT_NEAR(result.eigenvalues[2], -1.0, 1e-9);
  EXPECT_TRUE(std::isnan(result.ratioTopOverKth));

  // Tiny operators take the dense path from the bottom too.
  DenseOperator tiny(withSpectrum({3.0, -2.0, 0.5}, 5));
  options.topK = 3;
  const SpectrumResult small = topEigenvalues(tiny, options);
  ASSERT_EQ(small.eigenvalues.size(), 3U);
  EXPECT_NEAR(small.eigenvalues[0], -2.0, 1e-12);
  EXPECT_NEAR(small.eigenvalues[2], 3.0, 1e-12);
}

TEST(HessianSpectrum, AShiftBySpectrumsScaleFindsTheSmallNegativeEigenvaluesAtTheTopsAccuracy) {
  // A network Hessian's shape: a few large positive eigenvalues, the rest clustered near zero, the most
  // negative ones small.
  std::vector<double> spectrum{12.0, 9.0, 7.0};
  for (int i = 0; spectrum.size() < 150; ++i) spectrum.push_back(-0.02 + 0.3 * static_cast<double>(i) / 146.0);
  const Eigen::MatrixXd matrix = withSpectrum(spectrum, 29);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(matrix, Eigen::EigenvaluesOnly);
  SpectrumOptions options;
  options.topK = 2;
  options.smallest = true;
  options.tolerance = 1e-6;
  options.shift = 12.0;
  DenseOperator shiftedOp(matrix);
  const SpectrumResult shifted = topEigenvalues(shiftedOp, options);
  ASSERT_TRUE(shifted.converged) << shifted.status;
  for (Eigen::Index i = 0; i < 2; ++i) {
    EXPECT_NEAR(shifted.eigenvalues[static_cast<std::size_t>(i)], dense.eigenvalues()(i), 1e-6 * 12.0) << i;
  }
  EXPECT_EQ(shifted.hessianVectorProducts, shiftedOp.applications);
  // Unshifted, the residual test is relative to |lambda| ~ 0.02: even at 1e-4 it takes more products.
  options.shift = 0.0;
  options.tolerance = 1e-4;
  DenseOperator plainOp(matrix);
  const SpectrumResult plain = topEigenvalues(plainOp, options);
  EXPECT_LT(shifted.hessianVectorProducts, plain.hessianVectorProducts)
      << "shifted " << shifted.hessianVectorProducts << ", unshifted " << plain.hessianVectorProducts;
  options.shift = std::numeric_limits<double>::infinity();
  EXPECT_THROW(topEigenvalues(plainOp, options), Error);
}

TEST(HessianSpectrum, AWarmStartNearTheAnswerTakesFewerProductsForTheSameEigenvalues) {
  // 200 dimensions, the top five close together above a dense bulk: a cold start needs restarts.
  std::vector<double> spectrum{10.0, 9.8, 9.6, 9.4, 9.2};
  for (int i = 0; spectrum.size() < 200; ++i) spectrum.push_back(9.0 * static_cast<double>(i) / 194.0);
  const Eigen::MatrixXd previous = withSpectrum(spectrum, 17);
  // The operator a little after the one whose eigenvectors start the warm run: as between two
  // analyses during training.
  Eigen::MatrixXd perturbation(200, 200);
  std::mt19937_64 engine(23);
  for (Eigen::Index i = 0; i < perturbation.size(); ++i) {
    perturbation.data()[i] = 0.002 * (static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5);
  }
  const Eigen::MatrixXd current = previous + 0.5 * (perturbation + perturbation.transpose());
  SpectrumOptions options;
  options.topK = 5;
  options.tolerance = 1e-4;
  options.eigenvectors = true;
  DenseOperator previousOp(previous);
  const SpectrumResult earlier = topEigenvalues(previousOp, options);
  ASSERT_TRUE(earlier.converged);

  DenseOperator coldOp(current);
  const SpectrumResult cold = topEigenvalues(coldOp, options);
  options.start.assign(200, 0.0);
  for (const auto& vector : earlier.eigenvectors) {
    for (std::size_t j = 0; j < 200; ++j) options.start[j] += vector[j];
  }
  DenseOperator warmOp(current);
  const SpectrumResult warm = topEigenvalues(warmOp, options);
  ASSERT_TRUE(cold.converged);
  ASSERT_TRUE(warm.converged) << warm.status;
  const DenseTop expected = denseTop(current, 5);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(warm.eigenvalues[i], expected.values[i], 1e-6 * std::abs(expected.values[i])) << i;
    EXPECT_NEAR(cold.eigenvalues[i], expected.values[i], 1e-6 * std::abs(expected.values[i])) << i;
  }
  // (samscape-bench measures the saving on a network's Hessian between two epochs.)
  EXPECT_LT(warm.hessianVectorProducts, cold.hessianVectorProducts)
      << "warm " << warm.hessianVectorProducts << ", cold " << cold.hessianVectorProducts;

  options.start.assign(199, 1.0);
  EXPECT_THROW(topEigenvalues(warmOp, options), Error);
  options.start.assign(200, 0.0);
  EXPECT_THROW(topEigenvalues(warmOp, options), Error);
}

}  // namespace
}  // namespace samscape

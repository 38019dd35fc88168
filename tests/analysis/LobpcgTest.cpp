// LOBPCG (analysis/Lobpcg.h), the warm start's block method, against an independent dense
// eigendecomposition (Eigen::SelfAdjointEigenSolver) of explicit symmetric matrices whose spectrum is
// known by construction, and against Spectra's Lanczos at the same tolerance.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include "analysis/EigenpairCheck.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/Lobpcg.h"
#include "core/Error.h"
#include "tests/support/DenseOperator.h"

namespace samscape {
namespace {

using test::DenseOperator;

double uniform(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5; }

// Q diag(eigenvalues) Q^T with Q a seeded random orthogonal matrix.
Eigen::MatrixXd withSpectrum(const std::vector<double>& eigenvalues, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(eigenvalues.size());
  std::mt19937_64 engine(seed);
  Eigen::MatrixXd random(n, n);
  for (Eigen::Index i = 0; i < random.size(); ++i) random.data()[i] = uniform(engine);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(random).householderQ();
  const Eigen::VectorXd diagonal = Eigen::Map<const Eigen::VectorXd>(eigenvalues.data(), n);
  const Eigen::MatrixXd matrix = q * diagonal.asDiagonal() * q.transpose();
  return 0.5 * (matrix + matrix.transpose());
}

// A few large positive eigenvalues, two negative ones larger in magnitude, a bulk in [-1, 1].
std::vector<double> mixedSpectrum(int n) {
  std::vector<double> values{9.0, 7.25, 5.5, 4.0, 3.1, -25.0, -12.0};
  for (int i = 0; static_cast<int>(values.size()) < n; ++i) values.push_back(-1.0 + 2.0 * i / (n - 8.0));
  return values;
}

struct Dense {
  Eigen::VectorXd values;   // descending (largest) or ascending (smallest)
  Eigen::MatrixXd vectors;  // matching columns
};
Dense denseEnd(const Eigen::MatrixXd& matrix, int k, bool smallest = false) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(matrix);
  Dense out{Eigen::VectorXd(k), Eigen::MatrixXd(matrix.rows(), k)};
  for (int i = 0; i < k; ++i) {
    const Eigen::Index column = smallest ? i : matrix.rows() - 1 - i;
    out.values(i) = solver.eigenvalues()(column);
    out.vectors.col(i) = solver.eigenvectors().col(column);
  }
  return out;
}

std::vector<std::vector<double>> perturbed(const Eigen::MatrixXd& vectors, double size, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::vector<std::vector<double>> out;
  for (Eigen::Index j = 0; j < vectors.cols(); ++j) {
    Eigen::VectorXd noise(vectors.rows());
    for (Eigen::Index i = 0; i < noise.size(); ++i) noise(i) = uniform(engine);
    const Eigen::VectorXd vector = vectors.col(j) + size * noise.normalized();
    out.emplace_back(vector.data(), vector.data() + vector.size());
  }
  return out;
}

// ||A v - lambda v|| computed densely, for the result's own pairs.
double denseResidual(const Eigen::MatrixXd& matrix, const std::vector<double>& vector, double lambda) {
  const Eigen::Map<const Eigen::VectorXd> v(vector.data(), static_cast<Eigen::Index>(vector.size()));
  return (matrix * v - lambda * v).norm();
}

// Every pair meets Spectra's criterion (checked densely) and each eigenvalue is within the tolerance of
// the dense one (a residual r puts an eigenvalue within r of theta, Kahan-Parlett).
void expectConvergedTo(const SpectrumResult& result, const Eigen::MatrixXd& matrix, const Dense& expected,
                       const SpectrumOptions& options) {
  ASSERT_TRUE(result.converged) << result.status;
  ASSERT_EQ(result.eigenvalues.size(), static_cast<std::size_t>(options.topK));
  ASSERT_EQ(result.eigenvectors.size(), static_cast<std::size_t>(options.topK));
  const double floor = std::pow(std::numeric_limits<double>::epsilon(), 2.0 / 3.0);
  for (int i = 0; i < options.topK; ++i) {
    const double scale = std::max(std::abs(expected.values(i) + options.shift), floor);
    EXPECT_NEAR(result.eigenvalues[static_cast<std::size_t>(i)], expected.values(i), options.tolerance * scale) << i;
    const double residual = denseResidual(matrix, result.eigenvectors[static_cast<std::size_t>(i)],
                                          result.eigenvalues[static_cast<std::size_t>(i)]);
    EXPECT_LE(residual, options.tolerance * std::max(std::abs(result.eigenvalues[i] + options.shift), floor) * 1.001)
        << i;
    const Eigen::Map<const Eigen::VectorXd> v(result.eigenvectors[static_cast<std::size_t>(i)].data(), matrix.rows());
    EXPECT_NEAR(v.norm(), 1.0, 1e-10) << i;
  }
}

TEST(Lobpcg, TopEigenpairsFromARandomStartMatchTheDenseDecomposition) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(80), 5);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 4;
  options.tolerance = 1e-8;
  options.eigenvectors = true;
  // No start vectors at all: LOBPCG fills the block with its fixed pseudo-random ones.
  const SpectrumResult result = lobpcgEigenvalues(op, options, {});
  expectConvergedTo(result, matrix, denseEnd(matrix, 4), options);
  EXPECT_EQ(result.hessianVectorProducts, op.applications);
}

TEST(Lobpcg, AWarmStartFromPerturbedEigenvectorsConvergesInFewerProductsThanColdLanczos) {
  // The top five close together above a dense bulk (a cold Lanczos needs restarts); the start: the
  // exact eigenvectors, each moved by 5% in a random direction.
  std::vector<double> spectrum{10.0, 9.8, 9.6, 9.4, 9.2};
  for (int i = 0; spectrum.size() < 300; ++i) spectrum.push_back(9.0 * i / 294.0);
  const Eigen::MatrixXd matrix = withSpectrum(spectrum, 17);
  const Dense expected = denseEnd(matrix, 5);
  SpectrumOptions options;
  options.topK = 5;
  options.tolerance = 1e-4;
  options.eigenvectors = true;
  DenseOperator coldOp(matrix);
  const SpectrumResult cold = topEigenvalues(coldOp, options);
  ASSERT_TRUE(cold.converged) << cold.status;

  options.startBlock = perturbed(expected.vectors, 0.05, 3);
  DenseOperator warmOp(matrix);
  const SpectrumResult warm = topEigenvalues(warmOp, options);  // dispatches to LOBPCG
  expectConvergedTo(warm, matrix, expected, options);
  std::cout << "products: warm LOBPCG " << warm.hessianVectorProducts << ", cold Lanczos " << cold.hessianVectorProducts
            << "\n";
  EXPECT_EQ(warm.hessianVectorProducts, warmOp.applications);
  EXPECT_LT(warm.hessianVectorProducts, cold.hessianVectorProducts)
      << "warm " << warm.hessianVectorProducts << ", cold " << cold.hessianVectorProducts;
  // The same eigenvalues as Spectra's cold Lanczos, to the tolerance.
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(warm.eigenvalues[i], cold.eigenvalues[i], options.tolerance * std::abs(cold.eigenvalues[i])) << i;
  }
}

TEST(Lobpcg, ClusteredEigenvaluesAreAllFoundAndTheirEigenspaceSpanned) {
  // Three eigenvalues within 1e-6 of each other, then two more: one vector per cluster member, and
  // together they span the cluster's eigenspace.
  std::vector<double> spectrum{8.0, 8.0 - 1e-6, 8.0 - 2e-6, 6.0, 5.999};
  for (int i = 0; spectrum.size() < 120; ++i) spectrum.push_back(-2.0 + 6.0 * i / 115.0);
  const Eigen::MatrixXd matrix = withSpectrum(spectrum, 29);
  const Dense expected = denseEnd(matrix, 5);
  SpectrumOptions options;
  options.topK = 5;
  options.tolerance = 1e-9;
  options.eigenvectors = true;
  DenseOperator op(matrix);
  const SpectrumResult result = lobpcgEigenvalues(op, options, perturbed(expected.vectors, 0.3, 8));
  expectConvergedTo(result, matrix, expected, options);
  Eigen::MatrixXd found(matrix.rows(), 3);
  for (int j = 0; j < 3; ++j) found.col(j) = Eigen::Map<const Eigen::VectorXd>(result.eigenvectors[j].data(), matrix.rows());
  const Eigen::MatrixXd cluster = expected.vectors.leftCols(3);
  // The cluster's projector applied to the found vectors keeps them (singular values of the overlap 1).
  const Eigen::JacobiSVD<Eigen::MatrixXd> overlap(cluster.transpose() * found);
  EXPECT_NEAR(overlap.singularValues().minCoeff(), 1.0, 1e-6);
}

TEST(Lobpcg, SmallestEigenvaluesIncludingTheNegativeOnesAscending) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(70), 11);
  const Dense expected = denseEnd(matrix, 3, /*smallest=*/true);
  ASSERT_DOUBLE_EQ(expected.values(0), -25.0);
  SpectrumOptions options;
  options.topK = 3;
  options.smallest = true;
  options.tolerance = 1e-8;
  options.eigenvectors = true;
  DenseOperator op(matrix);
  // Started from two vectors only, the third drawn.
  std::vector<std::vector<double>> start = perturbed(expected.vectors.leftCols(2), 0.5, 2);
  const SpectrumResult result = lobpcgEigenvalues(op, options, start);
  expectConvergedTo(result, matrix, expected, options);
}

TEST(Lobpcg, MoreEigenpairsThanTheRankGivesTheZeroEigenvalues) {
  // Rank 3 (6, 2, -3; the rest zero): the top five are 6, 2, 0, 0, 0. The zeros' relative residual is
  // undefined, so the spectrum's scale is the shift, as HessianBottomStage does.
  std::vector<double> spectrum(40, 0.0);
  spectrum[0] = 6.0;
  spectrum[1] = 2.0;
  spectrum[2] = -3.0;
  const Eigen::MatrixXd matrix = withSpectrum(spectrum, 31);
  SpectrumOptions options;
  options.topK = 5;
  options.shift = 6.0;
  options.tolerance = 1e-10;
  options.eigenvectors = true;
  DenseOperator op(matrix);
  const SpectrumResult result = lobpcgEigenvalues(op, options, {});
  const Dense expected = denseEnd(matrix, 5);
  expectConvergedTo(result, matrix, expected, options);
  EXPECT_NEAR(result.eigenvalues[2], 0.0, 1e-9);
  EXPECT_NEAR(result.eigenvalues[4], 0.0, 1e-9);
  // The start repeating one vector (dependent columns) is completed, not an error.
  std::vector<double> same(40, 1.0);
  DenseOperator again(matrix);
  expectConvergedTo(lobpcgEigenvalues(again, options, {same, same, same}), matrix, expected, options);
}

TEST(Lobpcg, NonConvergenceWithinTheBudgetIsReportedNotThrown) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(200), 7);
  SpectrumOptions options;
  options.topK = 5;
  options.tolerance = 1e-14;
  options.maxIterations = 1;  // a budget of ncv + (ncv - k) = 35 products
  DenseOperator op(matrix);
  const SpectrumResult result = lobpcgEigenvalues(op, options, {});
  EXPECT_FALSE(result.converged);
  EXPECT_NE(result.status.find("not converged"), std::string::npos) << result.status;
  EXPECT_LE(result.hessianVectorProducts, 35);
  EXPECT_TRUE(std::isnan(result.ratioTopOverKth));
}

TEST(Lobpcg, BadStartsAreErrors) {
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(30), 3);
  DenseOperator op(matrix);
  SpectrumOptions options;
  options.topK = 3;
  EXPECT_THROW(lobpcgEigenvalues(op, options, {std::vector<double>(29, 1.0)}), Error);
  std::vector<double> notFinite(30, 1.0);
  notFinite[4] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(lobpcgEigenvalues(op, options, {notFinite}), Error);
  options.start.assign(30, 1.0);
  options.startBlock = {std::vector<double>(30, 1.0)};
  EXPECT_THROW(topEigenvalues(op, options), Error);
  options.start.clear();
  options.topK = 30;  // k = n: the dense path, not LOBPCG
  EXPECT_TRUE(topEigenvalues(op, options).converged);
  EXPECT_THROW(lobpcgEigenvalues(op, options, {}), Error);
}

TEST(Lobpcg, TheCheckedPathWarmStartsEveryRunFromTheBlock) {
  // checkedTopEigenvalues with a start block: the working run and the check; the eigenvalues are the
  // check's Rayleigh quotients, the residuals ||A v - theta v|| recomputed here densely.
  const Eigen::MatrixXd matrix = withSpectrum(mixedSpectrum(90), 13);
  const Dense expected = denseEnd(matrix, 4);
  SpectrumOptions options;
  options.topK = 4;
  options.tolerance = 1e-6;
  options.eigenvectors = true;
  options.startBlock = perturbed(expected.vectors, 0.1, 4);
  DenseOperator op(matrix);
  const CheckedSpectrum checked = checkedTopEigenvalues(op, op, options);
  ASSERT_TRUE(checked.check.passed) << checked.outcome;
  ASSERT_EQ(checked.check.residuals.size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(checked.spectrum.eigenvalues[i], expected.values(static_cast<Eigen::Index>(i)), 1e-6 * 9.0) << i;
    EXPECT_NEAR(checked.check.residuals[i],
                denseResidual(matrix, checked.spectrum.eigenvectors[i], checked.spectrum.eigenvalues[i]), 1e-12)
        << i;
  }
}

}  // namespace
}  // namespace samscape

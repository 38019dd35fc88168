// Stochastic Lanczos quadrature (analysis/SpectralDensity.h) on dense matrices with a chosen spectrum
// (Q diag(lambda) Q^T, Q a seeded random orthogonal matrix), checked against the known eigenvalues and
// against Hutchinson's estimator (analysis/HessianTrace.h) with the same probes.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <atomic>
#include <cmath>
#include <random>
#include <vector>

#include "analysis/HessianTrace.h"
#include "analysis/SpectralDensity.h"
#include "core/Error.h"
#include "tests/support/DenseOperator.h"

namespace samscape {
namespace {

using test::DenseOperator;

Eigen::MatrixXd withSpectrum(const Eigen::VectorXd& eigenvalues, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  const Eigen::Index n = eigenvalues.size();
  Eigen::MatrixXd gaussian(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) gaussian(i, j) = normal(engine);
  }
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(gaussian).householderQ();
  Eigen::MatrixXd matrix = q * eigenvalues.asDiagonal() * q.transpose();
  return 0.5 * (matrix + matrix.transpose());
}

// 120 eigenvalues: a bulk in [-0.5, 2], a few outliers up to 25, as a Hessian's spectrum looks.
Eigen::VectorXd hessianLikeSpectrum() {
  Eigen::VectorXd values(120);
  for (Eigen::Index i = 0; i < 116; ++i) values(i) = -0.5 + 2.5 * static_cast<double>(i) / 115.0;
  values(116) = 6.0;
  values(117) = 9.0;
  values(118) = 14.0;
  values(119) = 25.0;
  return values;
}

double integrate(const SpectralDensity& density) {
  double total = 0.0;
  for (std::size_t g = 1; g < density.grid.size(); ++g) {
    total += 0.5 * (density.density[g] + density.density[g - 1]) * (density.grid[g] - density.grid[g - 1]);
  }
  return total;
}

TEST(SpectralDensity, IntegratesToOneAndFindsTheKnownSpectrum) {
  const Eigen::VectorXd eigenvalues = hessianLikeSpectrum();
  const Eigen::MatrixXd matrix = withSpectrum(eigenvalues, 3);
  DenseOperator op(matrix);
  SpectralDensityOptions options;
  options.probes = 8;
  options.lanczosSteps = 40;
  options.seed = 11;
  const SpectralDensity density = spectralDensity(op, options);

  EXPECT_EQ(density.probes, 8);
  EXPECT_EQ(density.hessianVectorProducts, 8 * 40);
  EXPECT_EQ(op.applications, 8 * 40);
  ASSERT_EQ(density.stepsPerProbe, std::vector<int>(8, 40));
  ASSERT_EQ(density.nodes.size(), 8U * 40U);
  ASSERT_EQ(density.weights.size(), density.nodes.size());
  ASSERT_EQ(density.grid.size(), 1000U);
  ASSERT_EQ(density.density.size(), 1000U);
  EXPECT_NEAR(integrate(density), 1.0, 1e-6);
  double weightSum = 0.0;
  double weightedMean = 0.0;
  double largest = -1e300;
  double smallest = 1e300;
  for (std::size_t i = 0; i < density.nodes.size(); ++i) {
    weightSum += density.weights[i];
    weightedMean += density.weights[i] * density.nodes[i];
    largest = std::max(largest, density.nodes[i]);
    smallest = std::min(smallest, density.nodes[i]);
  }
  EXPECT_NEAR(weightSum, 1.0, 1e-12);
  // The extreme Ritz values converge first: lambda_max and lambda_min to 1e-6.
  EXPECT_NEAR(largest, 25.0, 1e-6 * 25.0);
  EXPECT_NEAR(smallest, -0.5, 1e-6);
  // The first moment of each probe's rule is z^T A z / n exactly: Hutchinson's estimate with the same probes.
  TraceOptions traceOptions;
  traceOptions.probes = 8;
  traceOptions.seed = 11;
  const TraceResult trace = hutchinsonTrace(op, traceOptions);
  const double n = static_cast<double>(eigenvalues.size());
  EXPECT_NEAR(weightedMean, trace.mean / n, 1e-10 * std::abs(trace.mean / n));
  // ... which estimates trace / n.
  EXPECT_LT(std::abs(weightedMean - eigenvalues.sum() / n), 4.0 * trace.standardError / n);

  // Mass: the bulk holds 116 of 120 eigenvalues; the density over [-0.6, 2.1] should hold about that share.
  double bulk = 0.0;
  for (std::size_t i = 0; i < density.nodes.size(); ++i) {
    if (density.nodes[i] > -0.6 && density.nodes[i] < 2.1) bulk += density.weights[i];
  }
  EXPECT_NEAR(bulk, 116.0 / 120.0, 0.03);
  // The density is highest inside the bulk, and nearly nothing lies between the bulk and the outliers.
  const auto peak = std::max_element(density.density.begin(), density.density.end()) - density.density.begin();
  EXPECT_GT(density.grid[static_cast<std::size_t>(peak)], -0.8);
  EXPECT_LT(density.grid[static_cast<std::size_t>(peak)], 2.3);
  double gapMass = 0.0;
  for (std::size_t i = 0; i < density.nodes.size(); ++i) {
    if (density.nodes[i] > 2.5 && density.nodes[i] < 5.5) gapMass += density.weights[i];
  }
  EXPECT_LT(gapMass, 0.01);
}

TEST(SpectralDensity, FullKrylovSpaceGivesTheExactEigenvalues) {
  Eigen::VectorXd eigenvalues(12);
  eigenvalues << -3.0, -1.0, 0.5, 1.0, 1.5, 2.0, 2.5, 4.0, 5.0, 7.0, 8.0, 10.0;
  DenseOperator op(withSpectrum(eigenvalues, 7));
  SpectralDensityOptions options;
  options.probes = 3;
  options.lanczosSteps = 50;  // capped at n = 12
  options.sigma = 0.1;
  const SpectralDensity density = spectralDensity(op, options);
  EXPECT_EQ(density.sigma, 0.1);
  for (std::size_t r = 0; r < 3; ++r) {
    ASSERT_EQ(density.stepsPerProbe[r], 12);
    for (Eigen::Index i = 0; i < 12; ++i) {
      const double node = density.nodes[r * 12 + static_cast<std::size_t>(i)];
      EXPECT_NEAR(node, eigenvalues(i), 1e-9) << "probe " << r << " node " << i;
    }
  }
  EXPECT_EQ(density.hessianVectorProducts, 36);
  EXPECT_NEAR(integrate(density), 1.0, 1e-6);
  EXPECT_NEAR(density.grid.front(), -3.0 - 0.5, 1e-9);
  EXPECT_NEAR(density.grid.back(), 10.0 + 0.5, 1e-9);
}

TEST(SpectralDensity, StopsAtAnInvariantSubspace) {
  // A multiple of the identity: one Lanczos step spans an invariant subspace.
  DenseOperator op(2.5 * Eigen::MatrixXd::Identity(30, 30));
  SpectralDensityOptions options;
  options.probes = 2;
  options.lanczosSteps = 10;
  const SpectralDensity density = spectralDensity(op, options);
  EXPECT_EQ(density.stepsPerProbe, (std::vector<int>{1, 1}));
  EXPECT_EQ(density.hessianVectorProducts, 2);
  ASSERT_EQ(density.nodes.size(), 2U);
  EXPECT_NEAR(density.nodes[0], 2.5, 1e-12);
  EXPECT_NEAR(density.weights[0] + density.weights[1], 1.0, 1e-12);
  EXPECT_NEAR(integrate(density), 1.0, 1e-6);
}

TEST(SpectralDensity, IsAFunctionOfTheSeedAndCanBeCancelled) {
  DenseOperator op(withSpectrum(hessianLikeSpectrum(), 5));
  SpectralDensityOptions options;
  options.probes = 3;
  options.lanczosSteps = 15;
  options.seed = 2;
  const SpectralDensity a = spectralDensity(op, options);
  const SpectralDensity b = spectralDensity(op, options);
  EXPECT_EQ(a.nodes, b.nodes);
  EXPECT_EQ(a.density, b.density);
  options.seed = 3;
  EXPECT_NE(spectralDensity(op, options).weights, a.weights);

  std::atomic<bool> cancel{false};
  std::vector<int> reported;
  const SpectralDensity cancelled = spectralDensity(
      op, options,
      [&](int done, int total) {
        EXPECT_EQ(total, 3);
        reported.push_back(done);
        cancel = true;
      },
      &cancel);
  EXPECT_TRUE(cancelled.cancelled);
  EXPECT_EQ(reported, std::vector<int>{1});
  EXPECT_TRUE(cancelled.density.empty());
}

TEST(SpectralDensity, RejectsBadOptions) {
  DenseOperator op(Eigen::MatrixXd::Identity(4, 4));
  SpectralDensityOptions options;
  options.probes = 0;
  EXPECT_THROW(spectralDensity(op, options), Error);
  options = SpectralDensityOptions();
  options.lanczosSteps = 0;
  EXPECT_THROW(spectralDensity(op, options), Error);
  options = SpectralDensityOptions();
  options.gridPoints = 1;
  EXPECT_THROW(spectralDensity(op, options), Error);
  options = SpectralDensityOptions();
  options.sigma = -1.0;
  EXPECT_THROW(spectralDensity(op, options), Error);
  DenseOperator empty(Eigen::MatrixXd(0, 0));
  EXPECT_THROW(spectralDensity(empty, SpectralDensityOptions()), Error);
}

}  // namespace
}  // namespace samscape

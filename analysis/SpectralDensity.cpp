#include "analysis/SpectralDensity.h"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/Error.h"
#include "core/NumberFormat.h"

namespace samscape {
namespace {

void checkOptions(const SpectralDensityOptions& options) {
  if (options.probes < 1) {
    throw Error("the spectral density needs at least 1 probe, not " + std::to_string(options.probes));
  }
  if (options.lanczosSteps < 1) {
    throw Error("the spectral density needs at least 1 Lanczos step, not " + std::to_string(options.lanczosSteps));
  }
  if (options.gridPoints < 2) {
    throw Error("the spectral density grid needs at least 2 points, not " + std::to_string(options.gridPoints));
  }
  if (!std::isfinite(options.sigma) || options.sigma < 0.0) {
    throw Error("the spectral density width sigma must be finite and non-negative, not " +
                shortNumber(options.sigma));
  }
  if (!std::isfinite(options.gridMargin) || options.gridMargin < 0.0) {
    throw Error("the spectral density grid margin must be finite and non-negative, not " +
                shortNumber(options.gridMargin));
  }
}

// The same signs as hutchinsonTrace: one bit of the engine per entry, not a std:: distribution, whose
// output differs between standard libraries.
void rademacher(std::mt19937_64& engine, Eigen::Ref<Eigen::VectorXd> probe) {
  std::uint64_t bits = 0;
  for (Eigen::Index i = 0; i < probe.size(); ++i) {
    if (i % 64 == 0) bits = engine();
    probe(i) = (bits & 1U) != 0 ? 1.0 : -1.0;
    bits >>= 1U;
  }
}

}  // namespace

SpectralDensity spectralDensity(SymmetricOperator& op, const SpectralDensityOptions& options,
                                const SpectralDensityProgress& progress, const std::atomic<bool>* cancel) {
  const std::int64_t n64 = op.size();
  if (n64 < 1) throw Error("cannot estimate the spectral density of an empty operator");
  checkOptions(options);
  const auto n = static_cast<Eigen::Index>(n64);
  const Eigen::Index steps = std::min<Eigen::Index>(options.lanczosSteps, n);

  SpectralDensity result;
  result.probes = options.probes;
  std::mt19937_64 engine(options.seed);
  Eigen::MatrixXd basis(n, steps);  // q_1 ... q_L
  Eigen::VectorXd work(n);          // the one extra vector
  std::vector<double> alpha;
  std::vector<double> beta;
  for (int probe = 0; probe < options.probes; ++probe) {
    if (cancel != nullptr && cancel->load()) {
      result.cancelled = true;
      return result;
    }
    rademacher(engine, basis.col(0));
    basis.col(0) /= std::sqrt(static_cast<double>(n));  // ||z||^2 = n exactly
    alpha.clear();
    beta.clear();
    Eigen::Index taken = 0;
    for (Eigen::Index j = 0; j < steps; ++j) {
      op.apply(basis.col(j).data(), work.data());
      ++result.hessianVectorProducts;
      ++taken;
      alpha.push_back(basis.col(j).dot(work));
      if (j + 1 == steps) break;
      // Full reorthogonalization against q_1 ... q_{j+1} (which also removes alpha q_j and beta q_{j-1}),
      // twice: one pass of classical Gram-Schmidt loses orthogonality when much cancels.
      for (int pass = 0; pass < 2; ++pass) {
        const Eigen::VectorXd coefficients = basis.leftCols(j + 1).transpose() * work;
        work.noalias() -= basis.leftCols(j + 1) * coefficients;
      }
      const double norm = work.norm();
      // An invariant subspace: the Krylov space is exhausted and T is exact for this probe.
      const double scale = std::max(std::abs(alpha.back()), j > 0 ? beta.back() : 0.0);
      if (!(norm > 1e-12 * scale) || norm == 0.0) break;
      beta.push_back(norm);
      basis.col(j + 1) = work / norm;
    }
    Eigen::MatrixXd tridiagonal = Eigen::MatrixXd::Zero(taken, taken);
    for (Eigen::Index i = 0; i < taken; ++i) {
      tridiagonal(i, i) = alpha[static_cast<std::size_t>(i)];
      if (i + 1 < taken) {
        tridiagonal(i, i + 1) = beta[static_cast<std::size_t>(i)];
        tridiagonal(i + 1, i) = beta[static_cast<std::size_t>(i)];
      }
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(tridiagonal);
    if (solver.info() != Eigen::Success) {
      throw Error("the eigendecomposition of a Lanczos tridiagonal matrix failed (probe " +
                  std::to_string(probe + 1) + ")");
    }
    for (Eigen::Index i = 0; i < taken; ++i) {
      const double first = solver.eigenvectors()(0, i);
      result.nodes.push_back(solver.eigenvalues()(i));
      result.weights.push_back(first * first / static_cast<double>(options.probes));
    }
    result.stepsPerProbe.push_back(static_cast<int>(taken));
    if (progress) progress(probe + 1, options.probes);
  }

  const auto [lowest, highest] = std::minmax_element(result.nodes.begin(), result.nodes.end());
  const double range = *highest - *lowest;
  double sigma = options.sigma;
  if (sigma == 0.0) sigma = range > 0.0 ? 0.01 * range : 1e-6 * std::max(1.0, std::abs(*highest));
  result.sigma = sigma;
  const double start = *lowest - options.gridMargin * sigma;
  const double end = *highest + options.gridMargin * sigma;
  const double spacing = (end - start) / static_cast<double>(options.gridPoints - 1);
  const double normalization = 1.0 / (sigma * std::sqrt(2.0 * 3.14159265358979323846));
  result.grid.resize(static_cast<std::size_t>(options.gridPoints));
  result.density.assign(static_cast<std::size_t>(options.gridPoints), 0.0);
  for (std::size_t g = 0; g < result.grid.size(); ++g) {
    const double t = start + spacing * static_cast<double>(g);
    result.grid[g] = t;
    double value = 0.0;
    for (std::size_t i = 0; i < result.nodes.size(); ++i) {
      const double z = (t - result.nodes[i]) / sigma;
      value += result.weights[i] * std::exp(-0.5 * z * z);
    }
    result.density[g] = value * normalization;
  }
  return result;
}

double spectralDensityBytes(std::int64_t probes, std::int64_t lanczosSteps, std::int64_t n) {
  const auto steps = static_cast<double>(std::min(lanczosSteps, n));
  const auto size = static_cast<double>(n);
  return 8.0 * (size * (steps + 2.0) + 3.0 * steps * steps + 2.0 * static_cast<double>(probes) * steps);
}

}  // namespace samscape

#include "analysis/HessianSpectrum.h"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <stdexcept>
#include <cmath>
#include <limits>
#include <string>

#include "analysis/Lobpcg.h"
#include "core/Error.h"
#include "core/NumberFormat.h"

namespace samscape {
namespace {

// Spectra's matrix-operation concept over a SymmetricOperator; counts the applications.
class SpectraOperator {
 public:
  using Scalar = double;

  SpectraOperator(SymmetricOperator& op, double shift) : op_(op), size_(op.size()), shift_(shift) {}

  Eigen::Index rows() const { return static_cast<Eigen::Index>(size_); }
  Eigen::Index cols() const { return static_cast<Eigen::Index>(size_); }
  // Spectra calls this through a const reference; applying a Hessian is not const (it counts, it
  // runs a network), hence the reference member and the mutable counter.
  void perform_op(const double* x_in, double* y_out) const {
    op_.apply(x_in, y_out);
    if (shift_ != 0.0) {
      for (std::int64_t i = 0; i < size_; ++i) y_out[i] += shift_ * x_in[i];
    }
    ++applications_;
  }
  std::int64_t applications() const { return applications_; }

 private:
  SymmetricOperator& op_;
  std::int64_t size_;
  double shift_;
  mutable std::int64_t applications_ = 0;
};

double topOverKth(const std::vector<double>& eigenvalues, int topK) {
  if (static_cast<int>(eigenvalues.size()) != topK || eigenvalues.back() == 0.0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return eigenvalues.front() / eigenvalues.back();
}

// Tiny operators (n <= topK, where Lanczos is undefined): the dense matrix, one column per basis
// vector, symmetrized against rounding, diagonalized exactly.
SpectrumResult denseTopEigenvalues(SymmetricOperator& op, const SpectrumOptions& options) {
  const auto n = static_cast<Eigen::Index>(op.size());
  Eigen::MatrixXd matrix(n, n);
  Eigen::VectorXd basis = Eigen::VectorXd::Zero(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    basis(j) = 1.0;
    op.apply(basis.data(), matrix.col(j).data());
    basis(j) = 0.0;
  }
  const Eigen::MatrixXd symmetric = 0.5 * (matrix + matrix.transpose());
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(
      symmetric, options.eigenvectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
  SpectrumResult result;
  result.hessianVectorProducts = n;
  if (solver.info() != Eigen::Success) {
    result.status = "the dense eigendecomposition failed";
    result.ratioTopOverKth = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  // Eigen sorts ascending; take them from the top (or the bottom).
  const Eigen::Index count = std::min<Eigen::Index>(n, options.topK);
  for (Eigen::Index i = 0; i < count; ++i) {
    const Eigen::Index column = options.smallest ? i : n - 1 - i;
    result.eigenvalues.push_back(solver.eigenvalues()(column));
    if (options.eigenvectors) {
      const Eigen::VectorXd vector = solver.eigenvectors().col(column);
      result.eigenvectors.emplace_back(vector.data(), vector.data() + n);
    }
  }
  result.converged = true;
  result.status = "converged (dense: the operator has only " + std::to_string(n) + " dimensions)";
  result.ratioTopOverKth = options.smallest ? std::numeric_limits<double>::quiet_NaN()
                                            : topOverKth(result.eigenvalues, static_cast<int>(count));
  return result;
}

}  // namespace

SpectrumResult topEigenvalues(SymmetricOperator& op, const SpectrumOptions& options) {
  const std::int64_t n = op.size();
  if (n < 1) throw Error("cannot compute eigenvalues of an empty operator");
  if (options.topK < 1) {
    throw Error("the number of eigenvalues must be at least 1, not " + std::to_string(options.topK));
  }
  if (options.maxIterations < 1) {
    throw Error("the Lanczos iteration limit must be at least 1, not " + std::to_string(options.maxIterations));
  }
  if (!(options.tolerance > 0.0)) {
    throw Error("the eigenvalue tolerance must be positive, not " + shortNumber(options.tolerance));
  }
  if (!options.start.empty()) {
    if (static_cast<std::int64_t>(options.start.size()) != n) {
      throw Error("the Lanczos starting vector has " + std::to_string(options.start.size()) +
                  " entries; the operator has " + std::to_string(n) + " dimensions");
    }
    double squared = 0.0;
    for (double value : options.start) squared += value * value;
    if (!(squared > 0.0) || !std::isfinite(squared)) throw Error("the Lanczos starting vector must have a finite, nonzero norm");
  }
  if (!options.start.empty() && !options.startBlock.empty()) {
    throw Error("give the eigenvalue solver a starting vector or a starting block, not both");
  }
  if (options.topK >= n) return denseTopEigenvalues(op, options);
  if (!std::isfinite(options.shift)) throw Error("the spectrum's shift must be finite, not " + shortNumber(options.shift));
  if (!options.startBlock.empty()) return lobpcgEigenvalues(op, options, options.startBlock);

  const std::int64_t k = options.topK;
  std::int64_t ncv = options.ncv;
  if (ncv == 0) {
    // A single eigenvalue gets a longer first Lanczos run (25): it then usually converges without a
    // restart, and a restart costs ncv - k more products. Measured by tests/analysis/LanczosBudgetTest.cpp
    // on the cnn over 256 Fashion-MNIST images (tolerance 1e-4): 31 products with 20, 26 with 25.
    ncv = lanczosBasisSize(k, n);
  } else if (ncv <= k || ncv > n) {
    throw Error("the Lanczos basis size must satisfy " + std::to_string(k) + " < ncv <= " + std::to_string(n) +
                ", not " + std::to_string(ncv));
  }

  if (!std::isfinite(options.shift)) throw Error("the spectrum's shift must be finite, not " + shortNumber(options.shift));
  SpectraOperator adapter(op, options.shift);
  Spectra::SymEigsSolver<SpectraOperator> solver(adapter, static_cast<Eigen::Index>(k),
                                                 static_cast<Eigen::Index>(ncv));
  // init() starts from Spectra's fixed pseudo-random vector, so results are reproducible.
  if (options.start.empty()) {
    solver.init();
  } else {
    solver.init(options.start.data());
  }
  const Spectra::SortRule rule = options.smallest ? Spectra::SortRule::SmallestAlge : Spectra::SortRule::LargestAlge;
  try {
    solver.compute(rule, options.maxIterations, options.tolerance, rule);
  } catch (const std::logic_error& error) {
    // Spectra's own failures (a tridiagonal eigendecomposition that fails on NaN or infinite entries):
    // the operator's products were not finite, e.g. the weights of a diverged run.
    throw Error(std::string("Lanczos failed: ") + error.what() +
                " (the Hessian-vector products were not finite numbers: are the weights finite?)");
  }

  SpectrumResult result;
  result.hessianVectorProducts = adapter.applications();
  const Spectra::CompInfo info = solver.info();
  // eigenvalues() holds the converged ones only, already sorted (descending by LargestAlge, ascending
  // by SmallestAlge).
  const Eigen::VectorXd values = solver.eigenvalues().array() - options.shift;
  result.eigenvalues.assign(values.data(), values.data() + values.size());
  if (options.eigenvectors && values.size() > 0) {
    const Eigen::MatrixXd vectors = solver.eigenvectors();
    for (Eigen::Index column = 0; column < vectors.cols(); ++column) {
      const Eigen::VectorXd vector = vectors.col(column);
      result.eigenvectors.emplace_back(vector.data(), vector.data() + vector.size());
    }
  }
  const std::string counts = std::to_string(values.size()) + " of " + std::to_string(k) +
                             " eigenvalues converged after " + std::to_string(solver.num_iterations()) +
                             " restarts and " + std::to_string(result.hessianVectorProducts) +
                             " operator applications";
  switch (info) {
    case Spectra::CompInfo::Successful:
      result.converged = true;
      result.status = "converged";
      break;
    case Spectra::CompInfo::NotConverging:
      result.status = "not converged: " + counts + " (limit " + std::to_string(options.maxIterations) +
                      " restarts, tolerance " + shortNumber(options.tolerance) +
                      "); raise the limit or the tolerance";
      break;
    case Spectra::CompInfo::NumericalIssue:
      result.status = "numerical issue in the Lanczos iteration: " + counts;
      break;
    case Spectra::CompInfo::NotComputed:
      result.status = "not computed";
      break;
  }
  result.ratioTopOverKth = result.converged && !options.smallest ? topOverKth(result.eigenvalues, options.topK)
                                            : std::numeric_limits<double>::quiet_NaN();
  return result;
}

std::int64_t lanczosBasisSize(std::int64_t topK, std::int64_t n) {
  return std::min<std::int64_t>(n, topK == 1 ? 25 : std::max<std::int64_t>(2 * topK + 1, 20));
}

double lanczosBytes(std::int64_t topK, std::int64_t n, bool eigenvectors) {
  const auto size = static_cast<double>(n);
  if (topK >= n) return 8.0 * 4.0 * size * size;  // the matrix, its symmetric part, the eigenvectors, workspace
  const auto basis = static_cast<double>(lanczosBasisSize(topK, n));
  const double vectors = eigenvectors ? 2.0 * static_cast<double>(topK) * size : 0.0;
  return 8.0 * (size * (basis + 4.0) + 6.0 * basis * basis + vectors);
}

double lanczosTypicalProducts(std::int64_t topK, std::int64_t n) {
  if (topK >= n) return static_cast<double>(n);
  return 3.0 * static_cast<double>(lanczosBasisSize(topK, n));
}

}  // namespace samscape

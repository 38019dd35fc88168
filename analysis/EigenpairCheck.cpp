#include "analysis/EigenpairCheck.h"

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/Error.h"

namespace samscape {

namespace {

// The pairs (columns of `vectors`, unit norm) measured from their products.
EigenpairCheck measure(const Eigen::MatrixXd& vectors, const Eigen::MatrixXd& products, double tolerance, double shift) {
  EigenpairCheck check;
  check.passed = true;
  // Spectra's convergence test bounds the residual by tolerance * max(|theta|, eps^(2/3)) on the
  // (shifted) operator it iterates on; the same scale makes the two comparable.
  const double floor = std::pow(std::numeric_limits<double>::epsilon(), 2.0 / 3.0);
  for (Eigen::Index j = 0; j < vectors.cols(); ++j) {
    const double theta = vectors.col(j).dot(products.col(j));
    const double residual = (products.col(j) - theta * vectors.col(j)).norm();
    const double relative = residual / std::max(std::abs(theta + shift), floor);
    check.rayleighQuotients.push_back(theta);
    check.residuals.push_back(residual);
    check.relativeResiduals.push_back(relative);
    if (!(relative <= tolerance)) check.passed = false;
  }
  return check;
}

// One Rayleigh-Ritz step in the reference precision on span(V, R), R = HV - V Theta the residuals: the
// subspace holds both the pairs and the directions they miss, so the best k pairs in it are closer
// (the first step of block Davidson / LOBPCG). Costs one product per residual direction; the new
// pairs' products come from the subspace's, so they are measured without further products.
// `vectors` (orthonormal columns) and `products` are replaced. Returns the products used.
std::int64_t rayleighRitzStep(SymmetricOperator& reference, Eigen::MatrixXd& vectors, Eigen::MatrixXd& products,
                              bool smallest) {
  const Eigen::Index n = vectors.rows();
  const Eigen::Index k = vectors.cols();
  const Eigen::VectorXd theta = (vectors.transpose() * products).diagonal();
  Eigen::MatrixXd residuals = products - vectors * theta.asDiagonal();
  // Orthogonal to V (twice, for float64 accuracy), then orthonormal among themselves.
  for (int pass = 0; pass < 2; ++pass) residuals -= vectors * (vectors.transpose() * residuals);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(residuals);
  const Eigen::MatrixXd extra = qr.householderQ() * Eigen::MatrixXd::Identity(n, k);
  Eigen::MatrixXd extraProducts(n, k);
  reference.applyMany(k, extra.data(), extraProducts.data());
  Eigen::MatrixXd basis(n, 2 * k);
  basis << vectors, extra;
  Eigen::MatrixXd basisProducts(n, 2 * k);
  basisProducts << products, extraProducts;
  const Eigen::MatrixXd projected = basis.transpose() * basisProducts;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(0.5 * (projected + projected.transpose()));
  // Ascending: the largest are the last k, the smallest the first k.
  const Eigen::MatrixXd coefficients = smallest ? solver.eigenvectors().leftCols(k) : solver.eigenvectors().rightCols(k);
  vectors = basis * coefficients;
  products = basisProducts * coefficients;
  return k;
}

Eigen::MatrixXd unitColumns(const std::vector<std::vector<double>>& eigenvectors, std::int64_t n) {
  const auto count = static_cast<Eigen::Index>(eigenvectors.size());
  Eigen::MatrixXd vectors(n, count);
  for (Eigen::Index j = 0; j < count; ++j) {
    const auto& vector = eigenvectors[static_cast<std::size_t>(j)];
    if (static_cast<std::int64_t>(vector.size()) != n) {
      throw Error("an eigenvector of " + std::to_string(vector.size()) + " entries cannot be checked on an operator of " +
                  std::to_string(n) + " dimensions");
    }
    vectors.col(j) = Eigen::Map<const Eigen::VectorXd>(vector.data(), n);
    const double norm = vectors.col(j).norm();
    if (!(norm > 0.0)) throw Error("cannot check a zero eigenvector");
    vectors.col(j) /= norm;
  }
  return vectors;
}

std::vector<std::vector<double>> columns(const Eigen::MatrixXd& vectors) {
  std::vector<std::vector<double>> out;
  for (Eigen::Index j = 0; j < vectors.cols(); ++j) out.emplace_back(vectors.col(j).data(), vectors.col(j).data() + vectors.rows());
  return out;
}

}  // namespace

EigenpairCheck checkEigenpairs(SymmetricOperator& reference, const std::vector<std::vector<double>>& eigenvectors,
                               double tolerance, double shift) {
  if (eigenvectors.empty()) {
    EigenpairCheck check;
    check.passed = true;
    return check;
  }
  const Eigen::MatrixXd vectors = unitColumns(eigenvectors, reference.size());
  Eigen::MatrixXd products(vectors.rows(), vectors.cols());
  reference.applyMany(vectors.cols(), vectors.data(), products.data());
  EigenpairCheck check = measure(vectors, products, tolerance, shift);
  check.products = vectors.cols();
  return check;
}

namespace {

// The result's eigenvalues replaced by the check's Rayleigh quotients, pairs kept together and
// reordered if the more accurate values swap two nearly equal ones.
void takeCheckedValues(SpectrumResult& spectrum, EigenpairCheck& check, bool smallest) {
  std::vector<std::size_t> order(check.rayleighQuotients.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return smallest ? check.rayleighQuotients[a] < check.rayleighQuotients[b]
                    : check.rayleighQuotients[a] > check.rayleighQuotients[b];
  });
  EigenpairCheck sorted = check;
  SpectrumResult reordered = spectrum;
  for (std::size_t i = 0; i < order.size(); ++i) {
    sorted.rayleighQuotients[i] = check.rayleighQuotients[order[i]];
    sorted.residuals[i] = check.residuals[order[i]];
    sorted.relativeResiduals[i] = check.relativeResiduals[order[i]];
    reordered.eigenvectors[i] = spectrum.eigenvectors[order[i]];
  }
  reordered.eigenvalues = sorted.rayleighQuotients;
  if (spectrum.converged && !smallest && !reordered.eigenvalues.empty() && reordered.eigenvalues.back() != 0.0) {
    reordered.ratioTopOverKth = reordered.eigenvalues.front() / reordered.eigenvalues.back();
  }
  spectrum = std::move(reordered);
  check = std::move(sorted);
}

}  // namespace

CheckedSpectrum checkedTopEigenvalues(SymmetricOperator& working, SymmetricOperator& reference,
                                      const SpectrumOptions& options, double workingTolerance) {
  SpectrumOptions withVectors = options;
  withVectors.eigenvectors = true;
  if (&working != &reference) {
    if (workingTolerance > 0.0) withVectors.tolerance = workingTolerance;
    // Rounding can keep the working precision from ever reaching its tolerance: give up early and
    // let the reference precision finish rather than restart a thousand times.
    withVectors.maxIterations = std::min(options.maxIterations, kWorkingRestarts);
  }
  CheckedSpectrum result;
  result.spectrum = topEigenvalues(working, withVectors);
  std::int64_t workingProducts = result.spectrum.hessianVectorProducts;
  if ((!result.spectrum.converged || result.spectrum.eigenvectors.empty()) && &working != &reference) {
    // The working precision's rounding kept Lanczos from converging: the reference precision's turn.
    SpectrumOptions again = options;
    again.eigenvectors = true;
    result.spectrum = topEigenvalues(reference, again);
    result.checkProducts = result.spectrum.hessianVectorProducts;
    result.spectrum.hessianVectorProducts = 0;
    result.outcome = "recomputed";
  }
  if (!result.spectrum.converged || result.spectrum.eigenvectors.empty()) {
    result.outcome = "not converged";
    result.spectrum.hessianVectorProducts += workingProducts + result.checkProducts;
    return result;
  }
  Eigen::MatrixXd vectors = unitColumns(result.spectrum.eigenvectors, reference.size());
  Eigen::MatrixXd products(vectors.rows(), vectors.cols());
  reference.applyMany(vectors.cols(), vectors.data(), products.data());
  result.checkProducts += vectors.cols();
  result.check = measure(vectors, products, options.tolerance, options.shift);
  if (result.outcome.empty()) result.outcome = "passed";
  // Lanczos' test bounds its own estimate of the residuals; the working precision's rounding adds to
  // the true ones, which can land just above the tolerance. A few Rayleigh-Ritz steps in the
  // reference precision fix that for k products each.
  for (int step = 0; step < kRayleighRitzSteps && !result.check.passed && result.outcome == "passed" &&
                     &working != &reference;
       ++step) {
    result.checkProducts += rayleighRitzStep(reference, vectors, products, options.smallest);
    result.check = measure(vectors, products, options.tolerance, options.shift);
    result.spectrum.eigenvectors = columns(vectors);
  }
  if (result.check.passed && result.outcome == "passed" && result.checkProducts > vectors.cols()) result.outcome = "refined";
  if (!result.check.passed && &working != &reference && result.outcome != "recomputed") {
    // Still short: Lanczos again in the reference precision, from a vector that already holds the
    // wanted eigenvectors' directions, checked in turn.
    SpectrumOptions refine = withVectors;
    refine.tolerance = options.tolerance;
    if (!options.startBlock.empty()) {
      // A warm-started (LOBPCG) run: the block method again, from all the working eigenvectors.
      refine.startBlock = result.spectrum.eigenvectors;
    } else {
      refine.start.assign(static_cast<std::size_t>(working.size()), 0.0);
      for (const auto& vector : result.spectrum.eigenvectors) {
        for (std::size_t i = 0; i < vector.size(); ++i) refine.start[i] += vector[i];
      }
    }
    result.spectrum = topEigenvalues(reference, refine);
    result.checkProducts += result.spectrum.hessianVectorProducts;
    result.outcome = "recomputed";
    if (result.spectrum.converged && !result.spectrum.eigenvectors.empty()) {
      result.check = checkEigenpairs(reference, result.spectrum.eigenvectors, options.tolerance, options.shift);
      result.checkProducts += result.check.products;
    }
  }
  if (!result.check.passed && result.outcome != "not converged") result.outcome += ", failed";
  // Every product, in either precision.
  result.spectrum.hessianVectorProducts = workingProducts + result.checkProducts;
  if (!result.spectrum.converged || result.spectrum.eigenvectors.empty()) return result;
  takeCheckedValues(result.spectrum, result.check, options.smallest);
  if (!options.eigenvectors) result.spectrum.eigenvectors.clear();
  return result;
}

}  // namespace samscape

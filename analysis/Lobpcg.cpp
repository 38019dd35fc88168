#include "analysis/Lobpcg.h"

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

using Matrix = Eigen::MatrixXd;

// Directions whose share of the block's Gram matrix is below this are dropped by svqb: their
// orthonormalized version would be mostly rounding (amplified by 1 / sqrt of it, here 1e6).
constexpr double kDropBelow = 1e-12;

// Orthonormalizes the columns of `block` by SVQB (Stathopoulos and Wu 2002; the robust choice of Duersch
// et al., SIAM J. Sci. Comput. 40(5), 2018, section 3): the Gram matrix, scaled to a unit diagonal, is
// diagonalized and the block is multiplied by U Lambda^-1/2 with the directions of tiny Lambda dropped,
// so a nearly dependent block (a residual almost in span(X), a start with repeated vectors) loses
// columns instead of becoming rounding. Cholesky-QR would fail there. `products` (A times the block, or
// empty) gets the same transformation, which keeps it A times the new block without applying A.
void svqb(Matrix& block, Matrix& products) {
  const Eigen::Index columns = block.cols();
  if (columns == 0) return;
  const Matrix gram = block.transpose() * block;
  Eigen::VectorXd scale(columns);
  for (Eigen::Index j = 0; j < columns; ++j) {
    const double diagonal = gram(j, j);
    scale(j) = diagonal > 0.0 && std::isfinite(diagonal) ? 1.0 / std::sqrt(diagonal) : 0.0;
  }
  const Matrix scaled = scale.asDiagonal() * gram * scale.asDiagonal();
  const Eigen::SelfAdjointEigenSolver<Matrix> solver(0.5 * (scaled + scaled.transpose()));
  const Eigen::VectorXd& values = solver.eigenvalues();  // ascending
  const double largest = values(columns - 1);
  Eigen::Index kept = 0;
  while (kept < columns && largest > 0.0 && values(columns - 1 - kept) > kDropBelow * largest) ++kept;
  Matrix transform = scale.asDiagonal() * solver.eigenvectors().rightCols(kept);
  for (Eigen::Index j = 0; j < kept; ++j) transform.col(j) /= std::sqrt(values(columns - kept + j));
  block = block * transform;
  if (products.cols() == columns) products = products * transform;
}

// block -= Q (Q' block) for an orthonormal Q, products -= AQ (Q' block) alike.
void orthogonalizeAgainst(const Matrix& q, const Matrix& aq, Matrix& block, Matrix& products) {
  if (q.cols() == 0 || block.cols() == 0) return;
  const Matrix overlap = q.transpose() * block;
  block -= q * overlap;
  if (products.cols() == block.cols()) products -= aq * overlap;
}

// Orthonormal to `q` (and, with `q2`, to it too) and among themselves: two passes, each an
// orthogonalization then SVQB, as one pass leaves O(eps * cond) of q in the block (Duersch et al.,
// section 3.2's "twice is enough").
void orthonormalizeAgainst(const Matrix& q, const Matrix& aq, const Matrix& q2, const Matrix& aq2, Matrix& block,
                           Matrix& products) {
  for (int pass = 0; pass < 2 && block.cols() > 0; ++pass) {
    orthogonalizeAgainst(q, aq, block, products);
    orthogonalizeAgainst(q2, aq2, block, products);
    svqb(block, products);
  }
}

Matrix columnsOf(const Matrix& block, const std::vector<Eigen::Index>& chosen) {
  Matrix out(block.rows(), static_cast<Eigen::Index>(chosen.size()));
  for (std::size_t j = 0; j < chosen.size(); ++j) out.col(static_cast<Eigen::Index>(j)) = block.col(chosen[j]);
  return out;
}

// The wanted eigenvectors of the symmetric `projected` as columns, best first: the largest descending,
// or the smallest ascending.
Matrix wantedCoefficients(const Matrix& projected, Eigen::Index count, bool smallest, Eigen::VectorXd& values) {
  const Eigen::SelfAdjointEigenSolver<Matrix> solver(0.5 * (projected + projected.transpose()));
  if (solver.info() != Eigen::Success) {
    throw Error("LOBPCG failed: the Rayleigh-Ritz eigendecomposition did not converge (the Hessian-vector products "
                "were not finite numbers: are the weights finite?)");
  }
  const Eigen::Index size = projected.rows();
  Matrix coefficients(size, count);
  values.resize(count);
  for (Eigen::Index j = 0; j < count; ++j) {
    const Eigen::Index column = smallest ? j : size - 1 - j;
    coefficients.col(j) = solver.eigenvectors().col(column);
    values(j) = solver.eigenvalues()(column);
  }
  return coefficients;
}

void applyBlock(SymmetricOperator& op, const Matrix& block, Matrix& products, std::int64_t& count) {
  products.resize(block.rows(), block.cols());
  if (block.cols() == 0) return;
  op.applyMany(block.cols(), block.data(), products.data());
  count += block.cols();
  if (!products.allFinite()) {
    throw Error("LOBPCG failed: the Hessian-vector products were not finite numbers: are the weights finite?");
  }
}

}  // namespace

SpectrumResult lobpcgEigenvalues(SymmetricOperator& op, const SpectrumOptions& options,
                                 const std::vector<std::vector<double>>& start) {
  const std::int64_t n = op.size();
  const Eigen::Index k = options.topK;
  if (k < 1 || k >= n) {
    throw Error("LOBPCG needs 1 <= k < n eigenpairs: k " + std::to_string(k) + ", n " + std::to_string(n));
  }
  if (!(options.tolerance > 0.0)) {
    throw Error("the eigenvalue tolerance must be positive, not " + shortNumber(options.tolerance));
  }
  for (const auto& vector : start) {
    if (static_cast<std::int64_t>(vector.size()) != n) {
      throw Error("a LOBPCG starting vector has " + std::to_string(vector.size()) + " entries; the operator has " +
                  std::to_string(n) + " dimensions");
    }
    for (double value : vector) {
      if (!std::isfinite(value)) throw Error("a LOBPCG starting vector has an entry that is not a finite number");
    }
  }
  // The same budget of products Lanczos has (its first factorization, then ncv - k per restart), so a
  // caller's iteration limit (EigenpairCheck's kWorkingRestarts) bounds both alike.
  const std::int64_t ncv = options.ncv > 0 ? options.ncv : lanczosBasisSize(k, n);
  const std::int64_t budget = ncv + static_cast<std::int64_t>(options.maxIterations) * std::max<std::int64_t>(ncv - k, 1);
  // Spectra's test (SymEigsBase::num_converged): residual < tol * max(|theta|, eps^(2/3)) on the shifted
  // operator, whose Ritz values are theta + shift; the residual itself does not depend on the shift.
  const double floor = std::pow(std::numeric_limits<double>::epsilon(), 2.0 / 3.0);
  const auto threshold = [&](double theta) { return options.tolerance * std::max(std::abs(theta + options.shift), floor); };

  SpectrumResult result;
  std::int64_t& products = result.hessianVectorProducts;

  // X: the start, completed (or, where it is dependent, refilled) with fixed pseudo-random directions,
  // so that results are reproducible.
  Matrix x(n, k);
  Eigen::Index given = 0;
  for (; given < k && given < static_cast<Eigen::Index>(start.size()); ++given) {
    x.col(given) = Eigen::Map<const Eigen::VectorXd>(start[static_cast<std::size_t>(given)].data(), n);
  }
  std::mt19937_64 generator(20011);  // any fixed seed
  std::normal_distribution<double> normal;
  Matrix none;
  for (int attempt = 0; attempt < 4; ++attempt) {
    for (Eigen::Index j = given; j < k; ++j) {
      for (Eigen::Index i = 0; i < n; ++i) x(i, j) = normal(generator);
    }
    svqb(x, none);
    given = x.cols();
    if (given == k) break;
    x.conservativeResize(n, k);
  }
  if (x.cols() != k) throw Error("LOBPCG could not make " + std::to_string(k) + " independent starting vectors");

  Matrix ax;
  applyBlock(op, x, ax, products);
  Eigen::VectorXd theta;
  {
    const Matrix coefficients = wantedCoefficients(x.transpose() * ax, k, options.smallest, theta);
    x = x * coefficients;
    ax = ax * coefficients;
  }
  Matrix p, ap;  // the previous step's direction (none before the first)
  std::vector<bool> converged(static_cast<std::size_t>(k), false);
  int iterations = 0;
  std::string stopped;
  for (;;) {
    Matrix residuals = ax - x * theta.asDiagonal();
    std::vector<Eigen::Index> active;
    for (Eigen::Index j = 0; j < k; ++j) {
      // Soft locking (Knyazev et al. 2007, BLOPEX; Duersch et al. section 4): a converged pair gets no
      // new directions, which saves its products, but stays in the Rayleigh-Ritz basis and is tested
      // again each step, so it can improve but never drifts unseen.
      converged[static_cast<std::size_t>(j)] = residuals.col(j).norm() <= threshold(theta(j));
      if (!converged[static_cast<std::size_t>(j)]) active.push_back(j);
    }
    if (active.empty()) break;
    if (products + static_cast<std::int64_t>(active.size()) > budget) {
      stopped = "not converged";
      break;
    }
    ++iterations;
    // W: the active residuals (no preconditioner), orthonormal to X.
    Matrix w = columnsOf(residuals, active);
    residuals.resize(0, 0);  // memory: each block below is n x up to k doubles
    Matrix noProducts;
    orthonormalizeAgainst(x, ax, Matrix(), Matrix(), w, noProducts);
    if (w.cols() == 0) {
      stopped = "numerical issue (the residuals lie in the current eigenvectors' span)";
      break;
    }
    Matrix aw;
    applyBlock(op, w, aw, products);
    // P: the active columns of the previous step, orthonormal to X and W; its products follow along.
    Matrix pActive, apActive;
    if (p.cols() == k) {
      pActive = columnsOf(p, active);
      apActive = columnsOf(ap, active);
      p.resize(0, 0);
      ap.resize(0, 0);
      orthonormalizeAgainst(x, ax, w, aw, pActive, apActive);
    }
    // Rayleigh-Ritz on span[X W P] (orthonormal by construction): the k best Ritz pairs.
    const Eigen::Index size = k + w.cols() + pActive.cols();
    Matrix basis(n, size), basisProducts(n, size);
    // (Block by block: Eigen's comma initializer refuses an empty P.)
    basis.leftCols(k) = x;
    basis.middleCols(k, w.cols()) = w;
    if (pActive.cols() > 0) basis.rightCols(pActive.cols()) = pActive;
    basisProducts.leftCols(k) = ax;
    basisProducts.middleCols(k, w.cols()) = aw;
    if (pActive.cols() > 0) basisProducts.rightCols(pActive.cols()) = apActive;
    w.resize(0, 0);
    aw.resize(0, 0);
    pActive.resize(0, 0);
    apActive.resize(0, 0);
    const Matrix coefficients = wantedCoefficients(basis.transpose() * basisProducts, k, options.smallest, theta);
    x.resize(0, 0);
    ax.resize(0, 0);
    x = basis * coefficients;
    ax = basisProducts * coefficients;
    // The new direction: the step's part outside the old X (Hetmaniuk and Lehoucq 2006's form of
    // Knyazev's P = W C_W + P C_P).
    p = basis.rightCols(size - k) * coefficients.bottomRows(size - k);
    ap = basisProducts.rightCols(size - k) * coefficients.bottomRows(size - k);
    // X is orthonormal up to rounding (an orthonormal basis times orthonormal coefficients); its columns
    // are rescaled to unit norm, AX alike, so the residuals are measured on unit vectors. (Not SVQB: it
    // would rotate the Ritz vectors into mixtures whose residuals do not go to zero.)
    for (Eigen::Index j = 0; j < k; ++j) {
      const double norm = x.col(j).norm();
      if (!(norm > 0.0) || !std::isfinite(norm)) throw Error("LOBPCG failed: a Ritz vector is not a finite nonzero vector");
      x.col(j) /= norm;
      ax.col(j) /= norm;
    }
  }

  std::int64_t convergedCount = 0;
  for (Eigen::Index j = 0; j < k; ++j) {
    if (!converged[static_cast<std::size_t>(j)]) continue;
    ++convergedCount;
    result.eigenvalues.push_back(theta(j));
    if (options.eigenvectors) result.eigenvectors.emplace_back(x.col(j).data(), x.col(j).data() + n);
  }
  const std::string counts = std::to_string(convergedCount) + " of " + std::to_string(k) +
                             " eigenvalues converged after " + std::to_string(iterations) + " LOBPCG steps and " +
                             std::to_string(products) + " operator applications";
  if (stopped.empty()) {
    result.converged = true;
    result.status = "converged";
  } else if (stopped == "not converged") {
    result.status = "not converged: " + counts + " (limit " + std::to_string(budget) + " applications, tolerance " +
                    shortNumber(options.tolerance) + "); raise the limit or the tolerance";
  } else {
    result.status = stopped + ": " + counts;
  }
  result.ratioTopOverKth = std::numeric_limits<double>::quiet_NaN();
  if (result.converged && !options.smallest && result.eigenvalues.back() != 0.0) {
    result.ratioTopOverKth = result.eigenvalues.front() / result.eigenvalues.back();
  }
  return result;
}

double lobpcgBytes(std::int64_t topK, std::int64_t n) {
  // At the Rayleigh-Ritz step: X, AX, W, AW, P and AP (6k columns at most) and the basis and its
  // products (6k); the next X, AX, P and AP replace them one by one (1k more at a time); the result's
  // vectors (k). A caller's start block is its own.
  return 8.0 * static_cast<double>(n) * 14.0 * static_cast<double>(topK);
}

}  // namespace samscape

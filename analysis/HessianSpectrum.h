#pragma once
// The top (or bottom) eigenvalues of a large symmetric operator known only through its action on vectors (a
// Hessian through Hessian-vector products), by implicitly restarted Lanczos (Spectra's
// SymEigsSolver). Plain C++ types only: no LibTorch, no Eigen, no Spectra in this header.

#include <cstdint>
#include <string>
#include <vector>

namespace samscape {

// A symmetric linear map on R^n, applied to one vector at a time.
class SymmetricOperator {
 public:
  virtual ~SymmetricOperator() = default;
  virtual std::int64_t size() const = 0;
  // out = A in; both hold size() doubles and do not overlap.
  virtual void apply(const double* in, double* out) = 0;
  // out_j = A in_j for `count` vectors stored one after another (count x size() doubles each). An
  // operator that can share work between vectors (a Hessian's forward pass) overrides it; by default,
  // one apply() per vector.
  virtual void applyMany(std::int64_t count, const double* in, double* out) {
    for (std::int64_t j = 0; j < count; ++j) apply(in + j * size(), out + j * size());
  }
};

struct SpectrumOptions {
  int topK = 5;            // how many of the largest (algebraic) eigenvalues (the smallest with `smallest`)
  // The topK smallest (most negative) eigenvalues instead, in ascending order: negative curvature,
  // a saddle's signature.
  bool smallest = false;
  int ncv = 0;             // Lanczos basis size, topK < ncv <= n; 0: min(n, 25) for topK 1, else min(n, max(2 topK + 1, 20))
  int maxIterations = 1000;  // restarts
  double tolerance = 1e-10;  // Spectra's relative tolerance on each Ritz value
  bool eigenvectors = false;
  // Lanczos runs on A + shift I and the eigenvalues come back less the shift: the same Krylov spaces,
  // but Spectra's convergence test is relative to each Ritz value's magnitude, so eigenvalues near zero
  // (the bottom of a network's Hessian) would have to converge to a far smaller absolute residual than
  // the top ones. Shifting by the spectrum's scale (|lambda_max|) asks the same absolute accuracy of both.
  double shift = 0.0;
  // Lanczos' starting vector (size n, any nonzero norm; empty: Spectra's fixed pseudo-random one).
  // Warm start: a combination of the eigenvectors of a nearby operator (the previous analysis' during
  // training) starts in nearly the wanted subspace and converges in fewer products.
  std::vector<double> start;
  // A warm start from several vectors (the previous analysis' top eigenvectors, each of size n): the
  // eigenpairs are then computed by LOBPCG (analysis/Lobpcg.h), a block method that starts from all of
  // them, instead of Lanczos from one vector. At most one of `start` and `startBlock` may be given.
  std::vector<std::vector<double>> startBlock;
};

struct SpectrumResult {
  // The converged eigenvalues among the topK largest, in descending order (the smallest: ascending):
  // topK of them when converged, possibly fewer (even none) when not.
  std::vector<double> eigenvalues;
  // When SpectrumOptions::eigenvectors: unit eigenvectors, one per eigenvalue, each of size n.
  std::vector<std::vector<double>> eigenvectors;
  std::int64_t hessianVectorProducts = 0;  // operator applications
  bool converged = false;
  std::string status;  // "converged", or what went wrong, in words
  // eigenvalues.front() / eigenvalues.back() when all topK converged (a common sharpness summary);
  // NaN otherwise or when the k-th eigenvalue is 0.
  double ratioTopOverKth = 0.0;
};

// The topK largest (or smallest) eigenvalues of `op`. When topK >= n (tiny operators, where Lanczos is not
// defined) the operator is applied to every basis vector and the dense matrix is diagonalized.
// Non-convergence is reported in the result, not thrown. Throws Error for topK < 1, an ncv out of
// range, a start of the wrong size or zero norm, both a start and a start block, or an empty operator;
// whatever op.apply throws passes through. With a startBlock (and topK < n), LOBPCG instead of Lanczos.
SpectrumResult topEigenvalues(SymmetricOperator& op, const SpectrumOptions& options);

// The Lanczos basis size topEigenvalues uses by default for topK eigenvalues of an n-dimensional
// operator (SpectrumOptions::ncv = 0).
std::int64_t lanczosBasisSize(std::int64_t topK, std::int64_t n);
// The memory topEigenvalues holds for topK eigenvalues of an n-dimensional operator, in bytes: Spectra's
// basis (n x ncv) and its ncv x ncv matrices, the operator's vectors, the eigenvectors when asked (in
// Eigen's matrix and in the result), or the dense matrix and its eigendecomposition when topK >= n.
double lanczosBytes(std::int64_t topK, std::int64_t n, bool eigenvectors);
// Products a top-K Lanczos run typically takes: its first factorization and a few restarts (the
// tests' budget, tests/analysis/LanczosBudgetTest.cpp, sees 21 to 136); for an estimate of the time.
double lanczosTypicalProducts(std::int64_t topK, std::int64_t n);

}  // namespace samscape

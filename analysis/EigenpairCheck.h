#pragma once
// The check behind samscape's precision policy: eigenpairs that Lanczos found with float32
// Hessian-vector products are verified with products in float64 on the same data, and what is
// reported (eigenvalues, residuals) is what float64 measured. When the check fails, Lanczos runs again
// with float64 products, started from the float32 eigenvectors. Plain C++ types only.

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/HessianSpectrum.h"

namespace samscape {

struct EigenpairCheck {
  // Per eigenvector v (unit): theta = v'Av and ||Av - theta v||, in the reference operator's precision.
  std::vector<double> rayleighQuotients;
  std::vector<double> residuals;
  // The residuals over Spectra's scale for each pair, max(|theta + shift|, eps^(2/3)): comparable with
  // the Lanczos tolerance, which bounds the same quantity.
  std::vector<double> relativeResiduals;
  bool passed = false;  // every relative residual within the tolerance
  std::int64_t products = 0;
};

// Applies `reference` to every eigenvector (one applyMany call) and measures the pairs. Throws Error
// when a vector's size is not the operator's or a vector is zero.
EigenpairCheck checkEigenpairs(SymmetricOperator& reference, const std::vector<std::vector<double>>& eigenvectors,
                               double tolerance, double shift = 0.0);

struct CheckedSpectrum {
  // The eigenvalues are the reference's Rayleigh quotients of the final eigenvectors, in the
  // spectrum's order (descending, ascending for the smallest); products and status cover every run.
  SpectrumResult spectrum;
  EigenpairCheck check;
  // "passed": the working precision's eigenpairs met the tolerance in the reference precision;
  // "refined": they did after Rayleigh-Ritz steps in the reference precision; "recomputed": they did
  // not, and Lanczos ran again in the reference precision; ", failed" appended when the final pairs
  // still miss the tolerance; "not converged": Lanczos did not converge (nothing to check).
  std::string outcome;
  std::int64_t checkProducts = 0;  // products in the reference precision (checks and the refinement)
};

// Rayleigh-Ritz steps tried before Lanczos is run again in the reference precision.
constexpr int kRayleighRitzSteps = 2;
// Lanczos restarts allowed in the working precision (the top 5 to 1e-5 in samscape-bench's table take
// at most 3: 20 products, then 15 a restart); a run that needs more is redone in the reference precision.
constexpr int kWorkingRestarts = 10;

// topEigenvalues on `working` (eigenvectors always computed), checked on `reference` (the same
// operator in a higher precision). When the check fails, up to kRayleighRitzSteps Rayleigh-Ritz steps
// on span(V, residuals) in the reference precision; if still short, topEigenvalues on `reference`,
// started from the sum of the working eigenvectors (LOBPCG from all of them when options.startBlock is
// given), checked in turn. Reported as measured, passed or
// not. With `working` and `reference` the same operator, the check only.
// `workingTolerance` (0: options.tolerance) is the Lanczos tolerance on `working`: tighter than the
// one checked, it leaves room for the working precision's rounding, which Lanczos' own residual
// estimate does not see. A working run that does not converge is redone on `reference`.
CheckedSpectrum checkedTopEigenvalues(SymmetricOperator& working, SymmetricOperator& reference,
                                      const SpectrumOptions& options, double workingTolerance = 0.0);

}  // namespace samscape

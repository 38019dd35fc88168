#pragma once
// The spectral density (eigenvalue distribution) of a large symmetric operator known only through
// products, by stochastic Lanczos quadrature (Lin, Saad and Yang, SIAM Review 2016; Ghorbani, Krishnan
// and Xiao, ICML 2019): for each of R Rademacher probes z, L Lanczos steps from q1 = z / ||z|| give a
// tridiagonal T whose eigenvalues theta_i (nodes) and squared first eigenvector components tau_i
// (weights) form a Gauss quadrature rule for the measure (1/n) sum_j delta(t - lambda_j) as seen by z.
// Averaging the R rules and smoothing each node with a Gaussian of width sigma gives
//
//   phi(t) = (1/R) sum_r sum_i tau_{r,i} N(t; theta_{r,i}, sigma^2),
//
// a density that integrates to 1. Plain C++ types only.

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "analysis/HessianSpectrum.h"

namespace samscape {

struct SpectralDensityOptions {
  int probes = 10;         // R >= 1
  int lanczosSteps = 80;   // L >= 1 (capped at n: the Krylov space cannot be larger)
  std::uint64_t seed = 0;  // probes from std::mt19937_64's raw bits, one bit per entry, as hutchinsonTrace
  int gridPoints = 1000;   // >= 2
  // Width of the Gaussian around each node; 0: 1% of the nodes' range (1e-6 when the nodes all coincide).
  double sigma = 0.0;
  // The grid runs from the smallest node - gridMargin sigma to the largest + gridMargin sigma.
  double gridMargin = 5.0;
};

// The memory spectralDensity holds for `probes` probes of `lanczosSteps` steps on an n-dimensional
// operator, in bytes: the fully reorthogonalized basis (n x L), its tridiagonal matrix and
// eigendecomposition (L x L each), and every probe's nodes and weights.
double spectralDensityBytes(std::int64_t probes, std::int64_t lanczosSteps, std::int64_t n);

struct SpectralDensity {
  std::vector<double> grid;     // gridPoints equally spaced points, ascending
  std::vector<double> density;  // phi at each grid point
  // Every probe's quadrature nodes and weights, probe after probe; the weights already carry the 1/R,
  // so they sum to 1 over all probes. sum_i weight_i node_i = (1/R) sum_r z_r^T A z_r / n (Hutchinson).
  std::vector<double> nodes;
  std::vector<double> weights;
  std::vector<int> stepsPerProbe;  // Lanczos steps actually taken (fewer than L at an invariant subspace)
  double sigma = 0.0;              // the width used
  int probes = 0;
  std::int64_t hessianVectorProducts = 0;  // operator applications
  bool cancelled = false;          // grid and density are empty then
};

// Called after each probe with (probes done, probes in all).
using SpectralDensityProgress = std::function<void(int done, int total)>;

// Lanczos with full reorthogonalization (classical Gram-Schmidt, twice) against every earlier basis
// vector, so the nodes do not show the ghost copies plain Lanczos produces in floating point. Memory:
// the L basis vectors plus one work vector, L + 1 vectors of size n (none dense in n^2).
// `cancel` (may be null) is checked before each probe. Throws Error for an empty operator or an option
// out of range; whatever op.apply throws passes through.
SpectralDensity spectralDensity(SymmetricOperator& op, const SpectralDensityOptions& options,
                                const SpectralDensityProgress& progress = {},
                                const std::atomic<bool>* cancel = nullptr);

}  // namespace samscape

#pragma once
// The trace of a symmetric operator known only through its action on vectors, by Hutchinson's
// estimator: tr(A) = E[z^T A z] for z with independent Rademacher (+1/-1) entries. Plain C++ types only.

#include <cstdint>
#include <utility>
#include <vector>

#include "analysis/HessianSpectrum.h"

namespace samscape {

struct TraceOptions {
  int probes = 100;         // at least 2 (a standard error needs two)
  std::uint64_t seed = 0;   // the probes are a function of the seed alone (std::mt19937_64's bits)
  // Index ranges [begin, end) of diagonal blocks whose traces to estimate from the same probes:
  // E[z_B^T (A z)_B] = tr(A_BB), so every block's trace comes at no extra product.
  std::vector<std::pair<std::int64_t, std::int64_t>> blocks;
};

struct TraceResult {
  double mean = 0.0;           // the estimate: the mean of z^T A z over the probes
  double standardError = 0.0;  // sample standard deviation of z^T A z / sqrt(probes)
  int probes = 0;
  std::int64_t hessianVectorProducts = 0;  // operator applications (one per probe)
  std::vector<double> blockMeans;  // per TraceOptions::blocks entry
  std::vector<double> blockStandardErrors;
};

// Throws Error for probes < 2, an empty operator or a block outside it.
TraceResult hutchinsonTrace(SymmetricOperator& op, const TraceOptions& options);

}  // namespace samscape

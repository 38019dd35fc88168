#pragma once
// The trace of a symmetric operator known only through its action on vectors, by Hutchinson's
// estimator: tr(A) = E[z^T A z] for z with independent Rademacher (+1/-1) entries. Plain C++ types only.

#include <cstdint>

#include "analysis/HessianSpectrum.h"

namespace samscape {

struct TraceOptions {
  int probes = 100;         // at least 2 (a standard error needs two)
  std::uint64_t seed = 0;   // the probes are a function of the seed alone (std::mt19937_64's bits)
};

struct TraceResult {
  double mean = 0.0;           // the estimate: the mean of z^T A z over the probes
  double standardError = 0.0;  // sample standard deviation of z^T A z / sqrt(probes)
  int probes = 0;
  std::int64_t hessianVectorProducts = 0;  // operator applications (one per probe)
};

// Throws Error for probes < 2 or an empty operator.
TraceResult hutchinsonTrace(SymmetricOperator& op, const TraceOptions& options);

}  // namespace samscape

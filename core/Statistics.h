#pragma once
// Summaries of repeated measurements (a study's seeds): mean, sample standard deviation and the
// two-sided 95% confidence interval of the mean from Student's t distribution, as papers report
// error bars over a handful of seeds. Plain C++ (library samscape_files).

#include <cstddef>
#include <vector>

namespace samscape {

struct SampleSummary {
  std::size_t count = 0;  // the finite values summarized (NaN and infinities are left out)
  double mean = 0.0;      // NaN when count is 0
  double stddev = 0.0;    // sample standard deviation (n - 1); NaN when count < 2
  double ci95Low = 0.0;   // mean -/+ t(0.975, n-1) * stddev / sqrt(n); NaN when count < 2
  double ci95High = 0.0;

  bool hasInterval() const { return count >= 2; }
};

SampleSummary summarize(const std::vector<double>& values);

// The 0.975 quantile of Student's t distribution with `degreesOfFreedom` >= 1 (the 95% two-sided
// critical value): exact tabulated values up to 30 degrees of freedom, then the Cornish-Fisher
// expansion around the normal quantile (error below 1e-4 there).
double studentT975(std::size_t degreesOfFreedom);

// Whether two intervals [aLow, aHigh] and [bLow, bHigh] share no point.
bool intervalsSeparated(const SampleSummary& a, const SampleSummary& b);

}  // namespace samscape

#pragma once
// Summaries of repeated measurements (a study's seeds): mean, sample standard deviation and the
// two-sided 95% confidence interval of the mean from Student's t distribution, as papers report
// error bars over a handful of seeds. Plain C++ (library samscape_files).

#include <cstddef>
#include <cstdint>
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

// Kendall's rank correlation tau-b (Kendall 1945, "The treatment of ties in ranking problems"):
//   tau_b = (n_c - n_d) / sqrt((n_0 - n_x) (n_0 - n_y))
// over the n_0 = n (n - 1) / 2 pairs of points, n_c concordant and n_d discordant, n_x tied in x and n_y
// tied in y (a pair tied in either counts in neither n_c nor n_d). It is what scipy.stats.kendalltau
// computes by default, and the rank correlation Jiang et al. (2020, "Fantastic generalization measures")
// and Andriushchenko et al. (2023, "A modern look at the relationship between sharpness and
// generalization") report between a sharpness measure and generalization. Pairs (x_i, y_i) where either
// is not finite are left out. NaN when fewer than two pairs remain or every x (or every y) is tied.
// O(n^2): a study has tens of runs.
double kendallTauB(const std::vector<double>& x, const std::vector<double>& y);

struct RankCorrelation {
  std::size_t count = 0;  // the pairs with both values finite
  double tau = 0.0;       // kendallTauB of those pairs
  // The bootstrap percentile interval (Efron & Tibshirani 1993, ch. 13): `resamples` times, draw `count`
  // pairs with replacement, compute tau-b; the 2.5% and 97.5% quantiles (linear interpolation between
  // order statistics, numpy's default) of the resamples whose tau-b is defined (a resample of few pairs
  // may tie every x). NaN when none is.
  double ci95Low = 0.0;
  double ci95High = 0.0;
  std::size_t resamples = 0;
  std::size_t definedResamples = 0;
  std::uint64_t seed = 0;
};

// tau-b of the pairs and its bootstrap interval. The draws come from std::mt19937_64 seeded with
// `seed` (its output is fixed by the C++ standard) mapped to an index by rejection (no modulo bias, and
// unlike std::uniform_int_distribution the same on every standard library): the same seed gives the
// same interval everywhere.
RankCorrelation kendallTauWithBootstrap(const std::vector<double>& x, const std::vector<double>& y,
                                        std::size_t resamples, std::uint64_t seed);

}  // namespace samscape

#include "core/Statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace samscape {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// t(0.975, df) for df = 1..30, as printed in the standard tables (e.g. NIST/SEMATECH e-Handbook,
// table 1.3.6.7.2), to six significant digits.
constexpr double kT975[] = {12.7062, 4.30265, 3.18245, 2.77645, 2.57058, 2.44691, 2.36462, 2.30600,
                            2.26216, 2.22814, 2.20099, 2.17881, 2.16037, 2.14479, 2.13145, 2.11991,
                            2.10982, 2.10092, 2.09302, 2.08596, 2.07961, 2.07387, 2.06866, 2.06390,
                            2.05954, 2.05553, 2.05183, 2.04841, 2.04523, 2.04227};

}  // namespace

double studentT975(std::size_t degreesOfFreedom) {
  if (degreesOfFreedom == 0) return kNaN;
  if (degreesOfFreedom <= std::size(kT975)) return kT975[degreesOfFreedom - 1];
  // Cornish-Fisher expansion of the t quantile in powers of 1/df around the normal quantile z.
  const double z = 1.959963984540054;
  const double v = static_cast<double>(degreesOfFreedom);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

SampleSummary summarize(const std::vector<double>& values) {
  SampleSummary summary;
  double sum = 0.0;
  for (double value : values) {
    if (!std::isfinite(value)) continue;
    sum += value;
    ++summary.count;
  }
  summary.mean = summary.count > 0 ? sum / static_cast<double>(summary.count) : kNaN;
  if (summary.count < 2) {
    summary.stddev = summary.ci95Low = summary.ci95High = kNaN;
    return summary;
  }
  double squares = 0.0;
  for (double value : values) {
    if (std::isfinite(value)) squares += (value - summary.mean) * (value - summary.mean);
  }
  const double n = static_cast<double>(summary.count);
  summary.stddev = std::sqrt(squares / (n - 1.0));
  const double halfWidth = studentT975(summary.count - 1) * summary.stddev / std::sqrt(n);
  summary.ci95Low = summary.mean - halfWidth;
  summary.ci95High = summary.mean + halfWidth;
  return summary;
}

bool intervalsSeparated(const SampleSummary& a, const SampleSummary& b) {
  if (!a.hasInterval() || !b.hasInterval()) return false;
  return a.ci95High < b.ci95Low || b.ci95High < a.ci95Low;
}

namespace {

int sign(double value) { return (value > 0.0) - (value < 0.0); }

// tau-b of the pairs (xs[i], ys[i]) for i in `index` (repeats allowed: a bootstrap resample).
double tauBOf(const std::vector<double>& xs, const std::vector<double>& ys,
              const std::vector<std::size_t>& index) {
  // S = n_c - n_d; the pairs untied in x are n_0 - n_x, those untied in y n_0 - n_y.
  double s = 0.0, untiedX = 0.0, untiedY = 0.0;
  for (std::size_t a = 0; a < index.size(); ++a) {
    for (std::size_t b = a + 1; b < index.size(); ++b) {
      const int dx = sign(xs[index[a]] - xs[index[b]]);
      const int dy = sign(ys[index[a]] - ys[index[b]]);
      s += dx * dy;
      untiedX += dx != 0;
      untiedY += dy != 0;
    }
  }
  if (untiedX == 0.0 || untiedY == 0.0) return kNaN;
  return s / std::sqrt(untiedX * untiedY);
}

// The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default).
double quantileOfSorted(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const std::size_t below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

// A uniform index in [0, n) from the generator: rejection of the top remainder, so every index is
// equally likely and the draw depends on the standard-fixed generator output alone.
std::size_t uniformIndex(std::mt19937_64& generator, std::size_t n) {
  const std::uint64_t range = n;
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % range;
  std::uint64_t draw = generator();
  while (draw >= limit) draw = generator();
  return static_cast<std::size_t>(draw % range);
}

void finitePairs(const std::vector<double>& x, const std::vector<double>& y, std::vector<double>& xs,
                 std::vector<double>& ys) {
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    xs.push_back(x[i]);
    ys.push_back(y[i]);
  }
}

}  // namespace

double kendallTauB(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> xs, ys;
  finitePairs(x, y, xs, ys);
  std::vector<std::size_t> index(xs.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  return tauBOf(xs, ys, index);
}

RankCorrelation kendallTauWithBootstrap(const std::vector<double>& x, const std::vector<double>& y,
                                        std::size_t resamples, std::uint64_t seed) {
  RankCorrelation result;
  std::vector<double> xs, ys;
  finitePairs(x, y, xs, ys);
  result.count = xs.size();
  result.resamples = resamples;
  result.seed = seed;
  std::vector<std::size_t> index(xs.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  result.tau = tauBOf(xs, ys, index);
  result.ci95Low = result.ci95High = kNaN;
  if (xs.empty()) return result;
  std::mt19937_64 generator(seed);
  std::vector<double> taus;
  taus.reserve(resamples);
  for (std::size_t r = 0; r < resamples; ++r) {
    for (std::size_t& i : index) i = uniformIndex(generator, xs.size());
    const double tau = tauBOf(xs, ys, index);
    if (std::isfinite(tau)) taus.push_back(tau);
  }
  result.definedResamples = taus.size();
  if (taus.empty()) return result;
  std::sort(taus.begin(), taus.end());
  result.ci95Low = quantileOfSorted(taus, 0.025);
  result.ci95High = quantileOfSorted(taus, 0.975);
  return result;
}

}  // namespace samscape

#include "core/Statistics.h"

#include <cmath>
#include <limits>

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

}  // namespace samscape

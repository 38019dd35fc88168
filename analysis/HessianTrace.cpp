#include "analysis/HessianTrace.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/Error.h"

namespace samscape {

TraceResult hutchinsonTrace(SymmetricOperator& op, const TraceOptions& options) {
  const std::int64_t n = op.size();
  if (n < 1) throw Error("cannot estimate the trace of an empty operator");
  if (options.probes < 2) {
    throw Error("Hutchinson's trace estimate needs at least 2 probes (for a standard error), not " +
                std::to_string(options.probes));
  }
  // Signs straight from the engine's bits (one bit per entry), not from a std:: distribution, whose
  // output differs between standard libraries: the same seed gives the same probes everywhere.
  std::mt19937_64 engine(options.seed);
  const auto size = static_cast<std::size_t>(n);
  std::vector<double> probe(size);
  std::vector<double> image(size);
  // Welford's running mean and sum of squared deviations: stable for many probes.
  double mean = 0.0;
  double squaredDeviations = 0.0;
  for (int p = 0; p < options.probes; ++p) {
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < size; ++i) {
      if (i % 64 == 0) bits = engine();
      probe[i] = (bits & 1U) != 0 ? 1.0 : -1.0;
      bits >>= 1U;
    }
    op.apply(probe.data(), image.data());
    double quadratic = 0.0;
    for (std::size_t i = 0; i < size; ++i) quadratic += probe[i] * image[i];
    const double delta = quadratic - mean;
    mean += delta / static_cast<double>(p + 1);
    squaredDeviations += delta * (quadratic - mean);
  }
  TraceResult result;
  result.probes = options.probes;
  result.hessianVectorProducts = options.probes;
  result.mean = mean;
  const double variance = squaredDeviations / static_cast<double>(options.probes - 1);
  result.standardError = std::sqrt(variance / static_cast<double>(options.probes));
  return result;
}

}  // namespace samscape

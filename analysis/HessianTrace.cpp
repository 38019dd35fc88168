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
  for (const auto& [begin, end] : options.blocks) {
    if (begin < 0 || end > n || begin >= end) {
      throw Error("the trace block [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") is not a nonempty range of the operator's " + std::to_string(n) + " dimensions");
    }
  }
  // Signs straight from the engine's bits (one bit per entry), not from a std:: distribution, whose
  // output differs between standard libraries: the same seed gives the same probes everywhere.
  std::mt19937_64 engine(options.seed);
  const auto size = static_cast<std::size_t>(n);
  std::vector<double> probe(size);
  std::vector<double> image(size);
  // Welford's running mean and sum of squared deviations: stable for many probes.
  struct Running {
    double mean = 0.0;
    double squaredDeviations = 0.0;
    void add(double value, int count) {
      const double delta = value - mean;
      mean += delta / static_cast<double>(count);
      squaredDeviations += delta * (value - mean);
    }
  };
  Running whole;
  std::vector<Running> blocks(options.blocks.size());
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
    whole.add(quadratic, p + 1);
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      double blockQuadratic = 0.0;
      for (auto i = options.blocks[b].first; i < options.blocks[b].second; ++i) {
        blockQuadratic += probe[static_cast<std::size_t>(i)] * image[static_cast<std::size_t>(i)];
      }
      blocks[b].add(blockQuadratic, p + 1);
    }
  }
  TraceResult result;
  result.probes = options.probes;
  result.hessianVectorProducts = options.probes;
  const auto standardError = [&](const Running& running) {
    const double variance = running.squaredDeviations / static_cast<double>(options.probes - 1);
    return std::sqrt(variance / static_cast<double>(options.probes));
  };
  result.mean = whole.mean;
  result.standardError = standardError(whole);
  for (const auto& block : blocks) {
    result.blockMeans.push_back(block.mean);
    result.blockStandardErrors.push_back(standardError(block));
  }
  return result;
}

}  // namespace samscape

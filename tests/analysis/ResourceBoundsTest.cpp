// The memory each size option's cost claims (analysis/AnalysisOptions.cpp, from lanczosBytes,
// spectralDensityBytes, kSliceBytesPerPoint, kInterpolationBytesPerPoint) against what the code really
// holds: the C heap's bytes in use sampled inside every operator product (Lanczos and the density
// allocate before their products and keep it to the end), and the text the slice and interpolation
// writers really produce per point. A bound must hold (the estimate is at least what was used) and be
// honest (not more than a few times it), or a refusal would be wrong one way or the other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "analysis/AnalysisFiles.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/Lobpcg.h"
#include "analysis/LossSurface.h"
#include "analysis/SpectralDensity.h"
#include "core/train/ResourceProbe.h"

namespace samscape {
namespace {

// diag(1, 1/2, ..., 1/n), applied without a matrix (its top eigenvalues well apart, so Lanczos converges
// in a few restarts); records the heap's largest size seen in a product.
class SamplingDiagonal : public SymmetricOperator {
 public:
  explicit SamplingDiagonal(std::int64_t n) : n_(n) {}
  std::int64_t size() const override { return n_; }
  void apply(const double* in, double* out) override {
    for (std::int64_t i = 0; i < n_; ++i) out[i] = in[i] / static_cast<double>(i + 1);
    peak = std::max(peak, heapBytesInUse());
  }
  double peak = 0.0;

 private:
  std::int64_t n_;
};

TEST(ResourceBounds, LanczosHoldsNoMoreThanItsEstimateAndNotFarLess) {
  constexpr std::int64_t n = 100000;
  for (const int k : {1, 5, 12}) {
    SamplingDiagonal op(n);
    const double baseline = heapBytesInUse();
    SpectrumOptions options;
    options.topK = k;
    options.tolerance = 1e-3;
    options.eigenvectors = true;
    topEigenvalues(op, options);
    const double used = op.peak - baseline;
    const double estimate = lanczosBytes(k, n, /*eigenvectors=*/true);
    EXPECT_LE(used, estimate) << "k " << k << ": " << used << " bytes used, " << estimate << " estimated";
    EXPECT_GE(used, estimate / 4.0) << "k " << k << ": " << used << " bytes used, " << estimate << " estimated";
  }
}

// LOBPCG (the warm start) holds most between its products (the Rayleigh-Ritz basis is made after W's
// products), so the products see its blocks, not that peak: this bounds what they see from above and the
// estimate from below.
TEST(ResourceBounds, LobpcgHoldsNoMoreThanItsEstimateAndNotFarLess) {
  constexpr std::int64_t n = 40000;  // (smaller than Lanczos': the Debug build's block products are slow)
  for (const int k : {1, 5}) {
    SamplingDiagonal op(n);
    const double baseline = heapBytesInUse();
    SpectrumOptions options;
    options.topK = k;
    options.tolerance = 1e-3;
    options.eigenvectors = true;
    lobpcgEigenvalues(op, options, {});
    const double used = op.peak - baseline;
    const double estimate = lobpcgBytes(k, n);
    EXPECT_LE(used, estimate) << "k " << k << ": " << used << " bytes used, " << estimate << " estimated";
    EXPECT_GE(used, estimate / 4.0) << "k " << k << ": " << used << " bytes used, " << estimate << " estimated";
  }
}

TEST(ResourceBounds, TheSpectralDensityHoldsNoMoreThanItsEstimateAndNotFarLess) {
  constexpr std::int64_t n = 50000;
  for (const int steps : {10, 40}) {
    SamplingDiagonal op(n);
    const double baseline = heapBytesInUse();
    SpectralDensityOptions options;
    options.probes = 2;
    options.lanczosSteps = steps;
    spectralDensity(op, options);
    const double used = op.peak - baseline;
    const double estimate = spectralDensityBytes(options.probes, steps, n);
    EXPECT_LE(used, estimate) << steps << " steps: " << used << " bytes used, " << estimate << " estimated";
    EXPECT_GE(used, estimate / 4.0) << steps << " steps: " << used << " bytes used, " << estimate << " estimated";
  }
}

std::vector<double> evenly(double low, double high, int count) {
  std::vector<double> values;
  for (int i = 0; i < count; ++i) values.push_back(low + (high - low) * i / (count - 1));
  return values;
}

// A grid of realistic values (losses with all their digits, accuracies of a 1,000-example set).
SliceGrid filledGrid(int size) {
  SliceGrid grid;
  grid.xs = evenly(-1.0, 1.0, size);
  grid.ys = grid.xs;
  std::mt19937_64 engine(3);
  std::uniform_real_distribution<double> loss(0.01, 12.0);
  for (int i = 0; i < size * size; ++i) {
    grid.loss.push_back(loss(engine));
    grid.accuracy.push_back(static_cast<double>(engine() % 1001) / 1000.0);
  }
  grid.pointsTotal = grid.pointsDone = static_cast<std::int64_t>(size) * size;
  return grid;
}

TEST(ResourceBounds, ASlicePointsBytesAreWithinItsAllowance) {
  const SliceGrid grid = filledGrid(300);
  const auto points = static_cast<double>(grid.loss.size());
  const double csv = static_cast<double>(sliceCsv(grid).size()) / points;
  const double vts = static_cast<double>(sliceVts(grid).size()) / points;
  // Loss and accuracy (16), the refinement's bookkeeping (a done flag, the level lists' (x, y) pairs, a
  // level's values: 25), and the larger of the two texts in a string that may have doubled its capacity.
  const double needed = 16.0 + 25.0 + 2.0 * std::max(csv, vts);
  EXPECT_LE(needed, kSliceBytesPerPoint) << "csv " << csv << ", vts " << vts << " characters a point";
  EXPECT_GE(needed, kSliceBytesPerPoint / 3.0) << "csv " << csv << ", vts " << vts << " characters a point";
}

TEST(ResourceBounds, AnInterpolationPointsBytesAreWithinItsAllowance) {
  InterpolationResult result;
  result.ts = evenly(-0.5, 1.5, 20000);
  std::mt19937_64 engine(4);
  std::uniform_real_distribution<double> loss(0.01, 12.0);
  for (std::size_t i = 0; i < result.ts.size(); ++i) {
    result.loss.push_back(loss(engine));
    result.accuracy.push_back(static_cast<double>(engine() % 1001) / 1000.0);
  }
  result.pointsDone = static_cast<std::int64_t>(result.ts.size());
  const double csv = static_cast<double>(interpolationCsv(result).size()) / static_cast<double>(result.ts.size());
  const double needed = 24.0 + 2.0 * csv;  // t, loss and accuracy; the text as it grows
  EXPECT_LE(needed, kInterpolationBytesPerPoint) << csv << " characters a point";
  EXPECT_GE(needed, kInterpolationBytesPerPoint / 3.0) << csv << " characters a point";
}

}  // namespace
}  // namespace samscape

#include "viz/GridFill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace samscape::viz {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

SliceGrid grid(int n, double lo, double hi, double (*f)(double, double)) {
  SliceGrid g;
  for (int i = 0; i < n; ++i) {
    g.xs.push_back(lo + (hi - lo) * i / (n - 1));
    g.ys.push_back(lo + (hi - lo) * i / (n - 1));
  }
  for (int iy = 0; iy < n; ++iy)
    for (int ix = 0; ix < n; ++ix)
      g.loss.push_back(f(g.xs[static_cast<std::size_t>(ix)], g.ys[static_cast<std::size_t>(iy)]));
  g.accuracy.assign(g.loss.size(), 0.5);
  g.pointsTotal = g.pointsDone = static_cast<std::int64_t>(g.loss.size());
  return g;
}

// Keeps only the points on every stride-th row and column and the last, as a coarse level does.
void keepLevel(SliceGrid& g, std::size_t stride) {
  const std::size_t n = g.xs.size();
  const auto onLevel = [&](std::size_t i) { return i % stride == 0 || i == n - 1; };
  g.pointsDone = 0;
  for (std::size_t iy = 0; iy < n; ++iy) {
    for (std::size_t ix = 0; ix < n; ++ix) {
      if (onLevel(ix) && onLevel(iy)) {
        ++g.pointsDone;
      } else {
        g.loss[g.index(ix, iy)] = kNaN;
        g.accuracy[g.index(ix, iy)] = kNaN;
      }
    }
  }
}

TEST(GridFill, CompleteGridIsUnchanged) {
  const SliceGrid g = grid(5, -1, 1, [](double x, double y) { return x * x + 2 * y * y; });
  const FilledGrid filled = fillUnevaluated(g);
  EXPECT_EQ(filled.loss, g.loss);
  EXPECT_EQ(filled.evaluatedCount, 25u);
}

TEST(GridFill, CoarseLevelIsFilledBilinearlyExactForBilinearFunctions) {
  // f = 1 + x + 2y + 3xy is bilinear: interpolating its coarse lattice reproduces it exactly, also in
  // the last, narrower cell (11 points, stride 4: columns 0, 4, 8, 10).
  const auto f = [](double x, double y) { return 1 + x + 2 * y + 3 * x * y; };
  SliceGrid g = grid(11, -1, 1, f);
  keepLevel(g, 4);
  const FilledGrid filled = fillUnevaluated(g);
  ASSERT_EQ(filled.loss.size(), 121u);
  EXPECT_EQ(filled.evaluatedCount, 16u);
  for (std::size_t iy = 0; iy < 11; ++iy)
    for (std::size_t ix = 0; ix < 11; ++ix)
      EXPECT_NEAR(filled.loss[g.index(ix, iy)], f(g.xs[ix], g.ys[iy]), 1e-12) << ix << "," << iy;
  EXPECT_EQ(filled.evaluated[g.index(4, 8)], 1);
  EXPECT_EQ(filled.evaluated[g.index(5, 8)], 0);
}

TEST(GridFill, HandComputedBilinearValueOnAQuadratic) {
  // x^2 on columns x = -1, 0, 1 (stride 2 of 5): at x = -0.5 the fill is halfway between 1 and 0.
  SliceGrid g = grid(5, -1, 1, [](double x, double) { return x * x; });
  keepLevel(g, 2);
  const FilledGrid filled = fillUnevaluated(g);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(1, 0)], 0.5);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(1, 1)], 0.5);  // between rows of equal values
  EXPECT_DOUBLE_EQ(filled.loss[g.index(2, 1)], 0.0);
}

TEST(GridFill, IrregularHolesTakeTheNearestEvaluatedValue) {
  SliceGrid g = grid(4, 0, 3, [](double x, double y) { return 10 * y + x; });
  // Only two points evaluated, not forming a lattice: (0,0) = 0 and (3,3) = 33.
  for (std::size_t i = 0; i < g.loss.size(); ++i) g.loss[i] = kNaN;
  g.loss[g.index(0, 0)] = 0.0;
  g.loss[g.index(3, 3)] = 33.0;
  const FilledGrid filled = fillUnevaluated(g);
  EXPECT_EQ(filled.evaluatedCount, 2u);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(1, 0)], 0.0);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(0, 1)], 0.0);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(3, 2)], 33.0);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(2, 3)], 33.0);
  for (double v : filled.loss) EXPECT_TRUE(std::isfinite(v));
}

TEST(GridFill, NothingEvaluatedGivesNoSurface) {
  SliceGrid g = grid(3, 0, 1, [](double, double) { return kNaN; });
  EXPECT_TRUE(fillUnevaluated(g).loss.empty());
  SliceGrid inconsistent = grid(3, 0, 1, [](double x, double) { return x; });
  inconsistent.loss.pop_back();
  EXPECT_TRUE(fillUnevaluated(inconsistent).loss.empty());
}

TEST(GridFill, InfiniteLossIsFilledLikeAHole) {
  SliceGrid g = grid(3, 0, 2, [](double x, double) { return x; });
  g.loss[g.index(1, 1)] = std::numeric_limits<double>::infinity();
  const FilledGrid filled = fillUnevaluated(g);
  EXPECT_EQ(filled.evaluated[g.index(1, 1)], 0);
  EXPECT_DOUBLE_EQ(filled.loss[g.index(1, 1)], 1.0);  // between x = 0 and x = 2 on its row
}

TEST(GridFill, BilinearInterpolationAndClampingAtTheEdges) {
  const std::vector<double> xs{0, 1, 3};
  const std::vector<double> ys{0, 2};
  // values = x + 10 y
  const std::vector<double> values{0, 1, 3, 20, 21, 23};
  EXPECT_DOUBLE_EQ(interpolateBilinear(xs, ys, values, 2.0, 1.0), 12.0);
  EXPECT_DOUBLE_EQ(interpolateBilinear(xs, ys, values, 0.5, 0.5), 5.5);
  EXPECT_DOUBLE_EQ(interpolateBilinear(xs, ys, values, -5.0, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(interpolateBilinear(xs, ys, values, 9.0, 9.0), 23.0);
  EXPECT_TRUE(std::isnan(interpolateBilinear({}, {}, {}, 0, 0)));
}

}  // namespace
}  // namespace samscape::viz

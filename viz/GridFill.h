#pragma once
// How a loss slice that is still being refined is drawn. The analysis evaluates the grid coarse to fine
// (strides 8, 4, 2, 1 for 51 x 51) and reports it after every level with NaN at the points not yet
// evaluated; a surface needs a value everywhere. Plain C++ (no Qt, no VTK), so it is tested on its own.

#include <cstddef>
#include <vector>

#include "analysis/LossSurface.h"

namespace samscape::viz {

struct FilledGrid {
  std::vector<double> loss;     // the grid's values, holes filled; empty when nothing was evaluated
  std::vector<char> evaluated;  // 1 where the loss is a real, finite evaluation, 0 where it was filled
  std::size_t evaluatedCount = 0;
};

// Fills every point whose loss is not finite (NaN: not evaluated yet; also an infinite loss, which
// cannot be drawn):
// - by bilinear interpolation, in the grid's coordinates, between the four nearest evaluated points
//   around it on the evaluated rows and columns, when all four are evaluated. After each coarse-to-fine
//   level the evaluated points form exactly such a lattice (every stride-th row and column plus the
//   last), so a refining surface is the bilinear surface of the coarser level, and converges to the
//   full grid as the levels arrive;
// - otherwise (a partial level, a single infinite loss) linearly between the nearest evaluated points
//   on its row, or failing that on its column;
// - otherwise (an irregular set) with the value of the nearest evaluated point (8-connected grid
//   distance, found by a breadth-first search from all evaluated points at once).
// A grid whose loss has the wrong size, or with no finite loss at all, gives an empty result.
FilledGrid fillUnevaluated(const SliceGrid& grid);

// Bilinear interpolation of `values` (index iy * xs.size() + ix) at (x, y); points outside the grid
// take the value at the nearest edge. xs and ys ascending. NaN for an empty grid.
double interpolateBilinear(const std::vector<double>& xs, const std::vector<double>& ys,
                           const std::vector<double>& values, double x, double y);

}  // namespace samscape::viz

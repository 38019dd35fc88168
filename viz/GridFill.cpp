#include "viz/GridFill.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace samscape::viz {

namespace {

// The indices of `sorted` bracketing `value`: the last entry <= value and the first >= value.
bool bracket(const std::vector<std::size_t>& sorted, std::size_t value, std::size_t& low, std::size_t& high) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), value);
  if (it != sorted.end() && *it == value) {
    low = high = value;
    return true;
  }
  if (it == sorted.begin() || it == sorted.end()) return false;
  high = *it;
  low = *(it - 1);
  return true;
}

// Position of `value` in [a, b] as a fraction; 0 when a == b.
double fraction(double a, double b, double value) { return b == a ? 0.0 : (value - a) / (b - a); }

// Index of the last coordinate <= value, clamped so that [i, i + 1] is a valid cell.
std::size_t cellIndex(const std::vector<double>& coordinates, double value) {
  if (coordinates.size() < 2) return 0;
  const auto it = std::upper_bound(coordinates.begin(), coordinates.end(), value);
  const auto index = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, (it - coordinates.begin()) - 1));
  return std::min(index, coordinates.size() - 2);
}

}  // namespace

FilledGrid fillUnevaluated(const SliceGrid& grid) {
  FilledGrid result;
  const std::size_t nx = grid.xs.size();
  const std::size_t ny = grid.ys.size();
  if (nx == 0 || ny == 0 || grid.loss.size() != nx * ny) return result;

  result.loss = grid.loss;
  result.evaluated.assign(nx * ny, 0);
  std::vector<std::size_t> columns;
  std::vector<std::size_t> rows;
  std::vector<char> columnUsed(nx, 0);
  std::vector<char> rowUsed(ny, 0);
  for (std::size_t iy = 0; iy < ny; ++iy) {
    for (std::size_t ix = 0; ix < nx; ++ix) {
      if (!std::isfinite(grid.loss[grid.index(ix, iy)])) continue;
      result.evaluated[grid.index(ix, iy)] = 1;
      ++result.evaluatedCount;
      columnUsed[ix] = 1;
      rowUsed[iy] = 1;
    }
  }
  if (result.evaluatedCount == 0) return FilledGrid{};
  if (result.evaluatedCount == nx * ny) return result;
  for (std::size_t ix = 0; ix < nx; ++ix)
    if (columnUsed[ix]) columns.push_back(ix);
  for (std::size_t iy = 0; iy < ny; ++iy)
    if (rowUsed[iy]) rows.push_back(iy);

  const auto isEvaluated = [&](std::size_t ix, std::size_t iy) {
    return result.evaluated[grid.index(ix, iy)] != 0;
  };
  std::vector<char> filled(result.evaluated);
  for (std::size_t iy = 0; iy < ny; ++iy) {
    for (std::size_t ix = 0; ix < nx; ++ix) {
      if (isEvaluated(ix, iy)) continue;
      std::size_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;
      if (!bracket(columns, ix, x0, x1) || !bracket(rows, iy, y0, y1)) continue;
      if (!isEvaluated(x0, y0) || !isEvaluated(x1, y0) || !isEvaluated(x0, y1) || !isEvaluated(x1, y1))
        continue;
      const double tx = fraction(grid.xs[x0], grid.xs[x1], grid.xs[ix]);
      const double ty = fraction(grid.ys[y0], grid.ys[y1], grid.ys[iy]);
      const double bottom = (1 - tx) * grid.loss[grid.index(x0, y0)] + tx * grid.loss[grid.index(x1, y0)];
      const double top = (1 - tx) * grid.loss[grid.index(x0, y1)] + tx * grid.loss[grid.index(x1, y1)];
      result.loss[grid.index(ix, iy)] = (1 - ty) * bottom + ty * top;
      filled[grid.index(ix, iy)] = 1;
    }
  }

  // Then linearly between the nearest evaluated points on the same row, else on the same column.
  for (std::size_t iy = 0; iy < ny; ++iy) {
    for (std::size_t ix = 0; ix < nx; ++ix) {
      const std::size_t i = grid.index(ix, iy);
      if (filled[i]) continue;
      std::ptrdiff_t left = static_cast<std::ptrdiff_t>(ix) - 1, right = static_cast<std::ptrdiff_t>(ix) + 1;
      while (left >= 0 && !isEvaluated(static_cast<std::size_t>(left), iy)) --left;
      while (right < static_cast<std::ptrdiff_t>(nx) && !isEvaluated(static_cast<std::size_t>(right), iy))
        ++right;
      if (left >= 0 && right < static_cast<std::ptrdiff_t>(nx)) {
        const auto l = static_cast<std::size_t>(left), r = static_cast<std::size_t>(right);
        const double t = fraction(grid.xs[l], grid.xs[r], grid.xs[ix]);
        result.loss[i] = (1 - t) * grid.loss[grid.index(l, iy)] + t * grid.loss[grid.index(r, iy)];
        filled[i] = 1;
        continue;
      }
      std::ptrdiff_t below = static_cast<std::ptrdiff_t>(iy) - 1, above = static_cast<std::ptrdiff_t>(iy) + 1;
      while (below >= 0 && !isEvaluated(ix, static_cast<std::size_t>(below))) --below;
      while (above < static_cast<std::ptrdiff_t>(ny) && !isEvaluated(ix, static_cast<std::size_t>(above)))
        ++above;
      if (below >= 0 && above < static_cast<std::ptrdiff_t>(ny)) {
        const auto b = static_cast<std::size_t>(below), a = static_cast<std::size_t>(above);
        const double t = fraction(grid.ys[b], grid.ys[a], grid.ys[iy]);
        result.loss[i] = (1 - t) * grid.loss[grid.index(ix, b)] + t * grid.loss[grid.index(ix, a)];
        filled[i] = 1;
      }
    }
  }

  // What is left takes the nearest evaluated value (multi-source BFS).
  std::deque<std::size_t> queue;
  std::vector<char> reached(nx * ny, 0);
  for (std::size_t i = 0; i < nx * ny; ++i) {
    if (result.evaluated[i]) {
      queue.push_back(i);
      reached[i] = 1;
    }
  }
  while (!queue.empty()) {
    const std::size_t current = queue.front();
    queue.pop_front();
    const std::size_t cx = current % nx;
    const std::size_t cy = current / nx;
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const auto x = static_cast<std::ptrdiff_t>(cx) + dx;
        const auto y = static_cast<std::ptrdiff_t>(cy) + dy;
        if (x < 0 || y < 0 || x >= static_cast<std::ptrdiff_t>(nx) || y >= static_cast<std::ptrdiff_t>(ny))
          continue;
        const std::size_t next = static_cast<std::size_t>(y) * nx + static_cast<std::size_t>(x);
        if (reached[next]) continue;
        reached[next] = 1;
        if (!filled[next]) {
          result.loss[next] = result.loss[current];
          filled[next] = 1;
        }
        queue.push_back(next);
      }
    }
  }
  return result;
}

double interpolateBilinear(const std::vector<double>& xs, const std::vector<double>& ys,
                           const std::vector<double>& values, double x, double y) {
  const std::size_t nx = xs.size();
  const std::size_t ny = ys.size();
  if (nx == 0 || ny == 0 || values.size() != nx * ny) return std::numeric_limits<double>::quiet_NaN();
  x = std::clamp(x, xs.front(), xs.back());
  y = std::clamp(y, ys.front(), ys.back());
  const std::size_t ix = cellIndex(xs, x);
  const std::size_t iy = cellIndex(ys, y);
  const std::size_t ix1 = std::min(ix + 1, nx - 1);
  const std::size_t iy1 = std::min(iy + 1, ny - 1);
  const double tx = fraction(xs[ix], xs[ix1], x);
  const double ty = fraction(ys[iy], ys[iy1], y);
  const auto at = [&](std::size_t i, std::size_t j) { return values[j * nx + i]; };
  const double bottom = (1 - tx) * at(ix, iy) + tx * at(ix1, iy);
  const double top = (1 - tx) * at(ix, iy1) + tx * at(ix1, iy1);
  return (1 - ty) * bottom + ty * top;
}

}  // namespace samscape::viz

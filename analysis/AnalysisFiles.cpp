#include "analysis/AnalysisFiles.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/Error.h"
#include "core/AtomicFile.h"
#include "core/NumberCsv.h"

namespace samscape {

namespace {

// %.17g round-trips a double; snprintf's %g is unaffected by the global C++ locale's grouping, and
// the decimal point is '.' because the C locale is never changed in samscape.
std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

void checkGridShape(const SliceGrid& grid) {
  const std::size_t points = grid.xs.size() * grid.ys.size();
  if (grid.loss.size() != points || grid.accuracy.size() != points) {
    throw Error("the slice grid is inconsistent: " + std::to_string(grid.xs.size()) + " x " +
                std::to_string(grid.ys.size()) + " points but " + std::to_string(grid.loss.size()) + " losses and " +
                std::to_string(grid.accuracy.size()) + " accuracies");
  }
}

// Runs `make` and writes its text; any Error from either names the path.
template <typename Make>
void writeNamed(const std::string& path, Make make) {
  std::string content;
  try {
    content = make();
  } catch (const Error& error) {
    throw Error(path + ": " + error.what());
  }
  writeFileAtomically(path, content);
}

}  // namespace

std::string sliceCsv(const SliceGrid& grid) {
  checkGridShape(grid);
  std::string out = "x,y,loss,accuracy\n";
  for (std::size_t iy = 0; iy < grid.ys.size(); ++iy) {
    for (std::size_t ix = 0; ix < grid.xs.size(); ++ix) {
      const std::size_t index = grid.index(ix, iy);
      if (std::isnan(grid.loss[index]) && std::isnan(grid.accuracy[index])) continue;  // not evaluated
      out += number(grid.xs[ix]) + "," + number(grid.ys[iy]) + "," + number(grid.loss[index]) + "," +
             number(grid.accuracy[index]) + "\n";
    }
  }
  return out;
}

std::string sliceVts(const SliceGrid& grid) {
  checkGridShape(grid);
  if (grid.xs.empty() || grid.ys.empty()) throw Error("the slice grid is empty");
  for (std::size_t i = 0; i < grid.loss.size(); ++i) {
    if (std::isnan(grid.loss[i]) && std::isnan(grid.accuracy[i])) {
      throw Error("the slice is incomplete (" + std::to_string(grid.pointsDone) + " of " +
                  std::to_string(grid.pointsTotal) + " points); a VTK structured grid needs every point");
    }
  }
  const std::string extent =
      "0 " + std::to_string(grid.xs.size() - 1) + " 0 " + std::to_string(grid.ys.size() - 1) + " 0 0";
  std::string out;
  out += "<?xml version=\"1.0\"?>\n";
  out += "<VTKFile type=\"StructuredGrid\" version=\"0.1\" byte_order=\"LittleEndian\">\n";
  out += "  <StructuredGrid WholeExtent=\"" + extent + "\">\n";
  out += "    <Piece Extent=\"" + extent + "\">\n";
  out += "      <PointData Scalars=\"loss\">\n";
  const auto array = [&out, &grid](const char* name, const std::vector<double>& values) {
    out += std::string("        <DataArray type=\"Float64\" Name=\"") + name + "\" format=\"ascii\">\n";
    for (std::size_t iy = 0; iy < grid.ys.size(); ++iy) {
      out += "         ";
      // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on " " + std::string.
      for (std::size_t ix = 0; ix < grid.xs.size(); ++ix) {
        out += ' ';
        out += number(values[grid.index(ix, iy)]);
      }
      out += "\n";
    }
    out += "        </DataArray>\n";
  };
  array("loss", grid.loss);
  array("accuracy", grid.accuracy);
  out += "      </PointData>\n";
  out += "      <Points>\n";
  out += "        <DataArray type=\"Float64\" Name=\"Points\" NumberOfComponents=\"3\" format=\"ascii\">\n";
  for (std::size_t iy = 0; iy < grid.ys.size(); ++iy) {
    for (std::size_t ix = 0; ix < grid.xs.size(); ++ix) {
      out += "          " + number(grid.xs[ix]) + " " + number(grid.ys[iy]) + " " +
             number(grid.loss[grid.index(ix, iy)]) + "\n";
    }
  }
  out += "        </DataArray>\n";
  out += "      </Points>\n";
  out += "    </Piece>\n";
  out += "  </StructuredGrid>\n";
  out += "</VTKFile>\n";
  return out;
}

std::string interpolationCsv(const InterpolationResult& result) {
  if (result.loss.size() != result.ts.size() || result.accuracy.size() != result.ts.size()) {
    throw Error("the interpolation is inconsistent: " + std::to_string(result.ts.size()) + " values of t but " +
                std::to_string(result.loss.size()) + " losses and " + std::to_string(result.accuracy.size()) +
                " accuracies");
  }
  std::string out = "t,loss,accuracy\n";
  for (std::size_t i = 0; i < result.ts.size(); ++i) {
    if (std::isnan(result.loss[i]) && std::isnan(result.accuracy[i])) continue;  // not evaluated
    out += number(result.ts[i]) + "," + number(result.loss[i]) + "," + number(result.accuracy[i]) + "\n";
  }
  return out;
}

std::string trajectoryCsv(const std::vector<int>& epochs, const TrajectoryProjection& projection) {
  if (epochs.size() != projection.xs.size() || projection.ys.size() != projection.xs.size()) {
    throw Error("the trajectory has " + std::to_string(projection.xs.size()) + " checkpoints but " +
                std::to_string(epochs.size()) + " epoch labels");
  }
  std::string out = "epoch,x,y\n";
  for (std::size_t i = 0; i < epochs.size(); ++i) {
    out += std::to_string(epochs[i]) + "," + number(projection.xs[i]) + "," + number(projection.ys[i]) + "\n";
  }
  return out;
}

std::string layerCurvatureCsv(const std::vector<LayerCurvatureRow>& rows) {
  std::string out = "layer,parameters,lambda_max,trace,trace_stderr\n";
  for (const auto& row : rows) {
    std::string name = row.layer;
    if (name.find_first_of(",\"\n") != std::string::npos) {
      std::string quoted = "\"";
      for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      name = quoted + "\"";
    }
    out += name + "," + std::to_string(row.parameters) + "," + number(row.lambdaMax) + "," + number(row.trace) + "," +
           number(row.traceStandardError) + "\n";
  }
  return out;
}

std::string densityCsv(const DensityCurve& curve) {
  if (curve.density.size() != curve.eigenvalues.size()) {
    throw Error("the spectral density is inconsistent: " + std::to_string(curve.eigenvalues.size()) +
                " eigenvalues but " + std::to_string(curve.density.size()) + " densities");
  }
  std::string out = "eigenvalue,density\n";
  for (std::size_t i = 0; i < curve.eigenvalues.size(); ++i) {
    out += number(curve.eigenvalues[i]) + "," + number(curve.density[i]) + "\n";
  }
  return out;
}

void writeSliceCsv(const std::string& path, const SliceGrid& grid) {
  writeNamed(path, [&grid] { return sliceCsv(grid); });
}

void writeSliceVts(const std::string& path, const SliceGrid& grid) {
  writeNamed(path, [&grid] { return sliceVts(grid); });
}

void writeInterpolationCsv(const std::string& path, const InterpolationResult& result) {
  writeNamed(path, [&result] { return interpolationCsv(result); });
}

void writeTrajectoryCsv(const std::string& path, const std::vector<int>& epochs, const TrajectoryProjection& projection) {
  writeNamed(path, [&epochs, &projection] { return trajectoryCsv(epochs, projection); });
}

void writeDensityCsv(const std::string& path, const DensityCurve& curve) {
  writeNamed(path, [&curve] { return densityCsv(curve); });
}

void writeLayerCurvatureCsv(const std::string& path, const std::vector<LayerCurvatureRow>& rows) {
  writeNamed(path, [&rows] { return layerCurvatureCsv(rows); });
}

// ----- reading ----------------------------------------------------------------------------------------

namespace {

// The rows of a CSV file of numbers whose header is exactly `header` (core/NumberCsv.h reads them).
std::vector<std::vector<double>> readNumberRows(const std::string& path, const std::string& header) {
  NumberCsv csv = readNumberCsv(path);
  std::string found;
  for (const std::string& column : csv.columns) {
    if (!found.empty()) found += ',';  // piece by piece: GCC 12 -O3 warns falsely on "," + std::string
    found += column;
  }
  if (found != header) throw DataError(path, "line 1: expected the header " + header);
  return std::move(csv.rows);
}

}  // namespace

SliceGrid readSliceCsv(const std::string& path, int gridSize, double rangeMin, double rangeMax) {
  if (gridSize < 2 || gridSize > 100000 || !std::isfinite(rangeMin) || !std::isfinite(rangeMax) || !(rangeMin < rangeMax)) {
    throw DataError(path, "no slice grid of " + std::to_string(gridSize) + " points over [" + number(rangeMin) + ", " +
                              number(rangeMax) + "]");
  }
  SliceGrid grid;
  // The coordinates the slice evaluates (LossSurface.cpp): evenly spaced, both ends included.
  for (int i = 0; i < gridSize; ++i) {
    grid.xs.push_back(rangeMin + (rangeMax - rangeMin) * i / (gridSize - 1));
  }
  grid.ys = grid.xs;
  const auto points = static_cast<std::size_t>(gridSize) * static_cast<std::size_t>(gridSize);
  grid.loss.assign(points, std::nan(""));
  grid.accuracy.assign(points, std::nan(""));
  grid.pointsTotal = static_cast<std::int64_t>(points);
  const double step = (rangeMax - rangeMin) / (gridSize - 1);
  const auto onGrid = [&](double value, std::size_t& index) {
    const double position = (value - rangeMin) / step;
    if (!std::isfinite(position) || position < -0.5 || position > gridSize - 0.5) return false;
    index = static_cast<std::size_t>(std::lround(position));
    return std::fabs(grid.xs[index] - value) <= 1e-9 * std::max(1.0, std::fabs(value));
  };
  std::size_t lineNumber = 1;
  for (const auto& row : readNumberRows(path, "x,y,loss,accuracy")) {
    ++lineNumber;
    std::size_t ix = 0;
    std::size_t iy = 0;
    if (!onGrid(row[0], ix) || !onGrid(row[1], iy)) {
      throw DataError(path, "a row at (" + number(row[0]) + ", " + number(row[1]) + ") is not on the " +
                                std::to_string(gridSize) + " x " + std::to_string(gridSize) + " grid of analysis.json");
    }
    const std::size_t index = grid.index(ix, iy);
    if (!std::isnan(grid.loss[index])) {
      throw DataError(path, "the point (" + number(row[0]) + ", " + number(row[1]) + ") appears twice");
    }
    grid.loss[index] = row[2];
    grid.accuracy[index] = row[3];
    ++grid.pointsDone;
  }
  grid.level = grid.complete() ? 0 : -1;
  return grid;
}

InterpolationResult readInterpolationCsv(const std::string& path) {
  InterpolationResult result;
  for (const auto& row : readNumberRows(path, "t,loss,accuracy")) {
    result.ts.push_back(row[0]);
    result.loss.push_back(row[1]);
    result.accuracy.push_back(row[2]);
  }
  result.pointsDone = static_cast<std::int64_t>(result.ts.size());
  return result;
}

TrajectoryRows readTrajectoryCsv(const std::string& path) {
  TrajectoryRows rows;
  for (const auto& row : readNumberRows(path, "epoch,x,y")) {
    if (!(row[0] >= 0.0 && row[0] <= 1e9 && row[0] == std::floor(row[0]))) {
      throw DataError(path, "epoch " + number(row[0]) + " is not a whole number of epochs");
    }
    rows.epochs.push_back(static_cast<int>(row[0]));
    rows.xs.push_back(row[1]);
    rows.ys.push_back(row[2]);
  }
  return rows;
}

DensityCurve readDensityCsv(const std::string& path) {
  DensityCurve curve;
  for (const auto& row : readNumberRows(path, "eigenvalue,density")) {
    curve.eigenvalues.push_back(row[0]);
    curve.density.push_back(row[1]);
  }
  return curve;
}

}  // namespace samscape

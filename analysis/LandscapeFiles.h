#pragma once
// The loss-landscape files of `samscape-cli analyze --out DIR` (and of the GUI's export):
//   slice.csv          tidy: x,y,loss,accuracy, one row per evaluated grid point, y-major (x fastest)
//   slice.vts          VTK XML StructuredGrid (ASCII): points (x, y, loss), point data "loss" and
//                      "accuracy", WholeExtent 0 N-1 0 N-1 0 0; opens in ParaView
//   interpolation.csv  t,loss,accuracy
//   trajectory.csv     epoch,x,y
// Numbers are written with 17 significant digits (they read back as the same doubles), in the C
// locale. Each write* function replaces its file atomically and throws Error naming the path on
// failure. Plain C++.

#include <string>
#include <vector>

#include "analysis/LossSurface.h"
#include "analysis/Trajectory.h"

namespace samscape {

// Rows only for the points evaluated so far (a cancelled slice gives a partial, still tidy file).
std::string sliceCsv(const SliceGrid& grid);
// Throws Error for a grid that is not complete: ParaView needs every point.
std::string sliceVts(const SliceGrid& grid);
// Rows only for the evaluated points.
std::string interpolationCsv(const InterpolationResult& result);
// `epochs` labels the checkpoints, in the order given to projectTrajectory. Throws Error when the
// counts differ.
std::string trajectoryCsv(const std::vector<int>& epochs, const TrajectoryProjection& projection);

void writeSliceCsv(const std::string& path, const SliceGrid& grid);
void writeSliceVts(const std::string& path, const SliceGrid& grid);
void writeInterpolationCsv(const std::string& path, const InterpolationResult& result);
void writeTrajectoryCsv(const std::string& path, const std::vector<int>& epochs,
                        const TrajectoryProjection& projection);

}  // namespace samscape

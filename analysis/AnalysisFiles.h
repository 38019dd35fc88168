#pragma once
// The data files of an analysis directory (`samscape-cli analyze --out DIR`, DIR/analysis/epoch-NNN of
// a run) beside analysis.json, their writers and their readers (and the app's .vts export):
//   slice.csv                tidy: x,y,loss,accuracy, one row per evaluated grid point, y-major (x fastest)
//   slice.vts                VTK XML StructuredGrid (ASCII): points (x, y, loss), point data "loss" and
//                            "accuracy", WholeExtent 0 N-1 0 N-1 0 0; opens in ParaView
//   interpolation.csv        t,loss,accuracy
//   trajectory.csv           epoch,x,y (also trajectory_on_slice.csv)
//   esd.csv                  eigenvalue,density
//   per_layer.csv            layer,parameters,lambda_max,trace,trace_stderr (export only: the app reads
//                            analysis.json's per_layer)
// Numbers are written with 17 significant digits (they read back as the same doubles), in the C
// locale. Each write* function replaces its file atomically and throws Error naming the path on
// failure; each read* function throws DataError naming the file (and line) for anything the writers
// do not write. Plain C++ (library samscape_analysis_files, without LibTorch).

#include <cstdint>
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

// The spectral density's grid and values (analysis/SpectralDensity.h), as esd.csv holds them.
struct DensityCurve {
  std::vector<double> eigenvalues;
  std::vector<double> density;
};
std::string densityCsv(const DensityCurve& curve);

// One layer's curvature (analysis/LayerCurvature.h), as per_layer.csv and analysis.json hold it.
struct LayerCurvatureRow {
  std::string layer;
  std::int64_t parameters = 0;
  double lambdaMax = 0.0;  // NaN when its Lanczos did not converge
  double trace = 0.0;
  double traceStandardError = 0.0;
};
// Layer names are quoted when they hold a comma or a quote.
std::string layerCurvatureCsv(const std::vector<LayerCurvatureRow>& rows);

// A trajectory file's rows: each checkpoint's epoch and coordinates.
struct TrajectoryRows {
  std::vector<int> epochs;
  std::vector<double> xs;
  std::vector<double> ys;
};

void writeSliceCsv(const std::string& path, const SliceGrid& grid);
void writeSliceVts(const std::string& path, const SliceGrid& grid);
void writeInterpolationCsv(const std::string& path, const InterpolationResult& result);
void writeTrajectoryCsv(const std::string& path, const std::vector<int>& epochs,
                        const TrajectoryProjection& projection);
void writeDensityCsv(const std::string& path, const DensityCurve& curve);
void writeLayerCurvatureCsv(const std::string& path, const std::vector<LayerCurvatureRow>& rows);

// slice.csv on the grid that analysis.json describes (`gridSize` points per axis over [rangeMin,
// rangeMax]): the evaluated points, the others NaN (a slice still being refined, or cancelled). A row
// off that grid is an error.
SliceGrid readSliceCsv(const std::string& path, int gridSize, double rangeMin, double rangeMax);
InterpolationResult readInterpolationCsv(const std::string& path);
TrajectoryRows readTrajectoryCsv(const std::string& path);
DensityCurve readDensityCsv(const std::string& path);

}  // namespace samscape

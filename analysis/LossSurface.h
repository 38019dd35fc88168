#pragma once
// Loss landscapes (Li et al., "Visualizing the Loss Landscape of Neural Nets", NeurIPS 2018): a 2D
// slice of the loss along two filter-normalized random directions, evaluated coarse to fine, and a
// 1D interpolation between two models. Plain value types only: the functions that run a network are
// in analysis/LossSurfaceTorch.h, so the GUI can hold and draw these results without LibTorch.
//
// Every flat weight or direction vector here is in Network::parameters() order, one double per
// trainable parameter (the order of flattenParameters in core/models/ParameterVector.h).

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/DatasetLoader.h"
#include "core/data/EvaluationSettings.h"

namespace samscape {

// ----- directions -----------------------------------------------------------------------------------

struct DirectionOptions {
  // The two directions are drawn from one std::mt19937_64 seeded with this (standard normals by the
  // Box-Muller transform, so the same seed gives the same directions with every standard library):
  // every entry of the first direction, then every entry of the second.
  std::uint64_t seed = 0;
  // Li et al. zero the directions' entries of one-dimensional parameters (biases, batch-norm scales
  // and shifts), whose perturbation says little about the landscape. When kept, each such tensor's
  // slice of a direction is rescaled as a whole to that tensor's norm.
  bool keepOneDimensional = false;
};

struct SliceDirections {
  std::vector<double> first;   // the x axis of the slice
  std::vector<double> second;  // the y axis
  std::uint64_t seed = 0;      // as generated (informational; kept by save/load)
  bool keepOneDimensional = false;

  std::int64_t parameterCount() const { return static_cast<std::int64_t>(first.size()); }
};

// A small little-endian binary file: the 8 bytes "SSLSDIR1", u64 parameter count, u64 seed, u64 flags
// (bit 0: keepOneDimensional), then the first and the second direction as float64. Written atomically.
// Throws Error naming the path when it cannot be written, or when the two directions differ in length.
void saveDirections(const std::string& path, const SliceDirections& directions);
// Throws DataError naming the path for a missing, truncated or foreign file, and for directions of a
// different parameter count than `expectedParameterCount` (pass -1 to accept any).
SliceDirections loadDirections(const std::string& path, std::int64_t expectedParameterCount);

// ----- evaluation --------------------------------------------------------------------------------------

// How each point's loss and accuracy are computed: the mean cross-entropy and accuracy over the whole
// image set in evaluation mode, exactly as the trainer's test loss (core/train/Evaluation.h).
// How a landscape evaluates its points (a slice's points are split across a multi-process job's ranks,
// each level's results all-reduced, so every rank ends with the whole grid; other evaluations run on
// every rank).
using LandscapeEvaluationOptions = EvaluationSettings;

enum class LandscapeStatus { Finished, Cancelled };

// ----- 2D slice -----------------------------------------------------------------------------------------

// Memory a slice holds per grid point, in bytes: loss and accuracy (16), the refinement's bookkeeping
// (about 25), and the text of slice.csv and slice.vts as they are written (about 90 and 110 characters
// a point, in strings that may grow to twice that). Measured by tests/analysis/ResourceBoundsTest.cpp.
constexpr double kSliceBytesPerPoint = 320.0;
// The same for an interpolation's point: t, loss and accuracy, and interpolation.csv's text.
constexpr double kInterpolationBytesPerPoint = 256.0;

struct SliceOptions {
  int gridSize = 51;  // N: points per axis (at least 2)
  double rangeMin = -1.0;
  double rangeMax = 1.0;  // the grid spans [rangeMin, rangeMax]^2
  // Points between the first, coarse pass's grid lines (the level-0 stride); each later level halves
  // it, down to 1. 0: the largest power of two that leaves at least 5 points per axis in the first pass
  // (8 for the default 51 x 51 grid: levels of stride 8, 4, 2, 1). The last index is in every level.
  int coarseStride = 0;
  LandscapeEvaluationOptions evaluation;
};

// The grid as far as it has been evaluated: loss and accuracy at (xs[ix], ys[iy]) are at index
// iy * xs.size() + ix (x varies fastest, as in slice.vts), NaN where not yet evaluated.
struct SliceGrid {
  std::vector<double> xs;
  std::vector<double> ys;
  std::vector<double> loss;
  std::vector<double> accuracy;
  std::int64_t pointsDone = 0;
  std::int64_t pointsTotal = 0;
  int level = -1;   // the last refinement level completed (0: the coarse pass); -1: none
  int stride = 0;   // that level's stride

  std::size_t index(std::size_t ix, std::size_t iy) const { return iy * xs.size() + ix; }
  bool complete() const { return pointsTotal > 0 && pointsDone == pointsTotal; }
};

struct SliceResult {
  SliceGrid grid;
  LandscapeStatus status = LandscapeStatus::Finished;
  double centreLoss = 0.0;  // the loss at the unperturbed weights (x = y = 0), evaluated first
  double centreAccuracy = 0.0;
  std::int64_t examples = 0;
};

// Called after each refinement level with the grid so far (on the calling thread).
using SliceProgress = std::function<void(const SliceGrid&)>;

// The grid levels, exposed for tests and for a GUI that wants to show what comes next: the (ix, iy)
// pairs of each level in evaluation order, each pair exactly once over all levels.
std::vector<std::vector<std::pair<int, int>>> sliceLevels(int gridSize, int coarseStride);

// ----- 1D interpolation -------------------------------------------------------------------------------

struct InterpolationOptions {
  int points = 41;  // at least 2
  double tMin = -0.5;
  double tMax = 1.5;  // t_i = tMin + (tMax - tMin) i / (points - 1): t = 0 and 1 are exact grid points
                      // when they fall on the grid, as with the defaults
  LandscapeEvaluationOptions evaluation;
};

struct InterpolationResult {
  std::vector<double> ts;
  std::vector<double> loss;  // NaN where not evaluated (after cancellation)
  std::vector<double> accuracy;
  std::int64_t pointsDone = 0;
  LandscapeStatus status = LandscapeStatus::Finished;
  std::int64_t examples = 0;
};

// Called after each point with the curve so far.
using InterpolationProgress = std::function<void(const InterpolationResult&)>;

}  // namespace samscape

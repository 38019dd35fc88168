#pragma once
// A training run's path projected onto a plane (Li et al., NeurIPS 2018, section 7): principal
// component analysis of the checkpoints' differences from the final weights gives two directions,
// and each checkpoint's coordinates in that plane are its difference's projections onto them, so the
// final weights sit at the origin of the slice spanned by the same directions. Plain C++ (Eigen
// inside); the weight vectors are flat, in Network::parameters() order.

#include <cstdint>
#include <string>
#include <vector>

namespace samscape {

struct TrajectoryProjection {
  // Unit vectors (as long as the weights), orthogonal: the top two principal directions of the
  // differences d_i = checkpoint_i - final, centred on their mean (as sklearn's PCA in Li et al.'s
  // code). A direction the checkpoints do not spread along (all differences on one line) is all zero.
  std::vector<double> first;
  std::vector<double> second;
  // Each checkpoint's coordinates: x_i = d_i . first, y_i = d_i . second (the uncentred differences).
  std::vector<double> xs;
  std::vector<double> ys;
  // The fraction of the centred differences' total variance along every principal direction, in
  // descending order (n - 1 values at most for n checkpoints; the first two belong to first, second).
  std::vector<double> explainedVarianceRatios;
  // Each checkpoint's distance from the plane (what its coordinates leave out: the norm of its
  // difference less x first + y second) and from the plane's origin (the norm of its difference), so
  // that a path drawn on a plane says how much of it the plane shows.
  std::vector<double> distancesFromPlane;
  std::vector<double> distancesFromOrigin;

  double explainedByPlane() const;  // the sum of the first two ratios
  double maxDistanceFromPlane() const;   // 0 without checkpoints
  double maxDistanceFromOrigin() const;
};

// The PCA runs on the n x n Gram matrix of the centred differences (n checkpoints), never on a matrix
// of the parameter count squared; memory beyond the inputs is a few parameter-length vectors. Signs:
// each direction is oriented so that its checkpoint coordinate of largest magnitude is positive.
// Throws Error for fewer than two checkpoints, vectors of different lengths, or checkpoints that are
// all equal (nothing to project).
TrajectoryProjection projectTrajectory(const std::vector<std::vector<double>>& checkpoints,
                                       const std::vector<double>& finalWeights);

// The checkpoints' coordinates in the plane of two given directions (a slice's d1, d2) through
// `centre` (the sliced weights): for each checkpoint, the least-squares (x, y) with
// checkpoint - centre ~ x d1 + y d2, so the path can be drawn on that slice's surface. Fills xs and ys
// (first, second: copies of d1, d2; no variance ratios). Throws Error for vectors of different lengths or
// directions that are parallel or zero.
TrajectoryProjection projectOntoDirections(const std::vector<std::vector<double>>& checkpoints,
                                           const std::vector<double>& centre, const std::vector<double>& d1,
                                           const std::vector<double>& d2);

}  // namespace samscape

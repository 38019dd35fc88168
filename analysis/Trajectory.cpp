#include "analysis/Trajectory.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

#include "core/Error.h"

namespace samscape {

double TrajectoryProjection::explainedByPlane() const {
  double sum = 0.0;
  for (std::size_t i = 0; i < std::min<std::size_t>(2, explainedVarianceRatios.size()); ++i) {
    sum += explainedVarianceRatios[i];
  }
  return sum;
}

double TrajectoryProjection::maxDistanceFromPlane() const {
  return distancesFromPlane.empty() ? 0.0 : *std::max_element(distancesFromPlane.begin(), distancesFromPlane.end());
}

double TrajectoryProjection::maxDistanceFromOrigin() const {
  return distancesFromOrigin.empty() ? 0.0 : *std::max_element(distancesFromOrigin.begin(), distancesFromOrigin.end());
}

TrajectoryProjection projectTrajectory(const std::vector<std::vector<double>>& checkpoints,
                                       const std::vector<double>& finalWeights) {
  const auto n = static_cast<Eigen::Index>(checkpoints.size());
  if (n < 2) {
    throw Error("a trajectory needs at least two checkpoints, got " + std::to_string(checkpoints.size()));
  }
  const auto p = static_cast<Eigen::Index>(finalWeights.size());
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    if (static_cast<Eigen::Index>(checkpoints[i].size()) != p) {
      throw Error("trajectory checkpoint " + std::to_string(i) + " has " + std::to_string(checkpoints[i].size()) +
                  " weights but the final model has " + std::to_string(finalWeights.size()));
    }
  }
  using ConstMap = Eigen::Map<const Eigen::VectorXd>;
  const ConstMap finalPoint(finalWeights.data(), p);
  const auto point = [&checkpoints, p](Eigen::Index i) {
    return ConstMap(checkpoints[static_cast<std::size_t>(i)].data(), p);
  };

  // The mean difference; centred differences c_i = d_i - mean = checkpoint_i - meanCheckpoint.
  Eigen::VectorXd meanCheckpoint = Eigen::VectorXd::Zero(p);
  for (Eigen::Index i = 0; i < n; ++i) meanCheckpoint += point(i);
  meanCheckpoint /= static_cast<double>(n);

  // Gram matrix G = C C^T, formed one centred difference at a time.
  Eigen::MatrixXd gram(n, n);
  Eigen::VectorXd ci(p);
  for (Eigen::Index i = 0; i < n; ++i) {
    ci = point(i) - meanCheckpoint;
    for (Eigen::Index j = 0; j <= i; ++j) {
      const double value = ci.dot(point(j) - meanCheckpoint);
      gram(i, j) = value;
      gram(j, i) = value;
    }
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
  if (solver.info() != Eigen::Success) throw Error("the trajectory's eigendecomposition did not converge");
  // Ascending from Eigen; descending here, negative rounding noise clamped to zero.
  const Eigen::VectorXd values = solver.eigenvalues().reverse().cwiseMax(0.0);
  const Eigen::MatrixXd vectors = solver.eigenvectors().rowwise().reverse();
  const double total = values.sum();
  if (!(total > 0.0)) throw Error("the trajectory's checkpoints are all equal: there is no path to project");

  TrajectoryProjection projection;
  // Centring removes one degree of freedom: at most n - 1 non-zero components.
  for (Eigen::Index k = 0; k < n - 1; ++k) projection.explainedVarianceRatios.push_back(values(k) / total);

  // Principal direction k: u_k = C^T v_k / sqrt(lambda_k) (unit, as ||C^T v_k||^2 = lambda_k).
  // Directions with a negligible eigenvalue (relative to the largest) are left zero.
  const double negligible = values(0) * 1e-12 * static_cast<double>(n);
  std::vector<double>* targets[2] = {&projection.first, &projection.second};
  std::vector<double>* coordinates[2] = {&projection.xs, &projection.ys};
  for (Eigen::Index k = 0; k < 2; ++k) {
    std::vector<double>& target = *targets[k];
    target.assign(static_cast<std::size_t>(p), 0.0);
    coordinates[k]->assign(static_cast<std::size_t>(n), 0.0);
    if (k >= n || values(k) <= negligible) continue;
    Eigen::Map<Eigen::VectorXd> direction(target.data(), p);
    for (Eigen::Index i = 0; i < n; ++i) direction += vectors(i, k) * (point(i) - meanCheckpoint);
    direction /= direction.norm();
    Eigen::VectorXd coordinate(n);
    for (Eigen::Index i = 0; i < n; ++i) coordinate(i) = direction.dot(point(i) - finalPoint);
    Eigen::Index largest = 0;
    coordinate.cwiseAbs().maxCoeff(&largest);
    if (coordinate(largest) < 0.0) {
      direction = -direction;
      coordinate = -coordinate;
    }
    for (Eigen::Index i = 0; i < n; ++i) (*coordinates[k])[static_cast<std::size_t>(i)] = coordinate(i);
  }
  // What the plane through the final weights leaves out of each difference (first and second are
  // orthonormal, or zero).
  const Eigen::Map<const Eigen::VectorXd> u1(projection.first.data(), p);
  const Eigen::Map<const Eigen::VectorXd> u2(projection.second.data(), p);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto s = static_cast<std::size_t>(i);
    const Eigen::VectorXd difference = point(i) - finalPoint;
    projection.distancesFromOrigin.push_back(difference.norm());
    projection.distancesFromPlane.push_back((difference - projection.xs[s] * u1 - projection.ys[s] * u2).norm());
  }
  return projection;
}

TrajectoryProjection projectOntoDirections(const std::vector<std::vector<double>>& checkpoints,
                                           const std::vector<double>& centre, const std::vector<double>& d1,
                                           const std::vector<double>& d2) {
  const auto p = static_cast<Eigen::Index>(centre.size());
  if (static_cast<Eigen::Index>(d1.size()) != p || static_cast<Eigen::Index>(d2.size()) != p) {
    throw Error("slice directions of " + std::to_string(d1.size()) + " and " + std::to_string(d2.size()) +
                " entries do not fit weights of " + std::to_string(centre.size()));
  }
  const Eigen::Map<const Eigen::VectorXd> w(centre.data(), p);
  const Eigen::Map<const Eigen::VectorXd> a(d1.data(), p);
  const Eigen::Map<const Eigen::VectorXd> b(d2.data(), p);
  Eigen::Matrix2d gram;
  gram << a.dot(a), a.dot(b), a.dot(b), b.dot(b);
  // Normal equations of the 2-column least-squares problem; their matrix is singular exactly when the
  // directions are parallel or one is zero.
  const Eigen::LDLT<Eigen::Matrix2d> solver(gram);
  const double scale = std::max(gram(0, 0), gram(1, 1));
  if (!(scale > 0.0) || std::abs(gram.determinant()) <= 1e-12 * scale * scale) {
    throw Error("the slice directions are parallel or zero: no plane to project the trajectory on");
  }
  TrajectoryProjection projection;
  projection.first = d1;
  projection.second = d2;
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    if (static_cast<Eigen::Index>(checkpoints[i].size()) != p) {
      throw Error("trajectory checkpoint " + std::to_string(i) + " has " + std::to_string(checkpoints[i].size()) +
                  " weights but the sliced model has " + std::to_string(centre.size()));
    }
    const Eigen::VectorXd difference = Eigen::Map<const Eigen::VectorXd>(checkpoints[i].data(), p) - w;
    const Eigen::Vector2d coordinates = solver.solve(Eigen::Vector2d(a.dot(difference), b.dot(difference)));
    projection.xs.push_back(coordinates(0));
    projection.ys.push_back(coordinates(1));
    projection.distancesFromOrigin.push_back(difference.norm());
    projection.distancesFromPlane.push_back((difference - coordinates(0) * a - coordinates(1) * b).norm());
  }
  return projection;
}

}  // namespace samscape

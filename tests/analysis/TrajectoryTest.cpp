// The trajectory PCA (Gram-matrix route) against what is known by construction (points in a known
// plane) and against a dense SVD of the centred difference matrix.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "analysis/Trajectory.h"
#include "core/Error.h"

namespace samscape {
namespace {

Eigen::VectorXd randomVector(Eigen::Index size, std::mt19937_64& engine) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Eigen::VectorXd v(size);
  for (Eigen::Index i = 0; i < size; ++i) v(i) = uniform(engine);
  return v;
}

std::vector<double> toStd(const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

Eigen::Map<const Eigen::VectorXd> asEigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

TEST(TrajectoryTest, PointsInAKnownPlaneAreReproducedUpToAnOrthogonalMap) {
  constexpr Eigen::Index kP = 40;
  std::mt19937_64 engine(3);
  // An orthonormal pair spanning the plane.
  Eigen::VectorXd u = randomVector(kP, engine).normalized();
  Eigen::VectorXd v = randomVector(kP, engine);
  v = (v - v.dot(u) * u).normalized();
  const Eigen::VectorXd finalWeights = randomVector(kP, engine);
  const std::vector<std::pair<double, double>> plane{{3.0, 1.0}, {2.5, -0.5}, {1.0, 0.7}, {0.4, 0.1}, {0.0, 0.0}};
  std::vector<std::vector<double>> checkpoints;
  for (const auto& [a, b] : plane) checkpoints.push_back(toStd(finalWeights + a * u + b * v));

  const TrajectoryProjection projection = projectTrajectory(checkpoints, toStd(finalWeights));
  EXPECT_NEAR(projection.explainedByPlane(), 1.0, 1e-12);
  ASSERT_EQ(projection.explainedVarianceRatios.size(), plane.size() - 1);
  EXPECT_GE(projection.explainedVarianceRatios[0], projection.explainedVarianceRatios[1]);
  const auto first = asEigen(projection.first);
  const auto second = asEigen(projection.second);
  EXPECT_NEAR(first.norm(), 1.0, 1e-12);
  EXPECT_NEAR(second.norm(), 1.0, 1e-12);
  EXPECT_NEAR(first.dot(second), 0.0, 1e-12);
  // Both directions lie in span{u, v}.
  EXPECT_NEAR((first - first.dot(u) * u - first.dot(v) * v).norm(), 0.0, 1e-12);
  EXPECT_NEAR((second - second.dot(u) * u - second.dot(v) * v).norm(), 0.0, 1e-12);

  // Recovered (x, y) = Q (a, b) for one orthogonal Q, found by least squares from the data.
  const auto n = static_cast<Eigen::Index>(plane.size());
  Eigen::MatrixXd known(n, 2);
  Eigen::MatrixXd recovered(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    known(i, 0) = plane[static_cast<std::size_t>(i)].first;
    known(i, 1) = plane[static_cast<std::size_t>(i)].second;
    recovered(i, 0) = projection.xs[static_cast<std::size_t>(i)];
    recovered(i, 1) = projection.ys[static_cast<std::size_t>(i)];
  }
  const Eigen::MatrixXd q = known.colPivHouseholderQr().solve(recovered);  // recovered = known * q
  EXPECT_NEAR((q.transpose() * q - Eigen::Matrix2d::Identity()).norm(), 0.0, 1e-10);
  EXPECT_NEAR((known * q - recovered).norm(), 0.0, 1e-10);
  // The final weights are the origin.
  EXPECT_NEAR(projection.xs.back(), 0.0, 1e-12);
  EXPECT_NEAR(projection.ys.back(), 0.0, 1e-12);
}

TEST(TrajectoryTest, GramMatrixPcaEqualsDenseSvd) {
  constexpr Eigen::Index kN = 5;
  constexpr Eigen::Index kP = 8;
  std::mt19937_64 engine(7);
  const Eigen::VectorXd finalWeights = randomVector(kP, engine);
  std::vector<std::vector<double>> checkpoints;
  Eigen::MatrixXd differences(kN, kP);
  for (Eigen::Index i = 0; i < kN; ++i) {
    const Eigen::VectorXd point = finalWeights + 2.0 * randomVector(kP, engine);
    checkpoints.push_back(toStd(point));
    differences.row(i) = (point - finalWeights).transpose();
  }
  const Eigen::MatrixXd centred = differences.rowwise() - differences.colwise().mean();
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(centred, Eigen::ComputeThinV);
  const Eigen::VectorXd squares = svd.singularValues().array().square();

  const TrajectoryProjection projection = projectTrajectory(checkpoints, toStd(finalWeights));
  ASSERT_EQ(projection.explainedVarianceRatios.size(), static_cast<std::size_t>(kN - 1));
  for (Eigen::Index k = 0; k < kN - 1; ++k) {
    EXPECT_NEAR(projection.explainedVarianceRatios[static_cast<std::size_t>(k)], squares(k) / squares.sum(), 1e-12);
  }
  for (int k = 0; k < 2; ++k) {
    const auto direction = asEigen(k == 0 ? projection.first : projection.second);
    Eigen::VectorXd dense = svd.matrixV().col(k);
    if (dense.dot(direction) < 0) dense = -dense;
    EXPECT_NEAR((direction - dense).norm(), 0.0, 1e-10) << "direction " << k;
    const Eigen::VectorXd coordinates = differences * dense;
    const std::vector<double>& got = k == 0 ? projection.xs : projection.ys;
    for (Eigen::Index i = 0; i < kN; ++i) EXPECT_NEAR(got[static_cast<std::size_t>(i)], coordinates(i), 1e-10);
  }
}

TEST(TrajectoryTest, CollinearPathHasNoSecondDirectionAndBadInputsAreErrors) {
  const std::vector<double> finalWeights{1.0, 2.0, 3.0};
  const std::vector<std::vector<double>> line{{2.0, 2.0, 3.0}, {3.0, 2.0, 3.0}, {5.0, 2.0, 3.0}};
  const TrajectoryProjection projection = projectTrajectory(line, finalWeights);
  EXPECT_NEAR(projection.explainedVarianceRatios[0], 1.0, 1e-12);
  EXPECT_NEAR(std::abs(projection.first[0]), 1.0, 1e-12);
  EXPECT_EQ(projection.second, std::vector<double>(3, 0.0));
  EXPECT_NEAR(projection.xs[2], 4.0, 1e-12);  // the largest coordinate is oriented positive
  EXPECT_NEAR(projection.xs[0], 1.0, 1e-12);

  EXPECT_THROW(projectTrajectory({{1.0, 2.0, 3.0}}, finalWeights), Error);
  EXPECT_THROW(projectTrajectory({{1.0, 2.0}, {1.0, 2.0, 4.0}}, finalWeights), Error);
  EXPECT_THROW(projectTrajectory({{2.0, 2.0, 3.0}, {2.0, 2.0, 3.0}}, finalWeights), Error);
}

}  // namespace
}  // namespace samscape

namespace samscape {
namespace {

// Checkpoints built as centre + x d1 + y d2 + (something orthogonal to both) come back as (x, y).
TEST(TrajectoryTest, ProjectionOntoSliceDirectionsRecoversTheirCoordinates) {
  const std::vector<double> centre{1.0, -2.0, 0.5, 3.0};
  const std::vector<double> d1{1.0, 1.0, 0.0, 0.0};
  const std::vector<double> d2{1.0, 0.0, 2.0, 0.0};  // not orthogonal to d1
  const std::vector<double> off{0.0, 0.0, 0.0, 1.0};  // orthogonal to both
  const std::vector<std::pair<double, double>> truth{{0.5, -1.0}, {-2.0, 0.25}, {0.0, 0.0}};
  std::vector<std::vector<double>> checkpoints;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    std::vector<double> point(centre.size());
    for (std::size_t j = 0; j < point.size(); ++j) {
      point[j] = centre[j] + truth[i].first * d1[j] + truth[i].second * d2[j] + 0.7 * static_cast<double>(i) * off[j];
    }
    checkpoints.push_back(point);
  }
  const TrajectoryProjection projection = projectOntoDirections(checkpoints, centre, d1, d2);
  ASSERT_EQ(projection.xs.size(), truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    EXPECT_NEAR(projection.xs[i], truth[i].first, 1e-12);
    EXPECT_NEAR(projection.ys[i], truth[i].second, 1e-12);
  }
  EXPECT_THROW(projectOntoDirections(checkpoints, centre, d1, d1), Error);
  EXPECT_THROW(projectOntoDirections(checkpoints, centre, d1, {1.0, 0.0}), Error);
}

// The distances from a plane, by hand: checkpoints in the (e1, e2) plane of R^5 plus a known part
// along e3, e4. The PCA plane of points spread far along e1, e2 is that plane, and what is off it is
// exactly the e3, e4 part; onto given (non-orthonormal) directions the residual is the same.
TEST(TrajectoryTest, EachCheckpointsDistanceFromThePlaneIsWhatItsCoordinatesLeaveOut) {
  const std::vector<std::vector<double>> checkpoints = {
      {4.0, 0.0, 0.0, 0.0, 0.0}, {0.0, 3.0, 0.3, 0.4, 0.0}, {-2.0, -1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 0.0, 0.0, 0.0}};
  const std::vector<double> final = checkpoints.back();
  const TrajectoryProjection pca = projectTrajectory(checkpoints, final);
  ASSERT_EQ(pca.distancesFromPlane.size(), 4u);
  // The PCA plane is not exactly (e1, e2): the off-plane part tilts it. The second checkpoint is at
  // most its e3, e4 part (0.5) off the best plane, which passes closer to it than (e1, e2) does.
  EXPECT_LE(pca.distancesFromPlane[1], 0.5 + 1e-12);
  EXPECT_GT(pca.maxDistanceFromPlane(), 0.0);
  // Without the e3, e4 part every checkpoint lies in its PCA plane.
  std::vector<std::vector<double>> flat = checkpoints;
  flat[1][2] = flat[1][3] = 0.0;
  EXPECT_LT(projectTrajectory(flat, final).maxDistanceFromPlane(), 1e-12);
  EXPECT_NEAR(pca.distancesFromOrigin[0], 4.0, 1e-12);
  EXPECT_NEAR(pca.distancesFromOrigin[1], std::sqrt(9.0 + 0.09 + 0.16), 1e-12);
  EXPECT_DOUBLE_EQ(pca.maxDistanceFromOrigin(), 4.0);
  // Dense check: the distance of each difference from span(first, second), by Eigen's QR.
  Eigen::MatrixXd basis(5, 2);
  basis.col(0) = asEigen(pca.first);
  basis.col(1) = asEigen(pca.second);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(basis);
  for (std::size_t i = 0; i < checkpoints.size(); ++i) {
    const Eigen::VectorXd d = asEigen(checkpoints[i]) - asEigen(final);
    const Eigen::VectorXd fitted = basis * qr.solve(d);
    EXPECT_NEAR(pca.distancesFromPlane[i], (d - fitted).norm(), 1e-12) << i;
  }

  // Onto d1 = e1, d2 = 2 e2 through the origin: (x, y) = (c1, c2 / 2), residual the e3, e4 part.
  const TrajectoryProjection onSlice =
      projectOntoDirections(checkpoints, std::vector<double>(5, 0.0), {1, 0, 0, 0, 0}, {0, 2, 0, 0, 0});
  EXPECT_NEAR(onSlice.ys[1], 1.5, 1e-12);
  EXPECT_NEAR(onSlice.distancesFromPlane[1], 0.5, 1e-12);
  EXPECT_NEAR(onSlice.distancesFromPlane[0], 0.0, 1e-12);
  EXPECT_NEAR(onSlice.maxDistanceFromPlane(), 0.5, 1e-12);
  EXPECT_NEAR(onSlice.maxDistanceFromOrigin(), 4.0, 1e-12);
}

}  // namespace
}  // namespace samscape

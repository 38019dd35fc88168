// Per-layer curvature against the dense diagonal blocks of an explicit symmetric matrix: each block's
// top eigenvalue (Eigen's dense decomposition of the block) and exact trace.
#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "analysis/HessianTrace.h"
#include "analysis/LayerCurvature.h"
#include "core/Error.h"
#include "tests/support/DenseOperator.h"

namespace samscape {
namespace {

// A symmetric 60 x 60 matrix with coupling between the blocks (so a block's eigenvalues are not the
// whole matrix's) and a positive diagonal shift that differs by block.
Eigen::MatrixXd coupledMatrix() {
  std::mt19937_64 engine(31);
  Eigen::MatrixXd random(60, 60);
  for (Eigen::Index i = 0; i < random.size(); ++i) {
    random.data()[i] = static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5;
  }
  Eigen::MatrixXd matrix = 0.5 * (random + random.transpose());
  for (Eigen::Index i = 0; i < 60; ++i) matrix(i, i) += i < 10 ? 4.0 : (i < 35 ? 1.0 : -0.5);
  return matrix;
}

TEST(LayerCurvature, GroupsFollowTheModulePrefixOfConsecutiveParameters) {
  const auto groups = groupParametersByModule({"conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "fc.weight", "scale"},
                                              {27, 3, 3, 3, 30, 1});
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].name, "conv1");
  EXPECT_EQ(groups[0].begin, 0);
  EXPECT_EQ(groups[0].end, 30);
  EXPECT_EQ(groups[1].name, "bn");
  EXPECT_EQ(groups[1].size(), 6);
  EXPECT_EQ(groups[2].name, "fc");
  EXPECT_EQ(groups[3].name, "scale");
  EXPECT_EQ(groups[3].end, 67);
  EXPECT_THROW(groupParametersByModule({"a.weight"}, {1, 2}), Error);
}

TEST(LayerCurvature, EachBlocksTopEigenvalueAndTraceMatchTheDenseBlock) {
  const Eigen::MatrixXd matrix = coupledMatrix();
  test::DenseOperator op(matrix);
  const std::vector<ParameterGroup> groups{{"first", 0, 10}, {"second", 10, 35}, {"third", 35, 60}};
  LayerCurvatureOptions options;
  options.tolerance = 1e-10;
  options.traceProbes = 400;
  options.seed = 2;
  const LayerCurvatureResult result = layerCurvature(op, groups, options);
  ASSERT_EQ(result.layers.size(), 3u);
  EXPECT_EQ(result.hessianVectorProducts, op.applications);
  for (std::size_t b = 0; b < groups.size(); ++b) {
    const auto& group = groups[b];
    const Eigen::MatrixXd block = matrix.block(group.begin, group.begin, group.size(), group.size());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(block, Eigen::EigenvaluesOnly);
    const double top = dense.eigenvalues()(group.size() - 1);
    const auto& layer = result.layers[b];
    EXPECT_TRUE(layer.converged) << layer.status;
    EXPECT_NEAR(layer.topEigenvalue, top, 1e-8 * std::abs(top)) << group.name;
    EXPECT_LT(std::abs(layer.trace - block.trace()), 4.0 * layer.traceStandardError + 1e-12)
        << group.name << ": " << layer.trace << " vs " << block.trace() << " +- " << layer.traceStandardError;
  }
  // The blocks' estimates come from the same probes as the whole trace's: they add up to it.
  double sum = 0.0;
  for (const auto& layer : result.layers) sum += layer.trace;
  test::DenseOperator again(matrix);
  TraceOptions traceOptions;
  traceOptions.probes = 400;
  traceOptions.seed = 2;
  EXPECT_NEAR(sum, hutchinsonTrace(again, traceOptions).mean, 1e-9);
}

TEST(LayerCurvature, ABlockOutsideTheOperatorIsAnError) {
  test::DenseOperator op(coupledMatrix());
  EXPECT_THROW(layerCurvature(op, {{"outside", 50, 70}}, LayerCurvatureOptions{}), Error);
}

}  // namespace
}  // namespace samscape

// The Bezier mode-connectivity curve on the built-in mlp over synthetic images, against independent
// computations: the straight-line interpolation (an untrained curve is that line), and one SGD step
// on the control point by the chain rule, dL/dc = 2t(1-t) dL/dw, with dL/dw from a second network's
// own backward pass at the curve's point.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "analysis/LossSurfaceTorch.h"
#include "analysis/ModeConnectivity.h"
#include "core/Error.h"
#include "core/data/BatchLoader.h"
#include "core/models/ParameterVector.h"
#include "tests/support/SyntheticData.h"

namespace samscape {
namespace {

std::unique_ptr<Network> seededMlp(std::uint64_t seed) {
  ModelSpec spec;
  spec.name = "mlp";
  spec.inputChannels = 1;
  spec.imageHeight = 12;
  spec.imageWidth = 12;
  spec.numClasses = 4;
  torch::manual_seed(seed);
  return makeNetwork(spec);
}

struct Fixture {
  ImageSet train = test::makeSyntheticImageSet(40, 1, 12, 12, 4, 41);
  ImageSet test = test::makeSyntheticImageSet(30, 1, 12, 12, 4, 42);
  ChannelStatistics statistics = computeChannelStatistics(train);
  std::unique_ptr<Network> network = seededMlp(1);
  std::vector<double> w1 = flatWeights(*seededMlp(1));
  std::vector<double> w2 = flatWeights(*seededMlp(2));

  BezierOptions options(int steps) const {
    BezierOptions o;
    o.steps = steps;
    o.batchSize = 40;  // the whole training set each step
    o.points = 5;
    o.seed = 9;
    o.evaluation.statistics = statistics;
    o.evaluation.batchSize = 16;
    return o;
  }
};

TEST(ModeConnectivity, BezierPointsRunFromTheFirstEndToTheSecondThroughTheControlsPull) {
  const std::vector<double> a{1.0, -2.0}, c{4.0, 0.0}, b{3.0, 2.0};
  EXPECT_EQ(bezierPoint(a, c, b, 0.0), a);
  EXPECT_EQ(bezierPoint(a, c, b, 1.0), b);
  const auto middle = bezierPoint(a, c, b, 0.5);
  EXPECT_DOUBLE_EQ(middle[0], 0.25 * 1.0 + 0.5 * 4.0 + 0.25 * 3.0);
  EXPECT_DOUBLE_EQ(middle[1], 0.25 * -2.0 + 0.5 * 0.0 + 0.25 * 2.0);
  EXPECT_THROW(bezierPoint(a, {1.0}, b, 0.5), Error);
}

TEST(ModeConnectivity, AnUntrainedCurveIsTheStraightLine) {
  Fixture f;
  const BezierResult curve = trainBezierCurve(*f.network, f.train, f.test, f.w1, f.w2, f.options(0));
  InterpolationOptions line;
  line.points = 5;
  line.tMin = 0.0;
  line.tMax = 1.0;
  line.evaluation = f.options(0).evaluation;
  const InterpolationResult straight = computeInterpolation(*f.network, f.test, f.w1, f.w2, line);
  ASSERT_EQ(curve.curve.ts, straight.ts);
  for (std::size_t i = 0; i < straight.ts.size(); ++i) {
    EXPECT_NEAR(curve.curve.loss[i], straight.loss[i], 1e-5 * straight.loss[i]) << "t " << straight.ts[i];
  }
  EXPECT_EQ(curve.curve.pointsDone, 5);
}

TEST(ModeConnectivity, OneStepMovesTheControlPointAgainstTwoTOneMinusTTimesTheGradient) {
  Fixture f;
  const std::vector<double> before = flatWeights(*f.network);
  BezierOptions options = f.options(1);
  options.learningRate = 0.1;
  const BezierResult curve = trainBezierCurve(*f.network, f.train, f.test, f.w1, f.w2, options);
  EXPECT_EQ(flatWeights(*f.network), before) << "the network's own weights come back";
  ASSERT_EQ(curve.stepTs.size(), 1u);
  const double t = curve.stepTs[0];
  ASSERT_GT(t, 0.0);
  ASSERT_LT(t, 1.0);

  // dL/dw at phi(t) with c = (w1 + w2)/2, from a second network and a plain backward pass.
  std::vector<double> control(f.w1.size());
  for (std::size_t i = 0; i < control.size(); ++i) control[i] = 0.5 * (f.w1[i] + f.w2[i]);
  auto reference = seededMlp(7);
  assignParameters(*reference, torch::tensor(bezierPoint(f.w1, control, f.w2, t), torch::kFloat64));
  reference->setTraining(false);
  BatchOptions batchOptions;
  batchOptions.batchSize = 40;
  batchOptions.shuffle = false;
  batchOptions.statistics = f.statistics;
  BatchLoader loader(f.train, batchOptions);
  loader.startEpoch();
  const Batch batch = loader.batch(0);
  torch::nn::functional::cross_entropy(reference->forward(batch.images), batch.labels).backward();
  std::vector<torch::Tensor> gradients;
  for (const auto& parameter : reference->parameters()) gradients.push_back(parameter.grad());
  const torch::Tensor gradient = flattenTensors(gradients).to(torch::kFloat64);

  const torch::Tensor expected =
      torch::tensor(control, torch::kFloat64) - gradient * (0.1 * 2 * t * (1 - t));
  const torch::Tensor actual = torch::tensor(curve.control, torch::kFloat64);
  const double moved = (actual - torch::tensor(control, torch::kFloat64)).abs().max().item<double>();
  EXPECT_GT(moved, 1e-4) << "the step must move the control point";
  EXPECT_LT((actual - expected).abs().max().item<double>(), 1e-3 * moved);
}

TEST(ModeConnectivity, BadInputsAreErrors) {
  Fixture f;
  EXPECT_THROW(trainBezierCurve(*f.network, f.train, f.test, {1.0}, f.w2, f.options(1)), Error);
  BezierOptions onePoint = f.options(1);
  onePoint.points = 1;
  EXPECT_THROW(trainBezierCurve(*f.network, f.train, f.test, f.w1, f.w2, onePoint), Error);
}

}  // namespace
}  // namespace samscape

// m-sharpness (analysis/MSharpness.h) against a hand computation on a tiny TorchScript network (16
// inputs, 3 tanh units, 3 classes: 63 parameters) in double precision: the loss is written here
// functionally in one flat parameter tensor over plain tensors (no Network, no DatasetObjective, no
// chunking), its gradient taken by autograd, and the ascent steps done by hand.
#include <gtest/gtest.h>

#include <torch/script.h>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <random>

#include "analysis/MSharpnessTorch.h"
#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TinyTanhNet.h"

namespace samscape {
namespace {

constexpr int kSide = test::TinyTanhNet::kSide;
constexpr int kInputs = test::TinyTanhNet::kInputs;
constexpr int kHidden = test::TinyTanhNet::kHidden;
constexpr int kClasses = test::TinyTanhNet::kClasses;
constexpr int kExamples = 30;

struct Fixture {
  test::TempDir dir;
  ImageSet images = test::makeSyntheticImageSet(kExamples, 1, kSide, kSide, kClasses, 5);
  ChannelStatistics statistics = computeChannelStatistics(images);
  std::string modelPath = test::TinyTanhNet::write(dir.file("tiny.pt"), 23);
};

torch::Tensor referenceInputs(const Fixture& fixture) {
  return test::TinyTanhNet::referenceInputs(fixture.images, fixture.statistics);
}

torch::Tensor referenceLoss(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& labels) {
  return test::TinyTanhNet::referenceLoss(w, x, labels);
}

torch::Tensor referenceGradient(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& labels) {
  torch::Tensor variable = w.detach().clone().requires_grad_(true);
  const torch::Tensor loss = referenceLoss(variable, x, labels);
  return torch::autograd::grad({loss}, {variable})[0].detach();
}

// L(w + e) - L(w) on examples [begin, begin + count) after k hand ascent steps of rho / k each.
double handSharpness(const Fixture& fixture, const torch::Tensor& weights, std::int64_t begin, std::int64_t count,
                     double rho, int steps) {
  const torch::Tensor x = referenceInputs(fixture).narrow(0, begin, count);
  const torch::Tensor labels = torch::tensor(fixture.images.labels, torch::kInt64).narrow(0, begin, count);
  const torch::Tensor w = weights.to(torch::kFloat64);
  torch::Tensor e = torch::zeros_like(w);
  for (int step = 0; step < steps; ++step) {
    const torch::Tensor g = referenceGradient(w + e, x, labels);
    e = e + (rho / steps) * g / g.norm();
    const double length = e.norm().item<double>();
    if (length > rho) e = e * (rho / length);
  }
  torch::NoGradGuard noGrad;
  return (referenceLoss(w + e, x, labels) - referenceLoss(w, x, labels)).item<double>();
}

MSharpnessOptions doubleOptions(const Fixture& fixture, std::int64_t m) {
  MSharpnessOptions options;
  options.m = m;
  options.evaluation.statistics = fixture.statistics;
  options.doublePrecision = true;
  options.evaluation.batchSize = 7;  // several passes per chunk: the value must not depend on it
  options.keepChunkValues = true;
  return options;
}

TEST(MSharpness, OneChunkOneStepEqualsTheHandComputation) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor weights = flattenParameters(*network);
  const double expected = handSharpness(fixture, weights, 0, kExamples, 0.05, 1);
  ASSERT_GT(expected, 1e-4);  // a rise worth checking

  const MSharpnessResult result = computeMSharpness(*network, fixture.images, doubleOptions(fixture, kExamples));
  EXPECT_EQ(result.chunks, 1);
  EXPECT_EQ(result.chunksDone, 1);
  EXPECT_EQ(result.examples, kExamples);
  EXPECT_FALSE(result.cancelled);
  EXPECT_NEAR(result.value, expected, 1e-10 * expected);
  ASSERT_EQ(result.chunkValues.size(), 1U);
  EXPECT_EQ(result.chunkValues[0], result.value);
  {
    torch::NoGradGuard noGrad;
    const double loss = referenceLoss(weights.to(torch::kFloat64), referenceInputs(fixture),
                                      torch::tensor(fixture.images.labels, torch::kInt64))
                            .item<double>();
    EXPECT_NEAR(result.meanLoss, loss, 1e-12 * loss);
  }
  // m beyond the set's size is the same single chunk.
  EXPECT_NEAR(computeMSharpness(*network, fixture.images, doubleOptions(fixture, 1000)).value, expected,
              1e-10 * expected);
  // A larger radius gives a different (larger) value: the radius is used.
  MSharpnessOptions wider = doubleOptions(fixture, kExamples);
  wider.rho = 0.2;
  const double widerExpected = handSharpness(fixture, weights, 0, kExamples, 0.2, 1);
  EXPECT_GT(widerExpected, 2.0 * expected);
  EXPECT_NEAR(computeMSharpness(*network, fixture.images, wider).value, widerExpected, 1e-10 * widerExpected);
}

TEST(MSharpness, ChunksAreAveragedWeightedBySize) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor weights = flattenParameters(*network);
  // Two equal chunks: the plain mean of the two single-chunk values.
  const double first = handSharpness(fixture, weights, 0, 15, 0.05, 1);
  const double second = handSharpness(fixture, weights, 15, 15, 0.05, 1);
  const MSharpnessResult halves = computeMSharpness(*network, fixture.images, doubleOptions(fixture, 15));
  EXPECT_EQ(halves.chunks, 2);
  ASSERT_EQ(halves.chunkValues.size(), 2U);
  EXPECT_NEAR(halves.chunkValues[0], first, 1e-10 * std::abs(first));
  EXPECT_NEAR(halves.chunkValues[1], second, 1e-10 * std::abs(second));
  EXPECT_NEAR(halves.value, 0.5 * (first + second), 1e-10 * std::abs(first + second));
  // Per-chunk sharpness differs from the full-set one (each chunk has its own e).
  const double whole = handSharpness(fixture, weights, 0, kExamples, 0.05, 1);
  EXPECT_GT(std::abs(halves.value - whole), 1e-6 * whole);

  // A short last chunk (20 + 10) counts with its size.
  const double long20 = handSharpness(fixture, weights, 0, 20, 0.05, 1);
  const double short10 = handSharpness(fixture, weights, 20, 10, 0.05, 1);
  const MSharpnessResult uneven = computeMSharpness(*network, fixture.images, doubleOptions(fixture, 20));
  EXPECT_EQ(uneven.chunks, 2);
  const double expected = (20.0 * long20 + 10.0 * short10) / 30.0;
  EXPECT_NEAR(uneven.value, expected, 1e-10 * std::abs(expected));
}

TEST(MSharpness, TwoAscentStepsEqualTheHandComputationAndClimbAtLeastAsHigh) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor weights = flattenParameters(*network);
  MSharpnessOptions options = doubleOptions(fixture, kExamples);
  options.rho = 0.3;
  options.ascentSteps = 2;
  const double expected = handSharpness(fixture, weights, 0, kExamples, 0.3, 2);
  const double oneStep = handSharpness(fixture, weights, 0, kExamples, 0.3, 1);
  ASSERT_NE(expected, oneStep);
  const MSharpnessResult twoSteps = computeMSharpness(*network, fixture.images, options);
  EXPECT_NEAR(twoSteps.value, expected, 1e-10 * std::abs(expected));
  options.ascentSteps = 1;
  EXPECT_GE(twoSteps.value, computeMSharpness(*network, fixture.images, options).value);
}

TEST(MSharpness, ZeroRadiusGivesZeroAndWeightsComeBackBitExactly) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor before = flattenParameters(*network);
  ASSERT_EQ(before.scalar_type(), torch::kFloat32);

  MSharpnessOptions options = doubleOptions(fixture, 8);
  options.rho = 0.0;
  const MSharpnessResult zero = computeMSharpness(*network, fixture.images, options);
  EXPECT_EQ(zero.value, 0.0);
  EXPECT_EQ(zero.chunks, 4);  // 8 + 8 + 8 + 6

  for (const bool doublePrecision : {true, false}) {
    options.rho = 0.5;
    options.ascentSteps = 3;
    options.doublePrecision = doublePrecision;
    const MSharpnessResult result = computeMSharpness(*network, fixture.images, options);
    EXPECT_GT(result.value, 0.0);
    const torch::Tensor after = flattenParameters(*network);
    EXPECT_EQ(after.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(before, after)) << "doublePrecision " << doublePrecision;
  }
  // Float32 agrees with float64 to float32's accuracy.
  options.rho = 0.05;
  options.ascentSteps = 1;
  options.m = kExamples;
  options.doublePrecision = false;
  const double expected = handSharpness(fixture, before, 0, kExamples, 0.05, 1);
  EXPECT_NEAR(computeMSharpness(*network, fixture.images, options).value, expected, 1e-3 * expected + 1e-6);
}

TEST(MSharpness, ReportsProgressAndStopsWhenCancelled) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor before = flattenParameters(*network);
  std::atomic<bool> cancel{false};
  std::vector<std::int64_t> reported;
  const MSharpnessProgress progress = [&](std::int64_t done, std::int64_t total) {
    EXPECT_EQ(total, 3);
    reported.push_back(done);
    if (done == 2) cancel = true;
  };
  const MSharpnessResult result =
      computeMSharpness(*network, fixture.images, doubleOptions(fixture, 10), progress, &cancel);
  EXPECT_TRUE(result.cancelled);
  EXPECT_TRUE(std::isnan(result.value));
  EXPECT_EQ(result.chunks, 3);
  EXPECT_EQ(result.chunksDone, 2);
  EXPECT_EQ(result.chunkValues.size(), 2U);
  EXPECT_EQ(reported, (std::vector<std::int64_t>{1, 2}));
  EXPECT_TRUE(torch::equal(before, flattenParameters(*network)));
}

TEST(MSharpness, RejectsBadOptions) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  MSharpnessOptions options = doubleOptions(fixture, 10);
  options.m = 0;
  EXPECT_THROW(computeMSharpness(*network, fixture.images, options), Error);
  options = doubleOptions(fixture, 10);
  options.rho = -0.1;
  EXPECT_THROW(computeMSharpness(*network, fixture.images, options), Error);
  options = doubleOptions(fixture, 10);
  options.ascentSteps = 0;
  EXPECT_THROW(computeMSharpness(*network, fixture.images, options), Error);
  options = doubleOptions(fixture, 10);
  options.evaluation.device = "tpu";
  EXPECT_THROW(computeMSharpness(*network, fixture.images, options), ConfigError);
  ImageSet empty = fixture.images;
  empty.pixels.clear();
  empty.labels.clear();
  EXPECT_THROW(computeMSharpness(*network, empty, doubleOptions(fixture, 10)), Error);
}

}  // namespace
}  // namespace samscape

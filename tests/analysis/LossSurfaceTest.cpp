// The 2D loss slice, its directions and the 1D interpolation, on the built-in mlp over 1x12x12
// synthetic images, against independent evaluations: core's evaluateClassifier on a second network
// whose weights are set to the perturbed point with assignParameters (no slice code involved).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <stdexcept>

#include "analysis/LossSurfaceTorch.h"
#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/Evaluation.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

constexpr int kSide = 12;
constexpr int kClasses = 4;
constexpr std::int64_t kBatch = 16;

ModelSpec tinySpec(const std::string& name) {
  ModelSpec spec;
  spec.name = name;
  spec.inputChannels = 1;
  spec.imageHeight = kSide;
  spec.imageWidth = kSide;
  spec.numClasses = kClasses;
  return spec;
}

std::unique_ptr<Network> seededNetwork(const std::string& name, std::uint64_t seed) {
  torch::manual_seed(seed);
  return makeNetwork(tinySpec(name));
}

struct Fixture {
  ImageSet images = test::makeSyntheticImageSet(40, 1, kSide, kSide, kClasses, 31);
  ChannelStatistics statistics = computeChannelStatistics(images);
  std::unique_ptr<Network> network = seededNetwork("mlp", 3);
  // The independent evaluator: same architecture, weights set explicitly per point.
  std::unique_ptr<Network> reference = seededNetwork("mlp", 99);

  LandscapeEvaluationOptions evaluation() const {
    LandscapeEvaluationOptions options;
    options.statistics = statistics;
    options.batchSize = kBatch;
    return options;
  }

  SliceOptions sliceOptions(int grid, int coarseStride) const {
    SliceOptions options;
    options.gridSize = grid;
    options.coarseStride = coarseStride;
    options.evaluation = evaluation();
    return options;
  }

  Evaluation evaluateReferenceAt(const torch::Tensor& flatDouble) {
    assignParameters(*reference, flatDouble);
    return evaluateClassifier(*reference, images, true, statistics, kBatch, torch::kCPU);
  }
};

torch::Tensor asTensor(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64);
}

void expectSameWeights(const torch::Tensor& before, Network& network) {
  const torch::Tensor after = flattenParameters(network);
  ASSERT_EQ(before.scalar_type(), after.scalar_type());
  EXPECT_TRUE(torch::equal(before, after)) << "weights not restored bit for bit";
}

TEST(LossSurfaceTest, SliceCentreEqualsEvaluateClassifierAndWeightsAreRestored) {
  Fixture f;
  const torch::Tensor before = flattenParameters(*f.network).clone();
  const Evaluation direct =
      evaluateClassifier(*f.network, f.images, true, f.statistics, kBatch, torch::kCPU);
  const SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{7, false});
  const SliceResult result = computeLossSlice(*f.network, f.images, directions, f.sliceOptions(5, 0));
  EXPECT_EQ(result.status, LandscapeStatus::Finished);
  EXPECT_TRUE(result.grid.complete());
  ASSERT_EQ(result.grid.xs[2], 0.0);
  const std::size_t centre = result.grid.index(2, 2);
  EXPECT_NEAR(result.grid.loss[centre], direct.meanLoss, 1e-12);
  EXPECT_NEAR(result.grid.accuracy[centre], direct.accuracy, 1e-12);
  EXPECT_NEAR(result.centreLoss, direct.meanLoss, 1e-12);
  // The surface is not flat: the directions do move the loss.
  EXPECT_GT(std::abs(result.grid.loss[result.grid.index(0, 0)] - direct.meanLoss), 1e-3);
  expectSameWeights(before, *f.network);
}

TEST(LossSurfaceTest, GridPointEqualsIndependentEvaluationOfPerturbedCopy) {
  Fixture f;
  const SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{11, false});
  SliceOptions options = f.sliceOptions(5, 0);
  options.rangeMin = -0.5;
  options.rangeMax = 1.5;
  const torch::Tensor w = flattenParameters(*f.network).to(torch::kFloat64);
  const SliceResult result = computeLossSlice(*f.network, f.images, directions, options);
  for (const auto& [ix, iy] : {std::pair<int, int>{1, 4}, {4, 0}, {3, 3}}) {
    const double x = result.grid.xs[static_cast<std::size_t>(ix)];
    const double y = result.grid.ys[static_cast<std::size_t>(iy)];
    const Evaluation expected =
        f.evaluateReferenceAt(w + x * asTensor(directions.first) + y * asTensor(directions.second));
    const std::size_t index = result.grid.index(static_cast<std::size_t>(ix), static_cast<std::size_t>(iy));
    EXPECT_NEAR(result.grid.loss[index], expected.meanLoss, 1e-6 * expected.meanLoss) << x << "," << y;
    EXPECT_DOUBLE_EQ(result.grid.accuracy[index], expected.accuracy) << x << "," << y;
  }
}

TEST(LossSurfaceTest, CoarseToFineEqualsDirectFullGridAndReportsEachLevel) {
  Fixture f;
  const SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{5, false});
  const torch::Tensor w = flattenParameters(*f.network).to(torch::kFloat64);
  std::vector<SliceGrid> reports;
  const SliceResult result = computeLossSlice(*f.network, f.images, directions, f.sliceOptions(9, 4),
                                              [&reports](const SliceGrid& grid) { reports.push_back(grid); });
  // Levels of stride 4, 2, 1.
  ASSERT_EQ(reports.size(), 3u);
  for (std::size_t i = 1; i < reports.size(); ++i) EXPECT_GT(reports[i].pointsDone, reports[i - 1].pointsDone);
  EXPECT_EQ(reports.back().pointsDone, 81);
  EXPECT_EQ(reports.front().stride, 4);
  // The first report is a whole coarse surface: every point on the stride-4 lines, nothing else.
  EXPECT_EQ(reports.front().pointsDone, 9);
  for (std::size_t iy = 0; iy < 9; ++iy) {
    for (std::size_t ix = 0; ix < 9; ++ix) {
      const bool coarse = ix % 4 == 0 && iy % 4 == 0;
      EXPECT_EQ(std::isnan(reports.front().loss[reports.front().index(ix, iy)]), !coarse) << ix << "," << iy;
    }
  }
  // The direct evaluation of every grid point, in plain order, on the independent network.
  for (std::size_t iy = 0; iy < 9; ++iy) {
    for (std::size_t ix = 0; ix < 9; ++ix) {
      const double x = -1.0 + 2.0 * static_cast<double>(ix) / 8.0;
      const double y = -1.0 + 2.0 * static_cast<double>(iy) / 8.0;
      ASSERT_EQ(result.grid.xs[ix], x);
      ASSERT_EQ(result.grid.ys[iy], y);
      const Evaluation expected =
          f.evaluateReferenceAt(w + x * asTensor(directions.first) + y * asTensor(directions.second));
      EXPECT_NEAR(result.grid.loss[result.grid.index(ix, iy)], expected.meanLoss, 1e-6 * expected.meanLoss);
      EXPECT_DOUBLE_EQ(result.grid.accuracy[result.grid.index(ix, iy)], expected.accuracy);
    }
  }
}

TEST(LossSurfaceTest, SliceLevelsCoverEveryPointOnceIncludingTheLastIndex) {
  const auto levels = sliceLevels(51, 0);
  ASSERT_EQ(levels.size(), 4u);  // strides 8, 4, 2, 1
  std::vector<int> seen(51 * 51, 0);
  for (const auto& level : levels) {
    for (const auto& [ix, iy] : level) ++seen[static_cast<std::size_t>(iy * 51 + ix)];
  }
  for (int count : seen) EXPECT_EQ(count, 1);
  // The coarse pass spans the whole square: its corners include index 50.
  EXPECT_EQ(levels.front().size(), 8u * 8u);  // 0, 8, ..., 48 and 50
  EXPECT_THROW(sliceLevels(1, 0), ConfigError);
}

TEST(LossSurfaceTest, CancellationReturnsTheCoarseSurfaceAndRestoresWeights) {
  Fixture f;
  const torch::Tensor before = flattenParameters(*f.network).clone();
  const SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{2, false});
  std::atomic<bool> cancel{false};
  const SliceResult result = computeLossSlice(
      *f.network, f.images, directions, f.sliceOptions(9, 4), [&cancel](const SliceGrid&) { cancel = true; },
      &cancel);
  EXPECT_EQ(result.status, LandscapeStatus::Cancelled);
  EXPECT_EQ(result.grid.pointsDone, 9);
  EXPECT_FALSE(std::isnan(result.grid.loss[result.grid.index(8, 8)]));
  EXPECT_TRUE(std::isnan(result.grid.loss[result.grid.index(1, 0)]));
  expectSameWeights(before, *f.network);
}

TEST(LossSurfaceTest, ExceptionDuringSliceRestoresWeights) {
  Fixture f;
  const torch::Tensor before = flattenParameters(*f.network).clone();
  const SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{2, false});
  EXPECT_THROW(computeLossSlice(*f.network, f.images, directions, f.sliceOptions(9, 4),
                                [](const SliceGrid&) { throw std::runtime_error("observer failed"); }),
               std::runtime_error);
  expectSameWeights(before, *f.network);
}

TEST(LossSurfaceTest, BadInputsAreRejectedNamingTheProblem) {
  Fixture f;
  SliceDirections directions = makeFilterNormalizedDirections(*f.network, DirectionOptions{2, false});
  directions.second.pop_back();
  EXPECT_THROW(computeLossSlice(*f.network, f.images, directions, f.sliceOptions(5, 0)), Error);
  directions.second.push_back(0.0);
  SliceOptions badRange = f.sliceOptions(5, 0);
  badRange.rangeMin = 1.0;
  test::expectContains(test::messageOf<ConfigError>([&] { computeLossSlice(*f.network, f.images, directions, badRange); }),
                       {"--range"});
}

TEST(DirectionTest, FilterNormalizationGivesEachFilterTheWeightsFilterNorm) {
  const std::unique_ptr<Network> network = seededNetwork("cnn", 4);
  for (const bool keep : {false, true}) {
    const SliceDirections directions = makeFilterNormalizedDirections(*network, DirectionOptions{9, keep});
    for (const std::vector<double>* direction : {&directions.first, &directions.second}) {
      const std::vector<torch::Tensor> parameters = network->parameters();
      const std::vector<torch::Tensor> pieces = unflattenLike(asTensor(*direction), parameters);
      bool sawFilters = false;
      bool sawOneDimensional = false;
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        const torch::Tensor weights = parameters[i].detach().to(torch::kFloat64);
        if (weights.dim() <= 1) {
          sawOneDimensional = true;
          if (keep) {
            EXPECT_NEAR(pieces[i].norm().item<double>(), weights.norm().item<double>(),
                        1e-6 * weights.norm().item<double>());
          } else {
            EXPECT_EQ(pieces[i].abs().max().item<double>(), 0.0) << "parameter " << i;
          }
          continue;
        }
        sawFilters = true;
        for (std::int64_t row = 0; row < weights.size(0); ++row) {
          const double expected = weights[row].norm().item<double>();
          EXPECT_NEAR(pieces[i][row].norm().item<double>(), expected, 1e-6 * expected)
              << "parameter " << i << " filter " << row;
        }
      }
      EXPECT_TRUE(sawFilters);
      EXPECT_TRUE(sawOneDimensional);
    }
    EXPECT_NE(directions.first, directions.second);
  }
  // The seed determines the directions.
  EXPECT_EQ(makeFilterNormalizedDirections(*network, DirectionOptions{9, false}).first,
            makeFilterNormalizedDirections(*network, DirectionOptions{9, false}).first);
  EXPECT_NE(makeFilterNormalizedDirections(*network, DirectionOptions{9, false}).first,
            makeFilterNormalizedDirections(*network, DirectionOptions{10, false}).first);
}

TEST(DirectionTest, SaveLoadRoundTripAndParameterCountCheck) {
  test::TempDir dir;
  const std::unique_ptr<Network> network = seededNetwork("mlp", 4);
  const SliceDirections directions = makeFilterNormalizedDirections(*network, DirectionOptions{12, true});
  const std::string path = dir.file("directions.bin");
  saveDirections(path, directions);
  const SliceDirections loaded = loadDirections(path, parameterCount(*network));
  EXPECT_EQ(loaded.first, directions.first);
  EXPECT_EQ(loaded.second, directions.second);
  EXPECT_EQ(loaded.seed, 12u);
  EXPECT_TRUE(loaded.keepOneDimensional);

  test::expectContains(
      test::messageOf<DataError>([&] { loadDirections(path, parameterCount(*network) + 1); }),
      {path, std::to_string(parameterCount(*network)) + " parameters"});
  const std::string truncated = dir.file("truncated.bin");
  test::Bytes bytes = test::readBytes(path);
  bytes.resize(bytes.size() - 8);
  test::writeRaw(truncated, bytes);
  test::expectContains(test::messageOf<DataError>([&] { loadDirections(truncated, -1); }), {truncated});
  const std::string foreign = dir.file("foreign.bin");
  test::writeRaw(foreign, test::Bytes(64, 7));
  test::expectContains(test::messageOf<DataError>([&] { loadDirections(foreign, -1); }), {foreign});
  test::expectContains(test::messageOf<DataError>([&] { loadDirections(dir.file("missing.bin"), -1); }),
                       {dir.file("missing.bin")});
}

TEST(InterpolationTest, EndpointsEqualTheTwoModelsLosses) {
  Fixture f;
  const torch::Tensor before = flattenParameters(*f.network).clone();
  const std::unique_ptr<Network> other = seededNetwork("mlp", 8);
  const std::vector<double> w1 = flatWeights(*f.network);
  const std::vector<double> w2 = flatWeights(*other);
  const Evaluation first = evaluateClassifier(*f.network, f.images, true, f.statistics, kBatch, torch::kCPU);
  const Evaluation second = evaluateClassifier(*other, f.images, true, f.statistics, kBatch, torch::kCPU);
  ASSERT_GT(std::abs(first.meanLoss - second.meanLoss), 1e-4);

  InterpolationOptions options;
  options.evaluation = f.evaluation();
  int reports = 0;
  const InterpolationResult result = computeInterpolation(
      *f.network, f.images, w1, w2, options, [&reports](const InterpolationResult&) { ++reports; });
  ASSERT_EQ(result.ts.size(), 41u);
  EXPECT_EQ(result.ts.front(), -0.5);
  EXPECT_EQ(result.ts.back(), 1.5);
  ASSERT_EQ(result.ts[10], 0.0);
  ASSERT_EQ(result.ts[30], 1.0);
  EXPECT_EQ(reports, 41);
  EXPECT_NEAR(result.loss[10], first.meanLoss, 1e-12);
  EXPECT_NEAR(result.loss[30], second.meanLoss, 1e-12);
  EXPECT_DOUBLE_EQ(result.accuracy[10], first.accuracy);
  EXPECT_DOUBLE_EQ(result.accuracy[30], second.accuracy);
  // Past the ends: an independent evaluation at t = -0.5.
  const Evaluation outside = f.evaluateReferenceAt(1.5 * asTensor(w1) - 0.5 * asTensor(w2));
  EXPECT_NEAR(result.loss[0], outside.meanLoss, 1e-6 * outside.meanLoss);
  expectSameWeights(before, *f.network);

  std::atomic<bool> cancel{true};
  const InterpolationResult cancelled = computeInterpolation(*f.network, f.images, w1, w2, options, {}, &cancel);
  EXPECT_EQ(cancelled.status, LandscapeStatus::Cancelled);
  EXPECT_EQ(cancelled.pointsDone, 0);
  expectSameWeights(before, *f.network);
  EXPECT_THROW(computeInterpolation(*f.network, f.images, w1, std::vector<double>(3), options), Error);
}

}  // namespace
}  // namespace samscape

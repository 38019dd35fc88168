#include <gtest/gtest.h>

#include <torch/torch.h>

#include <set>

#include "core/data/BatchLoader.h"
#include "tests/support/SyntheticData.h"

namespace samscape {
namespace {

BatchOptions plainOptions(std::int64_t batchSize) {
  BatchOptions options;
  options.batchSize = batchSize;
  options.shuffle = false;
  options.augment = false;
  options.normalize = false;
  return options;
}

float pixel(const ImageSet& set, std::size_t image, int c, int y, int x) {
  const std::size_t index = image * set.imageBytes() +
                            static_cast<std::size_t>((c * set.height + y) * set.width + x);
  return static_cast<float>(set.pixels[index]) / 255.0f;
}

TEST(BatchLoader, PlainBatchesAreFileOrderScaledToUnitRangeWithASmallerLastBatch) {
  const ImageSet set = test::makeSyntheticImageSet(10, 3, 8, 8, 4, 7);
  BatchLoader loader(set, plainOptions(4));
  ASSERT_EQ(loader.batchesPerEpoch(), 3);
  loader.startEpoch();
  std::int64_t seen = 0;
  for (std::int64_t b = 0; b < 3; ++b) {
    const Batch batch = loader.batch(b);
    ASSERT_EQ(batch.images.dim(), 4);
    EXPECT_EQ(batch.images.size(1), 3);
    for (std::int64_t i = 0; i < batch.images.size(0); ++i, ++seen) {
      const auto image = static_cast<std::size_t>(seen);
      EXPECT_EQ(batch.labels[i].item<std::int64_t>(), set.labels[image]);
      EXPECT_FLOAT_EQ(batch.images[i][2][5][1].item<float>(), pixel(set, image, 2, 5, 1));
      EXPECT_FLOAT_EQ(batch.images[i][0][0][7].item<float>(), pixel(set, image, 0, 0, 7));
    }
  }
  EXPECT_EQ(seen, 10);
}

std::vector<std::int64_t> epochLabelsOrder(BatchLoader& loader) {
  std::vector<std::int64_t> order;
  loader.startEpoch();
  for (std::int64_t b = 0; b < loader.batchesPerEpoch(); ++b) {
    // The image's first pixel identifies it: synthetic images differ by noise.
    const Batch batch = loader.batch(b);
    for (std::int64_t i = 0; i < batch.images.size(0); ++i) {
      order.push_back(static_cast<std::int64_t>(batch.images[i].sum().item<double>() * 1000));
    }
  }
  return order;
}

TEST(BatchLoader, ShuffleVisitsEveryExampleOncePerEpochReproduciblyBySeed) {
  const ImageSet set = test::makeSyntheticImageSet(50, 1, 6, 6, 5, 3);
  auto options = plainOptions(8);
  options.shuffle = true;
  options.seed = 11;
  BatchLoader first(set, options);
  BatchLoader second(set, options);
  options.seed = 12;
  BatchLoader other(set, options);
  BatchLoader unshuffled(set, plainOptions(8));

  const auto fileOrder = epochLabelsOrder(unshuffled);
  const auto epoch1 = epochLabelsOrder(first);
  const auto epoch2 = epochLabelsOrder(first);
  EXPECT_EQ(std::multiset<std::int64_t>(epoch1.begin(), epoch1.end()),
            std::multiset<std::int64_t>(fileOrder.begin(), fileOrder.end()));
  EXPECT_NE(epoch1, fileOrder);
  EXPECT_NE(epoch1, epoch2);  // a new order every epoch
  EXPECT_EQ(epochLabelsOrder(second), epoch1);
  EXPECT_NE(epochLabelsOrder(other), epoch1);
}

// Each augmented image must be the original, zero padded by 4, cropped at some offset in [0, 8]^2
// and possibly mirrored: search all 162 candidates.
TEST(BatchLoader, AugmentationIsAPaddedRandomCropWithOptionalFlip) {
  const ImageSet set = test::makeSyntheticImageSet(16, 3, 10, 10, 4, 5);
  auto options = plainOptions(16);
  options.augment = true;
  options.seed = 99;
  BatchLoader loader(set, options);
  loader.startEpoch();
  const Batch batch = loader.batch(0);
  BatchLoader plain(set, plainOptions(16));
  plain.startEpoch();
  const torch::Tensor originals = plain.batch(0).images;

  int flipped = 0;
  int shifted = 0;
  for (std::int64_t i = 0; i < 16; ++i) {
    const torch::Tensor padded = torch::constant_pad_nd(originals[i], {4, 4, 4, 4}, 0.0);
    bool found = false;
    for (int top = 0; top <= 8 && !found; ++top) {
      for (int left = 0; left <= 8 && !found; ++left) {
        const torch::Tensor crop = padded.narrow(1, top, 10).narrow(2, left, 10);
        for (bool flip : {false, true}) {
          if (torch::equal(flip ? crop.flip({2}) : crop, batch.images[i])) {
            found = true;
            flipped += flip ? 1 : 0;
            shifted += (top != 4 || left != 4) ? 1 : 0;
            break;
          }
        }
      }
    }
    EXPECT_TRUE(found) << "augmented image " << i << " is no padded crop of its original";
  }
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
  EXPECT_GT(shifted, 8);
}

TEST(BatchLoader, NormalizationStandardizesEachChannel) {
  const ImageSet set = test::makeSyntheticImageSet(4, 3, 5, 5, 2, 1);
  auto options = plainOptions(4);
  options.normalize = true;
  options.statistics.mean = {0.1, 0.5, 0.9};
  options.statistics.stddev = {0.2, 0.25, 0.5};
  BatchLoader loader(set, options);
  loader.startEpoch();
  const Batch batch = loader.batch(0);
  for (int c = 0; c < 3; ++c) {
    const double expected = (pixel(set, 2, c, 3, 4) - options.statistics.mean[static_cast<std::size_t>(c)]) /
                            options.statistics.stddev[static_cast<std::size_t>(c)];
    EXPECT_NEAR(batch.images[2][c][3][4].item<double>(), expected, 1e-5);
  }
}

TEST(BatchLoader, UniformBelowStaysInRangeAndCoversIt) {
  std::mt19937_64 engine(5);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const auto value = uniformBelow(engine, 7);
    ASSERT_LT(value, 7u);
    ++counts[value];
  }
  for (int count : counts) EXPECT_NEAR(count, 1000, 150);
}

}  // namespace
}  // namespace samscape

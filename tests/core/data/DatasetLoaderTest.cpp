// loadDataset's options (subsets, validation split, label noise, default directory), the channel
// statistics and the dataset names. Images carry their file index in their first pixel so that
// "which examples ended up where" is checked against positions, not against the loader's output.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace {

namespace fs = std::filesystem;
using samscape::ChannelStatistics;
using samscape::ConfigError;
using samscape::DataError;
using samscape::DatasetKind;
using samscape::DatasetOptions;
using samscape::DatasetSplits;
using samscape::ImageSet;
using samscape::loadDataset;
using samscape::test::makeSyntheticImageSet;
using samscape::test::TempDir;

// `count` images whose first pixel is their index (offset by `firstMarker`) and whose label is
// (3 * index) mod numClasses, all other pixels `fill`.
ImageSet makeIndexedSet(int count, int channels, int side, int numClasses, int firstMarker = 0,
                        std::uint8_t fill = 0) {
  ImageSet images;
  images.channels = channels;
  images.height = side;
  images.width = side;
  images.numClasses = numClasses;
  for (int index = 0; index < count; ++index) {
    images.labels.push_back((3 * index) % numClasses);
    std::vector<std::uint8_t> pixels(images.imageBytes(), fill);
    pixels[0] = static_cast<std::uint8_t>(firstMarker + index);
    images.pixels.insert(images.pixels.end(), pixels.begin(), pixels.end());
  }
  return images;
}

std::vector<int> markers(const ImageSet& images) {
  std::vector<int> result;
  for (std::size_t i = 0; i < images.size(); ++i) {
    result.push_back(images.pixels[i * images.imageBytes()]);
  }
  return result;
}

std::vector<int> range(int first, int end) {
  std::vector<int> values;
  for (int value = first; value < end; ++value) values.push_back(value);
  return values;
}

// The ConfigError `action` throws, as flag and message; a test failure if it throws nothing.
struct ConfigFailure {
  std::string flag;
  std::string message;
};

ConfigFailure configFailure(const std::function<void()>& action) {
  try {
    action();
  } catch (const ConfigError& error) {
    return {error.flag(), error.what()};
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// An MNIST-format folder: 50 training images (markers 0..49) and 30 test images (markers 100..129).
class MnistFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    samscape::test::writeMnistDirectory(folder(), makeIndexedSet(50, 1, 6, 10),
                                        makeIndexedSet(30, 1, 6, 10, 100), true);
  }
  std::string folder() const { return dir_.file("mnist"); }
  DatasetOptions options() const {
    DatasetOptions result;
    result.kind = DatasetKind::Mnist;
    result.dataDir = folder();
    return result;
  }
  TempDir dir_;
};

TEST_F(MnistFolder, LoadsEverythingByDefault) {
  const DatasetSplits splits = loadDataset(options());
  EXPECT_EQ(markers(splits.train), range(0, 50));
  EXPECT_EQ(markers(splits.test), range(100, 130));
  EXPECT_EQ(splits.validation.size(), 0u);
  EXPECT_EQ(splits.noisyLabelCount, 0);
  EXPECT_EQ(splits.dataDir, folder());
  EXPECT_EQ(splits.train.numClasses, 10);
  EXPECT_EQ(splits.train.labels[7], 1);  // (3 * 7) mod 10
}

TEST_F(MnistFolder, SubsetsTakeTheFirstExamplesInFileOrder) {
  DatasetOptions opts = options();
  opts.trainSubset = 17;
  opts.testSubset = 4;
  const DatasetSplits splits = loadDataset(opts);
  EXPECT_EQ(markers(splits.train), range(0, 17));
  EXPECT_EQ(markers(splits.test), range(100, 104));
  EXPECT_EQ(splits.train.pixels.size(), 17u * 36);
  EXPECT_EQ(splits.train.labels.size(), 17u);
}

TEST_F(MnistFolder, SubsetEqualToTheFileSizeIsAllowed) {
  DatasetOptions opts = options();
  opts.trainSubset = 50;
  EXPECT_EQ(loadDataset(opts).train.size(), 50u);
}

TEST_F(MnistFolder, TrainSubsetLargerThanTheFilesIsAConfigError) {
  DatasetOptions opts = options();
  opts.trainSubset = 51;
  const ConfigFailure failure = configFailure([&] { loadDataset(opts); });
  EXPECT_EQ(failure.flag, "--train-subset");
  EXPECT_TRUE(contains(failure.message, "51")) << failure.message;
  EXPECT_TRUE(contains(failure.message, "50")) << failure.message;
}

TEST_F(MnistFolder, TestSubsetLargerThanTheFilesIsAConfigError) {
  DatasetOptions opts = options();
  opts.testSubset = 31;
  const ConfigFailure failure = configFailure([&] { loadDataset(opts); });
  EXPECT_EQ(failure.flag, "--test-subset");
  EXPECT_TRUE(contains(failure.message, "30")) << failure.message;
}

TEST_F(MnistFolder, NegativeSubsetIsAConfigError) {
  DatasetOptions opts = options();
  opts.trainSubset = -1;
  EXPECT_EQ(configFailure([&] { loadDataset(opts); }).flag, "--train-subset");
  opts.trainSubset = 0;
  opts.testSubset = -5;
  EXPECT_EQ(configFailure([&] { loadDataset(opts); }).flag, "--test-subset");
}

TEST_F(MnistFolder, ValidationIsTheTailOfTheTrainingFiles) {
  DatasetOptions opts = options();
  opts.valFraction = 0.2;  // 10 of 50
  const DatasetSplits splits = loadDataset(opts);
  EXPECT_EQ(markers(splits.train), range(0, 40));
  EXPECT_EQ(markers(splits.validation), range(40, 50));
  EXPECT_EQ(splits.validation.labels[0], (3 * 40) % 10);
  EXPECT_EQ(splits.validation.channels, 1);
  EXPECT_EQ(splits.validation.height, 6);
  EXPECT_EQ(splits.validation.numClasses, 10);
  EXPECT_EQ(markers(splits.test), range(100, 130));  // the test split is untouched
}

TEST_F(MnistFolder, ValidationIsTheTailOfTheSubsetAndRounds) {
  DatasetOptions opts = options();
  opts.trainSubset = 33;
  opts.valFraction = 0.2;  // 6.6 rounds to 7
  const DatasetSplits splits = loadDataset(opts);
  EXPECT_EQ(markers(splits.train), range(0, 26));
  EXPECT_EQ(markers(splits.validation), range(26, 33));
}

TEST_F(MnistFolder, InvalidValidationFractions) {
  DatasetOptions opts = options();
  for (double fraction : {-0.1, 1.0, 1.5, std::nan("")}) {
    opts.valFraction = fraction;
    EXPECT_EQ(configFailure([&] { loadDataset(opts); }).flag, "--val-fraction") << fraction;
  }
  opts.valFraction = 0.005;  // 0.25 of an example: an empty validation set
  ConfigFailure failure = configFailure([&] { loadDataset(opts); });
  EXPECT_EQ(failure.flag, "--val-fraction");
  EXPECT_TRUE(contains(failure.message, "empty")) << failure.message;
  opts.valFraction = 0.995;  // 49.75 of 50 rounds to 50: nothing left to train on
  failure = configFailure([&] { loadDataset(opts); });
  EXPECT_EQ(failure.flag, "--val-fraction");
  EXPECT_TRUE(contains(failure.message, "no training")) << failure.message;
}

TEST_F(MnistFolder, LabelNoiseChangesExactlyTheRoundedCountOfTrainingLabels) {
  DatasetOptions opts = options();
  opts.valFraction = 0.2;
  const DatasetSplits clean = loadDataset(opts);
  opts.labelNoise = 0.3;  // 12 of the 40 training examples
  opts.seed = 2024;
  const DatasetSplits noisy = loadDataset(opts);

  EXPECT_EQ(noisy.noisyLabelCount, 12);
  ASSERT_EQ(noisy.train.size(), 40u);
  int changed = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    // Labels computed from the index, independently of any loader output.
    const std::int64_t original = static_cast<std::int64_t>((3 * i) % 10);
    EXPECT_EQ(clean.train.labels[i], original);
    EXPECT_GE(noisy.train.labels[i], 0);
    EXPECT_LT(noisy.train.labels[i], 10);
    if (noisy.train.labels[i] != original) ++changed;
  }
  EXPECT_EQ(changed, 12);
  // The mask the memorization metrics read is exactly the changed set, and the clean labels are the
  // index-computed ones (the validation tail is not in either).
  ASSERT_EQ(noisy.noisyLabelMask.size(), 40u);
  ASSERT_EQ(noisy.cleanTrainLabels.size(), 40u);
  int flagged = 0;
  for (std::size_t i = 0; i < 40; ++i) {
    const std::int64_t original = static_cast<std::int64_t>((3 * i) % 10);
    EXPECT_EQ(noisy.cleanTrainLabels[i], original) << i;
    EXPECT_EQ(noisy.noisyLabelMask[i] != 0, noisy.train.labels[i] != original) << i;
    flagged += noisy.noisyLabelMask[i];
  }
  EXPECT_EQ(flagged, 12);
  EXPECT_TRUE(clean.noisyLabelMask.empty());  // without label noise there is nothing to keep
  EXPECT_TRUE(clean.cleanTrainLabels.empty());
  EXPECT_EQ(noisy.validation.labels, clean.validation.labels);
  EXPECT_EQ(noisy.test.labels, clean.test.labels);
  EXPECT_TRUE(noisy.train.pixels == clean.train.pixels);
}

TEST_F(MnistFolder, LabelNoiseDependsOnlyOnTheSeed) {
  DatasetOptions opts = options();
  opts.labelNoise = 0.4;
  opts.seed = 7;
  const std::vector<std::int64_t> first = loadDataset(opts).train.labels;
  const std::vector<std::int64_t> again = loadDataset(opts).train.labels;
  opts.seed = 8;
  const std::vector<std::int64_t> otherSeed = loadDataset(opts).train.labels;
  EXPECT_EQ(first, again);
  EXPECT_NE(first, otherSeed);
}

TEST_F(MnistFolder, InvalidLabelNoise) {
  DatasetOptions opts = options();
  for (double rate : {-0.01, 1.01, std::nan("")}) {
    opts.labelNoise = rate;
    EXPECT_EQ(configFailure([&] { loadDataset(opts); }).flag, "--label-noise") << rate;
  }
  opts.labelNoise = 1.0;  // every training label changes
  EXPECT_EQ(loadDataset(opts).noisyLabelCount, 50);
}

TEST_F(MnistFolder, StatisticsCoverTheTrainingSplitOnly) {
  // Training files: 8 images of constant 10 then 2 of constant 250; the 2 become validation.
  ImageSet train = makeIndexedSet(10, 1, 4, 10, 0, 10);
  for (std::size_t i = 0; i < train.pixels.size(); ++i) train.pixels[i] = i < 8 * 16 ? 10 : 250;
  samscape::test::writeMnistDirectory(dir_.file("stats"), train, makeIndexedSet(3, 1, 4, 10),
                                      false);
  DatasetOptions opts = options();
  opts.dataDir = dir_.file("stats");
  opts.valFraction = 0.2;
  const DatasetSplits splits = loadDataset(opts);
  ASSERT_EQ(splits.trainStatistics.mean.size(), 1u);
  EXPECT_NEAR(splits.trainStatistics.mean[0], 10.0 / 255.0, 1e-12);
  EXPECT_NEAR(splits.trainStatistics.stddev[0], 0.0, 1e-9);
}

TEST_F(MnistFolder, TrainAndTestImagesOfDifferentSizesAreADataError) {
  samscape::test::writeMnistDirectory(dir_.file("mixed"), makeIndexedSet(5, 1, 6, 10),
                                      makeIndexedSet(5, 1, 7, 10), false);
  DatasetOptions opts = options();
  opts.dataDir = dir_.file("mixed");
  EXPECT_THROW(loadDataset(opts), DataError);
}

TEST(ChannelStatistics, MatchesAHandComputation) {
  // Two images, two channels, 1x2 pixels each.
  ImageSet images;
  images.channels = 2;
  images.height = 1;
  images.width = 2;
  images.numClasses = 2;
  images.labels = {0, 1};
  images.pixels = {0, 255, 10, 20,     // image 0: channel 0, then channel 1
                   255, 255, 30, 40};  // image 1
  const ChannelStatistics statistics = samscape::computeChannelStatistics(images);
  ASSERT_EQ(statistics.mean.size(), 2u);
  ASSERT_EQ(statistics.stddev.size(), 2u);
  // Channel 0 in [0, 1]: 0, 1, 1, 1 -> mean 0.75, population variance 0.1875.
  EXPECT_NEAR(statistics.mean[0], 0.75, 1e-12);
  EXPECT_NEAR(statistics.stddev[0], 0.4330127018922193, 1e-12);
  // Channel 1: 10, 20, 30, 40 -> mean 25, population variance 125 (in bytes).
  EXPECT_NEAR(statistics.mean[1], 25.0 / 255.0, 1e-12);
  EXPECT_NEAR(statistics.stddev[1], 11.180339887498949 / 255.0, 1e-12);
}

TEST(LabelNoise, RoundsTheCountAndAlwaysChangesTheLabel) {
  ImageSet images = makeIndexedSet(10, 1, 2, 4);
  const std::vector<std::int64_t> original = images.labels;
  EXPECT_EQ(samscape::applySymmetricLabelNoise(images, 0.25, 3), 3);  // 2.5 rounds to 3
  int changed = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images.labels[i] != original[i]) ++changed;
  }
  EXPECT_EQ(changed, 3);

  // The mask it hands back flags exactly the changed labels.
  ImageSet again = makeIndexedSet(10, 1, 2, 4);
  std::vector<std::uint8_t> flipped{9, 9};  // replaced, not appended to
  EXPECT_EQ(samscape::applySymmetricLabelNoise(again, 0.25, 3, &flipped), 3);
  EXPECT_EQ(again.labels, images.labels);  // the mask does not change what the seed draws
  ASSERT_EQ(flipped.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(flipped[i] != 0, again.labels[i] != original[i]) << i;

  ImageSet untouched = makeIndexedSet(10, 1, 2, 4);
  EXPECT_EQ(samscape::applySymmetricLabelNoise(untouched, 0.0, 3), 0);
  EXPECT_EQ(untouched.labels, original);
}

TEST(LabelNoise, NewLabelsAreUniformOverTheOtherClasses) {
  ImageSet images = makeIndexedSet(9000, 1, 1, 10);
  for (std::int64_t& label : images.labels) label = 4;
  EXPECT_EQ(samscape::applySymmetricLabelNoise(images, 1.0, 99), 9000);
  std::vector<int> perClass(10, 0);
  for (std::int64_t label : images.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++perClass[static_cast<std::size_t>(label)];
  }
  EXPECT_EQ(perClass[4], 0);
  for (int label = 0; label < 10; ++label) {
    if (label == 4) continue;
    // 1000 expected per class; the binomial standard deviation is about 30.
    EXPECT_NEAR(perClass[static_cast<std::size_t>(label)], 1000, 150) << "class " << label;
  }
}

TEST(LoadDataset, CifarNeedsADataDirectory) {
  DatasetOptions opts;
  opts.kind = DatasetKind::Cifar10;
  const ConfigFailure failure = configFailure([&] { loadDataset(opts); });
  EXPECT_EQ(failure.flag, "--data-dir");
  EXPECT_TRUE(contains(failure.message, "required for cifar10")) << failure.message;
}

TEST(LoadDataset, ReadsCifar10AndCifar100Folders) {
  TempDir dir;
  samscape::test::writeCifar10Directory(dir.file("c10/cifar-10-batches-bin"),
                                        makeSyntheticImageSet(12, 3, 32, 32, 10, 1),
                                        makeSyntheticImageSet(6, 3, 32, 32, 10, 2));
  samscape::test::writeCifar100Directory(dir.file("c100"),
                                         makeSyntheticImageSet(11, 3, 32, 32, 100, 3),
                                         makeSyntheticImageSet(5, 3, 32, 32, 100, 4));
  DatasetOptions opts;
  opts.kind = DatasetKind::Cifar10;
  opts.dataDir = dir.file("c10");
  opts.valFraction = 0.25;
  const DatasetSplits cifar10 = loadDataset(opts);
  EXPECT_EQ(cifar10.train.size(), 9u);
  EXPECT_EQ(cifar10.validation.size(), 3u);
  EXPECT_EQ(cifar10.test.size(), 6u);
  EXPECT_EQ(cifar10.train.channels, 3);
  EXPECT_EQ(cifar10.train.numClasses, 10);
  EXPECT_EQ(cifar10.trainStatistics.mean.size(), 3u);

  opts.kind = DatasetKind::Cifar100;
  opts.dataDir = dir.file("c100");
  opts.valFraction = 0.0;
  const DatasetSplits cifar100 = loadDataset(opts);
  EXPECT_EQ(cifar100.train.size(), 11u);
  EXPECT_EQ(cifar100.test.size(), 5u);
  EXPECT_EQ(cifar100.train.numClasses, 100);
}

TEST(LoadDataset, DefaultFashionMnistDirectory) {
  DatasetOptions opts;  // Fashion-MNIST, no directory
  if (!fs::exists(samscape::kDefaultFashionMnistDir)) {
    try {
      loadDataset(opts);
      FAIL() << "expected a DataError for the missing default folder";
    } catch (const DataError& error) {
      EXPECT_TRUE(contains(error.what(), "dataset-fashion-mnist")) << error.what();
    }
    return;
  }
  opts.trainSubset = 100;
  opts.testSubset = 50;
  const DatasetSplits splits = loadDataset(opts);
  EXPECT_EQ(splits.dataDir, samscape::kDefaultFashionMnistDir);
  EXPECT_EQ(splits.train.size(), 100u);
  EXPECT_EQ(splits.test.size(), 50u);
  EXPECT_EQ(splits.train.height, 28);
  EXPECT_EQ(splits.train.width, 28);
}

TEST(DatasetNames, RoundTripAndRejectUnknownNames) {
  for (DatasetKind kind : {DatasetKind::FashionMnist, DatasetKind::Mnist, DatasetKind::Cifar10,
                           DatasetKind::Cifar100}) {
    EXPECT_EQ(samscape::parseDatasetName(samscape::datasetName(kind)), kind);
  }
  EXPECT_EQ(samscape::datasetName(DatasetKind::FashionMnist), "fashion-mnist");
  EXPECT_EQ(samscape::parseDatasetName("cifar100"), DatasetKind::Cifar100);
  const ConfigFailure failure = configFailure([] { samscape::parseDatasetName("imagenet"); });
  EXPECT_EQ(failure.flag, "--dataset");
  EXPECT_TRUE(contains(failure.message, "imagenet")) << failure.message;
}

}  // namespace

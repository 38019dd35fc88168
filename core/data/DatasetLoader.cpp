#include "core/data/DatasetLoader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/Error.h"
#include "core/NumberFormat.h"
#include "core/data/DatasetReaders.h"

namespace samscape {
namespace {

// Rounds half away from zero, as std::llround does, for a non-negative count.
std::size_t roundedCount(double fraction, std::size_t total) {
  return static_cast<std::size_t>(std::llround(fraction * static_cast<double>(total)));
}

// A uniform integer in [0, bound) from the raw engine output. std::uniform_int_distribution is
// implementation-defined, so it would make "same seed, same noisy labels" depend on the standard
// library; rejection sampling on the engine (whose output the standard fixes) does not.
std::uint64_t uniformBelow(std::mt19937_64& engine, std::uint64_t bound) {
  // The largest multiple of `bound` that fits, so that every residue is equally likely.
  const std::uint64_t limit = std::uint64_t(-1) - (std::uint64_t(-1) % bound + 1) % bound;
  std::uint64_t draw = engine();
  while (draw > limit) draw = engine();
  return draw % bound;
}

ImageSet sameShapeEmpty(const ImageSet& shape) {
  ImageSet empty;
  empty.channels = shape.channels;
  empty.height = shape.height;
  empty.width = shape.width;
  empty.numClasses = shape.numClasses;
  return empty;
}

// The examples [first, first + count) of `source`, in order.
ImageSet slice(const ImageSet& source, std::size_t first, std::size_t count) {
  ImageSet part = sameShapeEmpty(source);
  const std::size_t bytes = source.imageBytes();
  part.labels.assign(source.labels.begin() + static_cast<std::ptrdiff_t>(first),
                     source.labels.begin() + static_cast<std::ptrdiff_t>(first + count));
  part.pixels.assign(source.pixels.begin() + static_cast<std::ptrdiff_t>(first * bytes),
                     source.pixels.begin() + static_cast<std::ptrdiff_t>((first + count) * bytes));
  return part;
}

void keepFirst(ImageSet& images, std::int64_t subset, const char* flag, const char* splitName) {
  if (subset <= 0) return;  // 0 means all; negative values were rejected by validateOptions
  const auto wanted = static_cast<std::size_t>(subset);
  if (wanted > images.size()) {
    throw ConfigError(flag, std::to_string(subset),
                      std::string("the ") + splitName + " files hold only " +
                          std::to_string(images.size()) + " examples");
  }
  images.labels.resize(wanted);
  images.pixels.resize(wanted * images.imageBytes());
}

void validateOptions(const DatasetOptions& options) {
  if (options.trainSubset < 0) {
    throw ConfigError("--train-subset", std::to_string(options.trainSubset),
                      "must be 0 (all examples) or a positive count");
  }
  if (options.testSubset < 0) {
    throw ConfigError("--test-subset", std::to_string(options.testSubset),
                      "must be 0 (all examples) or a positive count");
  }
  // Written so that NaN fails too.
  if (!(options.valFraction >= 0.0 && options.valFraction < 1.0)) {
    throw ConfigError("--val-fraction", shortNumber(options.valFraction), "must be in [0, 1)");
  }
  if (!(options.labelNoise >= 0.0 && options.labelNoise <= 1.0)) {
    throw ConfigError("--label-noise", shortNumber(options.labelNoise), "must be in [0, 1]");
  }
}

std::string resolveDataDir(const DatasetOptions& options) {
  if (!options.dataDir.empty()) return options.dataDir;
  if (options.kind == DatasetKind::FashionMnist) return kDefaultFashionMnistDir;
  throw ConfigError("--data-dir", "", "required for " + datasetName(options.kind));
}

ImageSet readSplit(DatasetKind kind, const std::string& directory, bool trainSplit) {
  switch (kind) {
    case DatasetKind::FashionMnist:
    case DatasetKind::Mnist:
      return readMnistDirectory(directory, trainSplit);
    case DatasetKind::Cifar10:
      return readCifar10Directory(directory, trainSplit);
    case DatasetKind::Cifar100:
      return readCifar100Directory(directory, trainSplit);
  }
  throw ConfigError("--dataset", std::to_string(static_cast<int>(kind)), "unknown dataset kind");
}

}  // namespace

std::string datasetName(DatasetKind kind) { return nameOf(kind); }

DatasetKind parseDatasetName(const std::string& name) {
  if (const auto kind = valueNamed<DatasetKind>(name)) return *kind;
  throw ConfigError("--dataset", name, "unknown dataset; expected " + joinNames(allNames<DatasetKind>()));
}

ChannelStatistics computeChannelStatistics(const ImageSet& images) {
  const auto channels = static_cast<std::size_t>(images.channels);
  const std::size_t planeBytes =
      static_cast<std::size_t>(images.height) * static_cast<std::size_t>(images.width);
  const std::size_t count = images.size();
  std::vector<double> sum(channels, 0.0);
  std::vector<double> sumOfSquares(channels, 0.0);
  for (std::size_t image = 0; image < count; ++image) {
    for (std::size_t channel = 0; channel < channels; ++channel) {
      const std::uint8_t* plane = images.pixels.data() + (image * channels + channel) * planeBytes;
      // Per-plane sums of bytes are exact in integers; only the totals need doubles.
      std::uint64_t planeSum = 0;
      std::uint64_t planeSumOfSquares = 0;
      for (std::size_t i = 0; i < planeBytes; ++i) {
        planeSum += plane[i];
        planeSumOfSquares += std::uint64_t{plane[i]} * plane[i];
      }
      sum[channel] += static_cast<double>(planeSum);
      sumOfSquares[channel] += static_cast<double>(planeSumOfSquares);
    }
  }
  ChannelStatistics statistics;
  statistics.mean.assign(channels, 0.0);
  statistics.stddev.assign(channels, 0.0);
  const double valuesPerChannel = static_cast<double>(count) * static_cast<double>(planeBytes);
  if (valuesPerChannel == 0.0) return statistics;
  for (std::size_t channel = 0; channel < channels; ++channel) {
    const double meanByte = sum[channel] / valuesPerChannel;
    const double varianceBytes = sumOfSquares[channel] / valuesPerChannel - meanByte * meanByte;
    // Population statistics of pixel / 255.
    statistics.mean[channel] = meanByte / 255.0;
    statistics.stddev[channel] = std::sqrt(std::max(varianceBytes, 0.0)) / 255.0;
  }
  return statistics;
}

std::int64_t applySymmetricLabelNoise(ImageSet& images, double rate, std::uint64_t seed,
                                      std::vector<std::uint8_t>* flipped) {
  if (!(rate >= 0.0 && rate <= 1.0)) {
    throw ConfigError("--label-noise", shortNumber(rate), "must be in [0, 1]");
  }
  const std::size_t total = images.size();
  if (flipped != nullptr) flipped->assign(total, 0);
  const std::size_t noisyCount = roundedCount(rate, total);
  if (noisyCount == 0) return 0;
  if (images.numClasses < 2) {
    throw ConfigError("--label-noise", shortNumber(rate),
                      "needs at least 2 classes to give an example a different label");
  }
  std::mt19937_64 engine(seed);
  // A partial Fisher-Yates shuffle: the first noisyCount positions end up holding a uniformly
  // chosen set of distinct indices.
  std::vector<std::size_t> order(total);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const auto otherClasses = static_cast<std::uint64_t>(images.numClasses - 1);
  for (std::size_t position = 0; position < noisyCount; ++position) {
    const std::size_t pick =
        position + static_cast<std::size_t>(uniformBelow(engine, total - position));
    std::swap(order[position], order[pick]);
    std::int64_t& label = images.labels[order[position]];
    if (flipped != nullptr) (*flipped)[order[position]] = 1;
    // Draw from the numClasses - 1 other labels by skipping over the current one.
    const auto draw = static_cast<std::int64_t>(uniformBelow(engine, otherClasses));
    label = draw < label ? draw : draw + 1;
  }
  return static_cast<std::int64_t>(noisyCount);
}

DatasetSplits loadDataset(const DatasetOptions& options) {
  validateOptions(options);
  DatasetSplits splits;
  splits.dataDir = resolveDataDir(options);

  ImageSet fullTrain = readSplit(options.kind, splits.dataDir, true);
  splits.test = readSplit(options.kind, splits.dataDir, false);
  if (fullTrain.channels != splits.test.channels || fullTrain.height != splits.test.height ||
      fullTrain.width != splits.test.width) {
    throw DataError(splits.dataDir,
                    "the training images are " + std::to_string(fullTrain.channels) + "x" +
                        std::to_string(fullTrain.height) + "x" + std::to_string(fullTrain.width) +
                        " but the test images are " + std::to_string(splits.test.channels) + "x" +
                        std::to_string(splits.test.height) + "x" +
                        std::to_string(splits.test.width));
  }
  keepFirst(fullTrain, options.trainSubset, "--train-subset", "training");
  keepFirst(splits.test, options.testSubset, "--test-subset", "test");

  const std::size_t available = fullTrain.size();
  const std::size_t validationCount = roundedCount(options.valFraction, available);
  if (options.valFraction > 0.0 && validationCount == 0) {
    throw ConfigError(
        "--val-fraction", shortNumber(options.valFraction),
        "gives an empty validation set for " + std::to_string(available) + " training examples");
  }
  if (validationCount >= available) {
    throw ConfigError("--val-fraction", shortNumber(options.valFraction),
                      "leaves no training examples out of " + std::to_string(available));
  }
  const std::size_t trainCount = available - validationCount;
  if (validationCount == 0) {
    splits.train = std::move(fullTrain);
    splits.validation = sameShapeEmpty(splits.train);
  } else {
    // The tail becomes validation, so a given subset always validates on the same examples.
    splits.validation = slice(fullTrain, trainCount, validationCount);
    splits.train = slice(fullTrain, 0, trainCount);
  }

  if (options.labelNoise > 0.0) splits.cleanTrainLabels = splits.train.labels;
  splits.noisyLabelCount = applySymmetricLabelNoise(splits.train, options.labelNoise, options.seed,
                                                    options.labelNoise > 0.0 ? &splits.noisyLabelMask : nullptr);
  splits.trainStatistics = computeChannelStatistics(splits.train);
  return splits;
}

}  // namespace samscape

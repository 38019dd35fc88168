#pragma once
// Loading a dataset from its standard files into train / validation / test splits, with the subset,
// validation-split and label-noise options of `samscape-cli train`. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/ImageSet.h"

namespace samscape {

// Where Debian's dataset-fashion-mnist package installs the IDX files.
inline constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct DatasetOptions {
  DatasetKind kind = DatasetKind::FashionMnist;
  // Empty means the default: kDefaultFashionMnistDir for Fashion-MNIST; required for the others.
  std::string dataDir;
  // The first N examples in file order; 0 means all. Asking for more than the files hold is an error.
  std::int64_t trainSubset = 0;
  std::int64_t testSubset = 0;
  // The last round(valFraction * n) examples of the (subset) training set become the validation
  // split, in file order. In [0, 1).
  double valFraction = 0.0;
  // Symmetric label noise: exactly round(labelNoise * n) training examples, chosen uniformly with the
  // seed, get a label drawn uniformly from the other classes. Validation and test labels stay clean.
  double labelNoise = 0.0;
  std::uint64_t seed = 0;
};

// Per-channel mean and standard deviation of the training pixels scaled to [0, 1].
struct ChannelStatistics {
  std::vector<double> mean;
  std::vector<double> stddev;
};

struct DatasetSplits {
  ImageSet train;
  ImageSet validation;  // empty when valFraction == 0
  ImageSet test;
  ChannelStatistics trainStatistics;  // of `train` after the split (before label noise, which is irrelevant)
  std::string dataDir;                // the directory actually read
  std::int64_t noisyLabelCount = 0;   // how many training labels label noise changed
  // With label noise (empty without): which training examples it changed (1) or left alone (0), and
  // every training example's label before the noise. The memorization metrics (train_acc_noisy,
  // train_acc_clean, train_acc_noisy_true) read both. Rebuilt from the seed at every load, so a
  // resumed run sees the same flipped set as the run it continues.
  std::vector<std::uint8_t> noisyLabelMask;
  std::vector<std::int64_t> cleanTrainLabels;
};

// Throws DataError (a file's path and what is wrong) or ConfigError (a flag and its value).
DatasetSplits loadDataset(const DatasetOptions& options);

// Exposed for tests and for analysis code that reads a split on its own.
ChannelStatistics computeChannelStatistics(const ImageSet& images);
// Returns the number of labels changed (== round(rate * size)). When `flipped` is given it becomes
// images.size() flags, 1 exactly at the examples whose label was changed.
std::int64_t applySymmetricLabelNoise(ImageSet& images, double rate, std::uint64_t seed,
                                      std::vector<std::uint8_t>* flipped = nullptr);

}  // namespace samscape

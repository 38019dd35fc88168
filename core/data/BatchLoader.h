#pragma once
// Turns an ImageSet into float mini-batches on a device: seeded shuffling, the SAM paper's basic
// augmentation (4-pixel zero padding, random crop, random horizontal flip) and per-channel
// normalization. LibTorch header: not for the GUI.

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "core/data/DatasetLoader.h"
#include "core/data/ImageSet.h"

namespace samscape {

struct BatchOptions {
  std::int64_t batchSize = 128;
  bool shuffle = true;
  bool augment = false;
  // Subtract the mean and divide by the std of `statistics`; otherwise pixels are only scaled to [0, 1].
  bool normalize = true;
  ChannelStatistics statistics;
  std::uint64_t seed = 0;
  torch::Device device = torch::kCPU;
};

struct Batch {
  torch::Tensor images;  // float [B, C, H, W] on the device
  torch::Tensor labels;  // int64 [B] on the device
};

class BatchLoader {
 public:
  // Keeps a reference to `images`: it must outlive the loader.
  BatchLoader(const ImageSet& images, BatchOptions options);

  // The last batch may be smaller than batchSize; it is never dropped.
  std::int64_t batchesPerEpoch() const;
  std::int64_t exampleCount() const { return static_cast<std::int64_t>(images_.size()); }
  // Draws the epoch's order (file order when shuffle is off).
  void startEpoch();
  Batch batch(std::int64_t index);
  // The state of the generator behind shuffling and augmentation, as text, for checkpoints.
  std::string randomState() const;
  void setRandomState(const std::string& state);  // throws Error on malformed text

 private:
  const ImageSet& images_;
  BatchOptions options_;
  std::mt19937_64 engine_;
  std::vector<std::int64_t> order_;
  torch::Tensor pixels_;  // uint8 [N, C, H, W], a view of images_.pixels
  torch::Tensor labels_;  // int64 [N]
};

// Scales uint8 pixels to [0, 1] and, when `normalize`, standardizes each channel with `statistics`.
torch::Tensor preprocessImages(const torch::Tensor& uint8Images, bool normalize,
                               const ChannelStatistics& statistics);

// A uniformly distributed integer in [0, bound) from a 64-bit engine, by rejection: unlike std::uniform_int_distribution it gives the same sequence with every standard
// library, so runs are reproducible across platforms.
std::uint64_t uniformBelow(std::mt19937_64& engine, std::uint64_t bound);

}  // namespace samscape

#include "core/data/BatchLoader.h"

#include <limits>
#include <sstream>
#include <numeric>

#include "core/Error.h"

namespace samscape {
namespace {
constexpr std::int64_t kPadding = 4;  // the SAM paper's (and the ResNet paper's) CIFAR augmentation
}

std::uint64_t uniformBelow(std::mt19937_64& engine, std::uint64_t bound) {
  // Reject the top partial block of 2^64 so that every residue is equally likely.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw = engine();
  while (draw >= limit) draw = engine();
  return draw % bound;
}

namespace {
// Standardizes each channel of float [N, C, H, W] images in place.
void standardizeChannels(torch::Tensor& images, const ChannelStatistics& statistics) {
  const auto channels = static_cast<std::int64_t>(statistics.mean.size());
  const auto mean = torch::tensor(std::vector<float>(statistics.mean.begin(), statistics.mean.end()))
                        .view({1, channels, 1, 1});
  const auto stddev = torch::tensor(std::vector<float>(statistics.stddev.begin(), statistics.stddev.end()))
                          .view({1, channels, 1, 1})
                          .clamp_min(1e-12);
  images.sub_(mean.to(images.device())).div_(stddev.to(images.device()));
}
}  // namespace

torch::Tensor preprocessImages(const torch::Tensor& uint8Images, bool normalize,
                               const ChannelStatistics& statistics) {
  torch::Tensor images = uint8Images.to(torch::kFloat32).div_(255.0);
  if (normalize) standardizeChannels(images, statistics);
  return images;
}

BatchLoader::BatchLoader(const ImageSet& images, BatchOptions options)
    : images_(images), options_(std::move(options)), engine_(options_.seed) {
  const auto count = static_cast<std::int64_t>(images_.size());
  // from_blob does not copy; the loader never writes through these views.
  pixels_ = torch::from_blob(const_cast<std::uint8_t*>(images_.pixels.data()),
                             {count, images_.channels, images_.height, images_.width}, torch::kUInt8);
  labels_ = torch::from_blob(const_cast<std::int64_t*>(images_.labels.data()), {count}, torch::kInt64);
  order_.resize(images_.size());
  std::iota(order_.begin(), order_.end(), 0);
}

std::int64_t BatchLoader::batchesPerEpoch() const {
  const auto count = static_cast<std::int64_t>(images_.size());
  // Without count + batchSize - 1, which overflows for a batch size near the int64 limit.
  return count / options_.batchSize + (count % options_.batchSize != 0 ? 1 : 0);
}

void BatchLoader::startEpoch() {
  std::iota(order_.begin(), order_.end(), 0);
  if (!options_.shuffle) return;
  // Fisher-Yates with a portable bounded draw.
  for (std::size_t i = order_.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(uniformBelow(engine_, i));
    std::swap(order_[i - 1], order_[j]);
  }
}

Batch BatchLoader::batch(std::int64_t index) {
  const auto count = static_cast<std::int64_t>(images_.size());
  const std::int64_t begin = index * options_.batchSize;
  const std::int64_t end = begin + std::min(options_.batchSize, count - begin);
  const std::int64_t size = end - begin;
  const auto indices = torch::from_blob(order_.data() + begin, {size}, torch::kInt64);

  torch::Tensor images = pixels_.index_select(0, indices).to(torch::kFloat32).div_(255.0);
  if (options_.augment) {
    const auto height = images_.height;
    const auto width = images_.width;
    // Zero padding in [0, 1] pixel space (black), as torchvision's RandomCrop(padding=4) does before
    // normalization.
    const torch::Tensor padded =
        torch::constant_pad_nd(images, {kPadding, kPadding, kPadding, kPadding}, 0.0);
    torch::Tensor cropped = torch::empty_like(images);
    for (std::int64_t i = 0; i < size; ++i) {
      const auto top = static_cast<std::int64_t>(uniformBelow(engine_, 2 * kPadding + 1));
      const auto left = static_cast<std::int64_t>(uniformBelow(engine_, 2 * kPadding + 1));
      const bool flip = uniformBelow(engine_, 2) == 1;
      torch::Tensor crop = padded[i].narrow(1, top, height).narrow(2, left, width);
      cropped[i].copy_(flip ? crop.flip({2}) : crop);
    }
    images = cropped;
  }
  if (options_.normalize) standardizeChannels(images, options_.statistics);
  return {images.to(options_.device), labels_.index_select(0, indices).to(options_.device)};
}

std::string BatchLoader::randomState() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void BatchLoader::setRandomState(const std::string& state) {
  std::istringstream in(state);
  in >> engine_;
  if (!in) throw Error("malformed data-order generator state in the checkpoint");
}

}  // namespace samscape

#pragma once
// Examples [begin, begin + count) of a set as a set of their own, so that each chunk of an analysis
// (m-sharpness' chunks, adaptive sharpness' batches) is an objective of its own: a copy of those
// images, small next to the passes over them. No LibTorch.

#include <cstdint>

#include "core/data/ImageSet.h"

namespace samscape {

inline ImageSet imageRange(const ImageSet& images, std::int64_t begin, std::int64_t count) {
  ImageSet range;
  range.channels = images.channels;
  range.height = images.height;
  range.width = images.width;
  range.numClasses = images.numClasses;
  const auto bytes = static_cast<std::int64_t>(images.imageBytes());
  range.pixels.assign(images.pixels.begin() + begin * bytes, images.pixels.begin() + (begin + count) * bytes);
  range.labels.assign(images.labels.begin() + begin, images.labels.begin() + begin + count);
  return range;
}

}  // namespace samscape

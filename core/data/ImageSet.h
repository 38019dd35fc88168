#pragma once
// Plain value types for image classification data, with no LibTorch in them so that every module
// (and the GUI) can pass them around.

#include <cstdint>
#include <string>
#include <vector>

#include "core/NamedEnum.h"

namespace samscape {

// Images stored as raw bytes in N x C x H x W order (channel-planar, as CIFAR stores them and as
// LibTorch wants them), with one class label per image.
struct ImageSet {
  int channels = 0;
  int height = 0;
  int width = 0;
  int numClasses = 0;
  std::vector<std::uint8_t> pixels;  // size() == size() * channels * height * width
  std::vector<std::int64_t> labels;  // each in [0, numClasses)

  std::size_t size() const { return labels.size(); }
  std::size_t imageBytes() const {
    return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) *
           static_cast<std::size_t>(width);
  }
};

enum class DatasetKind { FashionMnist, Mnist, Cifar10, Cifar100 };
inline const EnumNames<DatasetKind>& names(DatasetKind) {
  static const EnumNames<DatasetKind> list{{DatasetKind::FashionMnist, "fashion-mnist"},
                                           {DatasetKind::Mnist, "mnist"},
                                           {DatasetKind::Cifar10, "cifar10"},
                                           {DatasetKind::Cifar100, "cifar100"}};
  return list;
}

// "fashion-mnist", "mnist", "cifar10", "cifar100"
std::string datasetName(DatasetKind kind);
// Throws ConfigError naming --dataset for an unknown name.
DatasetKind parseDatasetName(const std::string& name);

}  // namespace samscape

#include "tests/support/SyntheticData.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace samscape::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kCifarPixelBytes = 3072;

// Only the engine's raw output is used (never std::*_distribution, whose results differ between
// standard libraries), so the same seed gives the same data everywhere.
std::uint32_t drawBelow(std::mt19937& engine, std::uint32_t bound) {
  return static_cast<std::uint32_t>(engine() % bound);  // the bias is irrelevant for test data
}

void appendBigEndian32(std::vector<std::uint8_t>& bytes, std::uint32_t value) {
  bytes.push_back(static_cast<std::uint8_t>(value >> 24));
  bytes.push_back(static_cast<std::uint8_t>(value >> 16));
  bytes.push_back(static_cast<std::uint8_t>(value >> 8));
  bytes.push_back(static_cast<std::uint8_t>(value));
}

std::uint8_t labelByte(std::int64_t label) {
  // Out-of-range labels are written on purpose by the malformed-file tests, so only what cannot be
  // stored in a byte is refused.
  if (label < 0 || label > 255) {
    throw std::invalid_argument("label " + std::to_string(label) + " does not fit in a byte");
  }
  return static_cast<std::uint8_t>(label);
}

void writeBytes(const std::string& path, const std::vector<std::uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    if (file == nullptr) throw std::runtime_error("cannot create " + path);
    const int written =
        bytes.empty() ? 0 : gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    const int closed = gzclose(file);
    if (written != static_cast<int>(bytes.size()) || closed != Z_OK) {
      throw std::runtime_error("cannot write " + path);
    }
    return;
  }
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  stream.close();
  if (!stream) throw std::runtime_error("cannot write " + path);
}

void requireCifarShape(const ImageSet& images, const char* what) {
  if (images.channels != 3 || images.height != 32 || images.width != 32) {
    throw std::invalid_argument(std::string(what) + ": CIFAR images must be 3x32x32");
  }
}

// Appends records [first, first + count): the label byte(s) then the image's 3072 pixel bytes.
void appendCifarRecords(std::vector<std::uint8_t>& bytes, const ImageSet& images, std::size_t first,
                        std::size_t count, bool withCoarseLabel) {
  for (std::size_t index = first; index < first + count; ++index) {
    const std::uint8_t fine = labelByte(images.labels[index]);
    if (withCoarseLabel) bytes.push_back(static_cast<std::uint8_t>(fine / 5));
    bytes.push_back(fine);
    const auto start =
        images.pixels.begin() + static_cast<std::ptrdiff_t>(index * kCifarPixelBytes);
    bytes.insert(bytes.end(), start, start + static_cast<std::ptrdiff_t>(kCifarPixelBytes));
  }
}

}  // namespace

ImageSet makeSyntheticImageSet(int count, int channels, int height, int width, int numClasses,
                               std::uint32_t seed) {
  if (count < 0 || channels < 1 || height < 1 || width < 1 || numClasses < 1) {
    throw std::invalid_argument("makeSyntheticImageSet: non-positive size");
  }
  std::mt19937 engine(seed);
  ImageSet images;
  images.channels = channels;
  images.height = height;
  images.width = width;
  images.numClasses = numClasses;

  // Labels cycle through a seeded permutation of the classes, so every class is present as soon
  // as count >= numClasses, while the order still depends on the seed.
  std::vector<int> classOrder(static_cast<std::size_t>(numClasses));
  std::iota(classOrder.begin(), classOrder.end(), 0);
  for (std::size_t i = classOrder.size(); i > 1; --i) {
    std::swap(classOrder[i - 1], classOrder[drawBelow(engine, static_cast<std::uint32_t>(i))]);
  }

  const auto rows = static_cast<std::size_t>(height);
  const auto columns = static_cast<std::size_t>(width);
  images.labels.reserve(static_cast<std::size_t>(count));
  images.pixels.reserve(static_cast<std::size_t>(count) * images.imageBytes());
  for (int index = 0; index < count; ++index) {
    const int label = classOrder[static_cast<std::size_t>(index % numClasses)];
    images.labels.push_back(label);
    // The class is drawn as a bright horizontal stripe and a bright vertical stripe whose positions
    // encode it; everything else is dim noise, so even a linear model can separate the classes.
    const std::size_t stripeRow = static_cast<std::size_t>(label) % rows;
    const std::size_t stripeColumn = (static_cast<std::size_t>(label) / rows) % columns;
    for (int channel = 0; channel < channels; ++channel) {
      for (std::size_t row = 0; row < rows; ++row) {
        for (std::size_t column = 0; column < columns; ++column) {
          const bool onStripe = row == stripeRow || column == stripeColumn;
          const std::uint32_t base = onStripe ? 200 : 0;
          images.pixels.push_back(static_cast<std::uint8_t>(base + drawBelow(engine, 56)));
        }
      }
    }
  }
  return images;
}

void writeIdxImages(const std::string& path, const ImageSet& images, bool gzip) {
  if (images.channels != 1) throw std::invalid_argument("IDX images must have one channel");
  std::vector<std::uint8_t> bytes;
  bytes.reserve(16 + images.pixels.size());
  appendBigEndian32(bytes, 0x00000803);
  appendBigEndian32(bytes, static_cast<std::uint32_t>(images.size()));
  appendBigEndian32(bytes, static_cast<std::uint32_t>(images.height));
  appendBigEndian32(bytes, static_cast<std::uint32_t>(images.width));
  bytes.insert(bytes.end(), images.pixels.begin(), images.pixels.end());
  writeBytes(path, bytes, gzip);
}

void writeIdxLabels(const std::string& path, const ImageSet& images, bool gzip) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(8 + images.size());
  appendBigEndian32(bytes, 0x00000801);
  appendBigEndian32(bytes, static_cast<std::uint32_t>(images.size()));
  for (std::int64_t label : images.labels) bytes.push_back(labelByte(label));
  writeBytes(path, bytes, gzip);
}

void writeMnistDirectory(const std::string& directory, const ImageSet& train, const ImageSet& test,
                         bool gzip) {
  fs::create_directories(directory);
  const std::string suffix = gzip ? ".gz" : "";
  const fs::path folder(directory);
  writeIdxImages((folder / ("train-images-idx3-ubyte" + suffix)).string(), train, gzip);
  writeIdxLabels((folder / ("train-labels-idx1-ubyte" + suffix)).string(), train, gzip);
  writeIdxImages((folder / ("t10k-images-idx3-ubyte" + suffix)).string(), test, gzip);
  writeIdxLabels((folder / ("t10k-labels-idx1-ubyte" + suffix)).string(), test, gzip);
}

void writeCifar10Directory(const std::string& directory, const ImageSet& train,
                           const ImageSet& test) {
  requireCifarShape(train, "writeCifar10Directory train");
  requireCifarShape(test, "writeCifar10Directory test");
  constexpr std::size_t kBatches = 5;
  // The reader rejects empty batch files, so each of the five needs at least one record.
  if (train.size() < kBatches || test.size() == 0) {
    throw std::invalid_argument("writeCifar10Directory needs >= 5 train and >= 1 test images");
  }
  fs::create_directories(directory);
  const fs::path folder(directory);
  // As even as possible; the first (size % 5) batches get one record more.
  std::size_t first = 0;
  for (std::size_t batch = 0; batch < kBatches; ++batch) {
    const std::size_t count = train.size() / kBatches + (batch < train.size() % kBatches ? 1 : 0);
    std::vector<std::uint8_t> bytes;
    appendCifarRecords(bytes, train, first, count, false);
    writeBytes((folder / ("data_batch_" + std::to_string(batch + 1) + ".bin")).string(), bytes,
               false);
    first += count;
  }
  std::vector<std::uint8_t> testBytes;
  appendCifarRecords(testBytes, test, 0, test.size(), false);
  writeBytes((folder / "test_batch.bin").string(), testBytes, false);
}

void writeCifar100Directory(const std::string& directory, const ImageSet& train,
                            const ImageSet& test) {
  requireCifarShape(train, "writeCifar100Directory train");
  requireCifarShape(test, "writeCifar100Directory test");
  fs::create_directories(directory);
  const fs::path folder(directory);
  std::vector<std::uint8_t> trainBytes;
  appendCifarRecords(trainBytes, train, 0, train.size(), true);
  writeBytes((folder / "train.bin").string(), trainBytes, false);
  std::vector<std::uint8_t> testBytes;
  appendCifarRecords(testBytes, test, 0, test.size(), true);
  writeBytes((folder / "test.bin").string(), testBytes, false);
}

}  // namespace samscape::test

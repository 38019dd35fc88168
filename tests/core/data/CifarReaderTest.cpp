// The CIFAR-10 / CIFAR-100 binary readers: hand-built batches with known contents, round trips
// through the synthetic writers (batches folder and its parent), and malformed files.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/data/DatasetReaders.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace {

namespace fs = std::filesystem;
using samscape::DataError;
using samscape::ImageSet;
using samscape::readCifar100Directory;
using samscape::readCifar10Directory;
using samscape::test::makeSyntheticImageSet;
using samscape::test::TempDir;
using samscape::test::writeCifar100Directory;
using samscape::test::writeCifar10Directory;

using samscape::test::Bytes;
const auto dataErrorMessage = samscape::test::messageOf<samscape::DataError>;
using samscape::test::expectContains;
using samscape::test::readBytes;
using samscape::test::writeRaw;
constexpr std::size_t kPixelBytes = 3 * 32 * 32;





void expectSameImages(const ImageSet& actual, const ImageSet& expected) {
  EXPECT_EQ(actual.channels, 3);
  EXPECT_EQ(actual.height, 32);
  EXPECT_EQ(actual.width, 32);
  EXPECT_EQ(actual.labels, expected.labels);
  EXPECT_TRUE(actual.pixels == expected.pixels) << "pixels differ";
}

// One record's pixels: byte i of the record is (i + offset) mod 256, so every record is distinct
// and the planar order can be checked by position.
Bytes patternPixels(int offset) {
  Bytes pixels(kPixelBytes);
  for (std::size_t i = 0; i < kPixelBytes; ++i) {
    pixels[i] = static_cast<std::uint8_t>((i + static_cast<std::size_t>(offset)) % 256);
  }
  return pixels;
}

TEST(Cifar10Reader, ReadsHandBuiltBatchesInOrder) {
  TempDir dir;
  // Batch b (1..5) holds one record with label b - 1 and pixel pattern offset b; the test batch
  // holds two records with labels 9 and 0.
  for (int batch = 1; batch <= 5; ++batch) {
    Bytes record = {static_cast<std::uint8_t>(batch - 1)};
    const Bytes pixels = patternPixels(batch);
    record.insert(record.end(), pixels.begin(), pixels.end());
    writeRaw(dir.file("data_batch_" + std::to_string(batch) + ".bin"), record);
  }
  Bytes testBytes = {9};
  const Bytes first = patternPixels(100);
  testBytes.insert(testBytes.end(), first.begin(), first.end());
  testBytes.push_back(0);
  const Bytes second = patternPixels(200);
  testBytes.insert(testBytes.end(), second.begin(), second.end());
  writeRaw(dir.file("test_batch.bin"), testBytes);

  const ImageSet train = readCifar10Directory(dir.path().string(), true);
  EXPECT_EQ(train.numClasses, 10);
  EXPECT_EQ(train.channels, 3);
  EXPECT_EQ(train.height, 32);
  EXPECT_EQ(train.width, 32);
  EXPECT_EQ(train.labels, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(train.pixels.size(), 5 * kPixelBytes);
  for (int batch = 1; batch <= 5; ++batch) {
    const auto start =
        train.pixels.begin() + static_cast<std::ptrdiff_t>((batch - 1) * kPixelBytes);
    EXPECT_TRUE(Bytes(start, start + kPixelBytes) == patternPixels(batch)) << "batch " << batch;
  }

  const ImageSet test = readCifar10Directory(dir.path().string(), false);
  EXPECT_EQ(test.labels, (std::vector<std::int64_t>{9, 0}));
  ASSERT_EQ(test.pixels.size(), 2 * kPixelBytes);
  EXPECT_EQ(test.pixels[0], 100);
  EXPECT_EQ(test.pixels[kPixelBytes], 200);
  // Green plane of the second image starts 1024 bytes into it: (1024 + 200) mod 256.
  EXPECT_EQ(test.pixels[kPixelBytes + 1024], (1024 + 200) % 256);
}

TEST(Cifar10Reader, RoundTripsUnevenBatches) {
  TempDir dir;
  const ImageSet train = makeSyntheticImageSet(23, 3, 32, 32, 10, 31);
  const ImageSet test = makeSyntheticImageSet(7, 3, 32, 32, 10, 32);
  writeCifar10Directory(dir.path().string(), train, test);

  // 23 records over 5 batches: 5, 5, 5, 4, 4.
  const std::vector<std::uintmax_t> expectedRecords = {5, 5, 5, 4, 4};
  for (int batch = 1; batch <= 5; ++batch) {
    EXPECT_EQ(fs::file_size(dir.file("data_batch_" + std::to_string(batch) + ".bin")),
              expectedRecords[static_cast<std::size_t>(batch - 1)] * 3073);
  }
  EXPECT_EQ(fs::file_size(dir.file("test_batch.bin")), 7u * 3073);

  expectSameImages(readCifar10Directory(dir.path().string(), true), train);
  expectSameImages(readCifar10Directory(dir.path().string(), false), test);
}

TEST(Cifar10Reader, AcceptsTheParentOfTheBatchesFolder) {
  TempDir dir;
  const ImageSet train = makeSyntheticImageSet(10, 3, 32, 32, 10, 33);
  const ImageSet test = makeSyntheticImageSet(4, 3, 32, 32, 10, 34);
  writeCifar10Directory(dir.file("cifar-10-batches-bin"), train, test);
  expectSameImages(readCifar10Directory(dir.path().string(), true), train);
  expectSameImages(readCifar10Directory(dir.path().string(), false), test);
}

TEST(Cifar100Reader, RoundTripsAndWritesCoarseLabels) {
  TempDir dir;
  const ImageSet train = makeSyntheticImageSet(150, 3, 32, 32, 100, 41);
  const ImageSet test = makeSyntheticImageSet(20, 3, 32, 32, 100, 42);
  writeCifar100Directory(dir.path().string(), train, test);

  const Bytes trainBytes = readBytes(dir.file("train.bin"));
  ASSERT_EQ(trainBytes.size(), 150u * 3074);
  for (std::size_t record = 0; record < 150; ++record) {
    const std::uint8_t coarse = trainBytes[record * 3074];
    const std::uint8_t fine = trainBytes[record * 3074 + 1];
    EXPECT_EQ(fine, train.labels[record]);
    EXPECT_EQ(coarse, fine / 5);
  }

  const ImageSet readTrain = readCifar100Directory(dir.path().string(), true);
  EXPECT_EQ(readTrain.numClasses, 100);
  expectSameImages(readTrain, train);
  expectSameImages(readCifar100Directory(dir.path().string(), false), test);
}

TEST(Cifar100Reader, UsesFineLabelsOfHandBuiltRecords) {
  TempDir dir;
  Bytes record = {19, 97};  // coarse 19, fine 97
  const Bytes pixels = patternPixels(3);
  record.insert(record.end(), pixels.begin(), pixels.end());
  writeRaw(dir.file("test.bin"), record);
  const ImageSet test = readCifar100Directory(dir.path().string(), false);
  EXPECT_EQ(test.labels, (std::vector<std::int64_t>{97}));
  EXPECT_TRUE(test.pixels == pixels);
}

TEST(Cifar100Reader, AcceptsTheParentFolder) {
  TempDir dir;
  const ImageSet train = makeSyntheticImageSet(12, 3, 32, 32, 100, 43);
  const ImageSet test = makeSyntheticImageSet(5, 3, 32, 32, 100, 44);
  writeCifar100Directory(dir.file("cifar-100-binary"), train, test);
  expectSameImages(readCifar100Directory(dir.path().string(), true), train);
  expectSameImages(readCifar100Directory(dir.path().string(), false), test);
}

// A valid CIFAR-10 folder that each test then damages.
class Cifar10Files : public ::testing::Test {
 protected:
  void SetUp() override {
    writeCifar10Directory(dir_.path().string(), makeSyntheticImageSet(10, 3, 32, 32, 10, 51),
                          makeSyntheticImageSet(3, 3, 32, 32, 10, 52));
  }
  std::string errorReading(bool trainSplit) {
    return dataErrorMessage([&] { readCifar10Directory(dir_.path().string(), trainSplit); });
  }
  TempDir dir_;
};

TEST_F(Cifar10Files, TruncatedBatch) {
  fs::resize_file(dir_.file("test_batch.bin"), 3 * 3073 - 1);
  expectContains(errorReading(false), {dir_.file("test_batch.bin"), "truncated"});
}

TEST_F(Cifar10Files, LabelOutOfRange) {
  Bytes batch = readBytes(dir_.file("data_batch_3.bin"));
  batch[3073] = 10;  // label of the second record
  writeRaw(dir_.file("data_batch_3.bin"), batch);
  EXPECT_NO_THROW(readCifar10Directory(dir_.path().string(), false));
  expectContains(errorReading(true),
                 {dir_.file("data_batch_3.bin"), "label 10", "record 1", "out of range"});
}

TEST_F(Cifar10Files, MissingBatch) {
  fs::remove(dir_.file("data_batch_4.bin"));
  expectContains(errorReading(true), {"data_batch_4.bin", "missing"});
}

TEST_F(Cifar10Files, EmptyBatch) {
  fs::resize_file(dir_.file("data_batch_2.bin"), 0);
  expectContains(errorReading(true), {dir_.file("data_batch_2.bin"), "empty"});
}

TEST(Cifar10Errors, MissingDirectory) {
  TempDir dir;
  const std::string missing = dir.file("cifar-nowhere");
  const std::string message = dataErrorMessage([&] { readCifar10Directory(missing, true); });
  expectContains(message, {missing, "missing"});
}

TEST(Cifar10Errors, FolderWithoutBatches) {
  TempDir dir;
  const std::string message =
      dataErrorMessage([&] { readCifar10Directory(dir.path().string(), false); });
  expectContains(message, {"test_batch.bin", "missing", "cifar-10-batches-bin"});
}

TEST(Cifar100Errors, TruncatedFile) {
  TempDir dir;
  writeCifar100Directory(dir.path().string(), makeSyntheticImageSet(4, 3, 32, 32, 100, 61),
                         makeSyntheticImageSet(2, 3, 32, 32, 100, 62));
  Bytes train = readBytes(dir.file("train.bin"));
  train.resize(train.size() + 100);  // a partial fifth record
  writeRaw(dir.file("train.bin"), train);
  const std::string message =
      dataErrorMessage([&] { readCifar100Directory(dir.path().string(), true); });
  expectContains(message, {dir.file("train.bin"), "truncated", "3074"});
}

TEST(Cifar100Errors, FineLabelOutOfRange) {
  TempDir dir;
  ImageSet test = makeSyntheticImageSet(3, 3, 32, 32, 100, 63);
  test.labels[2] = 100;
  writeCifar100Directory(dir.path().string(), makeSyntheticImageSet(2, 3, 32, 32, 100, 64), test);
  const std::string message =
      dataErrorMessage([&] { readCifar100Directory(dir.path().string(), false); });
  expectContains(message, {dir.file("test.bin"), "label 100", "record 2", "out of range"});
}

TEST(Cifar100Errors, CoarseLabelOutOfRange) {
  TempDir dir;
  Bytes record = {20, 3};
  record.resize(3074, 0);
  writeRaw(dir.file("test.bin"), record);
  const std::string message =
      dataErrorMessage([&] { readCifar100Directory(dir.path().string(), false); });
  expectContains(message, {dir.file("test.bin"), "coarse label 20", "out of range"});
}

TEST(Cifar100Errors, MissingFile) {
  TempDir dir;
  const std::string message =
      dataErrorMessage([&] { readCifar100Directory(dir.path().string(), true); });
  expectContains(message, {"train.bin", "missing"});
}

}  // namespace

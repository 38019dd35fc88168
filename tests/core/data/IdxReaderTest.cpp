// The IDX (MNIST / Fashion-MNIST) reader: hand-built files with known contents, round trips through
// the synthetic writers (raw and gzip), the standard directory layout, and every malformed case the
// reader promises to report as a DataError naming the file and the problem.

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "core/data/DatasetReaders.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace {

namespace fs = std::filesystem;
using samscape::DataError;
using samscape::ImageSet;
using samscape::readIdxPair;
using samscape::readMnistDirectory;
using samscape::test::makeSyntheticImageSet;
using samscape::test::TempDir;
using samscape::test::writeIdxImages;
using samscape::test::writeIdxLabels;
using samscape::test::writeMnistDirectory;

using samscape::test::Bytes;
const auto dataErrorMessage = samscape::test::messageOf<samscape::DataError>;
using samscape::test::expectContains;
using samscape::test::readBytes;
using samscape::test::writeRaw;



void writeGzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}



void expectSameImages(const ImageSet& actual, const ImageSet& expected) {
  EXPECT_EQ(actual.channels, expected.channels);
  EXPECT_EQ(actual.height, expected.height);
  EXPECT_EQ(actual.width, expected.width);
  EXPECT_EQ(actual.labels, expected.labels);
  EXPECT_TRUE(actual.pixels == expected.pixels) << "pixels differ";
}

// Header of an idx3-ubyte file: magic, count, rows, columns, all big-endian.
Bytes imagesHeader(std::uint8_t count, std::uint8_t rows, std::uint8_t columns) {
  return {0, 0, 8, 3, 0, 0, 0, count, 0, 0, 0, rows, 0, 0, 0, columns};
}

Bytes labelsHeader(std::uint8_t count) { return {0, 0, 8, 1, 0, 0, 0, count}; }

Bytes concat(Bytes first, const Bytes& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}

// A small valid pair used by the malformed-file tests, which then damage one of the two files.
class IdxPairFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = makeSyntheticImageSet(12, 1, 4, 3, 10, 7);
    writeIdxImages(imagesPath(), images_, false);
    writeIdxLabels(labelsPath(), images_, false);
  }
  std::string imagesPath() const { return dir_.file("images-idx3-ubyte"); }
  std::string labelsPath() const { return dir_.file("labels-idx1-ubyte"); }
  std::string readError() {
    return dataErrorMessage([this] { readIdxPair(imagesPath(), labelsPath()); });
  }

  TempDir dir_;
  ImageSet images_;
};

TEST(IdxReader, ReadsHandBuiltFileWithKnownContents) {
  TempDir dir;
  // Two 3-row by 2-column images; pixel values 1..12 in row-major order.
  const Bytes pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  writeRaw(dir.file("images"), concat(imagesHeader(2, 3, 2), pixels));
  writeRaw(dir.file("labels"), concat(labelsHeader(2), {7, 3}));

  const ImageSet images = readIdxPair(dir.file("images"), dir.file("labels"));
  EXPECT_EQ(images.channels, 1);
  EXPECT_EQ(images.height, 3);
  EXPECT_EQ(images.width, 2);
  EXPECT_EQ(images.numClasses, 10);
  EXPECT_EQ(images.size(), 2u);
  EXPECT_EQ(images.pixels, pixels);
  EXPECT_EQ(images.labels, (std::vector<std::int64_t>{7, 3}));
}

TEST(IdxReader, ReadsMultiByteBigEndianCounts) {
  TempDir dir;
  // 300 = 0x0000012C one-pixel images: a little-endian reader would see 0x2C010000 of them.
  constexpr int kCount = 300;
  Bytes pixels(kCount);
  Bytes labels(kCount);
  for (int i = 0; i < kCount; ++i) {
    pixels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 251);
    labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i % 10);
  }
  writeRaw(dir.file("images"),
           concat({0, 0, 8, 3, 0, 0, 0x01, 0x2C, 0, 0, 0, 1, 0, 0, 0, 1}, pixels));
  writeRaw(dir.file("labels"), concat({0, 0, 8, 1, 0, 0, 0x01, 0x2C}, labels));

  const ImageSet images = readIdxPair(dir.file("images"), dir.file("labels"));
  ASSERT_EQ(images.size(), 300u);
  EXPECT_EQ(images.pixels, pixels);
  EXPECT_EQ(images.labels[299], 9);
}

TEST(IdxReader, WriterProducesBigEndianMnistHeaders) {
  TempDir dir;
  const ImageSet images = makeSyntheticImageSet(3, 1, 2, 5, 10, 1);
  writeIdxImages(dir.file("images"), images, false);
  writeIdxLabels(dir.file("labels"), images, false);

  const Bytes imageBytes = readBytes(dir.file("images"));
  ASSERT_EQ(imageBytes.size(), 16u + 3 * 2 * 5);
  EXPECT_EQ(Bytes(imageBytes.begin(), imageBytes.begin() + 16), imagesHeader(3, 2, 5));
  EXPECT_EQ(Bytes(imageBytes.begin() + 16, imageBytes.end()), images.pixels);

  const Bytes labelBytes = readBytes(dir.file("labels"));
  ASSERT_EQ(labelBytes.size(), 8u + 3);
  EXPECT_EQ(Bytes(labelBytes.begin(), labelBytes.begin() + 8), labelsHeader(3));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(labelBytes[8 + i], images.labels[i]);
}

TEST(IdxReader, RoundTripsRawFiles) {
  TempDir dir;
  const ImageSet images = makeSyntheticImageSet(37, 1, 5, 7, 10, 11);
  writeIdxImages(dir.file("images"), images, false);
  writeIdxLabels(dir.file("labels"), images, false);
  expectSameImages(readIdxPair(dir.file("images"), dir.file("labels")), images);
}

TEST(IdxReader, RoundTripsGzippedFiles) {
  TempDir dir;
  const ImageSet images = makeSyntheticImageSet(41, 1, 6, 4, 10, 12);
  writeIdxImages(dir.file("images.gz"), images, true);
  writeIdxLabels(dir.file("labels.gz"), images, true);
  // Really gzip, so the test exercises decompression and not the transparent raw path.
  const Bytes compressed = readBytes(dir.file("images.gz"));
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(compressed[0], 0x1f);
  EXPECT_EQ(compressed[1], 0x8b);
  expectSameImages(readIdxPair(dir.file("images.gz"), dir.file("labels.gz")), images);
}

TEST(IdxReader, AcceptsNamesWithOrWithoutGzSuffix) {
  TempDir dir;
  const ImageSet images = makeSyntheticImageSet(9, 1, 3, 3, 10, 13);
  writeIdxImages(dir.file("images.gz"), images, true);  // asked for without .gz below
  writeIdxLabels(dir.file("labels"), images, false);    // asked for with .gz below
  expectSameImages(readIdxPair(dir.file("images"), dir.file("labels.gz")), images);
}

TEST(IdxReader, HonoursNumClasses) {
  TempDir dir;
  writeRaw(dir.file("images"), concat(imagesHeader(2, 1, 1), {0, 0}));
  writeRaw(dir.file("labels"), concat(labelsHeader(2), {4, 2}));
  EXPECT_EQ(readIdxPair(dir.file("images"), dir.file("labels"), 5).numClasses, 5);
  const std::string message =
      dataErrorMessage([&] { readIdxPair(dir.file("images"), dir.file("labels"), 4); });
  expectContains(message, {dir.file("labels"), "label 4", "index 0", "out of range"});
}

class MnistDirectory : public ::testing::TestWithParam<bool> {};

TEST_P(MnistDirectory, ReadsStandardFileNames) {
  const bool gzip = GetParam();
  TempDir dir;
  const ImageSet train = makeSyntheticImageSet(30, 1, 28, 28, 10, 21);
  const ImageSet test = makeSyntheticImageSet(20, 1, 28, 28, 10, 22);
  writeMnistDirectory(dir.file("mnist"), train, test, gzip);
  EXPECT_TRUE(fs::exists(
      dir.file(gzip ? "mnist/train-images-idx3-ubyte.gz" : "mnist/train-images-idx3-ubyte")));

  const ImageSet readTrain = readMnistDirectory(dir.file("mnist"), true);
  const ImageSet readTest = readMnistDirectory(dir.file("mnist"), false);
  expectSameImages(readTrain, train);
  expectSameImages(readTest, test);
  EXPECT_EQ(readTrain.numClasses, 10);
  EXPECT_EQ(readTest.numClasses, 10);
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, MnistDirectory, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Gzip") : std::string("Raw");
                         });

TEST_F(IdxPairFiles, UndamagedPairReads) {
  expectSameImages(readIdxPair(imagesPath(), labelsPath()), images_);
}

TEST_F(IdxPairFiles, WrongMagicNamesFoundAndExpected) {
  // The labels file where the images file belongs: a classic mix-up.
  const std::string message = dataErrorMessage([this] { readIdxPair(labelsPath(), labelsPath()); });
  expectContains(message, {labelsPath(), "magic", "0x00000801", "0x00000803"});
}

TEST_F(IdxPairFiles, WrongLabelMagic) {
  const std::string message = dataErrorMessage([this] { readIdxPair(imagesPath(), imagesPath()); });
  expectContains(message, {imagesPath(), "magic", "0x00000803", "0x00000801"});
}

TEST_F(IdxPairFiles, TruncatedImages) {
  fs::resize_file(imagesPath(), fs::file_size(imagesPath()) - 5);
  expectContains(readError(), {imagesPath(), "truncated"});
}

TEST_F(IdxPairFiles, TruncatedGzippedImages) {
  // A well-formed gzip stream whose content stops early, as a partial download of the raw file.
  Bytes content = readBytes(imagesPath());
  content.resize(content.size() - 13);
  fs::remove(imagesPath());
  writeGzip(imagesPath() + ".gz", content);
  const std::string message =
      dataErrorMessage([this] { readIdxPair(imagesPath() + ".gz", labelsPath()); });
  expectContains(message, {imagesPath() + ".gz", "truncated"});
}

TEST_F(IdxPairFiles, CutGzipStream) {
  // A gzip file cut in the middle of its compressed stream.
  const ImageSet large = makeSyntheticImageSet(200, 1, 28, 28, 10, 3);
  writeIdxImages(dir_.file("large.gz"), large, true);
  writeIdxLabels(dir_.file("large-labels"), large, false);
  fs::resize_file(dir_.file("large.gz"), fs::file_size(dir_.file("large.gz")) / 2);
  const std::string message =
      dataErrorMessage([this] { readIdxPair(dir_.file("large.gz"), dir_.file("large-labels")); });
  expectContains(message, {dir_.file("large.gz"), "truncated"});
}

TEST_F(IdxPairFiles, TruncatedLabels) {
  fs::resize_file(labelsPath(), fs::file_size(labelsPath()) - 1);
  expectContains(readError(), {labelsPath(), "truncated"});
}

TEST_F(IdxPairFiles, TruncatedHeader) {
  fs::resize_file(imagesPath(), 10);
  expectContains(readError(), {imagesPath(), "truncated header"});
}

TEST_F(IdxPairFiles, ExtraBytesAfterData) {
  Bytes content = readBytes(labelsPath());
  content.push_back(0);
  writeRaw(labelsPath(), content);
  expectContains(readError(), {labelsPath(), "extra bytes"});
}

TEST_F(IdxPairFiles, CountMismatchNamesBothFilesAndCounts) {
  ImageSet fewer = images_;
  fewer.labels.pop_back();
  writeIdxLabels(labelsPath(), fewer, false);
  expectContains(readError(), {imagesPath(), labelsPath(), "12 images", "11 labels"});
}

TEST_F(IdxPairFiles, LabelOutOfRangeNamesIndexAndValue) {
  ImageSet damaged = images_;
  damaged.labels[5] = 10;
  writeIdxLabels(labelsPath(), damaged, false);
  expectContains(readError(), {labelsPath(), "label 10", "index 5", "out of range"});
}

TEST_F(IdxPairFiles, ZeroDimension) {
  writeRaw(imagesPath(), imagesHeader(12, 0, 3));
  expectContains(readError(), {imagesPath(), "zero"});
}

TEST_F(IdxPairFiles, MissingFile) {
  fs::remove(labelsPath());
  expectContains(readError(), {labelsPath(), "missing"});
}

TEST_F(IdxPairFiles, DirectoryInsteadOfFile) {
  fs::remove(labelsPath());
  fs::create_directory(labelsPath());
  expectContains(readError(), {labelsPath(), "directory"});
}

TEST(MnistDirectoryErrors, MissingFileInDirectoryIsNamed) {
  TempDir dir;
  const ImageSet images = makeSyntheticImageSet(10, 1, 4, 4, 10, 5);
  writeMnistDirectory(dir.file("mnist"), images, images, true);
  fs::remove(dir.file("mnist/t10k-labels-idx1-ubyte.gz"));
  EXPECT_NO_THROW(readMnistDirectory(dir.file("mnist"), true));
  const std::string message =
      dataErrorMessage([&] { readMnistDirectory(dir.file("mnist"), false); });
  expectContains(message, {"t10k-labels-idx1-ubyte", "missing"});
}

TEST(MnistDirectoryErrors, MissingDirectory) {
  TempDir dir;
  const std::string missing = dir.file("no-such-folder");
  const std::string message = dataErrorMessage([&] { readMnistDirectory(missing, true); });
  expectContains(message, {missing, "missing"});
}

TEST(MnistDirectoryErrors, MissingDefaultDirectoryNamesTheDebianPackage) {
  if (fs::exists(samscape::kDefaultFashionMnistDir)) {
    GTEST_SKIP() << "the default Fashion-MNIST folder exists on this machine";
  }
  const std::string message =
      dataErrorMessage([] { readMnistDirectory(samscape::kDefaultFashionMnistDir, true); });
  expectContains(message, {samscape::kDefaultFashionMnistDir, "missing", "dataset-fashion-mnist"});
}

TEST(RealFashionMnist, TestSplitHasTheKnownShape) {
  if (!fs::exists(samscape::kDefaultFashionMnistDir)) {
    GTEST_SKIP() << samscape::kDefaultFashionMnistDir
                 << " is absent (Debian package dataset-fashion-mnist)";
  }
  const ImageSet test = readMnistDirectory(samscape::kDefaultFashionMnistDir, false);
  EXPECT_EQ(test.size(), 10000u);
  EXPECT_EQ(test.channels, 1);
  EXPECT_EQ(test.height, 28);
  EXPECT_EQ(test.width, 28);
  EXPECT_EQ(test.pixels.size(), 10000u * 28 * 28);
  std::vector<int> perClass(10, 0);
  for (std::int64_t label : test.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++perClass[static_cast<std::size_t>(label)];
  }
  // Fashion-MNIST's test split is balanced: 1000 of each class.
  for (int count : perClass) EXPECT_EQ(count, 1000);
}

}  // namespace

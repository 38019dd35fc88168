#pragma once
// Small datasets written in the real on-disk formats, so that readers, trainer and CLI are tested
// on files exactly like the ones users have, without shipping data.

#include <cstdint>
#include <string>

#include "core/data/ImageSet.h"

namespace samscape::test {

// `count` images whose pixels depend on the label (so a model can learn them) plus seeded noise;
// labels cycle through the classes in a seeded order.
ImageSet makeSyntheticImageSet(int count, int channels, int height, int width, int numClasses,
                               std::uint32_t seed);

// IDX files exactly as MNIST ships them (big-endian header; gzip when `gzip`).
void writeIdxImages(const std::string& path, const ImageSet& images, bool gzip);
void writeIdxLabels(const std::string& path, const ImageSet& images, bool gzip);
// train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-... in `directory` (created).
void writeMnistDirectory(const std::string& directory, const ImageSet& train, const ImageSet& test,
                         bool gzip);
// CIFAR-10 binary batches: train split over data_batch_1.bin ... data_batch_5.bin, test_batch.bin.
void writeCifar10Directory(const std::string& directory, const ImageSet& train, const ImageSet& test);
// CIFAR-100 binary: train.bin, test.bin (coarse label written as fine / 5).
void writeCifar100Directory(const std::string& directory, const ImageSet& train, const ImageSet& test);

}  // namespace samscape::test

#pragma once
// Readers for the standard on-disk formats. Every malformed input (missing file or directory, wrong
// magic number, truncated data, image and label counts that disagree, a label out of range) throws
// DataError naming the file and the problem: never a crash, never a silently shorter dataset.

#include <string>

#include "core/data/ImageSet.h"

namespace samscape {

// MNIST / Fashion-MNIST IDX files (idx3 images, idx1 labels), gzipped or raw: the file may be named
// with or without ".gz" and either form is accepted.
ImageSet readIdxPair(const std::string& imagesPath, const std::string& labelsPath, int numClasses = 10);

// The standard file names in `directory`: train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz],
// t10k-images-idx3-ubyte[.gz] / t10k-labels-idx1-ubyte[.gz].
ImageSet readMnistDirectory(const std::string& directory, bool trainSplit);

// CIFAR-10 binary version: data_batch_1.bin ... data_batch_5.bin (train), test_batch.bin (test);
// each record is 1 label byte then 3072 bytes of 32x32 R, G, B planes. `directory` may be the
// cifar-10-batches-bin folder itself or the folder that contains it.
ImageSet readCifar10Directory(const std::string& directory, bool trainSplit);

// CIFAR-100 binary version: train.bin / test.bin; each record is a coarse label byte, a fine label
// byte, then 3072 pixel bytes. The 100 fine labels are used. `directory` may be cifar-100-binary
// itself or the folder that contains it.
ImageSet readCifar100Directory(const std::string& directory, bool trainSplit);

}  // namespace samscape

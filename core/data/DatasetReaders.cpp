#include "core/data/DatasetReaders.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "core/Error.h"
#include "core/data/DatasetLoader.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kIdxImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t kIdxLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr const char* kGzipSuffix = ".gz";

constexpr int kCifarChannels = 3;
constexpr int kCifarSide = 32;
constexpr std::size_t kCifarPixelBytes = 3072;
constexpr const char* kCifar10Subfolder = "cifar-10-batches-bin";
constexpr const char* kCifar100Subfolder = "cifar-100-binary";
constexpr int kCifar10TrainBatches = 5;
constexpr int kCifar100CoarseClasses = 20;
constexpr int kCifar100FineClasses = 100;

std::string hexMagic(std::uint32_t value) {
  std::array<char, 16> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "0x%08X", static_cast<unsigned>(value));
  return buffer.data();
}

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The default Fashion-MNIST folder is only present when the Debian package is installed, so a
// missing file there almost always means the package is missing: say so.
std::string installHint(const std::string& directory) {
  fs::path normal = fs::path(directory).lexically_normal();
  if (!normal.has_filename()) normal = normal.parent_path();  // "dir/" names the same folder
  if (normal != fs::path(kDefaultFashionMnistDir)) return "";
  return " (install the Debian package dataset-fashion-mnist, or pass --data-dir)";
}

void requireDirectory(const std::string& directory) {
  std::error_code error;
  const fs::file_status status = fs::status(directory, error);
  if (!fs::exists(status)) {
    throw DataError(directory, "directory is missing" + installHint(directory));
  }
  if (!fs::is_directory(status)) throw DataError(directory, "is not a directory");
}

void requireReadableFileShape(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) throw DataError(path, "is a directory, not a data file");
}

// IDX files are shipped gzipped but often unpacked by users, so `path` and its ".gz" twin are both
// tried; the name as given wins when both exist.
std::string resolveIdxPath(const std::string& path) {
  std::error_code error;
  if (fs::exists(path, error)) return path;
  const std::string twin = endsWith(path, kGzipSuffix)
                               ? path.substr(0, path.size() - std::strlen(kGzipSuffix))
                               : path + kGzipSuffix;
  if (fs::exists(twin, error)) return twin;
  const std::string directory = fs::path(path).parent_path().string();
  throw DataError(path, "file is missing (neither it nor " + fs::path(twin).filename().string() +
                            " exists)" + installHint(directory));
}

// Owns a gzFile. gzread also reads uncompressed files transparently, so one code path serves both.
class GzipReader {
 public:
  explicit GzipReader(const std::string& path) : path_(path) {
    requireReadableFileShape(path);
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      const std::string reason = errno != 0 ? std::strerror(errno) : "out of memory";
      throw DataError(path, "cannot be opened: " + reason);
    }
    gzbuffer(file_, 1u << 18);
  }
  ~GzipReader() { gzclose(file_); }
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  // Reads up to `count` bytes into `destination`; returns how many were read, which is fewer only
  // at the end of the data (or where a damaged gzip stream stops decoding).
  std::size_t read(std::uint8_t* destination, std::size_t count) {
    std::size_t total = 0;
    while (total < count) {
      // gzread takes an unsigned int length, so large payloads are read in chunks.
      const std::size_t chunk = std::min<std::size_t>(count - total, 1u << 30);
      const int got = gzread(file_, destination + total, static_cast<unsigned>(chunk));
      if (got < 0) {
        if (total > 0) break;  // report the shortfall as truncation below
        throw DataError(path_, "cannot be decoded: " + zlibError());
      }
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    return total;
  }

  std::uint32_t readBigEndian32(const char* fieldName) {
    std::array<std::uint8_t, 4> bytes{};
    if (read(bytes.data(), bytes.size()) != bytes.size()) {
      throw DataError(path_, std::string("truncated header: file ends before the ") + fieldName);
    }
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  }

  // Reads exactly `count` payload bytes; `what` describes them for the truncation message.
  std::vector<std::uint8_t> readPayload(std::uint64_t count, const std::string& what) {
    std::vector<std::uint8_t> payload;
    // A corrupt header could promise terabytes: grow with the data actually present rather than
    // trusting the header for the allocation. Hence at most one chunk is reserved up front: reserving
    // up to 1 GiB on the header's word made a 20-byte file allocate that much (std::bad_alloc where
    // memory is limited, found by tests/fuzz); a real file grows geometrically, chunk by chunk.
    constexpr std::uint64_t kChunk = 1u << 24;
    payload.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, kChunk)));
    std::uint64_t total = 0;
    while (total < count) {
      const std::size_t want = static_cast<std::size_t>(std::min(count - total, kChunk));
      payload.resize(static_cast<std::size_t>(total) + want);
      const std::size_t got = read(payload.data() + total, want);
      total += got;
      if (got < want) break;
    }
    if (total < count) {
      std::string detail = "truncated: the header promises " + std::to_string(count) +
                           " bytes of " + what + " but only " + std::to_string(total) +
                           " are present";
      const std::string decodeProblem = zlibError();
      if (!decodeProblem.empty()) detail += " (" + decodeProblem + ")";
      throw DataError(path_, detail);
    }
    return payload;
  }

  // Data after the promised payload means the header and the file disagree, so the file is not what
  // it claims to be; one extra read makes this cheap to detect.
  void requireEnd() {
    std::uint8_t extra = 0;
    if (read(&extra, 1) != 0) {
      throw DataError(path_, "unexpected extra bytes after the data the header describes");
    }
  }

 private:
  std::string zlibError() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_OK || message == nullptr) return "";
    if (code == Z_ERRNO) return std::strerror(errno);
    // zlib prefixes its messages with the path, which DataError already shows.
    std::string text = message;
    const std::string prefix = path_ + ": ";
    if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
    return text;
  }

  std::string path_;
  gzFile file_ = nullptr;
};

void requireMagic(std::uint32_t found, std::uint32_t expected, const std::string& path,
                  const char* kind) {
  if (found == expected) return;
  throw DataError(path, "wrong magic number " + hexMagic(found) + " (expected " +
                            hexMagic(expected) + " for an " + kind + " file)");
}

ImageSet readIdxImages(const std::string& path) {
  GzipReader reader(path);
  requireMagic(reader.readBigEndian32("magic number"), kIdxImagesMagic, path, "IDX image");
  const std::uint32_t count = reader.readBigEndian32("image count");
  const std::uint32_t rows = reader.readBigEndian32("row count");
  const std::uint32_t columns = reader.readBigEndian32("column count");
  if (count == 0) throw DataError(path, "holds zero images");
  if (rows == 0 || columns == 0) {
    throw DataError(path, "zero image dimension (" + std::to_string(rows) + "x" +
                              std::to_string(columns) + ")");
  }
  constexpr std::uint32_t kMaxSide = 1u << 15;  // keeps rows * columns well inside an int
  if (rows > kMaxSide || columns > kMaxSide) {
    throw DataError(path, "implausible image dimensions " + std::to_string(rows) + "x" +
                              std::to_string(columns));
  }
  ImageSet images;
  images.channels = 1;
  images.height = static_cast<int>(rows);
  images.width = static_cast<int>(columns);
  images.pixels = reader.readPayload(std::uint64_t{count} * rows * columns,
                                     "pixels for " + std::to_string(count) + " images");
  reader.requireEnd();
  return images;
}

std::vector<std::uint8_t> readIdxLabels(const std::string& path) {
  GzipReader reader(path);
  requireMagic(reader.readBigEndian32("magic number"), kIdxLabelsMagic, path, "IDX label");
  const std::uint32_t count = reader.readBigEndian32("label count");
  if (count == 0) throw DataError(path, "holds zero labels");
  std::vector<std::uint8_t> labels = reader.readPayload(count, "labels");
  reader.requireEnd();
  return labels;
}

// Copies byte labels into `images`, rejecting any outside [0, numClasses).
void assignLabels(ImageSet& images, const std::vector<std::uint8_t>& labelBytes,
                  std::size_t firstIndex, int numClasses, const std::string& labelsPath,
                  const char* indexWord) {
  for (std::size_t i = 0; i < labelBytes.size(); ++i) {
    const int label = labelBytes[i];
    if (label >= numClasses) {
      throw DataError(labelsPath, "label " + std::to_string(label) + " at " + indexWord + " " +
                                      std::to_string(firstIndex + i) + " is out of range [0, " +
                                      std::to_string(numClasses) + ")");
    }
    images.labels.push_back(label);
  }
}

std::string joinPath(const std::string& directory, const std::string& name) {
  return (fs::path(directory) / name).string();
}

// The folder as downloaded, or its parent: whichever holds the batches.
std::string resolveCifarDirectory(const std::string& directory, const char* subfolder) {
  requireDirectory(directory);
  const fs::path nested = fs::path(directory) / subfolder;
  std::error_code error;
  if (fs::is_directory(nested, error)) return nested.string();
  return directory;
}

std::vector<std::uint8_t> readWholeCifarFile(const std::string& path, std::size_t recordBytes,
                                             const std::string& folderHint) {
  std::error_code error;
  if (!fs::exists(path, error)) throw DataError(path, "file is missing" + folderHint);
  requireReadableFileShape(path);
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) throw DataError(path, "cannot be read: " + error.message());
  if (size == 0) throw DataError(path, "is empty");
  if (size % recordBytes != 0) {
    throw DataError(path, "truncated or not a CIFAR binary batch: its " + std::to_string(size) +
                              " bytes are not a whole number of " + std::to_string(recordBytes) +
                              "-byte records");
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw DataError(path, "cannot be opened: " + std::string(std::strerror(errno)));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  stream.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(stream.gcount()) != size) {
    throw DataError(path, "truncated: only " + std::to_string(stream.gcount()) + " of " +
                              std::to_string(size) + " bytes could be read");
  }
  return bytes;
}

ImageSet emptyCifarSet(int numClasses) {
  ImageSet images;
  images.channels = kCifarChannels;
  images.height = kCifarSide;
  images.width = kCifarSide;
  images.numClasses = numClasses;
  return images;
}

// Appends every record of one CIFAR file. `labelBytes` is 1 (CIFAR-10: the label) or 2 (CIFAR-100:
// coarse then fine, the fine one being used).
void appendCifarFile(ImageSet& images, const std::string& path, std::size_t labelBytes,
                     const std::string& folderHint) {
  const std::size_t recordBytes = labelBytes + kCifarPixelBytes;
  const std::vector<std::uint8_t> bytes = readWholeCifarFile(path, recordBytes, folderHint);
  const std::size_t records = bytes.size() / recordBytes;
  // No exact reserve here: CIFAR-10 appends five files, and growing geometrically copies less than
  // reserving exactly for each one in turn.
  for (std::size_t record = 0; record < records; ++record) {
    const std::uint8_t* start = bytes.data() + record * recordBytes;
    const int label = start[labelBytes - 1];
    if (label >= images.numClasses) {
      throw DataError(path, "label " + std::to_string(label) + " of record " +
                                std::to_string(record) + " is out of range [0, " +
                                std::to_string(images.numClasses) + ")");
    }
    if (labelBytes == 2 && start[0] >= kCifar100CoarseClasses) {
      throw DataError(path, "coarse label " + std::to_string(start[0]) + " of record " +
                                std::to_string(record) + " is out of range [0, " +
                                std::to_string(kCifar100CoarseClasses) + ")");
    }
    images.labels.push_back(label);
    images.pixels.insert(images.pixels.end(), start + labelBytes, start + recordBytes);
  }
}

std::string cifarFolderHint(const std::string& directory, const char* subfolder) {
  return " (expected the binary version in " + directory + " or in " +
         joinPath(directory, subfolder) + ")";
}

}  // namespace

ImageSet readIdxPair(const std::string& imagesPath, const std::string& labelsPath, int numClasses) {
  if (numClasses < 1 || numClasses > 256) {
    throw std::invalid_argument("readIdxPair: numClasses must be in [1, 256], got " +
                                std::to_string(numClasses));
  }
  const std::string resolvedImages = resolveIdxPath(imagesPath);
  const std::string resolvedLabels = resolveIdxPath(labelsPath);
  ImageSet images = readIdxImages(resolvedImages);
  const std::vector<std::uint8_t> labelBytes = readIdxLabels(resolvedLabels);
  const std::size_t imageCount = images.pixels.size() / images.imageBytes();
  if (labelBytes.size() != imageCount) {
    throw DataError(resolvedImages, "holds " + std::to_string(imageCount) + " images but " +
                                        resolvedLabels + " holds " +
                                        std::to_string(labelBytes.size()) +
                                        " labels: the counts must match");
  }
  images.numClasses = numClasses;
  images.labels.reserve(imageCount);
  assignLabels(images, labelBytes, 0, numClasses, resolvedLabels, "index");
  return images;
}

ImageSet readMnistDirectory(const std::string& directory, bool trainSplit) {
  requireDirectory(directory);
  const std::string prefix = trainSplit ? "train" : "t10k";
  return readIdxPair(joinPath(directory, prefix + "-images-idx3-ubyte"),
                     joinPath(directory, prefix + "-labels-idx1-ubyte"), 10);
}

ImageSet readCifar10Directory(const std::string& directory, bool trainSplit) {
  const std::string batches = resolveCifarDirectory(directory, kCifar10Subfolder);
  const std::string hint = cifarFolderHint(directory, kCifar10Subfolder);
  ImageSet images = emptyCifarSet(10);
  if (trainSplit) {
    for (int batch = 1; batch <= kCifar10TrainBatches; ++batch) {
      appendCifarFile(images, joinPath(batches, "data_batch_" + std::to_string(batch) + ".bin"), 1,
                      hint);
    }
  } else {
    appendCifarFile(images, joinPath(batches, "test_batch.bin"), 1, hint);
  }
  return images;
}

ImageSet readCifar100Directory(const std::string& directory, bool trainSplit) {
  const std::string folder = resolveCifarDirectory(directory, kCifar100Subfolder);
  const std::string hint = cifarFolderHint(directory, kCifar100Subfolder);
  ImageSet images = emptyCifarSet(kCifar100FineClasses);
  appendCifarFile(images, joinPath(folder, trainSplit ? "train.bin" : "test.bin"), 2, hint);
  return images;
}

}  // namespace samscape

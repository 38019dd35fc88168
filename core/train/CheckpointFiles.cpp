#include "core/train/CheckpointFiles.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/Error.h"

namespace samscape {
namespace fs = std::filesystem;

std::vector<std::string> completeCheckpoints(const std::string& checkpointsDir) {
  std::vector<std::string> found;
  std::error_code error;
  if (!fs::is_directory(checkpointsDir, error)) return found;
  for (const auto& entry : fs::directory_iterator(checkpointsDir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("epoch-", 0) == 0 && name.find(".tmp") == std::string::npos) {
      found.push_back(entry.path().string());
    }
  }
  std::sort(found.begin(), found.end());  // epoch-NNN: zero-padded, so by epoch
  return found;
}

std::string latestCheckpoint(const std::string& checkpointsDir) {
  const fs::path latest = fs::path(checkpointsDir) / "latest";
  std::ifstream in(latest);
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) {
    throw Error(latest.string() + ": no checkpoint to resume from (the run has not completed an epoch)");
  }
  // `latest` holds the name of a directory beside it (epoch-NNN), nothing else: a damaged one must not
  // lead elsewhere. A NUL byte cuts the path short at the system call ("\0\0\0\0\0\1\0\0" + "1" named
  // the checkpoints folder itself, found by tests/fuzz); a '/' or ".." would leave the folder. The
  // error_code overload: a name too long for the file system is a missing checkpoint, not an exception.
  if (name.find_first_of(std::string("/\0", 2)) != std::string::npos || name == "." || name == "..") {
    throw Error(latest.string() + ": does not hold the name of a checkpoint directory (epoch-NNN)");
  }
  const fs::path directory = fs::path(checkpointsDir) / name;
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    throw Error(directory.string() + ": checkpoint named by 'latest' is missing");
  }
  return directory.string();
}

}  // namespace samscape

#include "core/AtomicFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/Error.h"

namespace samscape {

void writeFileAtomically(const std::string& path, const std::string& content) {
  // A name of this writer's own: two writers of one path (two processes, two threads) never write into
  // each other's temporary file, and the last rename wins whole.
  static std::atomic<unsigned long> counter{0};
  const std::string temporary =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor < 0) throw Error(temporary + ": cannot open for writing: " + std::strerror(errno));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t count = ::write(descriptor, content.data() + written, content.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      const std::string problem = std::strerror(errno);
      ::close(descriptor);
      std::remove(temporary.c_str());
      throw Error(temporary + ": write failed: " + problem);
    }
    written += static_cast<std::size_t>(count);
  }
  // Synced before the rename: otherwise a power cut can leave the new name on an empty file.
  const bool synced = ::fsync(descriptor) == 0;
  const std::string syncProblem = synced ? "" : std::strerror(errno);
  ::close(descriptor);
  if (!synced) {
    std::remove(temporary.c_str());
    throw Error(temporary + ": cannot flush to the disk: " + syncProblem);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string problem = std::strerror(errno);
    std::remove(temporary.c_str());
    throw Error(path + ": cannot replace the file: " + problem);
  }
}

}  // namespace samscape

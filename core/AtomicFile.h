#pragma once
// Replacing a file so that a crash at any moment leaves either the old file or the whole new one:
// written beside it (PATH.tmp.PID.N), flushed to the disk, then renamed over it. Every writer of run files,
// analysis files and exports goes through this. Plain C++ and POSIX: the store and the widgets use it
// without LibTorch (library samscape_files).

#include <string>

namespace samscape {

// Throws Error naming the path when the file cannot be written or replaced.
void writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace samscape

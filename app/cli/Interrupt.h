#pragma once
// Ctrl-C for long commands: while an InterruptScope lives, the first SIGINT only sets a flag that the
// trainer and the analyses check between steps (so they stop cleanly and keep their files); a second
// SIGINT kills the process the usual way.

#include <atomic>

namespace samscape::cli {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const std::atomic<bool>* flag() const;
  bool interrupted() const;
};

}  // namespace samscape::cli

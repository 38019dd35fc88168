#include "cli/Interrupt.h"

#include <csignal>

namespace samscape::cli {
namespace {

std::atomic<bool> interruptRequested{false};

extern "C" void onInterrupt(int) {
  interruptRequested.store(true);
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace

InterruptScope::InterruptScope() {
  interruptRequested.store(false);
  std::signal(SIGINT, onInterrupt);
}

InterruptScope::~InterruptScope() { std::signal(SIGINT, SIG_DFL); }

const std::atomic<bool>* InterruptScope::flag() const { return &interruptRequested; }

bool InterruptScope::interrupted() const { return interruptRequested.load(); }

}  // namespace samscape::cli

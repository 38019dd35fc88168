#pragma once
// Process-wide settings of the compute runtime: thread count, device names, library versions.
// No LibTorch in this header.

#include <string>

namespace samscape {

// Sets LibTorch's intra-op thread count: `requested`, or every core when it is 0. Debian's LibTorch
// starts with one thread, so without this a run uses a fraction of the machine. Returns the count set.
// Throws ConfigError naming --threads for a negative value.
int configureThreads(int requested);

// Checks "cpu", "cuda" or "cuda:N" against what this LibTorch build and machine offer.
// Throws ConfigError naming --device.
void checkDeviceName(const std::string& device);
// The same check's problem (without flag and value), or empty for a usable device.
std::string deviceNameProblem(const std::string& device);

// The memory this process may use, in bytes: the machine's physical memory, or its cgroup's limit
// (a container, a systemd slice) when that is lower. The bound every size option is checked against.
double machineMemoryBytes();

// The most threads --threads takes: more would only oversubscribe the cores, and a mistyped count
// (2147483647) would make LibTorch's pools try to start that many.
constexpr int kMaxThreads = 1024;

struct RuntimeInfo {
  std::string samscapeVersion;
  std::string torchVersion;
  bool cudaAvailable = false;
  int cudaDeviceCount = 0;
  std::string compiler;
  int threads = 0;
};
RuntimeInfo runtimeInfo();

}  // namespace samscape

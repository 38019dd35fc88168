#include "core/Runtime.h"

#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <thread>

#include "core/Error.h"

namespace samscape {

int configureThreads(int requested) {
  if (requested < 0) {
    throw ConfigError("--threads", std::to_string(requested), "must be 0 (every core) or positive");
  }
  if (requested > kMaxThreads) {
    throw ConfigError("--threads", std::to_string(requested), "at most " + std::to_string(kMaxThreads));
  }
  int threads = requested;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  return threads;
}

double machineMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long pageSize = ::sysconf(_SC_PAGESIZE);
  double bytes = pages > 0 && pageSize > 0 ? static_cast<double>(pages) * static_cast<double>(pageSize) : 0.0;
  // cgroup v2 ("max" when unlimited), then v1 (a huge number when unlimited).
  for (const char* limitFile : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(limitFile);
    double limit = 0.0;
    if (in >> limit && limit > 0.0 && (bytes <= 0.0 || limit < bytes)) bytes = limit;
  }
  return bytes;
}

void checkDeviceName(const std::string& device) {
  // At most 9 digits: an index std::stol can read (and no machine has a billion devices).
  static const std::regex pattern(R"(cpu|cuda(:[0-9]{1,9})?)");
  if (!std::regex_match(device, pattern)) {
    throw ConfigError("--device", device, "expected cpu, cuda or cuda:N");
  }
  if (device == "cpu") return;
  if (!torch::cuda::is_available()) {
    throw ConfigError("--device", device,
                      "this LibTorch build has no CUDA support or no CUDA device is visible");
  }
  const auto colon = device.find(':');
  if (colon != std::string::npos) {
    const long index = std::stol(device.substr(colon + 1));
    const auto count = static_cast<long>(torch::cuda::device_count());
    if (index >= count) {
      throw ConfigError("--device", device,
                        "only " + std::to_string(count) + " CUDA device(s) are visible");
    }
  }
}

std::string deviceNameProblem(const std::string& device) {
  try {
    checkDeviceName(device);
  } catch (const ConfigError& error) {
    return error.problem();
  }
  return "";
}

RuntimeInfo runtimeInfo() {
  RuntimeInfo info;
#ifdef SAMSCAPE_VERSION
  info.samscapeVersion = SAMSCAPE_VERSION;
#endif
  info.torchVersion = TORCH_VERSION;
  info.cudaAvailable = torch::cuda::is_available();
  info.cudaDeviceCount = info.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#endif
  info.threads = torch::get_num_threads();
  return info;
}

}  // namespace samscape

// The desktop app's process holds Debian's Qt 6 and VTK and the torch wheel's LibTorch together. The
// wheel ships its own OpenMP runtime (torch/lib/libgomp.so.1); a second one in the same process (a
// system libgomp or an Intel/LLVM one pulled in by another library) would give two thread pools that
// oversubscribe the cores, or crash. This test links what the app links (samscape_gui) and checks, in
// its own process, that exactly one OpenMP runtime is mapped and that --threads' count is LibTorch's.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>
#include <set>
#include <string>

#include "core/Runtime.h"

namespace samscape {
namespace {

std::set<std::string> mappedOpenMpRuntimes() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> runtimes;
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.rfind("libgomp", 0) == 0 || name.rfind("libiomp", 0) == 0 || name.rfind("libomp", 0) == 0) {
      runtimes.insert(path);
    }
  }
  return runtimes;
}

TEST(RuntimeLibraries, OneOpenMpRuntimeAndTheThreadsAsked) {
  // A parallel op first, so that OpenMP has started its pool.
  configureThreads(2);
  const torch::Tensor sum = torch::ones({1 << 20}).sum();
  EXPECT_EQ(sum.item<float>(), static_cast<float>(1 << 20));
  const std::set<std::string> runtimes = mappedOpenMpRuntimes();
  ASSERT_EQ(runtimes.size(), 1u) << [&] {
    std::string list;
    for (const auto& runtime : runtimes) list += runtime + "\n";
    return list;
  }();
  EXPECT_NE(runtimes.begin()->find("torch/lib/libgomp"), std::string::npos) << *runtimes.begin();
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(configureThreads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(configureThreads(3), 3);
  EXPECT_EQ(torch::get_num_threads(), 3);
}

}  // namespace
}  // namespace samscape

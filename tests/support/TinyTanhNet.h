#pragma once
// A tiny TorchScript network for the analysis tests: 4x4 single-channel inputs, 3 tanh units, 3
// classes (63 parameters), float32 weights as a user's model would have. Small enough to form its
// Hessian exactly; tanh keeps the loss smooth so that finite differences are accurate.

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/models/Network.h"

namespace samscape::test {

struct TinyTanhNet {
  static constexpr int kSide = 4;
  static constexpr int kInputs = kSide * kSide;
  static constexpr int kHidden = 3;
  static constexpr int kClasses = 3;
  static constexpr std::int64_t kParameters = kHidden * kInputs + kHidden + kClasses * kHidden + kClasses;

  // Uniform weights in [-scale/2, scale/2) from the engine's raw bits (portable across libraries).
  static torch::Tensor seededTensor(std::vector<std::int64_t> shape, std::mt19937_64& engine, double scale) {
    torch::Tensor tensor = torch::empty(shape, torch::kFloat32);
    float* data = tensor.data_ptr<float>();
    for (std::int64_t i = 0; i < tensor.numel(); ++i) {
      data[i] = static_cast<float>(scale * (static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5));
    }
    return tensor;
  }

  // Saves the network with weights drawn from `seed` to `path` (torch::jit::Module::save) and returns the
  // path. `classes` other than kClasses fits data read from files (MNIST's format always has 10).
  static std::string write(const std::string& path, std::uint64_t seed, int classes = kClasses) {
    std::mt19937_64 engine(seed);
    torch::jit::Module module("TinyTanhNet");
    module.register_parameter("w1", seededTensor({kHidden, kInputs}, engine, 1.5), false);
    module.register_parameter("b1", seededTensor({kHidden}, engine, 0.5), false);
    module.register_parameter("w2", seededTensor({classes, kHidden}, engine, 3.0), false);
    module.register_parameter("b2", seededTensor({classes}, engine, 0.5), false);
    module.define(R"(
def forward(self, x):
    h = torch.tanh(torch.matmul(x.flatten(1), self.w1.t()) + self.b1)
    return torch.matmul(h, self.w2.t()) + self.b2
)");
    module.save(path);
    return path;
  }

  static std::unique_ptr<Network> load(const std::string& path, int classes = kClasses) {
    ModelSpec spec;
    spec.modelFile = path;
    spec.inputChannels = 1;
    spec.imageHeight = kSide;
    spec.imageWidth = kSide;
    spec.numClasses = classes;
    return makeNetwork(spec);
  }
};

}  // namespace samscape::test

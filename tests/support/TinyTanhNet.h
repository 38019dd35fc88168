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

#include "core/data/DatasetLoader.h"
#include "core/data/ImageSet.h"
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

  // The independent reference the analysis tests compare against, written without core's code.
  // The inputs as the analysis sees them: bytes / 255, standardized with `statistics` in float32 (as in
  // training), widened to double; one row per image in file order.
  static torch::Tensor referenceInputs(const ImageSet& images, const ChannelStatistics& statistics) {
    const auto count = static_cast<std::int64_t>(images.size());
    torch::Tensor x = torch::empty({count, kInputs}, torch::kFloat64);
    const auto mean = static_cast<float>(statistics.mean[0]);
    const auto stddev = static_cast<float>(statistics.stddev[0]);
    for (std::int64_t n = 0; n < count; ++n) {
      for (std::int64_t d = 0; d < kInputs; ++d) {
        const float scaled = static_cast<float>(images.pixels[static_cast<std::size_t>(n * kInputs + d)]) / 255.0f;
        x[n][d] = static_cast<double>((scaled - mean) / stddev);
      }
    }
    return x;
  }

  // The mean cross-entropy written functionally in the flat parameter vector (order w1, b1, w2, b2), for a
  // network written with `classes` outputs.
  static torch::Tensor referenceLoss(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& labels,
                                     int classes = kClasses) {
    std::int64_t offset = 0;
    auto take = [&](std::vector<std::int64_t> shape) {
      std::int64_t count = 1;
      for (const auto size : shape) count *= size;
      torch::Tensor piece = w.narrow(0, offset, count).view(shape);
      offset += count;
      return piece;
    };
    const torch::Tensor w1 = take({kHidden, kInputs});
    const torch::Tensor b1 = take({kHidden});
    const torch::Tensor w2 = take({classes, kHidden});
    const torch::Tensor b2 = take({classes});
    const torch::Tensor logits = torch::tanh(x.matmul(w1.t()) + b1).matmul(w2.t()) + b2;
    return -torch::log_softmax(logits, 1).gather(1, labels.view({-1, 1})).mean();
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

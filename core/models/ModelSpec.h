#pragma once
// What model to build: a plain value type, no LibTorch.

#include <string>
#include <vector>

namespace samscape {

struct ModelSpec {
  std::string name = "cnn";  // a built-in name; ignored when modelFile is set
  std::string modelFile;     // a TorchScript module (torch.jit.save) mapping float [N,C,H,W] to logits
  int inputChannels = 1;
  int imageHeight = 28;
  int imageWidth = 28;
  int numClasses = 10;
};

// mlp, cnn, resnet20, resnet32, resnet56, wrn16-4, wrn28-10
const std::vector<std::string>& builtInModelNames();

}  // namespace samscape

#pragma once
// Which optimizer to use and its hyper-parameters: a plain value type, no LibTorch.

#include <string>

namespace samscape {

struct OptimizerSpec {
  std::string name = "sgd";  // the only base optimizer so far; SAM wraps a base optimizer
  double learningRate = 0.05;
  double momentum = 0.9;
  bool nesterov = false;
  // L2 weight decay belongs to the base optimizer: it is added to the gradient the base steps with.
  double weightDecay = 5e-4;
};

}  // namespace samscape

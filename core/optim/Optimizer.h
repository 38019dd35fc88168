#pragma once
// Base optimizers over a network's parameter list. "Evaluate the loss and its gradient" is kept
// apart from "apply the gradients in .grad()", so that a gradient rule such as SAM's (see
// SharpnessAwareGradient.h) can evaluate the loss several times around perturbed weights and then
// hand its gradient to any base optimizer, in the manner of ensmallen's wrapper optimizers.
// LibTorch header: not for the GUI.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "core/optim/OptimizerSpec.h"

namespace samscape {

// Zeroes the gradients, computes the mean loss of the current batch at the current weights and
// back-propagates it, leaving the gradient in each parameter's .grad(). Returns the (detached) loss.
using GradientClosure = std::function<torch::Tensor()>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One plain optimization step. Returns the loss at the weights the step started from.
  torch::Tensor step(const GradientClosure& computeGradient) {
    torch::Tensor loss = computeGradient();
    applyGradients();
    return loss;
  }
  // Updates the parameters from the gradients currently in their .grad().
  virtual void applyGradients() = 0;
  virtual void setLearningRate(double rate) = 0;
  virtual double learningRate() const = 0;
  virtual std::string describe() const = 0;
  // The SGD momentum buffer of each parameter, in the order of the list the optimizer was built on
  // (undefined before the parameter's first step, or without momentum); empty for Adam. Gradient rules
  // may perturb along it (RuleContext::base).
  virtual std::vector<torch::Tensor> momentumBuffers() const = 0;
  // Momentum buffers, Adam moments and step counts, for checkpoints.
  virtual void saveState(torch::serialize::OutputArchive& archive) const = 0;
  virtual void loadState(torch::serialize::InputArchive& archive) = 0;
};

// Builds spec.baseKind(): sgd is PyTorch's torch.optim.SGD (it wraps LibTorch's implementation):
// with d = g + weightDecay * w, b <- momentum * b + d (b = d on the first step),
// w <- w - lr * (nesterov ? d + momentum * b : b). adam is torch.optim.Adam with L2 decay.
std::unique_ptr<Optimizer> makeOptimizer(std::vector<torch::Tensor> parameters, const OptimizerSpec& spec);

}  // namespace samscape

#pragma once
// Optimizers over a network's parameter list. The interface separates "evaluate the loss and its
// gradient" (a closure the trainer supplies) from "apply the gradients in .grad()": a wrapper such as
// SAM (Foret et al. 2021) calls the closure twice, around a perturbation of the weights, and then lets
// the wrapped base optimizer apply the second gradient, in the manner of ensmallen's wrappers.
// LibTorch header: not for the GUI.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/optim/OptimizerSpec.h"

namespace samscape {

// Zeroes the gradients, computes the mean loss of the current batch at the current weights and
// back-propagates it, leaving the gradient in each parameter's .grad(). Returns the (detached) loss.
using GradientClosure = std::function<torch::Tensor()>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One optimization step. Returns the loss at the weights the step started from.
  virtual torch::Tensor step(const GradientClosure& computeGradient) {
    torch::Tensor loss = computeGradient();
    applyGradients();
    return loss;
  }
  // Updates the parameters from the gradients currently in their .grad().
  virtual void applyGradients() = 0;
  virtual void setLearningRate(double rate) = 0;
  virtual double learningRate() const = 0;
  virtual std::string describe() const = 0;
};

// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay, exactly
// PyTorch's torch.optim.SGD (it wraps LibTorch's implementation): with d = g + weightDecay * w,
// b <- momentum * b + d (b = d on the first step), w <- w - lr * (nesterov ? d + momentum * b : b).
std::unique_ptr<Optimizer> makeSgdOptimizer(std::vector<torch::Tensor> parameters,
                                            const OptimizerSpec& spec);

// Builds the optimizer named by spec.name. Throws ConfigError naming --optimizer.
std::unique_ptr<Optimizer> makeOptimizer(std::vector<torch::Tensor> parameters,
                                         const OptimizerSpec& spec);

}  // namespace samscape

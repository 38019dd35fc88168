#pragma once
// The plain mini-batch gradient, handed to the base optimizer as it is: --optimizer sgd
// (torch.optim.SGD) and adam (torch.optim.Adam, Kingma & Ba, "Adam: A Method for Stochastic
// Optimization", ICLR 2015). No perturbation: rho, its schedule and m do not apply.
// LibTorch header.

#include <string>
#include <utility>

#include "core/optim/rules/SharpnessRule.h"

namespace samscape {

class PlainGradientRule final : public SharpnessRule {
 public:
  PlainGradientRule(std::string name, BaseOptimizerKind base) : name_(std::move(name)), base_(base) {}

  std::string name() const override { return name_; }
  bool sharpnessAware() const override { return false; }
  BaseOptimizerKind baseKind(const OptimizerSpec&) const override { return base_; }
  double gradientsPerStep(const OptimizerSpec&) const override { return 1.0; }
  bool takesAscent(const RuleContext&) const override { return false; }
  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext&) const override {
    std::vector<torch::Tensor> none;
    for (const auto& parameter : parameters) none.push_back(torch::zeros_like(parameter));
    return none;
  }

 private:
  std::string name_;
  BaseOptimizerKind base_;
};

}  // namespace samscape

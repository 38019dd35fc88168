#pragma once
// ASAM (Kwon, Kim, Park & Choi, "ASAM: Adaptive Sharpness-Aware Minimization for Scale-Invariant
// Learning of Deep Neural Networks", ICML 2021): SAM with a neighbourhood scaled by the weights,
// e = rho * T^2 g / ||T g||_2 with T = |w| + eta elementwise (--asam-eta), so that rescaling a layer's
// weights does not change its sharpness. Its radius is larger than SAM's: 0.5 by default, the paper's
// CIFAR setting.
// LibTorch header.

#include <sstream>
#include <string>
#include <vector>

#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/TensorLists.h"

namespace samscape {

class AsamRule final : public SharpnessRule {
 public:
  std::string name() const override { return "asam"; }
  double defaultRho() const override { return 0.5; }

  OptionTable<OptimizerSpec> options() const override {
    OptionInfo eta;
    eta.key = "asam-eta";
    eta.label = "ASAM eta";
    eta.group = OptionGroup::Optimization;
    eta.help = "ASAM: T = |w| + eta";
    // Accepted with the other optimizers too (it has been since it exists): runs saved so still resume.
    return {fieldOption<OptimizerSpec>(eta, [](auto& o) -> auto& { return o.asamEta; },
                                       [](const OptimizerSpec& o) { return unlessNonNegative(o.asamEta); })};
  }

  std::string describeOptions(const OptimizerSpec& spec) const override {
    std::ostringstream text;
    text << ", eta " << spec.asamEta;
    return text.str();
  }

  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    torch::NoGradGuard noGrad;
    const double rho = step.spec.effectiveRho();
    std::vector<torch::Tensor> scaled;  // T g
    std::vector<torch::Tensor> scale;   // T
    for (const auto& parameter : parameters) {
      const torch::Tensor& grad = parameter.grad();
      if (!grad.defined()) {
        scaled.emplace_back();
        scale.emplace_back();
        continue;
      }
      scale.push_back(parameter.detach().abs().add(step.spec.asamEta));
      scaled.push_back(grad * scale.back());
    }
    const double norm = jointNorm(scaled);
    std::vector<torch::Tensor> perturbation;
    perturbation.reserve(parameters.size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!scaled[i].defined() || norm == 0.0) {
        perturbation.push_back(torch::zeros_like(parameters[i]));
      } else {
        perturbation.push_back(scaled[i] * scale[i] * (rho / norm));  // rho T (T g) / ||T g||
      }
    }
    return perturbation;
  }
};

}  // namespace samscape

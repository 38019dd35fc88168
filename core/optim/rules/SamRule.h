#pragma once
// SAM (Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization for Efficiently Improving
// Generalization", ICLR 2021, Algorithm 1): g = grad L_B(w); e = rho * g / ||g||_2, the norm taken
// over all parameters together; g_sam = grad L_B(w + e); the weights are restored to w and the base
// optimizer steps with g_sam. With --m, each chunk of m examples gets its own e from its own gradient
// (section 4.1); the step does the chunking (SharpnessAwareGradient), the rule only forms e.
// LibTorch header.

#include <string>
#include <vector>

#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/TensorLists.h"

namespace samscape {

// rho * g / ||g|| for the gradient in .grad(); zero where a parameter has no gradient, and everywhere
// for a zero gradient. GSAM and LookSAM perturb the same way.
inline std::vector<torch::Tensor> normalizedGradientPerturbation(const std::vector<torch::Tensor>& parameters,
                                                                 double rho) {
  torch::NoGradGuard noGrad;
  const std::vector<torch::Tensor> gradients = gradientsOf(parameters);
  const double norm = jointNorm(gradients);
  std::vector<torch::Tensor> perturbation;
  perturbation.reserve(parameters.size());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!gradients[i].defined() || norm == 0.0) {
      perturbation.push_back(torch::zeros_like(parameters[i]));
    } else {
      perturbation.push_back(gradients[i] * (rho / norm));
    }
  }
  return perturbation;
}

class SamRule final : public SharpnessRule {
 public:
  std::string name() const override { return "sam"; }
  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    return normalizedGradientPerturbation(parameters, step.spec.effectiveRho());
  }
};

}  // namespace samscape

#pragma once
// GSAM (Zhuang, Gong, Yuan, Cui, Adam, Dvornek, Tatikonda, Duncan & Liu, "Surrogate Gap Guided
// Sharpness-Aware Minimization", ICLR 2022): SAM's perturbation, and with g the clean gradient the step
// uses g_sam - alpha * (g - (g.g_sam / |g_sam|^2) g_sam): SAM's gradient less alpha times the part of g
// orthogonal to it (--gsam-alpha), which lowers the surrogate gap without changing the perturbed loss.
// The decomposition is of the whole batch's gradients, after the replicas' are averaged, as the
// authors' code does after its all-reduce.
// LibTorch header.

#include <sstream>
#include <string>
#include <vector>

#include "core/optim/rules/SamRule.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/TensorLists.h"

namespace samscape {

class GsamRule final : public SharpnessRule {
 public:
  std::string name() const override { return "gsam"; }

  OptionTable<OptimizerSpec> options() const override {
    OptionInfo alpha;
    alpha.key = "gsam-alpha";
    alpha.label = "GSAM alpha";
    alpha.group = OptionGroup::Optimization;
    alpha.help = "GSAM: the step uses g_sam - alpha (g - (g.g_sam / |g_sam|^2) g_sam)";
    return {fieldOption<OptimizerSpec>(alpha, [](auto& o) -> auto& { return o.gsamAlpha; },
                                       [](const OptimizerSpec& o) -> std::string {
                                         if (const std::string problem = notFinite(o.gsamAlpha); !problem.empty()) {
                                           return problem;
                                         }
                                         if (o.gsamAlpha < 0.0) return "must be 0 or positive";
                                         return o.kind != "gsam" && o.gsamAlpha != OptimizerSpec{}.gsamAlpha
                                                    ? "applies only to --optimizer gsam"
                                                    : "";
                                       })};
  }

  std::string describeOptions(const OptimizerSpec& spec) const override {
    std::ostringstream text;
    text << ", alpha " << spec.gsamAlpha;
    return text.str();
  }

  bool needsCleanGradient() const override { return true; }

  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    return normalizedGradientPerturbation(parameters, step.spec.effectiveRho());
  }

  void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                          bool ascent, const RuleContext& step) override {
    if (!ascent) return;
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> current = gradientsOf(parameters);
    // g_sam - alpha * (g - (g.g_sam / |g_sam|^2) g_sam); a zero g_sam leaves g_sam - alpha g.
    const double samNormSquared = jointDot(current, current);
    const double projection = samNormSquared > 0.0 ? jointDot(clean, current) / samNormSquared : 0.0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!current[i].defined() || !clean[i].defined()) continue;
      parameters[i].mutable_grad() = current[i] - step.spec.gsamAlpha * (clean[i] - projection * current[i]);
    }
  }
};

}  // namespace samscape

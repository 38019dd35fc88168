#pragma once
// GSAM (Zhuang, Gong, Yuan, Cui, Adam, Dvornek, Tatikonda, Duncan & Liu, "Surrogate Gap Guided
// Sharpness-Aware Minimization", ICLR 2022): SAM's perturbation, and with g the clean gradient the step
// uses g_sam - alpha * (g - (g.g_sam / |g_sam|^2) g_sam): SAM's gradient less alpha times the part of g
// orthogonal to it (--gsam-alpha), which lowers the surrogate gap without changing the perturbed loss.
// With the batch split over replicas or ranks, the authors' code (github.com/juntang-zhuang/GSAM,
// gsam/gsam.py, step()) decomposes on each worker: inside maybe_no_sync() a worker takes its clean
// gradient, perturbs, takes its perturbed gradient and calls gradient_decompose(alpha) on its own two,
// and only then does _sync_grad() all-reduce. So does --gsam-decompose per-replica (the default): the
// step uses the shard-weighted mean over replicas of g_sam_r - alpha (g_r - proj_r), which is not the
// decomposition of the means (the projection is not linear). --gsam-decompose averaged decomposes once,
// on the averaged g and g_sam (what one replica with --m equal to the shard computes). With a single
// replica in a single process the two are the same.
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
    OptionInfo decompose;
    decompose.key = "gsam-decompose";
    decompose.label = "GSAM decomposition";
    decompose.group = OptionGroup::Optimization;
    decompose.help = "GSAM across replicas or ranks: per-replica (each decomposes its own gradients before they are "
                     "averaged, as the authors' code does) or averaged (once, on the averaged gradients)";
    return {fieldOption<OptimizerSpec>(alpha, [](auto& o) -> auto& { return o.gsamAlpha; },
                                       [](const OptimizerSpec& o) -> std::string {
                                         if (const std::string problem = notFinite(o.gsamAlpha); !problem.empty()) {
                                           return problem;
                                         }
                                         if (o.gsamAlpha < 0.0) return "must be 0 or positive";
                                         return o.kind != "gsam" && o.gsamAlpha != OptimizerSpec{}.gsamAlpha
                                                    ? "applies only to --optimizer gsam"
                                                    : "";
                                       }),
            choiceOption<OptimizerSpec>(decompose, [](auto& o) -> auto& { return o.gsamDecompose; },
                                        [](const OptimizerSpec& o) -> std::string {
                                          return o.kind != "gsam" && o.gsamDecompose != OptimizerSpec{}.gsamDecompose
                                                     ? "applies only to --optimizer gsam"
                                                     : "";
                                        })};
  }

  std::string describeOptions(const OptimizerSpec& spec) const override {
    std::ostringstream text;
    text << ", alpha " << spec.gsamAlpha << ", decomposed " << nameOf(spec.gsamDecompose);
    return text.str();
  }

  bool needsCleanGradient() const override { return true; }
  bool needsAveragedCleanGradient(const RuleContext& step) const override {
    return step.spec.gsamDecompose == GsamDecomposition::Averaged;
  }

  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    return normalizedGradientPerturbation(parameters, step.spec.effectiveRho());
  }

  void finishReplicaGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                             bool ascent, const RuleContext& step) const override {
    if (ascent && step.spec.gsamDecompose == GsamDecomposition::PerReplica) decompose(parameters, clean, step);
  }

  void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                          bool ascent, const RuleContext& step) override {
    if (ascent && step.spec.gsamDecompose == GsamDecomposition::Averaged) decompose(parameters, clean, step);
  }

 private:
  // .grad() (g_sam) becomes g_sam - alpha (g - (g.g_sam / |g_sam|^2) g_sam), g = `clean`.
  static void decompose(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                        const RuleContext& step) {
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

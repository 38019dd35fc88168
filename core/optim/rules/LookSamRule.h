#pragma once
// LookSAM (Liu, Mai, Chen, Hsieh & You, "Towards Efficient and Scalable Sharpness-Aware Minimization",
// CVPR 2022, Algorithm 1): SAM's step on every k-th step (--looksam-k, the first included), which
// keeps g_v = g_sam - (g.g_sam / |g|^2) g, the part of g_sam orthogonal to the clean gradient g; the
// steps in between take one clean pass and use g + alpha (|g| / |g_v|) g_v (--looksam-alpha). g_v is
// taken on the whole batch's gradients, after the replicas' are averaged. It is the rule's state:
// checkpoints keep it ("looksam_orthogonal_<i>"), so that a run resumed between ascents steps as the
// uninterrupted one; a checkpoint without it resumes with an ascent.
// LibTorch header.

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/optim/rules/SamRule.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/TensorLists.h"

namespace samscape {

class LookSamRule final : public SharpnessRule {
 public:
  std::string name() const override { return "looksam"; }

  OptionTable<OptimizerSpec> options() const override {
    OptionInfo period;
    period.key = "looksam-k";
    period.label = "LookSAM period (k)";
    period.group = OptionGroup::Optimization;
    period.help = "LookSAM: SAM's full ascent every K steps, its orthogonal part reused in between";
    OptionInfo alpha;
    alpha.key = "looksam-alpha";
    alpha.label = "LookSAM alpha";
    alpha.group = OptionGroup::Optimization;
    alpha.help = "LookSAM: between ascents the step uses g + alpha (|g| / |g_v|) g_v";
    return {fieldOption<OptimizerSpec>(period, [](auto& o) -> auto& { return o.lookSamK; },
                                       [](const OptimizerSpec& o) -> std::string {
                                         if (o.lookSamK < 1) return "must be positive";
                                         return o.kind != "looksam" && o.lookSamK != OptimizerSpec{}.lookSamK
                                                    ? "applies only to --optimizer looksam"
                                                    : "";
                                       }),
            fieldOption<OptimizerSpec>(alpha, [](auto& o) -> auto& { return o.lookSamAlpha; },
                                       [](const OptimizerSpec& o) -> std::string {
                                         if (const std::string problem = notFinite(o.lookSamAlpha); !problem.empty()) {
                                           return problem;
                                         }
                                         if (o.lookSamAlpha < 0.0) return "must be 0 or positive";
                                         return o.kind != "looksam" && o.lookSamAlpha != OptimizerSpec{}.lookSamAlpha
                                                    ? "applies only to --optimizer looksam"
                                                    : "";
                                       })};
  }

  std::string describeOptions(const OptimizerSpec& spec) const override {
    std::ostringstream text;
    text << ", ascent every " << spec.lookSamK << " steps, alpha " << spec.lookSamAlpha;
    return text.str();
  }

  // The second gradient only on every k-th step.
  double gradientsPerStep(const OptimizerSpec& spec) const override {
    return 1.0 + 1.0 / static_cast<double>(std::max<std::int64_t>(1, spec.lookSamK));
  }

  // Every k-th step, and any step while it holds no g_v.
  bool takesAscent(const RuleContext& step) const override {
    return orthogonal_.empty() || step.spec.lookSamK <= 1 || step.globalStep % step.spec.lookSamK == 0;
  }

  bool needsCleanGradient() const override { return true; }

  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    return normalizedGradientPerturbation(parameters, step.spec.effectiveRho());
  }

  void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                          bool ascent, const RuleContext& step) override {
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> current = gradientsOf(parameters);
    if (ascent) {
      // g_v = g_sam - (g.g_sam / |g|^2) g; the step itself is SAM's.
      const double cleanNormSquared = jointDot(clean, clean);
      const double projection = cleanNormSquared > 0.0 ? jointDot(clean, current) / cleanNormSquared : 0.0;
      orthogonal_.assign(parameters.size(), torch::Tensor());
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        if (!current[i].defined() || !clean[i].defined()) continue;
        orthogonal_[i] = current[i] - projection * clean[i];
      }
      return;
    }
    // g + alpha (|g| / |g_v|) g_v; a zero g_v (g_sam parallel to g) leaves g.
    const double cleanNorm = jointNorm(current);
    const double orthogonalNorm = jointNorm(orthogonal_);
    if (!(orthogonalNorm > 0.0)) return;
    const double factor = step.spec.lookSamAlpha * cleanNorm / orthogonalNorm;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!current[i].defined() || !orthogonal_[i].defined()) continue;
      parameters[i].mutable_grad() = current[i] + factor * orthogonal_[i].to(current[i].device());
    }
  }

  void saveState(RuleStateWriter& writer) const override {
    for (std::size_t i = 0; i < orthogonal_.size(); ++i) {
      if (orthogonal_[i].defined()) writer.write("orthogonal_" + std::to_string(i), orthogonal_[i].cpu());
    }
  }

  void loadState(RuleStateReader& reader, const std::vector<torch::Tensor>& parameters) override {
    orthogonal_.clear();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      torch::Tensor orthogonal;
      if (!reader.read("orthogonal_" + std::to_string(i), orthogonal)) continue;
      if (!orthogonal.sizes().equals(parameters[i].sizes())) {
        throw Error(reader.path() + ": cannot restore LookSAM's direction: its tensor " + std::to_string(i) +
                    " does not have the shape of parameter " + std::to_string(i));
      }
      orthogonal_.resize(parameters.size());
      orthogonal_[i] = orthogonal.to(parameters[i].device(), parameters[i].scalar_type());
    }
  }

  // g_v, one tensor per parameter; empty until the first ascent.
  const std::vector<torch::Tensor>& orthogonal() const { return orthogonal_; }

 private:
  std::vector<torch::Tensor> orthogonal_;
};

}  // namespace samscape

#pragma once
// Late-phase SAM (Zhou, Wang, Lin, Sun, Ma & Huang, "Sharpness-Aware Minimization Efficiently Selects
// Flatter Minima Late in Training", ICLR 2025; Andriushchenko & Flammarion, "Towards Understanding
// Sharpness-Aware Minimization", ICML 2022, who switch from SGD to SAM for the last epochs
// and keep most of SAM's gain): the base optimizer's plain steps (one gradient) for the epochs before
// --sam-from-epoch E, the chosen sharpness-aware rule's steps from epoch E on. Zhou et al. find that
// SAM's flatter minimum is selected in the last few epochs, so the early epochs can take SGD's cost.
// A wrapper in the manner of ensmallen's Lookahead<BaseOptimizer>: it applies to every sharpness-aware
// --optimizer (sam by default in the papers; asam, gsam, looksam and msam switch the same way) and
// delegates to the wrapped rule from E on. It keeps no state of its own: the phase follows from the
// step's epoch, and the wrapped rule's state (LookSAM's g_v) is checkpointed under the wrapped rule's
// name, so a run resumed on either side of the switch steps as the uninterrupted one. The wrapped
// rule first steps at epoch E with whatever state it had, i.e. none: LookSAM's first step then ascends.
// The base optimizer's state (SGD's momentum) carries across the switch, as in the papers' runs.
// LibTorch header.

#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/SharpnessRules.h"

namespace samscape {

class LateSamRule final : public SharpnessRule {
 public:
  explicit LateSamRule(std::unique_ptr<SharpnessRule> wrapped) : wrapped_(std::move(wrapped)) {}

  // The option entry of --sam-from-epoch, on OptimizerSpec; its bound by --epochs, which the spec
  // does not hold, is added where the run's options are (TrainConfig.cpp, lateSamEpochProblem).
  static Option<OptimizerSpec> fromEpochOption() {
    OptionInfo from;
    from.key = "sam-from-epoch";
    from.label = "SAM from epoch";
    from.group = OptionGroup::Optimization;
    from.help = "Late-phase SAM: plain --base steps (one gradient) before epoch E, the sharpness-aware --optimizer's "
                "steps from epoch E on (0: from the start)";
    return fieldOption<OptimizerSpec>(from, [](auto& o) -> auto& { return o.samFromEpoch; },
                                      [](const OptimizerSpec& o) -> std::string {
                                        if (o.samFromEpoch < 0) return "must be 0 (from the start) or a positive epoch";
                                        if (o.samFromEpoch == 0) return "";
                                        const SharpnessRule* rule = findSharpnessRule(o.kind);
                                        if (rule != nullptr && !rule->sharpnessAware()) {
                                          return "applies only to the sharpness-aware optimizers: --optimizer " +
                                                 o.kind + " takes no sharpness-aware steps to switch to";
                                        }
                                        return "";
                                      });
  }

  // The problem with E for a run of `epochs` epochs, or empty.
  static std::string epochProblem(const OptimizerSpec& spec, std::int64_t epochs) {
    if (spec.samFromEpoch <= epochs) return "";
    return "beyond --epochs " + std::to_string(epochs) + ": no epoch would take the sharpness-aware steps";
  }

  // Whether a step of that epoch takes the wrapped rule's steps.
  static bool sharpnessPhase(const RuleContext& step) { return step.epoch >= step.spec.samFromEpoch; }

  const SharpnessRule& wrapped() const { return *wrapped_; }

  std::string name() const override { return wrapped_->name(); }
  bool sharpnessAware() const override { return true; }
  BaseOptimizerKind baseKind(const OptimizerSpec& spec) const override { return wrapped_->baseKind(spec); }
  double defaultRho() const override { return wrapped_->defaultRho(); }
  std::string configurationProblem(const OptimizerSpec& spec) const override {
    return wrapped_->configurationProblem(spec);
  }
  std::string describeOptions(const OptimizerSpec& spec) const override {
    std::ostringstream text;
    text << wrapped_->describeOptions(spec) << ", plain steps before epoch " << spec.samFromEpoch;
    return text.str();
  }
  // The wrapped rule's, in its phase: a run's average is the epochs' mix (TrainConfig's cost of
  // --epochs weighs the two phases).
  double gradientsPerStep(const OptimizerSpec& spec) const override { return wrapped_->gradientsPerStep(spec); }

  // Before E: one plain pass, as --optimizer sgd (computeStepGradient takes it without an ascent).
  bool takesAscent(const RuleContext& step) const override {
    return sharpnessPhase(step) && wrapped_->takesAscent(step);
  }
  bool perturbsAlongGradient() const override { return wrapped_->perturbsAlongGradient(); }
  bool needsCleanGradient() const override { return wrapped_->needsCleanGradient(); }
  bool needsAveragedCleanGradient(const RuleContext& step) const override {
    return sharpnessPhase(step) && wrapped_->needsAveragedCleanGradient(step);
  }
  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    return wrapped_->perturbation(parameters, step);
  }
  // Before E the plain gradient goes to the base optimizer untouched (LookSAM's steps between ascents
  // would otherwise rewrite it).
  void finishReplicaGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                             bool ascent, const RuleContext& step) const override {
    if (sharpnessPhase(step)) wrapped_->finishReplicaGradient(parameters, clean, ascent, step);
  }
  void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                          bool ascent, const RuleContext& step) override {
    if (sharpnessPhase(step)) wrapped_->finishStepGradient(parameters, clean, ascent, step);
  }

  void saveState(RuleStateWriter& writer) const override { wrapped_->saveState(writer); }
  void loadState(RuleStateReader& reader, const std::vector<torch::Tensor>& parameters) override {
    wrapped_->loadState(reader, parameters);
  }

 private:
  std::unique_ptr<SharpnessRule> wrapped_;
};

}  // namespace samscape

#pragma once
// One way of forming a training step's gradient: the plain gradient (sgd, adam) or a SAM variant. A
// rule is one small file under core/optim/rules/ (its paper in its class comment, its state, its
// options, its checks), registered once in SharpnessRules.cpp; the step (SharpnessAwareGradient,
// DataParallelStep), the trainer, the checkpoints and the option table call this interface and name no
// variant, in the manner of ensmallen's update policies. A new variant is its file plus its
// registration line.
// LibTorch header: not for the GUI (the GUI asks OptimizerSpec, which asks the registry).

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/optim/OptimizerSpec.h"
#include "core/options/OptionTable.h"

namespace samscape {

class Optimizer;

// What a rule sees of the step it shapes besides the parameters and their .grad(): the step's options
// (rho already the step's, see OptimizerSpec::rhoAt), its 0-based index in the run, the base
// optimizer that will apply the gradient (its state, for rules that perturb along it; null where a
// gradient is computed without one, as in tests of the gradient alone), and the 1-based epoch the
// step belongs to (late-phase SAM switches by it; 0 for a step outside a run, which counts as before
// every epoch).
struct RuleContext {
  const OptimizerSpec& spec;
  std::int64_t globalStep = 0;
  const Optimizer* base = nullptr;
  std::int64_t epoch = 0;
};

// A rule's state in a checkpoint, as named tensors. The checkpoint keeps each under the rule's own
// prefix (its name and '_': LookSAM's g_v is "looksam_orthogonal_<i>"), beside the base optimizer's.
class RuleStateWriter {
 public:
  virtual ~RuleStateWriter() = default;
  virtual void write(const std::string& name, const torch::Tensor& tensor) = 0;
};

class RuleStateReader {
 public:
  virtual ~RuleStateReader() = default;
  // False when the checkpoint holds no tensor of that name (one written before the rule kept it).
  virtual bool read(const std::string& name, torch::Tensor& tensor) = 0;
  // The file the state is read from, for messages.
  virtual const std::string& path() const = 0;
};

class SharpnessRule {
 public:
  virtual ~SharpnessRule() = default;

  // ----- What it is: asked by the option table, the start-up summary and the cost estimate. -----

  // Its --optimizer name.
  virtual std::string name() const = 0;
  // False for the plain gradient: no perturbation, rho and m do not apply.
  virtual bool sharpnessAware() const { return true; }
  // The base optimizer that applies its gradient.
  virtual BaseOptimizerKind baseKind(const OptimizerSpec& spec) const { return spec.base; }
  // The radius when --rho is left at -1.
  virtual double defaultRho() const { return 0.05; }
  // Its own options (entries of the training option table, with their checks: value ranges and
  // "applies only to --optimizer <name>" when set for another rule).
  virtual OptionTable<OptimizerSpec> options() const { return {}; }
  // What it needs of the shared options (the base optimizer, momentum, m), checked when it is the
  // chosen rule: the problem, naming the flag, or empty.
  virtual std::string configurationProblem(const OptimizerSpec&) const { return ""; }
  // Its own options in the start-up summary, after "rho R": ", eta 0.01".
  virtual std::string describeOptions(const OptimizerSpec&) const { return ""; }
  // Gradients (forward and backward passes over the batch) per step, on average over a run.
  virtual double gradientsPerStep(const OptimizerSpec&) const { return 2.0; }

  // ----- A step. -----

  // Whether the step takes the perturbed pass (else one plain pass at the step's weights).
  virtual bool takesAscent(const RuleContext&) const { return sharpnessAware(); }
  // Whether the perturbation is formed from the gradient at the step's weights (a clean pass comes
  // first, in .grad() when perturbation() is called), or from what the rule or the base optimizer
  // holds (the step then takes a single pass, at the perturbed weights, and reports its loss).
  virtual bool perturbsAlongGradient() const { return true; }
  // Whether finishStepGradient needs the clean gradient of the batch beside the perturbed one.
  virtual bool needsCleanGradient() const { return false; }
  // The perturbation e added to the weights for the perturbed pass, one tensor per parameter (of its
  // device and dtype). Weight decay never enters it.
  virtual std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                                  const RuleContext& step) const = 0;
  // A stage on one replica's gradient, before the replicas' (and the ranks') are averaged, where an
  // authors' code takes it on each worker before its all-reduce (GSAM's decomposition): .grad() holds
  // the replica's perturbed gradient after an ascent (with `clean` the replica's clean one when
  // needsCleanGradient()), or its plain one without. May rewrite .grad(); keeps no state (each
  // replica calls it on the same rule).
  virtual void finishReplicaGradient(const std::vector<torch::Tensor>& /*parameters*/,
                                     const std::vector<torch::Tensor>& /*clean*/, bool /*ascent*/,
                                     const RuleContext& /*step*/) const {}
  // Whether finishStepGradient needs the clean gradient averaged over the replicas (and all-reduced
  // across ranks) beside the averaged perturbed one; false when the rule used it per replica only.
  virtual bool needsAveragedCleanGradient(const RuleContext&) const { return needsCleanGradient(); }
  // The last stage, on the batch's gradient after the replicas' are averaged and before clipping:
  // .grad() holds the perturbed gradient after an ascent (with `clean` the clean one when
  // needsAveragedCleanGradient()), or the plain one without. May rewrite .grad() and update the
  // rule's state.
  virtual void finishStepGradient(const std::vector<torch::Tensor>& /*parameters*/,
                                  const std::vector<torch::Tensor>& /*clean*/, bool /*ascent*/,
                                  const RuleContext& /*step*/) {}

  // ----- Its state, carried from step to step and kept in checkpoints. -----

  virtual void saveState(RuleStateWriter&) const {}
  // Restores what saveState wrote, onto the parameters' devices and dtypes; throws Error naming the
  // reader's path when a tensor does not fit its parameter. A missing tensor leaves the state empty.
  virtual void loadState(RuleStateReader&, const std::vector<torch::Tensor>& /*parameters*/) {}
};

}  // namespace samscape

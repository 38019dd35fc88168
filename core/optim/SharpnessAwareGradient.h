#pragma once
// The gradient a training step hands to its base optimizer: the plain mini-batch gradient, or the
// sharpness-aware one of a gradient rule (core/optim/rules/SharpnessRule.h: SAM, ASAM, GSAM, LookSAM,
// each in its file with its paper). This is the part every rule shares: the passes over the batch,
// the weights perturbed by the rule's e and restored exactly, m-sharpness and micro-batches.
// m-sharpness (Foret et al., ICLR 2021, section 4.1): the batch is split into disjoint chunks of m
// examples; each chunk gets its own e from its own gradient and its own perturbed gradient; these
// are averaged (weighted by chunk size, so a short last chunk counts for what it holds).
// Gradient accumulation: a batch (or chunk) processed as K micro-batches gives the gradient of its
// mean loss as the size-weighted mean of the micro-batches' gradients; the rule perturbs with that
// whole gradient and the perturbed gradient is accumulated the same way.
// Weight decay is the base optimizer's business: it never enters e.
// LibTorch header: not for the GUI.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "core/optim/rules/SharpnessRule.h"

namespace samscape {

enum class PassKind {
  Clean,      // the pass whose loss the step reports: may update batch-norm running statistics
  Perturbed,  // at weights perturbed for a gradient only: must leave them untouched
};

// The mini-batch as the gradient rule sees it: examples [0, size()).
class BatchObjective {
 public:
  virtual ~BatchObjective() = default;
  virtual std::int64_t size() const = 0;
  // Zeroes the parameters' .grad(), computes the mean loss over examples [begin, end) at the current
  // weights and back-propagates it. Returns the detached loss.
  virtual torch::Tensor lossAndGradient(std::int64_t begin, std::int64_t end, PassKind pass) = 0;
};

// Leaves in the parameters' .grad() the gradient of the whole batch: the plain one (without
// `ascent`) or the rule's perturbed one, per m-chunk, in step.spec.accumulate micro-batches when m is
// 0. Returns the clean gradient of the batch (the size-weighted mean over m-chunks) when the ascent
// is taken and rule.needsCleanGradient(); nothing otherwise. The rule's last stage and clipping are
// not applied here (they come after averaging over replicas). The weights are exactly as before on
// return.
std::vector<torch::Tensor> computeStepGradient(const std::vector<torch::Tensor>& parameters,
                                               BatchObjective& objective, const SharpnessRule& rule,
                                               const RuleContext& step, bool ascent = true);

// Scales all gradients together so that their joint L2 norm is at most maxNorm (no-op for 0).
void clipGradientNorm(const std::vector<torch::Tensor>& parameters, double maxNorm);

}  // namespace samscape

#pragma once
// The gradient a training step hands to its base optimizer: the plain mini-batch gradient, or the
// sharpness-aware one.
//
// SAM (Foret et al., "Sharpness-Aware Minimization for Efficiently Improving Generalization",
// ICLR 2021, Algorithm 1): g = grad L_B(w); e = rho * g / ||g||_2, the norm taken over all parameters
// together; g_sam = grad L_B(w + e); the weights are restored to w and the base optimizer steps with
// g_sam. ASAM (Kwon et al., "ASAM: Adaptive Sharpness-Aware Minimization", ICML 2021):
// e = rho * T^2 g / ||T g||_2 with T = |w| + eta elementwise.
// m-sharpness (Foret et al., section 4.1): the batch is split into disjoint chunks of m examples;
// each chunk gets its own e from its own gradient and its own g_sam; the g_sam are averaged
// (weighted by chunk size, so a short last chunk counts for what it holds).
// GSAM (Zhuang et al., "Surrogate Gap Guided Sharpness-Aware Minimization", ICLR 2022): with g the
// clean gradient, the step uses g_sam - alpha * (g - (g.g_sam / |g_sam|^2) g_sam): SAM's gradient
// less alpha times the part of g orthogonal to it.
// LookSAM (Liu et al., "Towards Efficient and Scalable Sharpness-Aware Minimization", CVPR 2022,
// Algorithm 1): every k-th step is SAM's, and keeps g_v = g_sam - (g.g_sam / |g|^2) g, the part of
// g_sam orthogonal to g; the steps in between take one clean pass and use g + alpha (|g| / |g_v|) g_v.
// Both combine the gradients of the whole batch: after the replicas' gradients are averaged
// (finishStepGradient), as the authors' code does after its all-reduce.
// Gradient accumulation: a batch (or chunk) processed as K micro-batches gives the gradient of its
// mean loss as the size-weighted mean of the micro-batches' gradients; SAM perturbs with that whole
// gradient and accumulates g_sam the same way.
// Weight decay is the base optimizer's business: it never enters e.
// LibTorch header: not for the GUI.

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "core/optim/OptimizerSpec.h"

namespace samscape {

enum class PassKind {
  Clean,      // at the step's own weights: may update batch-norm running statistics
  Perturbed,  // at perturbed weights: must leave them untouched
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

// The perturbation e for the gradient currently in .grad() (SAM or ASAM by spec.kind).
// A zero gradient gives e = 0.
std::vector<torch::Tensor> sharpnessPerturbation(const std::vector<torch::Tensor>& parameters,
                                                 const OptimizerSpec& spec);

// What a sharpness-aware rule carries from one step to the next: LookSAM's g_v (one tensor per
// parameter; empty until its first ascent). Checkpoints keep it, so that a resumed run steps as an
// uninterrupted one.
struct GradientRuleMemory {
  std::vector<torch::Tensor> lookSamOrthogonal;
};

// Whether the step with 0-based index globalStep takes SAM's ascent: never for sgd and adam, always
// for sam, asam and gsam; for looksam every k-th step, and any step while it holds no g_v.
bool takesAscent(const OptimizerSpec& spec, std::int64_t globalStep, const GradientRuleMemory& memory);

// Leaves in the parameters' .grad() the gradient of the whole batch: the plain one (sgd, adam, or
// without `ascent`) or the (m-)sharpness-aware one, in spec.accumulate micro-batches when m is 0.
// Returns the clean gradient of the batch (the size-weighted mean over m-chunks) when the ascent is
// taken and spec.needsCleanGradient(); nothing otherwise. GSAM's and LookSAM's last stage and
// clipping are not applied here (they come after averaging over replicas). The weights are exactly
// as before on return.
std::vector<torch::Tensor> computeStepGradient(const std::vector<torch::Tensor>& parameters,
                                               BatchObjective& objective, const OptimizerSpec& spec,
                                               bool ascent = true);

// GSAM's and LookSAM's last stage, on the batch's (replica-averaged) gradients: .grad() holds
// g_sam after an ascent (with `clean` = g), or g in between (LookSAM; `clean` empty). Rewrites .grad()
// into the step's gradient and updates LookSAM's memory. Nothing to do for the other kinds.
void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                        const OptimizerSpec& spec, bool ascent, GradientRuleMemory& memory);

// Scales all gradients together so that their joint L2 norm is at most maxNorm (no-op for 0).
void clipGradientNorm(const std::vector<torch::Tensor>& parameters, double maxNorm);

}  // namespace samscape

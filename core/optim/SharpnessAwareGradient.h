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

// Leaves in the parameters' .grad() the gradient the base optimizer steps with: the plain gradient
// of the whole batch (sgd, adam) or the (m-)sharpness-aware one (sam, asam); clipping is not applied
// here (it comes after averaging over replicas). The weights are exactly as before on return.
void computeStepGradient(const std::vector<torch::Tensor>& parameters, BatchObjective& objective,
                         const OptimizerSpec& spec);

// Scales all gradients together so that their joint L2 norm is at most maxNorm (no-op for 0).
void clipGradientNorm(const std::vector<torch::Tensor>& parameters, double maxNorm);

}  // namespace samscape

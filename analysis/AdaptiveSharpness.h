#pragma once
// Adaptive sharpness (Kwon et al., ICML 2021, "ASAM", section 3; Andriushchenko et al., ICML 2023, "A
// Modern Look at the Relationship between Sharpness and Generalization", section 3, eq. 2): the
// worst-case loss increase in a ball whose radius is scaled elementwise by the weights' magnitudes,
//
//   S_p(w) = max_{||T^{-1} d||_p <= rho} L(w + d) - L(w),   T = diag(|w|),
//
// which, unlike the plain rho-ball of SAM's sharpness, does not change when a layer is rescaled and the
// next one rescaled back (a network's function is invariant to that, its plain sharpness is not).
// With delta = T^{-1} d the ball is the plain p-ball of radius rho, so the maximum is taken by
// projected gradient ascent on delta, whose gradient is T dL/dw (w + T delta). Coordinates with w_i = 0
// cannot move (d_i = |w_i| delta_i): no division, so no floor on |w| is needed (Andriushchenko et al.'s
// code, sharpness.py, also scales by the plain |w|).
//
// The ascent follows Andriushchenko et al.'s eval_APGD_sharpness (tml-epfl/sharpness-vs-generalization,
// sharpness.py; Auto-PGD of Croce & Hein, ICML 2020): starting from delta = 0 (their default; a random
// start is an option), each step takes z = P(delta + eta u) with u = g / ||g||_2 for p = 2 and
// u = sign(g) for p = infinity, then delta_next = 0.75 z + 0.25 delta_previous (their momentum, a convex
// combination of points of the ball, so it stays inside), starting with eta = 2 rho and halving eta
// (and going back to the best point) at Auto-PGD's checkpoints 0.22, 0.41, 0.57, ... of the steps when
// the best loss stopped rising; the result is the largest loss over the iterates. Where this differs
// from their code: the l2 step here is along the gradient with respect to delta, T g, and projects onto
// the delta-ball exactly by rescaling (their step in delta coordinates is along g, projected onto the
// ellipsoid in d by bisection); after halving the step the next step starts from the best point (their
// code reloads the best weights but keeps stepping from the last perturbation).
//
// Plain C++: maximizeAdaptivePerturbation works on any loss given as a function object (the tests'
// quadratics); computeAdaptiveSharpness, for a network over an image set, is in
// analysis/AdaptiveSharpnessTorch.h.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/EvaluationSettings.h"

namespace samscape {

enum class AdaptiveNorm { L2, Linf };
// "l2", "linf": the keys of analysis.json's adaptive_sharpness part.
const char* adaptiveNormName(AdaptiveNorm norm);

struct AdaptiveAscentOptions {
  AdaptiveNorm norm = AdaptiveNorm::L2;
  double rho = 1.0;  // radius of the ball of delta = T^{-1} d, > 0
  int steps = 20;    // ascent steps (one gradient and one loss each), >= 1; Andriushchenko et al. use 20
  // Start from a random point of the ball (l2: uniform direction on the sphere of radius rho; linf:
  // uniform in the box), drawn from std::mt19937_64(seed); off: delta = 0, as Andriushchenko et al.'s
  // evaluation does (at an exact stationary point delta = 0 has no ascent direction).
  bool randomInit = false;
  std::uint64_t seed = 0;
};

struct AdaptiveAscentResult {
  double lossBefore = 0.0;  // L(w)
  double lossAfter = 0.0;   // the largest L(w + T delta) over the start and the iterates
  double sharpness = 0.0;   // lossAfter - lossBefore, >= 0
  // ||delta||_p of the point that gave lossAfter (<= rho; 0 when no iterate rose above L(w)).
  double perturbationNorm = 0.0;
  int gradients = 0;
  int losses = 0;           // including L(w)
  int stepHalvings = 0;
  bool cancelled = false;   // cancelled before the last step: the fields hold the steps done
};

// L(w + d) for a perturbation d of the weights; when `gradient` is not null it also receives dL/dw at
// w + d (resized to the weights' length by the caller).
using PerturbedLoss = std::function<double(const std::vector<double>& d, std::vector<double>* gradient)>;

// The ascent above for the weights `weights` (T = diag(|weights|)) of the loss `loss`. `cancel` (may be
// null) is checked before each step. Throws Error for empty weights, rho not finite or <= 0, or steps < 1.
AdaptiveAscentResult maximizeAdaptivePerturbation(const std::vector<double>& weights, const PerturbedLoss& loss,
                                                  const AdaptiveAscentOptions& options,
                                                  const std::atomic<bool>* cancel = nullptr);

// The steps at which Auto-PGD may halve the step size, for `steps` steps (Croce & Hein 2020, section
// 3.2; the schedule of Andriushchenko et al.'s code): ceil(p_j steps) for p_1 = 0.22 and
// p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), while below `steps`.
std::vector<int> autoPgdCheckpoints(int steps);

// Adaptive sharpness of a network over an image set (AdaptiveSharpnessTorch.h): the ascent per disjoint
// batch of m examples in file order (Andriushchenko et al. take batches of 128 of 1024 examples), the
// results averaged over the batches weighted by their sizes.
struct AdaptiveSharpnessOptions {
  AdaptiveAscentOptions ascent;
  std::int64_t m = 128;  // examples per batch, >= 1; m >= the set's size: one batch
  // Passes within a batch (its memory; the result does not depend on it), device, group.
  EvaluationSettings evaluation;
  // Evaluate in float64 (the network is converted for the computation and back); off: its own precision.
  bool doublePrecision = false;
};

struct AdaptiveSharpnessResult {
  double value = 0.0;       // the batches' sharpness, weighted mean; NaN when cancelled
  double lossBefore = 0.0;  // weighted mean of the batches' L(w) (the set's loss)
  double lossAfter = 0.0;   // weighted mean of the batches' largest perturbed losses
  double maxPerturbationNorm = 0.0;  // the largest ||delta||_p over the batches' worst points
  std::int64_t batches = 0;
  std::int64_t gradients = 0;  // gradients of a batch, over all batches
  std::int64_t stepHalvings = 0;
  bool cancelled = false;
};

}  // namespace samscape

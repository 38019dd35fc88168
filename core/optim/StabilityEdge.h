#pragma once
// The edge of stability: the largest curvature on which a method's step is stable, drawn beside
// lambda_max. Plain numbers, no LibTorch.
//
// Gradient descent (Cohen, Kaur, Li, Kolter & Talwalkar, ICLR 2021): on a quadratic of curvature lambda
// the step multiplies the error along the eigenvector by 1 - lr lambda, stable iff lambda < 2/lr; with
// heavy-ball momentum beta iff lambda < 2(1 + beta)/lr (Nesterov's: 2(1 + beta)/((1 + 2 beta) lr)).
//
// SAM (Long & Bartlett, "Sharpness-Aware Minimization and the Edge of Stability", JMLR 2024,
// arXiv 2309.12488, Section 2): the gradient is taken at w + rho g/||g||. On a quadratic whose top
// eigenvector carries only a small part of the gradient, the error x along it becomes
// x - lr lambda (1 + rho lambda/||g||) x: SAM is gradient descent on the curvature
// lambda (1 + rho lambda/||g||). Setting that to the gradient-descent edge E gives the SAM-edge
//   lambda = (||g|| / (2 rho)) (sqrt(1 + 4 rho E/||g||) - 1),
// which for E = 2/lr is the paper's (||g||/(2 rho)) (sqrt(1 + 8 rho/(lr ||g||)) - 1) (the authors'
// sam_edge.py computes exactly this, with g the batch's gradient where lambda is measured). It lies
// below 2/lr and tends to it as rho ||g||^-1 -> 0; unlike 2/lr it falls as the gradient shrinks.
// With momentum the same substitution uses E = 2(1 + beta)/lr (our extension; the paper has none).

#include <optional>
#include <string>

#include "core/optim/OptimizerSpec.h"

namespace samscape {

// 2(1 + beta)/lr, or 2(1 + beta)/((1 + 2 beta) lr) with Nesterov; 2/lr without momentum.
double gradientDescentEdge(double learningRate, double momentum, bool nesterov);

// The curvature lambda at which lambda (1 + rho lambda / gradientNorm) reaches `gradientDescentEdge`:
// the SAM-edge above. NaN for a gradient norm that is not positive and finite (no perturbation
// direction), or a radius or edge that is not positive.
double samEdge(double gradientDescentEdge, double rho, double gradientNorm);

struct StabilityEdge {
  double value = 0.0;
  std::string label;  // "2/lr", "2(1+β)/lr", "SAM edge": how the curves and the docs name it
  bool sam = false;
};

// The edge of `optimizer` at a step of `learningRate` (the epoch's), for the curvature of the loss it
// steps on: gradient descent's for sgd; the SAM-edge for sam (its radius at that rate, see
// OptimizerSpec::rhoAt), which needs the gradient's norm at the analysed weights (nullopt: none).
// Nothing for an Adam base (its bound holds for the preconditioned sharpness) and for the rules whose
// step is not SAM's normalized-gradient ascent (asam, msam, gsam, looksam: the derivation does not
// cover them). With --sam-from-epoch E the run steps as SGD before epoch E: `epoch` (the epoch whose
// steps led to the analysed weights) picks the edge; without it a late-SAM run has none.
std::optional<StabilityEdge> stabilityEdge(const OptimizerSpec& optimizer, double learningRate,
                                           std::optional<double> gradientNorm, std::optional<int> epoch = std::nullopt);

}  // namespace samscape

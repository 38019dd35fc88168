#pragma once
// Momentum-SAM (Becker, Altrock & Risse, "Momentum-SAM: Sharpness Aware Minimization without
// Computational Overhead", arXiv 2401.12033, 2024, Algorithm 1): the perturbation is taken along the
// base SGD optimizer's momentum buffer v instead of a fresh gradient, so a step costs one gradient, as
// SGD's does. With the weights w_t, the step computes g = grad L_B(w_t - rho v_t / ||v_t||) at the
// perturbed point, and SGD then steps from w_t with it: v_{t+1} = mu v_t + g, w_{t+1} = w_t - lr v_{t+1}.
// The sign is the paper's and the authors' code's (github.com/MarlonBecker/MSAM, optimizer/msam.py):
// e = -rho v / ||v||, against the momentum, i.e. along the direction the step is about to take; their
// norm is ||v|| + 1e-12, and e = 0 before the first step (no momentum yet), both kept here.
// Two ways of writing the same update: the authors' optimizer keeps the perturbed weights between
// steps (and moves back before evaluating); here the weights stay w_t between steps, so evaluation,
// checkpoints and analyses see w_t, and e lives within the step. In their code SGD's weight decay is
// taken at the perturbed point (d = g + wd (w_t + e)); finishStepGradient adds the wd e that the base
// optimizer's wd w_t lacks. (Their code clips g before adding the decay; with --clip-norm the clipped
// gradient here includes wd e.) The step's one pass is at the perturbed weights and is the one whose
// loss the step reports and whose batch statistics it keeps, as in their code.
// Its only state is the base optimizer's momentum, which checkpoints keep already. It needs --base sgd
// with --momentum above 0, without --nesterov (the authors' update is plain momentum) and without --m
// (its perturbation is the same for every chunk). Its default radius, 3, is the one every MSAM run in
// the authors' README and configs/default.ini uses (their class's constructor default is 0.3).
// LibTorch header.

#include <string>
#include <vector>

#include "core/optim/Optimizer.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/TensorLists.h"

namespace samscape {

class MomentumSamRule final : public SharpnessRule {
 public:
  std::string name() const override { return "msam"; }
  double defaultRho() const override { return 3.0; }

  std::string configurationProblem(const OptimizerSpec& spec) const override {
    if (spec.base != BaseOptimizerKind::Sgd) return "msam perturbs along SGD's momentum buffer: needs --base sgd";
    if (!(spec.momentum > 0.0)) return "msam perturbs along SGD's momentum buffer: needs --momentum greater than 0";
    if (spec.nesterov) return "msam follows the authors' plain-momentum update: --nesterov does not apply";
    if (spec.m > 0) return "msam's perturbation is the same for every chunk: --m does not apply";
    return "";
  }

  double gradientsPerStep(const OptimizerSpec&) const override { return 1.0; }
  bool perturbsAlongGradient() const override { return false; }

  // -rho v / (||v|| + 1e-12), v the base optimizer's momentum buffers; zero before they exist.
  std::vector<torch::Tensor> perturbation(const std::vector<torch::Tensor>& parameters,
                                          const RuleContext& step) const override {
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> momentum =
        step.base != nullptr ? step.base->momentumBuffers() : std::vector<torch::Tensor>();
    std::vector<torch::Tensor> perturbation;
    perturbation.reserve(parameters.size());
    const bool held = momentum.size() == parameters.size();
    const double scale = held ? -step.spec.effectiveRho() / (jointNorm(momentum) + 1e-12) : 0.0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!held || !momentum[i].defined()) {
        perturbation.push_back(torch::zeros_like(parameters[i]));
      } else {
        perturbation.push_back(momentum[i].to(parameters[i].device(), parameters[i].scalar_type()) * scale);
      }
    }
    return perturbation;
  }

  // The weight decay of the perturbed point: the base optimizer adds wd w_t, the authors' update
  // wd (w_t + e). e is as perturbation() formed it: the momentum has not moved since.
  void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>&,
                          bool ascent, const RuleContext& step) override {
    if (!ascent || step.spec.weightDecay == 0.0) return;
    const std::vector<torch::Tensor> e = perturbation(parameters, step);
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (parameters[i].grad().defined()) parameters[i].mutable_grad() = parameters[i].grad() + step.spec.weightDecay * e[i];
    }
  }
};

}  // namespace samscape

#pragma once
// Which optimizer to use and its hyper-parameters: a plain value type, no LibTorch.

#include <cstdint>
#include <string>

#include "core/NamedEnum.h"

namespace samscape {

// The optimizer that applies the updates: torch.optim.SGD or torch.optim.Adam.
enum class BaseOptimizerKind { Sgd, Adam };
inline const EnumNames<BaseOptimizerKind>& names(BaseOptimizerKind) {
  static const EnumNames<BaseOptimizerKind> list{{BaseOptimizerKind::Sgd, "sgd"}, {BaseOptimizerKind::Adam, "adam"}};
  return list;
}

// How SAM's radius moves over a run: constant, or proportional to the learning rate of the step
// (rho_t = rho * lr_t / lr, as GSAM schedules it: Zhuang et al. 2022), so that it warms up and decays
// with the rate.
enum class RhoSchedule { Constant, LearningRate };
inline const EnumNames<RhoSchedule>& names(RhoSchedule) {
  static const EnumNames<RhoSchedule> list{{RhoSchedule::Constant, "constant"}, {RhoSchedule::LearningRate, "lr"}};
  return list;
}

// Where GSAM decomposes the gradients when the batch is split over replicas (or ranks): on each
// replica's own gradients before they are averaged, as the authors' code does on each worker before its
// all-reduce (github.com/juntang-zhuang/GSAM, gsam/gsam.py, step()), or once on the averaged gradients.
enum class GsamDecomposition { PerReplica, Averaged };
inline const EnumNames<GsamDecomposition>& names(GsamDecomposition) {
  static const EnumNames<GsamDecomposition> list{{GsamDecomposition::PerReplica, "per-replica"},
                                                 {GsamDecomposition::Averaged, "averaged"}};
  return list;
}

struct OptimizerSpec {
  // --optimizer: the name of a registered gradient rule (core/optim/rules/SharpnessRules.h): sgd or
  // adam (the base optimizer on the plain gradient), or a sharpness-aware rule over `base`.
  std::string kind = "sgd";
  BaseOptimizerKind base = BaseOptimizerKind::Sgd;  // of the sharpness-aware rules
  double learningRate = 0.05;
  // SGD
  double momentum = 0.9;
  bool nesterov = false;
  // Adam
  double adamBeta1 = 0.9;
  double adamBeta2 = 0.999;
  double adamEpsilon = 1e-8;
  // L2 weight decay belongs to the base optimizer: it is added to the gradient the base steps with
  // and never enters the SAM perturbation.
  double weightDecay = 5e-4;
  // The sharpness-aware rules. A negative rho means the rule's default (SharpnessRule::defaultRho).
  double rho = -1.0;
  RhoSchedule rhoSchedule = RhoSchedule::Constant;
  // The rules' own options, described and checked in their files: core/optim/rules/AsamRule.h
  // (asamEta), GsamRule.h (gsamAlpha, gsamDecompose), LookSamRule.h (lookSamK, lookSamAlpha); and of
  // late-phase SAM, which wraps any of them: LateSamRule.h (samFromEpoch).
  double asamEta = 0.01;
  double gsamAlpha = 0.1;
  GsamDecomposition gsamDecompose = GsamDecomposition::PerReplica;
  std::int64_t lookSamK = 5;
  double lookSamAlpha = 0.7;
  // Late-phase SAM: plain steps of the base optimizer before this 1-based epoch, the rule's steps from
  // it on; 0 (or 1): the rule's steps from the start.
  std::int64_t samFromEpoch = 0;
  // m-sharpness: chunks of m examples, each with its own perturbation; 0 = the whole (per-replica) batch.
  std::int64_t m = 0;
  // Gradient accumulation: the (per-replica) batch is processed as this many micro-batches, with the
  // result of one pass over the whole batch (SAM perturbs with the whole batch's gradient).
  std::int64_t accumulate = 1;
  // Clip the final gradient (after averaging over chunks and replicas) to this L2 norm; 0 = off.
  double clipNorm = 0.0;

  // What the rule named `kind` says (OptimizerSpec.cpp asks the registry); an unknown name is a
  // ConfigError naming --optimizer.
  // Whether it perturbs the weights (false for sgd and adam).
  bool sharpnessAware() const;
  // The base optimizer that applies the updates.
  BaseOptimizerKind baseKind() const;
  double effectiveRho() const;
  // The radius of a step taken at `stepLearningRate`.
  double rhoAt(double stepLearningRate) const {
    if (rhoSchedule == RhoSchedule::Constant || !(learningRate > 0.0)) return effectiveRho();
    return effectiveRho() * stepLearningRate / learningRate;
  }
};

}  // namespace samscape

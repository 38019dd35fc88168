#pragma once
// Which optimizer to use and its hyper-parameters: a plain value type, no LibTorch.

#include <cstdint>
#include <string>

#include "core/NamedEnum.h"

namespace samscape {

// sgd or adam: that base optimizer on the plain gradient. The others hand a sharpness-aware gradient
// to a base optimizer: sam (Foret et al. 2021), asam (Kwon et al. 2021), gsam (Zhuang et al. 2022:
// SAM's gradient less alpha times the part of the clean gradient orthogonal to it) and looksam (Liu
// et al. 2022: SAM's ascent every k steps, its orthogonal component reused in between).
enum class OptimizerKind { Sgd, Adam, Sam, Asam, Gsam, LookSam };
inline const EnumNames<OptimizerKind>& names(OptimizerKind) {
  static const EnumNames<OptimizerKind> list{{OptimizerKind::Sgd, "sgd"},   {OptimizerKind::Adam, "adam"},
                                             {OptimizerKind::Sam, "sam"},   {OptimizerKind::Asam, "asam"},
                                             {OptimizerKind::Gsam, "gsam"}, {OptimizerKind::LookSam, "looksam"}};
  return list;
}

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

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::Sgd;
  BaseOptimizerKind base = BaseOptimizerKind::Sgd;  // of sam and asam
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
  // The sharpness-aware kinds. A negative rho means the method's default: 0.5 for ASAM, 0.05 for the others.
  double rho = -1.0;
  RhoSchedule rhoSchedule = RhoSchedule::Constant;
  double asamEta = 0.01;
  // GSAM: the step uses g_sam - gsamAlpha * (g - (g.g_sam / |g_sam|^2) g_sam).
  double gsamAlpha = 0.1;
  // LookSAM: the full ascent on every lookSamK-th step (the first included); in between the step uses
  // g + lookSamAlpha * (|g| / |g_v|) g_v, g_v the last ascent's SAM gradient less its projection on g.
  std::int64_t lookSamK = 5;
  double lookSamAlpha = 0.7;
  // m-sharpness: chunks of m examples, each with its own perturbation; 0 = the whole (per-replica) batch.
  std::int64_t m = 0;
  // Gradient accumulation: the (per-replica) batch is processed as this many micro-batches, with the
  // result of one pass over the whole batch (SAM perturbs with the whole batch's gradient).
  std::int64_t accumulate = 1;
  // Clip the final gradient (after averaging over chunks and replicas) to this L2 norm; 0 = off.
  double clipNorm = 0.0;

  bool sharpnessAware() const { return kind != OptimizerKind::Sgd && kind != OptimizerKind::Adam; }
  // GSAM and LookSAM combine the SAM gradient with the clean one.
  bool needsCleanGradient() const { return kind == OptimizerKind::Gsam || kind == OptimizerKind::LookSam; }
  // The base optimizer that applies the updates.
  BaseOptimizerKind baseKind() const {
    if (sharpnessAware()) return base;
    return kind == OptimizerKind::Adam ? BaseOptimizerKind::Adam : BaseOptimizerKind::Sgd;
  }
  double effectiveRho() const { return rho >= 0.0 ? rho : (kind == OptimizerKind::Asam ? 0.5 : 0.05); }
  // The radius of a step taken at `stepLearningRate`.
  double rhoAt(double stepLearningRate) const {
    if (rhoSchedule == RhoSchedule::Constant || !(learningRate > 0.0)) return effectiveRho();
    return effectiveRho() * stepLearningRate / learningRate;
  }
};

}  // namespace samscape

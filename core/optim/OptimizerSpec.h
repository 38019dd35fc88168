#pragma once
// Which optimizer to use and its hyper-parameters: a plain value type, no LibTorch.

#include <cstdint>
#include <string>

namespace samscape {

struct OptimizerSpec {
  // sgd or adam: that base optimizer on the plain gradient. sam or asam: the sharpness-aware gradient
  // (Foret et al. 2021; Kwon et al. 2021) handed to the base optimizer named by `base`.
  std::string name = "sgd";
  std::string base = "sgd";
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
  // SAM / ASAM. A negative rho means the method's default: 0.05 for SAM, 0.5 for ASAM.
  double rho = -1.0;
  double asamEta = 0.01;
  // m-sharpness: chunks of m examples, each with its own perturbation; 0 = the whole (per-replica) batch.
  std::int64_t m = 0;
  // Clip the final gradient (after averaging over chunks and replicas) to this L2 norm; 0 = off.
  double clipNorm = 0.0;

  bool sharpnessAware() const { return name == "sam" || name == "asam"; }
  // The base optimizer that applies the updates.
  const std::string& baseName() const { return sharpnessAware() ? base : name; }
  double effectiveRho() const { return rho >= 0.0 ? rho : (name == "asam" ? 0.5 : 0.05); }
};

}  // namespace samscape

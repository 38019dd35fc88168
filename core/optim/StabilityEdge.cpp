#include "core/optim/StabilityEdge.h"

#include <cmath>
#include <limits>

namespace samscape {

double gradientDescentEdge(double learningRate, double momentum, bool nesterov) {
  const double numerator = nesterov ? 2.0 * (1.0 + momentum) / (1.0 + 2.0 * momentum) : 2.0 * (1.0 + momentum);
  return numerator / learningRate;
}

double samEdge(double gradientDescentEdge, double rho, double gradientNorm) {
  if (!(gradientNorm > 0.0) || !std::isfinite(gradientNorm) || !(rho > 0.0) || !(gradientDescentEdge > 0.0) ||
      !std::isfinite(gradientDescentEdge)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  // The positive root of (rho/|g|) lambda^2 + lambda - E = 0. Written as 2E / (1 + sqrt(1 + 4 rho E/|g|)),
  // the same number without the cancellation of sqrt(1 + x) - 1 when rho E/|g| is tiny.
  const double x = 4.0 * rho * gradientDescentEdge / gradientNorm;
  return 2.0 * gradientDescentEdge / (1.0 + std::sqrt(1.0 + x));
}

std::optional<StabilityEdge> stabilityEdge(const OptimizerSpec& optimizer, double learningRate,
                                           std::optional<double> gradientNorm, std::optional<int> epoch) {
  if (optimizer.baseKind() != BaseOptimizerKind::Sgd || !(learningRate > 0.0)) return std::nullopt;
  const double momentum = optimizer.momentum;
  const double edge = gradientDescentEdge(learningRate, momentum, optimizer.nesterov);
  const bool late = optimizer.sharpnessAware() && optimizer.samFromEpoch > 1;
  if (late && !epoch) return std::nullopt;  // which phase stepped is unknown
  if (!optimizer.sharpnessAware() || (late && *epoch < optimizer.samFromEpoch)) {
    const char* label = momentum == 0.0 ? "2/lr" : (optimizer.nesterov ? "2(1+β)/((1+2β)lr)" : "2(1+β)/lr");
    return StabilityEdge{edge, label, false};
  }
  // SAM's normalized-gradient ascent over the whole batch only: with --m each chunk ascends along its
  // own gradient, whose norm is not the analysed one.
  if (optimizer.kind != "sam" || optimizer.m > 0 || !gradientNorm) return std::nullopt;
  const double value = samEdge(edge, optimizer.rhoAt(learningRate), *gradientNorm);
  if (!std::isfinite(value)) return std::nullopt;
  return StabilityEdge{value, "SAM edge", true};
}

}  // namespace samscape

#include "core/optim/LearningRateSchedule.h"

#include <algorithm>
#include <cmath>

#include "core/Error.h"

namespace samscape {

std::string scheduleName(ScheduleKind kind) { return nameOf(kind); }

ScheduleKind parseScheduleName(const std::string& name) {
  if (const auto kind = valueNamed<ScheduleKind>(name)) return *kind;
  throw ConfigError("--schedule", name, "expected " + joinNames(allNames<ScheduleKind>()));
}

LearningRateSchedule::LearningRateSchedule(ScheduleOptions options) : options_(std::move(options)) {
  totalSteps_ = static_cast<std::int64_t>(options_.epochs) * options_.stepsPerEpoch;
  warmupSteps_ = static_cast<std::int64_t>(
      std::llround(options_.warmupEpochs * static_cast<double>(options_.stepsPerEpoch)));
  warmupSteps_ = std::clamp<std::int64_t>(warmupSteps_, 0, totalSteps_);
  if (options_.kind == ScheduleKind::Step && options_.stepEpochs.empty()) {
    options_.stepEpochs = {options_.epochs / 2, (options_.epochs * 3) / 4};
  }
}

double LearningRateSchedule::rateAt(std::int64_t globalStep) const {
  const double base = options_.baseLearningRate;
  if (globalStep < warmupSteps_) {
    return base * static_cast<double>(globalStep + 1) / static_cast<double>(warmupSteps_);
  }
  switch (options_.kind) {
    case ScheduleKind::Constant:
      return base;
    case ScheduleKind::Cosine: {
      // Cosine annealing to zero over the steps after warm-up (Loshchilov & Hutter 2017, without
      // restarts), evaluated per step as the SAM reference code does.
      const auto span = std::max<std::int64_t>(1, totalSteps_ - warmupSteps_);
      const double progress = static_cast<double>(globalStep - warmupSteps_) / static_cast<double>(span);
      return base * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    }
    case ScheduleKind::Step: {
      const auto epoch = static_cast<int>(globalStep / std::max<std::int64_t>(1, options_.stepsPerEpoch));
      double rate = base;
      for (int milestone : options_.stepEpochs) {
        if (epoch >= milestone) rate *= options_.stepFactor;
      }
      return rate;
    }
  }
  return base;
}

}  // namespace samscape

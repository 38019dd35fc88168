#pragma once
// Learning-rate schedules evaluated per optimizer step. Plain C++, no LibTorch.

#include <cstdint>
#include <string>
#include <vector>

#include "core/NamedEnum.h"

namespace samscape {

enum class ScheduleKind { Constant, Cosine, Step };
inline const EnumNames<ScheduleKind>& names(ScheduleKind) {
  static const EnumNames<ScheduleKind> list{
      {ScheduleKind::Constant, "constant"}, {ScheduleKind::Cosine, "cosine"}, {ScheduleKind::Step, "step"}};
  return list;
}

std::string scheduleName(ScheduleKind kind);
ScheduleKind parseScheduleName(const std::string& name);  // throws ConfigError naming --schedule

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::Cosine;
  double baseLearningRate = 0.05;
  int epochs = 1;
  std::int64_t stepsPerEpoch = 1;
  // Linear warm-up over the first warmupEpochs * stepsPerEpoch steps, from baseLearningRate / W up
  // to baseLearningRate (W = number of warm-up steps); the main schedule runs over the rest.
  double warmupEpochs = 0.0;
  // Step schedule: multiply by stepFactor at each epoch in stepEpochs (0-based epochs at which the
  // new rate starts). Empty means at 50% and 75% of the epochs.
  std::vector<int> stepEpochs;
  double stepFactor = 0.1;
};

class LearningRateSchedule {
 public:
  explicit LearningRateSchedule(ScheduleOptions options);
  // The rate for the optimizer step with 0-based index `globalStep`.
  double rateAt(std::int64_t globalStep) const;
  std::int64_t totalSteps() const { return totalSteps_; }
  std::int64_t warmupSteps() const { return warmupSteps_; }

 private:
  ScheduleOptions options_;
  std::int64_t totalSteps_;
  std::int64_t warmupSteps_;
};

}  // namespace samscape

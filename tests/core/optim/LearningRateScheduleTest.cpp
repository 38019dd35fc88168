#include <gtest/gtest.h>

#include <cmath>

#include "core/Error.h"
#include "core/optim/LearningRateSchedule.h"

namespace samscape {
namespace {

ScheduleOptions options(ScheduleKind kind, int epochs, std::int64_t stepsPerEpoch, double warmup = 0) {
  ScheduleOptions o;
  o.kind = kind;
  o.baseLearningRate = 0.2;
  o.epochs = epochs;
  o.stepsPerEpoch = stepsPerEpoch;
  o.warmupEpochs = warmup;
  return o;
}

TEST(LearningRateSchedule, ConstantIsTheBaseRateThroughout) {
  LearningRateSchedule schedule(options(ScheduleKind::Constant, 3, 4));
  for (std::int64_t step = 0; step < 12; ++step) EXPECT_DOUBLE_EQ(schedule.rateAt(step), 0.2);
}

TEST(LearningRateSchedule, CosineStartsAtTheBaseHalvesMidwayAndApproachesZero) {
  LearningRateSchedule schedule(options(ScheduleKind::Cosine, 10, 10));
  EXPECT_DOUBLE_EQ(schedule.rateAt(0), 0.2);
  EXPECT_NEAR(schedule.rateAt(50), 0.1, 1e-12);
  EXPECT_NEAR(schedule.rateAt(25), 0.2 * 0.5 * (1 + std::cos(M_PI / 4)), 1e-12);
  EXPECT_NEAR(schedule.rateAt(99), 0.2 * 0.5 * (1 + std::cos(M_PI * 0.99)), 1e-12);
  for (std::int64_t step = 1; step < 100; ++step) EXPECT_LT(schedule.rateAt(step), schedule.rateAt(step - 1));
}

TEST(LearningRateSchedule, StepDefaultsToTenfoldDropsAtHalfAndThreeQuarters) {
  LearningRateSchedule schedule(options(ScheduleKind::Step, 8, 5));
  EXPECT_DOUBLE_EQ(schedule.rateAt(0), 0.2);
  EXPECT_DOUBLE_EQ(schedule.rateAt(19), 0.2);        // epoch 3
  EXPECT_NEAR(schedule.rateAt(20), 0.02, 1e-15);     // epoch 4 = 8 / 2
  EXPECT_NEAR(schedule.rateAt(30), 0.002, 1e-15);    // epoch 6 = 8 * 3 / 4
}

TEST(LearningRateSchedule, StepUsesExplicitEpochsAndFactor) {
  auto o = options(ScheduleKind::Step, 10, 2);
  o.stepEpochs = {3};
  o.stepFactor = 0.5;
  LearningRateSchedule schedule(o);
  EXPECT_DOUBLE_EQ(schedule.rateAt(5), 0.2);
  EXPECT_DOUBLE_EQ(schedule.rateAt(6), 0.1);
  EXPECT_DOUBLE_EQ(schedule.rateAt(19), 0.1);
}

TEST(LearningRateSchedule, WarmupRisesLinearlyThenHandsOverToTheSchedule) {
  LearningRateSchedule schedule(options(ScheduleKind::Cosine, 10, 10, 2.0));
  ASSERT_EQ(schedule.warmupSteps(), 20);
  EXPECT_NEAR(schedule.rateAt(0), 0.2 / 20, 1e-15);
  EXPECT_NEAR(schedule.rateAt(9), 0.2 * 10 / 20, 1e-15);
  EXPECT_NEAR(schedule.rateAt(19), 0.2, 1e-15);
  EXPECT_DOUBLE_EQ(schedule.rateAt(20), 0.2);  // cosine restarts its clock after warm-up
  EXPECT_NEAR(schedule.rateAt(60), 0.1, 1e-12);
}

TEST(LearningRateSchedule, NamesRoundTripAndUnknownNamesAreRejected) {
  for (auto kind : {ScheduleKind::Constant, ScheduleKind::Cosine, ScheduleKind::Step}) {
    EXPECT_EQ(parseScheduleName(scheduleName(kind)), kind);
  }
  EXPECT_THROW(parseScheduleName("linear"), ConfigError);
}

}  // namespace
}  // namespace samscape

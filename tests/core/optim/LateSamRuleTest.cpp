// Late-phase SAM (--sam-from-epoch; Zhou et al., ICLR 2025; Andriushchenko & Flammarion, ICML 2022)
// against the updates computed by hand on a 2-parameter quadratic: momentum SGD's before the epoch,
// SAM's from it on, with one gradient a step and then two; its checks and its cost estimate; and runs
// resumed across the switch, which must end as the uninterrupted ones.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/Error.h"
#include "core/optim/Optimizer.h"
#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/rules/LateSamRule.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/Checkpoint.h"
#include "core/train/Trainer.h"
#include "tests/support/QuadraticBatch.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using test::QuadraticBatch;

OptimizerSpec lateSam(std::int64_t fromEpoch) {
  OptimizerSpec spec;
  spec.kind = "sam";
  spec.learningRate = 0.1;
  spec.momentum = 0.9;
  spec.weightDecay = 0.01;
  spec.rho = 0.5;
  spec.samFromEpoch = fromEpoch;
  return spec;
}

TEST(LateSamRule, StepsAsMomentumSgdBeforeTheEpochAndAsSamFromItByHand) {
  const OptimizerSpec spec = lateSam(3);
  QuadraticBatch batch;
  const std::vector<torch::Tensor> parameters = {batch.weights};
  auto optimizer = makeOptimizer(parameters, spec);
  const auto rule = makeSharpnessRule(spec);
  ASSERT_NE(dynamic_cast<LateSamRule*>(rule.get()), nullptr) << "--sam-from-epoch 3 must wrap the rule";
  EXPECT_EQ(rule->name(), "sam") << "its state keeps the wrapped rule's checkpoint names";

  // By hand, two steps an epoch, epochs 1 to 3: d = g + wd w with g = grad L(w) before epoch 3 and
  // g = grad L(w + rho grad L(w) / |grad L(w)|) from it on; v <- mu v + d (v = d on the first step);
  // w <- w - lr v. The momentum carries across the switch.
  std::vector<double> w = {0.4, -1.1};
  std::vector<double> v = {0.0, 0.0};
  for (std::int64_t t = 0; t < 6; ++t) {
    const std::int64_t epoch = 1 + t / 2;
    const bool sam = epoch >= 3;
    std::vector<double> g = batch.handGradient(w);
    if (sam) {
      const double norm = std::sqrt(g[0] * g[0] + g[1] * g[1]);
      g = batch.handGradient({w[0] + spec.rho * g[0] / norm, w[1] + spec.rho * g[1] / norm});
    }
    for (std::size_t j = 0; j < 2; ++j) {
      v[j] = spec.momentum * v[j] + g[j] + spec.weightDecay * w[j];
      w[j] -= spec.learningRate * v[j];
    }

    // The step as trainingStep chains it for one replica.
    batch.passes.clear();
    const RuleContext step{spec, t, optimizer.get(), epoch};
    const bool ascent = rule->takesAscent(step);
    const auto clean = computeStepGradient(parameters, batch, *rule, step, ascent);
    rule->finishReplicaGradient(parameters, clean, ascent, step);
    rule->finishStepGradient(parameters, clean, ascent, step);
    optimizer->applyGradients();

    // The cost: one gradient a step (SGD's), then two (SAM's).
    const std::vector<PassKind> expectedPasses =
        sam ? std::vector<PassKind>{PassKind::Clean, PassKind::Perturbed} : std::vector<PassKind>{PassKind::Clean};
    EXPECT_EQ(batch.passes, expectedPasses) << "step " << t << ", epoch " << epoch;
    EXPECT_NEAR(batch.weights[0].item<double>(), w[0], 1e-12) << "step " << t;
    EXPECT_NEAR(batch.weights[1].item<double>(), w[1], 1e-12) << "step " << t;
  }
}

// Zero (the default) and 1 leave SAM's steps from the start; only a positive E wraps the rule, and never
// a plain one.
TEST(LateSamRule, WrapsOnlyASharpnessAwareRuleWithAPositiveEpoch) {
  OptimizerSpec spec = lateSam(0);
  EXPECT_EQ(dynamic_cast<LateSamRule*>(makeSharpnessRule(spec).get()), nullptr);
  spec.samFromEpoch = 1;
  const auto fromTheStart = makeSharpnessRule(spec);
  EXPECT_TRUE(fromTheStart->takesAscent(RuleContext{spec, 0, nullptr, 1}));
  spec.kind = "gsam";
  spec.samFromEpoch = 4;
  const auto gsam = makeSharpnessRule(spec);
  EXPECT_FALSE(gsam->takesAscent(RuleContext{spec, 0, nullptr, 3}));
  EXPECT_FALSE(gsam->needsAveragedCleanGradient(RuleContext{spec, 0, nullptr, 3}));
  EXPECT_TRUE(gsam->takesAscent(RuleContext{spec, 0, nullptr, 4}));
  EXPECT_NE(gsam->describeOptions(spec).find("plain steps before epoch 4"), std::string::npos) << gsam->describeOptions(spec);
}

std::string problemOf(const TrainConfig& config) {
  try {
    validateConfig(config);
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--sam-from-epoch") << error.what();
    return error.what();
  }
  return "";
}

TEST(LateSamRule, ItsOptionNamesItsProblems) {
  TrainConfig config;
  config.epochs = 10;
  config.optimizer.kind = "sam";
  config.optimizer.samFromEpoch = 8;
  EXPECT_EQ(problemOf(config), "");
  config.optimizer.samFromEpoch = 10;  // the last epoch alone
  EXPECT_EQ(problemOf(config), "");
  config.optimizer.samFromEpoch = -1;
  EXPECT_NE(problemOf(config).find("positive"), std::string::npos);
  config.optimizer.samFromEpoch = 11;
  EXPECT_NE(problemOf(config).find("--epochs 10"), std::string::npos) << problemOf(config);
  config.optimizer.samFromEpoch = 8;
  for (const std::string plain : {"sgd", "adam"}) {
    config.optimizer.kind = plain;
    const std::string problem = problemOf(config);
    EXPECT_NE(problem.find("sharpness-aware"), std::string::npos) << problem;
    EXPECT_NE(problem.find("--optimizer " + plain), std::string::npos) << problem;
  }
  config.optimizer.samFromEpoch = 0;
  EXPECT_EQ(problemOf(config), "") << "0 is the default: allowed with sgd";
  // It is an entry of the training options: a flag, a --config key and a field of the launch form.
  bool listed = false;
  for (const auto& option : trainOptions()) listed = listed || option.info.key == "sam-from-epoch";
  EXPECT_TRUE(listed);
}

// The run's estimated work counts the epochs before E at one gradient a step.
TEST(LateSamRule, TheCostEstimateCountsOneGradientAStepBeforeTheEpoch) {
  JobShape shape;
  shape.trainExamples = 100;
  shape.gradientSecondsPerExample = 0.01;  // 1 s per gradient over the set
  TrainConfig config;
  config.epochs = 10;
  config.optimizer.kind = "sam";
  const auto epochsCost = [&] {
    for (const auto& option : trainOptions()) {
      if (option.info.key == "epochs") return option.cost(config, shape).seconds;
    }
    ADD_FAILURE() << "no --epochs entry";
    return 0.0;
  };
  EXPECT_NEAR(epochsCost(), 20.0, 1e-9);
  config.optimizer.samFromEpoch = 8;  // epochs 1-7 at 1, 8-10 at 2
  EXPECT_NEAR(epochsCost(), 7.0 + 6.0, 1e-9);
}

// Resumed after the first epoch, across the switch at epoch 2: it must end as the uninterrupted run,
// whose first epoch is plain momentum SGD's to the bit and whose second is not.
TEST(LateSamRule, ARunResumedAcrossTheSwitchEndsAsTheUninterruptedOne) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
  config.optimizer.kind = "sam";
  config.optimizer.rho = 0.1;
  config.optimizer.samFromEpoch = 2;
  config.epochs = 2;
  const test::StraightAndResumed runs = test::trainStraightAndResumed(config, dir);
  ASSERT_EQ(runs.straight.status, RunStatus::Finished);
  ASSERT_EQ(runs.interrupted.status, RunStatus::Cancelled);
  ASSERT_EQ(runs.resumed.status, RunStatus::Finished);
  ASSERT_EQ(runs.resumed.epochs.size(), 2u);
  EXPECT_EQ(runs.resumed.epochs[1].trainLoss, runs.straight.epochs[1].trainLoss);
  EXPECT_EQ(runs.resumed.epochs[1].testLoss, runs.straight.epochs[1].testLoss);

  config.optimizer.kind = "sgd";
  config.optimizer.rho = -1.0;
  config.optimizer.samFromEpoch = 0;
  config.outDir = dir.file("sgd");
  const TrainingResult sgd = Trainer(config).run({});
  ASSERT_EQ(sgd.status, RunStatus::Finished);
  EXPECT_EQ(runs.straight.epochs[0].trainLoss, sgd.epochs[0].trainLoss) << "epoch 1 is before the switch";
  EXPECT_EQ(runs.straight.epochs[0].testLoss, sgd.epochs[0].testLoss);
  EXPECT_NE(runs.straight.epochs[1].trainLoss, sgd.epochs[1].trainLoss) << "epoch 2 takes SAM's steps";
}

// The wrapped rule's state goes through the wrapper into checkpoints: LookSAM switched on at epoch 1,
// resumed between ascents (k = 4: epoch 2 starts at step 6), must not ascend again on resuming.
TEST(LateSamRule, TheWrappedRulesStateIsCheckpointed) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
  config.optimizer.kind = "looksam";
  config.optimizer.lookSamK = 4;
  config.optimizer.samFromEpoch = 1;
  config.epochs = 2;
  const test::StraightAndResumed runs = test::trainStraightAndResumed(config, dir);
  ASSERT_EQ(runs.resumed.status, RunStatus::Finished);
  ASSERT_EQ(runs.resumed.epochs.size(), 2u);
  EXPECT_EQ(runs.resumed.epochs[1].trainLoss, runs.straight.epochs[1].trainLoss);
  EXPECT_EQ(runs.resumed.epochs[1].testLoss, runs.straight.epochs[1].testLoss);
}

}  // namespace
}  // namespace samscape

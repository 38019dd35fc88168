// Momentum-SAM against the paper's update computed by hand (Becker, Altrock & Risse 2024, Algorithm 1,
// as the authors' optimizer/msam.py applies it, weight decay at the perturbed point) on a 2-parameter
// quadratic, through the rule, the step's gradient and LibTorch's SGD as a training step chains them;
// its checks; and a run resumed from a checkpoint, which must end as the uninterrupted one.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/Error.h"
#include "core/optim/Optimizer.h"
#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/rules/MomentumSamRule.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/Checkpoint.h"
#include "core/train/Trainer.h"
#include "tests/support/QuadraticBatch.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using test::QuadraticBatch;

TEST(MomentumSamRule, StepsAsThePapersUpdateByHand) {
  OptimizerSpec spec;
  spec.kind = "msam";
  spec.learningRate = 0.1;
  spec.momentum = 0.9;
  spec.weightDecay = 0.01;
  spec.rho = 0.5;
  QuadraticBatch batch;
  const std::vector<torch::Tensor> parameters = {batch.weights};
  auto optimizer = makeOptimizer(parameters, spec);
  const auto rule = makeSharpnessRule(spec.kind);

  // By hand: w~ = w - rho v / (||v|| + 1e-12) (w~ = w before any momentum); g = grad L(w~);
  // v <- mu v + g + wd w~ (v = g + wd w~ on the first step); w <- w - lr v.
  std::vector<double> w = {0.4, -1.1};
  std::vector<double> v = {0.0, 0.0};
  for (std::int64_t t = 0; t < 4; ++t) {
    const double norm = std::sqrt(v[0] * v[0] + v[1] * v[1]);
    std::vector<double> perturbed(2);
    for (std::size_t j = 0; j < 2; ++j) perturbed[j] = t == 0 ? w[j] : w[j] - spec.rho * v[j] / (norm + 1e-12);
    const std::vector<double> g = batch.handGradient(perturbed);
    for (std::size_t j = 0; j < 2; ++j) {
      v[j] = spec.momentum * v[j] + g[j] + spec.weightDecay * perturbed[j];
      w[j] -= spec.learningRate * v[j];
    }

    // The step as trainingStep chains it for one replica: gradient, last stage, base optimizer.
    batch.passes.clear();
    const RuleContext step{spec, t, optimizer.get()};
    const bool ascent = rule->takesAscent(step);
    const auto clean = computeStepGradient(parameters, batch, *rule, step, ascent);
    rule->finishStepGradient(parameters, clean, ascent, step);
    optimizer->applyGradients();

    EXPECT_EQ(batch.passes, std::vector<PassKind>{PassKind::Clean}) << "one gradient a step, as SGD: step " << t;
    EXPECT_NEAR(batch.weights[0].item<double>(), w[0], 1e-12) << "step " << t;
    EXPECT_NEAR(batch.weights[1].item<double>(), w[1], 1e-12) << "step " << t;
  }
  // The perturbation moved the steps: plain momentum SGD on the same batches ends elsewhere.
  QuadraticBatch plain;
  OptimizerSpec sgd = spec;
  sgd.kind = "sgd";
  auto sgdOptimizer = makeOptimizer({plain.weights}, sgd);
  for (int t = 0; t < 4; ++t) {
    plain.lossAndGradient(0, 3, PassKind::Clean);
    sgdOptimizer->applyGradients();
  }
  EXPECT_GT(std::abs(plain.weights[0].item<double>() - w[0]) + std::abs(plain.weights[1].item<double>() - w[1]), 1e-4);
}

TEST(MomentumSamRule, IsRegisteredWithThePapersRadiusAndOneGradientAStep) {
  OptimizerSpec spec;
  spec.kind = "msam";
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 3.0);
  EXPECT_TRUE(spec.sharpnessAware());
  EXPECT_DOUBLE_EQ(sharpnessRule("msam").gradientsPerStep(spec), 1.0);
}

// What it needs of the other options is named with their flags.
TEST(MomentumSamRule, NeedsSgdWithMomentumAndSaysWhichFlag) {
  TrainConfig config;
  config.optimizer.kind = "msam";
  EXPECT_NO_THROW(validateConfig(config));
  const auto problem = [&](const std::string& flag) {
    try {
      validateConfig(config);
      ADD_FAILURE() << flag << ": accepted";
    } catch (const ConfigError& error) {
      EXPECT_EQ(error.flag(), "--optimizer");
      EXPECT_NE(std::string(error.what()).find(flag), std::string::npos) << error.what();
    }
  };
  config.optimizer.momentum = 0.0;
  problem("--momentum");
  config.optimizer.momentum = 0.9;
  config.optimizer.base = BaseOptimizerKind::Adam;
  problem("--base");
  config.optimizer.base = BaseOptimizerKind::Sgd;
  config.optimizer.nesterov = true;
  problem("--nesterov");
  config.optimizer.nesterov = false;
  config.optimizer.m = 8;
  problem("--m");
}

// Its state is the base optimizer's momentum: a run resumed from the first epoch's checkpoint must
// perturb along the restored buffers and end exactly as the uninterrupted run.
TEST(MomentumSamRule, ARunResumedFromACheckpointEndsAsTheUninterruptedOne) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
  config.optimizer.kind = "msam";
  config.optimizer.rho = 0.5;
  config.epochs = 2;
  const test::StraightAndResumed runs = test::trainStraightAndResumed(config, dir);
  const TrainingResult& straight = runs.straight;
  ASSERT_EQ(straight.status, RunStatus::Finished);
  ASSERT_EQ(runs.interrupted.status, RunStatus::Cancelled);
  ASSERT_EQ(runs.resumed.status, RunStatus::Finished);
  ASSERT_EQ(runs.resumed.epochs.size(), 2u);
  EXPECT_EQ(runs.resumed.epochs[1].trainLoss, straight.epochs[1].trainLoss);
  EXPECT_EQ(runs.resumed.epochs[1].testLoss, straight.epochs[1].testLoss);

  // And the perturbation matters: momentum SGD alone ends elsewhere.
  config.optimizer.kind = "sgd";
  config.optimizer.rho = -1.0;
  config.outDir = dir.file("sgd");
  const TrainingResult sgd = Trainer(config).run({});
  EXPECT_NE(sgd.epochs[1].trainLoss, straight.epochs[1].trainLoss);
}

}  // namespace
}  // namespace samscape

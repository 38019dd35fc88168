// SGD against the hand formula of torch.optim.SGD, on a quadratic whose gradient is known in closed
// form: L(w) = 0.5 * sum(a_i * w_i^2), grad = a * w.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <vector>

#include "core/Error.h"
#include "core/optim/Optimizer.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/TrainConfig.h"

namespace samscape {
namespace {

struct Quadratic {
  std::vector<double> curvature{1.0, 2.0, -0.5};
  torch::Tensor weights = torch::tensor({0.3, -1.2, 2.0}, torch::kFloat64).requires_grad_(true);

  GradientClosure closure() {
    return [this]() {
      if (weights.grad().defined()) weights.mutable_grad().zero_();
      const auto a = torch::tensor(curvature, torch::kFloat64);
      torch::Tensor loss = 0.5 * (a * weights * weights).sum();
      loss.backward();
      return loss.detach();
    };
  }
};

// Two steps of the reference recursion, written out element by element in double precision.
std::vector<double> handSgd(std::vector<double> w, const std::vector<double>& a, double lr,
                            double momentum, double decay, bool nesterov, int steps) {
  std::vector<double> buffer(w.size(), 0.0);
  for (int step = 0; step < steps; ++step) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = a[i] * w[i] + decay * w[i];
      buffer[i] = step == 0 ? d : momentum * buffer[i] + d;
      const double direction = nesterov ? d + momentum * buffer[i] : buffer[i];
      w[i] -= lr * direction;
    }
  }
  return w;
}

void expectWeights(const torch::Tensor& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.numel(), static_cast<std::int64_t>(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[static_cast<std::int64_t>(i)].item<double>(), expected[i], 1e-12) << "index " << i;
  }
}

class SgdStepTest : public ::testing::TestWithParam<std::tuple<double, double, bool>> {};

TEST_P(SgdStepTest, ThreeStepsMatchTheHandFormula) {
  const auto [momentum, decay, nesterov] = GetParam();
  Quadratic problem;
  const std::vector<double> start{0.3, -1.2, 2.0};
  OptimizerSpec spec;
  spec.learningRate = 0.1;
  spec.momentum = momentum;
  spec.weightDecay = decay;
  spec.nesterov = nesterov;
  auto optimizer = makeOptimizer({problem.weights}, spec);
  for (int step = 0; step < 3; ++step) optimizer->step(problem.closure());
  expectWeights(problem.weights.detach(),
                handSgd(start, problem.curvature, 0.1, momentum, decay, nesterov, 3));
}

INSTANTIATE_TEST_SUITE_P(MomentumDecayNesterov, SgdStepTest,
                         ::testing::Values(std::make_tuple(0.0, 0.0, false),
                                           std::make_tuple(0.9, 0.0, false),
                                           std::make_tuple(0.9, 5e-4, false),
                                           std::make_tuple(0.9, 5e-4, true)));

TEST(SgdOptimizer, StepReturnsTheLossAtTheStartingWeights) {
  Quadratic problem;
  OptimizerSpec spec;
  auto optimizer = makeOptimizer({problem.weights}, spec);
  const double expected = 0.5 * (1.0 * 0.09 + 2.0 * 1.44 - 0.5 * 4.0);
  EXPECT_NEAR(optimizer->step(problem.closure()).item<double>(), expected, 1e-12);
}

// Gradient rules that perturb along the momentum (RuleContext::base) read these buffers: b = d on the
// first step, momentum * b + d after it, d = g + weightDecay * w.
TEST(SgdOptimizer, MomentumBuffersFollowTheHandRecursionAndAdamHasNone) {
  Quadratic problem;
  OptimizerSpec spec;  // sgd, momentum 0.9, weight decay 5e-4, lr 0.05
  auto optimizer = makeOptimizer({problem.weights}, spec);
  ASSERT_EQ(optimizer->momentumBuffers().size(), 1u);
  EXPECT_FALSE(optimizer->momentumBuffers()[0].defined()) << "no buffer before the first step";
  std::vector<double> w{0.3, -1.2, 2.0};
  std::vector<double> buffer(3, 0.0);
  for (int step = 0; step < 2; ++step) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      const double d = problem.curvature[i] * w[i] + spec.weightDecay * w[i];
      buffer[i] = step == 0 ? d : spec.momentum * buffer[i] + d;
      w[i] -= spec.learningRate * buffer[i];
    }
    optimizer->step(problem.closure());
  }
  expectWeights(optimizer->momentumBuffers()[0], buffer);
  spec.kind = "adam";
  EXPECT_TRUE(makeOptimizer({problem.weights}, spec)->momentumBuffers().empty());
}

TEST(SgdOptimizer, LearningRateCanBeChangedBetweenSteps) {
  Quadratic problem;
  OptimizerSpec spec;
  spec.momentum = 0.0;
  spec.weightDecay = 0.0;
  auto optimizer = makeOptimizer({problem.weights}, spec);
  optimizer->setLearningRate(0.5);
  EXPECT_DOUBLE_EQ(optimizer->learningRate(), 0.5);
  optimizer->step(problem.closure());
  expectWeights(problem.weights.detach(), handSgd({0.3, -1.2, 2.0}, problem.curvature, 0.5, 0, 0, false, 1));
}

// An optimizer is a registered rule's name: an unknown name is refused where it is read, naming the flag.
TEST(SgdOptimizer, UnknownNameIsAConfigErrorNamingTheFlag) {
  TrainConfig config;
  try {
    applyJsonConfig(config, R"({"optimizer": "adagrad"})", "test.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--optimizer");
    EXPECT_NE(std::string(error.what()).find("adagrad"), std::string::npos);
    // Every registered rule is named, the six that have been there from the start among them.
    EXPECT_NE(std::string(error.what()).find(joinNames(sharpnessRuleNames())), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("sgd, adam, sam, asam, gsam"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("looksam"), std::string::npos) << error.what();
  }
  EXPECT_EQ(config.optimizer.kind, "sgd");
}

}  // namespace
}  // namespace samscape

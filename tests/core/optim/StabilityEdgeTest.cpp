// The SAM-edge of stability (Long & Bartlett 2024) tested the way the paper derives it: SAM itself, as a
// training step chains the rule, the step's gradient and LibTorch's SGD, on a loss whose top curvature
// lambda lies along x while a constant slope c along y holds the gradient's norm near c. Just below the
// edge computed for ||g|| = c, x shrinks to nothing; just above it, x grows (until the gradient's norm has grown enough to lift the edge to lambda). Gradient descent on the
// same loss is stable far above the SAM-edge (up to 2/lr), so the test also fails if the edge were 2/lr.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/optim/Optimizer.h"
#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/StabilityEdge.h"
#include "core/optim/rules/SharpnessRules.h"

namespace samscape {
namespace {

// L(x, y) = lambda x^2 / 2 + c y: gradient (lambda x, c), Hessian diag(lambda, 0).
struct RavineWithSlope final : BatchObjective {
  double lambda = 0.0;
  double slope = 0.0;
  torch::Tensor weights;
  RavineWithSlope(double lambdaIn, double slopeIn, double x0)
      : lambda(lambdaIn), slope(slopeIn), weights(torch::tensor({x0, 0.0}, torch::kFloat64).requires_grad_(true)) {}

  std::int64_t size() const override { return 1; }
  torch::Tensor lossAndGradient(std::int64_t, std::int64_t, PassKind) override {
    if (weights.grad().defined()) weights.mutable_grad().zero_();
    const torch::Tensor loss = 0.5 * lambda * weights[0].pow(2) + slope * weights[1];
    loss.backward();
    return loss.detach();
  }
};

// |x| after `steps` steps of `kind` (sam or sgd) from x0.
double distanceAfter(const std::string& kind, double lambda, double momentum, int steps) {
  OptimizerSpec spec;
  spec.kind = kind;
  spec.learningRate = 0.1;
  spec.momentum = momentum;
  spec.weightDecay = 0.0;
  spec.rho = 0.05;
  RavineWithSlope loss(lambda, 0.1, 1e-3);
  const std::vector<torch::Tensor> parameters = {loss.weights};
  auto optimizer = makeOptimizer(parameters, spec);
  const auto rule = makeSharpnessRule(spec.kind);
  for (int t = 0; t < steps; ++t) {
    const RuleContext step{spec, t, optimizer.get()};
    const bool ascent = rule->takesAscent(step);
    const auto clean = computeStepGradient(parameters, loss, *rule, step, ascent);
    rule->finishStepGradient(parameters, clean, ascent, step);
    optimizer->applyGradients();
  }
  return std::abs(loss.weights[0].item<double>());
}

TEST(StabilityEdge, SamConvergesJustBelowTheSamEdgeAndNotJustAboveIt) {
  for (const double momentum : {0.0, 0.5}) {
    SCOPED_TRACE("momentum " + std::to_string(momentum));
    const double gdEdge = gradientDescentEdge(0.1, momentum, false);
    const double edge = samEdge(gdEdge, 0.05, 0.1);  // ||g|| -> c = 0.1 as x -> 0
    ASSERT_LT(edge, 0.5 * gdEdge) << "the test needs an edge well below gradient descent's";
    EXPECT_LT(distanceAfter("sam", 0.97 * edge, momentum, 800), 1e-9) << "below the SAM-edge " << edge;
    // Above it x grows from 1e-3 until the gradient's norm, and with it the edge, has risen to lambda
    // (about 6e-3 here): SAM oscillates there instead of converging.
    EXPECT_GT(distanceAfter("sam", 1.03 * edge, momentum, 800), 2e-3) << "above the SAM-edge " << edge;
    // Gradient descent with the same rate is stable there: the SAM-edge, not 2(1+beta)/lr, is SAM's limit.
    EXPECT_LT(distanceAfter("sgd", 1.03 * edge, momentum, 800), 1e-9);
    EXPECT_GT(distanceAfter("sgd", 1.03 * gdEdge, momentum, 800), 1e-2) << "gradient descent's own edge";
  }
}

TEST(StabilityEdge, IsThePapersFormulaAndTendsToTwoOverLr) {
  const double lr = 0.1, rho = 0.05, g = 0.3;
  // Long & Bartlett, Section 2 (and sam_edge.py): (||g||/(2 rho)) (sqrt(1 + 8 rho/(lr ||g||)) - 1).
  EXPECT_NEAR(samEdge(2.0 / lr, rho, g), g / (2.0 * rho) * (std::sqrt(1.0 + 8.0 * rho / (lr * g)) - 1.0), 1e-12);
  // lambda (1 + rho lambda/||g||) = E at the edge, with momentum too.
  const double e = gradientDescentEdge(lr, 0.9, false);
  EXPECT_NEAR(e, 2.0 * 1.9 / lr, 1e-12);
  const double l = samEdge(e, rho, g);
  EXPECT_NEAR(l * (1.0 + rho * l / g), e, 1e-9 * e);
  // A vanishing radius (or a large gradient) leaves gradient descent's edge, without cancellation.
  EXPECT_NEAR(samEdge(2.0 / lr, 1e-14, g), 2.0 / lr, 1e-9);
  EXPECT_TRUE(std::isnan(samEdge(2.0 / lr, rho, 0.0)));
  EXPECT_NEAR(gradientDescentEdge(lr, 0.9, true), 2.0 * 1.9 / (2.8 * lr), 1e-12);
}

TEST(StabilityEdge, IsSgdsBoundOrSamsEdgeAndNothingWhereTheDerivationDoesNotHold) {
  OptimizerSpec sgd;
  sgd.momentum = 0.0;
  const auto plain = stabilityEdge(sgd, 0.1, std::nullopt);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->label, "2/lr");
  EXPECT_NEAR(plain->value, 20.0, 1e-12);

  OptimizerSpec sam = sgd;
  sam.kind = "sam";
  sam.rho = 0.05;
  EXPECT_FALSE(stabilityEdge(sam, 0.1, std::nullopt)) << "needs the gradient's norm";
  const auto edge = stabilityEdge(sam, 0.1, 0.3);
  ASSERT_TRUE(edge);
  EXPECT_TRUE(edge->sam);
  EXPECT_NEAR(edge->value, samEdge(20.0, 0.05, 0.3), 1e-12);
  // The radius at the epoch's rate, when it follows the rate.
  sam.rhoSchedule = RhoSchedule::LearningRate;
  sam.learningRate = 0.2;
  EXPECT_NEAR(stabilityEdge(sam, 0.1, 0.3)->value, samEdge(20.0, 0.025, 0.3), 1e-12);

  for (const char* kind : {"asam", "gsam", "looksam"}) {
    OptimizerSpec other = sam;
    other.kind = kind;
    EXPECT_FALSE(stabilityEdge(other, 0.1, 0.3)) << kind;
  }
  // Late-phase SAM: SGD's bound for the epochs before the switch, SAM's edge from it, none when the
  // epoch is not known.
  OptimizerSpec late = sam;
  late.rhoSchedule = RhoSchedule::Constant;
  late.samFromEpoch = 5;
  EXPECT_FALSE(stabilityEdge(late, 0.1, 0.3));
  EXPECT_EQ(stabilityEdge(late, 0.1, 0.3, 4)->label, "2/lr");
  EXPECT_NEAR(stabilityEdge(late, 0.1, 0.3, 5)->value, samEdge(20.0, 0.05, 0.3), 1e-12);
  OptimizerSpec chunked = sam;
  chunked.m = 16;
  EXPECT_FALSE(stabilityEdge(chunked, 0.1, 0.3));
  OptimizerSpec adam = sgd;
  adam.kind = "adam";
  EXPECT_FALSE(stabilityEdge(adam, 0.1, 0.3));
}

}  // namespace
}  // namespace samscape

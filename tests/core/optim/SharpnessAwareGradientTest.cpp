// The sharpness-aware gradient against closed forms on quadratics whose gradients are known:
// example i has loss 0.5 * sum_j a_ij (w_j - c_ij)^2, so the gradient of a chunk's mean loss is
// mean_i a_i * (w - c_i), computed here by hand in double precision.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/rules/GsamRule.h"
#include "core/optim/rules/LookSamRule.h"
#include "core/optim/rules/SharpnessRules.h"

namespace samscape {
namespace {

using Vec = std::vector<double>;

// Two parameter tensors (sizes 2 and 3), so that the joint norm over all parameters is exercised.
struct QuadraticBatch final : BatchObjective {
  std::vector<Vec> curvature;  // a_i, 5 entries each
  std::vector<Vec> centre;     // c_i
  torch::Tensor first = torch::tensor({0.4, -1.1}, torch::kFloat64).requires_grad_(true);
  torch::Tensor second = torch::tensor({2.0, 0.3, -0.7}, torch::kFloat64).requires_grad_(true);
  std::vector<PassKind> passes;

  QuadraticBatch() {
    curvature = {{1.0, 2.0, 0.5, 3.0, 1.5}, {2.5, 0.5, 1.0, 1.0, 2.0}, {0.7, 1.3, 2.2, 0.4, 1.1},
                 {1.9, 0.8, 0.6, 2.7, 0.9}, {1.2, 1.6, 1.8, 0.5, 2.4}};
    centre = {{0.1, -0.2, 0.3, 0.0, 0.5}, {-0.4, 0.6, 0.2, -0.1, 0.0}, {0.3, 0.3, -0.5, 0.2, 0.1},
              {0.0, -0.6, 0.4, 0.5, -0.2}, {0.2, 0.1, 0.0, -0.3, 0.4}};
  }
  std::vector<torch::Tensor> parameters() const { return {first, second}; }
  Vec weights() const {
    return {first[0].item<double>(), first[1].item<double>(), second[0].item<double>(),
            second[1].item<double>(), second[2].item<double>()};
  }
  std::int64_t size() const override { return 5; }
  torch::Tensor lossAndGradient(std::int64_t begin, std::int64_t end, PassKind pass) override {
    passes.push_back(pass);
    for (auto& p : parameters()) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    const torch::Tensor w = torch::cat({first, second});
    torch::Tensor loss = torch::zeros({}, torch::kFloat64);
    for (std::int64_t i = begin; i < end; ++i) {
      const auto a = torch::tensor(curvature[static_cast<std::size_t>(i)], torch::kFloat64);
      const auto c = torch::tensor(centre[static_cast<std::size_t>(i)], torch::kFloat64);
      loss = loss + 0.5 * (a * (w - c).pow(2)).sum();
    }
    loss = loss / static_cast<double>(end - begin);
    loss.backward();
    return loss.detach();
  }

  // The hand gradient of the mean loss over [begin, end) at weights w.
  Vec handGradient(const Vec& w, std::int64_t begin, std::int64_t end) const {
    Vec g(5, 0.0);
    for (std::int64_t i = begin; i < end; ++i) {
      for (std::size_t j = 0; j < 5; ++j) {
        g[j] += curvature[static_cast<std::size_t>(i)][j] * (w[j] - centre[static_cast<std::size_t>(i)][j]);
      }
    }
    for (auto& value : g) value /= static_cast<double>(end - begin);
    return g;
  }

  Vec computedGradient() const {
    return {first.grad()[0].item<double>(), first.grad()[1].item<double>(), second.grad()[0].item<double>(),
            second.grad()[1].item<double>(), second.grad()[2].item<double>()};
  }
};

double norm(const Vec& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

Vec samPoint(const Vec& w, const Vec& g, double rho) {
  Vec out(w);
  const double n = norm(g);
  for (std::size_t j = 0; j < w.size(); ++j) out[j] += rho * g[j] / n;
  return out;
}

Vec asamPoint(const Vec& w, const Vec& g, double rho, double eta) {
  Vec tg(w.size());
  for (std::size_t j = 0; j < w.size(); ++j) tg[j] = (std::abs(w[j]) + eta) * g[j];
  const double n = norm(tg);
  Vec out(w);
  for (std::size_t j = 0; j < w.size(); ++j) out[j] += rho * (std::abs(w[j]) + eta) * tg[j] / n;
  return out;
}

void expectNear(const Vec& actual, const Vec& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t j = 0; j < actual.size(); ++j) EXPECT_NEAR(actual[j], expected[j], tolerance) << "entry " << j;
}

// A step's gradient with a fresh rule of the kind `spec` names, as the trainer's step computes it.
std::vector<torch::Tensor> stepGradient(QuadraticBatch& batch, const OptimizerSpec& spec, bool ascent = true) {
  const auto rule = makeSharpnessRule(spec.kind);
  return computeStepGradient(batch.parameters(), batch, *rule, RuleContext{spec}, ascent);
}

OptimizerSpec sam(double rho, std::int64_t m = 0) {
  OptimizerSpec spec;
  spec.kind = "sam";
  spec.rho = rho;
  spec.m = m;
  return spec;
}

TEST(SharpnessAwareGradient, SamIsTheGradientAtTheNormalizedAscentPoint) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  stepGradient(batch, sam(0.3));
  const Vec expected = batch.handGradient(samPoint(w, batch.handGradient(w, 0, 5), 0.3), 0, 5);
  expectNear(batch.computedGradient(), expected, 1e-12);
  EXPECT_EQ(batch.weights(), w) << "the weights must be restored exactly";
  EXPECT_EQ(batch.passes, (std::vector<PassKind>{PassKind::Clean, PassKind::Perturbed}));
}

TEST(SharpnessAwareGradient, AsamScalesThePerturbationByTSquaredOverTheNormOfTg) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = sam(0.5);
  spec.kind = "asam";
  spec.asamEta = 0.01;
  stepGradient(batch, spec);
  const Vec expected = batch.handGradient(asamPoint(w, batch.handGradient(w, 0, 5), 0.5, 0.01), 0, 5);
  expectNear(batch.computedGradient(), expected, 1e-12);
  EXPECT_EQ(batch.weights(), w);
}

TEST(SharpnessAwareGradient, MChunksAverageTheirOwnSharpnessAwareGradientsBySize) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  stepGradient(batch, sam(0.2, 2));  // chunks [0,2) [2,4) [4,5)
  Vec expected(5, 0.0);
  for (auto [begin, end] : std::vector<std::pair<int, int>>{{0, 2}, {2, 4}, {4, 5}}) {
    const Vec chunkSam = batch.handGradient(samPoint(w, batch.handGradient(w, begin, end), 0.2), begin, end);
    for (std::size_t j = 0; j < 5; ++j) expected[j] += chunkSam[j] * (end - begin) / 5.0;
  }
  expectNear(batch.computedGradient(), expected, 1e-12);
  EXPECT_EQ(batch.weights(), w);
  EXPECT_EQ(batch.passes.size(), 6u);
}

TEST(SharpnessAwareGradient, MEqualToTheBatchIsPlainSam) {
  QuadraticBatch chunked, plain;
  stepGradient(chunked, sam(0.2, 5));
  stepGradient(plain, sam(0.2));
  EXPECT_EQ(chunked.computedGradient(), plain.computedGradient());
}

TEST(SharpnessAwareGradient, RhoZeroGivesThePlainGradientExactly) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  stepGradient(batch, sam(0.0));
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-15);
}

TEST(SharpnessAwareGradient, PlainOptimizersTakeOneCleanPass) {
  QuadraticBatch batch;
  OptimizerSpec spec;  // sgd
  const Vec w = batch.weights();
  stepGradient(batch, spec);
  EXPECT_EQ(batch.passes, std::vector<PassKind>{PassKind::Clean});
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-15);
}

TEST(SharpnessAwareGradient, ClippingScalesTheJointNormDownOnly) {
  QuadraticBatch batch;
  stepGradient(batch, OptimizerSpec{});
  const Vec before = batch.computedGradient();
  clipGradientNorm(batch.parameters(), 10 * norm(before));
  EXPECT_EQ(batch.computedGradient(), before);
  clipGradientNorm(batch.parameters(), 0.1);
  EXPECT_NEAR(norm(batch.computedGradient()), 0.1, 1e-12);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_NEAR(batch.computedGradient()[j] / before[j], 0.1 / norm(before), 1e-12);
}

TEST(SharpnessAwareGradient, DefaultRhoDependsOnTheMethod) {
  OptimizerSpec spec;
  spec.kind = "sam";
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.05);
  spec.kind = "asam";
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.5);
  spec.rho = 0.1;
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.1);
}

double dot(const Vec& a, const Vec& b) {
  double sum = 0;
  for (std::size_t j = 0; j < a.size(); ++j) sum += a[j] * b[j];
  return sum;
}

OptimizerSpec kindWith(const std::string& kind, double rho) {
  OptimizerSpec spec = sam(rho);
  spec.kind = kind;
  return spec;
}

// The rule's last stages as trainingStep takes them on one replica: its replica's, then the step's.
void finishOnOneReplica(SharpnessRule& rule, const std::vector<torch::Tensor>& parameters,
                        const std::vector<torch::Tensor>& clean, bool ascent, const RuleContext& step) {
  rule.finishReplicaGradient(parameters, clean, ascent, step);
  rule.finishStepGradient(parameters, clean, ascent, step);
}

// On one replica the two places of the decomposition (--gsam-decompose) give the same step.
class GsamDecompositionTest : public ::testing::TestWithParam<GsamDecomposition> {};

TEST_P(GsamDecompositionTest, GsamIsSamLessAlphaTimesTheCleanGradientsPartOrthogonalToIt) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = kindWith("gsam", 0.3);
  spec.gsamAlpha = 0.4;
  spec.gsamDecompose = GetParam();
  GsamRule rule;
  const RuleContext step{spec};
  const auto clean = computeStepGradient(batch.parameters(), batch, rule, step);
  finishOnOneReplica(rule, batch.parameters(), clean, true, step);
  // By hand: g, g_sam, then g_sam - alpha (g - (g.g_sam / |g_sam|^2) g_sam).
  const Vec g = batch.handGradient(w, 0, 5);
  const Vec gSam = batch.handGradient(samPoint(w, g, 0.3), 0, 5);
  const double projection = dot(g, gSam) / dot(gSam, gSam);
  Vec expected(5);
  for (std::size_t j = 0; j < 5; ++j) expected[j] = gSam[j] - 0.4 * (g[j] - projection * gSam[j]);
  expectNear(batch.computedGradient(), expected, 1e-12);
  // The subtracted part is orthogonal to g_sam: the step's component along g_sam is SAM's.
  EXPECT_NEAR(dot(batch.computedGradient(), gSam), dot(gSam, gSam), 1e-12);
  EXPECT_EQ(batch.weights(), w);
  EXPECT_EQ(batch.passes, (std::vector<PassKind>{PassKind::Clean, PassKind::Perturbed}));
}

INSTANTIATE_TEST_SUITE_P(SharpnessAwareGradient, GsamDecompositionTest,
                         ::testing::Values(GsamDecomposition::PerReplica, GsamDecomposition::Averaged),
                         [](const auto& info) { return info.param == GsamDecomposition::PerReplica ? "PerReplica" : "Averaged"; });

TEST(SharpnessAwareGradient, GsamWithAlphaZeroIsSam) {
  QuadraticBatch gsamBatch, samBatch;
  OptimizerSpec spec = kindWith("gsam", 0.3);
  spec.gsamAlpha = 0.0;
  GsamRule rule;
  finishOnOneReplica(rule, gsamBatch.parameters(), stepGradient(gsamBatch, spec), true, RuleContext{spec});
  stepGradient(samBatch, sam(0.3));
  expectNear(gsamBatch.computedGradient(), samBatch.computedGradient(), 1e-15);
}

TEST(SharpnessAwareGradient, GsamOverMChunksDecomposesTheChunkAveragedGradients) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = kindWith("gsam", 0.2);
  spec.m = 2;  // chunks [0,2) [2,4) [4,5)
  spec.gsamAlpha = 0.5;
  GsamRule rule;
  finishOnOneReplica(rule, batch.parameters(), stepGradient(batch, spec), true, RuleContext{spec});
  Vec g(5, 0.0), gSam(5, 0.0);
  for (auto [begin, end] : std::vector<std::pair<int, int>>{{0, 2}, {2, 4}, {4, 5}}) {
    const Vec chunkClean = batch.handGradient(w, begin, end);
    const Vec chunkSam = batch.handGradient(samPoint(w, chunkClean, 0.2), begin, end);
    for (std::size_t j = 0; j < 5; ++j) {
      g[j] += chunkClean[j] * (end - begin) / 5.0;
      gSam[j] += chunkSam[j] * (end - begin) / 5.0;
    }
  }
  const double projection = dot(g, gSam) / dot(gSam, gSam);
  Vec expected(5);
  for (std::size_t j = 0; j < 5; ++j) expected[j] = gSam[j] - 0.5 * (g[j] - projection * gSam[j]);
  expectNear(batch.computedGradient(), expected, 1e-12);
}

TEST(SharpnessAwareGradient, LookSamKeepsTheOrthogonalPartAndReusesItBetweenAscents) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = kindWith("looksam", 0.3);
  spec.lookSamK = 3;
  spec.lookSamAlpha = 0.7;
  LookSamRule rule;
  ASSERT_TRUE(rule.takesAscent(RuleContext{spec, 1})) << "no g_v yet: the step must ascend";

  // An ascent step is SAM's, and remembers g_v = g_sam - (g.g_sam / |g|^2) g.
  rule.finishStepGradient(batch.parameters(), computeStepGradient(batch.parameters(), batch, rule, RuleContext{spec}),
                          true, RuleContext{spec});
  const Vec g = batch.handGradient(w, 0, 5);
  const Vec gSam = batch.handGradient(samPoint(w, g, 0.3), 0, 5);
  expectNear(batch.computedGradient(), gSam, 1e-12);
  Vec gV(5);
  for (std::size_t j = 0; j < 5; ++j) gV[j] = gSam[j] - dot(g, gSam) / dot(g, g) * g[j];
  ASSERT_EQ(rule.orthogonal().size(), 2u);
  const Vec stored = {rule.orthogonal()[0][0].item<double>(), rule.orthogonal()[0][1].item<double>(),
                      rule.orthogonal()[1][0].item<double>(), rule.orthogonal()[1][1].item<double>(),
                      rule.orthogonal()[1][2].item<double>()};
  expectNear(stored, gV, 1e-12);
  EXPECT_NEAR(dot(stored, g), 0.0, 1e-12);

  // Between ascents (steps 1 and 2 of k = 3): one clean pass at the new weights, plus g_v scaled.
  EXPECT_TRUE(rule.takesAscent(RuleContext{spec, 0}));
  EXPECT_FALSE(rule.takesAscent(RuleContext{spec, 1}));
  EXPECT_FALSE(rule.takesAscent(RuleContext{spec, 2}));
  EXPECT_TRUE(rule.takesAscent(RuleContext{spec, 3}));
  {
    torch::NoGradGuard noGrad;
    batch.first.add_(0.05);
    batch.second.sub_(0.02);
  }
  batch.passes.clear();
  const Vec moved = batch.weights();
  rule.finishStepGradient(batch.parameters(),
                          computeStepGradient(batch.parameters(), batch, rule, RuleContext{spec}, false), false,
                          RuleContext{spec});
  EXPECT_EQ(batch.passes, std::vector<PassKind>{PassKind::Clean});
  const Vec gNew = batch.handGradient(moved, 0, 5);
  Vec expected(5);
  for (std::size_t j = 0; j < 5; ++j) expected[j] = gNew[j] + 0.7 * norm(gNew) / norm(gV) * gV[j];
  expectNear(batch.computedGradient(), expected, 1e-12);
}

TEST(SharpnessAwareGradient, AccumulatedMicroBatchesGiveTheWholeBatchsSamGradient) {
  QuadraticBatch whole, accumulated;
  stepGradient(whole, sam(0.3));
  OptimizerSpec spec = sam(0.3);
  spec.accumulate = 2;  // micro-batches [0,3) [3,5)
  stepGradient(accumulated, spec);
  expectNear(accumulated.computedGradient(), whole.computedGradient(), 1e-12);
  EXPECT_EQ(accumulated.passes, (std::vector<PassKind>{PassKind::Clean, PassKind::Clean, PassKind::Perturbed,
                                                       PassKind::Perturbed}));
  // The perturbation comes from the whole batch's gradient, not each micro-batch's own: per-chunk
  // perturbations (m-sharpness with the same chunks) give another gradient.
  QuadraticBatch chunked;
  OptimizerSpec perChunk = sam(0.3);
  perChunk.m = 3;
  stepGradient(chunked, perChunk);
  double difference = 0;
  for (std::size_t j = 0; j < 5; ++j) {
    difference += std::abs(chunked.computedGradient()[j] - whole.computedGradient()[j]);
  }
  EXPECT_GT(difference, 1e-6);
}

TEST(SharpnessAwareGradient, AccumulatedMicroBatchesGiveTheWholeBatchsPlainGradient) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec;  // sgd
  spec.accumulate = 3;  // [0,2) [2,4) [4,5)
  stepGradient(batch, spec);
  EXPECT_EQ(batch.passes.size(), 3u);
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-12);
}

}  // namespace
}  // namespace samscape

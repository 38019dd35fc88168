// The sharpness-aware gradient against closed forms on quadratics whose gradients are known:
// example i has loss 0.5 * sum_j a_ij (w_j - c_ij)^2, so the gradient of a chunk's mean loss is
// mean_i a_i * (w - c_i), computed here by hand in double precision.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/optim/SharpnessAwareGradient.h"

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

OptimizerSpec sam(double rho, std::int64_t m = 0) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::Sam;
  spec.rho = rho;
  spec.m = m;
  return spec;
}

TEST(SharpnessAwareGradient, SamIsTheGradientAtTheNormalizedAscentPoint) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  computeStepGradient(batch.parameters(), batch, sam(0.3));
  const Vec expected = batch.handGradient(samPoint(w, batch.handGradient(w, 0, 5), 0.3), 0, 5);
  expectNear(batch.computedGradient(), expected, 1e-12);
  EXPECT_EQ(batch.weights(), w) << "the weights must be restored exactly";
  EXPECT_EQ(batch.passes, (std::vector<PassKind>{PassKind::Clean, PassKind::Perturbed}));
}

TEST(SharpnessAwareGradient, AsamScalesThePerturbationByTSquaredOverTheNormOfTg) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = sam(0.5);
  spec.kind = OptimizerKind::Asam;
  spec.asamEta = 0.01;
  computeStepGradient(batch.parameters(), batch, spec);
  const Vec expected = batch.handGradient(asamPoint(w, batch.handGradient(w, 0, 5), 0.5, 0.01), 0, 5);
  expectNear(batch.computedGradient(), expected, 1e-12);
  EXPECT_EQ(batch.weights(), w);
}

TEST(SharpnessAwareGradient, MChunksAverageTheirOwnSharpnessAwareGradientsBySize) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  computeStepGradient(batch.parameters(), batch, sam(0.2, 2));  // chunks [0,2) [2,4) [4,5)
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
  computeStepGradient(chunked.parameters(), chunked, sam(0.2, 5));
  computeStepGradient(plain.parameters(), plain, sam(0.2));
  EXPECT_EQ(chunked.computedGradient(), plain.computedGradient());
}

TEST(SharpnessAwareGradient, RhoZeroGivesThePlainGradientExactly) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  computeStepGradient(batch.parameters(), batch, sam(0.0));
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-15);
}

TEST(SharpnessAwareGradient, PlainOptimizersTakeOneCleanPass) {
  QuadraticBatch batch;
  OptimizerSpec spec;  // sgd
  const Vec w = batch.weights();
  computeStepGradient(batch.parameters(), batch, spec);
  EXPECT_EQ(batch.passes, std::vector<PassKind>{PassKind::Clean});
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-15);
}

TEST(SharpnessAwareGradient, ClippingScalesTheJointNormDownOnly) {
  QuadraticBatch batch;
  computeStepGradient(batch.parameters(), batch, OptimizerSpec{});
  const Vec before = batch.computedGradient();
  clipGradientNorm(batch.parameters(), 10 * norm(before));
  EXPECT_EQ(batch.computedGradient(), before);
  clipGradientNorm(batch.parameters(), 0.1);
  EXPECT_NEAR(norm(batch.computedGradient()), 0.1, 1e-12);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_NEAR(batch.computedGradient()[j] / before[j], 0.1 / norm(before), 1e-12);
}

TEST(SharpnessAwareGradient, DefaultRhoDependsOnTheMethod) {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::Sam;
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.05);
  spec.kind = OptimizerKind::Asam;
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.5);
  spec.rho = 0.1;
  EXPECT_DOUBLE_EQ(spec.effectiveRho(), 0.1);
}

double dot(const Vec& a, const Vec& b) {
  double sum = 0;
  for (std::size_t j = 0; j < a.size(); ++j) sum += a[j] * b[j];
  return sum;
}

OptimizerSpec kindWith(OptimizerKind kind, double rho) {
  OptimizerSpec spec = sam(rho);
  spec.kind = kind;
  return spec;
}

TEST(SharpnessAwareGradient, GsamIsSamLessAlphaTimesTheCleanGradientsPartOrthogonalToIt) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = kindWith(OptimizerKind::Gsam, 0.3);
  spec.gsamAlpha = 0.4;
  GradientRuleMemory memory;
  const auto clean = computeStepGradient(batch.parameters(), batch, spec);
  finishStepGradient(batch.parameters(), clean, spec, true, memory);
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

TEST(SharpnessAwareGradient, GsamWithAlphaZeroIsSam) {
  QuadraticBatch gsamBatch, samBatch;
  OptimizerSpec spec = kindWith(OptimizerKind::Gsam, 0.3);
  spec.gsamAlpha = 0.0;
  GradientRuleMemory memory;
  finishStepGradient(gsamBatch.parameters(), computeStepGradient(gsamBatch.parameters(), gsamBatch, spec), spec,
                     true, memory);
  computeStepGradient(samBatch.parameters(), samBatch, sam(0.3));
  expectNear(gsamBatch.computedGradient(), samBatch.computedGradient(), 1e-15);
}

TEST(SharpnessAwareGradient, GsamOverMChunksDecomposesTheChunkAveragedGradients) {
  QuadraticBatch batch;
  const Vec w = batch.weights();
  OptimizerSpec spec = kindWith(OptimizerKind::Gsam, 0.2);
  spec.m = 2;  // chunks [0,2) [2,4) [4,5)
  spec.gsamAlpha = 0.5;
  GradientRuleMemory memory;
  finishStepGradient(batch.parameters(), computeStepGradient(batch.parameters(), batch, spec), spec, true, memory);
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
  OptimizerSpec spec = kindWith(OptimizerKind::LookSam, 0.3);
  spec.lookSamK = 3;
  spec.lookSamAlpha = 0.7;
  GradientRuleMemory memory;
  ASSERT_TRUE(takesAscent(spec, 1, memory)) << "no g_v yet: the step must ascend";

  // An ascent step is SAM's, and remembers g_v = g_sam - (g.g_sam / |g|^2) g.
  finishStepGradient(batch.parameters(), computeStepGradient(batch.parameters(), batch, spec, true), spec, true,
                     memory);
  const Vec g = batch.handGradient(w, 0, 5);
  const Vec gSam = batch.handGradient(samPoint(w, g, 0.3), 0, 5);
  expectNear(batch.computedGradient(), gSam, 1e-12);
  Vec gV(5);
  for (std::size_t j = 0; j < 5; ++j) gV[j] = gSam[j] - dot(g, gSam) / dot(g, g) * g[j];
  ASSERT_EQ(memory.lookSamOrthogonal.size(), 2u);
  const Vec stored = {memory.lookSamOrthogonal[0][0].item<double>(), memory.lookSamOrthogonal[0][1].item<double>(),
                      memory.lookSamOrthogonal[1][0].item<double>(), memory.lookSamOrthogonal[1][1].item<double>(),
                      memory.lookSamOrthogonal[1][2].item<double>()};
  expectNear(stored, gV, 1e-12);
  EXPECT_NEAR(dot(stored, g), 0.0, 1e-12);

  // Between ascents (steps 1 and 2 of k = 3): one clean pass at the new weights, plus g_v scaled.
  EXPECT_TRUE(takesAscent(spec, 0, memory));
  EXPECT_FALSE(takesAscent(spec, 1, memory));
  EXPECT_FALSE(takesAscent(spec, 2, memory));
  EXPECT_TRUE(takesAscent(spec, 3, memory));
  {
    torch::NoGradGuard noGrad;
    batch.first.add_(0.05);
    batch.second.sub_(0.02);
  }
  batch.passes.clear();
  const Vec moved = batch.weights();
  finishStepGradient(batch.parameters(), computeStepGradient(batch.parameters(), batch, spec, false), spec, false,
                     memory);
  EXPECT_EQ(batch.passes, std::vector<PassKind>{PassKind::Clean});
  const Vec gNew = batch.handGradient(moved, 0, 5);
  Vec expected(5);
  for (std::size_t j = 0; j < 5; ++j) expected[j] = gNew[j] + 0.7 * norm(gNew) / norm(gV) * gV[j];
  expectNear(batch.computedGradient(), expected, 1e-12);
}

TEST(SharpnessAwareGradient, AccumulatedMicroBatchesGiveTheWholeBatchsSamGradient) {
  QuadraticBatch whole, accumulated;
  computeStepGradient(whole.parameters(), whole, sam(0.3));
  OptimizerSpec spec = sam(0.3);
  spec.accumulate = 2;  // micro-batches [0,3) [3,5)
  computeStepGradient(accumulated.parameters(), accumulated, spec);
  expectNear(accumulated.computedGradient(), whole.computedGradient(), 1e-12);
  EXPECT_EQ(accumulated.passes, (std::vector<PassKind>{PassKind::Clean, PassKind::Clean, PassKind::Perturbed,
                                                       PassKind::Perturbed}));
  // The perturbation comes from the whole batch's gradient, not each micro-batch's own: per-chunk
  // perturbations (m-sharpness with the same chunks) give another gradient.
  QuadraticBatch chunked;
  OptimizerSpec perChunk = sam(0.3);
  perChunk.m = 3;
  computeStepGradient(chunked.parameters(), chunked, perChunk);
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
  computeStepGradient(batch.parameters(), batch, spec);
  EXPECT_EQ(batch.passes.size(), 3u);
  expectNear(batch.computedGradient(), batch.handGradient(w, 0, 5), 1e-12);
}

}  // namespace
}  // namespace samscape

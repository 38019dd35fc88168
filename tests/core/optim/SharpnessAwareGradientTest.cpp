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

}  // namespace
}  // namespace samscape

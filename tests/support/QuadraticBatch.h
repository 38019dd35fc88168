#pragma once
// A three-example quadratic batch for the optimizer rules' tests: example i has loss
// 0.5 * sum_j a_ij (w_j - c_ij)^2 in two weights, with its gradient by hand beside LibTorch's, so that
// a rule's update can be computed by hand and compared with the training step's.
// LibTorch header.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "core/optim/SharpnessAwareGradient.h"

namespace samscape::test {

// Three examples, example i with loss 0.5 * sum_j a_ij (w_j - c_ij)^2: the batch's mean-loss gradient
// at w is mean_i a_i * (w - c_i).
struct QuadraticBatch final : BatchObjective {
  std::vector<std::vector<double>> curvature = {{1.5, 3.0}, {0.5, 2.0}, {2.5, 1.0}};
  std::vector<std::vector<double>> centre = {{0.2, 0.5}, {-0.3, 0.1}, {0.6, -0.4}};
  torch::Tensor weights = torch::tensor({0.4, -1.1}, torch::kFloat64).requires_grad_(true);
  std::vector<PassKind> passes;

  std::int64_t size() const override { return 3; }
  torch::Tensor lossAndGradient(std::int64_t begin, std::int64_t end, PassKind pass) override {
    passes.push_back(pass);
    if (weights.grad().defined()) weights.mutable_grad().zero_();
    torch::Tensor loss = torch::zeros({}, torch::kFloat64);
    for (std::int64_t i = begin; i < end; ++i) {
      const auto a = torch::tensor(curvature[static_cast<std::size_t>(i)], torch::kFloat64);
      const auto c = torch::tensor(centre[static_cast<std::size_t>(i)], torch::kFloat64);
      loss = loss + 0.5 * (a * (weights - c).pow(2)).sum();
    }
    loss = loss / static_cast<double>(end - begin);
    loss.backward();
    return loss.detach();
  }
  std::vector<double> handGradient(const std::vector<double>& w) const {
    std::vector<double> g(2, 0.0);
    for (std::size_t i = 0; i < 3; ++i) {
      for (std::size_t j = 0; j < 2; ++j) g[j] += curvature[i][j] * (w[j] - centre[i][j]) / 3.0;
    }
    return g;
  }
};

}  // namespace samscape::test

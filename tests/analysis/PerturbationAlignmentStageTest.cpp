// --perturbation-alignment (analysis/stages/PerturbationAlignmentStage.cpp) against an independent
// computation: the tiny tanh network's loss written functionally (tests/support/TinyTanhNet.h), its
// gradient and dense Hessian by autograd, the top eigenvector by Eigen's dense solver, |g . v1| / ||g||.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>

#include "analysis/AnalysisSession.h"
#include "analysis/Metrics.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "tests/support/AnalysisFixture.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

using test::kMnistClasses;
using test::TinyTanhNet;

struct Fixture : test::TinyAnalysisFixture {
  // |g . v1| / ||g|| on the test split, normalized with the training split's statistics, as the
  // analysis evaluates it; written without the analysis code.
  double referenceAlignment() const {
    DatasetOptions options = model.run.data;
    const DatasetSplits data = loadDataset(options);
    const torch::Tensor x = TinyTanhNet::referenceInputs(data.test, data.trainStatistics);
    const torch::Tensor labels = torch::tensor(data.test.labels, torch::kInt64);
    auto network = TinyTanhNet::load(model.run.model.modelFile, kMnistClasses);
    torch::Tensor w = flattenParameters(*network).to(torch::kFloat64).detach().clone().requires_grad_(true);
    const torch::Tensor loss = TinyTanhNet::referenceLoss(w, x, labels, kMnistClasses);
    const torch::Tensor g = torch::autograd::grad({loss}, {w}, {}, true, true)[0];
    const auto n = g.size(0);
    Eigen::MatrixXd hessian(n, n);
    Eigen::VectorXd gradient(n);
    for (std::int64_t i = 0; i < n; ++i) {
      gradient(i) = g[i].item<double>();
      const torch::Tensor row = torch::autograd::grad({g[i]}, {w}, {}, true, false)[0];
      for (std::int64_t j = 0; j < n; ++j) hessian(i, j) = row[j].item<double>();
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(0.5 * (hessian + hessian.transpose()));
    const Eigen::VectorXd top = solver.eigenvectors().col(n - 1);  // eigenvalues ascending
    EXPECT_GT(solver.eigenvalues()(n - 1) - solver.eigenvalues()(n - 2), 1e-3) << "a top eigenvector worth checking";
    return std::abs(gradient.dot(top)) / gradient.norm();
  }
};

TEST(PerturbationAlignmentStage, TheCosineMatchesTheDenseHessiansTopEigenvectorAndTheGradient) {
  Fixture fixture;
  const double expected = fixture.referenceAlignment();
  ASSERT_GT(expected, 1e-3);
  ASSERT_LT(expected, 0.999) << "not trivially aligned";

  // Beside --hessian-top (its eigenvector reused) and alone (its own Lanczos), in float64 products.
  for (const int top : {2, 0}) {
    SCOPED_TRACE("hessian-top " + std::to_string(top));
    AnalysisRequest request;
    request.hessianTop = top;
    request.perturbationAlignment = true;
    request.tolerance = 1e-9;
    request.subset = 0;
    AnalysisSession session(fixture.model, request);
    const std::string out = fixture.dir.file("alignment-" + std::to_string(top));
    const AnalysisResults results = session.analyze("", "", out);
    ASSERT_TRUE(results.metric("perturbation_alignment").has_value());
    // The gradient is the network's own (float32): about 1e-6 relative.
    EXPECT_NEAR(*results.metric("perturbation_alignment"), expected, 1e-5);
    const auto json = nlohmann::json::parse(test::readText(out + "/analysis.json"));
    EXPECT_EQ(json["perturbation_alignment"]["hvp_count"].get<std::int64_t>() > 0, top == 0);
    // Read back, recorded as a study metric, labelled once.
    EXPECT_EQ(readAnalysisDirectory(out).metric("perturbation_alignment"), results.metric("perturbation_alignment"));
    EXPECT_TRUE(metricDefinition("perturbation_alignment").inStudies);
  }
}

}  // namespace
}  // namespace samscape

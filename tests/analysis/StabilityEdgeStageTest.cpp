// The stability_edge stage (analysis/stages/StabilityEdgeStage.cpp): the analysed set's gradient norm
// against autograd on the tiny tanh network written functionally (tests/support/TinyTanhNet.h), and the
// SAM-edge it writes against Long & Bartlett's formula evaluated by hand on that norm.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>

#include "analysis/AnalysisSession.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "tests/support/AnalysisFixture.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

using test::kMnistClasses;
using test::TinyTanhNet;

struct Fixture : test::TinyAnalysisFixture {
  // ||grad L|| on the test split, normalized with the training split's statistics, without the analysis code.
  double referenceGradientNorm() const {
    DatasetOptions options = model.run.data;
    const DatasetSplits data = loadDataset(options);
    const torch::Tensor x = TinyTanhNet::referenceInputs(data.test, data.trainStatistics);
    const torch::Tensor labels = torch::tensor(data.test.labels, torch::kInt64);
    auto network = TinyTanhNet::load(model.run.model.modelFile, kMnistClasses);
    torch::Tensor w = flattenParameters(*network).to(torch::kFloat64).detach().clone().requires_grad_(true);
    const torch::Tensor loss = TinyTanhNet::referenceLoss(w, x, labels, kMnistClasses);
    return torch::autograd::grad({loss}, {w})[0].norm().item<double>();
  }
};

TEST(StabilityEdgeStage, WritesTheGradientNormAndTheSamEdgeAtTheRunsLearningRate) {
  Fixture fixture;
  const double norm = fixture.referenceGradientNorm();
  ASSERT_GT(norm, 1e-4);
  fixture.model.run.optimizer.kind = "sam";
  fixture.model.run.optimizer.rho = 0.05;
  fixture.model.run.optimizer.momentum = 0.9;
  AnalysisRequest request;
  request.hessianTop = 1;
  request.subset = 0;
  AnalysisSession session(fixture.model, request);

  // Without the rate the run stepped with: the norm only.
  const std::string bare = fixture.dir.file("bare");
  const AnalysisResults first = session.analyze("", "", bare);
  ASSERT_TRUE(first.metric("gradient_norm").has_value());
  EXPECT_NEAR(*first.metric("gradient_norm"), norm, 1e-5 * norm);  // the network's float32 gradient
  EXPECT_FALSE(first.metric("stability_edge").has_value());

  session.setStepLearningRate(0.02);
  const std::string out = fixture.dir.file("edge");
  const AnalysisResults results = session.analyze("", "", out);
  ASSERT_TRUE(results.metric("stability_edge").has_value());
  // (||g|| / (2 rho)) (sqrt(1 + 8 rho (1 + beta) / (lr ||g||)) - 1): the paper's formula with 2/lr
  // replaced by heavy-ball's 2(1 + beta)/lr.
  const double g = *results.metric("gradient_norm");
  const double byHand = g / (2.0 * 0.05) * (std::sqrt(1.0 + 8.0 * 0.05 * 1.9 / (0.02 * g)) - 1.0);
  EXPECT_NEAR(*results.metric("stability_edge"), byHand, 1e-9 * byHand);
  EXPECT_LT(byHand, 2.0 * 1.9 / 0.02);
  const auto json = nlohmann::json::parse(test::readText(out + "/analysis.json"));
  EXPECT_EQ(json["stability_edge"]["kind"], "SAM edge");
  EXPECT_DOUBLE_EQ(json["stability_edge"]["learning_rate"].get<double>(), 0.02);
  EXPECT_EQ(readAnalysisDirectory(out).metric("stability_edge"), results.metric("stability_edge"));

  // An Adam run has none, and says why.
  fixture.model.run.optimizer.kind = "adam";
  AnalysisSession adam(fixture.model, request);
  adam.setStepLearningRate(0.02);
  const std::string adamOut = fixture.dir.file("adam");
  EXPECT_FALSE(adam.analyze("", "", adamOut).metric("stability_edge").has_value());
  const auto adamJson = nlohmann::json::parse(test::readText(adamOut + "/analysis.json"));
  EXPECT_TRUE(adamJson["stability_edge"]["value"].is_null());
  EXPECT_NE(adamJson["stability_edge"]["why_none"].get<std::string>().find("Adam"), std::string::npos);
}

}  // namespace
}  // namespace samscape

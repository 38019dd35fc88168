// Adaptive sharpness (analysis/AdaptiveSharpness.h) against independent computations: on quadratics
// L(w) = 1/2 (w - w*)^T H (w - w*), the l2 value at w = w* is rho^2 / 2 lambda_max(T H T), T = diag(|w*|)
// (the quadratic is exact at every radius), with lambda_max from Eigen's dense solver; the l-inf value
// is the largest loss over the vertices of the box, brute force (a convex quadratic's maximum over a box
// is at a vertex). On the tiny network, the network path against the same ascent run on the loss written
// functionally (no Network, no DatasetObjective, no batching), and the stage through an analysis.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <atomic>
#include <cmath>
#include <numbers>
#include <random>

#include "analysis/AdaptiveSharpnessTorch.h"
#include "analysis/AnalysisDirectory.h"
#include "analysis/AnalysisSession.h"
#include "analysis/Metrics.h"
#include "analysis/stages/AnalysisStage.h"
#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "tests/support/AnalysisFixture.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TinyTanhNet.h"

namespace samscape {
namespace {

// 1/2 (w - w*)^T H (w - w*) as a PerturbedLoss around `weights`.
struct Quadratic {
  Eigen::MatrixXd hessian;
  Eigen::VectorXd minimum;

  double at(const Eigen::VectorXd& w) const { return 0.5 * (w - minimum).dot(hessian * (w - minimum)); }

  PerturbedLoss around(const std::vector<double>& weights) const {
    return [this, weights](const std::vector<double>& d, std::vector<double>* gradient) {
      Eigen::VectorXd w(static_cast<Eigen::Index>(weights.size()));
      for (std::size_t i = 0; i < weights.size(); ++i) w(static_cast<Eigen::Index>(i)) = weights[i] + d[i];
      if (gradient != nullptr) {
        const Eigen::VectorXd g = hessian * (w - minimum);
        gradient->assign(g.data(), g.data() + g.size());
      }
      return at(w);
    };
  }
};

// A symmetric positive definite H = Q diag(eigenvalues) Q^T with Q from a seeded QR.
Eigen::MatrixXd spdMatrix(const std::vector<double>& eigenvalues, std::uint64_t seed) {
  const auto n = static_cast<Eigen::Index>(eigenvalues.size());
  std::mt19937_64 engine(seed);
  Eigen::MatrixXd random(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) random(i, j) = static_cast<double>(engine() >> 11) * 0x1.0p-53 - 0.5;
  }
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(random).householderQ();
  Eigen::VectorXd diagonal(n);
  for (Eigen::Index i = 0; i < n; ++i) diagonal(i) = eigenvalues[static_cast<std::size_t>(i)];
  return q * diagonal.asDiagonal() * q.transpose();
}

std::vector<double> toStd(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

TEST(AdaptiveSharpness, AtAQuadraticsMinimumTheL2ValueIsHalfRhoSquaredTimesTheTopEigenvalueOfTHT) {
  const Eigen::MatrixXd hessian = spdMatrix({4.0, 2.5, 1.5, 1.0, 0.5, 0.2}, 7);
  Eigen::VectorXd minimum(6);
  // Magnitudes far from 1 and from each other, so that T matters: lambda_max(T H T) is not lambda_max(H).
  minimum << 0.3, -2.0, 0.05, 1.5, -0.8, 3.0;
  const Quadratic quadratic{hessian, minimum};
  const Eigen::MatrixXd t = minimum.cwiseAbs().asDiagonal();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(t * hessian * t);
  const Eigen::VectorXd eigenvalues = solver.eigenvalues();  // ascending
  const double top = eigenvalues(5);
  ASSERT_GT(top - eigenvalues(4), 0.1 * top) << "a gap the ascent can find in its steps";
  ASSERT_GT(std::abs(top - Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(hessian).eigenvalues()(5)), 1.0);

  for (const double rho : {0.05, 0.5, 2.0}) {
    SCOPED_TRACE("rho " + std::to_string(rho));
    AdaptiveAscentOptions options;
    options.norm = AdaptiveNorm::L2;
    options.rho = rho;
    options.steps = 60;
    options.randomInit = true;  // the gradient is zero at the minimum: delta = 0 cannot move
    options.seed = 3;
    const AdaptiveAscentResult result =
        maximizeAdaptivePerturbation(toStd(minimum), quadratic.around(toStd(minimum)), options);
    const double expected = 0.5 * rho * rho * top;
    EXPECT_NEAR(result.sharpness, expected, 1e-8 * expected);
    EXPECT_EQ(result.lossBefore, 0.0);
    EXPECT_EQ(result.lossAfter, result.sharpness);
    EXPECT_LE(result.perturbationNorm, rho * (1.0 + 1e-12));
    EXPECT_NEAR(result.perturbationNorm, rho, 1e-6 * rho);
    EXPECT_EQ(result.gradients, 60);
    EXPECT_EQ(result.losses, 61);
    EXPECT_FALSE(result.cancelled);
  }
}

// L(w + T delta) - L(w) at every vertex delta of {-rho, rho}^n, brute force, and which vertices are
// fixed points of the sign ascent (each coordinate of the gradient with respect to delta, T grad L,
// points outwards: the ascent stays there). A convex function's maximum over a box is at a vertex, and
// the maximal vertex is one of those fixed points.
struct Vertices {
  double largest = -1.0;
  std::vector<double> fixedPointValues;
};

Vertices bruteForceOverVertices(const Quadratic& quadratic, const Eigen::VectorXd& w, double rho) {
  const auto n = w.size();
  const double before = quadratic.at(w);
  Vertices vertices;
  for (int mask = 0; mask < (1 << n); ++mask) {
    Eigen::VectorXd delta(n);
    for (Eigen::Index i = 0; i < n; ++i) delta(i) = (mask >> i) & 1 ? rho : -rho;
    const Eigen::VectorXd moved = w + w.cwiseAbs().cwiseProduct(delta);
    const double value = quadratic.at(moved) - before;
    vertices.largest = std::max(vertices.largest, value);
    const Eigen::VectorXd ascent = w.cwiseAbs().cwiseProduct(quadratic.hessian * (moved - quadratic.minimum));
    if ((ascent.cwiseProduct(delta).array() > 0.0).all()) vertices.fixedPointValues.push_back(value);
  }
  return vertices;
}

TEST(AdaptiveSharpness, TheLinfValueIsTheLargestLossOverTheVerticesOfTheScaledBox) {
  struct Case {
    std::vector<double> eigenvalues;
    std::uint64_t seed;
    std::vector<double> weights;
    std::vector<double> minimum;
    double rho;
    bool randomInit;
  };
  const std::vector<Case> cases{
      // At the minimum (a random start: no gradient there), in 2 and 3 dimensions.
      {{5.0, 1.0, 0.1}, 12, {1.2, -0.4, 2.5}, {1.2, -0.4, 2.5}, 0.1, true},
      {{3.0, 0.5}, 11, {0.7, -1.9}, {0.7, -1.9}, 0.3, true},
      // Away from it (the ascent starts at delta = 0, as Andriushchenko et al.'s evaluation does). The
      // second 2-D case and the last but one have several fixed vertices.
      {{2.0, 1.0, 0.3}, 13, {0.9, 1.1, -2.0}, {1.0, 0.5, -1.5}, 0.2, false},
      {{4.0, 0.2}, 14, {-3.0, 0.25}, {-2.5, 0.5}, 0.05, false},
      {{1.0, 0.5, 0.2}, 15, {2.0, -1.0, 0.5}, {0.0, 0.3, 0.1}, 0.05, false},
  };
  int withOneMaximum = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE("case with seed " + std::to_string(c.seed));
    const auto n = static_cast<Eigen::Index>(c.weights.size());
    const Quadratic quadratic{spdMatrix(c.eigenvalues, c.seed), Eigen::Map<const Eigen::VectorXd>(c.minimum.data(), n)};
    const Eigen::VectorXd w = Eigen::Map<const Eigen::VectorXd>(c.weights.data(), n);
    const Vertices vertices = bruteForceOverVertices(quadratic, w, c.rho);
    ASSERT_GT(vertices.largest, 1e-4);
    AdaptiveAscentOptions options;
    options.norm = AdaptiveNorm::Linf;
    options.rho = c.rho;
    // Their momentum averages each projected step (a vertex, once the signs settle) with the point two
    // steps back, so the iterates reach the vertex geometrically (a factor 4 every two steps): 60 steps
    // bring it to rounding.
    options.steps = 60;
    options.randomInit = c.randomInit;
    options.seed = c.seed;
    const AdaptiveAscentResult result = maximizeAdaptivePerturbation(c.weights, quadratic.around(c.weights), options);
    EXPECT_NEAR(result.perturbationNorm, c.rho, 1e-9 * c.rho);  // a vertex
    EXPECT_NEAR(result.lossBefore, quadratic.at(w), 1e-15);
    // The ascent is local: where several vertices are fixed points it ends at one of them (a value of
    // the list, never above the largest); where the largest is the only fixed-point value, there.
    EXPECT_LE(result.sharpness, vertices.largest * (1.0 + 1e-12));
    const auto same = [&](double value) { return std::abs(value - result.sharpness) <= 1e-9 * vertices.largest; };
    EXPECT_TRUE(std::any_of(vertices.fixedPointValues.begin(), vertices.fixedPointValues.end(), same))
        << result.sharpness << " is no fixed vertex's value";
    const bool oneMaximum = std::all_of(vertices.fixedPointValues.begin(), vertices.fixedPointValues.end(),
                                        [&](double value) { return std::abs(value - vertices.largest) <= 1e-12; });
    if (oneMaximum) {
      ++withOneMaximum;
      EXPECT_NEAR(result.sharpness, vertices.largest, 1e-9 * vertices.largest);
    }
  }
  EXPECT_GE(withOneMaximum, 3) << "the cases are meant to have one locally maximal value but one";
}

TEST(AdaptiveSharpness, AWeightAtZeroIsNeverMovedAndTheScaleIsItsMagnitude) {
  // L = 1/2 ||w - w*||^2 with w = (0, 2, -0.5) and w* = 0 except for the first entry: only the two
  // nonzero weights move, each by at most rho |w_i| in l-inf: L(w + d) - L(w) is largest at
  // d = rho (0, 2, -0.5), with the first weight's term unchanged.
  const Quadratic quadratic{Eigen::MatrixXd::Identity(3, 3), Eigen::Vector3d(1.0, 0.0, 0.0)};
  const std::vector<double> weights{0.0, 2.0, -0.5};
  AdaptiveAscentOptions options;
  options.norm = AdaptiveNorm::Linf;
  options.rho = 0.1;
  options.steps = 60;
  const double expected = 0.5 * (std::pow(2.2, 2) - 4.0) + 0.5 * (std::pow(0.55, 2) - 0.25);
  EXPECT_NEAR(maximizeAdaptivePerturbation(weights, quadratic.around(weights), options).sharpness, expected,
              1e-12);
  // l2: the zero weight's coordinate of delta changes nothing, so the maximum is over the disc of the
  // other two, on its boundary (the loss is convex): a dense search over the circle, by hand.
  options.norm = AdaptiveNorm::L2;
  const double rho = options.rho;
  double best = 0.0;
  for (int k = 0; k < 200000; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / 200000.0;
    const double d1 = rho * std::cos(angle);
    const double d2 = rho * std::sin(angle);
    const double value = 0.5 * (std::pow(2.0 + 2.0 * d1, 2) - 4.0) + 0.5 * (std::pow(-0.5 + 0.5 * d2, 2) - 0.25);
    best = std::max(best, value);
  }
  EXPECT_NEAR(maximizeAdaptivePerturbation(weights, quadratic.around(weights), options).sharpness, best, 1e-8);
}

TEST(AdaptiveSharpness, AutoPgdCheckpointsAreThoseOfThePapersFormula) {
  // Croce & Hein 2020, section 3.2, as Andriushchenko et al.'s Python computes them (ceil(p_j n) in
  // doubles), printed by that code for n = 20 and n = 100.
  EXPECT_EQ(autoPgdCheckpoints(20), (std::vector<int>{5, 9, 12, 15, 16, 18, 19}));
  EXPECT_EQ(autoPgdCheckpoints(100), (std::vector<int>{22, 41, 58, 70, 80, 87, 93, 99}));
}

TEST(AdaptiveSharpness, BadOptionsAreRefusedWithTheirValues) {
  const Quadratic quadratic{Eigen::MatrixXd::Identity(2, 2), Eigen::Vector2d(1.0, 1.0)};
  const std::vector<double> weights{1.0, 2.0};
  AdaptiveAscentOptions options;
  options.rho = -1.0;
  EXPECT_THROW(maximizeAdaptivePerturbation(weights, quadratic.around(weights), options), Error);
  options.rho = std::nan("");
  EXPECT_THROW(maximizeAdaptivePerturbation(weights, quadratic.around(weights), options), Error);
  options.rho = 0.1;
  options.steps = 0;
  EXPECT_THROW(maximizeAdaptivePerturbation(weights, quadratic.around(weights), options), Error);
  options.steps = 1;
  EXPECT_THROW(maximizeAdaptivePerturbation({}, quadratic.around(weights), options), Error);
}

TEST(AdaptiveSharpness, ACancelledAscentSaysSo) {
  const Quadratic quadratic{Eigen::MatrixXd::Identity(2, 2), Eigen::Vector2d(1.0, 1.0)};
  const std::vector<double> weights{1.0, 2.0};
  const std::atomic<bool> cancel{true};
  const AdaptiveAscentResult result =
      maximizeAdaptivePerturbation(weights, quadratic.around(weights), AdaptiveAscentOptions{}, &cancel);
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.gradients, 0);
}

// ----- the network path -----------------------------------------------------------------------------------

using test::TinyTanhNet;

struct NetworkFixture {
  test::TempDir dir;
  ImageSet images = test::makeSyntheticImageSet(30, 1, TinyTanhNet::kSide, TinyTanhNet::kSide, TinyTanhNet::kClasses, 5);
  ChannelStatistics statistics = computeChannelStatistics(images);
  std::string modelPath = TinyTanhNet::write(dir.file("tiny.pt"), 23);
};

TEST(AdaptiveSharpness, TheNetworkPathIsTheAscentOnTheLossWrittenFunctionallyPerBatch) {
  NetworkFixture fixture;
  auto network = TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor saved = flattenParameters(*network).clone();
  const torch::Tensor weights = saved.to(torch::kFloat64);
  const std::vector<double> w(weights.data_ptr<double>(), weights.data_ptr<double>() + weights.numel());
  const torch::Tensor x = TinyTanhNet::referenceInputs(fixture.images, fixture.statistics);
  const torch::Tensor labels = torch::tensor(fixture.images.labels, torch::kInt64);

  // Batches of 20 and 10 examples, each its own functional loss.
  const auto batchLoss = [&](std::int64_t begin, std::int64_t count) -> PerturbedLoss {
    return [&, begin, count](const std::vector<double>& d, std::vector<double>* gradient) {
      torch::Tensor moved = (weights + torch::tensor(d, torch::kFloat64)).requires_grad_(gradient != nullptr);
      const torch::Tensor loss = TinyTanhNet::referenceLoss(moved, x.narrow(0, begin, count), labels.narrow(0, begin, count));
      if (gradient != nullptr) {
        const torch::Tensor g = torch::autograd::grad({loss}, {moved})[0].contiguous();
        gradient->assign(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
      }
      return loss.item<double>();
    };
  };
  for (const AdaptiveNorm norm : {AdaptiveNorm::L2, AdaptiveNorm::Linf}) {
    SCOPED_TRACE(adaptiveNormName(norm));
    AdaptiveSharpnessOptions options;
    options.ascent.norm = norm;
    options.ascent.rho = norm == AdaptiveNorm::L2 ? 0.5 : 0.05;
    options.ascent.steps = 10;
    options.ascent.randomInit = true;
    options.ascent.seed = 4;
    options.m = 20;
    options.evaluation.statistics = fixture.statistics;
    options.evaluation.batchSize = 7;  // several passes per batch: the value must not depend on it
    options.doublePrecision = true;

    AdaptiveAscentOptions first = options.ascent;
    AdaptiveAscentOptions second = options.ascent;
    second.seed = first.seed + 1;  // batch b's random start comes from seed + b
    const AdaptiveAscentResult a = maximizeAdaptivePerturbation(w, batchLoss(0, 20), first);
    const AdaptiveAscentResult b = maximizeAdaptivePerturbation(w, batchLoss(20, 10), second);
    ASSERT_GT(a.sharpness, 1e-4);
    ASSERT_GT(b.sharpness, 1e-4);
    const double expected = (20.0 * a.sharpness + 10.0 * b.sharpness) / 30.0;

    const AdaptiveSharpnessResult result = computeAdaptiveSharpness(*network, fixture.images, options);
    EXPECT_FALSE(result.cancelled);
    EXPECT_EQ(result.batches, 2);
    EXPECT_EQ(result.gradients, 20);
    EXPECT_NEAR(result.value, expected, 1e-9 * expected);
    EXPECT_NEAR(result.lossBefore, (20.0 * a.lossBefore + 10.0 * b.lossBefore) / 30.0, 1e-12);
    EXPECT_NEAR(result.lossAfter - result.lossBefore, result.value, 1e-12);
    EXPECT_NEAR(result.maxPerturbationNorm, std::max(a.perturbationNorm, b.perturbationNorm), 1e-9);
    // The network is given back as it was, bit for bit, in its own precision.
    EXPECT_TRUE(torch::equal(flattenParameters(*network), saved));
  }
}

TEST(AdaptiveSharpness, TheStageWritesBothValuesWhichReadBackAndAreRecorded) {
  test::TinyAnalysisFixture fixture;
  AnalysisRequest request;
  request.subset = 0;
  request.adaptiveSharpness = true;
  request.adaptiveM = 1000;  // one batch: its loss before is the analysed set's loss
  request.adaptiveSteps = 5;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("adaptive");
  const AnalysisResults results = session.analyze("", "", out);
  ASSERT_TRUE(results.metric("adaptive_sharpness_l2").has_value());
  ASSERT_TRUE(results.metric("adaptive_sharpness_linf").has_value());
  EXPECT_GT(*results.metric("adaptive_sharpness_l2"), 0.0);
  EXPECT_GT(*results.metric("adaptive_sharpness_linf"), 0.0);

  const nlohmann::json json = fixture.analysisJson(out);
  const nlohmann::json& part = json["adaptive_sharpness"];
  EXPECT_EQ(part["steps"], 5);
  EXPECT_EQ(part["random_init"], false);
  for (const char* norm : {"l2", "linf"}) {
    SCOPED_TRACE(norm);
    EXPECT_EQ(part[norm]["rho"].get<double>(), std::string(norm) == "l2" ? 1.0 : 0.002);
    EXPECT_EQ(part[norm]["batches"], 1);
    EXPECT_EQ(part[norm]["gradients"], 5);
    // The loss stage's value (the same network and set, float32 throughout).
    EXPECT_NEAR(part[norm]["loss_before"].get<double>(), json["loss"].get<double>(), 1e-6);
    EXPECT_NEAR(part[norm]["loss_after"].get<double>() - part[norm]["loss_before"].get<double>(),
                part[norm]["value"].get<double>(), 1e-9);
    EXPECT_GE(part[norm]["seconds"].get<double>(), 0.0);
  }
  EXPECT_LE(part["l2"]["perturbation_norm"].get<double>(), 1.0 + 1e-6);
  // Near the box's surface after 5 steps (the momentum's averaging approaches it geometrically).
  EXPECT_LE(part["linf"]["perturbation_norm"].get<double>(), 0.002 * (1.0 + 1e-6));
  EXPECT_GT(part["linf"]["perturbation_norm"].get<double>(), 0.9 * 0.002);

  const AnalysisResults read = readAnalysisDirectory(out);
  EXPECT_EQ(read.metric("adaptive_sharpness_l2"), results.metric("adaptive_sharpness_l2"));
  EXPECT_EQ(read.metric("adaptive_sharpness_linf"), results.metric("adaptive_sharpness_linf"));
  for (const char* key : {"adaptive_sharpness_l2", "adaptive_sharpness_linf"}) {
    EXPECT_TRUE(metricDefinition(key).inStudies) << key;
    EXPECT_EQ(metricValue(metricDefinition(key), results), results.metric(key)) << key;
  }
  std::vector<StageRecord> records;
  for (const auto& stage : analysisStages()) stage->addRecords(json, records);
  const auto record = std::find_if(records.begin(), records.end(),
                                   [](const StageRecord& r) { return r.kind == "adaptive_sharpness"; });
  ASSERT_NE(record, records.end());
  EXPECT_EQ(record->values["linf"]["value"], part["linf"]["value"]);

  // A radius of 0 leaves its norm out.
  request.adaptiveRhoLinf = 0.0;
  AnalysisSession l2Only(fixture.model, request);
  const AnalysisResults only = l2Only.analyze("", "", fixture.dir.file("l2-only"));
  EXPECT_EQ(only.metric("adaptive_sharpness_l2"), results.metric("adaptive_sharpness_l2"));
  EXPECT_FALSE(only.metric("adaptive_sharpness_linf").has_value());
}

TEST(AdaptiveSharpness, BadRequestsNameTheFlag) {
  AnalysisRequest request;
  request.adaptiveSharpness = true;
  request.adaptiveRhoL2 = -1.0;
  try {
    validateAnalysisRequest(request);
    FAIL() << "accepted a negative radius";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("--adaptive-rho-l2"), std::string::npos) << error.what();
  }
  request.adaptiveRhoL2 = 0.0;
  request.adaptiveRhoLinf = 0.0;
  EXPECT_THROW(validateAnalysisRequest(request), ConfigError);
  request.adaptiveRhoLinf = 0.002;
  request.adaptiveSteps = 0;
  try {
    validateAnalysisRequest(request, AnalysisCommand::Train);
    FAIL() << "accepted 0 steps";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("--adaptive-steps"), std::string::npos) << error.what();
  }
  request.adaptiveSteps = 20;
  request.adaptiveM = 0;
  EXPECT_THROW(validateAnalysisRequest(request), ConfigError);
  // Not asked for: its options are not checked.
  request.adaptiveSharpness = false;
  EXPECT_NO_THROW(validateAnalysisRequest(request));
}

}  // namespace
}  // namespace samscape

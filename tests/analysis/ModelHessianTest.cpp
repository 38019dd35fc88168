// The Hessian of a network's dataset loss, as the analyses see it (ModelHessian over DatasetObjective),
// against independent computations on a tiny TorchScript network (16 inputs, 3 tanh units, 3 classes:
// 63 parameters) in double precision:
// - the dense Hessian by autograd on a hand-written functional copy of the network, taking one flat
//   parameter tensor, over the whole set at once (no chunks, no Network, no TorchScript);
// - central finite differences of the gradient;
// - Eigen's dense eigendecomposition and exact trace of that Hessian.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <torch/script.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "analysis/HessianSpectrum.h"
#include "analysis/HessianTrace.h"
#include "analysis/LayerCurvature.h"
#include "analysis/ModelHessianTorch.h"
#include "core/Error.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TinyTanhNet.h"

namespace samscape {
namespace {

constexpr int kSide = test::TinyTanhNet::kSide;
constexpr int kInputs = test::TinyTanhNet::kInputs;
constexpr int kHidden = test::TinyTanhNet::kHidden;
constexpr int kClasses = test::TinyTanhNet::kClasses;
constexpr std::int64_t kParameters = test::TinyTanhNet::kParameters;

struct Fixture {
  test::TempDir dir;
  ImageSet images = test::makeSyntheticImageSet(30, 1, kSide, kSide, kClasses, 8);
  ChannelStatistics statistics = computeChannelStatistics(images);
  std::string modelPath = test::TinyTanhNet::write(dir.file("tiny.pt"), 17);
};

torch::Tensor referenceInputs(const Fixture& fixture) {
  return test::TinyTanhNet::referenceInputs(fixture.images, fixture.statistics);
}

torch::Tensor referenceLoss(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& labels) {
  return test::TinyTanhNet::referenceLoss(w, x, labels);
}

Eigen::MatrixXd referenceHessian(const Fixture& fixture, const torch::Tensor& flatWeights) {
  const torch::Tensor x = referenceInputs(fixture);
  const torch::Tensor labels = torch::tensor(fixture.images.labels, torch::kInt64);
  torch::Tensor w = flatWeights.to(torch::kFloat64).detach().clone().requires_grad_(true);
  const torch::Tensor loss = referenceLoss(w, x, labels);
  const torch::Tensor g = torch::autograd::grad({loss}, {w}, {}, true, true)[0];
  Eigen::MatrixXd hessian(kParameters, kParameters);
  for (std::int64_t i = 0; i < kParameters; ++i) {
    const torch::Tensor row = torch::autograd::grad({g[i]}, {w}, {}, true, false)[0];
    for (std::int64_t j = 0; j < kParameters; ++j) hessian(i, j) = row[j].item<double>();
  }
  return hessian;
}

ModelHessianOptions doubleOptions(const Fixture& fixture, std::int64_t batchSize) {
  ModelHessianOptions options;
  options.evaluation.statistics = fixture.statistics;
  options.evaluation.batchSize = batchSize;  // 30 examples: chunks of 7 and a last one of 2
  options.doublePrecision = true;
  return options;
}

Eigen::MatrixXd hessianByProducts(ModelHessian& hessian) {
  const auto n = static_cast<Eigen::Index>(hessian.size());
  Eigen::MatrixXd matrix(n, n);
  Eigen::VectorXd basis = Eigen::VectorXd::Zero(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    basis(j) = 1.0;
    hessian.apply(basis.data(), matrix.col(j).data());
    basis(j) = 0.0;
  }
  return matrix;
}

TEST(ModelHessian, ProductsFormTheHessianOfAnIndependentAutogradReference) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor weights = flattenParameters(*network);
  auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 7));
  ASSERT_EQ(hessian->size(), kParameters);
  EXPECT_EQ(hessian->exampleCount(), 30);

  const Eigen::MatrixXd byProducts = hessianByProducts(*hessian);
  EXPECT_EQ(hessian->hessianVectorProducts(), kParameters);
  const double scale = byProducts.cwiseAbs().maxCoeff();
  ASSERT_GT(scale, 1e-3);  // a Hessian worth checking
  EXPECT_LT((byProducts - byProducts.transpose()).cwiseAbs().maxCoeff(), 1e-12 * scale);

  const Eigen::MatrixXd reference = referenceHessian(fixture, weights);
  EXPECT_LT((byProducts - reference).cwiseAbs().maxCoeff(), 1e-10 * scale);

  // The loss too, against the functional reference.
  const torch::Tensor x = referenceInputs(fixture);
  const torch::Tensor labels = torch::tensor(fixture.images.labels, torch::kInt64);
  const double expectedLoss = referenceLoss(weights.to(torch::kFloat64), x, labels).item<double>();
  EXPECT_NEAR(hessian->loss(), expectedLoss, 1e-12 * expectedLoss);
}

TEST(ModelHessian, TopEigenvaluesAndTraceMatchTheDenseHessian) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const Eigen::MatrixXd reference = referenceHessian(fixture, flattenParameters(*network));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(reference, Eigen::EigenvaluesOnly);
  auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 16));

  SpectrumOptions options;
  options.topK = 4;
  const SpectrumResult spectrum = topEigenvalues(*hessian, options);
  ASSERT_TRUE(spectrum.converged) << spectrum.status;
  ASSERT_EQ(spectrum.eigenvalues.size(), 4U);
  for (int i = 0; i < 4; ++i) {
    const double expected = dense.eigenvalues()(kParameters - 1 - i);
    EXPECT_NEAR(spectrum.eigenvalues[static_cast<std::size_t>(i)], expected, 1e-6 * std::abs(expected)) << i;
  }
  EXPECT_EQ(spectrum.hessianVectorProducts, hessian->hessianVectorProducts());

  TraceOptions traceOptions;
  traceOptions.probes = 300;
  traceOptions.seed = 4;
  const TraceResult trace = hutchinsonTrace(*hessian, traceOptions);
  EXPECT_LT(std::abs(trace.mean - reference.trace()), 4.0 * trace.standardError)
      << trace.mean << " vs " << reference.trace() << " +- " << trace.standardError;
  EXPECT_LT(trace.standardError, 0.2 * std::abs(reference.trace()));
}

// LOBPCG on a network's Hessian, warm-started from the dense eigenvectors moved by 10%: the same
// eigenvalues as the dense Hessian's and as cold Lanczos' at the same tolerance.
TEST(ModelHessian, LobpcgFromPerturbedEigenvectorsMatchesTheDenseHessianAndColdLanczos) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const Eigen::MatrixXd reference = referenceHessian(fixture, flattenParameters(*network));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(reference);
  auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 16));
  SpectrumOptions options;
  options.topK = 3;
  options.tolerance = 1e-6;
  options.eigenvectors = true;
  const SpectrumResult cold = topEigenvalues(*hessian, options);
  ASSERT_TRUE(cold.converged) << cold.status;
  std::mt19937_64 engine(9);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 3; ++i) {
    Eigen::VectorXd noise(kParameters);
    for (Eigen::Index j = 0; j < kParameters; ++j) noise(j) = normal(engine);
    const Eigen::VectorXd start = dense.eigenvectors().col(kParameters - 1 - i) + 0.1 * noise.normalized();
    options.startBlock.emplace_back(start.data(), start.data() + start.size());
  }
  const SpectrumResult warm = topEigenvalues(*hessian, options);  // LOBPCG
  ASSERT_TRUE(warm.converged) << warm.status;
  ASSERT_EQ(warm.eigenvalues.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    const double expected = dense.eigenvalues()(kParameters - 1 - i);
    const auto index = static_cast<std::size_t>(i);
    EXPECT_NEAR(warm.eigenvalues[index], expected, 1e-6 * std::abs(expected)) << i;
    EXPECT_NEAR(warm.eigenvalues[index], cold.eigenvalues[index], 1e-6 * std::abs(expected)) << i;
  }
}

TEST(ModelHessian, BottomEigenvaluesMatchTheDenseHessiansMostNegative) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const Eigen::MatrixXd reference = referenceHessian(fixture, flattenParameters(*network));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(reference, Eigen::EigenvaluesOnly);
  ASSERT_LT(dense.eigenvalues()(0), 0.0) << "a Hessian with negative curvature is the case worth checking";
  auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 16));
  SpectrumOptions options;
  options.topK = 2;
  options.smallest = true;
  const SpectrumResult spectrum = topEigenvalues(*hessian, options);
  ASSERT_TRUE(spectrum.converged) << spectrum.status;
  ASSERT_EQ(spectrum.eigenvalues.size(), 2U);
  const double scale = dense.eigenvalues().cwiseAbs().maxCoeff();
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(spectrum.eigenvalues[static_cast<std::size_t>(i)], dense.eigenvalues()(i), 1e-8 * scale) << i;
  }
}

TEST(ModelHessian, PerLayerCurvatureMatchesTheDenseHessiansDiagonalBlocks) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const Eigen::MatrixXd reference = referenceHessian(fixture, flattenParameters(*network));
  std::vector<std::int64_t> sizes;
  for (const auto& parameter : network->parameters()) sizes.push_back(parameter.numel());
  // w1, b1, w2, b2: no module prefix, so each parameter is its own group.
  const auto groups = groupParametersByModule(network->parameterNames(), sizes);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].name, "w1");
  auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 16));
  LayerCurvatureOptions options;
  options.tolerance = 1e-10;
  options.traceProbes = 300;
  options.seed = 6;
  const LayerCurvatureResult result = layerCurvature(*hessian, groups, options);
  ASSERT_EQ(result.layers.size(), 4u);
  for (const auto& layer : result.layers) {
    const auto& g = layer.group;
    const Eigen::MatrixXd block = reference.block(g.begin, g.begin, g.size(), g.size());
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense(block, Eigen::EigenvaluesOnly);
    const double top = dense.eigenvalues()(g.size() - 1);
    EXPECT_NEAR(layer.topEigenvalue, top, 1e-7 * std::max(1.0, std::abs(top))) << g.name;
    EXPECT_LT(std::abs(layer.trace - block.trace()), 4.0 * layer.traceStandardError + 1e-9) << g.name;
  }
}

TEST(ModelHessian, ProductsMatchFiniteDifferencesOfTheGradient) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  network->toDtype(torch::kFloat64);
  EvaluationSettings options;
  options.statistics = fixture.statistics;
  options.batchSize = 11;
  DatasetObjective objective(*network, fixture.images, options);
  const torch::Tensor weights = flattenParameters(*network);

  std::mt19937_64 engine(3);
  torch::Tensor direction = torch::empty({kParameters}, torch::kFloat64);
  for (std::int64_t i = 0; i < kParameters; ++i) {
    direction[i] = (engine() & 1U) != 0 ? 1.0 : -1.0;
  }
  const torch::Tensor product = objective.hessianVectorProduct(direction);
  EXPECT_EQ(objective.hessianVectorProducts(), 1);

  constexpr double kStep = 1e-5;
  assignParameters(*network, weights + kStep * direction);
  const torch::Tensor plus = objective.gradient();
  assignParameters(*network, weights - kStep * direction);
  const torch::Tensor minus = objective.gradient();
  assignParameters(*network, weights);
  const torch::Tensor differences = (plus - minus) / (2.0 * kStep);

  const double error = (product - differences).norm().item<double>();
  EXPECT_LT(error, 1e-4 * differences.norm().item<double>())
      << "|Hv| " << product.norm().item<double>() << ", |FD| " << differences.norm().item<double>();
  // The gradient itself by finite differences of the loss, along the same direction.
  assignParameters(*network, weights + kStep * direction);
  const double lossPlus = objective.loss();
  assignParameters(*network, weights - kStep * direction);
  const double lossMinus = objective.loss();
  assignParameters(*network, weights);
  const double slope = objective.gradient().dot(direction).item<double>();
  EXPECT_NEAR((lossPlus - lossMinus) / (2.0 * kStep), slope, 1e-6 * std::abs(slope));
}

TEST(ModelHessian, ChunkSizeDoesNotChangeTheProducts) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  std::vector<double> direction(static_cast<std::size_t>(kParameters));
  for (std::size_t i = 0; i < direction.size(); ++i) direction[i] = std::sin(static_cast<double>(i));
  std::vector<double> chunked(direction.size());
  std::vector<double> whole(direction.size());
  makeModelHessian(*network, fixture.images, doubleOptions(fixture, 4))->apply(direction.data(), chunked.data());
  makeModelHessian(*network, fixture.images, doubleOptions(fixture, 1000))->apply(direction.data(), whole.data());
  double largest = 0.0;
  for (const double value : whole) largest = std::max(largest, std::abs(value));
  ASSERT_GT(largest, 0.0);
  for (std::size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(chunked[i], whole[i], 1e-12 * largest) << i;
}

TEST(ModelHessian, NetworkComesBackUnchangedInItsOwnPrecision) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  const torch::Tensor before = flattenParameters(*network);
  ASSERT_EQ(before.scalar_type(), torch::kFloat32);
  {
    auto hessian = makeModelHessian(*network, fixture.images, doubleOptions(fixture, 8));
    EXPECT_EQ(network->parameters().front().scalar_type(), torch::kFloat64);
    std::vector<double> in(static_cast<std::size_t>(kParameters), 1.0);
    std::vector<double> out(in.size());
    hessian->apply(in.data(), out.data());
  }
  const torch::Tensor after = flattenParameters(*network);
  EXPECT_EQ(after.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(before, after));
}

// A built-in model with batch norm (ResNet-20 on 8x8 images): the Hessian is taken in evaluation mode
// on the running statistics, which it leaves untouched; double backpropagation through convolutions
// and batch norm gives a symmetric operator; float32 and float64 agree to float32's precision.
TEST(ModelHessian, BuiltInBatchNormModelInEvaluationMode) {
  ImageSet images = test::makeSyntheticImageSet(4, 1, 8, 8, 3, 6);
  const ChannelStatistics statistics = computeChannelStatistics(images);
  torch::manual_seed(2);
  ModelSpec spec;
  spec.name = "resnet20";
  spec.imageHeight = 8;
  spec.imageWidth = 8;
  spec.numClasses = 3;
  auto network = makeNetwork(spec);
  {
    // Running statistics away from their initial 0 and 1, as after training.
    torch::NoGradGuard noGrad;
    network->setTraining(true);
    network->forward(torch::randn({8, 1, 8, 8}) * 2.0 + 0.5);
  }
  const torch::Tensor buffersBefore = flattenTensors(network->buffers()).clone();
  const torch::Tensor weightsBefore = flattenParameters(*network);

  ModelHessianOptions options;
  options.evaluation.statistics = statistics;
  options.evaluation.batchSize = 3;
  options.doublePrecision = true;
  const auto n = static_cast<std::size_t>(parameterCount(*network));
  std::vector<double> u(n);
  std::vector<double> v(n);
  std::mt19937_64 engine(1);
  for (std::size_t i = 0; i < n; ++i) {
    u[i] = (engine() & 1U) != 0 ? 1.0 : -1.0;
    v[i] = static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5;
  }
  std::vector<double> hu(n);
  std::vector<double> hv(n);
  {
    auto hessian = makeModelHessian(*network, images, options);
    hessian->apply(u.data(), hu.data());
    hessian->apply(v.data(), hv.data());
  }
  double uHv = 0.0;
  double vHu = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    uHv += u[i] * hv[i];
    vHu += v[i] * hu[i];
    norm += hv[i] * hv[i];
  }
  ASSERT_GT(norm, 0.0);
  EXPECT_NEAR(uHv, vHu, 1e-10 * std::abs(vHu));

  options.doublePrecision = false;
  std::vector<double> hvFloat(n);
  makeModelHessian(*network, images, options)->apply(v.data(), hvFloat.data());
  double difference = 0.0;
  for (std::size_t i = 0; i < n; ++i) difference += (hvFloat[i] - hv[i]) * (hvFloat[i] - hv[i]);
  EXPECT_LT(std::sqrt(difference), 1e-3 * std::sqrt(norm));

  EXPECT_TRUE(torch::equal(flattenTensors(network->buffers()), buffersBefore));
  EXPECT_TRUE(torch::equal(flattenParameters(*network), weightsBefore));
  EXPECT_EQ(network->buffers().front().scalar_type(), torch::kFloat32);
}

TEST(ModelHessian, BadInputsAreErrors) {
  Fixture fixture;
  auto network = test::TinyTanhNet::load(fixture.modelPath);
  ModelHessianOptions options = doubleOptions(fixture, 8);
  options.evaluation.device = "tpu";
  EXPECT_THROW(makeModelHessian(*network, fixture.images, options), Error);
  options = doubleOptions(fixture, 0);
  EXPECT_THROW(makeModelHessian(*network, fixture.images, options), Error);
  options = doubleOptions(fixture, 8);
  options.evaluation.statistics.mean = {0.5, 0.5, 0.5};
  options.evaluation.statistics.stddev = {0.2, 0.2, 0.2};
  EXPECT_THROW(makeModelHessian(*network, fixture.images, options), Error);
  // A failed build leaves the network as it was.
  EXPECT_EQ(network->parameters().front().scalar_type(), torch::kFloat32);
  EXPECT_THROW(makeModelHessian(*network, ImageSet{}, doubleOptions(fixture, 8)), Error);
}

}  // namespace
}  // namespace samscape

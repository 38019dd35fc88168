// The Hessian products' methods and precisions (issue "Analysis at the speed of training"):
// - forward over reverse and double backward give the same products (float64, to rounding), one vector
//   at a time or several in one pass, on the tiny TorchScript network and on a ResNet-20 whose batch
//   norm runs on its running statistics;
// - float32 products are within kFloat32Tolerance's premise of float64's (the measured relative error
//   is printed);
// - the default policy (float32 products, eigenpairs checked in float64) meets the tolerance against
//   the dense Hessian, and a ResNet-20's top eigenvalues by the default and by float64 agree to it.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "analysis/AnalysisOptions.h"
#include "analysis/EigenpairCheck.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/ModelHessianTorch.h"
#include "core/data/DatasetLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"
#include "tests/support/TinyTanhNet.h"

namespace samscape {
namespace {

std::vector<double> randomVector(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::vector<double> v(n);
  for (auto& value : v) value = static_cast<double>(engine() >> 11) / 9007199254740992.0 - 0.5;
  return v;
}

double relativeDifference(const std::vector<double>& a, const std::vector<double>& b) {
  double difference = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(difference / norm);
}

// A ResNet-20 on small images with running statistics away from 0 and 1, as after training.
std::unique_ptr<Network> resnet20(int channels, int side, std::uint64_t seed) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.name = "resnet20";
  spec.inputChannels = channels;
  spec.imageHeight = side;
  spec.imageWidth = side;
  spec.numClasses = 10;
  auto network = makeNetwork(spec);
  torch::NoGradGuard noGrad;
  network->setTraining(true);
  for (int i = 0; i < 3; ++i) network->forward(torch::randn({16, channels, side, side}) * 1.5 + 0.3);
  network->setTraining(false);
  return network;
}

ModelHessianOptions optionsFor(const ImageSet& images, bool doublePrecision, ProductMethod method, std::int64_t batch) {
  ModelHessianOptions options;
  options.evaluation.statistics = computeChannelStatistics(images);
  options.evaluation.batchSize = batch;
  options.doublePrecision = doublePrecision;
  options.chooseProductMethod = false;
  options.productMethod = method;
  return options;
}

// H v by both methods, one vector and three in one pass, on `network` over `images` in float64.
void expectMethodsAgree(Network& network, const ImageSet& images, std::int64_t batch, double tolerance) {
  const auto n = static_cast<std::size_t>(parameterCount(network));
  std::vector<double> three;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto v = randomVector(n, seed);
    three.insert(three.end(), v.begin(), v.end());
  }
  std::vector<std::vector<double>> singles;
  for (const ProductMethod method : {ProductMethod::DoubleBackward, ProductMethod::ForwardOverReverse}) {
    auto hessian = makeModelHessian(network, images, optionsFor(images, true, method, batch));
    std::vector<double> single(n);
    hessian->apply(three.data(), single.data());
    std::vector<double> many(3 * n);
    hessian->applyMany(3, three.data(), many.data());
    EXPECT_EQ(hessian->hessianVectorProducts(), 4);
    const std::vector<double> first(many.begin(), many.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_LT(relativeDifference(first, single), tolerance) << productMethodName(method);
    for (int j = 1; j < 3; ++j) {
      std::vector<double> alone(n);
      hessian->apply(three.data() + j * n, alone.data());
      const std::vector<double> batched(many.begin() + static_cast<std::ptrdiff_t>(j * n),
                                        many.begin() + static_cast<std::ptrdiff_t>((j + 1) * n));
      EXPECT_LT(relativeDifference(batched, alone), tolerance) << productMethodName(method) << " vector " << j;
    }
    singles.push_back(single);
  }
  EXPECT_LT(relativeDifference(singles[1], singles[0]), tolerance);
}

TEST(ModelHessianPrecision, ForwardOverReverseEqualsDoubleBackwardOnTheTinyNetwork) {
  test::TempDir dir;
  const ImageSet images = test::makeSyntheticImageSet(30, 1, test::TinyTanhNet::kSide, test::TinyTanhNet::kSide,
                                                      test::TinyTanhNet::kClasses, 8);
  auto network = test::TinyTanhNet::load(test::TinyTanhNet::write(dir.file("tiny.pt"), 17));
  expectMethodsAgree(*network, images, 7, 1e-12);
}

TEST(ModelHessianPrecision, ForwardOverReverseEqualsDoubleBackwardOnAResNetWithBatchNorm) {
  const ImageSet images = test::makeSyntheticImageSet(6, 3, 8, 8, 10, 5);
  auto network = resnet20(3, 8, 4);
  expectMethodsAgree(*network, images, 4, 1e-10);
  // The choice by timing: both methods work on the built-in models (their batch norm's evaluation is
  // elementwise, BuiltInModels.h), and the chosen one is one of them.
  ModelHessianOptions options;
  options.evaluation.statistics = computeChannelStatistics(images);
  auto hessian = makeModelHessian(*network, images, options);
  const ProductMethodChoice& choice = hessian->productMethod();
  EXPECT_TRUE(choice.forwardOverReverseError.empty()) << choice.forwardOverReverseError;
  EXPECT_GT(choice.doubleBackwardSeconds, 0.0);
  EXPECT_GT(choice.forwardOverReverseSeconds, 0.0);
  EXPECT_EQ(choice.examples, 6);
  EXPECT_EQ(choice.method, choice.forwardOverReverseSeconds < choice.doubleBackwardSeconds ? ProductMethod::ForwardOverReverse
                                                                                          : ProductMethod::DoubleBackward);
  EXPECT_EQ(hessian->hessianVectorProducts(), 0);  // the probe's products are not counted
}

TEST(ModelHessianPrecision, Float32ProductsAgreeWithFloat64ToAboutOneInAMillion) {
  const ImageSet images = test::makeSyntheticImageSet(32, 3, 16, 16, 10, 9);
  auto network = resnet20(3, 16, 6);
  const auto n = static_cast<std::size_t>(parameterCount(*network));
  const auto v = randomVector(n, 11);
  std::vector<double> float64(n);
  std::vector<double> float32(n);
  std::vector<double> viewed(n);
  {
    auto hessian = makeModelHessian(*network, images, optionsFor(images, false, ProductMethod::ForwardOverReverse, 16));
    hessian->apply(v.data(), float32.data());
    hessian->inDoublePrecision().apply(v.data(), viewed.data());
    EXPECT_FALSE(hessian->doublePrecision());
    EXPECT_EQ(network->parameters().front().scalar_type(), torch::kFloat32);  // back after the float64 view
  }
  makeModelHessian(*network, images, optionsFor(images, true, ProductMethod::DoubleBackward, 32))->apply(v.data(), float64.data());
  const double error = relativeDifference(float32, float64);
  std::printf("float32 product's relative error against float64 (ResNet-20, 32 images): %.3g\n", error);
  EXPECT_LT(error, 1e-5);
  // The float64 view is float64's product (another method, chunking: rounding only).
  EXPECT_LT(relativeDifference(viewed, float64), 1e-11);
}

TEST(ModelHessianPrecision, TheDefaultPolicyMeetsTheToleranceAgainstTheDenseHessian) {
  test::TempDir dir;
  const ImageSet images = test::makeSyntheticImageSet(30, 1, test::TinyTanhNet::kSide, test::TinyTanhNet::kSide,
                                                      test::TinyTanhNet::kClasses, 8);
  auto network = test::TinyTanhNet::load(test::TinyTanhNet::write(dir.file("tiny.pt"), 17));
  const auto n = static_cast<Eigen::Index>(parameterCount(*network));
  Eigen::MatrixXd dense(n, n);
  {
    auto exact = makeModelHessian(*network, images, optionsFor(images, true, ProductMethod::DoubleBackward, 30));
    Eigen::VectorXd basis = Eigen::VectorXd::Zero(n);
    for (Eigen::Index j = 0; j < n; ++j) {
      basis(j) = 1.0;
      exact->apply(basis.data(), dense.col(j).data());
      basis(j) = 0.0;
    }
  }
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(0.5 * (dense + dense.transpose()), Eigen::EigenvaluesOnly);
  AnalysisRequest request;  // --hessian-precision auto, --tolerance 1e-4
  ASSERT_EQ(productPrecision(request, request.tolerance), "float32");
  ModelHessianOptions options;
  options.evaluation.statistics = computeChannelStatistics(images);
  options.evaluation.batchSize = 7;
  auto hessian = makeModelHessian(*network, images, options);  // float32, the faster method
  SpectrumOptions spectrum;
  spectrum.topK = 4;
  spectrum.tolerance = request.tolerance;
  const CheckedSpectrum checked = checkedTopEigenvalues(*hessian, hessian->inDoublePrecision(), spectrum,
                                                       float32LanczosTolerance(spectrum.tolerance));
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  EXPECT_EQ(checked.outcome, "passed");
  for (int i = 0; i < 4; ++i) {
    const double expected = solver.eigenvalues()(n - 1 - i);
    const double value = checked.spectrum.eigenvalues[static_cast<std::size_t>(i)];
    std::printf("eigenvalue %d: dense %.10g, float32 Lanczos checked in float64 %.10g (relative residual %.2g)\n", i,
                expected, value, checked.check.relativeResiduals[static_cast<std::size_t>(i)]);
    EXPECT_NEAR(value, expected, request.tolerance * std::abs(expected)) << i;
    EXPECT_LE(checked.check.relativeResiduals[static_cast<std::size_t>(i)], request.tolerance) << i;
  }
  // A tolerance below float32's reach: auto takes float64 products, and forcing float32 is refined.
  request.tolerance = 1e-9;
  EXPECT_EQ(productPrecision(request, request.tolerance), "float64");
  spectrum.tolerance = 1e-9;
  const CheckedSpectrum refined = checkedTopEigenvalues(*hessian, hessian->inDoublePrecision(), spectrum,
                                                       float32LanczosTolerance(spectrum.tolerance));
  ASSERT_TRUE(refined.spectrum.converged) << refined.spectrum.status;
  EXPECT_TRUE(refined.outcome == "refined" || refined.outcome == "recomputed") << refined.outcome;
  for (int i = 0; i < 4; ++i) {
    const double expected = solver.eigenvalues()(n - 1 - i);
    EXPECT_NEAR(refined.spectrum.eigenvalues[static_cast<std::size_t>(i)], expected, 1e-9 * std::abs(expected)) << i;
  }
}

TEST(ModelHessianPrecision, AResNetsTopEigenvaluesByTheDefaultAndByFloat64Agree) {
  // Small images keep float64 Lanczos to seconds; the network is the full ResNet-20.
  const ImageSet images = test::makeSyntheticImageSet(8, 1, 12, 12, 10, 12);
  auto network = resnet20(1, 12, 8);
  SpectrumOptions spectrum;
  spectrum.topK = 3;
  spectrum.tolerance = 1e-4;
  ModelHessianOptions options;
  options.evaluation.statistics = computeChannelStatistics(images);
  options.evaluation.batchSize = 4;
  auto fast = makeModelHessian(*network, images, options);
  const CheckedSpectrum checked = checkedTopEigenvalues(*fast, fast->inDoublePrecision(), spectrum,
                                                       float32LanczosTolerance(spectrum.tolerance));
  fast.reset();
  options.doublePrecision = true;
  auto exact = makeModelHessian(*network, images, options);
  const SpectrumResult reference = topEigenvalues(*exact, spectrum);
  ASSERT_TRUE(checked.spectrum.converged) << checked.spectrum.status;
  ASSERT_TRUE(reference.converged) << reference.status;
  EXPECT_EQ(checked.outcome, "passed");
  for (int i = 0; i < 3; ++i) {
    const double value = checked.spectrum.eigenvalues[static_cast<std::size_t>(i)];
    const double expected = reference.eigenvalues[static_cast<std::size_t>(i)];
    std::printf("ResNet-20 eigenvalue %d: float64 %.10g, default %.10g\n", i, expected, value);
    EXPECT_NEAR(value, expected, spectrum.tolerance * std::abs(expected)) << i;
  }
}

}  // namespace
}  // namespace samscape

// The Hessian-vector-product budget of issue 4: on the built-in "cnn" model (61,706 parameters, after
// 10 full-batch gradient steps) over real Fashion-MNIST test images, in double precision,
// topEigenvalues must give the top eigenvalue to 1e-4 relative within 30 products and the top 5 within
// 80. The issue states the budget for 256 images; one product over 256 images takes about 1.2 s in a
// Debug build on a shared 2-core machine, so this test uses the first 64 to stay near a minute.
// The budgeted solves use the default Lanczos basis size (auto ncv) with tolerance 1e-4: Spectra's
// tolerance bounds each Ritz pair's relative residual, and the eigenvalue error is about the residual
// squared over the gap, far below 1e-4 relative (the test checks it). With the default tolerance
// (1e-10) the same solves need more products than the budget allows (51 and 103 over 256 images).
// Measured with auto ncv (25 for the top 1, 20 for the top 5): over 256 images 26 and 62 products,
// over 64 images 26 and 72.
// The reference is a separate, converged solve of the same operator (a basis of 60 vectors and
// tolerance 1e-13), not the budgeted run itself. Skipped when the Debian package
// dataset-fashion-mnist is not installed.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "analysis/HessianSpectrum.h"
#include "analysis/ModelHessianTorch.h"
#include "core/data/DatasetLoader.h"
#include "core/data/DatasetReaders.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"

namespace samscape {
namespace {

// See above: 64, not the 256, to keep the Debug test near a minute. SAMSCAPE_BUDGET_IMAGES=256
// in the environment runs the size.
std::int64_t imageCount() {
  const char* value = std::getenv("SAMSCAPE_BUDGET_IMAGES");
  return value != nullptr ? std::max<std::int64_t>(1, std::atoll(value)) : 64;
}

ImageSet firstImages(const ImageSet& images, std::int64_t count) {
  ImageSet first = images;
  first.labels.resize(static_cast<std::size_t>(count));
  first.pixels.resize(static_cast<std::size_t>(count) * images.imageBytes());
  return first;
}

TEST(LanczosBudget, CnnOnFashionMnistMeetsTheHessianVectorProductBudget) {
  if (!std::filesystem::exists(kDefaultFashionMnistDir)) {
    GTEST_SKIP() << kDefaultFashionMnistDir << " is missing (Debian package dataset-fashion-mnist)";
  }
  torch::manual_seed(0);
  const ImageSet images = firstImages(readMnistDirectory(kDefaultFashionMnistDir, false), imageCount());
  // Standardized with the analysed images' own statistics (close to the training split's).
  const ChannelStatistics statistics = computeChannelStatistics(images);
  ModelSpec spec;
  spec.name = "cnn";
  auto network = makeNetwork(spec);

  // A briefly trained model, more realistic than the initialization: 10 full-batch gradient steps.
  {
    EvaluationSettings objectiveOptions;
    objectiveOptions.statistics = statistics;
    DatasetObjective objective(*network, images, objectiveOptions);
    for (int step = 0; step < 10; ++step) {
      const torch::Tensor gradient = objective.gradient();
      assignParameters(*network, flattenParameters(*network) - 0.1 * gradient);
    }
  }

  ModelHessianOptions hessianOptions;
  hessianOptions.evaluation.statistics = statistics;
  hessianOptions.doublePrecision = true;
  auto hessian = makeModelHessian(*network, images, hessianOptions);

  const auto started = std::chrono::steady_clock::now();
  // The reference: a converged solve with a basis of 60 vectors and tolerance 1e-13 (not budgeted).
  SpectrumOptions referenceOptions;
  referenceOptions.topK = 5;
  referenceOptions.ncv = 60;
  referenceOptions.tolerance = 1e-13;
  const SpectrumResult reference = topEigenvalues(*hessian, referenceOptions);
  ASSERT_TRUE(reference.converged) << reference.status;
  ASSERT_EQ(reference.eigenvalues.size(), 5U);

  SpectrumOptions top1;
  top1.topK = 1;
  top1.tolerance = 1e-4;
  const SpectrumResult one = topEigenvalues(*hessian, top1);
  SpectrumOptions top5;
  top5.topK = 5;
  top5.tolerance = 1e-4;
  const SpectrumResult five = topEigenvalues(*hessian, top5);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::cout << images.size() << " images, parameters " << hessian->size() << ", reference eigenvalues";
  for (const double value : reference.eigenvalues) std::cout << ' ' << value;
  std::cout << " (" << reference.hessianVectorProducts << " products); top-1: " << one.hessianVectorProducts
            << " products, " << one.status << "; top-5: " << five.hessianVectorProducts << " products, "
            << five.status << "; " << seconds << " s for the three solves\n";

  ASSERT_TRUE(one.converged) << one.status;
  ASSERT_EQ(one.eigenvalues.size(), 1U);
  const double lambdaMax = reference.eigenvalues[0];
  ASSERT_GT(lambdaMax, 0.0);
  EXPECT_LE(std::abs(one.eigenvalues[0] - lambdaMax), 1e-4 * lambdaMax);
  EXPECT_LE(one.hessianVectorProducts, 30);

  ASSERT_TRUE(five.converged) << five.status;
  ASSERT_EQ(five.eigenvalues.size(), 5U);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_LE(std::abs(five.eigenvalues[i] - reference.eigenvalues[i]), 1e-4 * std::abs(reference.eigenvalues[i]))
        << "eigenvalue " << i;
  }
  EXPECT_LE(five.hessianVectorProducts, 80);
}


}  // namespace
}  // namespace samscape

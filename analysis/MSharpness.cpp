#include "analysis/MSharpness.h"

#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "analysis/MSharpnessTorch.h"
#include "analysis/ImageRange.h"
#include "core/Error.h"
#include "core/NumberFormat.h"
#include "core/Runtime.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "core/models/NetworkPlacement.h"

namespace samscape {
namespace {

void checkOptions(const ImageSet& images, const MSharpnessOptions& options) {
  if (images.size() == 0) throw Error("m-sharpness needs at least one example; the image set is empty");
  if (options.m < 1) throw Error("the m-sharpness chunk size m must be at least 1, not " + std::to_string(options.m));
  if (!std::isfinite(options.rho) || options.rho < 0.0) {
    throw Error("the m-sharpness radius rho must be finite and non-negative, not " + shortNumber(options.rho));
  }
  if (options.ascentSteps < 1) {
    throw Error("the number of m-sharpness ascent steps must be at least 1, not " +
                std::to_string(options.ascentSteps));
  }
  if (options.evaluation.batchSize < 1) {
    throw Error("the m-sharpness batch size must be at least 1, not " + std::to_string(options.evaluation.batchSize));
  }
  checkDeviceName(options.evaluation.device);
}

}  // namespace

MSharpnessResult computeMSharpness(Network& network, const ImageSet& images, const MSharpnessOptions& options,
                                   const MSharpnessProgress& progress, const std::atomic<bool>* cancel) {
  checkOptions(images, options);
  // The one saved copy of the weights, written back bit for bit however this function ends.
  ScopedAnalysisPlacement placement(network, torch::Device(options.evaluation.device), options.doublePrecision, /*saveWeights=*/true);
  const torch::Tensor& weights = placement.savedWeights();

  const auto total = static_cast<std::int64_t>(images.size());
  MSharpnessResult result;
  result.examples = total;
  result.chunks = (total + options.m - 1) / options.m;
  const double stepLength = options.rho / static_cast<double>(options.ascentSteps);
  double weightedSharpness = 0.0;
  double weightedLoss = 0.0;
  for (std::int64_t index = 0; index < result.chunks; ++index) {
    if (cancel != nullptr && cancel->load()) {
      result.cancelled = true;
      break;
    }
    const std::int64_t begin = index * options.m;
    const std::int64_t count = std::min(options.m, total - begin);
    const ImageSet chunk = imageRange(images, begin, count);
    DatasetObjective objective(network, chunk, options.evaluation);

    const double unperturbed = objective.loss();  // every chunk starts (and ends) at w
    // Normalized-gradient ascent from w: e <- P(e + (rho / k) g(w + e) / ||g(w + e)||), P the projection
    // onto the ball of radius rho. k = 1 gives e = rho g(w) / ||g(w)||.
    torch::Tensor perturbation = torch::zeros_like(weights);
    for (int step = 0; step < options.ascentSteps; ++step) {
      // Checked between gradients too: a chunk of many ascent steps is a long wait.
      if (cancel != nullptr && cancel->load()) {
        result.cancelled = true;
        break;
      }
      if (step > 0) assignParameters(network, weights + perturbation);
      const torch::Tensor gradient = objective.gradient();
      const double norm = gradient.norm().item<double>();
      if (!(norm > 0.0) || !std::isfinite(norm)) continue;  // stationary (or broken) point: no direction
      perturbation.add_(gradient, stepLength / norm);
      const double length = perturbation.norm().item<double>();
      if (length > options.rho) perturbation.mul_(options.rho / length);
    }
    if (result.cancelled) break;  // the chunk's ascent was cut short: not counted
    assignParameters(network, weights + perturbation);
    const double perturbed = objective.loss();
    assignParameters(network, weights);  // back at w before anyone (a progress observer) looks
    const double sharpness = perturbed - unperturbed;

    const double share = static_cast<double>(count) / static_cast<double>(total);
    weightedSharpness += share * sharpness;
    weightedLoss += share * unperturbed;
    if (options.keepChunkValues) result.chunkValues.push_back(sharpness);
    ++result.chunksDone;
    if (progress) progress(result.chunksDone, result.chunks);
  }
  placement.restore();
  if (result.cancelled) {
    result.value = std::numeric_limits<double>::quiet_NaN();
    result.meanLoss = std::numeric_limits<double>::quiet_NaN();
  } else {
    result.value = weightedSharpness;
    result.meanLoss = weightedLoss;
  }
  return result;
}

}  // namespace samscape

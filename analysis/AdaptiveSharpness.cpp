#include "analysis/AdaptiveSharpness.h"

#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>

#include "analysis/AdaptiveSharpnessTorch.h"
#include "analysis/ImageRange.h"
#include "core/Error.h"
#include "core/NumberFormat.h"
#include "core/Runtime.h"
#include "core/models/NetworkPlacement.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"

namespace samscape {

const char* adaptiveNormName(AdaptiveNorm norm) { return norm == AdaptiveNorm::L2 ? "l2" : "linf"; }

std::vector<int> autoPgdCheckpoints(int steps) {
  // The same double arithmetic as Andriushchenko et al.'s (and Croce & Hein's) Python, so that the
  // rounded-up steps agree with theirs (ceil(0.57 * 100) is 58 there too).
  std::vector<double> p{0.0, 0.22};
  std::vector<int> at{0, static_cast<int>(std::ceil(static_cast<double>(steps) * 0.22))};
  while (at.back() < steps && at.back() != at[at.size() - 2]) {
    const double last = p.back();
    const double before = p[p.size() - 2];
    p.push_back(last + std::max(last - before - 0.03, 0.06));
    at.push_back(static_cast<int>(std::ceil(p.back() * static_cast<double>(steps))));
  }
  std::vector<int> checkpoints;
  for (std::size_t i = 1; i < at.size(); ++i) {
    if (at[i] < steps) checkpoints.push_back(at[i]);
  }
  return checkpoints;
}

namespace {

// The ascent on delta, on tensors of any device and floating dtype: the loss at w + T delta and its
// gradient with respect to delta (T dL/dw there).
struct AscentProblem {
  std::int64_t size = 0;
  torch::TensorOptions tensorOptions;
  std::function<double(const torch::Tensor& delta)> loss;
  std::function<torch::Tensor(const torch::Tensor& delta)> gradient;
};

void checkAscentOptions(const AdaptiveAscentOptions& options) {
  if (!std::isfinite(options.rho) || options.rho <= 0.0) {
    throw Error(std::string("the adaptive sharpness radius rho (") + adaptiveNormName(options.norm) +
                ") must be finite and positive, not " + shortNumber(options.rho));
  }
  if (options.steps < 1) {
    throw Error("the number of adaptive sharpness ascent steps must be at least 1, not " + std::to_string(options.steps));
  }
}

double normOf(const torch::Tensor& delta, AdaptiveNorm norm) {
  if (delta.numel() == 0) return 0.0;
  return norm == AdaptiveNorm::L2 ? delta.norm().item<double>() : delta.abs().max().item<double>();
}

// The Euclidean projection onto the p-ball of radius rho: a rescaling for p = 2, a clip for p = infinity.
void projectInPlace(torch::Tensor& z, AdaptiveNorm norm, double rho) {
  if (norm == AdaptiveNorm::L2) {
    const double length = z.norm().item<double>();
    if (length > rho) z.mul_(rho / length);
  } else {
    z.clamp_(-rho, rho);
  }
}

// A uniform double in [0, 1) from the engine's top 53 bits: the same draws under every standard library
// (std::uniform_real_distribution's are not fixed by the standard).
double uniform(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }

// A random start in the ball: l2, a uniform direction (normals by Box-Muller) on the sphere of radius
// rho, as Andriushchenko et al.'s random_init_on_sphere_delta_dict; linf, uniform in [-rho, rho]^n, as
// their random_init_lw.
torch::Tensor randomStart(const AscentProblem& problem, const AdaptiveAscentOptions& options) {
  std::mt19937_64 engine(options.seed);
  std::vector<double> values(static_cast<std::size_t>(problem.size));
  if (options.norm == AdaptiveNorm::L2) {
    for (double& value : values) {
      const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform(engine)));
      value = radius * std::cos(2.0 * std::numbers::pi * uniform(engine));
    }
  } else {
    for (double& value : values) value = options.rho * (2.0 * uniform(engine) - 1.0);
  }
  torch::Tensor start = torch::tensor(values, torch::kFloat64).to(problem.tensorOptions);
  if (options.norm == AdaptiveNorm::L2) {
    const double length = start.norm().item<double>();
    if (length > 0.0) start.mul_(options.rho / length);
  }
  return start;
}

AdaptiveAscentResult ascend(const AscentProblem& problem, const AdaptiveAscentOptions& options,
                            const std::atomic<bool>* cancel) {
  checkAscentOptions(options);
  const double rho = options.rho;
  AdaptiveAscentResult result;
  result.lossBefore = problem.loss(torch::zeros({problem.size}, problem.tensorOptions));
  result.losses = 1;

  torch::Tensor delta = options.randomInit ? randomStart(problem, options)
                                           : torch::zeros({problem.size}, problem.tensorOptions);
  torch::Tensor previous = delta.clone();
  // As in their code: the best loss starts at L(w), its point at the start.
  torch::Tensor worst = delta.clone();
  double worstLoss = result.lossBefore;
  bool rose = false;

  double stepSize = 2.0 * rho;
  double previousStepSize = stepSize;
  double previousWorstLoss = worstLoss;
  int previousCheckpoint = 0;
  int rises = 0;
  const std::vector<int> checkpoints = autoPgdCheckpoints(options.steps);
  for (int step = 0; step < options.steps; ++step) {
    if (cancel != nullptr && cancel->load()) {
      result.cancelled = true;
      break;
    }
    const torch::Tensor gradient = problem.gradient(delta);
    ++result.gradients;
    torch::Tensor z = delta.clone();
    if (options.norm == AdaptiveNorm::L2) {
      const double length = gradient.norm().item<double>();
      // A stationary (or broken) point has no ascent direction: z stays where it is.
      if (length > 0.0 && std::isfinite(length)) z.add_(gradient, stepSize / length);
    } else if (torch::isfinite(gradient).all().item<bool>()) {
      z.add_(gradient.sign(), stepSize);
    }
    projectInPlace(z, options.norm, rho);
    // Their momentum: 0.75 of the projected step and 0.25 of the point before the current one.
    torch::Tensor next = 0.75 * z + 0.25 * previous;
    previous = delta;
    delta = next;

    const double loss = problem.loss(delta);
    ++result.losses;
    if (loss > worstLoss) {
      worstLoss = loss;
      worst = delta.clone();
      rose = true;
      ++rises;
    }
    if (std::find(checkpoints.begin(), checkpoints.end(), step) != checkpoints.end()) {
      // Auto-PGD's two conditions (Croce & Hein 2020, eq. 3): the best loss rose at fewer than 75% of
      // the steps since the last checkpoint, or neither the step size nor the best loss changed.
      const bool fewRises = rises < 0.75 * static_cast<double>(step - previousCheckpoint);
      const bool stalled = previousStepSize == stepSize && previousWorstLoss == worstLoss;
      previousStepSize = stepSize;
      previousWorstLoss = worstLoss;
      previousCheckpoint = step;
      rises = 0;
      if (fewRises || stalled) {
        stepSize *= 0.5;
        ++result.stepHalvings;
        delta = worst.clone();
      }
    }
  }
  result.lossAfter = worstLoss;
  result.sharpness = worstLoss - result.lossBefore;
  result.perturbationNorm = rose ? normOf(worst, options.norm) : 0.0;
  return result;
}

}  // namespace

AdaptiveAscentResult maximizeAdaptivePerturbation(const std::vector<double>& weights, const PerturbedLoss& loss,
                                                  const AdaptiveAscentOptions& options,
                                                  const std::atomic<bool>* cancel) {
  if (weights.empty()) throw Error("adaptive sharpness needs at least one weight");
  checkAscentOptions(options);
  const auto n = static_cast<std::int64_t>(weights.size());
  const torch::Tensor scale = torch::tensor(weights, torch::kFloat64).abs();
  const auto perturbation = [&](const torch::Tensor& delta) {
    const torch::Tensor d = (scale * delta).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + n);
  };
  AscentProblem problem;
  problem.size = n;
  problem.tensorOptions = torch::TensorOptions().dtype(torch::kFloat64);
  problem.loss = [&](const torch::Tensor& delta) { return loss(perturbation(delta), nullptr); };
  problem.gradient = [&](const torch::Tensor& delta) {
    std::vector<double> gradient(weights.size(), 0.0);
    loss(perturbation(delta), &gradient);
    if (gradient.size() != weights.size()) {
      throw Error("the adaptive sharpness loss returned a gradient of " + std::to_string(gradient.size()) +
                  " entries for " + std::to_string(weights.size()) + " weights");
    }
    return scale * torch::tensor(gradient, torch::kFloat64);
  };
  return ascend(problem, options, cancel);
}

AdaptiveSharpnessResult computeAdaptiveSharpness(Network& network, const ImageSet& images,
                                                 const AdaptiveSharpnessOptions& options,
                                                 const std::atomic<bool>* cancel) {
  if (images.size() == 0) throw Error("adaptive sharpness needs at least one example; the image set is empty");
  if (options.m < 1) {
    throw Error("the adaptive sharpness batch size m must be at least 1, not " + std::to_string(options.m));
  }
  checkAscentOptions(options.ascent);
  if (options.evaluation.batchSize < 1) {
    throw Error("the adaptive sharpness batch size must be at least 1, not " +
                std::to_string(options.evaluation.batchSize));
  }
  checkDeviceName(options.evaluation.device);
  // The one saved copy of the weights, written back bit for bit however this function ends.
  ScopedAnalysisPlacement placement(network, torch::Device(options.evaluation.device), options.doublePrecision,
                                    /*saveWeights=*/true);
  const torch::Tensor& weights = placement.savedWeights();
  const torch::Tensor scale = weights.abs();

  const auto total = static_cast<std::int64_t>(images.size());
  AdaptiveSharpnessResult result;
  const std::int64_t batches = (total + options.m - 1) / options.m;
  double weightedSharpness = 0.0;
  double weightedBefore = 0.0;
  double weightedAfter = 0.0;
  for (std::int64_t index = 0; index < batches; ++index) {
    const std::int64_t begin = index * options.m;
    const std::int64_t count = std::min(options.m, total - begin);
    const ImageSet batch = imageRange(images, begin, count);
    DatasetObjective objective(network, batch, options.evaluation);
    AscentProblem problem;
    problem.size = weights.numel();
    problem.tensorOptions = weights.options();
    problem.loss = [&](const torch::Tensor& delta) {
      assignParameters(network, weights + scale * delta);
      return objective.loss();
    };
    problem.gradient = [&](const torch::Tensor& delta) {
      assignParameters(network, weights + scale * delta);
      return scale * objective.gradient();
    };
    AdaptiveAscentOptions ascent = options.ascent;
    ascent.seed = options.ascent.seed + static_cast<std::uint64_t>(index);
    const AdaptiveAscentResult one = ascend(problem, ascent, cancel);
    assignParameters(network, weights);
    if (one.cancelled) {
      result.cancelled = true;
      break;
    }
    const double share = static_cast<double>(count) / static_cast<double>(total);
    weightedSharpness += share * one.sharpness;
    weightedBefore += share * one.lossBefore;
    weightedAfter += share * one.lossAfter;
    result.maxPerturbationNorm = std::max(result.maxPerturbationNorm, one.perturbationNorm);
    result.gradients += one.gradients;
    result.stepHalvings += one.stepHalvings;
    ++result.batches;
  }
  placement.restore();
  if (result.cancelled) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    result.value = result.lossBefore = result.lossAfter = nan;
  } else {
    result.value = weightedSharpness;
    result.lossBefore = weightedBefore;
    result.lossAfter = weightedAfter;
  }
  return result;
}

}  // namespace samscape

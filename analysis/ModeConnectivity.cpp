#include "analysis/ModeConnectivity.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <limits>
#include <optional>
#include <random>
#include <string>

#include "core/Error.h"
#include "core/data/BatchLoader.h"
#include "core/models/Network.h"
#include "core/models/ParameterVector.h"
#include "core/models/NetworkPlacement.h"
#include "core/train/Evaluation.h"

namespace samscape {
namespace {

bool cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// t in [0, 1) from the engine's top 53 bits: the same draws with every standard library.
double uniform(std::mt19937_64& engine) { return static_cast<double>(engine() >> 11) / 9007199254740992.0; }

torch::Tensor curvePoint(const torch::Tensor& w1, const torch::Tensor& control, const torch::Tensor& w2, double t) {
  return w1 * ((1 - t) * (1 - t)) + control * (2 * t * (1 - t)) + w2 * (t * t);
}

}  // namespace

std::vector<double> bezierPoint(const std::vector<double>& w1, const std::vector<double>& control,
                                const std::vector<double>& w2, double t) {
  if (w1.size() != control.size() || w2.size() != control.size()) {
    throw Error("a Bezier curve needs endpoints and a control point of one length, not " + std::to_string(w1.size()) +
                ", " + std::to_string(control.size()) + " and " + std::to_string(w2.size()));
  }
  std::vector<double> point(w1.size());
  for (std::size_t i = 0; i < point.size(); ++i) {
    point[i] = (1 - t) * (1 - t) * w1[i] + 2 * t * (1 - t) * control[i] + t * t * w2[i];
  }
  return point;
}

BezierResult trainBezierCurve(Network& network, const ImageSet& train, const ImageSet& evaluation,
                              const std::vector<double>& w1, const std::vector<double>& w2,
                              const BezierOptions& options, const std::atomic<bool>* cancel) {
  const std::int64_t n = parameterCount(network);
  if (static_cast<std::int64_t>(w1.size()) != n || static_cast<std::int64_t>(w2.size()) != n) {
    throw Error("the curve's endpoints have " + std::to_string(w1.size()) + " and " + std::to_string(w2.size()) +
                " weights; the network has " + std::to_string(n));
  }
  if (options.points < 2) throw Error("a curve needs at least 2 points, not " + std::to_string(options.points));
  if (options.steps < 0) throw Error("the curve's training steps must be 0 or more, not " + std::to_string(options.steps));
  if (options.steps > 0 && train.size() == 0) throw Error("the curve's training set is empty");
  const torch::Device device(options.evaluation.device);
  ScopedAnalysisPlacement placement(network, device, /*doublePrecision=*/false, /*saveWeights=*/true);
  const auto floatOptions = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const torch::Tensor start = torch::tensor(w1, torch::kFloat64).to(floatOptions);
  const torch::Tensor end = torch::tensor(w2, torch::kFloat64).to(floatOptions);
  torch::Tensor control = (start + end) * 0.5;
  torch::Tensor velocity = torch::zeros_like(control);

  BezierResult result;
  std::mt19937_64 engine(options.seed);
  BatchOptions batchOptions;
  batchOptions.batchSize = options.batchSize;
  batchOptions.shuffle = true;
  batchOptions.normalize = options.evaluation.normalize;
  batchOptions.statistics = options.evaluation.statistics;
  batchOptions.seed = options.seed + 1;
  batchOptions.device = device;
  std::optional<BatchLoader> loader;
  if (options.steps > 0) loader.emplace(train, batchOptions);
  std::int64_t batchInEpoch = 0;
  network.setTraining(false);
  const std::vector<torch::Tensor> parameters = network.parameters();
  for (int step = 0; step < options.steps; ++step) {
    if (cancelled(cancel)) {
      result.status = LandscapeStatus::Cancelled;
      break;
    }
    if (batchInEpoch == 0) loader->startEpoch();
    const Batch batch = loader->batch(batchInEpoch);
    batchInEpoch = (batchInEpoch + 1) % loader->batchesPerEpoch();
    const double t = uniform(engine);
    assignParameters(network, curvePoint(start, control, end, t));
    for (const auto& parameter : parameters) {
      if (parameter.grad().defined()) parameter.grad().zero_();
    }
    const torch::Tensor loss = torch::nn::functional::cross_entropy(network.forward(batch.images), batch.labels);
    loss.backward();
    std::vector<torch::Tensor> gradients;
    for (const auto& parameter : parameters) {
      gradients.push_back(parameter.grad().defined() ? parameter.grad() : torch::zeros_like(parameter));
    }
    torch::NoGradGuard noGrad;
    const torch::Tensor gradient = flattenTensors(gradients).to(floatOptions) * (2 * t * (1 - t));
    velocity = velocity * options.momentum + gradient;
    control = control - velocity * options.learningRate;
    result.stepTs.push_back(t);
    result.stepLosses.push_back(loss.item<double>());
  }
  // The gradients were scratch: free them rather than hold a parameter-sized copy for the session.
  for (const auto& parameter : parameters) parameter.mutable_grad() = torch::Tensor();
  const torch::Tensor controlOnHost = control.to(torch::kFloat64).cpu().contiguous();
  result.control.assign(controlOnHost.data_ptr<double>(), controlOnHost.data_ptr<double>() + n);

  auto& curve = result.curve;
  curve.examples = static_cast<std::int64_t>(evaluation.size());
  for (int i = 0; i < options.points; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(options.points - 1);
    curve.ts.push_back(t);
    curve.loss.push_back(std::numeric_limits<double>::quiet_NaN());
    curve.accuracy.push_back(std::numeric_limits<double>::quiet_NaN());
  }
  if (result.status == LandscapeStatus::Cancelled) {
    curve.status = LandscapeStatus::Cancelled;
    return result;
  }
  for (int i = 0; i < options.points; ++i) {
    if (cancelled(cancel)) {
      curve.status = result.status = LandscapeStatus::Cancelled;
      break;
    }
    assignParameters(network, curvePoint(start, control, end, curve.ts[static_cast<std::size_t>(i)]));
    const Evaluation value = evaluateClassifier(network, evaluation, options.evaluation.normalize,
                                                options.evaluation.statistics, options.evaluation.batchSize, device);
    curve.loss[static_cast<std::size_t>(i)] = value.meanLoss;
    curve.accuracy[static_cast<std::size_t>(i)] = value.accuracy;
    ++curve.pointsDone;
  }
  return result;
}

}  // namespace samscape

#include "core/optim/SharpnessAwareGradient.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>

#include "core/optim/rules/TensorLists.h"

namespace samscape {
namespace {

// Adds weight * tensors into sum, entry by entry (undefined entries stay undefined until defined).
void addWeighted(std::vector<torch::Tensor>& sum, const std::vector<torch::Tensor>& tensors, double weight) {
  if (sum.empty()) sum.resize(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) continue;
    sum[i] = sum[i].defined() ? sum[i].add(tensors[i], weight) : tensors[i].mul(weight);
  }
}

void setGradients(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& values) {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (values[i].defined()) parameters[i].mutable_grad() = values[i];
  }
}

// The gradient of the mean loss over [begin, end) into .grad(), in `parts` micro-batches (as equal as
// possible, the first ones one example longer).
void rangeGradient(const std::vector<torch::Tensor>& parameters, BatchObjective& objective, std::int64_t begin,
                   std::int64_t end, PassKind pass, std::int64_t parts) {
  const std::int64_t size = end - begin;
  parts = std::max<std::int64_t>(1, std::min(parts, size));
  if (parts == 1) {
    objective.lossAndGradient(begin, end, pass);
    return;
  }
  std::vector<torch::Tensor> sum;  // .grad() holds no graph: summing it records nothing
  std::int64_t microBegin = begin;
  for (std::int64_t part = 0; part < parts; ++part) {
    const std::int64_t microEnd = microBegin + size / parts + (part < size % parts ? 1 : 0);
    objective.lossAndGradient(microBegin, microEnd, pass);
    addWeighted(sum, gradientsOf(parameters), static_cast<double>(microEnd - microBegin) / static_cast<double>(size));
    microBegin = microEnd;
  }
  setGradients(parameters, sum);
}

std::vector<torch::Tensor> detachedCopies(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> copies;
  copies.reserve(tensors.size());
  for (const auto& tensor : tensors) copies.push_back(tensor.defined() ? tensor.detach().clone() : torch::Tensor());
  return copies;
}

}  // namespace

std::vector<torch::Tensor> computeStepGradient(const std::vector<torch::Tensor>& parameters, BatchObjective& objective,
                                               const SharpnessRule& rule, const RuleContext& step, bool ascent) {
  const OptimizerSpec& spec = step.spec;
  const std::int64_t size = objective.size();
  if (!rule.sharpnessAware() || !ascent) {
    rangeGradient(parameters, objective, 0, size, PassKind::Clean, spec.accumulate);
    return {};
  }
  const std::int64_t chunk = spec.m > 0 ? std::min(spec.m, size) : size;
  const bool chunked = chunk < size;
  // m-chunks already bound a pass to m examples: micro-batches apply to the unchunked batch only.
  const std::int64_t parts = chunked ? 1 : spec.accumulate;
  std::vector<torch::Tensor> weights;  // the step's own weights, restored exactly after each chunk
  std::vector<torch::Tensor> averaged;
  std::vector<torch::Tensor> clean;
  {
    torch::NoGradGuard noGrad;
    for (const auto& parameter : parameters) weights.push_back(parameter.detach().clone());
  }
  // A pass that throws (out of memory on a device, say) must not leave the weights perturbed.
  struct RestoreOnThrow {
    const std::vector<torch::Tensor>& parameters;
    const std::vector<torch::Tensor>& weights;
    int exceptions = std::uncaught_exceptions();
    ~RestoreOnThrow() {
      if (std::uncaught_exceptions() <= exceptions) return;
      torch::NoGradGuard noGrad;
      for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(weights[i]);
    }
  } restore{parameters, weights};
  // A perturbation formed from what the rule or the base optimizer holds needs no clean pass: the
  // step's one pass is then at the perturbed weights, and it is the step's reported pass.
  const bool alongGradient = rule.perturbsAlongGradient();
  for (std::int64_t begin = 0; begin < size; begin += chunk) {
    const std::int64_t end = std::min(size, begin + chunk);
    const double weight = static_cast<double>(end - begin) / static_cast<double>(size);
    if (alongGradient) {
      rangeGradient(parameters, objective, begin, end, PassKind::Clean, parts);
      if (rule.needsCleanGradient()) {
        torch::NoGradGuard noGrad;
        if (chunked) {
          addWeighted(clean, gradientsOf(parameters), weight);
        } else {
          clean = detachedCopies(gradientsOf(parameters));
        }
      }
    }
    const std::vector<torch::Tensor> perturbation = rule.perturbation(parameters, step);
    {
      torch::NoGradGuard noGrad;
      for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].add_(perturbation[i]);
    }
    rangeGradient(parameters, objective, begin, end, alongGradient ? PassKind::Perturbed : PassKind::Clean, parts);
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(weights[i]);
    if (!chunked) break;
    addWeighted(averaged, gradientsOf(parameters), weight);
  }
  if (chunked) {
    torch::NoGradGuard noGrad;
    setGradients(parameters, averaged);
  }
  return clean;
}

void clipGradientNorm(const std::vector<torch::Tensor>& parameters, double maxNorm) {
  if (maxNorm <= 0.0) return;
  const double norm = jointNorm(gradientsOf(parameters));
  if (norm <= maxNorm) return;
  torch::NoGradGuard noGrad;
  const double factor = maxNorm / norm;
  for (const auto& parameter : parameters) {
    if (parameter.grad().defined()) parameter.grad().mul_(factor);
  }
}

}  // namespace samscape

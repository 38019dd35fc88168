#include "core/optim/SharpnessAwareGradient.h"

#include <torch/torch.h>

#include <algorithm>

namespace samscape {
namespace {

// The joint L2 norm of a list of tensors, with one synchronization.
double jointNorm(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> norms;
  for (const auto& tensor : tensors) {
    if (tensor.defined()) norms.push_back(tensor.norm().to(torch::kFloat64));
  }
  if (norms.empty()) return 0.0;
  return torch::stack(norms).pow(2).sum().sqrt().item<double>();
}

std::vector<torch::Tensor> gradients(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> result;
  result.reserve(parameters.size());
  for (const auto& parameter : parameters) result.push_back(parameter.grad());
  return result;
}

}  // namespace

std::vector<torch::Tensor> sharpnessPerturbation(const std::vector<torch::Tensor>& parameters,
                                                 const OptimizerSpec& spec) {
  torch::NoGradGuard noGrad;
  const double rho = spec.effectiveRho();
  const bool adaptive = spec.kind == OptimizerKind::Asam;
  std::vector<torch::Tensor> scaled;  // T g for ASAM, g for SAM
  std::vector<torch::Tensor> scale;   // T for ASAM
  for (const auto& parameter : parameters) {
    const torch::Tensor& grad = parameter.grad();
    if (!grad.defined()) {
      scaled.emplace_back();
      scale.emplace_back();
      continue;
    }
    if (adaptive) {
      scale.push_back(parameter.detach().abs().add(spec.asamEta));
      scaled.push_back(grad * scale.back());
    } else {
      scale.emplace_back();
      scaled.push_back(grad);
    }
  }
  const double norm = jointNorm(scaled);
  std::vector<torch::Tensor> perturbation;
  perturbation.reserve(parameters.size());
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!scaled[i].defined() || norm == 0.0) {
      perturbation.push_back(torch::zeros_like(parameters[i]));
    } else if (adaptive) {
      perturbation.push_back(scaled[i] * scale[i] * (rho / norm));  // rho T (T g) / ||T g||
    } else {
      perturbation.push_back(scaled[i] * (rho / norm));
    }
  }
  return perturbation;
}

void computeStepGradient(const std::vector<torch::Tensor>& parameters, BatchObjective& objective,
                         const OptimizerSpec& spec) {
  const std::int64_t size = objective.size();
  if (!spec.sharpnessAware()) {
    objective.lossAndGradient(0, size, PassKind::Clean);
    return;
  }
  const std::int64_t chunk = spec.m > 0 ? std::min(spec.m, size) : size;
  const bool chunked = chunk < size;
  std::vector<torch::Tensor> weights;  // the step's own weights, restored exactly after each chunk
  std::vector<torch::Tensor> averaged;
  {
    torch::NoGradGuard noGrad;
    for (const auto& parameter : parameters) weights.push_back(parameter.detach().clone());
  }
  for (std::int64_t begin = 0; begin < size; begin += chunk) {
    const std::int64_t end = std::min(size, begin + chunk);
    objective.lossAndGradient(begin, end, PassKind::Clean);
    const std::vector<torch::Tensor> perturbation = sharpnessPerturbation(parameters, spec);
    {
      torch::NoGradGuard noGrad;
      for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].add_(perturbation[i]);
    }
    objective.lossAndGradient(begin, end, PassKind::Perturbed);
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(weights[i]);
    if (!chunked) break;
    const double weight = static_cast<double>(end - begin) / static_cast<double>(size);
    const auto chunkGradients = gradients(parameters);
    if (averaged.empty()) averaged.resize(parameters.size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!chunkGradients[i].defined()) continue;
      averaged[i] = averaged[i].defined() ? averaged[i].add(chunkGradients[i], weight)
                                          : chunkGradients[i].mul(weight);
    }
  }
  if (chunked) {
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (averaged[i].defined()) parameters[i].mutable_grad() = averaged[i];
    }
  }
}

void clipGradientNorm(const std::vector<torch::Tensor>& parameters, double maxNorm) {
  if (maxNorm <= 0.0) return;
  const double norm = jointNorm(gradients(parameters));
  if (norm <= maxNorm) return;
  torch::NoGradGuard noGrad;
  const double factor = maxNorm / norm;
  for (const auto& parameter : parameters) {
    if (parameter.grad().defined()) parameter.grad().mul_(factor);
  }
}

}  // namespace samscape

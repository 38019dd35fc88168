#include "core/optim/SharpnessAwareGradient.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>

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
    addWeighted(sum, gradients(parameters), static_cast<double>(microEnd - microBegin) / static_cast<double>(size));
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

// The dot product of two lists of tensors, in double.
double jointDot(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  std::vector<torch::Tensor> products;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].defined() && b[i].defined()) products.push_back((a[i].to(torch::kFloat64) * b[i].to(torch::kFloat64)).sum());
  }
  if (products.empty()) return 0.0;
  return torch::stack(products).sum().item<double>();
}

}  // namespace

bool takesAscent(const OptimizerSpec& spec, std::int64_t globalStep, const GradientRuleMemory& memory) {
  if (!spec.sharpnessAware()) return false;
  if (spec.kind != OptimizerKind::LookSam) return true;
  return memory.lookSamOrthogonal.empty() || spec.lookSamK <= 1 || globalStep % spec.lookSamK == 0;
}

std::vector<torch::Tensor> computeStepGradient(const std::vector<torch::Tensor>& parameters, BatchObjective& objective,
                                               const OptimizerSpec& spec, bool ascent) {
  const std::int64_t size = objective.size();
  if (!spec.sharpnessAware() || !ascent) {
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
  for (std::int64_t begin = 0; begin < size; begin += chunk) {
    const std::int64_t end = std::min(size, begin + chunk);
    const double weight = static_cast<double>(end - begin) / static_cast<double>(size);
    rangeGradient(parameters, objective, begin, end, PassKind::Clean, parts);
    if (spec.needsCleanGradient()) {
      torch::NoGradGuard noGrad;
      if (chunked) {
        addWeighted(clean, gradients(parameters), weight);
      } else {
        clean = detachedCopies(gradients(parameters));
      }
    }
    const std::vector<torch::Tensor> perturbation = sharpnessPerturbation(parameters, spec);
    {
      torch::NoGradGuard noGrad;
      for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].add_(perturbation[i]);
    }
    rangeGradient(parameters, objective, begin, end, PassKind::Perturbed, parts);
    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].copy_(weights[i]);
    if (!chunked) break;
    addWeighted(averaged, gradients(parameters), weight);
  }
  if (chunked) {
    torch::NoGradGuard noGrad;
    setGradients(parameters, averaged);
  }
  return clean;
}

void finishStepGradient(const std::vector<torch::Tensor>& parameters, const std::vector<torch::Tensor>& clean,
                        const OptimizerSpec& spec, bool ascent, GradientRuleMemory& memory) {
  if (!spec.needsCleanGradient()) return;
  torch::NoGradGuard noGrad;
  const std::vector<torch::Tensor> current = gradients(parameters);
  if (spec.kind == OptimizerKind::Gsam) {
    if (!ascent) return;
    // g_sam - alpha * (g - (g.g_sam / |g_sam|^2) g_sam); a zero g_sam leaves g_sam - alpha g.
    const double samNormSquared = jointDot(current, current);
    const double projection = samNormSquared > 0.0 ? jointDot(clean, current) / samNormSquared : 0.0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!current[i].defined() || !clean[i].defined()) continue;
      parameters[i].mutable_grad() = current[i] - spec.gsamAlpha * (clean[i] - projection * current[i]);
    }
    return;
  }
  // LookSAM
  if (ascent) {
    // g_v = g_sam - (g.g_sam / |g|^2) g; the step itself is SAM's.
    const double cleanNormSquared = jointDot(clean, clean);
    const double projection = cleanNormSquared > 0.0 ? jointDot(clean, current) / cleanNormSquared : 0.0;
    memory.lookSamOrthogonal.assign(parameters.size(), torch::Tensor());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      if (!current[i].defined() || !clean[i].defined()) continue;
      memory.lookSamOrthogonal[i] = current[i] - projection * clean[i];
    }
    return;
  }
  // g + alpha (|g| / |g_v|) g_v; a zero g_v (g_sam parallel to g) leaves g.
  const double cleanNorm = jointNorm(current);
  const double orthogonalNorm = jointNorm(memory.lookSamOrthogonal);
  if (!(orthogonalNorm > 0.0)) return;
  const double factor = spec.lookSamAlpha * cleanNorm / orthogonalNorm;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (!current[i].defined() || !memory.lookSamOrthogonal[i].defined()) continue;
    parameters[i].mutable_grad() = current[i] + factor * memory.lookSamOrthogonal[i].to(current[i].device());
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

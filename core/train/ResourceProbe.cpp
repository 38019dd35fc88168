#include "core/train/ResourceProbe.h"

#include <malloc.h>

#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <chrono>
#include <new>
#include <set>

#include "core/data/BatchLoader.h"
#include "core/models/ParameterVector.h"
#include "core/train/DatasetObjective.h"
#include "core/models/NetworkPlacement.h"

namespace samscape {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// What one pass over `count` examples held and took.
struct PassCost {
  double forwardBytes = 0.0;  // the forward graph alive (the activations autograd saves)
  double gradientBytes = 0.0;  // plus the gradient's graph (create_graph), for a Hessian-vector product
  double forwardSeconds = 0.0;
  double gradientSeconds = 0.0;
  double hessianSeconds = 0.0;
};

PassCost measurePass(Network& network, const ImageSet& images, std::int64_t count, const ProbeOptions& options,
                     torch::Dtype dtype, const std::vector<torch::Tensor>& parameters) {
  namespace F = torch::nn::functional;
  const torch::Device device(options.device);
  const torch::Tensor pixels = torch::from_blob(const_cast<std::uint8_t*>(images.pixels.data()),
                                                {count, images.channels, images.height, images.width}, torch::kUInt8);
  const torch::Tensor labels =
      torch::from_blob(const_cast<std::int64_t*>(images.labels.data()), {count}, torch::kInt64).to(device);
  const torch::Tensor input = preprocessImages(pixels, options.normalize, options.statistics).to(device, dtype);
  PassCost cost;
  {
    torch::NoGradGuard noGrad;
    const auto start = Clock::now();
    const torch::Tensor logits = network.forward(input);
    (void)logits.sum().item<double>();  // synchronizes a CUDA device
    cost.forwardSeconds = secondsSince(start);
  }
  torch::AutoGradMode enableGrad(true);
  const TwiceDifferentiableAttention attention;  // as DatasetObjective's products run
  const double before = heapBytesInUse();
  const auto start = Clock::now();
  const torch::Tensor loss =
      F::cross_entropy(network.forward(input), labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
  cost.forwardBytes = heapBytesInUse() - before;
  if (!options.hessianProduct) {
    const auto grads = torch::autograd::grad({loss}, parameters, {}, false, false, /*allow_unused=*/true);
    for (const auto& grad : grads) {
      if (grad.defined()) (void)grad.sum().item<double>();
    }
    cost.gradientSeconds = secondsSince(start);
    return cost;
  }
  const auto grads = torch::autograd::grad({loss}, parameters, {}, /*retain_graph=*/true, /*create_graph=*/true,
                                           /*allow_unused=*/true);
  cost.gradientSeconds = secondsSince(start);
  cost.gradientBytes = heapBytesInUse() - before;
  torch::Tensor dot = torch::zeros({}, loss.options());
  std::vector<torch::Tensor> reached;
  for (std::size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined() || !grads[i].requires_grad()) continue;
    dot = dot + (grads[i] * torch::ones_like(grads[i])).sum();
    reached.push_back(parameters[i]);
  }
  if (!reached.empty()) {
    const auto products = torch::autograd::grad({dot}, reached, {}, false, false, /*allow_unused=*/true);
    for (const auto& product : products) {
      if (product.defined()) (void)product.sum().item<double>();
    }
  }
  cost.hessianSeconds = secondsSince(start);
  return cost;
}

// The modules that own parameters: "layer1.0.conv1.weight" and "layer1.0.conv1.bias" are one layer.
int countLayers(Network& network) {
  std::set<std::string> modules;
  for (const std::string& name : network.parameterNames()) {
    const auto dot = name.rfind('.');
    modules.insert(dot == std::string::npos ? std::string() : name.substr(0, dot));
  }
  return static_cast<int>(modules.size());
}

}  // namespace

[[noreturn]] void rethrowOutOfMemoryAs(const std::string& stage) {
  try {
    throw;
  } catch (const std::bad_alloc& error) {
    throw OutOfMemoryError(stage, error.what());
  } catch (const c10::Error& error) {
    const std::string message = error.what_without_backtrace();
    const bool outOfMemory = message.find("out of memory") != std::string::npos ||
                             message.find("can't allocate memory") != std::string::npos ||
                             message.find("not enough memory") != std::string::npos;
    if (outOfMemory) throw OutOfMemoryError(stage, message.substr(0, message.find('\n')));
    throw;
  }
}

double heapBytesInUse() {
  const struct mallinfo2 info = ::mallinfo2();
  return static_cast<double>(info.uordblks) + static_cast<double>(info.hblkhd);
}

void probeFootprint(Network& network, const ImageSet& images, const ProbeOptions& options, JobShape& shape) {
  shape.parameters = parameterCount(network);
  shape.imageBytes = static_cast<std::int64_t>(images.imageBytes());
  shape.layers = countLayers(network);
  const auto available = static_cast<std::int64_t>(images.size());
  if (available == 0 || shape.parameters == 0) return;
  const torch::Device device(options.device);
  // The passes run as the job's: on its device, in its precision (restored on every exit path).
  ScopedAnalysisPlacement placement(network, device, options.doublePrecision, /*saveWeights=*/false);
  network.setTraining(false);
  std::vector<torch::Tensor> parameters = network.parameters();
  const torch::Dtype dtype = parameters.front().scalar_type();

  // Two batch sizes: the difference is what each further example holds, without the parameter-sized
  // buffers every batch holds once. The smaller of two tries, as another thread (a run beside this one)
  // can only add to the heap in between.
  const std::int64_t large = std::min<std::int64_t>(24, available);
  const std::int64_t small = std::min<std::int64_t>(8, large);
  PassCost atLarge = measurePass(network, images, large, options, dtype, parameters);
  const PassCost again = measurePass(network, images, large, options, dtype, parameters);
  atLarge.forwardBytes = std::min(atLarge.forwardBytes, again.forwardBytes);
  atLarge.gradientBytes = std::min(atLarge.gradientBytes, again.gradientBytes);
  atLarge.forwardSeconds = std::min(atLarge.forwardSeconds, again.forwardSeconds);
  atLarge.gradientSeconds = std::min(atLarge.gradientSeconds, again.gradientSeconds);
  atLarge.hessianSeconds = std::min(atLarge.hessianSeconds, again.hessianSeconds);
  // With one batch size only (a tiny set), the whole batch's bytes over its examples.
  const PassCost atSmall =
      large > small ? measurePass(network, images, small, options, dtype, parameters) : PassCost{};
  const auto perExample = [&](double largeBytes, double smallBytes) {
    const double slope = large > small ? (largeBytes - smallBytes) / static_cast<double>(large - small)
                                       : largeBytes / static_cast<double>(large);
    // Never below what the input itself takes (a tiny model's slope can drown in the heap's noise).
    const double input = static_cast<double>(shape.imageBytes) * static_cast<double>(c10::elementSize(dtype));
    return std::max(slope, input);
  };
  // Backward allocates gradients of the activations about as large as the activations it keeps.
  shape.gradientBytesPerExample = 2.0 * perExample(atLarge.forwardBytes, atSmall.forwardBytes);
  shape.hessianProductBytesPerExample =
      options.hessianProduct ? 2.0 * perExample(atLarge.gradientBytes, atSmall.gradientBytes) : 0.0;
  // A forward pass without autograd frees each activation once the next layer has used it; what the
  // graph keeps for a gradient bounds it.
  shape.evaluationBytesPerExample = shape.gradientBytesPerExample / 2.0;
  shape.footprintMeasured = device.is_cpu();
  const auto count = static_cast<double>(large);
  shape.evaluationSecondsPerExample = atLarge.forwardSeconds / count;
  shape.gradientSecondsPerExample = atLarge.gradientSeconds / count;
  shape.hessianProductSecondsPerExample =
      options.hessianProduct ? atLarge.hessianSeconds / count : 3.0 * shape.gradientSecondsPerExample;
  shape.valueBytes = options.doublePrecision ? 8 : 4;
}

}  // namespace samscape

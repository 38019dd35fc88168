#pragma once
// A trainable classifier, either a built-in torch::nn module or a TorchScript module from a file.
// The trainer, the optimizers and the analyses see only this interface, so a user's own architecture
// is trained and analysed exactly like a built-in one. LibTorch header: never included by the GUI.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/models/ModelSpec.h"

namespace samscape {

class Network {
 public:
  virtual ~Network() = default;

  // float [N, C, H, W] -> logits [N, numClasses]
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  // Trainable parameters in a fixed order (the order of the optimizer's state and of flattened vectors).
  virtual std::vector<torch::Tensor> parameters() = 0;
  // Their names in the same order, as named_parameters() gives them ("conv1.weight", "fc.bias").
  virtual std::vector<std::string> parameterNames() = 0;
  // Non-trainable state such as batch-norm running statistics, in a fixed order.
  virtual std::vector<torch::Tensor> buffers() = 0;
  virtual void setTraining(bool training) = 0;
  virtual void to(const torch::Device& device) = 0;
  // Converts the floating-point parameters and buffers to `dtype` in place (the tensors keep their
  // identity); integer buffers such as batch norm's counters stay as they are. Analyses run in
  // double precision this way; float -> double -> float gives back the same weights.
  virtual void toDtype(torch::Dtype dtype) = 0;
  // Built-in: a torch::serialize archive; TorchScript: torch::jit::Module::save (loadable from Python).
  virtual void save(const std::string& path) = 0;
  // Loads weights saved by save() of a network built from the same spec. Throws ModelError.
  virtual void load(const std::string& path) = 0;
  virtual std::string describe() const = 0;
};

// Builds a built-in model, initialised from LibTorch's global generator (seed it first), or loads
// spec.modelFile. Checks that a forward pass on spec's input shape gives [N, numClasses] logits.
// Throws ConfigError for an unknown name (naming --model) and ModelError for a bad model file.
std::unique_ptr<Network> makeNetwork(const ModelSpec& spec);

// That generator is one per process. Whoever seeds it and builds (a run starting) or saves and
// restores it around a build (an analysis beside a run) holds this lock throughout: runs started side
// by side on threads (the app's pair) then each get exactly the weights of their own seed, the same
// as `samscape-cli train` gives, whatever the other threads build meanwhile.
[[nodiscard]] std::unique_lock<std::mutex> lockGlobalGenerator();

std::int64_t parameterCount(Network& network);

// While one exists, scaled_dot_product_attention (nn.MultiheadAttention, nn.TransformerEncoderLayer)
// runs its math kernel, not the fused ones (CPU flash attention, CUDA flash, memory-efficient, cuDNN):
// their backward passes have no derivative of their own ("derivative for
// aten::_scaled_dot_product_flash_attention_for_cpu_backward is not implemented"), and a Hessian-vector
// product differentiates the backward pass. The setting is the process's: scopes on several threads are
// counted, the fused kernels return when the last one ends (training meanwhile runs the math kernel:
// slower, the same numbers up to rounding).
class TwiceDifferentiableAttention {
 public:
  TwiceDifferentiableAttention();
  ~TwiceDifferentiableAttention();
  TwiceDifferentiableAttention(const TwiceDifferentiableAttention&) = delete;
  TwiceDifferentiableAttention& operator=(const TwiceDifferentiableAttention&) = delete;
};

}  // namespace samscape

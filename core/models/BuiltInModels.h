#pragma once
// The built-in architectures as torch::nn modules. Internal to core/models: the rest of the project
// sees them only through Network (core/models/Network.h).
//
// All weights are initialised from LibTorch's global generator, so torch::manual_seed(s) before
// makeBuiltInModel makes the initial parameters reproducible.

#include <torch/nn.h>

#include <cstdint>
#include <memory>

#include "core/models/ModelSpec.h"

namespace samscape::models {

// Base of every built-in architecture: a torch::nn::Module with a virtual forward, so that Network
// can hold any of them behind one pointer. float [N, C, H, W] -> logits [N, numClasses].
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
};

// Builds spec.name (mlp, cnn, resnet20, resnet32, resnet56, wrn16-4, wrn28-10) for spec's input
// shape and class count. Throws ConfigError (flag --model) for an unknown name and ModelError for an
// input shape the architecture cannot take.
std::shared_ptr<ClassifierImpl> makeBuiltInModel(const ModelSpec& spec);

// Batch normalization (Ioffe & Szegedy 2015) whose evaluation-mode forward is written out as the
// per-channel affine map it then is: y = x * scale + shift, scale = weight / sqrt(running_var + eps),
// shift = bias - running_mean * scale. The same function as LibTorch's batch_norm in evaluation mode
// (to rounding), but made of elementwise products, which the Hessian analyses differentiate cheaply:
// LibTorch's native_batch_norm_backward has no forward-mode derivative (so no forward-over-reverse
// Hessian-vector product through it) and its double backward handles the general training-mode case.
// Training mode is LibTorch's own. Parameters and buffers are BatchNorm2d's, under the same names.
class AffineEvalBatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(AffineEvalBatchNorm2d);

// ---------------------------------------------------------------------------------------------
// The architectures. Exposed for tests and benchmarks; use makeBuiltInModel otherwise.

// flatten -> Linear 256 -> ReLU -> Linear 128 -> ReLU -> Linear numClasses.
class MlpImpl : public ClassifierImpl {
 public:
  MlpImpl(std::int64_t inputFeatures, std::int64_t numClasses);
  torch::Tensor forward(const torch::Tensor& images) override;

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

// LeNet-5 style CNN (LeCun et al. 1998, "Gradient-based learning applied to document recognition"):
// conv5x5(C->6, pad 2) ReLU maxpool2 -> conv5x5(6->16) ReLU maxpool2 -> flatten
// -> Linear 120 ReLU -> Linear 84 ReLU -> Linear numClasses. Needs images of at least 12x12.
class LeNetImpl : public ClassifierImpl {
 public:
  LeNetImpl(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t numClasses);
  torch::Tensor forward(const torch::Tensor& images) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

// The basic residual block of He et al. 2016 (post-activation):
// conv3x3(stride) BN ReLU conv3x3 BN, + shortcut, ReLU.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(std::int64_t inChannels, std::int64_t outChannels, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  AffineEvalBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};  // empty (identity) when the shape does not change
};
TORCH_MODULE(BasicBlock);

// CIFAR ResNet of He, Zhang, Ren, Sun 2016, "Deep Residual Learning for Image Recognition",
// section 4.2: depth = 6n + 2 (20, 32, 56, ...).
class CifarResNetImpl : public ClassifierImpl {
 public:
  CifarResNetImpl(int depth, std::int64_t channels, std::int64_t numClasses);
  torch::Tensor forward(const torch::Tensor& images) override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  AffineEvalBatchNorm2d stemBn_{nullptr};
  torch::nn::Sequential stage1_{nullptr}, stage2_{nullptr}, stage3_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

// The pre-activation basic block of a wide ResNet: BN ReLU conv3x3(stride) BN ReLU conv3x3,
// + shortcut (identity, or a 1x1 conv of the pre-activated input when the shape changes).
class WideBasicBlockImpl : public torch::nn::Module {
 public:
  WideBasicBlockImpl(std::int64_t inChannels, std::int64_t outChannels, std::int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  AffineEvalBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};  // null (identity) when the shape does not change
};
TORCH_MODULE(WideBasicBlock);

// WRN-depth-k of Zagoruyko & Komodakis 2016, "Wide Residual Networks": depth = 6n + 4.
class WideResNetImpl : public ClassifierImpl {
 public:
  WideResNetImpl(int depth, int widen, std::int64_t channels, std::int64_t numClasses);
  torch::Tensor forward(const torch::Tensor& images) override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::Sequential stage1_{nullptr}, stage2_{nullptr}, stage3_{nullptr};
  AffineEvalBatchNorm2d finalBn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace samscape::models

#include "core/models/BuiltInModels.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "core/Error.h"

namespace samscape::models {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv3x3(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, std::int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}

// The initialisation of the reference ResNet / WRN implementations (torchvision's resnet.py,
// szagoruyko/wide-residual-networks): He et al. 2015 ("Delving Deep into Rectifiers") normal init
// with fan_out for convolutions, BN scale 1 and shift 0. Linear layers keep LibTorch's default.
// Everything draws from LibTorch's global generator.
void initResidualNetwork(nn::Module& network) {
  torch::NoGradGuard noGrad;
  for (const auto& module : network.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2dImpl>()) {
      nn::init::kaiming_normal_(conv->weight, /*a=*/0.0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) nn::init::zeros_(conv->bias);
    } else if (auto* bn = module->as<nn::BatchNorm2dImpl>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    }
  }
}

std::string modelLabel(const ModelSpec& spec) { return "model '" + spec.name + "'"; }

}  // namespace

// ---------------------------------------------------------------------------------------------

torch::Tensor AffineEvalBatchNorm2dImpl::forward(const torch::Tensor& input) {
  if (is_training() || !options.affine() || !options.track_running_stats()) {
    return torch::nn::BatchNorm2dImpl::forward(input);
  }
  _check_input_dim(input);
  const torch::Tensor scale = weight * torch::rsqrt(running_var + options.eps());
  const torch::Tensor shift = bias - running_mean * scale;
  return input * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
}

MlpImpl::MlpImpl(std::int64_t inputFeatures, std::int64_t numClasses) {
  fc1_ = register_module("fc1", nn::Linear(inputFeatures, 256));
  fc2_ = register_module("fc2", nn::Linear(256, 128));
  fc3_ = register_module("fc3", nn::Linear(128, numClasses));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& images) {
  auto x = torch::relu(fc1_->forward(images.flatten(1)));
  x = torch::relu(fc2_->forward(x));
  return fc3_->forward(x);
}

// ---------------------------------------------------------------------------------------------

LeNetImpl::LeNetImpl(std::int64_t channels, std::int64_t height, std::int64_t width,
                     std::int64_t numClasses) {
  // conv1 (5x5, pad 2) keeps the size, each 2x2 max pool floors it by half, conv2 (5x5) takes 4 off.
  const std::int64_t outHeight = (height / 2 - 4) / 2;
  const std::int64_t outWidth = (width / 2 - 4) / 2;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(channels, 6, 5).padding(2)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 16, 5)));
  fc1_ = register_module("fc1", nn::Linear(16 * outHeight * outWidth, 120));
  fc2_ = register_module("fc2", nn::Linear(120, 84));
  fc3_ = register_module("fc3", nn::Linear(84, numClasses));
}

torch::Tensor LeNetImpl::forward(const torch::Tensor& images) {
  // relu(max_pool(x)) is max_pool(relu(x)) exactly (relu is monotone and both only select values, and
  // their gradients reach the same inputs), on a quarter of the elements.
  auto x = torch::relu(torch::max_pool2d(conv1_->forward(images), 2));
  x = torch::relu(torch::max_pool2d(conv2_->forward(x), 2));
  x = torch::relu(fc1_->forward(x.flatten(1)));
  x = torch::relu(fc2_->forward(x));
  return fc3_->forward(x);
}

// ---------------------------------------------------------------------------------------------

BasicBlockImpl::BasicBlockImpl(std::int64_t inChannels, std::int64_t outChannels, std::int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(inChannels, outChannels, stride));
  bn1_ = register_module("bn1", AffineEvalBatchNorm2d(outChannels));
  conv2_ = register_module("conv2", conv3x3(outChannels, outChannels, 1));
  bn2_ = register_module("bn2", AffineEvalBatchNorm2d(outChannels));
  // He et al. 2016 (section 3.3) offer option A (identity with zero-padded extra channels and
  // subsampling, no parameters) and option B (a projection, 1x1 conv + BN, where the shape changes).
  // We use option B, as torchvision and most SAM code bases do: it costs 2,752 parameters in
  // resnet20 (272,474 instead of option A's 269,722, both the "0.27M" of the paper's Table 6).
  if (stride != 1 || inChannels != outChannels) {
    shortcut_ = register_module(
        "shortcut", nn::Sequential(conv1x1(inChannels, outChannels, stride), AffineEvalBatchNorm2d(outChannels)));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_->forward(conv1_->forward(x)));
  out = bn2_->forward(conv2_->forward(out));
  out = out + (shortcut_.is_empty() ? x : shortcut_->forward(x));
  return torch::relu(out);
}

CifarResNetImpl::CifarResNetImpl(int depth, std::int64_t channels, std::int64_t numClasses) {
  const int blocks = (depth - 2) / 6;
  auto stage = [blocks](std::int64_t in, std::int64_t out, std::int64_t stride) {
    nn::Sequential s;
    for (int i = 0; i < blocks; ++i) s->push_back(BasicBlock(i == 0 ? in : out, out, i == 0 ? stride : 1));
    return s;
  };
  stem_ = register_module("stem", conv3x3(channels, 16, 1));
  stemBn_ = register_module("stem_bn", AffineEvalBatchNorm2d(16));
  stage1_ = register_module("stage1", stage(16, 16, 1));
  stage2_ = register_module("stage2", stage(16, 32, 2));
  stage3_ = register_module("stage3", stage(32, 64, 2));
  fc_ = register_module("fc", nn::Linear(64, numClasses));
  initResidualNetwork(*this);
}

torch::Tensor CifarResNetImpl::forward(const torch::Tensor& images) {
  auto x = torch::relu(stemBn_->forward(stem_->forward(images)));
  x = stage3_->forward(stage2_->forward(stage1_->forward(x)));
  return fc_->forward(x.mean({2, 3}));  // global average pool
}

// ---------------------------------------------------------------------------------------------

WideBasicBlockImpl::WideBasicBlockImpl(std::int64_t inChannels, std::int64_t outChannels,
                                       std::int64_t stride) {
  bn1_ = register_module("bn1", AffineEvalBatchNorm2d(inChannels));
  conv1_ = register_module("conv1", conv3x3(inChannels, outChannels, stride));
  bn2_ = register_module("bn2", AffineEvalBatchNorm2d(outChannels));
  conv2_ = register_module("conv2", conv3x3(outChannels, outChannels, 1));
  if (stride != 1 || inChannels != outChannels) {
    shortcut_ = register_module("shortcut", conv1x1(inChannels, outChannels, stride));
  }
}

torch::Tensor WideBasicBlockImpl::forward(const torch::Tensor& x) {
  // As in the authors' code, a projection shortcut takes the pre-activated input.
  auto activated = torch::relu(bn1_->forward(x));
  auto out = conv1_->forward(activated);
  out = conv2_->forward(torch::relu(bn2_->forward(out)));
  return out + (shortcut_.is_empty() ? x : shortcut_->forward(activated));
}

WideResNetImpl::WideResNetImpl(int depth, int widen, std::int64_t channels, std::int64_t numClasses) {
  const int blocks = (depth - 4) / 6;
  auto stage = [blocks](std::int64_t in, std::int64_t out, std::int64_t stride) {
    nn::Sequential s;
    for (int i = 0; i < blocks; ++i) {
      s->push_back(WideBasicBlock(i == 0 ? in : out, out, i == 0 ? stride : 1));
    }
    return s;
  };
  const std::int64_t k = widen;
  stem_ = register_module("stem", conv3x3(channels, 16, 1));
  stage1_ = register_module("stage1", stage(16, 16 * k, 1));
  stage2_ = register_module("stage2", stage(16 * k, 32 * k, 2));
  stage3_ = register_module("stage3", stage(32 * k, 64 * k, 2));
  finalBn_ = register_module("final_bn", AffineEvalBatchNorm2d(64 * k));
  fc_ = register_module("fc", nn::Linear(64 * k, numClasses));
  initResidualNetwork(*this);
}

torch::Tensor WideResNetImpl::forward(const torch::Tensor& images) {
  auto x = stem_->forward(images);
  x = stage3_->forward(stage2_->forward(stage1_->forward(x)));
  x = torch::relu(finalBn_->forward(x));
  return fc_->forward(x.mean({2, 3}));  // global average pool
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<ClassifierImpl> makeBuiltInModel(const ModelSpec& spec) {
  const auto& names = builtInModelNames();
  if (std::find(names.begin(), names.end(), spec.name) == names.end()) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    throw ConfigError("--model", spec.name, "unknown model; built-in models are: " + list);
  }
  if (spec.inputChannels < 1 || spec.imageHeight < 1 || spec.imageWidth < 1) {
    throw ModelError(modelLabel(spec) + ": invalid input shape " + std::to_string(spec.inputChannels) + "x" +
                     std::to_string(spec.imageHeight) + "x" + std::to_string(spec.imageWidth));
  }
  if (spec.numClasses < 1) {
    throw ModelError(modelLabel(spec) + ": invalid number of classes " + std::to_string(spec.numClasses));
  }
  const std::int64_t c = spec.inputChannels;
  const std::int64_t h = spec.imageHeight;
  const std::int64_t w = spec.imageWidth;
  const std::int64_t classes = spec.numClasses;

  if (spec.name == "mlp") return std::make_shared<MlpImpl>(c * h * w, classes);
  if (spec.name == "cnn") {
    if (h < 12 || w < 12) {
      throw ModelError(modelLabel(spec) + ": needs images of at least 12x12 pixels, got " +
                       std::to_string(h) + "x" + std::to_string(w));
    }
    return std::make_shared<LeNetImpl>(c, h, w, classes);
  }
  if (spec.name == "resnet20") return std::make_shared<CifarResNetImpl>(20, c, classes);
  if (spec.name == "resnet32") return std::make_shared<CifarResNetImpl>(32, c, classes);
  if (spec.name == "resnet56") return std::make_shared<CifarResNetImpl>(56, c, classes);
  if (spec.name == "wrn16-4") return std::make_shared<WideResNetImpl>(16, 4, c, classes);
  if (spec.name == "wrn28-10") return std::make_shared<WideResNetImpl>(28, 10, c, classes);
  // builtInModelNames() and this list disagree: a programming error.
  throw ModelError(modelLabel(spec) + ": listed as built-in but not implemented");
}

}  // namespace samscape::models

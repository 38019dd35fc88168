#include "core/models/Network.h"

#include <ATen/Context.h>

#include <torch/script.h>
#include <torch/torch.h>

#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/Error.h"
#include "core/models/BuiltInModels.h"

namespace samscape {

const std::vector<std::string>& builtInModelNames() {
  static const std::vector<std::string> names{"mlp",      "cnn",     "resnet20", "resnet32",
                                              "resnet56", "wrn16-4", "wrn28-10"};
  return names;
}

namespace {

// One line saying why an operation failed: the first line of the exception's message, without
// LibTorch's backtrace. Errors raised inside the TorchScript interpreter start with a generic line
// and a TorchScript traceback; their last line holds the actual error ("RuntimeError: mat1 and
// mat2 shapes cannot be multiplied (2x784 and 3072x7)").
std::string errorReason(const std::exception& error) {
  std::string text = error.what();
  if (const auto* torchError = dynamic_cast<const c10::Error*>(&error)) {
    text = torchError->what_without_backtrace();
  }
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) return "unknown error";
  if (lines.size() > 1 && lines.front().rfind("The following operation failed in the TorchScript", 0) == 0) {
    return lines.back();
  }
  return lines.front();
}

std::string shapeString(at::IntArrayRef sizes) {
  std::string out = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(sizes[i]);
  }
  return out + "]";
}

// 272474 -> "272,474"
std::string withThousands(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::int64_t countElements(const std::vector<torch::Tensor>& tensors) {
  std::int64_t total = 0;
  for (const auto& tensor : tensors) total += tensor.numel();
  return total;
}

// LibTorch's own message for a missing file is "open file failed because of errno 2 on fopen: , ...".
void requireFile(const std::string& path, const std::string& action) {
  std::error_code ignored;
  if (!std::filesystem::exists(path, ignored)) throw ModelError(path + ": " + action + ": no such file");
  if (std::filesystem::is_directory(path, ignored)) {
    throw ModelError(path + ": " + action + ": is a directory");
  }
}

// Copies the tensors read from a file into a network's parameters and buffers, by name. Everything
// is checked before anything is copied, so a file that does not fit leaves the network unchanged.
// copy_ keeps each tensor's identity (an optimizer holding it still sees it), device and dtype.
void copyNamedTensors(const std::vector<std::pair<std::string, torch::Tensor>>& targets,
                      const std::map<std::string, torch::Tensor>& sources, const std::string& path) {
  for (const auto& [name, target] : targets) {
    const auto found = sources.find(name);
    if (found == sources.end()) {
      throw ModelError(path + ": cannot load weights: the file has no tensor '" + name +
                       "'; was it saved from a network of the same model?");
    }
    if (found->second.sizes() != target.sizes()) {
      throw ModelError(path + ": cannot load weights: tensor '" + name + "' has shape " +
                       shapeString(found->second.sizes()) + " in the file but " +
                       shapeString(target.sizes()) + " in the network; was it saved from a " +
                       "network of the same model, input shape and number of classes?");
    }
  }
  torch::NoGradGuard noGrad;
  for (const auto& [name, target] : targets) {
    auto destination = target;  // shares the tensor; copy_ writes in place
    destination.copy_(sources.at(name));
  }
}

// Converts the floating-point tensors among `tensors` to `dtype` in place. torch::nn::Module::to and
// torch::jit::Module::to would also turn integer buffers (batch norm's num_batches_tracked) into
// floating point; PyTorch's Module.to(dtype) leaves them alone, and so does this.
void convertFloatingTensors(const std::vector<torch::Tensor>& tensors, torch::Dtype dtype) {
  torch::NoGradGuard noGrad;
  for (const auto& tensor : tensors) {
    if (!tensor.is_floating_point() || tensor.scalar_type() == dtype) continue;
    auto target = tensor;  // shares the TensorImpl: set_data changes the module's own tensor
    target.set_data(tensor.to(dtype));
  }
}

// Shared by both implementations: whether the network is in training mode (makeNetwork restores it
// after its check).
class CheckedNetwork : public Network {
 public:
  virtual bool isTraining() const = 0;
};

// ---------------------------------------------------------------------------------------------
// A built-in torch::nn architecture (core/models/BuiltInModels.h).

class BuiltInNetwork final : public CheckedNetwork {
 public:
  explicit BuiltInNetwork(const ModelSpec& spec) : name_(spec.name), module_(models::makeBuiltInModel(spec)) {
    // Convolutions in channels-last (NHWC) layout: oneDNN's CPU kernels run a forward and backward
    // pass of the cnn and of ResNet-20 about a fifth faster in it (torch 2.15, 2 threads: cnn 7.1 ->
    // 5.8 ms, ResNet-20 231 -> 189 ms at batch 128). Only the strides change: values, shapes and the
    // parameters' order are the same, and flattening reads them in their logical order.
    torch::NoGradGuard noGrad;
    for (auto& parameter : module_->parameters(/*recurse=*/true)) {
      if (parameter.dim() != 4) continue;
      channelsLast_ = true;
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }

  torch::Tensor forward(const torch::Tensor& images) override {
    return module_->forward(channelsLast_ && images.dim() == 4 ? images.contiguous(torch::MemoryFormat::ChannelsLast)
                                                               : images);
  }

  // Registration order, depth first (torch::nn::Module::parameters(recurse=true)).
  std::vector<torch::Tensor> parameters() override { return module_->parameters(/*recurse=*/true); }
  std::vector<std::string> parameterNames() override {
    std::vector<std::string> names;
    for (const auto& item : module_->named_parameters(/*recurse=*/true)) names.push_back(item.key());
    return names;
  }

  // Floating-point buffers only: BN running_mean and running_var. The integer num_batches_tracked
  // counters are left out (they only matter for BN momentum=None, which no built-in model uses), so
  // every buffer can be averaged, copied or perturbed like a parameter. save()/load() still keep them.
  std::vector<torch::Tensor> buffers() override {
    std::vector<torch::Tensor> out;
    for (const auto& buffer : module_->buffers(/*recurse=*/true)) {
      if (buffer.is_floating_point()) out.push_back(buffer);
    }
    return out;
  }

  void setTraining(bool training) override { module_->train(training); }
  bool isTraining() const override { return module_->is_training(); }
  void to(const torch::Device& device) override { module_->to(device); }
  void toDtype(torch::Dtype dtype) override {
    std::vector<torch::Tensor> tensors = module_->parameters(/*recurse=*/true);
    for (const auto& buffer : module_->buffers(/*recurse=*/true)) tensors.push_back(buffer);
    convertFloatingTensors(tensors, dtype);
  }

  void save(const std::string& path) override {
    try {
      torch::serialize::OutputArchive archive;
      module_->save(archive);
      archive.save_to(path);
    } catch (const std::exception& error) {
      throw ModelError(path + ": cannot save weights: " + errorReason(error));
    }
  }

  void load(const std::string& path) override {
    requireFile(path, "cannot load weights");
    std::map<std::string, torch::Tensor> sources;
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path, torch::Device(torch::kCPU));
      readArchive(archive, *module_, "", sources, path);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& error) {
      throw ModelError(path + ": cannot load weights: " + errorReason(error));
    }
    std::vector<std::pair<std::string, torch::Tensor>> targets;
    for (const auto& item : module_->named_parameters(/*recurse=*/true)) {
      targets.emplace_back(item.key(), item.value());
    }
    for (const auto& item : module_->named_buffers(/*recurse=*/true)) {
      targets.emplace_back(item.key(), item.value());
    }
    copyNamedTensors(targets, sources, path);
  }

  std::string describe() const override {
    return name_ + " (" + withThousands(countElements(module_->parameters())) + " parameters)";
  }

 private:
  // Reads the tensors of `module` (and its children, recursively) from the archive written by
  // torch::nn::Module::save, named as in named_parameters() / named_buffers().
  static void readArchive(torch::serialize::InputArchive& archive, const torch::nn::Module& module,
                          const std::string& prefix, std::map<std::string, torch::Tensor>& out,
                          const std::string& path) {
    auto readTensor = [&](const std::string& key, bool isBuffer) {
      torch::Tensor tensor;
      if (!archive.try_read(key, tensor, isBuffer)) {
        throw ModelError(path + ": cannot load weights: the file has no tensor '" + prefix + key +
                         "'; was it saved from a network of the same model?");
      }
      out[prefix + key] = tensor;
    };
    for (const auto& item : module.named_parameters(/*recurse=*/false)) readTensor(item.key(), false);
    for (const auto& item : module.named_buffers(/*recurse=*/false)) readTensor(item.key(), true);
    for (const auto& child : module.named_children()) {
      torch::serialize::InputArchive childArchive;
      if (!archive.try_read(child.key(), childArchive)) {
        throw ModelError(path + ": cannot load weights: the file has no module '" + prefix + child.key() +
                         "'; was it saved from a network of the same model?");
      }
      readArchive(childArchive, *child.value(), prefix + child.key() + ".", out, path);
    }
  }

  std::string name_;
  std::shared_ptr<models::ClassifierImpl> module_;
  bool channelsLast_ = false;  // it has convolutions: their weights and inputs are channels-last
};

// ---------------------------------------------------------------------------------------------
// A TorchScript module from a file (torch.jit.save in Python, or torch::jit::Module::save).

torch::jit::Module loadScriptModule(const std::string& path) {
  requireFile(path, "cannot load TorchScript module");
  try {
    return torch::jit::load(path, torch::Device(torch::kCPU));
  } catch (const std::exception& error) {
    throw ModelError(path + ": cannot load TorchScript module: " + errorReason(error));
  }
}

class ScriptedNetwork final : public CheckedNetwork {
 public:
  explicit ScriptedNetwork(const ModelSpec& spec) : file_(spec.modelFile), module_(loadScriptModule(file_)) {
    // A module saved for inference may have frozen parameters; here every parameter is trained.
    for (const auto& item : module_.named_parameters(/*recurse=*/true)) {
      if (!item.value.is_floating_point()) {
        throw ModelError(file_ + ": parameter '" + item.name +
                         "' is not floating point and cannot be trained");
      }
      auto parameter = item.value;
      parameter.requires_grad_(true);
    }
  }

  // What samscape relies on of a model file's training and evaluation modes: evaluation is deterministic
  // and treats each example on its own (dropout off, batch norm on its running statistics), and training
  // updates batch norm's running statistics. torch.jit.trace freezes `self.training` at the mode it traced
  // in, so a traced module may keep one mode's behaviour in both: refused here, naming the file and the
  // way out, instead of training or analysing the wrong function. The global generator and the buffers
  // are given back, so the checks change nothing of the run.
  void checkModes(const ModelSpec& spec) {
    Network& network = *this;
    const std::string& label = file_;
    const std::string remedy =
        ". A module made with torch.jit.trace keeps the mode it was traced in: script its batch norm and dropout "
        "modules first (resources/models/export_model.py --trace does), or export it with torch.jit.script";
    torch::Generator generator = at::globalContext().defaultGenerator(torch::kCPU);
    const torch::Tensor generatorState = generator.get_state();
    const bool wasTraining = isTraining();
    // Every buffer, integer ones (batch norm's counter) included.
    std::vector<torch::Tensor> buffersBefore;
    for (const auto& buffer : module_.buffers(/*recurse=*/true)) buffersBefore.push_back(buffer.detach().clone());
    const auto currentBuffers = [this] {
      std::vector<torch::Tensor> buffers;
      for (const auto& buffer : module_.buffers(/*recurse=*/true)) buffers.push_back(buffer);
      return buffers;
    };
    const auto restore = [&] {
      torch::NoGradGuard noGrad;
      const auto buffers = currentBuffers();
      for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(buffersBefore[i]);
      generator.set_state(generatorState);
      network.setTraining(wasTraining);
    };
    // Batch norm's running statistics, by their names (other buffers may well be constants).
    std::vector<std::size_t> runningStatistics;
    {
      std::size_t index = 0;
      for (const auto& item : module_.named_buffers(/*recurse=*/true)) {
        const std::string& name = item.name;
        const auto endsWith = [&name](const std::string& end) {
          return name.size() >= end.size() && name.compare(name.size() - end.size(), end.size(), end) == 0;
        };
        if (endsWith("running_mean") || endsWith("running_var")) runningStatistics.push_back(index);
        ++index;
      }
    }
    // A fixed, varied batch: zeros would hide batch statistics (every example alike).
    const torch::Tensor input =
        torch::linspace(-1.0, 1.0, 4 * spec.inputChannels * spec.imageHeight * spec.imageWidth)
            .reshape({4, spec.inputChannels, spec.imageHeight, spec.imageWidth})
            .mul(torch::arange(1, 5, torch::kFloat32).reshape({4, 1, 1, 1}));
    std::string problem;
    try {
      torch::NoGradGuard noGrad;
      network.setTraining(false);
      const torch::Tensor first = network.forward(input);
      const torch::Tensor second = network.forward(input);
      const torch::Tensor alone = network.forward(input.slice(0, 0, 1));
      if (!torch::equal(first, second)) {
        problem = "in evaluation mode, two passes over the same images give different logits: dropout (or other "
                  "randomness) stays on, and samscape's evaluations and analyses need a deterministic model";
      } else if (!torch::allclose(first.slice(0, 0, 1), alone, 1e-4, 1e-5)) {
        problem = "in evaluation mode, an image's logits depend on the other images of its batch: batch norm "
                  "normalizes with the batch's statistics instead of its running ones";
      } else if (!runningStatistics.empty()) {
        network.setTraining(true);
        network.forward(input);
        bool changed = false;
        const auto buffers = currentBuffers();
        for (const std::size_t i : runningStatistics) changed = changed || !torch::equal(buffers[i], buffersBefore[i]);
        if (!changed) {
          problem = "in training mode, a pass leaves batch norm's running statistics unchanged: they "
                    "would never learn the data's statistics, and evaluation would use their initial values";
        }
      }
    } catch (const std::exception& error) {
      restore();
      throw ModelError(label + ": a forward pass failed: " + errorReason(error));
    }
    restore();
    if (!problem.empty()) throw ModelError(label + ": " + problem + remedy);
  }

  torch::Tensor forward(const torch::Tensor& images) override {
    const torch::IValue output = module_.forward({images});
    if (!output.isTensor()) {
      throw ModelError(file_ + ": forward() must return a tensor of logits, but returned " +
                       output.type()->str());
    }
    return output.toTensor();
  }

  // Depth-first in the module's attribute order (torch::jit::Module::parameters(recurse=true)).
  std::vector<torch::Tensor> parameters() override {
    std::vector<torch::Tensor> out;
    for (const auto& parameter : module_.parameters(/*recurse=*/true)) out.push_back(parameter);
    return out;
  }
  std::vector<std::string> parameterNames() override {
    std::vector<std::string> names;
    for (const auto& item : module_.named_parameters(/*recurse=*/true)) names.push_back(item.name);
    return names;
  }

  // Floating-point buffers only (integer ones such as BN's num_batches_tracked are left out), as for
  // built-in models. save()/load() still keep them.
  std::vector<torch::Tensor> buffers() override {
    std::vector<torch::Tensor> out;
    for (const auto& buffer : module_.buffers(/*recurse=*/true)) {
      if (buffer.is_floating_point()) out.push_back(buffer);
    }
    return out;
  }

  void setTraining(bool training) override { module_.train(training); }
  bool isTraining() const override { return module_.is_training(); }
  void to(const torch::Device& device) override { module_.to(device); }
  void toDtype(torch::Dtype dtype) override {
    std::vector<torch::Tensor> tensors;
    for (const auto& parameter : module_.parameters(/*recurse=*/true)) tensors.push_back(parameter);
    for (const auto& buffer : module_.buffers(/*recurse=*/true)) tensors.push_back(buffer);
    convertFloatingTensors(tensors, dtype);
  }

  void save(const std::string& path) override {
    try {
      module_.save(path);
    } catch (const std::exception& error) {
      throw ModelError(path + ": cannot save TorchScript module: " + errorReason(error));
    }
  }

  void load(const std::string& path) override {
    const torch::jit::Module saved = loadScriptModule(path);
    std::map<std::string, torch::Tensor> sources;
    for (const auto& item : saved.named_parameters(/*recurse=*/true)) sources[item.name] = item.value;
    for (const auto& item : saved.named_buffers(/*recurse=*/true)) sources[item.name] = item.value;
    std::vector<std::pair<std::string, torch::Tensor>> targets;
    for (const auto& item : module_.named_parameters(/*recurse=*/true)) {
      targets.emplace_back(item.name, item.value);
    }
    for (const auto& item : module_.named_buffers(/*recurse=*/true)) {
      targets.emplace_back(item.name, item.value);
    }
    if (sources.size() != targets.size()) {
      throw ModelError(path + ": cannot load weights: the file has " + std::to_string(sources.size()) +
                       " parameters and buffers, the network " + std::to_string(targets.size()) +
                       "; was it saved from a network of the same model?");
    }
    copyNamedTensors(targets, sources, path);
  }

  std::string describe() const override {
    std::int64_t count = 0;
    for (const auto& parameter : module_.parameters(/*recurse=*/true)) count += parameter.numel();
    return "TorchScript model " + file_ + " (" + withThousands(count) + " parameters)";
  }

 private:
  std::string file_;
  torch::jit::Module module_;
};

// One forward pass on a zero batch of spec's input shape, in eval mode (so batch-norm statistics
// are untouched) and without autograd; the training mode is restored afterwards.
void checkOutputShape(CheckedNetwork& network, const ModelSpec& spec, const std::string& label) {
  if (spec.inputChannels < 1 || spec.imageHeight < 1 || spec.imageWidth < 1 || spec.numClasses < 1) {
    throw ModelError(label + ": invalid input shape " + std::to_string(spec.inputChannels) + "x" +
                     std::to_string(spec.imageHeight) + "x" + std::to_string(spec.imageWidth) +
                     " or number of classes " + std::to_string(spec.numClasses));
  }
  constexpr std::int64_t batch = 2;
  const auto input = torch::zeros({batch, spec.inputChannels, spec.imageHeight, spec.imageWidth});
  const bool wasTraining = network.isTraining();
  network.setTraining(false);
  torch::Tensor output;
  try {
    torch::NoGradGuard noGrad;
    output = network.forward(input);
  } catch (const Error&) {
    network.setTraining(wasTraining);
    throw;
  } catch (const std::exception& error) {
    network.setTraining(wasTraining);
    throw ModelError(label + ": forward pass on an input of shape " + shapeString(input.sizes()) +
                     " failed: " + errorReason(error));
  }
  network.setTraining(wasTraining);
  const std::vector<std::int64_t> expected{batch, spec.numClasses};
  if (output.sizes() != at::IntArrayRef(expected)) {
    throw ModelError(label + ": output has shape " + shapeString(output.sizes()) + " for an input of shape " +
                     shapeString(input.sizes()) + "; expected " + shapeString(expected) +
                     " (one logit per class)");
  }
  if (!output.is_floating_point()) {
    throw ModelError(label + ": output is not floating point (" +
                     std::string(c10::toString(output.scalar_type())) + ")");
  }
}

}  // namespace

std::unique_ptr<Network> makeNetwork(const ModelSpec& spec) {
  if (!spec.modelFile.empty()) {
    auto network = std::make_unique<ScriptedNetwork>(spec);
    checkOutputShape(*network, spec, spec.modelFile);
    network->checkModes(spec);
    return network;
  }
  auto network = std::make_unique<BuiltInNetwork>(spec);
  checkOutputShape(*network, spec, "model '" + spec.name + "'");
  return network;
}

std::unique_lock<std::mutex> lockGlobalGenerator() {
  static std::mutex generatorMutex;
  return std::unique_lock<std::mutex>(generatorMutex);
}

std::int64_t parameterCount(Network& network) { return countElements(network.parameters()); }

namespace {

struct FusedAttentionSettings {
  bool flash = true;
  bool memoryEfficient = true;
  bool cudnn = true;
};
std::mutex gAttentionMutex;
int gAttentionScopes = 0;
FusedAttentionSettings gSavedAttention;

}  // namespace

TwiceDifferentiableAttention::TwiceDifferentiableAttention() {
  const std::lock_guard<std::mutex> lock(gAttentionMutex);
  if (gAttentionScopes++ > 0) return;
  auto& context = at::globalContext();
  gSavedAttention = {context.userEnabledFlashSDP(), context.userEnabledMemEfficientSDP(),
                     context.userEnabledCuDNNSDP()};
  context.setSDPUseFlash(false);
  context.setSDPUseMemEfficient(false);
  context.setSDPUseCuDNN(false);
}

TwiceDifferentiableAttention::~TwiceDifferentiableAttention() {
  const std::lock_guard<std::mutex> lock(gAttentionMutex);
  if (--gAttentionScopes > 0) return;
  auto& context = at::globalContext();
  context.setSDPUseFlash(gSavedAttention.flash);
  context.setSDPUseMemEfficient(gSavedAttention.memoryEfficient);
  context.setSDPUseCuDNN(gSavedAttention.cudnn);
}

}  // namespace samscape

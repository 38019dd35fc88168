#include "core/optim/Optimizer.h"

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <sstream>
#include <type_traits>

#include "core/Error.h"

namespace samscape {
namespace {

// One class for every LibTorch optimizer: they differ only in their options type.
template <typename TorchOptimizer, typename Options>
class LibTorchOptimizer final : public Optimizer {
 public:
  LibTorchOptimizer(std::vector<torch::Tensor> parameters, Options options, std::string description)
      : optimizer_(std::move(parameters), options), description_(std::move(description)) {}

  void applyGradients() override {
    torch::NoGradGuard noGrad;
    optimizer_.step();
  }

  void setLearningRate(double rate) override {
    // Cast rather than OptimizerOptions::set_lr, which LibTorch 1.13 lacks.
    for (auto& group : optimizer_.param_groups()) static_cast<Options&>(group.options()).lr(rate);
  }

  double learningRate() const override {
    return static_cast<const Options&>(optimizer_.param_groups().front().options()).lr();
  }

  std::string describe() const override { return description_; }

  std::vector<torch::Tensor> momentumBuffers() const override {
    std::vector<torch::Tensor> buffers;
    if constexpr (std::is_same_v<TorchOptimizer, torch::optim::SGD>) {
      // LibTorch keys a parameter's state by its TensorImpl (torch/optim/sgd.cpp), a restored one too.
      const auto& state = optimizer_.state();
      for (const auto& parameter : optimizer_.param_groups().front().params()) {
        const auto found = state.find(parameter.unsafeGetTensorImpl());
        buffers.push_back(found == state.end()
                              ? torch::Tensor()
                              : static_cast<const torch::optim::SGDParamState&>(*found->second).momentum_buffer());
      }
    }
    return buffers;
  }

  void saveState(torch::serialize::OutputArchive& archive) const override { optimizer_.save(archive); }
  void loadState(torch::serialize::InputArchive& archive) override { optimizer_.load(archive); }

 private:
  TorchOptimizer optimizer_;
  std::string description_;
};

}  // namespace

std::unique_ptr<Optimizer> makeOptimizer(std::vector<torch::Tensor> parameters, const OptimizerSpec& spec) {
  std::ostringstream description;
  if (spec.baseKind() == BaseOptimizerKind::Sgd) {
    description << "sgd (momentum " << spec.momentum << (spec.nesterov ? ", nesterov" : "")
                << ", weight decay " << spec.weightDecay << ")";
    return std::make_unique<LibTorchOptimizer<torch::optim::SGD, torch::optim::SGDOptions>>(
        std::move(parameters),
        torch::optim::SGDOptions(spec.learningRate)
            .momentum(spec.momentum)
            .nesterov(spec.nesterov)
            .weight_decay(spec.weightDecay),
        description.str());
  }
  {
    description << "adam (betas " << spec.adamBeta1 << ", " << spec.adamBeta2 << ", eps "
                << spec.adamEpsilon << ", weight decay " << spec.weightDecay << ")";
    return std::make_unique<LibTorchOptimizer<torch::optim::Adam, torch::optim::AdamOptions>>(
        std::move(parameters),
        torch::optim::AdamOptions(spec.learningRate)
            .betas(std::make_tuple(spec.adamBeta1, spec.adamBeta2))
            .eps(spec.adamEpsilon)
            .weight_decay(spec.weightDecay),
        description.str());
  }
}

}  // namespace samscape

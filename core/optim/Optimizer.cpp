#include "core/optim/Optimizer.h"

#include <torch/optim/sgd.h>

#include <sstream>

#include "core/Error.h"

namespace samscape {
namespace {

class SgdOptimizer final : public Optimizer {
 public:
  SgdOptimizer(std::vector<torch::Tensor> parameters, const OptimizerSpec& spec)
      : spec_(spec),
        sgd_(std::move(parameters), torch::optim::SGDOptions(spec.learningRate)
                                        .momentum(spec.momentum)
                                        .nesterov(spec.nesterov)
                                        .weight_decay(spec.weightDecay)) {}

  void applyGradients() override {
    torch::NoGradGuard noGrad;
    sgd_.step();
  }

  void setLearningRate(double rate) override {
    // Cast rather than OptimizerOptions::set_lr, which LibTorch 1.13 lacks.
    for (auto& group : sgd_.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(rate);
    }
  }

  double learningRate() const override {
    return static_cast<const torch::optim::SGDOptions&>(sgd_.param_groups().front().options()).lr();
  }

  std::string describe() const override {
    std::ostringstream out;
    out << "sgd (momentum " << spec_.momentum << (spec_.nesterov ? ", nesterov" : "")
        << ", weight decay " << spec_.weightDecay << ")";
    return out.str();
  }

 private:
  OptimizerSpec spec_;
  torch::optim::SGD sgd_;
};

}  // namespace

std::unique_ptr<Optimizer> makeSgdOptimizer(std::vector<torch::Tensor> parameters,
                                            const OptimizerSpec& spec) {
  return std::make_unique<SgdOptimizer>(std::move(parameters), spec);
}

std::unique_ptr<Optimizer> makeOptimizer(std::vector<torch::Tensor> parameters,
                                         const OptimizerSpec& spec) {
  if (spec.name == "sgd") return makeSgdOptimizer(std::move(parameters), spec);
  throw ConfigError("--optimizer", spec.name, "unknown optimizer; available: sgd");
}

}  // namespace samscape

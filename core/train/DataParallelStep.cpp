#include "core/train/DataParallelStep.h"

#include <ATen/autocast_mode.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>
#include <torch/version.h>

#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/DistributedGroup.h"

namespace samscape {
namespace {

namespace F = torch::nn::functional;

std::vector<torch::Tensor> cloneAll(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> copies;
  copies.reserve(tensors.size());
  for (const auto& tensor : tensors) copies.push_back(tensor.detach().clone());
  return copies;
}

void copyAll(const std::vector<torch::Tensor>& from, const std::vector<torch::Tensor>& to) {
  torch::NoGradGuard noGrad;
  for (std::size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
}

// Autocast in bf16 on the device's type for one forward pass. Each guard clears the autocast cache on
// leaving (as Python's torch.autocast does at its outermost exit): the cache holds bf16 copies of the
// weights, which SAM's perturbation and the optimizer change in place between passes.
class BFloat16Autocast {
 public:
  BFloat16Autocast(torch::DeviceType device, bool enabled) : device_(device), enabled_(enabled) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    previousEnabled_ = at::autocast::is_autocast_enabled(device_);
    previousType_ = at::autocast::get_autocast_dtype(device_);
    at::autocast::set_autocast_dtype(device_, at::kBFloat16);
    at::autocast::set_autocast_enabled(device_, true);
#else
    if (device_ == torch::kCUDA) {
      previousEnabled_ = at::autocast::is_enabled();
      previousType_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      previousEnabled_ = at::autocast::is_cpu_enabled();
      previousType_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~BFloat16Autocast() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(device_, previousEnabled_);
    at::autocast::set_autocast_dtype(device_, previousType_);
#else
    if (device_ == torch::kCUDA) {
      at::autocast::set_enabled(previousEnabled_);
      at::autocast::set_autocast_gpu_dtype(previousType_);
    } else {
      at::autocast::set_cpu_enabled(previousEnabled_);
      at::autocast::set_autocast_cpu_dtype(previousType_);
    }
#endif
  }
  BFloat16Autocast(const BFloat16Autocast&) = delete;
  BFloat16Autocast& operator=(const BFloat16Autocast&) = delete;

 private:
  torch::DeviceType device_;
  bool enabled_;
  bool previousEnabled_ = false;
  at::ScalarType previousType_ = at::kFloat;
};

// A replica's shard of the mini-batch, as the gradient rule sees it. It keeps batch-norm running
// statistics as SAM needs them: a perturbed pass leaves them as they were; when the shard is
// evaluated in m-chunks, each chunk's clean pass starts from the step's statistics and the shard ends
// the step with their average (what data-parallel replicas do when their statistics are averaged).
class ShardObjective final : public BatchObjective {
 public:
  ShardObjective(Replica& replica, torch::Tensor images, torch::Tensor labels, Precision precision)
      : replica_(replica), images_(std::move(images)), labels_(std::move(labels)), precision_(precision) {}

  std::int64_t size() const override { return labels_.size(0); }

  torch::Tensor lossAndGradient(std::int64_t begin, std::int64_t end, PassKind pass) override {
    // Undefined rather than zeroed (PyTorch's zero_grad(set_to_none=True)): backward then writes each
    // gradient instead of adding it to zeros, a tenth of the cnn's pass on the CPU. Same values; a
    // parameter the loss does not reach is left out of the step, as in PyTorch.
    for (auto& parameter : replica_.parameters) {
      if (parameter.grad().defined()) parameter.mutable_grad().reset();
    }
    const bool whole = begin == 0 && end == size();
    const torch::Tensor images = whole ? images_ : images_.slice(0, begin, end);
    const torch::Tensor labels = whole ? labels_ : labels_.slice(0, begin, end);
    std::vector<torch::Tensor> before;
    if (pass == PassKind::Perturbed) {
      before = cloneAll(replica_.buffers);
    } else if (!whole) {
      if (stepStatistics_.empty()) {
        stepStatistics_ = cloneAll(replica_.buffers);
      } else {
        copyAll(stepStatistics_, replica_.buffers);
      }
    }
    torch::Tensor logits;
    torch::Tensor loss;
    {
      // The backward pass runs outside the guard, as in PyTorch: autograd replays the forward's casts.
      BFloat16Autocast autocast(replica_.device.type(), precision_ == Precision::Bf16);
      logits = replica_.network->forward(images);
      loss = F::cross_entropy(logits, labels);  // autocast computes cross-entropy in fp32
    }
    loss.backward();
    if (pass == PassKind::Perturbed) {
      copyAll(before, replica_.buffers);
    } else {
      const double examples = static_cast<double>(end - begin);
      torch::NoGradGuard noGrad;
      lossSum_ = lossSum_.defined() ? lossSum_ + loss.detach() * examples : loss.detach() * examples;
      const torch::Tensor correct = logits.argmax(1).eq(labels).sum();
      correct_ = correct_.defined() ? correct_ + correct : correct;
      if (!whole) accumulateStatistics(examples / static_cast<double>(size()));
    }
    return loss.detach();
  }

  // Call once the step's gradient is computed.
  void finishStep() {
    if (!chunkStatistics_.empty()) copyAll(chunkStatistics_, replica_.buffers);
  }
  // Sum over the shard of the clean losses, and the count of correct clean predictions (device tensors).
  const torch::Tensor& lossSum() const { return lossSum_; }
  const torch::Tensor& correct() const { return correct_; }

 private:
  void accumulateStatistics(double weight) {
    torch::NoGradGuard noGrad;
    if (chunkStatistics_.empty()) {
      for (const auto& buffer : replica_.buffers) chunkStatistics_.push_back(buffer.detach() * weight);
    } else {
      for (std::size_t i = 0; i < chunkStatistics_.size(); ++i) chunkStatistics_[i].add_(replica_.buffers[i], weight);
    }
  }

  Replica& replica_;
  torch::Tensor images_;
  torch::Tensor labels_;
  Precision precision_;
  torch::Tensor lossSum_;
  torch::Tensor correct_;
  std::vector<torch::Tensor> stepStatistics_;
  std::vector<torch::Tensor> chunkStatistics_;
};

}  // namespace

std::vector<Replica> makeReplicas(const ModelSpec& spec, const std::vector<std::string>& devices) {
  std::vector<Replica> replicas;
  for (const auto& deviceName : devices) {
    Replica replica;
    replica.network = makeNetwork(spec);
    replica.device = torch::Device(deviceName);
    replica.network->to(replica.device);
    replica.parameters = replica.network->parameters();
    replica.buffers = replica.network->buffers();
    replicas.push_back(std::move(replica));
  }
  synchronizeReplicas(replicas);
  return replicas;
}

void synchronizeReplicas(std::vector<Replica>& replicas) {
  for (std::size_t r = 1; r < replicas.size(); ++r) {
    copyAll(replicas.front().parameters, replicas[r].parameters);
    copyAll(replicas.front().buffers, replicas[r].buffers);
  }
}

StepOutcome trainingStep(std::vector<Replica>& replicas, Optimizer& optimizer, const OptimizerSpec& spec,
                         const Batch& batch, DistributedGroup* group, const StepContext& context) {
  const std::int64_t total = batch.labels.size(0);
  const auto count = static_cast<std::int64_t>(replicas.size());
  const bool distributed = group != nullptr && group->worldSize() > 1;
  // The batch is cut into a shard per replica of every rank, in rank order, so the shards (and so
  // the step) do not depend on how the replicas are spread over processes.
  const std::int64_t shards = count * (distributed ? group->worldSize() : 1);
  const std::int64_t firstShard = distributed ? count * group->rank() : 0;
  // Shards as equal as possible; the first (total % shards) take one example more.
  auto shardSize = [&](std::int64_t shard) { return total / shards + (shard < total % shards ? 1 : 0); };
  torch::Tensor lossSum;
  torch::Tensor correct;
  std::vector<double> shardWeights;
  std::unique_ptr<SharpnessRule> stepRule;  // without the run's rule: a fresh one, for this step only
  if (context.rule == nullptr) stepRule = makeSharpnessRule(spec);
  SharpnessRule& rule = context.rule != nullptr ? *context.rule : *stepRule;
  const RuleContext ruleContext{spec, context.globalStep, &optimizer, context.epoch};
  const bool ascent = rule.takesAscent(ruleContext);
  // Whether the rule's last stage needs the clean gradient averaged (else a rule that needs it uses it
  // per replica, in finishReplicaGradient, and it is neither averaged nor all-reduced).
  const bool withClean = ascent && rule.needsAveragedCleanGradient(ruleContext);
  std::vector<std::vector<torch::Tensor>> cleanGradients(replicas.size());  // for rules that need them
  std::int64_t begin = 0;
  for (std::int64_t shard = 0; shard < firstShard; ++shard) begin += shardSize(shard);
  for (std::int64_t r = 0; r < count; ++r) {
    Replica& replica = replicas[static_cast<std::size_t>(r)];
    const std::int64_t size = shardSize(firstShard + r);
    shardWeights.push_back(static_cast<double>(size) / static_cast<double>(total));
    if (size == 0) continue;
    const bool whole = shards == 1;
    ShardObjective objective(replica,
                             whole ? batch.images : batch.images.slice(0, begin, begin + size).to(replica.device),
                             whole ? batch.labels : batch.labels.slice(0, begin, begin + size).to(replica.device),
                             context.precision);
    begin += size;
    std::vector<torch::Tensor>& replicaClean = cleanGradients[static_cast<std::size_t>(r)];
    replicaClean = computeStepGradient(replica.parameters, objective, rule, ruleContext, ascent);
    // Before the average, as an authors' worker does before its all-reduce (GSAM's per-replica decomposition).
    rule.finishReplicaGradient(replica.parameters, replicaClean, ascent, ruleContext);
    if (!withClean) replicaClean.clear();
    objective.finishStep();
    const torch::Tensor shardLoss = objective.lossSum().to(replicas.front().device);
    const torch::Tensor shardCorrect = objective.correct().to(replicas.front().device);
    lossSum = lossSum.defined() ? lossSum + shardLoss : shardLoss;
    correct = correct.defined() ? correct + shardCorrect : shardCorrect;
  }
  std::vector<torch::Tensor> clean = cleanGradients.front();
  if (shards > 1) {
    // The batch's gradient is the shard-size-weighted mean of the replicas' gradients, and so are the
    // batch-norm statistics every replica continues from (and the clean gradient, for rules that use it).
    torch::NoGradGuard noGrad;
    auto& master = replicas.front();
    auto weightedMean = [&](std::size_t i, auto&& tensorOf) {
      torch::Tensor sum;
      for (std::size_t r = 0; r < replicas.size(); ++r) {
        if (shardWeights[r] == 0.0) continue;
        const torch::Tensor tensor = tensorOf(r);
        if (!tensor.defined()) continue;
        const torch::Tensor weighted = tensor.to(master.device) * shardWeights[r];
        sum = sum.defined() ? sum + weighted : weighted;
      }
      // A rank whose shards are all empty (a short last batch) still takes part, with zeros.
      if (!sum.defined() && distributed) sum = torch::zeros_like(master.parameters[i]);
      return sum;
    };
    for (std::size_t i = 0; i < master.parameters.size(); ++i) {
      const torch::Tensor sum = weightedMean(i, [&](std::size_t r) { return replicas[r].parameters[i].grad(); });
      if (sum.defined()) master.parameters[i].mutable_grad() = sum;
    }
    if (withClean) {
      clean.assign(master.parameters.size(), torch::Tensor());
      for (std::size_t i = 0; i < master.parameters.size(); ++i) {
        clean[i] = weightedMean(i, [&](std::size_t r) {
          return cleanGradients[r].empty() ? torch::Tensor() : cleanGradients[r][i];
        });
      }
    }
    std::vector<torch::Tensor> averages;
    for (std::size_t i = 0; i < master.buffers.size(); ++i) {
      torch::Tensor average = torch::zeros_like(master.buffers[i]);
      for (std::size_t r = 0; r < replicas.size(); ++r) {
        average.add_(replicas[r].buffers[i].to(master.device), shardWeights[r]);
      }
      averages.push_back(average);
    }
    if (distributed) {
      // This rank's sums cover its shards only: one all-reduce of everything adds up the ranks'.
      if (!lossSum.defined()) lossSum = torch::zeros({}, master.parameters.front().options());
      if (!correct.defined()) correct = torch::zeros({}, torch::dtype(torch::kInt64).device(master.device));
      std::vector<torch::Tensor> pieces;
      const auto flatOptions = master.parameters.front().options();
      for (const auto& parameter : master.parameters) pieces.push_back(parameter.grad().reshape(-1).to(flatOptions));
      for (const auto& tensor : clean) pieces.push_back(tensor.reshape(-1).to(flatOptions));
      for (const auto& average : averages) pieces.push_back(average.reshape(-1).to(flatOptions));
      pieces.push_back(lossSum.reshape(-1).to(flatOptions));
      pieces.push_back(correct.reshape(-1).to(flatOptions));
      torch::Tensor flat = torch::cat(pieces);
      group->allReduceSum(flat, "the gradient all-reduce of a training step");
      std::int64_t offset = 0;
      auto next = [&](const torch::Tensor& like) {
        const torch::Tensor piece = flat.slice(0, offset, offset + like.numel()).view(like.sizes());
        offset += like.numel();
        return piece;
      };
      for (auto& parameter : master.parameters) parameter.mutable_grad().copy_(next(parameter));
      for (auto& tensor : clean) tensor.copy_(next(tensor));
      for (auto& average : averages) average.copy_(next(average));
      lossSum = next(lossSum).clone();
      correct = next(correct).round().to(torch::kInt64);
    }
    for (std::size_t i = 0; i < master.buffers.size(); ++i) {
      for (auto& replica : replicas) replica.buffers[i].copy_(averages[i]);
    }
  }
  rule.finishStepGradient(replicas.front().parameters, clean, ascent, ruleContext);
  clipGradientNorm(replicas.front().parameters, spec.clipNorm);
  optimizer.applyGradients();
  for (std::size_t r = 1; r < replicas.size(); ++r) copyAll(replicas.front().parameters, replicas[r].parameters);
  return {lossSum.item<double>(), correct.item<std::int64_t>()};
}

}  // namespace samscape

#pragma once
// One training step over one or several model replicas (data parallel on one machine):
// the mini-batch is split into shards, one per replica; each replica computes the step's gradient
// on its own shard (for SAM: its own perturbation, from its own gradient, so m is at most the
// shard); the gradients are averaged, weighted by shard size; the base optimizer updates the first
// replica, whose weights are then copied to the others; batch-norm running statistics are averaged
// the same way, so every replica stays identical. With one replica nothing is split or copied.
// Across processes (a DistributedGroup), the batch is split into world size x replicas shards, this
// rank computing its own; the shard-weighted sums are then added up over the ranks by one all-reduce,
// so the step equals that of one process holding every replica.
// LibTorch header: not for the GUI.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "core/data/BatchLoader.h"
#include "core/models/Network.h"
#include "core/optim/Optimizer.h"
#include "core/optim/OptimizerSpec.h"
#include "core/optim/SharpnessAwareGradient.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/train/Precision.h"

namespace samscape {

struct Replica {
  std::unique_ptr<Network> network;
  torch::Device device = torch::kCPU;
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> buffers;  // batch-norm running statistics
};

// One replica per device, all with the first one's initial weights (drawn from LibTorch's global
// generator for built-in models).
std::vector<Replica> makeReplicas(const ModelSpec& spec, const std::vector<std::string>& devices);
// Copies the first replica's weights and statistics to the others.
void synchronizeReplicas(std::vector<Replica>& replicas);

class DistributedGroup;

struct StepOutcome {
  double lossSum = 0.0;      // sum over the batch of the loss at the step's weights
  std::int64_t correct = 0;  // correct predictions at the step's weights
};

// What a step needs beyond the batch: where it stands in the run (a rule may schedule by it), the
// run's gradient rule, whose state carries from step to step (null: a fresh rule of spec for this
// step alone, which suits the rules without state), and the arithmetic of its passes.
struct StepContext {
  std::int64_t globalStep = 0;  // 0-based
  std::int64_t epoch = 0;       // 1-based; 0 outside a run (RuleContext::epoch)
  SharpnessRule* rule = nullptr;
  Precision precision = Precision::Fp32;
};

// `batch` is the whole (global) mini-batch, on the first replica's device when there is one replica
// in one process, on the CPU otherwise. With `group`, every rank passes the same batch and the same
// number of replicas; the outcome is the whole batch's.
StepOutcome trainingStep(std::vector<Replica>& replicas, Optimizer& optimizer, const OptimizerSpec& spec,
                         const Batch& batch, DistributedGroup* group = nullptr, const StepContext& context = {});

}  // namespace samscape

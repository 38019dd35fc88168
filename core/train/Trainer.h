#pragma once
// Runs a training job described by a TrainConfig and reports through observers. The public interface
// is LibTorch-free (a pimpl), so the GUI can own a Trainer on a worker thread.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/train/DistributedOptions.h"
#include "core/train/TrainConfig.h"
#include "core/train/TrainingObserver.h"

namespace samscape {

class Trainer {
 public:
  // Validates the config, loads the data and builds the model and optimizer; throws ConfigError,
  // DataError or ModelError with a message that names the problem.
  explicit Trainer(TrainConfig config);
  // One rank of a multi-process job (when `distributed.worldSize` > 1): joins the job's process group
  // (DistributedError when the other ranks do not appear within its timeout). Every rank loads the
  // same data and draws the same batches; the global batch is split over the replicas of every rank,
  // so the run's numbers do not depend on the layout. Only rank 0 writes checkpoints; evaluation is
  // split over the ranks. Stop requests (cancel, observers) are agreed, so every rank stops at the
  // same step.
  Trainer(TrainConfig config, const DistributedOptions& distributed);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Memory running out anywhere in it ends it with OutOfMemoryError naming the epoch and the stage.
  // Runs every epoch: one optimizer step per mini-batch (loss = mean cross-entropy), then evaluation
  // on the test (and validation) split, then a checkpoint in <outDir>/checkpoints when outDir is set. Stops early when the loss becomes NaN or infinite (Diverged),
  // when `cancel` becomes true or an observer asks (Cancelled). Deterministic on CPU for a seed and
  // thread count. `cancel` may be null.
  TrainingResult run(const std::vector<TrainingObserver*>& observers,
                     const std::atomic<bool>* cancel = nullptr);

  // Continues the run from a checkpoint directory (see Checkpoint.h) written by a run of the same
  // config: run() then starts after its last epoch and, on CPU, ends exactly as the uninterrupted run.
  void resumeFrom(const std::string& checkpointDir);

  // What the run's passes cost per example (memory and time), measured on a few training examples with
  // the run's model, and its set sizes: the training options' costs are checked against it before the
  // first step (RunSession). Leaves the model's weights and mode as training expects them.
  JobShape measureShape();

  // The model's weights as they are now (see Network::save).
  void saveModel(const std::string& path);

  const TrainConfig& config() const;
  // 0 in a single-process run.
  int rank() const;
  const TrainingBegin& description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

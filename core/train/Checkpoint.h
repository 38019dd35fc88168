#pragma once
// Checkpoints of a training run, one per epoch, in <out>/checkpoints/:
//   epoch-NNN/model.pt       the weights and batch-norm statistics (Network::save)
//   epoch-NNN/optimizer.pt   the base optimizer's state (momentum, Adam moments), the gradient rule's
//                            state (named tensors under its prefix: LookSAM's g_v) and LibTorch's CPU
//                            and CUDA generator states
//   epoch-NNN/state.json     epoch, global step, data-order RNG state, metrics so far
//   latest                   the name of the newest complete checkpoint
// A checkpoint is written into epoch-NNN.tmp/ and renamed into place before `latest` is replaced
// (itself by a rename), so a crash at any moment leaves the previous checkpoint as the latest.
// Finding the latest one needs no LibTorch: CheckpointFiles.h.
// LibTorch header: not for the GUI.

#include <cstdint>
#include <string>
#include <vector>

#include "core/models/Network.h"
#include "core/optim/Optimizer.h"
#include "core/train/CheckpointFiles.h"
#include "core/train/EpochMetrics.h"

namespace samscape {

class SharpnessRule;

struct CheckpointState {
  int epochsCompleted = 0;
  std::int64_t globalStep = 0;
  std::string dataOrderState;  // BatchLoader::randomState()
  double seconds = 0.0;        // training time so far
  std::vector<EpochMetrics> epochs;
};

// Returns the checkpoint's directory. With `rule`, its state goes into optimizer.pt too.
// The weights before the first step, as checkpoints/initial/model.pt (weights only: nothing to resume
// from), written once when a run starts: the pair plane through init, SGD and SAM (the app's landscape
// page, analyze --slice-plane) and a path drawn from its start need them. Returns the file's path.
std::string writeInitialWeights(const std::string& checkpointsDir, Network& network);

std::string writeCheckpoint(const std::string& checkpointsDir, Network& network, const Optimizer& optimizer,
                            const CheckpointState& state, const SharpnessRule* rule = nullptr);

// Restores network, optimizer, the rule's state (when given; what the checkpoint holds of it) and
// LibTorch's CPU generator; returns the rest. Throws Error naming the checkpoint on a missing or
// malformed file.
CheckpointState readCheckpoint(const std::string& checkpointDir, Network& network, Optimizer& optimizer,
                               SharpnessRule* rule = nullptr);

}  // namespace samscape

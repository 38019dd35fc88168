#pragma once
// This process's membership in a multi-process job, on PyTorch's own distributed engine (c10d):
// a TCPStore served by rank 0 for the rendezvous, then ProcessGroupGloo for CPU tensors or
// ProcessGroupNCCL for CUDA tensors (when this LibTorch has NCCL). Every collective has the job's
// timeout, and every failure (a rank that died, hung past the timeout, or never showed up) becomes a
// DistributedError that names this rank, the operation and the timeout, never a hang.
// LibTorch header (tensors in the interface); the c10d types stay in the .cpp, where the differences
// between LibTorch 1.13 and 2.x are handled.

#include <memory>
#include <string>

#include <torch/types.h>

#include "core/train/DistributedOptions.h"

namespace samscape {

class DistributedGroup {
 public:
  // Joins the job; returns once every rank has joined. Collectives then run on `device`'s kind
  // (Gloo for the CPU, NCCL for CUDA). Throws DistributedError when the rendezvous fails or times out.
  DistributedGroup(const DistributedOptions& options, const torch::Device& device);
  ~DistributedGroup();
  DistributedGroup(const DistributedGroup&) = delete;
  DistributedGroup& operator=(const DistributedGroup&) = delete;

  int rank() const;
  int worldSize() const;
  const DistributedOptions& options() const;

  // Replaces `tensor` (contiguous, on the group's device) by its sum over all ranks. `purpose` names
  // the operation in error messages ("the gradient of step 12").
  void allReduceSum(torch::Tensor& tensor, const std::string& purpose);
  // Replaces `tensor` on every rank by rank 0's.
  void broadcastFromFirstRank(torch::Tensor& tensor, const std::string& purpose);
  // True on every rank when `value` is true on at least one (a stop request, for example).
  bool anyRank(bool value, const std::string& purpose);
  // Throws DistributedError when `value` is not the same on every rank.
  void requireSameOnEveryRank(double value, const std::string& what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

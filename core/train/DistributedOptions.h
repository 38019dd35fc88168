#pragma once
// Where this process sits in a multi-process job, as torchrun describes it (MASTER_ADDR, MASTER_PORT,
// RANK, WORLD_SIZE, LOCAL_RANK) or as the equivalent flags say. A plain value type with no LibTorch,
// so the CLI and the GUI can fill it. It is deliberately not part of TrainConfig: a run's numbers do
// not depend on how it is laid out across processes, so a run may be resumed with another layout.

#include <string>
#include <vector>

#include "core/train/TrainConfig.h"

namespace samscape {

struct DistributedOptions {
  int rank = 0;
  int worldSize = 1;  // 1: a single process, no process group
  int localRank = 0;  // the rank among the processes of this machine; picks cuda:LOCAL_RANK for "cuda"
  // The rendezvous (a c10d TCPStore served by rank 0). Loopback unless told otherwise, so a job
  // never listens on a public interface by accident.
  std::string masterAddress = "127.0.0.1";
  int masterPort = 0;  // 0: not given (an error when worldSize > 1)
  // How long a collective, the rendezvous or the connection to rank 0 may take before this rank gives
  // up with an error naming the operation: a dead or hung rank stops the others within it.
  double timeoutSeconds = 60.0;

  bool distributed() const { return worldSize > 1; }
};

// The flags that override the environment: --rank, --world-size, --local-rank, --master-addr,
// --master-port, --dist-timeout (group Processes: not in the launch form).
const OptionTable<DistributedOptions>& distributedOptionTable();

// Reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK where set (others keep their
// defaults). A value that is not a number is a ConfigError naming the variable.
DistributedOptions distributedOptionsFromEnvironment();

// Throws ConfigError naming the flag (--world-size, --rank, --local-rank, --master-port,
// --master-addr, --dist-timeout) and the value.
void validateDistributedOptions(const DistributedOptions& options);

// Checks a run's batch against its layout: at least one example per replica of every rank, and --m at
// most the per-replica batch. ConfigError naming --batch-size or --m.
void validateRunLayout(const TrainConfig& config, const DistributedOptions& options);

// The devices this rank's replicas use: a bare "cuda" becomes cuda:LOCAL_RANK when several processes
// share a machine (one GPU per process, as torchrun lays them out); anything explicit is kept.
std::vector<std::string> rankReplicaDevices(const std::vector<std::string>& devices, const DistributedOptions& options);

}  // namespace samscape

#include "core/train/DistributedOptions.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/Error.h"

namespace samscape {
namespace {

// The environment variable `name` as an integer; `fallback` when unset or empty.
int integerFromEnvironment(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  std::size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0') {
    throw ConfigError(std::string(name) + " (environment)", text, "expected an integer");
  }
  return value;
}

}  // namespace

const OptionTable<DistributedOptions>& distributedOptionTable() {
  static const OptionTable<DistributedOptions> table = [] {
    const auto info = [](const char* key, const char* label, const char* help) {
      OptionInfo option;
      option.key = key;
      option.label = label;
      option.group = OptionGroup::Processes;
      option.help = help;
      return option;
    };
    using D = DistributedOptions;
    OptionTable<D> options;
    options.push_back(fieldOption<D>(info("rank", "Rank", "This process's rank in a multi-process job (default: $RANK, else 0)"),
                                     [](auto& d) -> auto& { return d.rank; }));
    options.push_back(fieldOption<D>(info("world-size", "Processes", "Processes in the job (default: $WORLD_SIZE, else 1)"),
                                     [](auto& d) -> auto& { return d.worldSize; }));
    options.push_back(fieldOption<D>(
        info("local-rank", "Local rank", "Rank on this machine; --device cuda means cuda:LOCAL_RANK (default: $LOCAL_RANK)"),
        [](auto& d) -> auto& { return d.localRank; }));
    options.push_back(fieldOption<D>(
        info("master-addr", "Rendezvous address", "Address of rank 0's rendezvous (default: $MASTER_ADDR, else 127.0.0.1)"),
        [](auto& d) -> auto& { return d.masterAddress; }));
    options.push_back(fieldOption<D>(info("master-port", "Rendezvous port", "Port of rank 0's rendezvous (default: $MASTER_PORT)"),
                                     [](auto& d) -> auto& { return d.masterPort; }));
    options.push_back(fieldOption<D>(
        info("dist-timeout", "Timeout (s)",
             "Seconds a rank waits for the others (rendezvous, each collective) before it stops with an error"),
        [](auto& d) -> auto& { return d.timeoutSeconds; }));
    return options;
  }();
  return table;
}

DistributedOptions distributedOptionsFromEnvironment() {
  DistributedOptions options;
  if (const char* address = std::getenv("MASTER_ADDR"); address != nullptr && *address != '\0') {
    options.masterAddress = address;
  }
  options.masterPort = integerFromEnvironment("MASTER_PORT", options.masterPort);
  options.rank = integerFromEnvironment("RANK", options.rank);
  options.worldSize = integerFromEnvironment("WORLD_SIZE", options.worldSize);
  options.localRank = integerFromEnvironment("LOCAL_RANK", options.localRank);
  return options;
}

void validateDistributedOptions(const DistributedOptions& options) {
  if (options.worldSize < 1) {
    throw ConfigError("--world-size", std::to_string(options.worldSize), "must be at least 1");
  }
  if (options.rank < 0 || options.rank >= options.worldSize) {
    throw ConfigError("--rank", std::to_string(options.rank),
                      "must be in [0, world size) = [0, " + std::to_string(options.worldSize) + ")");
  }
  if (options.localRank < 0 || options.localRank > options.rank) {
    throw ConfigError("--local-rank", std::to_string(options.localRank), "must be in [0, --rank]");
  }
  if (!(options.timeoutSeconds > 0.0)) {
    throw ConfigError("--dist-timeout", std::to_string(options.timeoutSeconds), "must be positive (seconds)");
  }
  if (!options.distributed()) return;
  if (options.masterPort == 0) {
    throw ConfigError("--master-port", "", "a job of several processes needs the rendezvous port (or MASTER_PORT)");
  }
  if (options.masterPort < 1 || options.masterPort > 65535) {
    throw ConfigError("--master-port", std::to_string(options.masterPort), "must be a TCP port, 1 to 65535");
  }
  if (options.masterAddress.empty()) {
    throw ConfigError("--master-addr", "", "needs the address of rank 0 (or MASTER_ADDR)");
  }
}

void validateRunLayout(const TrainConfig& config, const DistributedOptions& options) {
  if (!options.distributed()) return;  // validateConfig covers one process's replicas
  const auto replicasPerRank = static_cast<std::int64_t>(replicaDevices(config).size());
  const std::int64_t shards = replicasPerRank * options.worldSize;
  if (config.batchSize < shards) {
    throw ConfigError("--batch-size", std::to_string(config.batchSize),
                      "smaller than the replicas of all ranks (" + std::to_string(shards) + ")");
  }
  const std::int64_t perReplicaBatch = (config.batchSize + shards - 1) / shards;
  if (config.optimizer.m > perReplicaBatch) {
    throw ConfigError("--m", std::to_string(config.optimizer.m),
                      "larger than the per-replica batch of " + std::to_string(perReplicaBatch) + " (" +
                          std::to_string(shards) + " replicas over all ranks; each perturbs its own shard)");
  }
}

std::vector<std::string> rankReplicaDevices(const std::vector<std::string>& devices, const DistributedOptions& options) {
  std::vector<std::string> placed = devices;
  if (!options.distributed()) return placed;
  for (auto& device : placed) {
    if (device == "cuda") device = "cuda:" + std::to_string(options.localRank);
  }
  return placed;
}

}  // namespace samscape

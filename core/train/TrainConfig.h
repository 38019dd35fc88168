#pragma once
// The whole configuration of a training run: a plain value type shared by the CLI, the run
// directory (run.json) and the GUI, described option by option in trainOptions(). Its JSON form uses
// the CLI's flag names as keys ("lr", "train-subset", ...), so a run.json's "config" is a valid
// --config file.

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/DatasetLoader.h"
#include "core/options/OptionTable.h"
#include "core/models/ModelSpec.h"
#include "core/optim/LearningRateSchedule.h"
#include "core/optim/OptimizerSpec.h"
#include "core/train/Precision.h"

namespace samscape {

struct TrainConfig {
  DatasetOptions data;     // its seed is ignored: `seed` below seeds everything
  bool augment = true;     // 4-pixel zero padding, random crop, random horizontal flip
  bool shuffle = true;
  bool normalize = true;   // per-channel mean/std of the training split; else pixels in [0, 1]
  ModelSpec model;         // input shape and class count are taken from the dataset
  OptimizerSpec optimizer;
  std::int64_t batchSize = 128;
  Precision precision = Precision::Fp32;
  int epochs = 10;
  ScheduleKind schedule = ScheduleKind::Cosine;
  double warmupEpochs = 0.0;
  std::vector<int> stepEpochs;  // for the step schedule; empty = at 50% and 75% of the epochs
  double stepFactor = 0.1;
  std::uint64_t seed = 0;
  std::string device = "cpu";
  // Data parallel: a comma-separated list of devices ("cuda:0,cuda:1", "cpu,cpu"), one replica each;
  // empty = the single `device`.
  std::string devices;
  int threads = 0;  // 0 = every core
  std::int64_t evalBatchSize = 1000;
  std::string outDir;  // empty = write nothing
};

// Every option of a training run: key, label, help, kind, group, how it reads and writes the config,
// and what makes its value invalid. The CLI's flags, --config and run.json's "config", validation and
// the app's launch form are generated from it: a new training option is one entry here.
const OptionTable<TrainConfig>& trainOptions();

// Throws ConfigError naming the first invalid flag and its value.
void validateConfig(const TrainConfig& config);

// The replicas' devices: `devices` split at commas, or just `device`.
std::vector<std::string> replicaDevices(const TrainConfig& config);

// JSON with the CLI's flag names as keys.
std::string configToJson(const TrainConfig& config, int indent = 2);
// Applies the keys present in `jsonText` over `config`. Unknown keys and values of the wrong type
// are errors (ConfigError naming --config, the source and the key).
void applyJsonConfig(TrainConfig& config, const std::string& jsonText, const std::string& sourceName);
// Reads a JSON config file; a missing or unreadable file is a ConfigError naming --config.
void applyJsonConfigFile(TrainConfig& config, const std::string& path);

}  // namespace samscape

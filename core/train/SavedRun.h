#pragma once
// Finding the weights and the config of a saved run, for analyses and for the GUI. Plain types only.

#include <string>

#include "core/train/TrainConfig.h"

namespace samscape {

struct SavedModel {
  TrainConfig config;        // the run's config, from its run.json
  std::string runDirectory;
  std::string weightsPath;   // a file Network::load reads
  std::string description;   // e.g. "runs/x, checkpoint epoch-003"
};

// `path` may be a run directory (its latest checkpoint, or model.pt when it has none), a checkpoint
// directory (runs/x/checkpoints/epoch-003) or a weights file inside a run directory (runs/x/model.pt).
// Throws ConfigError naming `flag` and the path when none of these fits.
SavedModel locateSavedModel(const std::string& path, const std::string& flag = "--checkpoint");

}  // namespace samscape

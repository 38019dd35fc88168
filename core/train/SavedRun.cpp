#include "core/train/SavedRun.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "core/train/CheckpointFiles.h"
#include "core/train/RunDirectory.h"

namespace samscape {
namespace fs = std::filesystem;

namespace {

// The run directory that holds `path`: itself, or an ancestor with a run.json (at most 3 levels up).
fs::path findRunDirectory(fs::path path) {
  for (int level = 0; level < 4 && !path.empty(); ++level) {
    if (fs::is_directory(path) && fs::exists(path / "run.json")) return path;
    const fs::path parent = path.parent_path();
    if (parent == path) break;
    path = parent;
  }
  return {};
}

}  // namespace

SavedModel locateSavedModel(const std::string& path, const std::string& flag) {
  const fs::path given = fs::absolute(path);
  if (!fs::exists(given)) throw ConfigError(flag, path, "no such file or directory");
  const fs::path run = findRunDirectory(given);
  if (run.empty()) throw ConfigError(flag, path, "not inside a run directory (no run.json found)");

  SavedModel saved;
  saved.runDirectory = run.string();
  try {
    saved.config = readRunJson(run.string()).config;
  } catch (const Error& error) {
    throw ConfigError(flag, path, std::string("its run.json cannot be read: ") + error.what());
  }

  if (fs::is_regular_file(given)) {
    saved.weightsPath = given.string();
    saved.description = run.string() + ", " + given.filename().string();
  } else if (fs::exists(given / "model.pt") && given != run) {
    saved.weightsPath = (given / "model.pt").string();
    saved.description = run.string() + ", checkpoint " + given.filename().string();
  } else if (fs::exists(run / "checkpoints" / "latest")) {
    const fs::path checkpoint = latestCheckpoint((run / "checkpoints").string());
    saved.weightsPath = (checkpoint / "model.pt").string();
    saved.description = run.string() + ", checkpoint " + checkpoint.filename().string();
  } else if (fs::exists(run / "model.pt")) {
    saved.weightsPath = (run / "model.pt").string();
    saved.description = run.string() + ", final model";
  } else {
    throw ConfigError(flag, path, "the run has neither a checkpoint nor a model.pt");
  }
  return saved;
}

}  // namespace samscape

#include "core/train/SavedRun.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "core/train/Checkpoint.h"

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
  const std::string runJson = (run / "run.json").string();
  std::ifstream in(runJson);
  try {
    const auto document = nlohmann::json::parse(in);
    applyJsonConfig(saved.config, document.at("config").dump(), runJson);
  } catch (const nlohmann::json::exception& error) {
    throw ConfigError(flag, path, runJson + " is malformed: " + error.what());
  } catch (const ConfigError& error) {
    // A value of the right type but invalid ("dataset": "x") gives a ConfigError naming only the key
    // ("--dataset: invalid value 'x' ..."), a flag the user never gave: name the flag and run.json too.
    throw ConfigError(flag, path, runJson + " holds an invalid config: " + error.what());
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

#pragma once
// What a training run is: its training config, its analyses during training and where it is recorded,
// resolved from the layers a user gives them in. Both the command line (`samscape-cli train`) and the
// app's launch form resolve runs here, from the same option table, so a flag means the same in both and
// a config round-trips through the command line, run.json and the form unchanged.
// Plain C++ (no LibTorch, Qt or CLI11): the GUI includes it.

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "analysis/AnalysisBudget.h"
#include "analysis/AnalysisOptions.h"
#include "core/options/OptionTable.h"
#include "core/train/TrainConfig.h"

namespace samscape {

struct RunSpec {
  TrainConfig config;
  int analyzeEvery = 0;      // analyse every K-th epoch's checkpoint (and the last); 0: no analyses
  // The share of the training time those analyses may take (AnalysisBudget.h); 0: no limit.
  double analysisBudget = kDefaultAnalysisBudget;
  AnalysisRequest analysis;  // what those analyses compute
  // The analysis options that were set (by run.json, a --config file or flags), typed, with file paths
  // absolute, as --config keys: run.json's "analysis", so that a resumed run analyses as launched.
  nlohmann::json analysisFlags = nlohmann::json::object();
  std::string workspace;  // the workspace directory the run is recorded in; empty: not recorded
  std::string name;       // its name there; empty: its run directory's name
  std::vector<std::string> tags;
  std::string resumeDirectory;  // non-empty: continue this run from its latest checkpoint
  // config.outDir is the default WORKSPACE/runs/<time>-<model>, not one the user chose: RunSession
  // claims it, or <time>-<model>-2, -3, ..., whichever is free (claimRunDirectory), so runs started in
  // the same second never share a directory.
  bool outDirIsDefault = false;

  bool resuming() const { return !resumeDirectory.empty(); }
};

// Every option of a run as `train` and the launch form take it: the training options
// (trainOptions()), --analyze-every, --analysis-budget and the analysis options as `train` spells them.
const OptionTable<RunSpec>& runOptions();

// The layers a run's options come from, applied in this order, each over the ones before:
// the defaults; a resumed run's run.json ("config" and "analysis"); a --config file; the settings
// given (command-line flags or the form's fields) in their order. --analyze-every 0 in a layer turns
// off the analyses of the layers before it.
struct RunSources {
  std::string resumeDirectory;
  std::string configFile;
  // A layer given as an object of --config keys rather than a file (a study's cell), applied after
  // configFile; `configObjectSource` names it in messages (e.g. "study.json, cell optimizer=sam").
  nlohmann::json configObject;  // null: none
  std::string configObjectSource;
  std::vector<std::pair<std::string, std::string>> settings;  // (key, text as typed); a switch: "true"
  std::string workspace;  // --workspace; empty: Workspace::resolve's default
  std::string name;
  std::vector<std::string> tags;
  // Give a run without --out its default directory, WORKSPACE/runs/<time>-<model> (claimed, with a
  // suffix when taken, when its session starts); the form leaves that to the window, which claims
  // run directories itself.
  bool assignRunDirectory = true;
  // Check the values. The form loads a config without checking it (a CUDA config on a machine without
  // CUDA can still be loaded and edited); it checks when a run is launched.
  bool validate = true;
};

// Applies the layers and validates the run. Throws ConfigError naming the flag as the user typed it
// (and the file, for a value that came from one) or Error for a file that cannot be read.
RunSpec resolveRunSpec(const RunSources& sources);

// Settings (key, text) that give `spec`'s values where they differ from the defaults, in the table's
// order: what the form shows and what reproduces the spec through resolveRunSpec.
std::vector<std::pair<std::string, std::string>> runSettings(const RunSpec& spec);

// A --config file's object for the run: every training option and the analysis options that were set
// (`out` left out: a config describes a run, not where it goes).
nlohmann::json runConfigJson(const RunSpec& spec);

}  // namespace samscape

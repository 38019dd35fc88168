#pragma once
// `samscape-cli train`: every flag of TrainConfig, a JSON --config file that flags override, and the
// run itself with a progress display and a run directory.

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/AnalysisFlags.h"
#include "core/train/DistributedOptions.h"
#include "core/train/TrainConfig.h"

namespace samscape::cli {

// Exit codes shared by the CLI's commands.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternalError = 1,
  kExitUsage = 2,  // a bad flag, value or file: one line on stderr naming it
  kExitDiverged = 3,
  kExitDistributed = 4,  // another rank of a multi-process job died, hung past --dist-timeout or disagreed
  kExitCancelled = 130,
};

// What `train`'s flags resolve to, validated, before anything runs: what the GUI's launch form asks of
// the same parser, so the form and the command line can never disagree on a flag.
struct TrainSetup {
  TrainConfig config;
  int analyzeEvery = 0;
  AnalysisRequest analysis;
  // The analysis flags given (on the command line, in --config or in a resumed run's run.json), as
  // --config keys with typed values: what run.json and the app's saved configs keep.
  nlohmann::json analysisFlags = nlohmann::json::object();
  std::string workspaceDirectory;
};

// Resolves `train`'s arguments (without the word "train") as the command line would, without running.
// Throws ConfigError (naming the flag) or Error (CLI11's message) for bad arguments.
TrainSetup resolveTrainArguments(const std::vector<std::string>& arguments);

class TrainCommand {
 public:
  explicit TrainCommand(CLI::App& parent);

  // Applies a --config file (or, for --resume DIR, DIR/run.json's config and analysis flags) found in
  // argv before CLI11 parses the flags, so that flags override it.
  void applyConfigFileFrom(int argc, const char* const* argv);
  bool selected() const { return command_->parsed(); }
  // Applies the string-valued flags and validates everything (ConfigError naming the flag). With
  // assignRunDirectory, a missing --out becomes WORKSPACE/runs/<time>-<model>.
  TrainSetup resolve(bool assignRunDirectory);
  // Resolves, runs the training and returns the exit code.
  int run();
  CLI::App& command() { return *command_; }

 private:
  CLI::App* command_;
  TrainConfig config_;
  std::string configFile_;
  std::string resumeDir_;
  std::string datasetName_;
  std::string scheduleName_;
  int analyzeEvery_ = 0;
  std::string workspaceDir_;
  std::vector<std::string> analysisFlagNames_;  // without the leading --
  nlohmann::json analysisConfig_;               // analysis keys of a --config file or a resumed run.json
  std::map<std::string, std::string> analysisSource_;  // key -> the file it came from, for messages
  std::string runName_;
  std::vector<std::string> tags_;
  // This process's place in a multi-process job: the environment (torchrun's variables) overridden
  // by these flags where given.
  DistributedOptions distributedFlags_;
  DistributedOptions distributedOptions() const;
  AnalysisFlagValues analysisFlags_;
};

}  // namespace samscape::cli

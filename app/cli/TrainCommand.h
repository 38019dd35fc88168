#pragma once
// `samscape-cli train`: a flag for every option of a run (session/RunSpec.h's table: training, and the
// analyses during training), --config and --resume as the layers under them, where the run is recorded,
// and this process's place in a multi-process job; then the run itself, through a RunSession, with a
// progress display.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/ExitCodes.h"
#include "cli/OptionFlags.h"
#include "core/train/DistributedOptions.h"
#include "session/RunSpec.h"

namespace samscape::cli {

class TrainCommand {
 public:
  explicit TrainCommand(CLI::App& parent);

  bool selected() const { return command_->parsed(); }
  // The run the flags describe, resolved and validated (ConfigError naming the flag).
  RunSpec resolve() const;
  // Resolves, runs the training and returns the exit code.
  int run();

 private:
  CLI::App* command_;
  OptionSettings settings_;
  RunSources sources_;
  // This process's place in a multi-process job: the environment (torchrun's variables) overridden
  // by these flags where given.
  OptionSettings distributedSettings_;
  DistributedOptions distributedOptions() const;
};

}  // namespace samscape::cli

#include "cli/TrainCommand.h"

#include <unistd.h>

#include <iostream>

#include "cli/AnalysisLog.h"
#include "cli/Interrupt.h"
#include "cli/StoreCommands.h"
#include "cli/TerminalProgress.h"
#include "core/Error.h"
#include "session/RunSession.h"

namespace samscape::cli {

TrainCommand::TrainCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("train", "Train a model (SGD, Adam, SAM, ASAM) and write its results to --out");
  auto* app = command_;
  // A flag given twice (or after --config) takes its last value, as in most command lines.
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->add_option("--config", sources_.configFile, "JSON file of flag values (keys are flag names); flags override it");
  app->add_option("--resume", sources_.resumeDirectory,
                  "Continue the run in DIR from its latest checkpoint (its run.json gives the config)");
  addOptionFlags(*app, runOptions(), settings_);
  addWorkspaceOption(*app, sources_.workspace);
  app->add_option("--name", sources_.name, "The run's name in the workspace (default: its directory's name)");
  app->add_option("--tag", sources_.tags, "A tag for the run in the workspace (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  // Several processes (see `samscape-cli launch`); each flag overrides torchrun's environment variable.
  addOptionFlags(*app, distributedOptionTable(), distributedSettings_);
}

DistributedOptions TrainCommand::distributedOptions() const {
  DistributedOptions options = distributedOptionsFromEnvironment();
  applyOptionSettings(options, distributedOptionTable(), distributedSettings_);
  return options;
}

RunSpec TrainCommand::resolve() const {
  RunSources sources = sources_;
  sources.settings = settings_;
  return resolveRunSpec(sources);
}

int TrainCommand::run() {
  const RunSpec spec = resolve();
  InterruptScope interrupt;
  AnalysisLog analysisLog;
  RunSessionOptions options;
  options.distributed = distributedOptions();
  options.cancel = interrupt.flag();
  options.analysisObserver = &analysisLog;
  RunSession session(spec, options);
  // Rank 0 shows the progress and what each analysis cost against the training, or why it was skipped
  // (--analysis-budget); the other ranks print only errors.
  analysisLog.showCosts(session.writesFiles());
  TerminalProgress progress(stderr, isatty(STDERR_FILENO) == 1);
  if (session.writesFiles()) {
    session.addObserver(&progress);
    std::cerr << "run directory " << session.spec().config.outDir << "\n";
    for (const WorkEstimate& estimate : session.longWork()) std::cerr << longWorkLine(estimate) << "\n";
  }
  const TrainingResult result = session.run();
  if (const auto costs = session.analysisCosts(); !costs.empty()) {
    std::cerr << analysisTotalLine(costs.back()) << "\n";
  }
  if (session.writesFiles()) {
    std::cout << "results in " << session.spec().config.outDir << "/ (run.json, metrics.csv, model.pt, checkpoints/)\n";
    std::cout << "recorded as run " << session.runId() << " in the workspace " << spec.workspace << "\n";
  }
  switch (result.status) {
    case RunStatus::Finished: return kExitOk;
    case RunStatus::Diverged: return kExitDiverged;
    case RunStatus::Cancelled: return kExitCancelled;
    default: return kExitInternalError;  // a trainer ends finished, diverged or cancelled
  }
}

}  // namespace samscape::cli

#include "cli/ExportCommand.h"

#include <iostream>

#include "cli/StoreCommands.h"
#include "cli/ExitCodes.h"
#include "core/store/RunExport.h"

namespace samscape::cli {

ExportCommand::ExportCommand(CLI::App& parent) {
  command_ = parent.add_subcommand(
      "export",
      "Write runs of the workspace as CSV: metrics.csv (tidy), runs.csv (one row per run), analysis.csv");
  command_->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  command_->add_option("RUN", runs_, "Runs to export, by id or name")
      ->required()
      ->expected(1, -1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_->add_option("--out", outDir_, "Directory to write the files into (created when missing)")
      ->required();
  addWorkspaceOption(*command_, workspace_);
}

int ExportCommand::run() {
  const auto store = openExistingWorkspace(workspace_);
  std::vector<std::int64_t> ids;
  for (const std::string& run : runs_) ids.push_back(store->findRun(run).id);
  const ExportSummary summary = exportRuns(*store, ids, outDir_);
  std::cout << "exported " << ids.size() << (ids.size() == 1 ? " run" : " runs") << " to " << outDir_
            << "/: " << summary.metricRows << " metric rows, " << summary.analysisRows << " analysis rows\n";
  for (const std::string& file : summary.files) std::cout << "  " << file << "\n";
  return kExitOk;
}

}  // namespace samscape::cli

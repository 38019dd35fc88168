#include "cli/StudyCommand.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli/ExitCodes.h"
#include "cli/Interrupt.h"
#include "cli/StoreCommands.h"
#include "cli/TerminalProgress.h"
#include "core/Error.h"
#include "core/store/Workspace.h"
#include "session/Study.h"
#include "session/StudySummary.h"
#ifdef SAMSCAPE_WITH_STUDY_FIGURE
#include "StudyFigure.h"
#endif

namespace samscape::cli {
namespace {

// A line per run on stdout; the epochs' progress (unless --quiet) on stderr.
class StudyProgress : public StudyObserver {
 public:
  StudyProgress(const StudySpec& spec, bool quiet)
      : spec_(spec), quiet_(quiet), progress_(stderr, isatty(STDERR_FILENO) == 1) {}
  void onRunStarting(std::size_t index, std::size_t total, const StudyRunSlot& slot, bool resuming) override {
    std::cout << "study " << spec_.name << ": run " << index + 1 << "/" << total << ": "
              << spec_.cells[slot.cellIndex].label << " seed " << slot.seed << (resuming ? " (resuming from its checkpoint)" : "")
              << std::endl;
  }
  void onRunEnded(std::size_t, std::size_t, const StudyRunSlot& slot, RunStatus status) override {
    std::cout << "  " << nameOf(status) << ": " << slot.directory << std::endl;
  }
  TrainingObserver* trainingObserver() override { return quiet_ ? nullptr : &progress_; }

 private:
  const StudySpec& spec_;
  bool quiet_;
  TerminalProgress progress_;
};

// study.csv, study-runs.csv and study-correlations.csv, and the figure where this build can draw one.
void writeStudyFiles(const StudySummary& summary, std::ostream& report) {
  writeStudyCsvFiles(summary);
  report << "wrote " << summary.directory << "/study.csv, study-runs.csv, study-correlations.csv";
#ifdef SAMSCAPE_WITH_STUDY_FIGURE
  for (const char* name : {"study.svg", "study.png"}) {
    const std::string problem = writeStudyFigure(summary, summary.directory + "/" + name);
    if (!problem.empty()) throw Error(problem);
  }
  report << ", study.svg and study.png";
#endif
  report << "\n";
}

}  // namespace

StudyCommand::StudyCommand(CLI::App& parent) {
  command_ = parent.add_subcommand(
      "study", "Run a study: a grid of run options times seeds, then mean, std and 95% CI per cell (study.csv, plot)");
  command_->require_subcommand(0, 1);
  command_->add_option("--config", configFile_, "The study file (JSON: study, claim, base, grid, cells, seeds, checks)");
  addWorkspaceOption(*command_, workspace_);
  command_->add_flag("--resume", resume_, "Continue the study: runs done are kept, a stopped run resumes from its checkpoint");
  command_->add_option("--threads", threads_, "CPU threads of every run (default: the study's, else every core)");
  command_->add_option("--device", device_, "Device of every run: cpu, cuda or cuda:N (default: the study's)");
  command_->add_option("--set", overrides_,
                       "KEY=VALUE: a run option for every run this call starts or resumes, over the study's "
                       "(e.g. --set data-dir=/data/cifar-10-batches-bin); repeatable")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command_->add_flag("--quiet", quiet_, "One line per run instead of every epoch's progress");

  summary_ = command_->add_subcommand("summary", "The summary of studies recorded in the workspace (all by default)");
  addWorkspaceOption(*summary_, workspace_);
  summary_->add_flag("--markdown", markdown_, "Print the \"What samscape reproduces\" table (Markdown)");
  summary_->add_flag("--no-files", noFiles_, "Only print; do not rewrite study.csv and the figures");
  summary_->add_option("names", names_, "Studies to summarize (their \"study\" names)");
}

int StudyCommand::run() {
  if (summary_->parsed()) return printSummaries();
  if (configFile_.empty()) throw ConfigError("--config", "", "study needs --config STUDY.json (or `study summary`)");
  return runStudyFile();
}

int StudyCommand::runStudyFile() {
  StudyOptions options;
  options.workspace = workspace_;
  options.resume = resume_;
  // How this call was asked to run, repeated in the hint to resume it.
  std::string extraFlags;
  for (const auto& override : overrides_) {
    const auto equals = override.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw ConfigError("--set", override, "expected KEY=VALUE with a run option's key, e.g. data-dir=/data/cifar10");
    }
    const std::string key = override.substr(0, equals);
    if (key == "seed" || key == "out" || key == "resume") {
      throw ConfigError("--set", override, "\"" + key + "\" is the study's to set");
    }
    options.extraSettings.emplace_back(key, override.substr(equals + 1));
    extraFlags += " --set " + override;
  }
  if (!threads_.empty()) {
    options.extraSettings.emplace_back("threads", threads_);
    extraFlags += " --threads " + threads_;
  }
  if (!device_.empty()) {
    options.extraSettings.emplace_back("device", device_);
    extraFlags += " --device " + device_;
  }
  // --set, --threads and --device are checked with every cell as the file is read.
  StudyParseOptions parse;
  parse.extraSettings = options.extraSettings;
  const StudySpec spec = readStudySpec(configFile_, parse);
  for (const auto& [key, value] : options.extraSettings) {
    if (std::find(spec.gridKeys.begin(), spec.gridKeys.end(), key) != spec.gridKeys.end()) {
      throw ConfigError("--set", key + "=" + value, "\"" + key + "\" is what the study's cells vary: it cannot be set for all of them");
    }
  }
  InterruptScope interrupt;
  options.cancel = interrupt.flag();
  StudyProgress progress(spec, quiet_);
  options.observer = &progress;
  std::cout << "study " << spec.name << ": " << spec.cells.size() << " cells x " << spec.seeds.size() << " seeds = "
            << spec.runCount() << " runs" << std::endl;
  const StudyOutcome outcome = runStudy(spec, options);
  if (outcome.skipped > 0) std::cout << "kept " << outcome.skipped << " runs done earlier\n";
  const StudySummary summary = summarizeStudy(spec, outcome.workspace);
  std::cout << studyTableText(summary);
  writeStudyFiles(summary, std::cout);
  if (outcome.cancelled) {
    std::cout << "stopped: continue with " << studyCommand(summary) << extraFlags << " --resume\n";
    return kExitCancelled;
  }
  return kExitOk;
}

int StudyCommand::printSummaries() {
  const std::string workspace = Workspace::resolve(workspace_).directory().string();
  std::vector<std::string> names = names_.empty() ? recordedStudies(workspace) : names_;
  if (names.empty()) throw ConfigError("--workspace", workspace, "no studies recorded there (WORKSPACE/studies/*/study.json)");
  std::vector<StudySummary> summaries;
  for (const auto& name : names) summaries.push_back(summarizeRecordedStudy(workspace, name));
  if (markdown_) {
    std::cout << reproducesMarkdown(summaries) << "\n" << correlationsMarkdown(summaries);
  } else {
    for (const auto& summary : summaries) std::cout << studyTableText(summary) << "\n";
  }
  if (!noFiles_) {
    // The table goes to stdout as printed (for the README); where the files went, to stderr.
    for (const auto& summary : summaries) writeStudyFiles(summary, markdown_ ? std::cerr : std::cout);
  }
  return kExitOk;
}

}  // namespace samscape::cli

#include "cli/RunsCommand.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>

#include "cli/StoreCommands.h"
#include "cli/ExitCodes.h"
#include "core/Error.h"
#include "core/NumberFormat.h"
#include "core/store/RunExport.h"

namespace samscape::cli {
namespace {

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::string label(const RunRecord& run) { return "run " + std::to_string(run.id) + " (" + run.name + ")"; }

std::string prettyJson(const std::string& text) {
  try {
    return nlohmann::json::parse(text).dump(2);
  } catch (const nlohmann::json::exception&) {
    return text;
  }
}

}  // namespace

RunsCommand::RunsCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("runs", "List, inspect, tag, annotate and delete the runs of a workspace");
  command_->require_subcommand(1);
  command_->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  list_ = command_->add_subcommand("list",
                                   "One line per run: id, status, epochs, final test accuracy, name, tags");
  list_->add_option("FILTER", filterText_, "Only runs whose name contains this text");
  list_->add_option("--tag", filterTag_, "Only runs with this tag");
  list_->add_option("--status", filterStatus_, "Only runs with this status (queued, running, finished, ...)");

  show_ = command_->add_subcommand("show", "A run's record, config, metrics per epoch and analyses");
  show_->add_option("RUN", run_, "Run id or name")->required();

  tag_ = command_->add_subcommand("tag", "Add tags to a run (or remove them with --remove)");
  tag_->add_option("RUN", run_, "Run id or name")->required();
  tag_->add_option("TAG", tags_, "Tags")
      ->required()
      ->expected(1, -1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  tag_->add_flag("--remove", removeTags_, "Remove these tags instead");

  note_ = command_->add_subcommand("note", "Replace a run's notes");
  note_->add_option("RUN", run_, "Run id or name")->required();
  note_->add_option("TEXT", notes_, "The notes (quote them; \"\" clears)")->required();

  delete_ =
      command_->add_subcommand("delete", "Delete a run from the store, with its files in the workspace");
  delete_->add_option("RUN", run_, "Run id or name")->required();
  delete_->add_flag("--yes,-y", yes_, "Do not ask for confirmation");
  delete_->add_flag("--remove-outside", removeOutside_,
                    "Also remove the run's directory and files when they lie outside the workspace");

  for (CLI::App* sub : {list_, show_, tag_, note_, delete_}) {
    sub->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    addWorkspaceOption(*sub, workspace_);
  }
}

int RunsCommand::run() {
  if (list_->parsed()) return list();
  if (show_->parsed()) return show();
  if (tag_->parsed()) return tag();
  if (note_->parsed()) return note();
  if (delete_->parsed()) return remove();
  return kExitUsage;
}

int RunsCommand::list() {
  RunFilter filter{filterText_, filterTag_, std::nullopt};
  if (!filterStatus_.empty()) {
    filter.status = valueNamed<RunStatus>(filterStatus_);
    if (!filter.status) throw ConfigError("--status", filterStatus_, "expected one of " + joinNames(allNames<RunStatus>()));
  }
  const auto store = openExistingWorkspace(workspace_);
  const auto runs = store->listRuns(filter);
  std::cout << std::left << std::setw(6) << "id" << std::setw(12) << "status" << std::setw(8) << "epochs"
            << std::setw(10) << "test_acc" << std::setw(22) << "created"
            << "name [tags]\n";
  for (const RunRecord& run : runs) {
    const auto epochs = store->metrics(run.id);
    const std::string accuracy = epochs.empty() ? "-" : shortNumber(epochs.back().testAccuracy);
    std::cout << std::setw(6) << run.id << std::setw(12) << run.status << std::setw(8) << epochs.size()
              << std::setw(10) << accuracy << std::setw(22) << run.createdAt << run.name;
    if (!run.tags.empty()) std::cout << " [" << joined(run.tags, ", ") << "]";
    std::cout << "\n";
  }
  if (runs.empty()) std::cerr << "no runs in " << store->workspace().directory().string() << "\n";
  return kExitOk;
}

int RunsCommand::show() {
  const auto store = openExistingWorkspace(workspace_);
  const RunRecord run = store->findRun(run_);
  std::cout << "run " << run.id << ": " << run.name << "\n"
            << "  status    " << run.status << (run.message.empty() ? "" : " (" + run.message + ")") << "\n"
            << "  tags      " << joined(run.tags, ", ") << "\n"
            << "  notes     " << run.notes << "\n"
            << "  directory " << run.outDir << "\n"
            << "  device    " << run.device << "\n"
            << "  created   " << run.createdAt << "\n"
            << "  started   " << run.startedAt << "\n"
            << "  finished  " << run.finishedAt << "\n"
            << "  seconds   " << shortNumber(run.seconds) << "\n"
            << "config\n"
            << prettyJson(run.configJson) << "\n"
            << "versions " << run.versionsJson << "\n"
            << "details " << run.detailsJson << "\n";

  const auto epochs = store->metrics(run.id);
  bool validation = false;
  bool memorization = false;  // a --label-noise run's
  for (const auto& m : epochs) {
    validation = validation || m.validationLoss.has_value();
    memorization = memorization || m.trainAccuracyNoisy.has_value();
  }
  std::cout << "metrics (" << epochs.size() << " epochs)\n";
  if (!epochs.empty()) {
    std::cout << "  epoch,train_loss,train_acc,test_loss,test_acc" << (validation ? ",val_loss,val_acc" : "")
              << (memorization ? ",train_acc_noisy,train_acc_clean,train_acc_noisy_true" : "") << ",lr,seconds\n";
    for (const auto& m : epochs) {
      std::cout << "  " << m.epoch << ',' << formatNumber(m.trainLoss) << ',' << formatNumber(m.trainAccuracy)
                << ',' << formatNumber(m.testLoss) << ',' << formatNumber(m.testAccuracy);
      if (validation) {
        std::cout << ',' << (m.validationLoss ? formatNumber(*m.validationLoss) : "") << ','
                  << (m.validationAccuracy ? formatNumber(*m.validationAccuracy) : "");
      }
      if (memorization) {
        const auto cell = [](const std::optional<double>& value) { return value ? formatNumber(*value) : std::string(); };
        std::cout << ',' << cell(m.trainAccuracyNoisy) << ',' << cell(m.trainAccuracyClean) << ','
                  << cell(m.trainAccuracyNoisyTrue);
      }
      std::cout << ',' << formatNumber(m.learningRate) << ',' << formatNumber(m.seconds) << "\n";
    }
  }
  const auto analyses = store->analyses(run.id);
  std::cout << "analyses (" << analyses.size() << ")\n";
  for (const auto& analysis : analyses) {
    std::cout << "  " << analysis.kind << " at "
              << (analysis.epoch ? "epoch " + std::to_string(*analysis.epoch) : std::string("the end"))
              << ": " << analysis.valuesJson << "\n";
    for (const auto& file : analysis.files) std::cout << "    " << file.role << ": " << file.path << "\n";
  }
  return kExitOk;
}

int RunsCommand::tag() {
  const auto store = openExistingWorkspace(workspace_);
  const RunRecord run = store->findRun(run_);
  if (removeTags_) {
    store->removeTags(run.id, tags_);
  } else {
    store->addTags(run.id, tags_);
  }
  std::cout << label(run) << " tags: " << joined(store->run(run.id).tags, ", ") << "\n";
  return kExitOk;
}

int RunsCommand::note() {
  const auto store = openExistingWorkspace(workspace_);
  const RunRecord run = store->findRun(run_);
  store->setNotes(run.id, notes_);
  std::cout << label(run) << " notes set\n";
  return kExitOk;
}

int RunsCommand::remove() {
  const auto store = openExistingWorkspace(workspace_);
  const RunRecord run = store->findRun(run_);
  if (!yes_) {
    if (isatty(STDIN_FILENO) != 1) {
      throw Error("runs delete: stdin is not a terminal, so nobody can confirm; pass --yes to delete " +
                  label(run) + " and its files");
    }
    std::cout << "Delete " << label(run) << " and its files";
    if (!run.outDir.empty()) std::cout << " (" << run.outDir << ")";
    std::cout << "? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "nothing deleted\n";
      return kExitOk;
    }
  }
  const DeletionReport report =
      store->deleteRun(run.id, removeOutside_ ? OutsideFiles::Remove : OutsideFiles::Keep);
  std::cout << "deleted " << label(run) << "\n";
  for (const auto& path : report.removed) std::cout << "  removed " << path << "\n";
  for (const auto& path : report.kept) {
    std::cout << "  kept " << path
              << (removeOutside_ ? " (not a run directory)\n"
                                 : " (outside the workspace; --remove-outside removes it)\n");
  }
  return kExitOk;
}

}  // namespace samscape::cli

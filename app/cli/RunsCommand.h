#pragma once
// `samscape-cli runs list|show|tag|note|delete`: the runs of a workspace's store.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace samscape::cli {

class RunsCommand {
 public:
  explicit RunsCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  // Runs the chosen subcommand and returns the exit code.
  int run();

 private:
  int list();
  int show();
  int tag();
  int note();
  int remove();

  CLI::App* command_;
  CLI::App* list_;
  CLI::App* show_;
  CLI::App* tag_;
  CLI::App* note_;
  CLI::App* delete_;
  std::string workspace_;
  std::string run_;
  std::string filterText_;
  std::string filterTag_;
  std::string filterStatus_;
  std::vector<std::string> tags_;
  bool removeTags_ = false;
  std::string notes_;
  bool yes_ = false;
  bool removeOutside_ = false;
};

}  // namespace samscape::cli

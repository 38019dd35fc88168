#pragma once
// `samscape-cli export RUN... --out DIR`: runs of a workspace as CSV files (see core/store/RunExport.h).

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace samscape::cli {

class ExportCommand {
 public:
  explicit ExportCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  int run();

 private:
  CLI::App* command_;
  std::string workspace_;
  std::vector<std::string> runs_;
  std::string outDir_;
};

}  // namespace samscape::cli

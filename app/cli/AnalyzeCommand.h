#pragma once
// `samscape-cli analyze`: flatness analyses of a saved run (--checkpoint) or a TorchScript model
// (--model-file) on a dataset split, written to --out DIR/analysis.json and companion files (see
// analysis/AnalysisSession.h). Ctrl-C stops it cleanly, keeping what had finished.

#include <string>

#include <CLI/CLI.hpp>

#include "analysis/AnalysisSession.h"
#include "cli/OptionFlags.h"

namespace samscape::cli {

class AnalyzeCommand {
 public:
  explicit AnalyzeCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  int run();

 private:
  CLI::App* command_;
  OptionSettings settings_;  // the analysis options given, applied in run()
  std::string checkpoint_;
  std::string modelFile_;
  std::string dataset_;  // empty: the run's
  std::string dataDir_;  // empty: the run's (or the default)
  bool noNormalize_ = false;
  int threads_ = 0;
  std::string outDir_;
  std::string workspaceDir_;

  void recordInWorkspace(const AnalysisModel& model, const AnalysisResults& results) const;
};

}  // namespace samscape::cli

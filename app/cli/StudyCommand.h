#pragma once
// `samscape-cli study --config STUDY.json [--workspace W] [--resume]`: runs a study (session/Study.h),
// every run of it a normal recorded run, then prints its summary and writes study.csv, study-runs.csv
// and, in builds with Qt, study.svg and study.png into WORKSPACE/studies/<name>/.
// `samscape-cli study summary [--workspace W] [--markdown] [NAME...]`: the summary of recorded studies
// as they stand (a study in progress included); --markdown prints the README's "What samscape
// reproduces" table.

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace samscape::cli {

class StudyCommand {
 public:
  explicit StudyCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  int run();

 private:
  int runStudyFile();
  int printSummaries();

  CLI::App* command_;
  CLI::App* summary_;
  std::string configFile_;
  std::string workspace_;
  bool resume_ = false;
  bool quiet_ = false;
  std::string threads_;  // passed on as typed: the run option table checks it
  std::string device_;
  std::vector<std::string> overrides_;  // --set KEY=VALUE
  bool markdown_ = false;
  bool noFiles_ = false;
  std::vector<std::string> names_;
};

}  // namespace samscape::cli

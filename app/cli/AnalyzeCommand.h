#pragma once
// `samscape-cli analyze`: flatness analyses of a saved run (--checkpoint) or a TorchScript model
// (--model-file) on a dataset split, written to --out DIR/analysis.json and companion files.

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "core/data/DatasetLoader.h"

namespace samscape::cli {

struct AnalyzeOptions {
  std::string checkpoint;
  std::string modelFile;
  std::string dataset;  // empty: the run's
  std::string dataDir;  // empty: the run's (or the default)
  bool noNormalize = false;
  std::string split = "test";
  std::int64_t subset = 1000;
  std::string device = "cpu";
  int threads = 0;
  std::int64_t batchSize = 256;
  int hessianTop = 0;
  double tolerance = 1e-4;
  bool eigenvectors = false;
  bool trace = false;
  int traceProbes = 100;
  bool esd = false;
  int esdProbes = 10;
  int esdSteps = 80;
  bool mSharpness = false;
  std::int64_t m = 128;
  double rho = 0.05;
  int ascentSteps = 1;
  bool slice = false;
  int grid = 51;
  std::string range = "-1:1";
  std::string directions;
  std::string interpolate;
  int interpolatePoints = 41;
  std::string interpolateRange = "-0.5:1.5";
  bool trajectory = false;
  std::uint64_t seed = 0;
  bool singlePrecision = false;
  std::string outDir;
};

class AnalyzeCommand {
 public:
  explicit AnalyzeCommand(CLI::App& parent);
  bool selected() const { return command_->parsed(); }
  int run();

 private:
  CLI::App* command_;
  AnalyzeOptions options_;
};

}  // namespace samscape::cli

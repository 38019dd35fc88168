#pragma once
// The analysis flags that `analyze` and `train --analyze-every` share, registered in one place so that
// both commands spell and document them the same way.

#include <string>

#include <CLI/CLI.hpp>

#include "analysis/AnalysisJob.h"

namespace samscape::cli {

// Where the two commands differ: `train` already has --m, --rho, --seed, --batch-size, --device and
// --out for training, so its m-sharpness flags are --sharpness-m and --sharpness-rho, and the rest
// come from the run.
enum class AnalysisFlagSet { Analyze, Train };

struct AnalysisFlagValues {
  AnalysisRequest request;
  std::string range = "-1:1";
  std::string interpolateRange = "-0.5:1.5";
};

void addAnalysisFlags(CLI::App& command, AnalysisFlagValues& values, AnalysisFlagSet set);

// Applies the string-valued flags (the ranges) and whether --subset was given; validates the request.
void finishAnalysisFlags(const CLI::App& command, AnalysisFlagValues& values);

}  // namespace samscape::cli

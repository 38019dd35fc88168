#pragma once
// One metric as every view, summary and export names it: the curves page, the study summary and its
// page, the figures and the CSV exports all take its key, label and unit from here, so that a metric
// is spelled one way everywhere ("m_sharpness" in files, "m-sharpness" on screen, never a third way).
// Training metrics are defined in core/train/TrainingMetrics.h, each analysis' metrics by its stage
// (analysis/stages/); analysis/Metrics.h lists them all. Plain C++.

#include <string>

namespace samscape {

struct MetricDefinition {
  enum class Better { Lower, Higher, Neither };

  std::string key;     // in study files, CSV columns and analysis values: "test_acc", "lambda_max"
  std::string label;   // on axes, in legends and table headers: "test accuracy", "lambda_max"
  std::string unit;    // empty for a dimensionless number; "s" for seconds
  std::string source;  // where the value is read from, for tooltips and the docs
  Better better = Better::Neither;
  bool perEpoch = false;  // one value per training epoch (metrics.csv); otherwise one per analysis
  // Drawn only from analyses that ran to the end (a cancelled one's loss is not the analysed set's).
  bool onlyWhenComplete = false;
  // Summarized per study cell over its seeds (session/StudySummary: study.csv, the study page, checks).
  bool inStudies = false;
};

}  // namespace samscape

#pragma once
// Every metric samscape shows, summarizes or exports, each defined once (core/MetricDefinition.h): the
// training metrics (core/train/TrainingMetrics.h), then each registered analysis stage's. The curves
// page, the study summary and its page, the study figures and the exports take keys, labels and units
// from here. Plain C++.

#include <optional>
#include <string>
#include <vector>

#include "analysis/AnalysisResults.h"
#include "core/MetricDefinition.h"
#include "core/train/EpochMetrics.h"

namespace samscape {

const std::vector<MetricDefinition>& allMetrics();
// The analysis stages' metrics only, in stage order.
const std::vector<MetricDefinition>& analysisMetrics();
// nullptr for an unknown key.
const MetricDefinition* findMetric(const std::string& key);
// Throws Error naming the key and the known ones.
const MetricDefinition& metricDefinition(const std::string& key);

// A metric's value in one epoch's row (training metrics) or one analysis (the stages'); nullopt where
// it was not measured (and, for a metric onlyWhenComplete, in an analysis that did not complete).
std::optional<double> metricValue(const MetricDefinition& metric, const EpochMetrics& epoch);
std::optional<double> metricValue(const MetricDefinition& metric, const AnalysisResults& analysis);

// "lambda_max", or "epoch time (s)" with its unit.
std::string metricLabelWithUnit(const MetricDefinition& metric);

}  // namespace samscape

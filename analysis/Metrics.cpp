#include "analysis/Metrics.h"

#include "analysis/stages/AnalysisStage.h"
#include "core/Error.h"
#include "core/train/TrainingMetrics.h"

namespace samscape {

const std::vector<MetricDefinition>& analysisMetrics() {
  static const std::vector<MetricDefinition> metrics = [] {
    std::vector<MetricDefinition> list;
    for (const auto& stage : analysisStages()) {
      for (MetricDefinition metric : stage->metrics()) {
        metric.perEpoch = false;
        list.push_back(std::move(metric));
      }
    }
    return list;
  }();
  return metrics;
}

const std::vector<MetricDefinition>& allMetrics() {
  static const std::vector<MetricDefinition> metrics = [] {
    std::vector<MetricDefinition> list = trainingMetrics();
    list.insert(list.end(), analysisMetrics().begin(), analysisMetrics().end());
    return list;
  }();
  return metrics;
}

const MetricDefinition* findMetric(const std::string& key) {
  for (const auto& metric : allMetrics()) {
    if (metric.key == key) return &metric;
  }
  return nullptr;
}

const MetricDefinition& metricDefinition(const std::string& key) {
  if (const MetricDefinition* metric = findMetric(key)) return *metric;
  std::string known;
  for (const auto& metric : allMetrics()) known += (known.empty() ? "" : ", ") + metric.key;
  throw Error("unknown metric \"" + key + "\" (known: " + known + ")");
}

std::optional<double> metricValue(const MetricDefinition& metric, const EpochMetrics& epoch) {
  if (!metric.perEpoch) return std::nullopt;
  return trainingMetricValue(metric.key, epoch);
}

std::optional<double> metricValue(const MetricDefinition& metric, const AnalysisResults& analysis) {
  if (metric.perEpoch) return std::nullopt;
  if (metric.onlyWhenComplete && !analysis.complete()) return std::nullopt;
  return analysis.metric(metric.key);
}

std::string metricLabelWithUnit(const MetricDefinition& metric) {
  return metric.unit.empty() ? metric.label : metric.label + " (" + metric.unit + ")";
}

}  // namespace samscape

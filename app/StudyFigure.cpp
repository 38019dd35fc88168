#include "StudyFigure.h"

#include <algorithm>
#include <cmath>

#include "analysis/Metrics.h"

namespace samscape {

viz::StudyChartData studyChartData(const StudySummary& summary) {
  std::vector<std::string> metrics{"test_acc"};
  for (const auto& check : summary.spec.checks) {
    if (std::find(metrics.begin(), metrics.end(), check.metric) == metrics.end()) metrics.push_back(check.metric);
  }
  if (summary.spec.checks.empty()) {
    // Without checks: the two sharpness measures of the paper's claims, where the runs measured them.
    for (const std::string name : {"lambda_max", "m_sharpness"}) {
      for (const auto& cell : summary.cells) {
        if (cell.metrics.at(name).count > 0 && std::find(metrics.begin(), metrics.end(), name) == metrics.end()) {
          metrics.push_back(name);
        }
      }
    }
  }
  viz::StudyChartData data;
  data.title = QString::fromStdString(summary.spec.name + (summary.spec.claim.empty() ? "" : ": " + summary.spec.claim));
  for (const auto& metric : metrics) {
    viz::StudyChartPanel panel;
    panel.title = QString::fromStdString(metricLabelWithUnit(metricDefinition(metric)) + " (mean, 95% CI, seeds)");
    for (std::size_t c = 0; c < summary.spec.cells.size(); ++c) {
      const SampleSummary& stats = summary.cells[c].metrics.at(metric);
      viz::StudyChartBar bar;
      bar.label = QString::fromStdString(summary.spec.cells[c].label);
      bar.mean = stats.mean;
      bar.low = stats.ci95Low;
      bar.high = stats.ci95High;
      for (const auto& run : summary.runs) {
        if (run.slot.cellIndex == c && run.state == StudyRunState::Done) bar.values.push_back(run.metrics.at(metric));
      }
      bar.note = QStringLiteral("%1/%2 seeds").arg(summary.cells[c].done).arg(summary.spec.seeds.size());
      panel.bars.push_back(std::move(bar));
    }
    data.panels.push_back(std::move(panel));
  }
  return data;
}

std::string writeStudyFigure(const StudySummary& summary, const std::string& path) {
  return viz::writeStudyChart(studyChartData(summary), QString::fromStdString(path)).toStdString();
}

}  // namespace samscape

#include "StudyFigure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "analysis/Metrics.h"

namespace samscape {

viz::StudyChartData studyChartData(const StudySummary& summary, bool correlations) {
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
  // A check along a numeric option (Table 4's shape: SAM - SGD grows with the label noise) shows its two
  // selectors as curves over that option, each cell's mean with its interval.
  const StudyCheck* along = nullptr;
  for (const auto& check : summary.spec.checks) {
    if (check.kind == StudyCheck::Kind::DifferenceIncreasing) along = &check;
  }
  auto barOf = [&](std::size_t c, const std::string& metric) {
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
    return bar;
  };
  for (const auto& metric : metrics) {
    viz::StudyChartPanel panel;
    panel.title = QString::fromStdString(metricLabelWithUnit(metricDefinition(metric)) + " (mean, 95% CI, seeds)");
    if (along != nullptr) {
      panel.xTitle = QString::fromStdString(along->along);
      for (const nlohmann::json* selector : {&along->first, &along->second}) {
        viz::StudyChartLine curve;
        curve.name = QString::fromStdString(studySelectorLabel(*selector));
        for (double value : studyCheckAlongValues(summary.spec, *along)) {
          nlohmann::json at = *selector;
          at[along->along] = value;
          const auto cells = studyCellsMatching(summary.spec, at);
          if (cells.size() != 1 || cells.front() >= summary.cells.size()) continue;
          curve.xs.push_back(value);
          curve.points.push_back(barOf(cells.front(), metric));
        }
        panel.lines.push_back(std::move(curve));
      }
      data.panels.push_back(std::move(panel));
      continue;
    }
    for (std::size_t c = 0; c < summary.spec.cells.size(); ++c) panel.bars.push_back(barOf(c, metric));
    data.panels.push_back(std::move(panel));
  }
  if (!correlations) return data;
  for (const StudyCorrelation& entry : summary.correlations.entries) {
    if (entry.target != GeneralizationTarget::LossGap) continue;
    viz::StudyChartPanel panel;
    panel.scatter = true;
    const std::string label = sharpnessMeasureLabel(entry.measure);
    std::string value = correlationValueText(entry);
    if (entry.enoughRuns() && std::isfinite(entry.tau.tau)) {
      char text[96];
      std::snprintf(text, sizeof text, "tau-b %.2f [%.2f, %.2f], n=%zu", entry.tau.tau, entry.tau.ci95Low,
                    entry.tau.ci95High, entry.points.size());
      value = text;
    }
    panel.title = QString::fromStdString(label + " vs gap: " + value);
    panel.xTitle = QString::fromStdString(label);
    panel.yTitle = QString::fromStdString(std::string(generalizationTargetLabel(entry.target)) +
                                          (summary.correlations.trainLoss == StudyCorrelations::TrainLoss::Analysis
                                               ? " (analysis)"
                                               : " (mini-batch)"));
    for (const auto& point : entry.points) panel.points.push_back({point.measure, point.target, point.cellIndex});
    for (const auto& cell : summary.spec.cells) panel.cells.push_back(QString::fromStdString(cell.label));
    data.panels.push_back(std::move(panel));
  }
  return data;
}

std::string writeStudyFigure(const StudySummary& summary, const std::string& path) {
  return viz::writeStudyChart(studyChartData(summary, true), QString::fromStdString(path)).toStdString();
}

}  // namespace samscape

#include "session/StudyCorrelation.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "analysis/Metrics.h"
#include "core/store/RunExport.h"
#include "session/StudySummary.h"

namespace samscape {
namespace {

std::string fixed3(double value) {
  if (!std::isfinite(value)) return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << value;
  return out.str();
}

std::string csvNumber(double value) {
  if (!std::isfinite(value)) return "";
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}

// The runs pooled: done with their files read, and not diverged (a diverged run's numbers are those of
// a broken model, as in the cells' summaries).
bool pooled(const StudyRunResult& run) {
  return run.state == StudyRunState::Done && run.problem.empty() && run.status != RunStatus::Diverged;
}

}  // namespace

const std::vector<std::string>& sharpnessMeasureKeys() {
  // The measures Andriushchenko et al. (2023) compare, as samscape's stages name them: the top Hessian
  // eigenvalue, its trace, SAM's m-sharpness, and adaptive sharpness (Kwon et al. 2021) in l2 and linf.
  static const std::vector<std::string> keys{"lambda_max", "trace", "m_sharpness", "adaptive_sharpness_l2",
                                             "adaptive_sharpness_linf"};
  return keys;
}

const char* generalizationTargetKey(GeneralizationTarget target) {
  return target == GeneralizationTarget::LossGap ? "loss_gap" : "test_error";
}

const char* generalizationTargetLabel(GeneralizationTarget target) {
  return target == GeneralizationTarget::LossGap ? "test loss - train loss"
                                                 : "test error (1 - test accuracy)";
}

std::string sharpnessMeasureLabel(const std::string& key) {
  const MetricDefinition* metric = findMetric(key);
  return metric == nullptr ? key : metric->label;
}

StudyCorrelations studyCorrelations(const std::vector<StudyRunResult>& runs) {
  StudyCorrelations result;
  // One train-loss source for every run: the analyses' when all of them ran on the train split (the
  // weights the test loss was measured at, evaluation mode), else metrics.csv's for all. A mix would
  // rank runs partly by which number their loss came from.
  bool allAnalysed = true;
  for (const auto& run : runs) {
    if (!pooled(run)) continue;
    ++result.runs;
    if (run.analysisSplit == "train" && std::isfinite(run.analysisLoss)) {
      result.analysisExamples = std::max(result.analysisExamples, run.analysisExamples);
    } else {
      allAnalysed = false;
    }
  }
  result.trainLoss = allAnalysed && result.runs > 0 ? StudyCorrelations::TrainLoss::Analysis
                                                    : StudyCorrelations::TrainLoss::MetricsCsv;
  if (result.trainLoss == StudyCorrelations::TrainLoss::MetricsCsv) result.analysisExamples = 0;

  for (const std::string& key : sharpnessMeasureKeys()) {
    bool present = false;
    for (const auto& run : runs) {
      const auto value = run.sharpness.find(key);
      present = present || (pooled(run) && value != run.sharpness.end() && std::isfinite(value->second));
    }
    if (!present) continue;
    for (GeneralizationTarget target : {GeneralizationTarget::LossGap, GeneralizationTarget::TestError}) {
      StudyCorrelation correlation;
      correlation.measure = key;
      correlation.target = target;
      for (std::size_t r = 0; r < runs.size(); ++r) {
        const StudyRunResult& run = runs[r];
        if (!pooled(run)) continue;
        const auto found = run.sharpness.find(key);
        if (found == run.sharpness.end()) continue;
        const auto testLoss = run.metrics.find("test_loss");
        const auto testAccuracy = run.metrics.find("test_acc");
        double y = std::numeric_limits<double>::quiet_NaN();
        if (target == GeneralizationTarget::LossGap && testLoss != run.metrics.end()) {
          const double trainLoss = result.trainLoss == StudyCorrelations::TrainLoss::Analysis
                                       ? run.analysisLoss
                                       : run.minibatchTrainLoss;
          y = testLoss->second - trainLoss;
        } else if (target == GeneralizationTarget::TestError && testAccuracy != run.metrics.end()) {
          y = 1.0 - testAccuracy->second;
        }
        if (!std::isfinite(found->second) || !std::isfinite(y)) continue;
        correlation.points.push_back({r, run.slot.cellIndex, found->second, y});
      }
      if (correlation.enoughRuns()) {
        std::vector<double> xs, ys;
        for (const auto& point : correlation.points) {
          xs.push_back(point.measure);
          ys.push_back(point.target);
        }
        correlation.tau =
            kendallTauWithBootstrap(xs, ys, StudyCorrelation::kResamples, StudyCorrelation::kSeed);
      }
      result.entries.push_back(std::move(correlation));
    }
  }
  return result;
}

std::string trainLossSourceText(const StudyCorrelations& correlations) {
  if (correlations.trainLoss == StudyCorrelations::TrainLoss::Analysis) {
    return "train loss: the last analysis's, on the train split (" +
           std::to_string(correlations.analysisExamples) +
           " examples, evaluation mode, labels as trained on)";
  }
  return "train loss: metrics.csv train_loss (the last epoch's mini-batches, before each step, training "
         "mode; "
         "not every run's last analysis is on the train split)";
}

std::string correlationMethodText() {
  return "Kendall's tau-b over the runs of all cells; 95% bootstrap percentile interval, " +
         std::to_string(StudyCorrelation::kResamples) + " resamples of the runs, seed " +
         std::to_string(StudyCorrelation::kSeed);
}

std::string correlationValueText(const StudyCorrelation& correlation) {
  const std::size_t n = correlation.points.size();
  if (!correlation.enoughRuns()) {
    return "too few runs (" + std::to_string(n) + " " + (n == 1 ? "has" : "have") + " it; " +
           std::to_string(StudyCorrelation::kMinimumRuns) + " needed)";
  }
  const RankCorrelation& tau = correlation.tau;
  if (!std::isfinite(tau.tau))
    return "undefined: every run ties in one of the two, " + std::to_string(n) + " runs";
  return "tau-b " + fixed3(tau.tau) + " [" + fixed3(tau.ci95Low) + ", " + fixed3(tau.ci95High) + "], " +
         std::to_string(n) + " runs";
}

std::string studyCorrelationsCsv(const StudyCorrelations& correlations) {
  std::ostringstream out;
  out << "measure,target,runs,tau_b,ci95_low,ci95_high,resamples,defined_resamples,seed,train_loss\n";
  const char* source =
      correlations.trainLoss == StudyCorrelations::TrainLoss::Analysis ? "analysis" : "metrics.csv";
  for (const auto& entry : correlations.entries) {
    out << csvField(entry.measure) << "," << generalizationTargetKey(entry.target) << ","
        << entry.points.size();
    if (entry.enoughRuns()) {
      out << "," << csvNumber(entry.tau.tau) << "," << csvNumber(entry.tau.ci95Low) << ","
          << csvNumber(entry.tau.ci95High) << "," << entry.tau.resamples << "," << entry.tau.definedResamples
          << "," << entry.tau.seed;
    } else {
      out << ",,,,,,";
    }
    out << "," << source << "\n";
  }
  return out.str();
}

std::string studyCorrelationsText(const StudyCorrelations& correlations) {
  std::ostringstream out;
  out << "sharpness against generalization (" << correlationMethodText() << "):\n";
  if (correlations.entries.empty()) {
    out << "  no run measured a sharpness measure (lambda_max, trace, m_sharpness, adaptive sharpness) at "
           "its last analysis\n";
    return out.str();
  }
  out << "  " << trainLossSourceText(correlations) << "\n";
  for (const auto& entry : correlations.entries) {
    out << "  " << std::left << std::setw(24) << sharpnessMeasureLabel(entry.measure) << " vs "
        << std::setw(30) << generalizationTargetLabel(entry.target) << " " << correlationValueText(entry)
        << "\n";
  }
  return out.str();
}

std::string correlationsMarkdown(const std::vector<StudySummary>& summaries) {
  std::ostringstream out;
  out << "| Study | Sharpness | Against | Kendall's tau-b [95% CI] | Train loss from |\n";
  out << "|---|---|---|---|---|\n";
  for (const auto& summary : summaries) {
    const auto& correlations = summary.correlations;
    if (correlations.entries.empty()) {
      out << "| " << summary.spec.name << " | (no sharpness measured) | | | |\n";
      continue;
    }
    const std::string source =
        correlations.trainLoss == StudyCorrelations::TrainLoss::Analysis
            ? "analysis, train split (" + std::to_string(correlations.analysisExamples) + " examples)"
            : "metrics.csv (mini-batches)";
    for (const auto& entry : correlations.entries) {
      out << "| " << summary.spec.name << " | " << sharpnessMeasureLabel(entry.measure) << " | "
          << generalizationTargetLabel(entry.target) << " | " << correlationValueText(entry) << " | "
          << (entry.target == GeneralizationTarget::LossGap ? source : std::string("(not used)")) << " |\n";
    }
  }
  out << "\n" << correlationMethodText() << ".\n";
  return out.str();
}

}  // namespace samscape

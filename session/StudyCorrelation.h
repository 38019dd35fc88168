#pragma once
// Does flatness predict generalization in this study? Kendall's rank correlation tau-b (core/Statistics.h)
// between each sharpness measure the study's runs have and their generalization, with its 95% bootstrap
// percentile interval over the runs. The runs of every cell are pooled: the question of Andriushchenko
// et al. (2023, "A modern look at the relationship between sharpness and generalization") and Jiang et
// al. (2020, "Fantastic generalization measures and where to find them") is whether the measure ranks
// models trained with different hyperparameters as their generalization does, not whether it
// separates two optimizers' means (the checks do that).
//
// Per run (done, its files readable, not diverged: a diverged run's numbers are a broken model's):
//   the measure: lambda_max, trace, m_sharpness, adaptive_sharpness_l2, adaptive_sharpness_linf, each
//     at the run's last analysis (whichever of them the study's analyses computed);
//   the generalization gap: test loss (metrics.csv, the last epoch, evaluation mode, after its last step)
//     minus train loss. The train loss is the last analysis's loss when every such run's last analysis
//     ran on the train split (evaluation mode, the weights the test loss saw); otherwise metrics.csv's
//     train_loss of the last epoch (the mean of the mini-batch losses before each step, training mode)
//     for every run: one source for all, said in every report;
//   the test error: 1 - test accuracy (metrics.csv, the last epoch).
// A measure fewer than kMinimumRuns runs have gives "too few runs", not a number.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/Statistics.h"

namespace samscape {

struct StudyRunResult;
struct StudySummary;

// The sharpness measures correlated, by metric key, in this order.
const std::vector<std::string>& sharpnessMeasureKeys();

enum class GeneralizationTarget { LossGap, TestError };

// "loss_gap", "test_error": the CSV's and the files' names.
const char* generalizationTargetKey(GeneralizationTarget target);
// "test loss - train loss", "test error (1 - test accuracy)": what the screen says.
const char* generalizationTargetLabel(GeneralizationTarget target);

struct StudyCorrelationPoint {
  std::size_t run = 0;        // index in StudySummary::runs
  std::size_t cellIndex = 0;  // its cell
  double measure = 0.0;
  double target = 0.0;
};

struct StudyCorrelation {
  static constexpr std::size_t kMinimumRuns = 3;
  static constexpr std::size_t kResamples = 2000;
  static constexpr std::uint64_t kSeed = 2023;

  std::string measure;  // the metric key: "lambda_max"
  GeneralizationTarget target = GeneralizationTarget::LossGap;
  std::vector<StudyCorrelationPoint> points;  // the runs with both values, in run order
  RankCorrelation tau;                        // computed when enoughRuns()

  bool enoughRuns() const { return points.size() >= kMinimumRuns; }
};

struct StudyCorrelations {
  enum class TrainLoss { Analysis, MetricsCsv };
  TrainLoss trainLoss = TrainLoss::MetricsCsv;
  std::size_t analysisExamples = 0;  // the train-split analyses' examples (the largest), with Analysis
  std::size_t runs = 0;              // the runs pooled (done, readable, not diverged)
  // Per measure some pooled run has (sharpnessMeasureKeys() order): the loss gap, then the test error.
  std::vector<StudyCorrelation> entries;
};

StudyCorrelations studyCorrelations(const std::vector<StudyRunResult>& runs);

// The measure's label (analysis/Metrics.h) or, for a key no stage of this build defines, the key.
std::string sharpnessMeasureLabel(const std::string& key);
// Where the train loss came from: "train loss: the last analysis on the train split (1000 examples,
// evaluation mode)" or "train loss: metrics.csv train_loss (the last epoch's mini-batches before each
// step, training mode; no analysis on the train split)".
std::string trainLossSourceText(const StudyCorrelations& correlations);
// How the interval was made: "Kendall's tau-b over the runs of all cells; 95% bootstrap percentile
// interval, 2000 resamples of the runs, seed 2023".
std::string correlationMethodText();
// "tau-b 0.412 [0.120, 0.680], 10 runs", or "too few runs (2 have it; 3 needed)".
std::string correlationValueText(const StudyCorrelation& correlation);

// study-correlations.csv: measure, target, runs, tau_b, ci95_low, ci95_high (empty with too few
// runs), resamples, defined_resamples, seed, train_loss (analysis or metrics.csv).
std::string studyCorrelationsCsv(const StudyCorrelations& correlations);
// The terminal's lines (under the cells' table).
std::string studyCorrelationsText(const StudyCorrelations& correlations);
// The Markdown table `study summary --markdown` prints after the checks': a row per study, measure
// and target.
std::string correlationsMarkdown(const std::vector<StudySummary>& summaries);

}  // namespace samscape

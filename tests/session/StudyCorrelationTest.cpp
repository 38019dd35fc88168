// A study's rank correlations between sharpness and generalization: which runs are pooled, where the
// train loss comes from, the values against hand counts, and "too few runs" instead of a number.
#include <gtest/gtest.h>

#include <cmath>

#include "session/StudyCorrelation.h"
#include "session/StudySummary.h"

namespace samscape {
namespace {

StudyRunResult doneRun(std::size_t cell, double lambdaMax, double testLoss, double testAccuracy,
                       double analysisLoss, double minibatchLoss) {
  StudyRunResult run;
  run.slot.cellIndex = cell;
  run.state = StudyRunState::Done;
  run.status = RunStatus::Finished;
  run.metrics["test_loss"] = testLoss;
  run.metrics["test_acc"] = testAccuracy;
  run.sharpness["lambda_max"] = lambdaMax;
  run.analysisLoss = analysisLoss;
  run.analysisSplit = "train";
  run.analysisExamples = 500;
  run.minibatchTrainLoss = minibatchLoss;
  return run;
}

const StudyCorrelation& entry(const StudyCorrelations& correlations, const std::string& measure,
                              GeneralizationTarget target) {
  for (const auto& e : correlations.entries) {
    if (e.measure == measure && e.target == target) return e;
  }
  throw std::runtime_error("no correlation of " + measure);
}

// Four runs over two cells. lambda_max 1, 2, 3, 4; the gap against the train-split analysis
// test_loss - analysis_loss = 0.1, 0.3, 0.2, 0.4. Pairs by hand (i < j, lambda_max rising):
// (1,2) gap up, (1,3) up, (1,4) up, (2,3) down, (2,4) up, (3,4) up: S = 5 - 1 = 4, no ties,
// tau-b = 4 / 6. Test error 0.1, 0.2, 0.15, 0.3: the same order, 4 / 6. Against metrics.csv's train
// loss the gaps are 0.9, 0.7, 0.5, 0.3 (falling): tau-b = -1.
std::vector<StudyRunResult> fourRuns() {
  return {doneRun(0, 1.0, 1.1, 0.90, 1.0, 0.2), doneRun(0, 2.0, 1.3, 0.80, 1.0, 0.6),
          doneRun(1, 3.0, 1.2, 0.85, 1.0, 0.7), doneRun(1, 4.0, 1.4, 0.70, 1.0, 1.1)};
}

TEST(StudyCorrelationTest, RunsOfAllCellsArePooledAgainstTheTrainSplitAnalysisLoss) {
  std::vector<StudyRunResult> runs = fourRuns();
  // Not pooled: a diverged run, a pending one, an unreadable one (each would break the order).
  StudyRunResult diverged = doneRun(1, 0.5, 9.0, 0.1, 1.0, 0.1);
  diverged.status = RunStatus::Diverged;
  StudyRunResult pending = doneRun(1, 0.4, 9.0, 0.1, 1.0, 0.1);
  pending.state = StudyRunState::Pending;
  StudyRunResult unreadable = doneRun(1, 0.3, 9.0, 0.1, 1.0, 0.1);
  unreadable.problem = "metrics.csv: damaged";
  runs.insert(runs.begin() + 1, {diverged, pending, unreadable});
  const StudyCorrelations correlations = studyCorrelations(runs);
  EXPECT_EQ(correlations.runs, 4u);
  EXPECT_EQ(correlations.trainLoss, StudyCorrelations::TrainLoss::Analysis);
  EXPECT_EQ(correlations.analysisExamples, 500u);
  ASSERT_EQ(correlations.entries.size(), 2u);  // lambda_max only: no run has another measure
  const StudyCorrelation& gap = entry(correlations, "lambda_max", GeneralizationTarget::LossGap);
  ASSERT_EQ(gap.points.size(), 4u);
  EXPECT_EQ(gap.points[1].run, 4u);  // indices into the runs given, past the three left out
  EXPECT_EQ(gap.points[2].cellIndex, 1u);
  EXPECT_NEAR(gap.points[2].target, 0.2, 1e-12);
  EXPECT_NEAR(gap.tau.tau, 4.0 / 6.0, 1e-12);
  EXPECT_EQ(gap.tau.resamples, StudyCorrelation::kResamples);
  EXPECT_EQ(gap.tau.seed, StudyCorrelation::kSeed);
  EXPECT_LE(gap.tau.ci95Low, gap.tau.tau);
  EXPECT_GE(gap.tau.ci95High, gap.tau.tau);
  const StudyCorrelation& error = entry(correlations, "lambda_max", GeneralizationTarget::TestError);
  EXPECT_NEAR(error.tau.tau, 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(error.points[3].target, 0.3, 1e-12);

  const std::string text = studyCorrelationsText(correlations);
  EXPECT_NE(text.find("2000 resamples of the runs, seed 2023"), std::string::npos) << text;
  EXPECT_NE(text.find("on the train split (500 examples"), std::string::npos) << text;
  EXPECT_NE(text.find("tau-b 0.667 ["), std::string::npos) << text;
  EXPECT_NE(text.find("], 4 runs"), std::string::npos) << text;
}

TEST(StudyCorrelationTest, WithoutATrainSplitAnalysisForEveryRunTheMiniBatchLossServesAll) {
  std::vector<StudyRunResult> runs = fourRuns();
  runs[2].analysisSplit = "test";
  StudyCorrelations correlations = studyCorrelations(runs);
  EXPECT_EQ(correlations.trainLoss, StudyCorrelations::TrainLoss::MetricsCsv);
  EXPECT_NEAR(entry(correlations, "lambda_max", GeneralizationTarget::LossGap).tau.tau, -1.0, 1e-12);
  EXPECT_NE(trainLossSourceText(correlations).find("metrics.csv train_loss"), std::string::npos);
  // The test error does not depend on it.
  EXPECT_NEAR(entry(correlations, "lambda_max", GeneralizationTarget::TestError).tau.tau, 4.0 / 6.0, 1e-12);
  // A run whose last analysis has no loss counts the same.
  runs = fourRuns();
  runs[0].analysisLoss = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(studyCorrelations(runs).trainLoss, StudyCorrelations::TrainLoss::MetricsCsv);
  EXPECT_NE(studyCorrelationsCsv(studyCorrelations(runs)).find(",metrics.csv\n"), std::string::npos);
}

TEST(StudyCorrelationTest, AMeasureFewerThanThreeRunsHaveSaysTooFewRuns) {
  std::vector<StudyRunResult> runs = fourRuns();
  runs[0].sharpness["trace"] = 10.0;
  runs[3].sharpness["trace"] = 20.0;
  // A measure no stage of this build defines (another build's stage) is correlated under its key.
  for (std::size_t r = 0; r < 3; ++r)
    runs[r].sharpness["adaptive_sharpness_l2"] = 0.1 * static_cast<double>(r);
  const StudyCorrelations correlations = studyCorrelations(runs);
  ASSERT_EQ(correlations.entries.size(), 6u);
  EXPECT_EQ(correlations.entries[2].measure, "trace");  // in sharpnessMeasureKeys() order
  EXPECT_EQ(correlations.entries[4].measure, "adaptive_sharpness_l2");
  const StudyCorrelation& trace = entry(correlations, "trace", GeneralizationTarget::LossGap);
  EXPECT_FALSE(trace.enoughRuns());
  EXPECT_EQ(correlationValueText(trace), "too few runs (2 have it; 3 needed)");
  const std::string csv = studyCorrelationsCsv(correlations);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "measure,target,runs,tau_b,ci95_low,ci95_high,resamples,defined_resamples,seed,train_loss");
  EXPECT_NE(csv.find("\ntrace,loss_gap,2,,,,,,,analysis\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nlambda_max,test_error,4,0.6666666667,"), std::string::npos) << csv;
  // adaptive_sharpness_l2 0, 0.1, 0.2 against gaps 0.1, 0.3, 0.2: S = 2 - 1, tau-b 1/3.
  const StudyCorrelation& adaptive =
      entry(correlations, "adaptive_sharpness_l2", GeneralizationTarget::LossGap);
  EXPECT_NEAR(adaptive.tau.tau, 1.0 / 3.0, 1e-12);
  EXPECT_EQ(sharpnessMeasureLabel("adaptive_sharpness_l2").empty(), false);
  EXPECT_NE(studyCorrelationsText(correlations).find("too few runs (2 have it; 3 needed)"),
            std::string::npos);

  // No measure at all: said, with no rows.
  for (auto& run : runs) run.sharpness.clear();
  const StudyCorrelations none = studyCorrelations(runs);
  EXPECT_TRUE(none.entries.empty());
  EXPECT_NE(studyCorrelationsText(none).find("no run measured a sharpness measure"), std::string::npos);
  StudySummary summary;
  summary.spec.name = "s";
  summary.correlations = none;
  EXPECT_NE(correlationsMarkdown({summary}).find("| s | (no sharpness measured) |"), std::string::npos);
}

}  // namespace
}  // namespace samscape

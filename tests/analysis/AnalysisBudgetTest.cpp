// --analysis-budget's policy on made-up times: a due analysis runs while the analyses so far took at
// most the budget's share of the training so far, is skipped (and counted) while they took more, the
// last epoch's always runs, 0 means no limit; the lines the command line prints and budget.json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "analysis/AnalysisBudget.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

TEST(AnalysisBudget, TheFirstAnalysisRunsThenAnalysesWaitUntilTrainingCatchesUp) {
  AnalysisBudget budget(0.25);
  budget.addTraining(10.0);
  EXPECT_TRUE(budget.allows(false)) << "nothing spent yet";
  AnalysisCost first = budget.recordAnalysis(1, 5.0);
  EXPECT_EQ(first.epoch, 1);
  EXPECT_FALSE(first.skipped);
  EXPECT_DOUBLE_EQ(first.seconds, 5.0);
  EXPECT_DOUBLE_EQ(first.trainingSeconds, 10.0);
  EXPECT_DOUBLE_EQ(first.analysisSeconds, 5.0);
  EXPECT_DOUBLE_EQ(first.fraction(), 0.5);
  EXPECT_EQ(first.analysed, 1);
  EXPECT_EQ(first.skippedCount, 0);

  // 5 s of analyses against 10 s of training: 0.25 x 10 = 2.5 < 5, over the budget; ...
  EXPECT_FALSE(budget.allows(false));
  budget.addTraining(10.0);  // ... 20 s: 0.25 x 20 = 5, exactly the analyses so far: within it again
  EXPECT_TRUE(budget.allows(false));
  budget.recordAnalysis(2, 3.0);  // 8 s of analyses
  budget.addTraining(10.0);       // 30 s: 7.5 < 8
  EXPECT_FALSE(budget.allows(false));
  const AnalysisCost skipped = budget.recordSkip(3);
  EXPECT_TRUE(skipped.skipped);
  EXPECT_DOUBLE_EQ(skipped.seconds, 0.0);
  EXPECT_DOUBLE_EQ(skipped.analysisSeconds, 8.0);
  EXPECT_DOUBLE_EQ(skipped.trainingSeconds, 30.0);
  EXPECT_EQ(skipped.analysed, 2);
  EXPECT_EQ(skipped.skippedCount, 1);
  // ... but the last epoch's analysis always runs.
  EXPECT_TRUE(budget.allows(true));
  budget.addTraining(2.0);  // 32 s: 0.25 x 32 = 8, back within the budget
  EXPECT_TRUE(budget.allows(false));
  EXPECT_DOUBLE_EQ(budget.fraction(), 0.25);
}

TEST(AnalysisBudget, ZeroIsNoLimitAndAHundredIsTheMost) {
  AnalysisBudget unlimited(0.0);
  EXPECT_FALSE(unlimited.limited());
  unlimited.addTraining(1.0);
  unlimited.recordAnalysis(1, 1000.0);
  EXPECT_TRUE(unlimited.allows(false));
  EXPECT_EQ(budgetText(0.0), "no limit");
  EXPECT_EQ(budgetText(0.25), "25%");
  EXPECT_EQ(budgetText(0.125), "12.5%");
  EXPECT_EQ(budgetText(100.0), "10000%");

  EXPECT_TRUE(analysisBudgetProblem(0.0).empty());
  EXPECT_TRUE(analysisBudgetProblem(100.0).empty());
  for (double bad : {-0.1, 100.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    EXPECT_FALSE(analysisBudgetProblem(bad).empty()) << bad;
    test::expectContains(test::messageOf<ConfigError>([&] { AnalysisBudget refused(bad); }),
                         {"--analysis-budget", "from 0 (no limit) to 100"});
  }
  test::expectContains(test::messageOf<ConfigError>([] { AnalysisBudget refused(-1.0); }), {"'-1'"});
}

TEST(AnalysisBudget, LinesSayTheCostTheSkipAndTheTotal) {
  AnalysisBudget budget(0.25);
  budget.addTraining(50.0);
  const AnalysisCost ran = budget.recordAnalysis(2, 31.0);
  EXPECT_EQ(analysisCostLine(ran), "analysis of epoch 2: 31 s (62% of training so far, budget 25%)");
  budget.addTraining(30.0);
  const AnalysisCost skipped = budget.recordSkip(4);
  EXPECT_EQ(analysisSkipLine(skipped),
            "analysis of epoch 4 skipped: analyses took 31 s of 80 s training (39% > budget 25%); "
            "--analysis-budget raises it");
  EXPECT_EQ(analysisTotalLine(skipped),
            "analyses: 31 s of 80 s training (39%, budget 25%); 1 ran, 1 skipped (over budget)");
  AnalysisBudget small(0.5);
  small.addTraining(50.0);
  EXPECT_EQ(analysisTotalLine(small.recordAnalysis(1, 4.0)),
            "analyses: 4.0 s of 50 s training (8.0%, budget 50%); 1 ran");
  AnalysisBudget longer(0.25);
  longer.addTraining(1800.0);
  EXPECT_EQ(analysisCostLine(longer.recordAnalysis(10, 0.25)),
            "analysis of epoch 10: 0.25 s (0.0% of training so far, budget 25%)");
  EXPECT_EQ(analysisTotalLine(longer.recordSkip(20)),
            "analyses: 0.25 s of 30.0 min training (0.0%, budget 25%); 1 ran, 1 skipped (over budget)");
}

TEST(AnalysisBudget, BudgetJsonRoundTripsAndAResumedRunContinuesFromIt) {
  test::TempDir dir;
  const std::string path = dir.file("budget.json");
  EXPECT_TRUE(readAnalysisBudgetFile(path).empty()) << "no file: no entries";

  AnalysisBudget budget(0.25);
  budget.addTraining(10.0);
  std::vector<AnalysisCost> costs{budget.recordAnalysis(1, 4.0)};
  budget.addTraining(10.0);
  costs.push_back(budget.recordSkip(2));
  writeFileAtomically(path, analysisBudgetJson(budget.budget(), costs));
  const auto document = nlohmann::json::parse(test::readText(path));
  EXPECT_EQ(document["budget"], 0.25);
  EXPECT_EQ(document["analysed"], 1);
  EXPECT_EQ(document["skipped"], 1);
  EXPECT_DOUBLE_EQ(document["fraction"].get<double>(), 4.0 / 20.0);
  ASSERT_EQ(document["epochs"].size(), 2u);
  EXPECT_EQ(document["epochs"][1]["skipped"], true);
  EXPECT_DOUBLE_EQ(document["epochs"][0]["training_seconds"].get<double>(), 10.0);

  const std::vector<AnalysisCost> read = readAnalysisBudgetFile(path);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[1].epoch, 2);
  EXPECT_TRUE(read[1].skipped);
  EXPECT_DOUBLE_EQ(read[1].analysisSeconds, 4.0);
  EXPECT_DOUBLE_EQ(read[1].trainingSeconds, 20.0);
  EXPECT_EQ(read[1].analysed, 1);
  EXPECT_EQ(read[1].skippedCount, 1);
  EXPECT_DOUBLE_EQ(read[1].budget, 0.25);

  // Resumed after 3 epochs of 10 s: 4 s of analyses against 30 s of training.
  AnalysisBudget resumed(0.25);
  resumed.restore(30.0, &read.back());
  EXPECT_DOUBLE_EQ(resumed.fraction(), 4.0 / 30.0);
  const AnalysisCost next = resumed.recordAnalysis(4, 1.0);
  EXPECT_EQ(next.analysed, 2);
  EXPECT_EQ(next.skippedCount, 1);
  EXPECT_DOUBLE_EQ(next.analysisSeconds, 5.0);

  for (const char* damaged : {R"({"budget": 0.25})", R"({"budget": -1, "epochs": []})",
                              R"({"budget": 0.25, "epochs": [{"epoch": 1e300, "skipped": false, "seconds": 1,
                                  "training_seconds": 1, "analysis_seconds": 1, "analysed": 1, "skipped_count": 0}]})",
                              "[1, 2]"}) {
    std::ofstream(path) << damaged;
    test::expectContains(test::messageOf<DataError>([&] { readAnalysisBudgetFile(path); }), {path});
  }
}

}  // namespace
}  // namespace samscape

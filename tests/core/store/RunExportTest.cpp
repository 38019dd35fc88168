// exportRuns: every exported value is checked against the metrics and analyses that were stored,
// through an independent CSV reader.
#include "core/store/RunExport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "tests/core/store/CsvReader.h"
#include "tests/core/store/StoreTestSupport.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::parseCsv;
using test::readText;

// Run A (validation split): losses fall then rise, so the best and the final values differ.
const std::vector<double> kTrainLossA = {1.0, 0.6, 0.4, 0.45};
const std::vector<double> kTrainAccA = {0.5, 0.7, 0.9, 0.85};
const std::vector<double> kTestLossA = {0.9, 0.5, 0.7, 0.8};
const std::vector<double> kTestAccA = {0.6, 0.8, 0.75, 0.7};
const std::vector<double> kValLossA = {0.95, 0.55, 0.65, 0.66};
const std::vector<double> kValAccA = {0.61, 0.79, 0.74, 0.73};
const std::string kNameA = "sam, \"rho\" 0.05";  // a comma and quotes, to be quoted in CSV

EpochMetrics epochOfA(int e) {
  const auto i = static_cast<std::size_t>(e - 1);
  EpochMetrics m;
  m.epoch = e;
  m.trainLoss = kTrainLossA[i];
  m.trainAccuracy = kTrainAccA[i];
  m.testLoss = kTestLossA[i];
  m.testAccuracy = kTestAccA[i];
  m.validationLoss = kValLossA[i];
  m.validationAccuracy = kValAccA[i];
  m.learningRate = 0.1 / 3 * e;  // not exactly representable in decimal: exercises round-tripping
  m.seconds = 2.0 + e;
  return m;
}

class RunExportTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};
  std::unique_ptr<RunStore> store;
  std::int64_t a = 0, b = 0;
  std::string sliceCsv, directions;

  void SetUp() override {
    store = std::make_unique<RunStore>(workspace);
    RunRecord runA;
    runA.name = kNameA;
    runA.tags = {"paper", "sam"};
    runA.notes = "line one\nline two";
    runA.configJson = R"({"lr":0.05,"optimizer":"sam","step-epochs":[5,8]})";
    runA.outDir = (workspace.runsDirectory() / "a").string();
    a = store->createRun(runA);
    RunRecord runB;
    runB.name = "sgd";
    runB.configJson = R"({"lr":0.1,"optimizer":"sgd","seed":3})";
    b = store->createRun(runB);
    for (int e = 1; e <= 4; ++e) store->recordEpoch(a, epochOfA(e));
    for (int e = 1; e <= 3; ++e) store->recordEpoch(b, test::knownMetrics(2, e));
    store->finishRun(a, RunStatus::Finished, "", 10.0);

    fs::create_directories(runA.outDir);
    sliceCsv = (fs::path(runA.outDir) / "slice.csv").string();
    test::writeRaw(sliceCsv, {'x', ',', 'y', '\n', '1', ',', '2', '\n'});
    directions = (fs::path(runA.outDir) / "directions.bin").string();
    test::writeRaw(directions, {1, 2, 3});
    AnalysisRecord hessian;
    hessian.runId = a;
    hessian.epoch = 2;
    hessian.kind = "hessian";
    hessian.valuesJson = R"({"eigenvalues":[5.5,2.25],"converged":true,"status":"ok","hvp_count":30})";
    AnalysisRecord slice;
    slice.runId = a;
    slice.kind = "slice";
    slice.valuesJson = R"({"grid":51})";
    slice.files = {{"slice.csv", sliceCsv}, {"directions", directions}};
    store->recordAnalyses({hessian, slice});
  }
};

TEST_F(RunExportTest, TidyMetricsHoldEveryStoredValueExactly) {
  const fs::path out = dir.path() / "export";
  const ExportSummary summary = exportRuns(*store, {a, b}, out.string());
  const auto rows = parseCsv(readText((out / "metrics.csv").string()));
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"run", "epoch", "metric", "value"}));

  std::map<std::tuple<std::int64_t, int, std::string>, double> expected;
  for (int e = 1; e <= 4; ++e) {
    const EpochMetrics m = epochOfA(e);
    expected[{a, e, "train_loss"}] = m.trainLoss;
    expected[{a, e, "train_acc"}] = m.trainAccuracy;
    expected[{a, e, "test_loss"}] = m.testLoss;
    expected[{a, e, "test_acc"}] = m.testAccuracy;
    expected[{a, e, "val_loss"}] = *m.validationLoss;
    expected[{a, e, "val_acc"}] = *m.validationAccuracy;
    expected[{a, e, "lr"}] = m.learningRate;
    expected[{a, e, "seconds"}] = m.seconds;
  }
  for (int e = 1; e <= 3; ++e) {
    const EpochMetrics m = test::knownMetrics(2, e);
    expected[{b, e, "train_loss"}] = m.trainLoss;
    expected[{b, e, "train_acc"}] = m.trainAccuracy;
    expected[{b, e, "test_loss"}] = m.testLoss;
    expected[{b, e, "test_acc"}] = m.testAccuracy;
    expected[{b, e, "lr"}] = m.learningRate;
    expected[{b, e, "seconds"}] = m.seconds;
  }
  ASSERT_EQ(rows.size(), expected.size() + 1);
  EXPECT_EQ(summary.metricRows, expected.size());
  std::set<std::tuple<std::int64_t, int, std::string>> seen;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 4u) << i;
    const auto key = std::make_tuple(std::stoll(rows[i][0]), std::stoi(rows[i][1]), rows[i][2]);
    ASSERT_TRUE(expected.count(key)) << rows[i][0] << "," << rows[i][1] << "," << rows[i][2];
    EXPECT_EQ(std::stod(rows[i][3]), expected.at(key)) << rows[i][2] << " of run " << rows[i][0];
    EXPECT_TRUE(seen.insert(key).second) << "duplicate row";
  }
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "a temporary file was left: " << entry.path();
  }
}

TEST_F(RunExportTest, TheSummaryHasConfigColumnsAndFinalAndBestMetrics) {
  const fs::path out = dir.path() / "export";
  exportRuns(*store, {a, b}, out.string());
  const auto rows = parseCsv(readText((out / "runs.csv").string()));
  ASSERT_EQ(rows.size(), 3u);
  const auto& header = rows[0];
  const auto cell = [&](std::size_t row, const std::string& column) -> std::string {
    const auto at = std::find(header.begin(), header.end(), column);
    if (at == header.end()) {
      ADD_FAILURE() << "no column " << column;
      return "";
    }
    return rows[row].at(static_cast<std::size_t>(at - header.begin()));
  };
  for (const auto& row : rows) EXPECT_EQ(row.size(), header.size());
  // Config columns: the union of both runs' keys, sorted.
  const auto first = std::find(header.begin(), header.end(), "config.lr");
  ASSERT_NE(first, header.end());
  EXPECT_EQ(std::vector<std::string>(first, first + 4),
            (std::vector<std::string>{"config.lr", "config.optimizer", "config.seed", "config.step-epochs"}));

  EXPECT_EQ(cell(1, "id"), std::to_string(a));
  EXPECT_EQ(cell(1, "name"), kNameA);
  EXPECT_EQ(cell(1, "tags"), "paper;sam");
  EXPECT_EQ(cell(1, "notes"), "line one\nline two");
  EXPECT_EQ(cell(1, "status"), "finished");
  EXPECT_EQ(cell(1, "epochs"), "4");
  EXPECT_EQ(cell(1, "out_dir"), (workspace.runsDirectory() / "a").string());
  EXPECT_EQ(std::stod(cell(1, "config.lr")), 0.05);
  EXPECT_EQ(cell(1, "config.optimizer"), "sam");
  EXPECT_EQ(cell(1, "config.seed"), "");
  EXPECT_EQ(cell(1, "config.step-epochs"), "[5,8]");
  EXPECT_EQ(std::stod(cell(1, "final_train_loss")), 0.45);
  EXPECT_EQ(std::stod(cell(1, "best_train_loss")), 0.4);
  EXPECT_EQ(std::stod(cell(1, "final_test_loss")), 0.8);
  EXPECT_EQ(std::stod(cell(1, "best_test_loss")), 0.5);
  EXPECT_EQ(std::stod(cell(1, "final_test_acc")), 0.7);
  EXPECT_EQ(std::stod(cell(1, "best_test_acc")), 0.8);
  EXPECT_EQ(std::stod(cell(1, "best_train_acc")), 0.9);
  EXPECT_EQ(std::stod(cell(1, "best_val_loss")), 0.55);
  EXPECT_EQ(std::stod(cell(1, "best_val_acc")), 0.79);
  EXPECT_EQ(std::stod(cell(1, "final_lr")), 0.1 / 3 * 4);
  EXPECT_EQ(std::find(header.begin(), header.end(), "best_lr"), header.end()) << "a rate has no best";

  EXPECT_EQ(cell(2, "name"), "sgd");
  EXPECT_EQ(cell(2, "config.seed"), "3");
  EXPECT_EQ(cell(2, "config.step-epochs"), "");
  EXPECT_EQ(std::stod(cell(2, "final_test_loss")), test::knownMetrics(2, 3).testLoss);
  EXPECT_EQ(std::stod(cell(2, "best_test_acc")), test::knownMetrics(2, 3).testAccuracy);
  EXPECT_EQ(cell(2, "final_val_loss"), "") << "run B has no validation split";
  EXPECT_EQ(cell(2, "best_val_acc"), "");
}

TEST_F(RunExportTest, AnalysisNumbersAreTidyAndCsvFilesAreCopied) {
  const fs::path out = dir.path() / "export";
  exportRuns(*store, {a, b}, out.string());
  const auto rows = parseCsv(readText((out / "analysis.csv").string()));
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"run", "epoch", "kind", "key", "index", "value"}));
  const std::string run = std::to_string(a);
  std::set<std::vector<std::string>> expected = {{run, "2", "hessian", "converged", "", "1"},
                                                 {run, "2", "hessian", "eigenvalues", "0", "5.5"},
                                                 {run, "2", "hessian", "eigenvalues", "1", "2.25"},
                                                 {run, "2", "hessian", "hvp_count", "", "30"},
                                                 {run, "", "slice", "grid", "", "51"}};
  EXPECT_EQ(std::set<std::vector<std::string>>(rows.begin() + 1, rows.end()), expected);
  EXPECT_EQ(rows.size(), expected.size() + 1);

  const auto files = parseCsv(readText((out / "analysis_files.csv").string()));
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[1][3], "slice.csv");
  EXPECT_NE(files[1][4], sliceCsv) << "a CSV file is copied into the export";
  EXPECT_EQ(readText(files[1][4]), "x,y\n1,2\n");
  EXPECT_TRUE(fs::path(files[1][4]).string().rfind(out.string(), 0) == 0) << files[1][4];
  EXPECT_EQ(files[2][3], "directions");
  EXPECT_EQ(files[2][4], directions) << "binary files are referenced, not copied";

  // Text fields that analysis.csv leaves out are in analyses.json.
  EXPECT_NE(readText((out / "analyses.json").string()).find("\"status\": \"ok\""), std::string::npos);
}

TEST_F(RunExportTest, OnlyTheNamedRunsAreExported) {
  const fs::path out = dir.path() / "export";
  exportRuns(*store, {b}, out.string());
  const auto rows = parseCsv(readText((out / "runs.csv").string()));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][1], "sgd");
  for (const auto& row : parseCsv(readText((out / "metrics.csv").string()))) {
    EXPECT_NE(row[0], std::to_string(a));
  }
  EXPECT_EQ(parseCsv(readText((out / "analysis.csv").string())).size(), 1u);
}

TEST(CsvFieldTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(csvField("plain"), "plain");
  EXPECT_EQ(csvField("a,b"), "\"a,b\"");
  EXPECT_EQ(csvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csvField(""), "");
}

TEST(FormatNumberTest, ReadsBackExactly) {
  for (const double value : {0.1, 1.0 / 3.0, 2.5e-300, -123456.789, 0.0}) {
    EXPECT_EQ(std::stod(formatNumber(value)), value) << formatNumber(value);
  }
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(std::nan("")), "nan");
  EXPECT_EQ(formatNumber(-INFINITY), "-inf");
}

}  // namespace
}  // namespace samscape

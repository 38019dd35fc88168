// Studies: the study file's grammar and its messages, the grid's cells, the checks judged on known
// numbers, and a study stopped part-way then resumed without training again what was done.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "core/store/RunStore.h"
#include "core/store/Workspace.h"
#include "session/Study.h"
#include "session/StudySummary.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json minimalStudy() {
  return json::parse(R"({"study": "s", "base": {"model": "mlp", "epochs": 2}, "seeds": 2})");
}

// The message of the ConfigError that parsing `document` throws ("" when it parses).
std::string parseError(const json& document) {
  try {
    parseStudySpec(document, "study.json");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(StudySpecTest, GridIsACartesianProductCrossedWithTheCells) {
  json document = minimalStudy();
  document["grid"] = {{"rho", {0.05, 0.1}}, {"m", {8, 32}}};
  document["cells"] = {{{"optimizer", "sam"}}, {{"optimizer", "asam"}}};
  const StudySpec spec = parseStudySpec(document, "study.json");
  ASSERT_EQ(spec.cells.size(), 8u);
  EXPECT_EQ(spec.seeds, (std::vector<int>{0, 1}));
  EXPECT_EQ(spec.runCount(), 16u);
  // Keys in alphabetical order, the first slowest; the explicit cells outermost.
  EXPECT_EQ(spec.cells[0].label, "m=8 rho=0.05 optimizer=sam");
  EXPECT_EQ(spec.cells[1].label, "m=8 rho=0.1 optimizer=sam");
  EXPECT_EQ(spec.cells[2].label, "m=32 rho=0.05 optimizer=sam");
  EXPECT_EQ(spec.cells[7].label, "m=32 rho=0.1 optimizer=asam");
  EXPECT_EQ(spec.cells[7].directoryName, "m-32_rho-0.1_optimizer-asam");
  EXPECT_EQ(spec.cells[7].options.at("epochs"), 2);  // the base under every cell
  EXPECT_EQ(spec.cells[7].options.at("optimizer"), "asam");
  const auto slots = studyRunSlots(spec, "/tmp/w");
  ASSERT_EQ(slots.size(), 16u);
  EXPECT_EQ(slots[3].directory, "/tmp/w/studies/s/runs/m-8_rho-0.1_optimizer-sam-seed1");
  EXPECT_EQ(slots[3].name, "s/m=8 rho=0.1 optimizer=sam seed 1");

  document = minimalStudy();
  document["seeds"] = {7, 3};
  EXPECT_EQ(parseStudySpec(document, "x").seeds, (std::vector<int>{7, 3}));
  EXPECT_EQ(parseStudySpec(document, "x").cells.at(0).label, "base");
}

// The app groups the runs it lists by study cell from their directories alone: every slot's directory
// reads back as its study, cell and seed, and directories outside the layout as none.
TEST(StudySpecTest, EverySlotsDirectoryReadsBackAsItsCellAndSeed) {
  json document = minimalStudy();
  document["grid"] = {{"rho", {0.05, 0.1}}};
  document["cells"] = {{{"optimizer", "sam"}}, {{"optimizer", "looksam"}}};
  document["seeds"] = {0, 12};
  const StudySpec spec = parseStudySpec(document, "study.json");
  for (const StudyRunSlot& slot : studyRunSlots(spec, "/tmp/w")) {
    const auto place = studyRunPlace(slot.directory);
    ASSERT_TRUE(place.has_value()) << slot.directory;
    EXPECT_EQ(place->study, "s");
    EXPECT_EQ(place->cellDirectory, spec.cells[slot.cellIndex].directoryName) << slot.directory;
    EXPECT_EQ(place->seed, slot.seed) << slot.directory;
    EXPECT_TRUE(studyRunPlace(slot.directory + "/").has_value()) << "a trailing slash";
  }
  const auto place = studyRunPlace("/w/studies/s/runs/init-seed3_rho-0.1-seed7");
  ASSERT_TRUE(place.has_value());
  EXPECT_EQ(place->cellDirectory, "init-seed3_rho-0.1");
  EXPECT_EQ(place->seed, 7);
  for (const char* other :
       {"/w/runs/20240101-120000-run-1", "/w/studies/s/runs/base", "/w/studies/s/runs/base-seed",
        "/w/studies/s/runs/base-seedx", "/w/studies/s/other/base-seed0", "/w/s/runs/base-seed0",
        "/w/studies/s/runs/-seed0", ""}) {
    EXPECT_FALSE(studyRunPlace(other).has_value()) << other;
  }
}

TEST(StudySpecTest, MistakesAreNamedWithTheFileAndTheField) {
  auto expectError = [](const json& document, const std::string& words) {
    const std::string message = parseError(document);
    EXPECT_NE(message.find("study.json"), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << "expected '" << words << "' in: " << message;
  };
  json document = minimalStudy();
  document["grids"] = json::object();
  expectError(document, "unknown key \"grids\"");
  document = minimalStudy();
  document.erase("seeds");
  expectError(document, "needs \"seeds\"");
  document["seeds"] = {1, 1};
  expectError(document, "seed 1 is listed twice");
  document["seeds"] = 0;
  expectError(document, "\"seeds\": a count from 1");
  document = minimalStudy();
  document["base"]["seed"] = 3;
  expectError(document, "\"seed\" is the study's to set");
  document = minimalStudy();
  document["study"] = "../up";
  expectError(document, "must be a directory name");
  document = minimalStudy();
  document["grid"] = {{"rho", json::array()}};
  expectError(document, "\"rho\" must be a non-empty list");
  // A bad run option is found before anything runs, naming the cell.
  document = minimalStudy();
  document["grid"] = {{"lr", {0.1, -1.0}}};
  expectError(document, "cell lr=-1");
  document = minimalStudy();
  document["grid"] = {{"optimiser", {"sam"}}};
  expectError(document, "unknown key \"optimiser\"");
  document = minimalStudy();
  document["grid"] = {{"optimizer", {"sgd", "sam"}}};
  document["checks"] = {{{"metric", "test_acc"}, {"ratio", {{{"optimizer", "sgd"}}}}, {"at-least", 1}}};
  expectError(document, "two cell selectors");
  document["checks"] = {{{"metric", "test_acc"}, {"decreasing-along", "m"}}};
  expectError(document, "must name an option the grid varies");
  document["checks"] = {{{"metric", "test_acc"}, {"difference", {{{"optimizer", "sgd"}}, {{"optimizer", "sam"}}}}}};
  expectError(document, "needs one threshold");

  // Checks are checked before anything runs: the metric, what each selector picks, the axis.
  document = minimalStudy();
  document["base"]["optimizer"] = "sam";
  document["grid"] = {{"m", {8, 32}}, {"rho", {0.05, 0.1}}};
  document["checks"] = {{{"metric", "test_accuracy"}, {"decreasing-along", "m"}}};
  expectError(document, "unknown metric \"test_accuracy\"");
  document["checks"] = {{{"metric", "test_acc"}, {"ratio", {{{"m", 8}}, {{"m", 32}, {"rho", 0.1}}}}, {"at-least", 1}}};
  expectError(document, "must pick one cell, it picks 2");
  document["checks"] = {{{"metric", "test_acc"}, {"ratio", {{{"m", 16}}, {{"m", 32}, {"rho", 0.1}}}}, {"at-least", 1}}};
  expectError(document, "must pick one cell, it picks 0");
  document["checks"] = {{{"metric", "test_acc"}, {"decreasing-along", "m"}}};
  expectError(document, "the cells differ in more than \"m\"");
  document = minimalStudy();
  document["cells"] = {{{"optimizer", "sgd"}}, {{"optimizer", "sam"}, {"m", 8}}, {{"optimizer", "sam"}, {"m", 32}}};
  document["checks"] = {{{"metric", "test_acc"}, {"decreasing-along", "m"}}};
  expectError(document, "cell optimizer=sgd does not set \"m\" to a number");
  // A key in both the grid and a cell.
  document = minimalStudy();
  document["grid"] = {{"rho", {0.05, 0.1}}};
  document["cells"] = {{{"optimizer", "sam"}, {"rho", 0.2}}};
  expectError(document, "\"rho\" is both in \"grid\" and in a cell");
}

// A summary with two cells of three seeds each, with the given test_acc summaries.
StudySummary summaryOf(const std::vector<std::vector<double>>& values, const std::string& key = "optimizer",
                       const std::vector<json>& keyValues = {"sgd", "sam"}) {
  json document = minimalStudy();
  document["seeds"] = 3;
  document["base"]["optimizer"] = "sam";
  document["grid"] = {{key, keyValues}};
  StudySummary summary;
  summary.spec = parseStudySpec(document, "study.json");
  for (const auto& cellValues : values) {
    StudyCellSummary cell;
    cell.done = cellValues.size();
    for (const auto& name : studyMetricNames()) cell.metrics[name] = summarize({});
    cell.metrics["test_acc"] = summarize(cellValues);
    summary.cells.push_back(cell);
  }
  return summary;
}

TEST(StudyCheckTest, RatioAndDifferenceAreJudgedOnTheMeansAndTheirIntervals) {
  // Cell order follows the grid: optimizer=sgd first.
  const StudySummary summary = summaryOf({{0.60, 0.61, 0.59}, {0.70, 0.71, 0.69}});
  StudyCheck difference;
  difference.kind = StudyCheck::Kind::Difference;
  difference.metric = "test_acc";
  difference.first = {{"optimizer", "sam"}};
  difference.second = {{"optimizer", "sgd"}};
  difference.threshold = 0.05;
  difference.separated = true;
  StudyCheckResult result = judgeStudyCheck(difference, summary);
  EXPECT_EQ(result.verdict, CheckVerdict::Holds) << result.measured;
  EXPECT_NE(result.measured.find("= 0.1"), std::string::npos) << result.measured;
  difference.threshold = 0.11;  // the means differ by 0.10
  EXPECT_EQ(judgeStudyCheck(difference, summary).verdict, CheckVerdict::Fails);

  StudyCheck ratio = difference;
  ratio.kind = StudyCheck::Kind::Ratio;
  // Exactly the ratio of the means: "at-least" holds, "more-than" does not.
  const double exact = summary.cells[1].metrics.at("test_acc").mean / summary.cells[0].metrics.at("test_acc").mean;
  EXPECT_NEAR(exact, 0.70 / 0.60, 1e-12);
  ratio.threshold = exact;
  ratio.separated = false;
  EXPECT_EQ(judgeStudyCheck(ratio, summary).verdict, CheckVerdict::Holds);
  ratio.strict = true;
  EXPECT_EQ(judgeStudyCheck(ratio, summary).verdict, CheckVerdict::Fails);
  ratio.threshold = exact - 1e-9;
  EXPECT_EQ(judgeStudyCheck(ratio, summary).verdict, CheckVerdict::Holds);

  // Overlapping intervals fail a "separated" check even when the means are far enough apart.
  const StudySummary noisy = summaryOf({{0.50, 0.70, 0.60}, {0.60, 0.80, 0.70}});
  difference.threshold = 0.05;
  EXPECT_EQ(judgeStudyCheck(difference, noisy).verdict, CheckVerdict::Fails);
  // A cell with seeds missing: not judged yet.
  StudySummary partial = summaryOf({{0.60, 0.61}, {0.70, 0.71, 0.69}});
  EXPECT_EQ(judgeStudyCheck(difference, partial).verdict, CheckVerdict::NotJudged);
  // A selector that matches no cell fails, saying so.
  difference.first = {{"optimizer", "adam"}};
  result = judgeStudyCheck(difference, summary);
  EXPECT_EQ(result.verdict, CheckVerdict::Fails);
  EXPECT_NE(result.measured.find("matches no cell"), std::string::npos);
}

TEST(StudyCheckTest, DecreasingOrdersTheCellsByTheOptionsValue) {
  // Cells in the grid's order m = 32, 8, 128; sorted by m the means are 0.8, 0.7, 0.6: falling.
  StudySummary summary = summaryOf({{0.70, 0.71, 0.69}, {0.80, 0.81, 0.79}, {0.60, 0.61, 0.59}}, "m", {32, 8, 128});
  StudyCheck check;
  check.kind = StudyCheck::Kind::Decreasing;
  check.metric = "test_acc";
  check.along = "m";
  StudyCheckResult result = judgeStudyCheck(check, summary);
  EXPECT_EQ(result.verdict, CheckVerdict::Holds) << result.measured;
  EXPECT_EQ(result.measured.substr(0, 10), "m=8: 0.8 [");  // each mean with its interval
  summary = summaryOf({{0.70, 0.71, 0.69}, {0.65, 0.66, 0.64}, {0.60, 0.61, 0.59}}, "m", {32, 8, 128});
  EXPECT_EQ(judgeStudyCheck(check, summary).verdict, CheckVerdict::Fails);
}

TEST(StudyCheckTest, ADifferenceIncreasingAlongAnOptionIsJudgedPerValueOfIt) {
  // Table 4's shape: cells optimizer x label-noise, the grid's label-noise given out of order.
  json document = minimalStudy();
  document["seeds"] = 3;
  document["grid"] = {{"label-noise", {0.4, 0.2, 0.6}}};
  document["cells"] = {{{"optimizer", "sgd"}}, {{"optimizer", "sam"}, {"rho", 0.1}}};
  document["checks"] = {{{"metric", "test_acc"}, {"difference", {{{"optimizer", "sam"}}, {{"optimizer", "sgd"}}}},
                         {"increasing-along", "label-noise"}}};
  StudySummary summary;
  summary.spec = parseStudySpec(document, "study.json");
  ASSERT_EQ(summary.spec.checks.size(), 1u);
  ASSERT_EQ(summary.spec.checks[0].kind, StudyCheck::Kind::DifferenceIncreasing);
  // Cell order: sgd at 0.4, 0.2, 0.6, then sam at 0.4, 0.2, 0.6. SAM - SGD: 0.2 -> 0.02, 0.4 -> 0.05, 0.6 -> 0.10.
  const auto setMeans = [&](const std::vector<double>& means) {
    summary.cells.clear();
    for (double mean : means) {
      StudyCellSummary cell;
      cell.done = 3;
      for (const auto& name : studyMetricNames()) cell.metrics[name] = summarize({});
      cell.metrics["test_acc"] = summarize({mean - 0.01, mean, mean + 0.01});
      summary.cells.push_back(cell);
    }
  };
  setMeans({0.70, 0.80, 0.50, 0.75, 0.82, 0.60});
  StudyCheckResult result = judgeStudyCheck(summary.spec.checks[0], summary);
  EXPECT_EQ(result.verdict, CheckVerdict::Holds) << result.measured;
  EXPECT_EQ(result.measured.substr(0, 30), "label-noise=0.2: 0.82 - 0.8 = ") << result.measured;
  // The advantage at 0.6 (0.04) below the one at 0.4 (0.05): fails.
  setMeans({0.70, 0.80, 0.50, 0.75, 0.82, 0.54});
  EXPECT_EQ(judgeStudyCheck(summary.spec.checks[0], summary).verdict, CheckVerdict::Fails);
  // A cell with a run missing: not judged.
  setMeans({0.70, 0.80, 0.50, 0.75, 0.82, 0.60});
  summary.cells[2].done = 2;
  EXPECT_EQ(judgeStudyCheck(summary.spec.checks[0], summary).verdict, CheckVerdict::NotJudged);

  // Parsing: the option must be one the grid varies, each selector must pick one cell per value, and
  // the check takes neither a threshold nor "separated".
  auto expectCheckError = [&](const json& check, const std::string& needle) {
    json bad = document;
    bad["checks"] = {check};
    try {
      parseStudySpec(bad, "study.json");
      ADD_FAILURE() << "accepted " << check.dump();
    } catch (const std::exception& error) {
      EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
    }
  };
  const json pair = {{{"optimizer", "sam"}}, {{"optimizer", "sgd"}}};
  expectCheckError({{"metric", "test_acc"}, {"difference", pair}, {"increasing-along", "lr"}}, "must name an option the grid varies");
  expectCheckError({{"metric", "test_acc"}, {"ratio", pair}, {"increasing-along", "label-noise"}, {"at-least", 1}},
                   "\"increasing-along\" goes with \"difference\"");
  expectCheckError({{"metric", "test_acc"}, {"difference", {json::object(), {{"optimizer", "sgd"}}}}, {"increasing-along", "label-noise"}},
                   "must pick one cell at label-noise=0.2, it picks 2");
  expectCheckError({{"metric", "test_acc"}, {"difference", pair}, {"increasing-along", "label-noise"}, {"more-than", 0}},
                   "takes no threshold");
}

// Stops the study when a given run starts, or after a given run's first epoch.
class StoppingObserver : public StudyObserver, public TrainingObserver {
 public:
  std::atomic<bool> cancel{false};
  std::vector<std::pair<std::size_t, bool>> started;  // (index, resuming)
  std::size_t stopAtStartOf = 1000;
  std::size_t stopAfterFirstEpochOf = 1000;

  void onRunStarting(std::size_t index, std::size_t, const StudyRunSlot&, bool resuming) override {
    started.emplace_back(index, resuming);
    current_ = index;
    if (index == stopAtStartOf) cancel = true;
  }
  TrainingObserver* trainingObserver() override { return this; }
  bool onEpochEnd(const EpochMetrics& metrics) override {
    if (current_ == stopAfterFirstEpochOf && metrics.epoch == 1) cancel = true;
    return false;  // (true would ask the trainer to stop on its own)
  }

 private:
  std::size_t current_ = 0;
};

TEST(StudyRunTest, AStoppedStudyResumesWithoutTrainingAgainWhatWasDone) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  json document = json::parse(R"({"study": "tiny", "grid": {"optimizer": ["sgd", "sam"]}, "seeds": 2,
      "base": {"dataset": "mnist", "model": "mlp", "batch-size": 16, "epochs": 2, "threads": 1,
               "analyze-every": 2, "hessian-top": 2, "subset": 40}})");
  document["base"]["data-dir"] = dir.file("mnist");
  const StudySpec spec = parseStudySpec(document, "tiny.json");
  const std::string workspace = dir.file("workspace");

  // First call: stopped after the first epoch of run 1 (which keeps a checkpoint).
  StoppingObserver first;
  first.stopAfterFirstEpochOf = 1;
  StudyOptions options;
  options.workspace = workspace;
  options.cancel = &first.cancel;
  options.observer = &first;
  StudyOutcome outcome = runStudy(spec, options);
  EXPECT_TRUE(outcome.cancelled);
  EXPECT_EQ(outcome.trained, 1u);
  const auto slots = studyRunSlots(spec, workspace);
  EXPECT_EQ(studyRunState(slots[0].directory), StudyRunState::Done);
  EXPECT_EQ(studyRunState(slots[1].directory), StudyRunState::Partial);
  EXPECT_EQ(studyRunState(slots[2].directory), StudyRunState::Pending);
  const std::string doneRunJson = test::readText(slots[0].directory + "/run.json");
  const auto doneTime = fs::last_write_time(slots[0].directory + "/metrics.csv");

  // Without --resume the study is refused, naming it.
  options.observer = nullptr;
  try {
    runStudy(spec, options);
    ADD_FAILURE() << "an existing study was started again";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("add --resume"), std::string::npos) << error.what();
  }
  // A changed study file is refused on resume.
  json changed = document;
  changed["base"]["epochs"] = 3;
  options.resume = true;
  EXPECT_THROW(runStudy(parseStudySpec(changed, "tiny.json"), options), ConfigError);

  // Second call: stopped as run 2 starts (before its first step: nothing of it to keep).
  StoppingObserver second;
  second.stopAtStartOf = 2;
  options.cancel = &second.cancel;
  options.observer = &second;
  outcome = runStudy(spec, options);
  EXPECT_TRUE(outcome.cancelled);
  EXPECT_EQ(outcome.skipped, 1u);
  ASSERT_EQ(second.started.size(), 2u);
  EXPECT_EQ(second.started[0], std::make_pair(std::size_t{1}, true));  // resumed from its checkpoint
  EXPECT_EQ(second.started[1].first, 2u);

  // Third call: the rest.
  StoppingObserver third;
  options.cancel = &third.cancel;
  options.observer = &third;
  outcome = runStudy(spec, options);
  EXPECT_FALSE(outcome.cancelled);
  EXPECT_EQ(outcome.skipped, 2u);
  EXPECT_EQ(outcome.trained, 2u);
  ASSERT_EQ(third.started.size(), 2u);
  EXPECT_EQ(third.started[0].first, 2u);
  EXPECT_EQ(third.started[1].first, 3u);

  // The run done in the first call was not touched again.
  EXPECT_EQ(test::readText(slots[0].directory + "/run.json"), doneRunJson);
  EXPECT_EQ(fs::last_write_time(slots[0].directory + "/metrics.csv"), doneTime);
  // One record per run in the store, named and tagged for the study.
  RunStore store{Workspace(workspace)};
  RunFilter filter;
  const auto runs = store.listRuns(filter);
  ASSERT_EQ(runs.size(), 4u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::Finished) << run.name;
    EXPECT_EQ(run.tags, std::vector<std::string>{"study:tiny"});
  }
  EXPECT_EQ(runs[0].name, "tiny/optimizer=sgd seed 0");

  // The summary: every run done, metrics read back, files written.
  const StudySummary summary = summarizeRecordedStudy(workspace, "tiny");
  EXPECT_TRUE(summary.complete());
  EXPECT_EQ(summary.cells.at(1).metrics.at("lambda_max").count, 2u);
  EXPECT_GT(summary.cells.at(1).metrics.at("lambda_max").mean, 0.0);
  EXPECT_EQ(summary.cells.at(0).metrics.at("m_sharpness").count, 0u);  // not asked for
  // Each run timed by the study (the resumed one over its two calls).
  for (const auto& run : summary.runs) EXPECT_GT(run.wallSeconds, 0.0) << run.slot.directory;
  EXPECT_GE(summary.wallSeconds, summary.runSeconds);
  writeStudyCsvFiles(summary);
  const std::string csv = test::readText(summary.directory + "/study.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')).substr(0, 52), "cell,optimizer,runs,done,diverged,test_acc_mean,test");
  EXPECT_NE(csv.find("\noptimizer=sam,sam,2,2,0,"), std::string::npos) << csv;
  EXPECT_EQ(recordedStudies(workspace), std::vector<std::string>{"tiny"});
  // The rank correlations read the same directories: lambda_max of all four runs (the analyses ran on
  // the test split, the default, so the train loss is metrics.csv's), its gap as the files say.
  const StudyCorrelations& correlations = summary.correlations;
  EXPECT_EQ(correlations.trainLoss, StudyCorrelations::TrainLoss::MetricsCsv);
  ASSERT_EQ(correlations.entries.size(), 2u);
  const StudyCorrelation& gap = correlations.entries[0];
  EXPECT_EQ(gap.measure, "lambda_max");
  ASSERT_EQ(gap.points.size(), 4u);
  for (const auto& point : gap.points) {
    const StudyRunResult& run = summary.runs.at(point.run);
    EXPECT_EQ(point.measure, run.metrics.at("lambda_max"));
    EXPECT_EQ(point.target, run.metrics.at("test_loss") - run.minibatchTrainLoss);
    EXPECT_EQ(run.analysisSplit, "test");
    EXPECT_GT(run.minibatchTrainLoss, 0.0);
  }
  const std::string correlationsCsv = test::readText(summary.directory + "/study-correlations.csv");
  EXPECT_NE(correlationsCsv.find("\nlambda_max,loss_gap,4,"), std::string::npos) << correlationsCsv;
  EXPECT_NE(studyTableText(summary).find("lambda_max               vs test loss - train loss"), std::string::npos)
      << studyTableText(summary);

  // A run stopped during its last analysis (which then says "cancelled"), and one killed before that
  // analysis wrote anything, are not done: a resume redoes their analyses, training nothing again.
  const std::string lastAnalysis = slots[3].directory + "/analysis/epoch-002/analysis.json";
  json analysis = json::parse(test::readText(lastAnalysis));
  analysis["status"] = "cancelled";
  std::ofstream(lastAnalysis) << analysis.dump();
  fs::remove(slots[2].directory + "/analysis/epoch-002/analysis.json");
  EXPECT_EQ(studyRunState(slots[3].directory), StudyRunState::Partial);
  EXPECT_EQ(studyRunState(slots[2].directory), StudyRunState::Partial);
  EXPECT_EQ(summarizeRecordedStudy(workspace, "tiny").cells.at(1).metrics.at("lambda_max").count, 0u);
  const std::string metricsBefore = test::readText(slots[3].directory + "/metrics.csv");
  StoppingObserver fourth;
  options.cancel = &fourth.cancel;
  options.observer = &fourth;
  outcome = runStudy(spec, options);
  EXPECT_EQ(outcome.trained, 2u);
  EXPECT_EQ(studyRunState(slots[3].directory), StudyRunState::Done);
  EXPECT_EQ(json::parse(test::readText(lastAnalysis))["status"], "complete");
  EXPECT_EQ(json::parse(test::readText(slots[2].directory + "/analysis/epoch-002/analysis.json"))["status"], "complete");
  EXPECT_EQ(test::readText(slots[3].directory + "/metrics.csv"), metricsBefore);
  EXPECT_EQ(summarizeRecordedStudy(workspace, "tiny").cells.at(1).metrics.at("lambda_max").count, 2u);

  // Another process running the study holds its lock: refused, naming it.
  const std::string lockPath = studyDirectory(workspace, "tiny") + "/lock";
  const int other = open(lockPath.c_str(), O_RDWR);
  ASSERT_GE(other, 0);
  ASSERT_EQ(flock(other, LOCK_EX | LOCK_NB), 0);
  try {
    runStudy(spec, options);
    ADD_FAILURE() << "a locked study ran";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("another process"), std::string::npos) << error.what();
  }
  close(other);
}

}  // namespace
}  // namespace samscape

namespace samscape {
namespace {

// Every study shipped in resources/studies parses; the GPU variants are checked with their device set
// to the CPU (parsing checks that a CUDA device exists).
TEST(StudyPresetsTest, EveryShippedStudyParses) {
  int parsed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(SAMSCAPE_SOURCE_DIR) / "resources" / "studies")) {
    if (entry.path().extension() != ".json") continue;
    json document = json::parse(test::readText(entry.path().string()));
    if (document["base"].value("device", "cpu") != "cpu") document["base"]["device"] = "cpu";
    const StudySpec spec = parseStudySpec(document, entry.path().string());
    EXPECT_FALSE(spec.checks.empty()) << entry.path() << ": a preset says what it must show";
    EXPECT_GE(spec.seeds.size(), 3u) << entry.path() << ": intervals need seeds";
    ++parsed;
  }
  EXPECT_EQ(parsed, 9);  // flatness, label noise, its sweep, m-sharpness, accuracy, SAM at SGD's cost; 3 CIFAR-10 variants
}

}  // namespace
}  // namespace samscape

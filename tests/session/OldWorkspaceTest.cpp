// A workspace written before analyses became stages (tests/data/workspace-before-stages, made by the
// code at b8e1cae; its README says how) reads back with the numbers its files hold: each analysis
// directory through the stages' readers, the store's rows, a study's view of the run, and the records
// the stages make of its analysis.json agree with the ones the old code stored. The expected values
// come from the files themselves, parsed here with nlohmann::json and plain CSV reading.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "analysis/AnalysisSession.h"
#include "analysis/Metrics.h"
#include "core/store/RunStore.h"
#include "core/store/Workspace.h"
#include "session/AnalysisRecords.h"
#include "session/StudySummary.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A copy: opening the store may write to it, and the source tree stays as it is.
struct OldWorkspace {
  test::TempDir dir;
  fs::path root;
  OldWorkspace() : root(dir.path() / "ws") {
    fs::copy(fs::path(SAMSCAPE_SOURCE_DIR) / "tests/data/workspace-before-stages", root, fs::copy_options::recursive);
  }
  json analysisJson(const fs::path& directory) const {
    std::ifstream in(directory / "analysis.json");
    return json::parse(in);
  }
  std::vector<fs::path> analysisDirectories() const {
    return {root / "runs/sam/analysis/epoch-001", root / "runs/sam/analysis/epoch-002",
            root / "runs/sam/analysis/epoch-003", root / "analyses/sgd-to-sam"};
  }
};

// The lines of a CSV file after its header.
std::size_t dataRows(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::size_t rows = 0;
  std::getline(in, line);
  while (std::getline(in, line)) rows += line.empty() ? 0 : 1;
  return rows;
}

TEST(OldWorkspace, EveryAnalysisDirectoryReadsBackWithTheNumbersItsFilesHold) {
  OldWorkspace workspace;
  for (const fs::path& directory : workspace.analysisDirectories()) {
    SCOPED_TRACE(directory.string());
    const json document = workspace.analysisJson(directory);
    const AnalysisResults results = readAnalysisDirectory(directory.string());
    EXPECT_EQ(results.status, "complete");
    EXPECT_EQ(results.metric("analysis_loss"), document["loss"].get<double>());
    EXPECT_EQ(results.metric("analysis_accuracy"), document["accuracy"].get<double>());
    EXPECT_EQ(results.eigenvalues, document["hessian"]["eigenvalues"].get<std::vector<double>>());
    EXPECT_EQ(results.metric("lambda_max"), document["hessian"]["eigenvalues"][0].get<double>());
    EXPECT_EQ(results.metric("m_sharpness"), document["m_sharpness"].get<double>());
    if (document.contains("trace")) {
      EXPECT_EQ(results.metric("trace"), document["trace"]["mean"].get<double>());
      EXPECT_EQ(results.metric("trace_stderr"), document["trace"]["stderr"].get<double>());
      const auto eigenvalues = document["hessian"]["eigenvalues"].get<std::vector<double>>();
      EXPECT_EQ(results.metric("lambda_ratio"), eigenvalues.front() / eigenvalues.back());
      EXPECT_EQ(results.bottomEigenvalues, document["hessian"]["bottom"]["eigenvalues"].get<std::vector<double>>());
      ASSERT_EQ(results.perLayer.size(), document["per_layer"]["layers"].size());
      for (std::size_t i = 0; i < results.perLayer.size(); ++i) {
        const json& layer = document["per_layer"]["layers"][i];
        EXPECT_EQ(results.perLayer[i].layer, layer["layer"].get<std::string>());
        EXPECT_EQ(results.perLayer[i].parameters, layer["parameters"].get<std::int64_t>());
        EXPECT_EQ(results.perLayer[i].trace, layer["trace"].get<double>());
      }
      EXPECT_EQ(results.esd.eigenvalues.size(), dataRows(directory / "esd.csv"));
      ASSERT_EQ(results.slice.loss.size(), 25U) << "a 5 x 5 grid";
      EXPECT_EQ(results.slice.pointsDone, 25);
      // The centre point of the slice is the analysed weights: analysis.json's centre loss.
      EXPECT_EQ(results.slice.loss[results.slice.index(2, 2)], document["slice"]["centre_loss"].get<double>());
      const std::size_t trajectoryRows =
          document["trajectory"].contains("slice_file") ? dataRows(directory / "trajectory_on_slice.csv") : 0;
      EXPECT_EQ(results.trajectoryOnSlice.epochs.size(), trajectoryRows);
    } else {
      EXPECT_EQ(results.interpolation.ts.size(), dataRows(directory / "interpolation.csv"));
      EXPECT_EQ(results.bezier.ts.size(), dataRows(directory / "bezier.csv"));
      EXPECT_EQ(results.interpolation.ts.size(), 5U);
    }
  }
}

TEST(OldWorkspace, TheStoreRowsAreReadAndTheStagesMakeTheSameRecordsOfTheSameFiles) {
  OldWorkspace workspace;
  RunStore store(Workspace(workspace.root.string()));
  const std::vector<RunRecord> runs = store.listRuns();
  ASSERT_EQ(runs.size(), 2U);
  const RunRecord sam = store.findRun("sam");
  // metrics.csv's rows are the store's epochs.
  EXPECT_EQ(store.metrics(sam.id).size(), dataRows(workspace.root / "runs/sam/metrics.csv"));

  // What the old code recorded per epoch, kind by kind, against what the stages make of the same
  // analysis.json now.
  std::map<std::pair<int, std::string>, std::string> stored;
  for (const AnalysisRecord& record : store.analyses(sam.id)) {
    ASSERT_TRUE(record.epoch.has_value());
    stored[{*record.epoch, record.kind}] = record.valuesJson;
  }
  std::size_t made = 0;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    char name[32];
    std::snprintf(name, sizeof name, "epoch-%03d", epoch);
    const fs::path directory = workspace.root / "runs/sam/analysis" / name;
    std::ifstream in(directory / "analysis.json");
    std::stringstream text;
    text << in.rdbuf();
    for (const AnalysisRecord& record : analysisRecords(sam.id, epoch, directory.string(), text.str())) {
      SCOPED_TRACE(std::string(name) + " " + record.kind);
      const auto found = stored.find({epoch, record.kind});
      ASSERT_NE(found, stored.end()) << "the old code stored no such record";
      EXPECT_EQ(json::parse(record.valuesJson), json::parse(found->second));
      ++made;
    }
  }
  EXPECT_EQ(made, stored.size()) << "every stored record is made again, and no other";
}

TEST(OldWorkspace, AStudyReadsTheRunsFinalNumbers) {
  OldWorkspace workspace;
  StudyRunSlot slot;
  slot.directory = (workspace.root / "runs/sam").string();
  slot.name = "sam";
  const StudyRunResult result = readStudyRunResult(slot);
  EXPECT_TRUE(result.problem.empty()) << result.problem;
  ASSERT_EQ(result.state, StudyRunState::Done);
  const json last = workspace.analysisJson(workspace.root / "runs/sam/analysis/epoch-003");
  EXPECT_EQ(result.metrics.at("lambda_max"), last["hessian"]["eigenvalues"][0].get<double>());
  EXPECT_EQ(result.metrics.at("m_sharpness"), last["m_sharpness"].get<double>());
  EXPECT_EQ(result.metrics.at("trace"), last["trace"]["mean"].get<double>());
  // The last row of metrics.csv: epoch,train_loss,train_accuracy,test_loss,test_accuracy,...
  std::ifstream in(workspace.root / "runs/sam/metrics.csv");
  std::string header;
  std::string line;
  std::string row;
  std::getline(in, header);
  while (std::getline(in, line)) {
    if (!line.empty()) row = line;
  }
  std::vector<std::string> names;
  std::vector<std::string> cells;
  for (std::stringstream split(header); std::getline(split, line, ',');) names.push_back(line);
  for (std::stringstream split(row); std::getline(split, line, ',');) cells.push_back(line);
  const auto column = [&](const std::string& name) {
    const auto at = std::find(names.begin(), names.end(), name);
    EXPECT_NE(at, names.end()) << name;
    return std::stod(cells.at(static_cast<std::size_t>(at - names.begin())));
  };
  EXPECT_DOUBLE_EQ(result.metrics.at("test_acc"), column("test_acc"));
  EXPECT_DOUBLE_EQ(result.metrics.at("test_loss"), column("test_loss"));
}

}  // namespace
}  // namespace samscape

// samscape-cli runs ... and export, run as a user runs them: a separate process on a workspace that
// the test fills through the store library (no training needed), checking exit codes, output and
// what is left in the store and on disk.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/store/RunStore.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::readText;

struct CliResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

class RunsCliTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};
  std::int64_t sam = 0, sgd = 0;

  void SetUp() override {
    RunStore store(workspace);
    RunRecord run;
    run.name = "sam-cnn";
    run.tags = {"paper"};
    run.configJson = R"({"lr":0.05,"optimizer":"sam"})";
    run.outDir = (workspace.runsDirectory() / "sam-cnn").string();
    sam = store.createRun(run);
    run.name = "sgd-cnn";
    run.tags = {};
    run.configJson = R"({"lr":0.05,"optimizer":"sgd"})";
    run.outDir = (workspace.runsDirectory() / "sgd-cnn").string();
    sgd = store.createRun(run);
    for (const auto id : {sam, sgd}) {
      fs::create_directories(workspace.runsDirectory() / (id == sam ? "sam-cnn" : "sgd-cnn"));
      for (int e = 1; e <= 3; ++e) {
        EpochMetrics m;
        m.epoch = e;
        m.trainLoss = 1.0 / e + static_cast<double>(id);
        m.testLoss = 2.0 / e;
        m.testAccuracy = 0.25 * e + 0.01 * static_cast<double>(id);
        m.learningRate = 0.05;
        store.recordEpoch(id, m);
      }
      store.finishRun(id, RunStatus::Finished, "", 3.0);
    }
    AnalysisRecord hessian;
    hessian.runId = sam;
    hessian.epoch = 3;
    hessian.kind = "hessian";
    hessian.valuesJson = R"({"eigenvalues":[7.25,3.5]})";
    store.recordAnalysis(hessian);
  }

  CliResult run(const std::string& arguments) const {
    const std::string out = dir.file("stdout.txt");
    const std::string err = dir.file("stderr.txt");
    const std::string command =
        std::string(SAMSCAPE_CLI_PATH) + " " + arguments + " >" + out + " 2>" + err + " </dev/null";
    const int status = std::system(command.c_str());
    CliResult result;
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = readText(out);
    result.err = readText(err);
    return result;
  }

  std::string ws() const { return " --workspace " + workspace.directory().string(); }

  void expectOneLineError(const CliResult& result, const std::vector<std::string>& parts) const {
    EXPECT_EQ(result.exitCode, 2) << result.err;
    test::expectContains(result.err, parts);
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
};

TEST_F(RunsCliTest, ListShowsEveryRunAndFilters) {
  const CliResult all = run("runs list" + ws());
  ASSERT_EQ(all.exitCode, 0) << all.err;
  EXPECT_NE(all.out.find("sam-cnn [paper]"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("sgd-cnn"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("finished"), std::string::npos) << all.out;
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 3) << all.out;  // header + 2 runs

  const CliResult tagged = run("runs list --tag paper" + ws());
  ASSERT_EQ(tagged.exitCode, 0) << tagged.err;
  EXPECT_NE(tagged.out.find("sam-cnn"), std::string::npos);
  EXPECT_EQ(tagged.out.find("sgd-cnn"), std::string::npos) << tagged.out;

  expectOneLineError(run("runs list --status exploded" + ws()), {"--status", "exploded"});
}

TEST_F(RunsCliTest, ShowPrintsConfigMetricsAndAnalyses) {
  const CliResult shown = run("runs show sam-cnn" + ws());
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  test::expectContains(shown.out, {"run " + std::to_string(sam) + ": sam-cnn", "\"optimizer\": \"sam\"",
                                   "metrics (3 epochs)", "3,1.3333333333333333,", "hessian at epoch 3",
                                   "7.25", (workspace.runsDirectory() / "sam-cnn").string()});
}

TEST_F(RunsCliTest, TagAndNoteChangeTheStore) {
  ASSERT_EQ(run("runs tag " + std::to_string(sgd) + " baseline sgd" + ws()).exitCode, 0);
  ASSERT_EQ(run("runs tag sam-cnn paper --remove" + ws()).exitCode, 0);
  ASSERT_EQ(run("runs note sgd-cnn 'lr too high, retry with 0.01'" + ws()).exitCode, 0);
  RunStore store(workspace);
  EXPECT_EQ(store.run(sgd).tags, (std::vector<std::string>{"baseline", "sgd"}));
  EXPECT_TRUE(store.run(sam).tags.empty());
  EXPECT_EQ(store.run(sgd).notes, "lr too high, retry with 0.01");
}

TEST_F(RunsCliTest, DeleteWithYesRemovesTheRunAndItsDirectory) {
  const CliResult deleted = run("runs delete sgd-cnn --yes" + ws());
  ASSERT_EQ(deleted.exitCode, 0) << deleted.err;
  EXPECT_NE(deleted.out.find("removed " + (workspace.runsDirectory() / "sgd-cnn").string()),
            std::string::npos)
      << deleted.out;
  EXPECT_FALSE(fs::exists(workspace.runsDirectory() / "sgd-cnn"));
  RunStore store(workspace);
  EXPECT_EQ(store.listRuns().size(), 1u);
  EXPECT_TRUE(store.metrics(sgd).empty());
  EXPECT_TRUE(fs::exists(workspace.runsDirectory() / "sam-cnn"));
}

TEST_F(RunsCliTest, DeleteWithoutYesOffATerminalRefusesAndDeletesNothing) {
  const CliResult refused = run("runs delete sgd-cnn" + ws());
  expectOneLineError(refused, {"--yes", "not a terminal", "sgd-cnn"});
  EXPECT_TRUE(fs::exists(workspace.runsDirectory() / "sgd-cnn"));
  RunStore store(workspace);
  EXPECT_EQ(store.run(sgd).name, "sgd-cnn");
  EXPECT_EQ(store.metrics(sgd).size(), 3u);
}

TEST_F(RunsCliTest, ExportWritesTheCsvFiles) {
  const fs::path out = dir.path() / "export";
  const CliResult exported = run("export sam-cnn " + std::to_string(sgd) + " --out " + out.string() + ws());
  ASSERT_EQ(exported.exitCode, 0) << exported.err;
  const std::string metrics = readText((out / "metrics.csv").string());
  EXPECT_EQ(metrics.rfind("run,epoch,metric,value\n", 0), 0u) << metrics;
  // 2 runs x 3 epochs x 6 metrics (no validation split), plus the header.
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 37) << metrics;
  EXPECT_NE(metrics.find(std::to_string(sam) + ",3,train_loss,1.3333333333333333\n"), std::string::npos)
      << metrics;
  const std::string runs = readText((out / "runs.csv").string());
  EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 3) << runs;
  EXPECT_NE(
      readText((out / "analysis.csv").string()).find(std::to_string(sam) + ",3,hessian,eigenvalues,1,3.5\n"),
      std::string::npos);
}

TEST_F(RunsCliTest, UnknownRunsAndBadWorkspacesAreNamedWithExitCode2) {
  expectOneLineError(run("runs show 42" + ws()), {"42", "no run"});
  expectOneLineError(run("runs delete nosuchrun --yes" + ws()), {"nosuchrun", "no run"});
  expectOneLineError(run("export 42 --out " + dir.file("x") + ws()), {"42", "no run"});
  const std::string missing = dir.file("no-such-workspace");
  expectOneLineError(run("runs list --workspace " + missing), {"--workspace", missing});
  EXPECT_FALSE(fs::exists(missing)) << "a reading command must not create a workspace";
  // A file where the workspace should be.
  test::writeRaw(dir.file("a-file"), {'x'});
  expectOneLineError(run("runs list --workspace " + dir.file("a-file")), {"--workspace", "a-file"});
}

TEST_F(RunsCliTest, AWorkspaceOfANewerVersionIsRefused) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(workspace.databasePath().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  const auto before = test::readBytes(workspace.databasePath().string());
  expectOneLineError(run("runs list" + ws()), {"newer", "99", workspace.databasePath().string()});
  EXPECT_EQ(test::readBytes(workspace.databasePath().string()), before);
}

}  // namespace
}  // namespace samscape

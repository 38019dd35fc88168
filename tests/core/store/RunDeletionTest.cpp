// deleteRun: the run's rows and files go; other runs stay; nothing outside the workspace is removed
// unless asked; a run that a live process records is refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/Error.h"
#include "core/store/RunStore.h"
#include "core/store/StoreRecorder.h"
#include "tests/core/store/StoreTestSupport.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

class RunDeletionTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};
  RunStore store{workspace};

  // A run with a run directory (run.json, a checkpoint), two epochs and an analysis with a file.
  std::int64_t addRun(const std::string& name, const fs::path& outDir) {
    RunRecord run;
    run.name = name;
    run.outDir = outDir.string();
    const auto id = store.createRun(run);
    fs::create_directories(outDir / "checkpoints" / "epoch-001");
    test::writeRaw((outDir / "run.json").string(), {'{', '}'});
    test::writeRaw((outDir / "checkpoints" / "epoch-001" / "model.pt").string(), {1, 2});
    store.recordEpochs(id, {test::knownMetrics(0, 1), test::knownMetrics(0, 2)});
    AnalysisRecord analysis;
    analysis.runId = id;
    analysis.kind = "slice";
    analysis.files = {{"slice.csv", (outDir / "analysis" / "slice.csv").string()}};
    fs::create_directories(outDir / "analysis");
    test::writeRaw(analysis.files[0].path, {'x'});
    store.recordAnalysis(analysis);
    return id;
  }
};

TEST_F(RunDeletionTest, RemovesTheRowsAndTheRunDirectoryAndLeavesOtherRuns) {
  const auto doomed = addRun("doomed", workspace.runsDirectory() / "doomed");
  const auto kept = addRun("kept", workspace.runsDirectory() / "kept");
  const DeletionReport report = store.deleteRun(doomed);
  EXPECT_THROW(store.run(doomed), ConfigError);
  EXPECT_TRUE(store.metrics(doomed).empty());
  EXPECT_TRUE(store.analyses(doomed).empty());
  EXPECT_FALSE(fs::exists(workspace.runsDirectory() / "doomed"));
  EXPECT_EQ(report.removed, (std::vector<std::string>{(workspace.runsDirectory() / "doomed").string()}));
  EXPECT_TRUE(report.kept.empty());

  EXPECT_EQ(store.run(kept).name, "kept");
  EXPECT_EQ(store.metrics(kept).size(), 2u);
  EXPECT_EQ(store.analyses(kept).size(), 1u);
  EXPECT_TRUE(fs::exists(workspace.runsDirectory() / "kept" / "checkpoints" / "epoch-001" / "model.pt"));
  EXPECT_EQ(store.integrityCheck(), "ok");
}

TEST_F(RunDeletionTest, ADirectoryOutsideTheWorkspaceIsKeptUnlessAsked) {
  const fs::path outside = dir.path() / "elsewhere" / "run";
  const auto first = addRun("outside", outside);
  const DeletionReport keep = store.deleteRun(first);
  EXPECT_THROW(store.run(first), ConfigError);
  EXPECT_TRUE(fs::exists(outside / "run.json"));
  EXPECT_EQ(keep.kept.front(), outside.string());

  const auto second = addRun("outside-again", outside);
  const DeletionReport removed = store.deleteRun(second, OutsideFiles::Remove);
  EXPECT_FALSE(fs::exists(outside));
  EXPECT_EQ(removed.removed.front(), outside.string());
}

TEST_F(RunDeletionTest, NeverRemovesADirectoryThatIsNotARunOrHoldsTheWorkspace) {
  // A mistyped --out: a directory without run.json outside the workspace.
  const fs::path home = dir.path() / "home";
  fs::create_directories(home);
  test::writeRaw((home / "thesis.tex").string(), {'x'});
  RunRecord wrong;
  wrong.name = "wrong";
  wrong.outDir = home.string();
  store.deleteRun(store.createRun(wrong), OutsideFiles::Remove);
  EXPECT_TRUE(fs::exists(home / "thesis.tex"));

  RunRecord itself;
  itself.name = "itself";
  itself.outDir = workspace.directory().string();
  store.deleteRun(store.createRun(itself), OutsideFiles::Remove);
  EXPECT_TRUE(fs::exists(workspace.databasePath()));
  EXPECT_EQ(store.integrityCheck(), "ok");
}

TEST_F(RunDeletionTest, ARunBeingRecordedIsNotDeleted) {
  RunRecord run;
  run.name = "live";
  run.outDir = (workspace.runsDirectory() / "live").string();
  fs::create_directories(run.outDir);
  StoreRecorder recorder(store, run);
  test::expectContains(test::messageOf<Error>([&] { store.deleteRun(recorder.runId()); }),
                       {"live", "being recorded"});
  EXPECT_EQ(store.run(recorder.runId()).status, RunStatus::Running);
  EXPECT_TRUE(fs::exists(run.outDir));
}

}  // namespace
}  // namespace samscape

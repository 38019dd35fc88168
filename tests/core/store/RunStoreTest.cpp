// RunStore: creating, finding, listing, tagging, annotating runs; metrics and analyses round-trip.
#include "core/store/RunStore.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/Error.h"
#include "tests/core/store/StoreTestSupport.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::expectContains;
using test::knownMetrics;
using test::messageOf;

class RunStoreTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};

  RunRecord sampleRun(const std::string& name) const {
    RunRecord run;
    run.name = name;
    run.tags = {"sam", "baseline"};
    run.notes = "first try";
    run.configJson = R"({"lr":0.05,"optimizer":"sam"})";
    run.versionsJson = R"({"libtorch":"1.13.1"})";
    run.device = "cpu";
    run.outDir = (workspace.runsDirectory() / name).string();
    return run;
  }
};

TEST_F(RunStoreTest, CreatesTheWorkspaceWithAWalDatabaseAtTheLatestSchema) {
  RunStore store(workspace);
  EXPECT_TRUE(fs::exists(workspace.databasePath()));
  EXPECT_EQ(store.schemaVersion(), RunStore::kSchemaVersion);
  EXPECT_EQ(store.integrityCheck(), "ok");
  // WAL mode is recorded in the file header (bytes 18 and 19 are 2 for WAL, 1 for a rollback journal).
  const auto bytes = test::readBytes(workspace.databasePath().string());
  ASSERT_GE(bytes.size(), 100u);
  EXPECT_EQ(bytes[18], 2);
  EXPECT_EQ(bytes[19], 2);
}

TEST_F(RunStoreTest, ACreatedRunReadsBackFieldByField) {
  RunStore store(workspace);
  const auto id = store.createRun(sampleRun("sam-cnn"));
  const RunRecord run = store.run(id);
  EXPECT_EQ(run.id, id);
  EXPECT_EQ(run.name, "sam-cnn");
  EXPECT_EQ(run.tags, (std::vector<std::string>{"baseline", "sam"}));
  EXPECT_EQ(run.notes, "first try");
  EXPECT_EQ(run.status, RunStatus::Queued);
  EXPECT_EQ(run.configJson, R"({"lr":0.05,"optimizer":"sam"})");
  EXPECT_EQ(run.versionsJson, R"({"libtorch":"1.13.1"})");
  EXPECT_EQ(run.device, "cpu");
  EXPECT_EQ(run.outDir, (workspace.runsDirectory() / "sam-cnn").string());
  EXPECT_EQ(run.createdAt.size(), std::string("2024-01-01T00:00:00Z").size()) << run.createdAt;
  EXPECT_EQ(run.startedAt, "");
  EXPECT_EQ(run.finishedAt, "");
}

TEST_F(RunStoreTest, RunDirectoriesInsideTheWorkspaceAreStoredRelativeSoTheWorkspaceCanMove) {
  {
    RunStore store(workspace);
    store.createRun(sampleRun("inside"));
    RunRecord outside = sampleRun("outside");
    outside.outDir = (dir.path() / "elsewhere").string();
    store.createRun(outside);
  }
  const fs::path moved = dir.path() / "moved";
  fs::rename(workspace.directory(), moved);
  RunStore store{Workspace(moved)};
  EXPECT_EQ(store.findRun("inside").outDir, (moved / "runs" / "inside").string());
  EXPECT_EQ(store.findRun("outside").outDir, (dir.path() / "elsewhere").string());
}

TEST_F(RunStoreTest, FindsRunsByIdExactNameOrUniquePrefixAndNamesWhatItCannotFind) {
  RunStore store(workspace);
  const auto first = store.createRun(sampleRun("sgd-cnn"));
  const auto second = store.createRun(sampleRun("sgd-cnn-long"));
  const auto third = store.createRun(sampleRun("sam-resnet"));
  EXPECT_EQ(store.findRun(std::to_string(second)).id, second);
  EXPECT_EQ(store.findRun("sgd-cnn").id, first);  // exact beats prefix
  EXPECT_EQ(store.findRun("sam").id, third);
  expectContains(messageOf<ConfigError>([&] { store.findRun("sgd"); }), {"sgd", "several", "1, 2"});
  expectContains(messageOf<ConfigError>([&] { store.findRun("adam"); }), {"adam", "no run"});
  expectContains(messageOf<ConfigError>([&] { store.findRun("42"); }), {"42", "no run"});
}

TEST_F(RunStoreTest, KnowsWhetherANameIsTakenExactly) {
  RunStore store(workspace);
  EXPECT_FALSE(store.hasRunNamed("pair 1 SGD"));
  store.createRun(sampleRun("pair 1 SGD"));
  EXPECT_TRUE(store.hasRunNamed("pair 1 SGD"));
  EXPECT_FALSE(store.hasRunNamed("pair 1"));       // a prefix is not the name
  EXPECT_FALSE(store.hasRunNamed("pair 1 SGD 2"));  // nor is a longer name
  EXPECT_FALSE(store.hasRunNamed("pair 1 sgd"));    // names are case-sensitive, as findRun's
}

TEST_F(RunStoreTest, ListsRunsFilteredByNameTagAndStatus) {
  RunStore store(workspace);
  const auto a = store.createRun(sampleRun("sgd-a"));
  RunRecord untagged = sampleRun("sam-b");
  untagged.tags = {"paper"};
  const auto b = store.createRun(untagged);
  store.setStatus(b, RunStatus::Running);
  const auto ids = [](const std::vector<RunRecord>& runs) {
    std::vector<std::int64_t> result;
    for (const auto& run : runs) result.push_back(run.id);
    return result;
  };
  EXPECT_EQ(ids(store.listRuns()), (std::vector<std::int64_t>{a, b}));
  EXPECT_EQ(ids(store.listRuns({"sam", "", std::nullopt})), (std::vector<std::int64_t>{b}));
  EXPECT_EQ(ids(store.listRuns({"", "baseline", std::nullopt})), (std::vector<std::int64_t>{a}));
  EXPECT_EQ(ids(store.listRuns({"", "", RunStatus::Running})), (std::vector<std::int64_t>{b}));
  EXPECT_TRUE(store.listRuns({"nothing", "", std::nullopt}).empty());
  EXPECT_EQ(store.listRuns()[1].tags, (std::vector<std::string>{"paper"}));
}

TEST_F(RunStoreTest, TagsAndNotesChange) {
  RunStore store(workspace);
  const auto id = store.createRun(sampleRun("run"));
  store.addTags(id, {"final", "sam"});
  store.removeTags(id, {"baseline"});
  store.setNotes(id, "rho 0.05, \"best\" so far,\nsecond line");
  const RunRecord run = store.run(id);
  EXPECT_EQ(run.tags, (std::vector<std::string>{"final", "sam"}));
  EXPECT_EQ(run.notes, "rho 0.05, \"best\" so far,\nsecond line");
  EXPECT_THROW(store.addTags(id, {""}), ConfigError);
  EXPECT_THROW(store.setNotes(id + 7, "x"), ConfigError);
}

TEST_F(RunStoreTest, StatusChangesSetTheTimes) {
  RunStore store(workspace);
  const auto id = store.createRun(sampleRun("run"));
  store.setStatus(id, RunStatus::Running);
  const RunRecord running = store.run(id);
  EXPECT_EQ(running.status, RunStatus::Running);
  EXPECT_FALSE(running.startedAt.empty());
  EXPECT_TRUE(running.finishedAt.empty());
  store.finishRun(id, RunStatus::Diverged, "NaN loss at epoch 3, step 7", 12.5);
  const RunRecord ended = store.run(id);
  EXPECT_EQ(ended.status, RunStatus::Diverged);
  EXPECT_EQ(ended.message, "NaN loss at epoch 3, step 7");
  EXPECT_DOUBLE_EQ(ended.seconds, 12.5);
  EXPECT_FALSE(ended.finishedAt.empty());
  EXPECT_EQ(ended.startedAt, running.startedAt);
  // An unknown status cannot be asked for: RunStatus has the seven names, and the schema CHECKs them.
  EXPECT_THROW(store.finishRun(id, RunStatus::Running, "", 0.0), Error);
}

TEST_F(RunStoreTest, EpochMetricsRoundTripAndARecordedEpochIsReplacedNotDuplicated) {
  RunStore store(workspace);
  const auto id = store.createRun(sampleRun("run"));
  store.recordEpoch(id, knownMetrics(1, 1, true));
  store.recordEpochs(id, {knownMetrics(1, 2, true), knownMetrics(1, 3, true)});
  EpochMetrics diverged = knownMetrics(1, 3);
  diverged.trainLoss = std::numeric_limits<double>::quiet_NaN();
  diverged.testLoss = std::numeric_limits<double>::infinity();
  store.recordEpoch(id, diverged);  // epoch 3 again, as a resumed run records it
  const auto epochs = store.metrics(id);
  ASSERT_EQ(epochs.size(), 3u);
  for (int e = 1; e <= 2; ++e) {
    const EpochMetrics expected = knownMetrics(1, e, true);
    const EpochMetrics& got = epochs[static_cast<std::size_t>(e - 1)];
    EXPECT_EQ(got.epoch, e);
    EXPECT_EQ(got.trainLoss, expected.trainLoss);
    EXPECT_EQ(got.trainAccuracy, expected.trainAccuracy);
    EXPECT_EQ(got.testLoss, expected.testLoss);
    EXPECT_EQ(got.testAccuracy, expected.testAccuracy);
    EXPECT_EQ(got.validationLoss, expected.validationLoss);
    EXPECT_EQ(got.validationAccuracy, expected.validationAccuracy);
    EXPECT_EQ(got.learningRate, expected.learningRate);
    EXPECT_EQ(got.seconds, expected.seconds);
  }
  EXPECT_TRUE(std::isnan(epochs[2].trainLoss));  // SQLite keeps NaN as NULL; it reads back as NaN
  EXPECT_EQ(epochs[2].testLoss, std::numeric_limits<double>::infinity());
  EXPECT_FALSE(epochs[2].validationLoss.has_value());
  EXPECT_THROW(store.recordEpoch(id, knownMetrics(1, 0)), Error);
}

TEST_F(RunStoreTest, AnalysesRoundTripWithTheirFilesInEpochOrder) {
  RunStore store(workspace);
  const auto id = store.createRun(sampleRun("run"));
  const std::string inside = (workspace.runsDirectory() / "run" / "analysis" / "slice.csv").string();
  const std::string outside = (dir.path() / "directions.bin").string();
  AnalysisRecord posthoc;
  posthoc.runId = id;
  posthoc.kind = "slice";
  posthoc.valuesJson = R"({"grid":51})";
  posthoc.files = {{"slice.csv", inside}, {"directions", outside}};
  AnalysisRecord atEpoch2;
  atEpoch2.runId = id;
  atEpoch2.epoch = 2;
  atEpoch2.kind = "hessian";
  atEpoch2.valuesJson = R"({"eigenvalues":[5.5,2.25]})";
  const auto ids = store.recordAnalyses({posthoc, atEpoch2});
  ASSERT_EQ(ids.size(), 2u);

  const auto found = store.analyses(id);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].id, ids[1]);  // epoch 2 before the post-hoc one
  EXPECT_EQ(found[0].epoch, std::optional<int>(2));
  EXPECT_EQ(found[0].kind, "hessian");
  EXPECT_EQ(found[0].valuesJson, R"({"eigenvalues":[5.5,2.25]})");
  EXPECT_TRUE(found[0].files.empty());
  EXPECT_FALSE(found[1].epoch.has_value());
  ASSERT_EQ(found[1].files.size(), 2u);
  EXPECT_EQ(found[1].files[0].role, "slice.csv");
  EXPECT_EQ(found[1].files[0].path, inside);
  EXPECT_EQ(found[1].files[1].path, outside);

  AnalysisRecord orphan = atEpoch2;
  orphan.runId = id + 100;
  EXPECT_THROW(store.recordAnalysis(orphan), ConfigError);
}

TEST_F(RunStoreTest, RefusesAFileThatIsNotASamscapeDatabase) {
  fs::create_directories(workspace.directory());
  test::writeRaw(workspace.databasePath().string(), test::Bytes(200, 'x'));
  expectContains(messageOf<DataError>([&] { RunStore store(workspace); }),
                 {workspace.databasePath().string(), "not an SQLite database"});
}

TEST_F(RunStoreTest, AWorkspacePathThatIsAFileIsNamed) {
  test::writeRaw(dir.file("plain-file"), test::Bytes(3, 'x'));
  expectContains(messageOf<ConfigError>([&] { RunStore store{Workspace(dir.path() / "plain-file")}; }),
                 {"--workspace", "plain-file"});
}

}  // namespace
}  // namespace samscape

// The workspace database's schema: a version-1 database (written here by hand, as the first release
// laid it out) is migrated keeping its rows; a newer one is refused without a byte changed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "core/Error.h"
#include "core/store/RunStore.h"
#include "tests/core/store/StoreTestSupport.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::expectContains;
using test::messageOf;

// Raw SQL on a database file, outside RunStore.
void executeRaw(const fs::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(code, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

// The version-1 schema as shipped, copied here rather than taken from RunStore.cpp, so that editing
// a shipped migration step in place (instead of adding one) makes this test fail.
const char* const kVersion1Schema = R"sql(
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
      ('queued','running','finished','diverged','failed','cancelled','interrupted')),
    config_json TEXT NOT NULL DEFAULT '{}',
    versions_json TEXT NOT NULL DEFAULT '{}',
    device TEXT NOT NULL DEFAULT '',
    out_dir TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX runs_by_out_dir ON runs(out_dir);
  CREATE TABLE run_tags (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
  ) WITHOUT ROWID;
  CREATE TABLE epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL CHECK (epoch >= 1),
    train_loss REAL, train_acc REAL, test_loss REAL, test_acc REAL,
    val_loss REAL, val_acc REAL, lr REAL, seconds REAL,
    PRIMARY KEY (run_id, epoch)
  ) WITHOUT ROWID;
  CREATE TABLE analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER,
    kind TEXT NOT NULL,
    values_json TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
  );
  CREATE INDEX analyses_by_run ON analyses(run_id, epoch);
)sql";

class SchemaMigrationTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};
  void SetUp() override { fs::create_directories(workspace.directory()); }
};

TEST_F(SchemaMigrationTest, AVersion1DatabaseIsMigratedKeepingEveryRow) {
  executeRaw(workspace.databasePath(), std::string(kVersion1Schema) + R"sql(
    INSERT INTO runs (id, name, status, config_json, device, out_dir, created_at, started_at, finished_at,
                      seconds, message)
      VALUES (7, 'old-sgd', 'finished', '{"lr":0.1}', 'cpu', 'runs/old-sgd', '2024-05-01T10:00:00Z',
              '2024-05-01T10:00:01Z', '2024-05-01T10:05:00Z', 299.5, '');
    INSERT INTO runs (id, name, status, created_at) VALUES (8, 'old-crashed', 'running', '2024-05-02T10:00:00Z');
    INSERT INTO run_tags VALUES (7, 'baseline');
    INSERT INTO epochs VALUES (7, 1, 0.9, 0.6, 0.8, 0.65, NULL, NULL, 0.1, 30.0);
    INSERT INTO epochs VALUES (7, 2, 0.7, 0.7, 0.75, 0.7, NULL, NULL, 0.1, 31.0);
    INSERT INTO analyses (id, run_id, epoch, kind, values_json, created_at)
      VALUES (3, 7, 2, 'hessian', '{"eigenvalues":[12.5]}', '2024-05-01T11:00:00Z');
    PRAGMA user_version = 1;
  )sql");

  RunStore store(workspace);
  EXPECT_EQ(store.schemaVersion(), 3);
  EXPECT_EQ(store.integrityCheck(), "ok");
  const RunRecord old = store.run(7);
  EXPECT_EQ(old.name, "old-sgd");
  EXPECT_EQ(old.status, RunStatus::Finished);
  EXPECT_EQ(old.configJson, R"({"lr":0.1})");
  EXPECT_EQ(old.outDir, (workspace.directory() / "runs" / "old-sgd").string());
  EXPECT_EQ(old.startedAt, "2024-05-01T10:00:01Z");
  EXPECT_DOUBLE_EQ(old.seconds, 299.5);
  EXPECT_EQ(old.tags, (std::vector<std::string>{"baseline"}));
  EXPECT_EQ(old.notes, "");  // the column version 2 added, with its default
  EXPECT_EQ(old.detailsJson, "{}");
  const auto epochs = store.metrics(7);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1].trainLoss, 0.7);
  EXPECT_EQ(epochs[1].seconds, 31.0);
  EXPECT_FALSE(epochs[1].trainAccuracyNoisy);  // the columns version 3 added, NULL for the old rows
  EXPECT_FALSE(epochs[1].trainAccuracyClean);
  EXPECT_FALSE(epochs[1].trainAccuracyNoisyTrue);
  const auto analyses = store.analyses(7);
  ASSERT_EQ(analyses.size(), 1u);
  EXPECT_EQ(analyses[0].valuesJson, R"({"eigenvalues":[12.5]})");
  EXPECT_TRUE(analyses[0].files.empty());
  // A version-1 workspace had no lock files: its "running" run has no live process.
  EXPECT_EQ(store.run(8).status, RunStatus::Interrupted);

  // What version 2 added works on the migrated database, and ids continue after the old ones.
  store.setNotes(7, "from before the upgrade");
  EXPECT_EQ(store.run(7).notes, "from before the upgrade");
  AnalysisRecord withFile;
  withFile.runId = 7;
  withFile.kind = "slice";
  withFile.files = {{"slice.csv", (workspace.directory() / "runs/old-sgd/slice.csv").string()}};
  EXPECT_EQ(store.recordAnalysis(withFile), 4);
  RunRecord next;
  next.name = "new";
  EXPECT_EQ(store.createRun(next), 9);
  // What version 3 added: a label-noise run's memorization metrics, read back as written.
  EpochMetrics noisy;
  noisy.epoch = 1;
  noisy.trainAccuracyNoisy = 0.25;
  noisy.trainAccuracyClean = 0.875;
  noisy.trainAccuracyNoisyTrue = 0.5;
  store.recordEpoch(9, noisy);
  const auto recorded = store.metrics(9);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].trainAccuracyNoisy, 0.25);
  EXPECT_EQ(recorded[0].trainAccuracyClean, 0.875);
  EXPECT_EQ(recorded[0].trainAccuracyNoisyTrue, 0.5);
}

TEST_F(SchemaMigrationTest, ANewerDatabaseIsRefusedAndLeftByteForByteUnchanged) {
  executeRaw(workspace.databasePath(),
             std::string(kVersion1Schema) +
                 "INSERT INTO runs (name, status, created_at) VALUES ('future', 'running', 'x');"
                 "PRAGMA user_version = 9;");
  const auto before = test::readBytes(workspace.databasePath().string());
  const std::string message = messageOf<DataError>([&] { RunStore store(workspace); });
  expectContains(message, {workspace.databasePath().string(), "newer", "version 9", "up to 3"});
  EXPECT_EQ(test::readBytes(workspace.databasePath().string()), before);
  EXPECT_FALSE(fs::exists(workspace.databasePath().string() + "-wal"));
}

TEST_F(SchemaMigrationTest, ANewerWalDatabaseIsRefusedWithoutCheckpointingIntoTheFile) {
  // The newer version's last commit may still sit in the WAL, not in the file's header: SQLite is
  // asked too, and the refusing connection must not fold the WAL into the file on closing.
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(workspace.databasePath().c_str(), &writer), SQLITE_OK);
  sqlite3_db_config(writer, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);  // the WAL outlives it
  ASSERT_EQ(sqlite3_exec(writer, "PRAGMA journal_mode=WAL;", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer, (std::string(kVersion1Schema) + "PRAGMA user_version = 5;").c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(writer);
  const std::string wal = workspace.databasePath().string() + "-wal";
  ASSERT_TRUE(fs::exists(wal) && fs::file_size(wal) > 0) << "the newer version's commit should be in the WAL";

  const auto before = test::readBytes(workspace.databasePath().string());
  const std::string message = messageOf<DataError>([&] { RunStore store(workspace); });
  expectContains(message, {"version 5", "up to 3"});
  EXPECT_EQ(test::readBytes(workspace.databasePath().string()), before);
  EXPECT_TRUE(fs::exists(wal));
}

TEST_F(SchemaMigrationTest, ADatabaseOfAnotherProgramIsRefused) {
  executeRaw(workspace.databasePath(), "CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT);");
  expectContains(messageOf<DataError>([&] { RunStore store(workspace); }),
                 {workspace.databasePath().string(), "some other program"});
}

}  // namespace
}  // namespace samscape

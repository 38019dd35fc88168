#include "core/store/RunStore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/Error.h"
#include "core/store/SqliteDatabase.h"

namespace samscape {
namespace fs = std::filesystem;
using sqlite::Statement;

namespace {

// How long one statement waits for another connection's lock before SQLITE_BUSY, and how long a whole
// transaction keeps retrying after that. A store transaction holds the write lock for milliseconds
// (one epoch's row), so these are reached only by a process that is stuck, not by a busy one.
constexpr int kBusyTimeoutMilliseconds = 10'000;
constexpr auto kRetryDeadline = std::chrono::seconds(120);

// Schema migrations, in order: migration i takes user_version i to i + 1. Never edit a step that has
// shipped (databases in the field are at its result); add a new one and raise kSchemaVersion.
// Metric columns are nullable because SQLite stores NaN as NULL (a diverged run's loss is NaN).
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps = {
      // 0 -> 1: runs, tags, per-epoch metrics, analysis results.
      R"sql(
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
      )sql",
      // 1 -> 2: free-text notes and the trainer's start report on runs; files of analysis results.
      R"sql(
      ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
      ALTER TABLE runs ADD COLUMN details_json TEXT NOT NULL DEFAULT '{}';
      CREATE TABLE analysis_files (
        analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        path TEXT NOT NULL,
        PRIMARY KEY (analysis_id, position)
      ) WITHOUT ROWID;
      )sql",
      // 2 -> 3: the memorization metrics of a run with label noise (NULL without).
      R"sql(
      ALTER TABLE epochs ADD COLUMN train_acc_noisy REAL;
      ALTER TABLE epochs ADD COLUMN train_acc_clean REAL;
      ALTER TABLE epochs ADD COLUMN train_acc_noisy_true REAL;
      )sql",
  };
  return steps;
}

const char* const kNow = "strftime('%Y-%m-%dT%H:%M:%SZ','now')";

const char* const kRunColumns =
    "id, name, notes, status, config_json, versions_json, details_json, device, out_dir, created_at, "
    "coalesce(started_at, ''), coalesce(finished_at, ''), seconds, message";

double realOrNan(const Statement& row, int column) {
  return row.isNull(column) ? std::nan("") : row.real(column);
}

std::string runLabel(const RunRecord& run) { return "run " + std::to_string(run.id) + " (" + run.name + ")"; }

// The user_version stored in an SQLite file's header (offset 60, big-endian), read without SQLite so
// that a newer database is refused before SQLite could touch it. Empty when the file is too short
// to have a header yet (new, or being created by another process).
std::optional<std::uint32_t> headerUserVersion(const fs::path& path, bool& isSqlite) {
  isSqlite = true;
  std::ifstream in(path, std::ios::binary);
  char header[64];
  if (!in.read(header, sizeof header)) return std::nullopt;
  isSqlite = std::memcmp(header, "SQLite format 3", 16) == 0;
  const auto byte = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(header[i])); };
  return (byte(60) << 24) | (byte(61) << 16) | (byte(62) << 8) | byte(63);
}

std::string newerVersionProblem(std::int64_t version) {
  return "written by a newer samscape (schema version " + std::to_string(version) +
         "; this samscape supports up to " + std::to_string(RunStore::kSchemaVersion) +
         "); upgrade samscape or choose another --workspace (the file was left unchanged)";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// RunLock

RunLock::~RunLock() {
  if (fileDescriptor_ >= 0) ::close(fileDescriptor_);  // closing releases the flock
}

RunLock::RunLock(RunLock&& other) noexcept : fileDescriptor_(other.fileDescriptor_) {
  other.fileDescriptor_ = -1;
}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fileDescriptor_ >= 0) ::close(fileDescriptor_);
    fileDescriptor_ = other.fileDescriptor_;
    other.fileDescriptor_ = -1;
  }
  return *this;
}

// ---------------------------------------------------------------------------------------------------
// Opening and migrating

RunStore::RunStore(const Workspace& workspace) : workspace_(workspace) {
  const fs::path directory = workspace_.directory();
  std::error_code error;
  fs::create_directories(directory, error);
  if (error || !fs::is_directory(directory)) {
    throw ConfigError(
        "--workspace", directory.string(),
        "cannot create the workspace directory" + (error ? ": " + error.message() : std::string()));
  }
  refuseForeignOrNewerFile();

  const std::string path = databasePath();
  const int opened = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (opened != SQLITE_OK) {
    const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(opened);
    sqlite3_close(db_);
    db_ = nullptr;
    throw DataError(path, "cannot open the workspace database: " + detail);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMilliseconds);
    // Until the schema version is known to be ours, closing must not checkpoint a WAL into the file.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    // The header check above misses a version still only in another process's WAL; ask SQLite too.
    if (const int version = schemaVersion(); version > kSchemaVersion)
      throw DataError(path, newerVersionProblem(version));

    // WAL: readers never block the writer and a crash never tears the file. Switching needs a
    // moment of exclusive access, hence the retry.
    std::string mode;
    for (const auto deadline = std::chrono::steady_clock::now() + kRetryDeadline;;) {
      try {
        Statement journal(db_, path, "PRAGMA journal_mode=WAL");
        journal.step();
        mode = journal.text(0);
        break;
      } catch (const sqlite::BusyError&) {
        if (std::chrono::steady_clock::now() > deadline) throw DataError(path, "locked by another process");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (mode != "wal")
      throw DataError(path, "cannot use write-ahead logging (journal mode stays " + mode + ")");
    // FULL: the WAL is synced at every commit. That costs one fsync per epoch (nothing next to an
    // epoch) and makes "at most the epoch in flight is lost" hold after a power cut too, not only
    // after a killed process (which NORMAL would already survive).
    sqlite::execute(db_, path, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    migrate();
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    markInterruptedRuns();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

RunStore::~RunStore() {
  if (db_ != nullptr) sqlite3_close(db_);
}

void RunStore::refuseForeignOrNewerFile() const {
  const fs::path path = workspace_.databasePath();
  if (!fs::exists(path)) return;
  bool isSqlite = true;
  const auto version = headerUserVersion(path, isSqlite);
  if (!isSqlite) {
    throw DataError(path.string(),
                    "not an SQLite database, so not a samscape workspace; choose another --workspace");
  }
  if (version && *version > static_cast<std::uint32_t>(kSchemaVersion)) {
    throw DataError(path.string(), newerVersionProblem(*version));
  }
}

void RunStore::migrate() {
  const std::string path = databasePath();
  transaction(Access::Write, [&] {
    // Read again inside the write lock: another process may have migrated meanwhile.
    int version = schemaVersion();
    if (version > kSchemaVersion) throw DataError(path, newerVersionProblem(version));
    if (version == 0) {
      Statement tables(db_, path, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'");
      tables.step();
      if (tables.integer(0) > 0) {
        throw DataError(path,
                        "an SQLite database of some other program (it has tables but no samscape "
                        "schema version); choose another --workspace");
      }
    }
    const auto& steps = migrations();
    for (; version < kSchemaVersion; ++version) {
      sqlite::execute(db_, path, steps.at(static_cast<std::size_t>(version)));
    }
    sqlite::execute(db_, path, "PRAGMA user_version=" + std::to_string(kSchemaVersion));
  });
}

int RunStore::schemaVersion() const {
  int version = 0;
  transaction(Access::Read, [&] {
    Statement statement(db_, databasePath(), "PRAGMA user_version");
    statement.step();
    version = static_cast<int>(statement.integer(0));
  });
  return version;
}

std::string RunStore::integrityCheck() const {
  std::string result;
  transaction(Access::Read, [&] {
    result.clear();
    Statement statement(db_, databasePath(), "PRAGMA integrity_check");
    while (statement.step()) result += (result.empty() ? "" : "\n") + statement.text(0);
  });
  return result;
}

template <typename Body>
void RunStore::transaction(Access access, Body&& body) const {
  const std::string path = databasePath();
  // A transaction already open on this connection (a nested call) just runs the body.
  if (sqlite3_get_autocommit(db_) == 0) {
    body();
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kRetryDeadline;
  std::minstd_rand jitter(static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(this)) ^
                          static_cast<unsigned>(::getpid()));
  int backoffMilliseconds = 2;
  for (;;) {
    try {
      // IMMEDIATE takes the write lock at BEGIN, so a writer never fails later on upgrading a read
      // snapshot (SQLITE_BUSY_SNAPSHOT, which no busy handler can wait out).
      sqlite::execute(db_, path, access == Access::Write ? "BEGIN IMMEDIATE" : "BEGIN");
      try {
        body();
        sqlite::execute(db_, path, "COMMIT");
        return;
      } catch (...) {
        if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    } catch (const sqlite::BusyError&) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw DataError(path, "another process has kept the database locked for over " +
                                  std::to_string(kRetryDeadline.count()) + " s");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(backoffMilliseconds + jitter() % 5));
      backoffMilliseconds = std::min(backoffMilliseconds * 2, 200);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Runs

namespace {

RunRecord readRun(const Statement& row, const Workspace& workspace) {
  RunRecord run;
  run.id = row.integer(0);
  run.name = row.text(1);
  run.notes = row.text(2);
  // The schema's CHECK allows only the statuses' names.
  const std::string status = row.text(3);
  run.status = valueNamed<RunStatus>(status).value_or(RunStatus::Failed);
  run.configJson = row.text(4);
  run.versionsJson = row.text(5);
  run.detailsJson = row.text(6);
  run.device = row.text(7);
  run.outDir = workspace.fromStored(row.text(8));
  run.createdAt = row.text(9);
  run.startedAt = row.text(10);
  run.finishedAt = row.text(11);
  run.seconds = row.real(12);
  run.message = row.text(13);
  return run;
}

}  // namespace

std::int64_t RunStore::createRun(const RunRecord& run) {
  std::int64_t id = 0;
  transaction(Access::Write, [&] {
    Statement insert(
        db_, databasePath(),
        std::string("INSERT INTO runs (name, notes, status, config_json, versions_json, details_json, "
                    "device, out_dir, created_at, started_at, seconds, message) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ") +
            kNow + ", CASE WHEN ? = 'running' THEN " + kNow + " END, ?, ?)");
    insert.bind(run.name).bind(run.notes).bind(nameOf(run.status)).bind(run.configJson).bind(run.versionsJson);
    insert.bind(run.detailsJson).bind(run.device).bind(workspace_.toStored(run.outDir)).bind(nameOf(run.status));
    insert.bind(run.seconds).bind(run.message).run();
    id = sqlite3_last_insert_rowid(db_);
    for (const std::string& tag : run.tags) {
      Statement tagInsert(db_, databasePath(), "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)");
      tagInsert.bind(id).bind(tag).run();
    }
  });
  return id;
}

RunRecord RunStore::run(std::int64_t id) const {
  std::optional<RunRecord> found;
  transaction(Access::Read, [&] {
    found.reset();
    Statement select(db_, databasePath(), std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
    select.bind(id);
    if (!select.step()) return;
    found = readRun(select, workspace_);
    Statement tags(db_, databasePath(), "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag");
    tags.bind(id);
    while (tags.step()) found->tags.push_back(tags.text(0));
  });
  if (!found) {
    throw ConfigError("RUN", std::to_string(id),
                      "no run with this id in workspace " + workspace_.directory().string());
  }
  return *found;
}

std::vector<RunRecord> RunStore::listRuns(const RunFilter& filter) const {
  std::vector<RunRecord> runs;
  transaction(Access::Read, [&] {
    runs.clear();
    Statement select(db_, databasePath(),
                     std::string("SELECT ") + kRunColumns +
                         " FROM runs WHERE (?1 = '' OR instr(name, ?1) > 0) AND (?2 = '' OR status = ?2)"
                         " AND (?3 = '' OR id IN (SELECT run_id FROM run_tags WHERE tag = ?3)) ORDER BY id");
    select.bind(filter.text).bind(filter.status ? nameOf(*filter.status) : std::string()).bind(filter.tag);
    std::map<std::int64_t, std::size_t> positions;
    while (select.step()) {
      positions[select.integer(0)] = runs.size();
      runs.push_back(readRun(select, workspace_));
    }
    Statement tags(db_, databasePath(), "SELECT run_id, tag FROM run_tags ORDER BY run_id, tag");
    while (tags.step()) {
      const auto position = positions.find(tags.integer(0));
      if (position != positions.end()) runs[position->second].tags.push_back(tags.text(1));
    }
  });
  return runs;
}

RunRecord RunStore::findRun(const std::string& idOrName) const {
  const bool allDigits =
      !idOrName.empty() && idOrName.size() < 19 &&
      std::all_of(idOrName.begin(), idOrName.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (allDigits) return run(std::stoll(idOrName));

  std::vector<std::int64_t> exact, prefixed;
  transaction(Access::Read, [&] {
    exact.clear();
    prefixed.clear();
    Statement select(db_, databasePath(),
                     "SELECT id, name = ?1 FROM runs WHERE substr(name, 1, length(?1)) = ?1 ORDER BY id");
    select.bind(idOrName);
    while (select.step()) (select.integer(1) != 0 ? exact : prefixed).push_back(select.integer(0));
  });
  const std::vector<std::int64_t>& candidates = !exact.empty() ? exact : prefixed;
  if (candidates.size() == 1) return run(candidates.front());
  const std::string where = " in workspace " + workspace_.directory().string();
  if (candidates.empty()) throw ConfigError("RUN", idOrName, "no run with this id or name" + where);
  std::string ids;
  for (const auto id : candidates) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
  throw ConfigError("RUN", idOrName, "matches several runs (" + ids + ")" + where + "; give the id");
}

std::optional<RunRecord> RunStore::findRunByOutDir(const std::string& outDir) const {
  std::optional<std::int64_t> id;
  transaction(Access::Read, [&] {
    id.reset();
    Statement select(db_, databasePath(), "SELECT max(id) FROM runs WHERE out_dir = ?");
    select.bind(workspace_.toStored(outDir));
    if (select.step() && !select.isNull(0)) id = select.integer(0);
  });
  if (!id) return std::nullopt;
  return run(*id);
}

bool RunStore::hasRunNamed(const std::string& name) const {
  bool found = false;
  transaction(Access::Read, [&] {
    Statement select(db_, databasePath(), "SELECT 1 FROM runs WHERE name = ? LIMIT 1");
    select.bind(name);
    found = select.step();
  });
  return found;
}

void RunStore::setStatus(std::int64_t id, RunStatus status, const std::string& message) {
  run(id);  // names the run when there is none
  transaction(Access::Write, [&] {
    Statement update(db_, databasePath(),
                     std::string("UPDATE runs SET status = ?1, message = ?2, "
                                 "started_at = CASE WHEN ?1 = 'running' THEN coalesce(started_at, ") +
                         kNow +
                         ") ELSE started_at END, finished_at = CASE WHEN ?1 IN ('queued','running') "
                         "THEN NULL ELSE " +
                         kNow + " END WHERE id = ?3");
    update.bind(nameOf(status)).bind(message).bind(id).run();
  });
}

void RunStore::finishRun(std::int64_t id, RunStatus status, const std::string& message, double seconds) {
  if (!isFinalRunStatus(status)) throw Error("'" + nameOf(status) + "' is not a final run status");
  run(id);
  transaction(Access::Write, [&] {
    Statement update(db_, databasePath(),
                     std::string("UPDATE runs SET status = ?, message = ?, seconds = ?, finished_at = ") +
                         kNow + " WHERE id = ?");
    update.bind(nameOf(status)).bind(message).bind(seconds).bind(id).run();
  });
}

void RunStore::updateRunInfo(std::int64_t id, const std::string& configJson, const std::string& versionsJson,
                             const std::string& detailsJson, const std::string& device) {
  run(id);
  transaction(Access::Write, [&] {
    Statement update(db_, databasePath(),
                     "UPDATE runs SET config_json = CASE WHEN ?1 = '' THEN config_json ELSE ?1 END, "
                     "versions_json = CASE WHEN ?2 = '' THEN versions_json ELSE ?2 END, "
                     "details_json = CASE WHEN ?3 = '' THEN details_json ELSE ?3 END, "
                     "device = CASE WHEN ?4 = '' THEN device ELSE ?4 END WHERE id = ?5");
    update.bind(configJson).bind(versionsJson).bind(detailsJson).bind(device).bind(id).run();
  });
}

void RunStore::addTags(std::int64_t id, const std::vector<std::string>& tags) {
  run(id);
  transaction(Access::Write, [&] {
    for (const std::string& tag : tags) {
      if (tag.empty()) throw ConfigError("TAG", tag, "a tag cannot be empty");
      Statement insert(db_, databasePath(), "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)");
      insert.bind(id).bind(tag).run();
    }
  });
}

void RunStore::removeTags(std::int64_t id, const std::vector<std::string>& tags) {
  run(id);
  transaction(Access::Write, [&] {
    for (const std::string& tag : tags) {
      Statement remove(db_, databasePath(), "DELETE FROM run_tags WHERE run_id = ? AND tag = ?");
      remove.bind(id).bind(tag).run();
    }
  });
}

void RunStore::setNotes(std::int64_t id, const std::string& notes) {
  run(id);
  transaction(Access::Write, [&] {
    Statement update(db_, databasePath(), "UPDATE runs SET notes = ? WHERE id = ?");
    update.bind(notes).bind(id).run();
  });
}

// ---------------------------------------------------------------------------------------------------
// Metrics and analyses

void RunStore::recordEpoch(std::int64_t runId, const EpochMetrics& metrics) {
  recordEpochs(runId, {metrics});
}

void RunStore::recordEpochs(std::int64_t runId, const std::vector<EpochMetrics>& epochs) {
  transaction(Access::Write, [&] {
    for (const EpochMetrics& m : epochs) {
      if (m.epoch < 1) throw Error("epoch " + std::to_string(m.epoch) + " recorded: epochs count from 1");
      Statement insert(
          db_, databasePath(),
          "INSERT OR REPLACE INTO epochs (run_id, epoch, train_loss, train_acc, test_loss, test_acc, "
          "val_loss, val_acc, lr, seconds, train_acc_noisy, train_acc_clean, train_acc_noisy_true) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind(runId).bind(m.epoch).bind(m.trainLoss).bind(m.trainAccuracy).bind(m.testLoss);
      insert.bind(m.testAccuracy).bind(m.validationLoss).bind(m.validationAccuracy).bind(m.learningRate);
      insert.bind(m.seconds).bind(m.trainAccuracyNoisy).bind(m.trainAccuracyClean).bind(m.trainAccuracyNoisyTrue).run();
    }
  });
}

std::vector<EpochMetrics> RunStore::metrics(std::int64_t runId) const {
  std::vector<EpochMetrics> epochs;
  transaction(Access::Read, [&] {
    epochs.clear();
    Statement select(
        db_, databasePath(),
        "SELECT epoch, train_loss, train_acc, test_loss, test_acc, val_loss, val_acc, lr, seconds, "
        "train_acc_noisy, train_acc_clean, train_acc_noisy_true FROM epochs WHERE run_id = ? ORDER BY epoch");
    select.bind(runId);
    while (select.step()) {
      EpochMetrics m;
      m.epoch = static_cast<int>(select.integer(0));
      m.trainLoss = realOrNan(select, 1);
      m.trainAccuracy = realOrNan(select, 2);
      m.testLoss = realOrNan(select, 3);
      m.testAccuracy = realOrNan(select, 4);
      m.validationLoss = select.optionalReal(5);
      m.validationAccuracy = select.optionalReal(6);
      m.learningRate = realOrNan(select, 7);
      m.seconds = realOrNan(select, 8);
      m.trainAccuracyNoisy = select.optionalReal(9);
      m.trainAccuracyClean = select.optionalReal(10);
      m.trainAccuracyNoisyTrue = select.optionalReal(11);
      epochs.push_back(m);
    }
  });
  return epochs;
}

std::int64_t RunStore::recordAnalysis(const AnalysisRecord& analysis) {
  return recordAnalyses({analysis}).front();
}

std::vector<std::int64_t> RunStore::recordAnalyses(const std::vector<AnalysisRecord>& analyses) {
  for (const AnalysisRecord& analysis : analyses) {
    if (analysis.kind.empty()) throw Error("an analysis result needs a kind");
    run(analysis.runId);
  }
  std::vector<std::int64_t> ids;
  transaction(Access::Write, [&] {
    ids.clear();
    for (const AnalysisRecord& analysis : analyses) {
      Statement insert(db_, databasePath(),
                       std::string("INSERT INTO analyses (run_id, epoch, kind, values_json, created_at) "
                                   "VALUES (?, ?, ?, ?, ") +
                           kNow + ")");
      insert.bind(analysis.runId).bind(analysis.epoch).bind(analysis.kind).bind(analysis.valuesJson).run();
      const std::int64_t id = sqlite3_last_insert_rowid(db_);
      ids.push_back(id);
      for (std::size_t position = 0; position < analysis.files.size(); ++position) {
        Statement file(db_, databasePath(),
                       "INSERT INTO analysis_files (analysis_id, position, role, path) VALUES (?, ?, ?, ?)");
        file.bind(id).bind(static_cast<std::int64_t>(position)).bind(analysis.files[position].role);
        file.bind(workspace_.toStored(analysis.files[position].path)).run();
      }
    }
  });
  return ids;
}

std::vector<AnalysisRecord> RunStore::analyses(std::int64_t runId) const {
  std::vector<AnalysisRecord> found;
  transaction(Access::Read, [&] {
    found.clear();
    Statement select(db_, databasePath(),
                     "SELECT id, run_id, epoch, kind, values_json, created_at FROM analyses WHERE run_id = ? "
                     "ORDER BY epoch IS NULL, epoch, id");
    select.bind(runId);
    std::map<std::int64_t, std::size_t> positions;
    while (select.step()) {
      AnalysisRecord analysis;
      analysis.id = select.integer(0);
      analysis.runId = select.integer(1);
      analysis.epoch = select.optionalInteger(2);
      analysis.kind = select.text(3);
      analysis.valuesJson = select.text(4);
      analysis.createdAt = select.text(5);
      positions[analysis.id] = found.size();
      found.push_back(std::move(analysis));
    }
    Statement files(
        db_, databasePath(),
        "SELECT f.analysis_id, f.role, f.path FROM analysis_files f JOIN analyses a ON a.id = f.analysis_id "
        "WHERE a.run_id = ? ORDER BY f.analysis_id, f.position");
    files.bind(runId);
    while (files.step()) {
      found[positions.at(files.integer(0))].files.push_back(
          {files.text(1), workspace_.fromStored(files.text(2))});
    }
  });
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Locks, interrupted runs, deletion

namespace {

fs::path lockPath(const Workspace& workspace, std::int64_t id) {
  return workspace.locksDirectory() / (std::to_string(id) + ".lock");
}

}  // namespace

std::optional<RunLock> RunStore::tryLockRun(std::int64_t id) const {
  std::error_code error;
  fs::create_directories(workspace_.locksDirectory(), error);
  const fs::path path = lockPath(workspace_, id);
  const int descriptor = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (descriptor < 0)
    throw DataError(path.string(), std::string("cannot open the run's lock file: ") + std::strerror(errno));
  RunLock lock(descriptor);
  // flock, not fcntl locks: flock belongs to the open file, so two RunLocks in one process exclude
  // each other too, and the kernel drops it when the process dies, however it dies.
  while (::flock(descriptor, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::nullopt;
    throw DataError(path.string(), std::string("cannot lock the run's lock file: ") + std::strerror(errno));
  }
  return lock;
}

int RunStore::markInterruptedRuns() {
  std::vector<std::int64_t> candidates;
  transaction(Access::Read, [&] {
    candidates.clear();
    Statement select(db_, databasePath(), "SELECT id FROM runs WHERE status = 'running'");
    while (select.step()) candidates.push_back(select.integer(0));
  });
  int marked = 0;
  for (const std::int64_t id : candidates) {
    const auto lock = tryLockRun(id);
    if (!lock) continue;  // its process is alive
    // Conditional on the status still being "running": a process that ended the run normally wrote
    // its final status before releasing the lock.
    transaction(Access::Write, [&] {
      Statement update(db_, databasePath(),
                       std::string("UPDATE runs SET status = 'interrupted', finished_at = ") + kNow +
                           ", message = 'the process recording it stopped without a final status "
                           "(killed or crashed); resume it from its last checkpoint' "
                           "WHERE id = ? AND status = 'running'");
      update.bind(id).run();
      marked += sqlite3_changes(db_);
    });
  }
  return marked;
}

DeletionReport RunStore::deleteRun(std::int64_t id, OutsideFiles outside) {
  const RunRecord doomed = run(id);
  const auto lock = tryLockRun(id);
  if (!lock) {
    throw Error(runLabel(doomed) + " is being recorded by a live process; stop it before deleting the run");
  }
  const std::vector<AnalysisRecord> results = analyses(id);
  transaction(Access::Write, [&] {
    Statement remove(db_, databasePath(), "DELETE FROM runs WHERE id = ?");
    remove.bind(id).run();
  });

  // The rows are gone first: should removing files fail halfway, the index holds no run whose files
  // are half missing, and what is left on disk is named in the error.
  DeletionReport report;
  const auto removePath = [&](const fs::path& path, bool directory) {
    std::error_code error;
    if (!fs::exists(path, error)) return;
    if (directory)
      fs::remove_all(path, error);
    else
      fs::remove(path, error);
    if (error) {
      throw Error(runLabel(doomed) + " was removed from the store, but " + path.string() +
                  " could not be removed: " + error.message());
    }
    report.removed.push_back(path.string());
  };
  const auto allowed = [&](const fs::path& path) {
    return workspace_.contains(path) || outside == OutsideFiles::Remove;
  };

  if (!doomed.outDir.empty()) {
    const fs::path runDirectory(doomed.outDir);
    // Never the workspace itself (or a folder around it), and outside the workspace only a directory
    // that really holds a run: a mistyped --out (a home directory) must never be wiped.
    const bool holdsTheDatabase = Workspace(runDirectory).contains(workspace_.databasePath());
    const bool looksLikeRun = workspace_.contains(runDirectory) || fs::exists(runDirectory / "run.json");
    if (!holdsTheDatabase && looksLikeRun && allowed(runDirectory)) {
      removePath(runDirectory, true);
    } else if (fs::exists(runDirectory)) {
      report.kept.push_back(runDirectory.string());
    }
  }
  for (const AnalysisRecord& result : results) {
    for (const AnalysisFile& file : result.files) {
      const fs::path path(file.path);
      if (!fs::exists(path)) continue;
      if (allowed(path)) {
        removePath(path, false);
      } else {
        report.kept.push_back(path.string());
      }
    }
  }
  std::error_code ignored;
  fs::remove(lockPath(workspace_, id), ignored);
  return report;
}

}  // namespace samscape

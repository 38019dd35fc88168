#pragma once
// The run store: one SQLite database per workspace (Workspace.h) indexing every run, its per-epoch
// metrics and its analysis results. Checkpoints and large arrays stay files; the store keeps their
// paths, relative to the workspace when inside it.
//
// Safety (details in DEVELOPERS.md, "Workspace and run store"):
// - every write is one transaction (BEGIN IMMEDIATE ... COMMIT) in WAL mode with synchronous=FULL, so a
//   crash at any moment leaves the database intact and loses at most the transaction in flight;
// - several processes may write at once: a busy timeout plus a retry of the whole transaction keep
//   "database is locked" from reaching the caller;
// - the process recording a run holds an advisory lock on locks/<id>.lock (RunLock); when a store is
//   opened, every "running" run whose lock is free belonged to a dead process and becomes "interrupted".
//
// One RunStore is one connection: use it from one thread at a time (open one per thread or process).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/RunStatus.h"
#include "core/store/Workspace.h"
#include "core/train/EpochMetrics.h"

struct sqlite3;

namespace samscape {

struct RunRecord {
  std::int64_t id = 0;  // assigned by createRun
  std::string name;
  std::vector<std::string> tags;  // sorted, without duplicates, on read
  std::string notes;
  RunStatus status = RunStatus::Queued;
  std::string configJson = "{}";    // the run's whole config (a --config file's object)
  std::string versionsJson = "{}";  // library versions
  std::string detailsJson = "{}";   // what the trainer reported at the start: model, data sizes, ...
  std::string device;
  std::string outDir;      // the run directory: absolute on read (stored relative when inside the workspace)
  std::string createdAt;   // UTC, ISO 8601; set by the store
  std::string startedAt;   // when it first became "running"; empty before
  std::string finishedAt;  // when it last ended; empty while queued or running
  double seconds = 0.0;    // training time reported at the end
  std::string message;     // why it did not finish; empty when it did
};

struct AnalysisFile {
  std::string role;  // e.g. "slice.csv", "directions"
  std::string path;  // absolute on read; stored relative to the workspace when inside it
};

struct AnalysisRecord {
  std::int64_t id = 0;  // assigned by recordAnalysis
  std::int64_t runId = 0;
  std::optional<int> epoch;  // the checkpoint's epoch; none for an analysis of the final weights
  std::string kind;  // "loss", "hessian", "trace", "esd", "m_sharpness", "slice", "interpolation", ...
  std::string valuesJson = "{}";  // the numbers, as a JSON object
  std::vector<AnalysisFile> files;
  std::string createdAt;  // set by the store
};

// Which runs listRuns returns; empty fields match everything.
struct RunFilter {
  std::string text;    // a substring of the name
  std::string tag;     // carries this tag
  std::optional<RunStatus> status;  // has this status
};

// deleteRun removes files inside the workspace; those outside it only when asked.
enum class OutsideFiles { Keep, Remove };

struct DeletionReport {
  std::vector<std::string> removed;  // files and directories removed
  std::vector<std::string> kept;     // files and directories left in place (outside the workspace)
};

// An exclusive advisory lock (flock) on locks/<id>.lock: held by the process recording the run, for as
// long as it lives. The kernel releases it when the process dies, however it dies.
class RunLock {
 public:
  explicit RunLock(int fileDescriptor) : fileDescriptor_(fileDescriptor) {}
  ~RunLock();
  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fileDescriptor_ = -1;
};

class RunStore {
 public:
  // Schema versions: 1 runs, tags, epochs, analyses; 2 adds run notes, run details and analysis files.
  static constexpr int kSchemaVersion = 3;

  // Opens (creating when needed) the workspace directory and its database, migrates an older schema,
  // then marks runs left "running" by dead processes as "interrupted".
  // Throws ConfigError naming --workspace when the directory cannot be created, and DataError naming
  // the database when it is not a samscape database or was written by a newer samscape (the file is
  // then left exactly as it was).
  explicit RunStore(const Workspace& workspace);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  const Workspace& workspace() const { return workspace_; }
  std::string databasePath() const { return workspace_.databasePath().string(); }

  // Inserts a run from `run`'s name, tags, notes, status, config, versions, details, device and outDir
  // (id and times are the store's); returns its id.
  std::int64_t createRun(const RunRecord& run);
  // Throws ConfigError naming the run when there is none with this id.
  RunRecord run(std::int64_t id) const;
  // By id (all digits), else by exact name, else by unique name prefix. Throws ConfigError naming
  // `idOrName` when nothing matches or several runs do.
  RunRecord findRun(const std::string& idOrName) const;
  // The latest run recorded into this run directory, if any.
  std::optional<RunRecord> findRunByOutDir(const std::string& outDir) const;
  // Whether some run has exactly this name (the app names new runs so that none is repeated).
  bool hasRunNamed(const std::string& name) const;
  // Ordered by id.
  std::vector<RunRecord> listRuns(const RunFilter& filter = {}) const;

  // Sets the status (and `message`); running also sets startedAt the first time, a final status
  // sets finishedAt.
  void setStatus(std::int64_t id, RunStatus status, const std::string& message = "");
  // Sets a final status with the training time, in one transaction. Throws Error for queued or running.
  void finishRun(std::int64_t id, RunStatus status, const std::string& message, double seconds);
  // Replaces what the trainer reports at its start (empty strings leave a field as it is).
  void updateRunInfo(std::int64_t id, const std::string& configJson, const std::string& versionsJson,
                     const std::string& detailsJson, const std::string& device);
  void addTags(std::int64_t id, const std::vector<std::string>& tags);
  void removeTags(std::int64_t id, const std::vector<std::string>& tags);
  void setNotes(std::int64_t id, const std::string& notes);

  // One transaction per call. An epoch recorded again (a resumed run) replaces the earlier row.
  void recordEpoch(std::int64_t runId, const EpochMetrics& metrics);
  void recordEpochs(std::int64_t runId, const std::vector<EpochMetrics>& epochs);
  // Ordered by epoch.
  std::vector<EpochMetrics> metrics(std::int64_t runId) const;

  // Returns the new id. recordAnalyses stores all of them or none.
  std::int64_t recordAnalysis(const AnalysisRecord& analysis);
  std::vector<std::int64_t> recordAnalyses(const std::vector<AnalysisRecord>& analyses);
  // Ordered by epoch (post-hoc analyses, without an epoch, last), then by id.
  std::vector<AnalysisRecord> analyses(std::int64_t runId) const;

  // Removes the run's rows, then its directory and analysis files when inside the workspace (and those
  // outside too with OutsideFiles::Remove; a run directory outside is removed only if it holds a
  // run.json, so a mistyped --out such as a home directory is never wiped). Refuses (Error) a run
  // that a live process is recording.
  DeletionReport deleteRun(std::int64_t id, OutsideFiles outside = OutsideFiles::Keep);

  // The run's lock, or none when another process (or another RunLock in this one) holds it.
  std::optional<RunLock> tryLockRun(std::int64_t id) const;
  // Marks every "running" run whose lock is free (its process is gone) as "interrupted"; returns how
  // many. Called by the constructor. ("queued" runs wait for a process and are left alone.)
  int markInterruptedRuns();

  // PRAGMA integrity_check's answer: "ok" for a sound database.
  std::string integrityCheck() const;
  // PRAGMA user_version of the open database.
  int schemaVersion() const;

 private:
  enum class Access { Read, Write };
  // Runs `body` in a transaction; retries the whole transaction while another connection holds the
  // lock it needs (up to a couple of minutes), so SQLITE_BUSY never reaches the caller.
  template <typename Body>
  void transaction(Access access, Body&& body) const;

  void refuseForeignOrNewerFile() const;
  void migrate();

  Workspace workspace_;
  sqlite3* db_ = nullptr;
};

}  // namespace samscape

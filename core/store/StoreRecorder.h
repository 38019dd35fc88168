#pragma once
// A TrainingObserver that records a run into the run store as it trains: the run is created (or, for a
// resumed run, found by its run directory) and claimed at construction, becomes "running", gets a row
// per epoch as each epoch ends (one transaction each), and its final status at the end.
//
// It holds the run's lock (RunLock) for its whole life, so a crash of the process, however it happens,
// shows on the next open of the store as the run being "interrupted".

#include <cstdint>
#include <optional>
#include <string>

#include "core/store/RunStore.h"
#include "core/train/TrainingObserver.h"

namespace samscape {

class StoreRecorder : public TrainingObserver {
 public:
  // `run` supplies the name, tags, notes, config, versions and run directory (outDir, required).
  // When `resuming` and the store already holds a run with this outDir, that run is attached: its
  // config and versions are replaced by `run`'s (flags may override on resume) and its epochs
  // continue; otherwise a new run is created. Throws Error when the run is being recorded by
  // another live process.
  StoreRecorder(RunStore& store, const RunRecord& run, bool resuming = false);
  ~StoreRecorder() override;
  StoreRecorder(const StoreRecorder&) = delete;
  StoreRecorder& operator=(const StoreRecorder&) = delete;

  std::int64_t runId() const { return runId_; }
  bool attachedToExistingRun() const { return attached_; }

  // Device and the trainer's start report (model, data sizes, ...); a resumed run's earlier epochs
  // are recorded again so that an epoch whose checkpoint was written but whose row was lost to a
  // crash is not missing.
  void onBegin(const TrainingBegin& begin) override;
  bool onEpochEnd(const EpochMetrics& metrics) override;
  // finished, diverged or cancelled, with the message and the training time.
  void onEnd(const TrainingResult& result) override;

  // For a run ended by an error (an exception the caller caught): status "failed" with `message`.
  void markFailed(const std::string& message);

 private:
  RunStore& store_;
  std::int64_t runId_ = 0;
  bool attached_ = false;
  bool ended_ = false;
  int uncaughtAtStart_ = 0;
  std::optional<RunLock> lock_;
};

}  // namespace samscape

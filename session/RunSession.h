#pragma once
// What a training run does, assembled in one place: the run directory, the trainer (resumed from its
// latest checkpoint when asked), the record in the workspace's store, the periodic analyses with their
// records, and model.pt at the end. `samscape-cli train` adds its progress bar as an observer, the
// app's worker its signal bridge; neither wires the pieces itself.
// Plain C++ in this header (the trainer and the store stay in RunSession.cpp): the GUI includes it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "analysis/PeriodicAnalysis.h"
#include "core/train/DistributedOptions.h"
#include "core/train/TrainingObserver.h"
#include "session/RunSpec.h"

namespace samscape {

struct RunSessionOptions {
  // This process's place in a multi-process job; by default the only process.
  DistributedOptions distributed;
  // Checked every step and, by the analyses, every point, product and chunk; may be null.
  const std::atomic<bool>* cancel = nullptr;
  // Receives the periodic analyses' stages and slice levels (on the training thread); may be null.
  AnalysisObserver* analysisObserver = nullptr;
};

class RunSession {
 public:
  // Claims the run directory (refusing one that holds another run unless resuming it), builds the
  // trainer (loading the data and the model; from the latest checkpoint when the spec resumes), records
  // the run in the spec's workspace (none when its workspace is empty) and prepares the periodic
  // analyses (loading their data now, so a bad analysis option fails before any training). Ranks other
  // than 0 of a multi-process job train only: no files, no record, no analyses.
  // Throws ConfigError, DataError, ModelError, DistributedError or Error.
  RunSession(const RunSpec& spec, RunSessionOptions options = {});
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // Observers that see each report before the session's own (the run directory, the store, the
  // analyses): a progress display, the app's bridge. Must outlive run().
  void addObserver(TrainingObserver* observer);
  // Called on the training thread after each periodic analysis, once it is recorded in the store.
  void setOnAnalysis(std::function<void(const EpochAnalysis&)> callback);

  // Trains to the end, a divergence or a stop, then writes model.pt. An exception from training marks
  // the run "failed" in the store, with its message, and propagates.
  TrainingResult run();

  // The run's id in the workspace's store; 0 when not recorded (no workspace, or not rank 0).
  std::int64_t runId() const;
  const RunSpec& spec() const;
  bool writesFiles() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

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
#include <vector>

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
  // Receives the periodic analyses' stages, slice levels, results (each recorded in the store first)
  // and costs, on the training thread; may be null.
  AnalysisObserver* analysisObserver = nullptr;
};

class RunSession {
 public:
  // Claims the run directory (the default one under a free name, claimRunDirectory; refusing one that
  // another process writes or that holds another run unless resuming it), builds the trainer (loading
  // the data and the model; from the latest checkpoint when the spec resumes), checks the training
  // options' sizes against the machine (a ResourceError before any step), prepares the periodic
  // analyses (loading their data and checking their sizes now, so a bad analysis option fails before
  // any training) and records the run in the spec's workspace (none when its workspace is empty). When
  // it throws, a directory it claimed is removed and nothing is recorded. Ranks other than 0 of a
  // multi-process job train only: no files, no record, no analyses.
  // Throws ConfigError, DataError, ModelError, DistributedError or Error.
  RunSession(const RunSpec& spec, RunSessionOptions options = {});
  ~RunSession();
  RunSession(const RunSession&) = delete;
  RunSession& operator=(const RunSession&) = delete;

  // Observers that see each report before the session's own (the run directory, the store, the
  // analyses): a progress display, the app's bridge. Must outlive run().
  void addObserver(TrainingObserver* observer);
  // Trains to the end, a divergence or a stop, then writes model.pt. An exception from training marks
  // the run "failed" in the store, with its message, and propagates.
  TrainingResult run();

  // The cost of the run's analyses, one entry per due epoch (<run>/analysis/budget.json); empty
  // without analyses.
  std::vector<AnalysisCost> analysisCosts() const;

  // The run's id in the workspace's store; 0 when not recorded (no workspace, or not rank 0).
  std::int64_t runId() const;
  // The spec as the session runs it: config.outDir is the directory it claimed.
  const RunSpec& spec() const;
  // The options whose work is estimated to take long (the run's epochs, each analysis' sizes), to be
  // announced when the run starts; and the shape they were checked against.
  const std::vector<WorkEstimate>& longWork() const;
  const JobShape& shape() const;
  bool writesFiles() const;

 private:
  void prepare();

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

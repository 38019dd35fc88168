#include "core/store/StoreRecorder.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <thread>

#include "core/Error.h"

namespace samscape {

namespace {

std::string detailsOf(const TrainingBegin& begin) {
  nlohmann::json details = {
      {"model", begin.modelDescription},
      {"optimizer", begin.optimizerDescription},
      {"parameters", begin.parameterCount},
      {"threads", begin.threads},
      {"data_dir", begin.dataDir},
      {"train_examples", begin.trainExamples},
      {"validation_examples", begin.validationExamples},
      {"test_examples", begin.testExamples},
      {"noisy_labels", begin.noisyLabels},
      {"epochs", begin.epochs},
      {"steps_per_epoch", begin.stepsPerEpoch},
      {"replica_devices", begin.replicaDevices},
  };
  if (!begin.resumedEpochs.empty()) details["resumed_after_epoch"] = begin.resumedEpochs.back().epoch;
  return details.dump();
}

}  // namespace

StoreRecorder::StoreRecorder(RunStore& store, const RunRecord& run, bool resuming)
    : store_(store), uncaughtAtStart_(std::uncaught_exceptions()) {
  if (run.outDir.empty()) throw Error("a recorded run needs its run directory (outDir)");
  std::optional<RunRecord> existing;
  if (resuming) existing = store_.findRunByOutDir(run.outDir);
  if (existing) {
    runId_ = existing->id;
    attached_ = true;
    lock_ = store_.tryLockRun(runId_);
    if (!lock_) {
      throw Error("run " + std::to_string(runId_) + " (" + existing->name + ") in " + run.outDir +
                  " is being recorded by another live process");
    }
    store_.updateRunInfo(runId_, run.configJson, run.versionsJson, "", run.device);
  } else {
    RunRecord created = run;
    created.status = RunStatus::Running;
    runId_ = store_.createRun(created);
    // Until the lock below is taken, a store opening in another process may find this run "running"
    // with a free lock and mark it interrupted (or hold the lock for the moment it checks): the
    // status is set again once the lock is ours, and the lock is retried for a moment.
    for (int attempt = 0; attempt < 200 && !lock_; ++attempt) {
      lock_ = store_.tryLockRun(runId_);
      if (!lock_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!lock_) throw Error("run " + std::to_string(runId_) + ": cannot take its lock");
  }
  // Running from here on (data loading included): from now on a crash shows as "interrupted".
  store_.setStatus(runId_, RunStatus::Running);
}

StoreRecorder::~StoreRecorder() {
  // An exception is unwinding past the recorder and nobody called markFailed: say so rather than
  // leave the run to be found "interrupted". Never throw from here.
  if (!ended_ && std::uncaught_exceptions() > uncaughtAtStart_) {
    try {
      store_.finishRun(runId_, RunStatus::Failed, "stopped by an error", 0.0);
    } catch (...) {
    }
  }
}

void StoreRecorder::onBegin(const TrainingBegin& begin) {
  store_.updateRunInfo(runId_, "", "", detailsOf(begin), begin.device);
  if (!begin.resumedEpochs.empty()) store_.recordEpochs(runId_, begin.resumedEpochs);
}

bool StoreRecorder::onEpochEnd(const EpochMetrics& metrics) {
  store_.recordEpoch(runId_, metrics);
  return false;
}

void StoreRecorder::onEnd(const TrainingResult& result) {
  store_.finishRun(runId_, result.status, result.message, result.seconds);
  ended_ = true;
}

void StoreRecorder::markFailed(const std::string& message) {
  store_.finishRun(runId_, RunStatus::Failed, message, 0.0);
  ended_ = true;
}

}  // namespace samscape

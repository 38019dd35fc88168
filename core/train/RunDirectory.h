#pragma once
// The files a training run leaves in its --out directory (and checkpoints/, see Checkpoint.h):
//   run.json     the resolved config (a valid --config file), the analysis flags the run was launched
//                with ("analysis", read back by --resume), library versions, data, status
//   metrics.csv  one row per epoch: epoch,train_loss,train_acc,test_loss,test_acc[,val_loss,val_acc]
//                [,train_acc_noisy,train_acc_clean,train_acc_noisy_true],lr,seconds
//   model.pt     the final weights (written by the caller through Trainer::saveModel)
//   run.lock     held (flock) by the process writing the run, for its life: two processes never write
//                one directory, even when both were given the same --out
// Each file is replaced atomically (written beside, then renamed), so a crash never leaves a torn file.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/AtomicFile.h"
#include "core/train/TrainConfig.h"
#include "core/train/TrainingObserver.h"

namespace samscape {

// Creates a new directory for a run in `parent` (created when missing) and returns its path: `name`, or
// else `name-2`, `name-3`, ..., the first that did not exist. Each try is one mkdir, which fails on a
// name that exists, so processes and threads that claim at the same moment never get the same one.
// Throws Error naming the parent when it cannot be created or written.
std::string claimRunDirectory(const std::string& parent, const std::string& name);

class RunDirectoryWriter : public TrainingObserver {
 public:
  // Creates `directory` if needed and takes its run.lock for the writer's life. Refuses (ConfigError
  // naming --out) a directory that cannot be created, that another process is writing (its lock is
  // held) or that already holds a run.json, so an earlier run is never overwritten, unless `resuming`
  // that run (its metrics then continue from the checkpoint's).
  RunDirectoryWriter(std::string directory, TrainConfig config, bool resuming = false);
  ~RunDirectoryWriter() override;
  RunDirectoryWriter(const RunDirectoryWriter&) = delete;
  RunDirectoryWriter& operator=(const RunDirectoryWriter&) = delete;

  // The analysis flags given at launch, as a JSON object of --config keys ({"analyze-every": 2,
  // "slice": true, ...}); run.json keeps them so that a resumed run analyses as it did.
  void setAnalysisFlags(std::string jsonObject);

  void onBegin(const TrainingBegin& begin) override;
  bool onEpochEnd(const EpochMetrics& metrics) override;
  void onEnd(const TrainingResult& result) override;
  // The run stopped with an error (memory ran out, a file could not be written): run.json says "failed"
  // with the message, rather than "running" for ever. Never throws.
  void markFailed(const std::string& message) noexcept;

  // Whether the constructor created the directory (an --out that did not exist): a run refused before
  // it writes anything may then remove it again.
  bool createdDirectory() const { return createdDirectory_; }
  std::string runJsonPath() const;
  std::string metricsCsvPath() const;
  std::string modelPath() const;

 private:
  void writeRunJson(const std::string& status, const std::string& message, double seconds);

  std::string directory_;
  int lockDescriptor_ = -1;  // run.lock, flock'ed
  bool createdDirectory_ = false;
  TrainConfig config_;
  TrainingBegin begin_;
  std::vector<EpochMetrics> epochs_;
  std::string startedAt_;
  std::string analysisFlags_;
};

// The metrics.csv text for these epochs, with the val_loss and val_acc columns when asked, and the
// memorization columns train_acc_noisy, train_acc_clean, train_acc_noisy_true (--label-noise) when
// asked (an epoch without them, or with a NaN, writes nan).
std::string metricsCsv(const std::vector<EpochMetrics>& epochs, bool withValidation, bool withMemorization = false);
// Reads metrics.csv back (its columns by their header names). Throws DataError naming the file and the
// line for a missing file, an unknown header or a row that is not numbers of the header's count.
std::vector<EpochMetrics> readMetricsCsv(const std::string& path);

// What a run directory's run.json says, as samscape reads it back.
struct RunJson {
  RunStatus status = RunStatus::Running;  // running, finished, diverged or cancelled
  std::string message;  // why it did not finish
  TrainConfig config;   // its "config"
  nlohmann::json analysisFlags = nlohmann::json::object();  // its "analysis": the analyses' --config keys
  int epochsCompleted = 0;
  std::int64_t stepsPerEpoch = 0;  // 0 when the run never began
};
// Reads DIR/run.json. Throws DataError naming the file when it is missing, not JSON or lacks a field
// of the wrong type, and ConfigError naming the option and the file for a bad "config" key.
RunJson readRunJson(const std::string& runDirectory);


}  // namespace samscape

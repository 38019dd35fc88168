#pragma once
// The files a training run leaves in its --out directory (and checkpoints/, see Checkpoint.h):
//   run.json     the resolved config (a valid --config file), the analysis flags the run was launched
//                with ("analysis", read back by --resume), library versions, data, status
//   metrics.csv  one row per epoch: epoch,train_loss,train_acc,test_loss,test_acc[,val_loss,val_acc],lr,seconds
//   model.pt     the final weights (written by the caller through Trainer::saveModel)
// Each file is replaced atomically (written beside, then renamed), so a crash never leaves a torn file.

#include <string>
#include <vector>

#include "core/train/TrainConfig.h"
#include "core/train/TrainingObserver.h"

namespace samscape {

class RunDirectoryWriter : public TrainingObserver {
 public:
  // Creates `directory` if needed. Refuses (ConfigError naming --out) a directory that cannot be
  // created or already holds a run.json, so an earlier run is never overwritten, unless `resuming`
  // that run (its metrics then continue from the checkpoint's).
  RunDirectoryWriter(std::string directory, TrainConfig config, bool resuming = false);

  // The analysis flags given at launch, as a JSON object of --config keys ({"analyze-every": 2,
  // "slice": true, ...}); run.json keeps them so that a resumed run analyses as it did.
  void setAnalysisFlags(std::string jsonObject);

  void onBegin(const TrainingBegin& begin) override;
  bool onEpochEnd(const EpochMetrics& metrics) override;
  void onEnd(const TrainingResult& result) override;

  std::string runJsonPath() const;
  std::string metricsCsvPath() const;
  std::string modelPath() const;

 private:
  void writeRunJson(const std::string& status, const std::string& message, double seconds);

  std::string directory_;
  TrainConfig config_;
  TrainingBegin begin_;
  std::vector<EpochMetrics> epochs_;
  std::string startedAt_;
  std::string analysisFlags_;
};

// The metrics.csv text for these epochs, with the val_loss and val_acc columns when asked.
std::string metricsCsv(const std::vector<EpochMetrics>& epochs, bool withValidation);

// Writes `content` to `path` through a temporary file in the same directory and a rename.
// Throws Error naming the path on failure.
void writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace samscape

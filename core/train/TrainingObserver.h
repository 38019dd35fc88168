#pragma once
// What a training run reports, as plain values, and the observer interface that receives it.
// The CLI's progress bar, the run-directory writer and (later) the GUI bridge are observers.

#include <cstdint>
#include <string>
#include <vector>

#include "core/RunStatus.h"
#include "core/train/EpochMetrics.h"

namespace samscape {

struct TrainingBegin {
  std::string modelDescription;
  std::string optimizerDescription;
  std::string device;
  int threads = 0;
  std::int64_t parameterCount = 0;
  std::int64_t trainExamples = 0;
  std::int64_t validationExamples = 0;
  std::int64_t testExamples = 0;
  std::int64_t noisyLabels = 0;
  std::string dataDir;
  int epochs = 0;
  std::int64_t stepsPerEpoch = 0;
  std::vector<std::string> replicaDevices;
  // When the run resumes from a checkpoint: the epochs already done (the run continues after them).
  std::vector<EpochMetrics> resumedEpochs;
};

struct StepProgress {
  int epoch = 0;                 // 1-based
  std::int64_t stepInEpoch = 0;  // 1-based
  std::int64_t stepsPerEpoch = 0;
  std::int64_t globalStep = 0;   // 1-based
  std::int64_t totalSteps = 0;
  double loss = 0.0;             // this step's mini-batch loss at the weights before the step
  double learningRate = 0.0;
};

struct TrainingResult {
  RunStatus status = RunStatus::Finished;  // finished, diverged or cancelled
  std::string message;  // why a run did not finish; empty when it did
  std::vector<EpochMetrics> epochs;
  double seconds = 0.0;
};

// Every hook is optional. A hook that returns true asks the trainer to stop; the run then ends with
// status Cancelled after the current step.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void onBegin(const TrainingBegin&) {}
  virtual bool onStep(const StepProgress&) { return false; }
  virtual bool onEpochEnd(const EpochMetrics&) { return false; }
  virtual void onEnd(const TrainingResult&) {}
};

}  // namespace samscape

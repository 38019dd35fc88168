#pragma once
// The CLI's progress display: a live bar with steps/s and ETA on a terminal, plain lines otherwise
// (logs, CI). It is just another training observer.

#include <chrono>
#include <cstdio>

#include "core/train/TrainingObserver.h"

namespace samscape::cli {

class TerminalProgress : public TrainingObserver {
 public:
  // `stream` is where progress goes (stderr); `interactive` selects the live bar.
  TerminalProgress(std::FILE* stream, bool interactive);

  void onBegin(const TrainingBegin& begin) override;
  bool onStep(const StepProgress& progress) override;
  bool onEpochEnd(const EpochMetrics& metrics) override;
  void onEnd(const TrainingResult& result) override;

 private:
  using Clock = std::chrono::steady_clock;
  void clearBar();

  std::FILE* stream_;
  bool interactive_;
  int epochs_ = 0;
  Clock::time_point start_;
  Clock::time_point lastDraw_;
  double stepsPerSecond_ = 0.0;  // exponential moving average over steps
  Clock::time_point lastStep_;
  bool barShown_ = false;
};

}  // namespace samscape::cli

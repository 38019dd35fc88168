#include "cli/TerminalProgress.h"

#include <cmath>
#include <string>

namespace samscape::cli {
namespace {

constexpr double kPlainLineSeconds = 30.0;

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const auto total = static_cast<long>(std::lround(seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
  } else if (total >= 60) {
    std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%lds", total);
  }
  return text;
}

}  // namespace

TerminalProgress::TerminalProgress(std::FILE* stream, bool interactive)
    : stream_(stream), interactive_(interactive) {}

void TerminalProgress::clearBar() {
  if (barShown_) {
    std::fprintf(stream_, "\r\033[K");
    barShown_ = false;
  }
}

void TerminalProgress::onBegin(const TrainingBegin& begin) {
  epochs_ = begin.epochs;
  start_ = lastStep_ = lastDraw_ = Clock::now();
  std::fprintf(stream_, "model     %s\n", begin.modelDescription.c_str());
  std::fprintf(stream_, "optimizer %s\n", begin.optimizerDescription.c_str());
  std::fprintf(stream_, "data      %s: %lld train, %lld validation, %lld test examples",
               begin.dataDir.c_str(), static_cast<long long>(begin.trainExamples),
               static_cast<long long>(begin.validationExamples),
               static_cast<long long>(begin.testExamples));
  if (begin.noisyLabels > 0) {
    std::fprintf(stream_, " (%lld noisy labels)", static_cast<long long>(begin.noisyLabels));
  }
  std::fprintf(stream_, "\ndevice    %s, %d threads; %d epochs of %lld steps\n", begin.device.c_str(),
               begin.threads, begin.epochs, static_cast<long long>(begin.stepsPerEpoch));
  std::fflush(stream_);
}

bool TerminalProgress::onStep(const StepProgress& progress) {
  const auto now = Clock::now();
  const double stepSeconds = std::chrono::duration<double>(now - lastStep_).count();
  lastStep_ = now;
  if (stepSeconds > 0) {
    const double rate = 1.0 / stepSeconds;
    // The first step of an epoch includes the previous evaluation: it would distort the rate.
    if (progress.stepInEpoch > 1 || stepsPerSecond_ == 0.0) {
      stepsPerSecond_ = stepsPerSecond_ == 0.0 ? rate : 0.9 * stepsPerSecond_ + 0.1 * rate;
    }
  }
  const double sinceDraw = std::chrono::duration<double>(now - lastDraw_).count();
  const double eta = stepsPerSecond_ > 0
                         ? static_cast<double>(progress.totalSteps - progress.globalStep) / stepsPerSecond_
                         : NAN;
  if (!interactive_) {
    // Logs get a line now and then, so that a long epoch is visibly alive.
    if (sinceDraw < kPlainLineSeconds || progress.stepInEpoch == progress.stepsPerEpoch) return false;
    lastDraw_ = now;
    std::fprintf(stream_, "epoch %d/%d step %lld/%lld  %.1f steps/s  ETA %s  loss %.4f\n", progress.epoch,
                 epochs_, static_cast<long long>(progress.stepInEpoch),
                 static_cast<long long>(progress.stepsPerEpoch), stepsPerSecond_,
                 formatDuration(eta).c_str(), progress.loss);
    std::fflush(stream_);
    return false;
  }
  const bool last = progress.stepInEpoch == progress.stepsPerEpoch;
  if (!last && sinceDraw < 0.1) return false;
  lastDraw_ = now;

  constexpr int kWidth = 30;
  const double fraction =
      static_cast<double>(progress.stepInEpoch) / static_cast<double>(progress.stepsPerEpoch);
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stream_, "\r\033[Kepoch %d/%d [%s] %lld/%lld  %.1f steps/s  ETA %s  loss %.4f",
               progress.epoch, epochs_, bar.c_str(), static_cast<long long>(progress.stepInEpoch),
               static_cast<long long>(progress.stepsPerEpoch), stepsPerSecond_,
               formatDuration(eta).c_str(), progress.loss);
  std::fflush(stream_);
  barShown_ = true;
  return false;
}

bool TerminalProgress::onEpochEnd(const EpochMetrics& m) {
  clearBar();
  std::fprintf(stream_, "epoch %d/%d  train_loss %.4f  train_acc %.4f  test_loss %.4f  test_acc %.4f",
               m.epoch, epochs_, m.trainLoss, m.trainAccuracy, m.testLoss, m.testAccuracy);
  if (m.validationLoss) {
    std::fprintf(stream_, "  val_loss %.4f  val_acc %.4f", *m.validationLoss, m.validationAccuracy.value_or(0));
  }
  if (m.trainAccuracyNoisy) {
    std::fprintf(stream_, "  train_acc_noisy %.4f  train_acc_clean %.4f", *m.trainAccuracyNoisy,
                 m.trainAccuracyClean.value_or(0));
  }
  std::fprintf(stream_, "  lr %.4g  %.1fs  %.1f steps/s\n", m.learningRate, m.seconds, stepsPerSecond_);
  std::fflush(stream_);
  return false;
}

void TerminalProgress::onEnd(const TrainingResult& result) {
  clearBar();
  std::fprintf(stream_, "%s after %s%s%s\n", nameOf(result.status).c_str(),
               formatDuration(result.seconds).c_str(), result.message.empty() ? "" : ": ",
               result.message.c_str());
  std::fflush(stream_);
}

}  // namespace samscape::cli

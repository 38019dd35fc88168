#include "gui/TrainingWorker.h"

#include <QThread>

#include <nlohmann/json.hpp>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/train/SavedRun.h"
#include "session/RunSession.h"

namespace samscape::gui {
namespace {

// Training and analyses share the CPU with the GUI thread and, under software OpenGL (llvmpipe, as
// under Xvfb or on a machine without a GPU driver), with the threads that draw the window. At equal
// priority every frame waits behind the compute threads: 100-200 ms stalls on two busy cores
// (samscape-gui-bench). At nice 10 the compute threads still get all the CPU the window leaves them.
// Linux keeps niceness per thread, and threads LibTorch starts from this one inherit it.
void yieldTheCpuToTheWindow() {
#ifdef __linux__
  const auto thread = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, thread);  // -1 is a valid value: errno tells
  if (errno == 0) setpriority(PRIO_PROCESS, thread, std::min(nice + 10, 19));
#else
  QThread::currentThread()->setPriority(QThread::LowPriority);
#endif
}

}  // namespace

namespace {

// The trainer's and the analyses' reports, forwarded as signals of the worker (queued to the GUI).
class SignalBridge : public TrainingObserver, public AnalysisObserver {
 public:
  explicit SignalBridge(TrainingWorker& worker) : worker_(worker) {}

  void onBegin(const TrainingBegin& begin) override { Q_EMIT worker_.begun(begin); }
  // At most 10 steps a second reach the window, but always an epoch's last step and the run's last
  // one (kept back and sent at the end): a run that stops, or is cancelled, shows where it stopped.
  bool onStep(const StepProgress& step) override {
    const auto now = std::chrono::steady_clock::now();
    if (now - lastStep_ >= std::chrono::milliseconds(100) || step.stepInEpoch == step.stepsPerEpoch ||
        step.globalStep == step.totalSteps) {
      lastStep_ = now;
      unsent_.reset();
      Q_EMIT worker_.stepped(step);
    } else {
      unsent_ = step;
    }
    return false;
  }
  void onEnd(const TrainingResult&) override {
    if (unsent_) Q_EMIT worker_.stepped(*unsent_);
    unsent_.reset();
  }
  bool onEpochEnd(const EpochMetrics& metrics) override {
    epoch_ = metrics.epoch;
    Q_EMIT worker_.epochEnded(metrics);
    return false;
  }
  void onSliceLevel(const SliceGrid& grid) override { Q_EMIT worker_.sliceRefined(epoch_, grid); }
  // The analysis as computed, in memory: the window does not read back what was just written.
  void onEpochAnalysis(int epoch, const AnalysisResults& results) override {
    RunAnalysis analysis;
    static_cast<AnalysisResults&>(analysis) = results;
    analysis.epoch = epoch;
    analysis.directory = QString::fromStdString(results.directory);
    Q_EMIT worker_.analysisReady(analysis);
  }
  void onAnalysisCost(const AnalysisCost& cost) override { Q_EMIT worker_.analysisCostReported(cost); }

 private:
  TrainingWorker& worker_;
  int epoch_ = 0;
  std::chrono::steady_clock::time_point lastStep_{};
  std::optional<StepProgress> unsent_;
};

}  // namespace

RunAnalysis readRunAnalysis(int epoch, const QString& directory) {
  RunAnalysis analysis;
  try {
    static_cast<AnalysisResults&>(analysis) = readAnalysisDirectory(directory.toStdString());
  } catch (const std::exception& error) {
    analysis.problem = QString::fromUtf8(error.what());
  }
  analysis.epoch = epoch;
  analysis.directory = directory;
  return analysis;
}

TrainingWorker::TrainingWorker(RunSpec spec, std::shared_ptr<std::atomic<bool>> cancel)
    : spec_(std::move(spec)), cancel_(std::move(cancel)) {}

AnalysisWorker::AnalysisWorker(QString checkpoint, AnalysisRequest request, QString outDir,
                               std::shared_ptr<std::atomic<bool>> cancel)
    : checkpoint_(std::move(checkpoint)), request_(std::move(request)), outDir_(std::move(outDir)), cancel_(std::move(cancel)) {}

void AnalysisWorker::run() {
  yieldTheCpuToTheWindow();
  QString problem;
  try {
    const SavedModel saved = locateSavedModel(checkpoint_.toStdString(), "--checkpoint");
    AnalysisModel model;
    model.run = saved.config;
    model.weightsPath = saved.weightsPath;
    model.description = saved.description;
    model.runDirectory = saved.runDirectory;
    validateAnalysisRequest(request_, AnalysisCommand::Analyze);
    AnalysisSession session(model, request_);
    session.analyze("", "", outDir_.toStdString(), nullptr, cancel_.get());
  } catch (const std::exception& error) {
    problem = QString::fromUtf8(error.what());
  }
  Q_EMIT finished(outDir_, problem);
}

void TrainingWorker::run() {
  yieldTheCpuToTheWindow();
  try {
    SignalBridge bridge(*this);
    RunSessionOptions options;
    options.cancel = cancel_.get();
    options.analysisObserver = &bridge;
    RunSession session(spec_, options);
    session.addObserver(&bridge);
    const TrainingResult result = session.run();
    Q_EMIT ended(result.status, QString::fromStdString(result.message));
  } catch (const std::exception& error) {
    Q_EMIT ended(RunStatus::Failed, QString::fromUtf8(error.what()));
  }
}

}  // namespace samscape::gui

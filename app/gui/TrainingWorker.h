#pragma once
// Runs one training run (and its periodic analyses) on a worker thread. Everything it reports crosses
// to the GUI thread as small values through queued signals; the GUI never touches the trainer. Cancel
// by setting the shared flag: the trainer checks it every step, the analyses every point or product.

#include <QObject>

#include <atomic>
#include <memory>

#include "gui/GuiRun.h"

namespace samscape::gui {

class TrainingWorker : public QObject {
  Q_OBJECT
 public:
  // Runs `spec` through a RunSession (recorded in spec.workspace's store unless that is empty).
  TrainingWorker(RunSpec spec, std::shared_ptr<std::atomic<bool>> cancel);

 public Q_SLOTS:
  void run();

 Q_SIGNALS:
  void begun(const samscape::TrainingBegin& begin);
  void stepped(const samscape::StepProgress& step);  // at most ~10 per second
  void epochEnded(const samscape::EpochMetrics& metrics);
  void sliceRefined(int epoch, const samscape::SliceGrid& grid);
  void analysisReady(const samscape::gui::RunAnalysis& analysis);
  // Every epoch due an analysis: its cost against the training, or that it was skipped (budget).
  void analysisCostReported(const samscape::AnalysisCost& cost);
  // finished, diverged, cancelled or failed; `message` says why when not finished.
  void ended(samscape::RunStatus status, const QString& message);

 private:
  RunSpec spec_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

// One analysis of a saved model (a run directory, a checkpoint directory or a weights file), written
// to `outDir`: what `samscape-cli analyze --checkpoint CHECKPOINT ...` does. The landscape page's
// planes (the pair plane through init, SGD and SAM; a run's own PCA plane) are such analyses.
class AnalysisWorker : public QObject {
  Q_OBJECT
 public:
  AnalysisWorker(QString checkpoint, AnalysisRequest request, QString outDir, std::shared_ptr<std::atomic<bool>> cancel);
 public Q_SLOTS:
  void run();
 Q_SIGNALS:
  // `problem` says why it failed (naming the file or flag); empty when it ran to the end or was cancelled.
  void finished(const QString& outDir, const QString& problem);

 private:
  QString checkpoint_;
  AnalysisRequest request_;
  QString outDir_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

// Reads an analysis directory (analysis.json and its files) into the summary the views draw; when it
// cannot be read, `problem` says why and the rest stays empty.
RunAnalysis readRunAnalysis(int epoch, const QString& directory);

}  // namespace samscape::gui

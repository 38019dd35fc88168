#pragma once
// What the window knows about one run: plain values the worker threads send over queued signals, kept
// by RunController on the GUI thread and drawn by the pages. No LibTorch, no Qt widgets.

#include <QMetaType>
#include <QString>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/AnalysisBudget.h"
#include "analysis/AnalysisSession.h"
#include "analysis/LossSurface.h"
#include "core/train/TrainingObserver.h"
#include "session/RunSpec.h"

namespace samscape::gui {

// One epoch's analysis as the views use it: DIR/analysis/epoch-NNN/ read back by analysis's own reader
// (readAnalysisDirectory), or the slice's levels as they arrive while the job runs (status empty).
struct RunAnalysis : AnalysisResults {
  int epoch = 0;
  QString directory;
  QString problem;  // why the directory could not be read; empty when it was
};

struct StepSample {
  std::int64_t globalStep = 0;
  double loss = 0.0;
};

struct GuiRun {
  int id = 0;
  std::int64_t storeId = 0;  // the run's id in the workspace's store (0: not recorded)
  int pairId = -1;           // runs launched together as an SGD/SAM pair share it
  RunSpec spec;  // what the run is, resolved as the command line resolves it (session/RunSpec.h)
  // The window claimed spec.config.outDir (claimRunDirectory) for this run; a run cancelled before it
  // starts, or refused at its start, gives the still empty directory back.
  bool claimedDirectory = false;
  RunStatus status = RunStatus::Queued;
  QString message;
  std::int64_t globalStep = 0;
  std::int64_t totalSteps = 0;
  double elapsedSeconds = 0.0;
  std::vector<EpochMetrics> epochs;
  std::vector<std::int64_t> epochEndSteps;
  std::vector<double> epochEndSeconds;  // wall time since the run started
  std::map<int, RunAnalysis> analyses;
  // What the analyses cost against the training, one entry per due epoch, analysed or skipped over
  // the budget (live from the worker, or DIR/analysis/budget.json for a run read from disk).
  std::vector<AnalysisCost> analysisCosts;
  QString tags;
  QString notes;

  QString name() const { return QString::fromStdString(spec.name); }
  QString optimizerLabel() const;
  bool inFlight() const { return status == RunStatus::Queued || status == RunStatus::Running; }
  // The last epoch whose metrics arrived (0 before the first), and how many the run is asked for.
  int epochsDone() const;
  int epochsPlanned() const { return spec.config.epochs; }
  // From 0 to 1: the steps done (known while the run trains in this window) or the epochs done (all a
  // run read from disk tells: cancelled, interrupted or failed after some epochs), whichever is more.
  double progress() const;
  // Seconds left at the current pace; negative when unknown.
  double etaSeconds() const;
};

}  // namespace samscape::gui

Q_DECLARE_METATYPE(samscape::EpochMetrics)
Q_DECLARE_METATYPE(samscape::TrainingBegin)
Q_DECLARE_METATYPE(samscape::StepProgress)
Q_DECLARE_METATYPE(samscape::SliceGrid)
Q_DECLARE_METATYPE(samscape::gui::RunAnalysis)
Q_DECLARE_METATYPE(samscape::AnalysisCost)
Q_DECLARE_METATYPE(samscape::RunStatus)

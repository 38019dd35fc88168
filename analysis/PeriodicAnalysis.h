#pragma once
// `samscape-cli train --analyze-every K`: a training observer that runs an analysis job on the
// checkpoint of every K-th epoch (and of the last epoch) into <run>/analysis/epoch-NNN/. One set of
// slice directions serves the whole run (drawn at the first analysis, saved to
// <run>/analysis/directions.bin unless --directions names a file), so the run's surfaces share axes.
//
// The analysis loads each checkpoint into its own copy of the model: the trainer's weights, batch-norm
// statistics and random generators are untouched, so a run's training results do not depend on
// whether it is analysed.
//
// The analyses keep to a share of the training time (`--analysis-budget`, AnalysisBudget.h): each due
// epoch's analysis is timed against the epochs' training, one that would start over the budget is
// skipped, and every due epoch's cost goes to <run>/analysis/budget.json and to the observer.
//
// The observer (AnalysisObserver) sees, on the training thread, each analysis' stages and slice levels,
// each finished analysis' results in memory (onEpochAnalysis) and each due epoch's cost (onAnalysisCost).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "analysis/AnalysisBudget.h"
#include "analysis/AnalysisSession.h"
#include "core/train/TrainingObserver.h"

namespace samscape {

class PeriodicAnalysis : public TrainingObserver {
 public:
  // `config` is the run's (its outDir holds the checkpoints). Validates the request and the budget (a
  // fraction of the training time, 0: no limit) and loads the analysis data now, so that a bad flag
  // fails before training starts. `cancel` (may be null) is the run's cancellation flag: it also stops
  // an analysis in flight.
  PeriodicAnalysis(const TrainConfig& config, int every, AnalysisRequest request,
                   const std::atomic<bool>* cancel = nullptr, AnalysisObserver* observer = nullptr,
                   double budget = kDefaultAnalysisBudget);
  ~PeriodicAnalysis() override;

  // Takes up a resumed run's accounting (its epochs' training time, budget.json) and redoes the
  // analysis of the epoch it starts from when that was left unfinished.
  void onBegin(const TrainingBegin& begin) override;
  // Counts the epoch's training; runs the analysis when the epoch is due and the budget allows it, or
  // records it as skipped; asks the trainer to stop when the analysis was cancelled.
  bool onEpochEnd(const EpochMetrics& metrics) override;

  // The analysis options whose work is estimated to take long, each analysis; the caller announces
  // them at the start of the run (AnalysisSession::takeLongWork).
  std::vector<WorkEstimate> takeLongWork();

  // The cost of the analyses so far: the last due epoch's, empty before the first.
  const std::vector<AnalysisCost>& costs() const { return costs_; }

  static std::string budgetFile(const std::string& runDirectory);

  static std::string epochDirectory(const std::string& runDirectory, int epoch);

 private:
  bool due(int epoch) const;
  // Analyzes the epoch's checkpoint, which the run left stepping at `learningRate` (0: unknown); true
  // when cancelled.
  bool analyzeEpoch(int epoch, double learningRate);
  void recordCost(const AnalysisCost& cost);

  TrainConfig config_;
  int every_;
  int lastEpoch_;
  const std::atomic<bool>* cancel_;
  AnalysisObserver* observer_;
  std::unique_ptr<AnalysisSession> session_;
  AnalysisBudget budget_;
  std::vector<AnalysisCost> costs_;  // budget.json's entries
};

}  // namespace samscape

#pragma once
// The command line's analysis observer: each finished stage's one-line summary, each slice level and,
// for `train --analyze-every`, what each analysis cost against the training (or why it was skipped),
// on stderr.

#include <iostream>

#include "analysis/AnalysisSession.h"

namespace samscape::cli {

// "estimate: --trace-probes 2000000000 will take about 85 years (...); Ctrl-C stops it and keeps what
// finished": an option whose work is long, said before it starts.
inline std::string longWorkLine(const WorkEstimate& estimate) {
  return "estimate: " + estimate.flag + " " + estimate.value + " will take about " + formatDuration(estimate.seconds) +
         (estimate.what.empty() ? std::string() : " (" + estimate.what + ")") +
         "; Ctrl-C stops it and keeps what finished";
}

class AnalysisLog : public AnalysisObserver {
 public:
  // Off: the cost lines are not printed (ranks other than 0 of a multi-process job).
  void showCosts(bool show) { showCosts_ = show; }
  void onAnalysisCost(const AnalysisCost& cost) override {
    if (showCosts_) std::cerr << (cost.skipped ? analysisSkipLine(cost) : analysisCostLine(cost)) << "\n";
  }
  void onStageEnd(const std::string&, const std::string& summary) override { std::cerr << summary << "\n"; }
  void onLongWork(const WorkEstimate& estimate) override { std::cerr << longWorkLine(estimate) << "\n"; }
  void onSliceLevel(const SliceGrid& grid) override {
    std::cerr << "slice: level " << grid.level << " done, " << grid.pointsDone << "/" << grid.pointsTotal
              << " points\n";
  }

 private:
  bool showCosts_ = true;
};

}  // namespace samscape::cli

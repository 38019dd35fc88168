#pragma once
// The command line's analysis observer: each finished stage's one-line summary, and each slice
// level, on stderr.

#include <iostream>

#include "analysis/AnalysisJob.h"

namespace samscape::cli {

class AnalysisLog : public AnalysisObserver {
 public:
  void onStageEnd(const std::string&, const std::string& summary) override { std::cerr << summary << "\n"; }
  void onSliceLevel(const SliceGrid& grid) override {
    std::cerr << "slice: level " << grid.level << " done, " << grid.pointsDone << "/" << grid.pointsTotal
              << " points\n";
  }
};

}  // namespace samscape::cli

#pragma once
// `train --analysis-budget F`: the analyses during training (`--analyze-every K`) may take at most F
// times the run's training time. A due analysis runs while the analyses so far took at most F times
// the training so far, and is skipped (and said so) while they took more, until training catches up;
// the first analysis of a run (nothing spent yet) and the last epoch's always run. The policy only
// looks back, so one analysis can overshoot; the ones after it wait until the whole run is back
// within the budget.
// Plain C++ and nlohmann::json (no LibTorch): the command line and the app format the cost with it.

#include <string>
#include <vector>

namespace samscape {

inline constexpr double kDefaultAnalysisBudget = 0.25;
inline constexpr double kMaxAnalysisBudget = 100.0;

// What is wrong with `budget` as --analysis-budget's value, or empty: from 0 (no limit) to 100,
// not NaN.
std::string analysisBudgetProblem(double budget);

// The run's analyses against its training after one due epoch, analysed or skipped.
struct AnalysisCost {
  int epoch = 0;
  bool skipped = false;
  double seconds = 0.0;          // this epoch's analysis (wall time); 0 when skipped
  double trainingSeconds = 0.0;  // the run's training so far, this epoch included (epochs' wall time)
  double analysisSeconds = 0.0;  // the run's analyses so far, this one included
  double budget = kDefaultAnalysisBudget;  // the fraction allowed; 0: no limit
  int analysed = 0;                        // the run's analyses so far, this one included
  int skippedCount = 0;                    // and the due analyses skipped, this one included

  // analysisSeconds / trainingSeconds; 0 before any training.
  double fraction() const;
};

class AnalysisBudget {
 public:
  // Throws ConfigError naming --analysis-budget for a value analysisBudgetProblem refuses.
  explicit AnalysisBudget(double budget = kDefaultAnalysisBudget);

  double budget() const { return budget_; }
  bool limited() const { return budget_ > 0.0; }
  double trainingSeconds() const { return trainingSeconds_; }
  double analysisSeconds() const { return analysisSeconds_; }
  double fraction() const;

  void addTraining(double seconds);
  // Whether an analysis due now runs: always for the run's last epoch and without a limit, else when
  // the analyses so far took at most budget x the training so far.
  bool allows(bool lastEpoch) const;
  // Counts an analysis that ran (`seconds` of wall time) or one that was skipped; returns the cost as
  // it then stands.
  AnalysisCost recordAnalysis(int epoch, double seconds);
  AnalysisCost recordSkip(int epoch);
  // Continues a resumed run's accounting: the training of the epochs it already did and the cost of
  // its analyses so far (the last AnalysisCost it recorded, if any).
  void restore(double trainingSeconds, const AnalysisCost* last);

 private:
  AnalysisCost cost(int epoch, bool skipped, double seconds) const;

  double budget_;
  double trainingSeconds_ = 0.0;
  double analysisSeconds_ = 0.0;
  int analysed_ = 0;
  int skipped_ = 0;
};

// "25%", or "no limit" for 0.
std::string budgetText(double budget);
// "analysis of epoch 4: 3.1 s (12% of training so far, budget 25%)"
std::string analysisCostLine(const AnalysisCost& cost);
// "analysis of epoch 4 skipped: analyses took 31 s of 80 s training (39% > budget 25%); --analysis-budget
// raises it"
std::string analysisSkipLine(const AnalysisCost& cost);
// "analyses: 12 s of 80 s training (15%, budget 25%); 4 ran, 1 skipped (over budget)"
std::string analysisTotalLine(const AnalysisCost& last);

// <run>/analysis/budget.json: the budget, the totals and one entry per due epoch. Written after each
// due epoch (writeFileAtomically), read back when the run resumes and when the app opens it.
std::string analysisBudgetJson(double budget, const std::vector<AnalysisCost>& costs);
// The entries of such a file; empty when it does not exist. Throws DataError naming the file when it
// cannot be read as one.
std::vector<AnalysisCost> readAnalysisBudgetFile(const std::string& path);

}  // namespace samscape

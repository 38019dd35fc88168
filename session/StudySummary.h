#pragma once
// What a study measured: each run's final numbers, read back from its directory, and per cell their
// mean, standard deviation and 95% confidence interval over the seeds (core/Statistics.h); then the
// study's checks judged on those, and the files and tables that report them (study.csv, the terminal
// table, the README's "What samscape reproduces" rows).
//
// The metrics of a run: every metric defined with inStudies (analysis/Metrics.h), the training ones
// (test_acc, train_acc, test_loss) from the last epoch's row of metrics.csv, the analysis ones
// (lambda_max, lambda_ratio, trace, m_sharpness, and any stage's that says so) from the last epoch's
// analysis (analysis/epoch-NNN, highest NNN) when it completed.
// A metric the run's analyses did not compute is NaN and left out of the cell's summary.
//
// A check is judged on the cells' means:
//   ratio [A, B]           mean_A / mean_B >= at-least (or > more-than)
//   difference [A, B]      mean_A - mean_B >= at-least (or > more-than)
//   decreasing-along KEY   the means fall strictly as KEY's value grows
//   difference [A, B] with increasing-along KEY
//                          mean_A - mean_B grows strictly as KEY's value grows (A and B pick one cell
//                          per value of KEY; no threshold, no "separated")
// with "separated": the compared cells' (neighbours', for decreasing) 95% intervals must not overlap.
// A check is "not judged" while a compared cell has fewer than its study's seeds finished.

#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/RunStatus.h"
#include "core/Statistics.h"
#include "session/Study.h"
#include "session/StudyCorrelation.h"

namespace samscape {

// A cell selector as the checks' descriptions show it: "optimizer=sam rho=0.2".
std::string studySelectorLabel(const nlohmann::json& selector);

// The keys of the metrics a study summarizes (every one defined with inStudies).
const std::vector<std::string>& studyMetricNames();

struct StudyRunResult {
  StudyRunSlot slot;
  StudyRunState state = StudyRunState::Pending;
  RunStatus status = RunStatus::Queued;  // run.json's; queued when it never started
  std::map<std::string, double> metrics;  // every studyMetricNames() entry; NaN where not measured
  std::string problem;                    // why its files could not be read; empty when they could
  double seconds = 0.0;                   // its epochs' wall time (metrics.csv), evaluation included
  double wallSeconds = 0.0;               // the study's timing of it (timings.csv): loading and analyses too
  // What the rank correlations need besides `metrics` (session/StudyCorrelation.h): each sharpness
  // measure the last analysis has (sharpnessMeasureKeys(), whether or not summarized per cell), the last
  // epoch's metrics.csv train_loss, and the last analysis's loss with its split and size. NaN and ""
  // where not measured.
  std::map<std::string, double> sharpness;
  double minibatchTrainLoss = std::numeric_limits<double>::quiet_NaN();
  double analysisLoss = std::numeric_limits<double>::quiet_NaN();
  std::string analysisSplit;
  std::size_t analysisExamples = 0;
};

struct StudyCellSummary {
  std::size_t done = 0;      // runs done (finished or diverged)
  std::size_t diverged = 0;
  std::map<std::string, SampleSummary> metrics;  // over the done runs
};

enum class CheckVerdict { Holds, Fails, NotJudged };

struct StudyCheckResult {
  std::string description;  // "lambda_max: optimizer=sgd / optimizer=sam >= 5"
  std::string measured;     // "24.1 / 3.9 = 6.2 (95% CIs separated)"
  CheckVerdict verdict = CheckVerdict::NotJudged;
};

struct StudySummary {
  StudySpec spec;
  std::string workspace;
  std::string directory;
  std::string launchedFrom;             // the study file it was started from, as given; "" if unknown
  std::vector<StudyRunResult> runs;     // every run of the study, in order
  std::vector<StudyCellSummary> cells;  // one per spec.cells entry
  std::vector<StudyCheckResult> checks;
  StudyCorrelations correlations;  // sharpness against generalization, over the runs of all cells
  std::size_t done = 0;
  double runSeconds = 0.0;   // the done runs' epochs' wall time
  double wallSeconds = 0.0;  // the done runs' wall time as the study timed them (0 when not timed)

  bool complete() const { return done == runs.size(); }
};

// Judges one check on the summary's cells (their done counts and metric summaries).
StudyCheckResult judgeStudyCheck(const StudyCheck& check, const StudySummary& summary);

// Reads one run's final numbers from its directory (never throws: a damaged file sets `problem`).
StudyRunResult readStudyRunResult(const StudyRunSlot& slot);

// Summarizes the study as its directories stand now (a study in progress included).
StudySummary summarizeStudy(const StudySpec& spec, const std::string& workspace);
// The study recorded in WORKSPACE/studies/<name>/ (its study.json). Throws ConfigError naming the
// study when there is none, DataError for a damaged study.json.
StudySummary summarizeRecordedStudy(const std::string& workspace, const std::string& studyName);
// The names of the studies recorded in the workspace, sorted.
std::vector<std::string> recordedStudies(const std::string& workspace);

// study.csv: one row per cell: cell, its grid options, runs, done, diverged, and for every metric
// <metric>_mean, _std, _ci95_low, _ci95_high (empty where not measured).
std::string studyCsv(const StudySummary& summary);
// study-runs.csv: one row per run: cell, seed, status, every metric, its wall seconds, directory.
std::string studyRunsCsv(const StudySummary& summary);
// The summary for a terminal: the cells' means with their intervals, then the checks.
std::string studyTableText(const StudySummary& summary);
// "What samscape reproduces": one Markdown row per check of each study (claim, paper, measured,
// verdict, the command that ran it), under a header.
std::string reproducesMarkdown(const std::vector<StudySummary>& summaries);

// The command that runs (or resumes) the study: samscape-cli study --config FILE --workspace W.
std::string studyCommand(const StudySummary& summary);

// Writes study.csv, study-runs.csv and study-correlations.csv into the study's directory (atomically).
void writeStudyCsvFiles(const StudySummary& summary);

const char* verdictName(CheckVerdict verdict);

}  // namespace samscape

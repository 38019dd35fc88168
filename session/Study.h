#pragma once
// A study: a grid over run options (optimizer x rho x m x label noise ...) times N seeds, each cell of
// it a normal recorded run, run one after another and resumable, then summarized per grid point with
// error bars (session/StudySummary.h). `samscape-cli study` and the app's Study page both run studies
// through here.
//
// A study file is a JSON object:
//   "study":  its name: the directory WORKSPACE/studies/<name>/ (letters, digits, '-', '_', '.')
//   "claim":  what it shows, in a sentence (the summary's title); "paper": what the paper reports
//   "base":   run options as --config keys, shared by every cell ("epochs": 60, "model": "mlp", ...)
//   "grid":   option key -> list of values; the cells are their cartesian product (keys in alphabetical
//             order, the first varying slowest)
//   "cells":  (optional) a list of objects of option keys, each crossed with the grid: for grids that
//             are not products (SGD once, SAM at three rho)
//   "seeds":  a count N (seeds 0..N-1) or a list of seeds
//   "checks": (optional) what the claim needs, evaluated by the summary (StudySummary.h)
// The run of cell C with seed S lives in WORKSPACE/studies/<name>/runs/<C>-seed<S>/ and is recorded in
// the workspace's store as "<name>/<C> seed S", tagged "study:<name>".
//
// Plain C++ in this header (no LibTorch): the app's Study page includes it.

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/RunStatus.h"
#include "core/train/TrainingObserver.h"
#include "session/RunSpec.h"

namespace samscape {

struct StudyCell {
  std::string label;          // "optimizer=sam rho=0.1"; "base" for a study without grid or cells
  std::string directoryName;  // "optimizer-sam_rho-0.1": the file-name form of the label
  nlohmann::json settings = nlohmann::json::object();  // the option keys this cell sets over "base"
  nlohmann::json options = nlohmann::json::object();   // "base" with the settings over it
};

// One test of the claim on the cells' means (see StudySummary.h for how each is judged).
struct StudyCheck {
  enum class Kind { Ratio, Difference, Decreasing, DifferenceIncreasing };
  Kind kind = Kind::Ratio;
  std::string metric;  // a StudySummary metric: test_acc, lambda_max, lambda_ratio, m_sharpness, ...
  // Ratio: first's mean / second's; Difference: first's mean - second's. Each selects one cell by
  // option values ({"optimizer": "sgd"}).
  nlohmann::json first;
  nlohmann::json second;
  // Decreasing: the option key whose values order the cells; DifferenceIncreasing: the one along
  // which first's mean - second's must grow (each selector picks one cell per value of it).
  std::string along;
  double threshold = 0.0;  // Ratio, Difference: the value must be at least this ...
  bool strict = false;     // ... or more than it ("more-than" instead of "at-least")
  bool separated = false;  // the compared cells' 95% intervals must not overlap
};

struct StudySpec {
  std::string name;
  std::string claim;
  std::string paper;
  std::string file;               // where it was read from ("" when parsed from memory)
  nlohmann::json document;        // the file's object, kept in the study directory to compare on resume
  nlohmann::json base = nlohmann::json::object();
  std::vector<std::string> gridKeys;  // the options that vary across cells, in the order given
  std::vector<StudyCell> cells;
  std::vector<int> seeds;
  std::vector<StudyCheck> checks;

  std::size_t runCount() const { return cells.size() * seeds.size(); }
};

struct StudyParseOptions {
  // Settings (key, text) over every cell, as the command line's --set, --threads and --device give them.
  std::vector<std::pair<std::string, std::string>> extraSettings;
  // Check each cell's run against this machine (a CUDA device for "device": "cuda", ...). Off to read
  // back a study that ran elsewhere: its keys and values are still checked.
  bool validateRuns = true;
};

// Parses and checks a study document: every key and value, the checks (metric names, selectors that
// pick one cell each), and every cell's run options through the run option table (so a bad option
// fails before any training). `source` names the document in messages. Throws ConfigError naming the
// source and the field.
StudySpec parseStudySpec(const nlohmann::json& document, const std::string& source, const StudyParseOptions& options = {});
// Reads a study file (DataError/ConfigError naming the file).
StudySpec readStudySpec(const std::string& path, const StudyParseOptions& options = {});

// The cells a selector ({"optimizer": "sam", "rho": 0.3}) picks: those whose options give every key
// its value (numbers compared as numbers).
std::vector<std::size_t> studyCellsMatching(const StudySpec& spec, const nlohmann::json& selector);
// The numeric values the cells give a check's `along` option, ascending.
std::vector<double> studyCheckAlongValues(const StudySpec& spec, const StudyCheck& check);

// One run of a study: a cell with a seed.
struct StudyRunSlot {
  std::size_t cellIndex = 0;
  int seed = 0;
  std::string directory;  // absolute
  std::string name;       // its name in the store
};

// WORKSPACE/studies/<name>
std::string studyDirectory(const std::string& workspace, const std::string& studyName);
// Every run of the study, cell by cell, seeds within a cell.
std::vector<StudyRunSlot> studyRunSlots(const StudySpec& spec, const std::string& workspace);

// Where a run directory sits in a study, read back from the layout studyRunSlots gives it
// (.../studies/<study>/runs/<cell directory>-seed<S>): how the app finds the runs of one cell among
// the runs it lists, without the study file.
struct StudyRunPlace {
  std::string study;
  std::string cellDirectory;  // StudyCell::directoryName
  int seed = 0;
};
// nullopt for a directory outside that layout.
std::optional<StudyRunPlace> studyRunPlace(const std::string& runDirectory);

// How far a run of a study got, from its directory.
enum class StudyRunState {
  Pending,  // never started, or stopped before its first checkpoint: starts (again) from scratch
  Partial,  // stopped after a checkpoint (or finished with its last analysis unfinished): resumes
  Done,     // finished with its last analysis complete, or diverged: never run again
};
StudyRunState studyRunState(const std::string& runDirectory);

// The run of `slot`: the study's base, the cell's settings and the seed, in `workspace`. Extra settings
// (key, text), such as the command line's --threads, apply over all of them.
RunSpec studyRunSpec(const StudySpec& spec, const StudyRunSlot& slot, const std::string& workspace,
                     const std::vector<std::pair<std::string, std::string>>& extraSettings = {});

// Progress of a study, reported on the thread that runs it.
class StudyObserver {
 public:
  virtual ~StudyObserver() = default;
  // Before each run that trains (not the ones already done): its place among all runs.
  virtual void onRunStarting(std::size_t /*index*/, std::size_t /*total*/, const StudyRunSlot& /*slot*/, bool /*resuming*/) {}
  // After each run that trained, with how it ended.
  virtual void onRunEnded(std::size_t /*index*/, std::size_t /*total*/, const StudyRunSlot& /*slot*/, RunStatus /*status*/) {}
  // A training observer for each run (progress bars); may return null.
  virtual TrainingObserver* trainingObserver() { return nullptr; }
};

struct StudyOptions {
  std::string workspace;  // resolved (Workspace::resolve) by runStudy when empty
  bool resume = false;    // continue a study whose directory exists (else refused)
  std::vector<std::pair<std::string, std::string>> extraSettings;
  const std::atomic<bool>* cancel = nullptr;
  StudyObserver* observer = nullptr;
};

struct StudyOutcome {
  std::string workspace;
  std::string directory;      // the study's directory
  std::size_t total = 0;      // runs in the study
  std::size_t skipped = 0;    // runs already done when it started
  std::size_t trained = 0;    // runs trained (or resumed) to their end by this call
  bool cancelled = false;     // stopped by `cancel`; the run in flight keeps its checkpoints
};

// The study file a study was started from (kept in <directory>/launch.json, absolute); "" if unknown.
std::string studyLaunchFile(const std::string& studyDirectory);

// Whether the study may start as `options` ask: false when the workspace does not hold it yet (a new
// study), true when it does and may be resumed. Throws ConfigError for what runStudy refuses below
// (an existing study without `resume`, a changed study file, other --set overrides), so that the app
// can say so before it starts a worker.
bool checkStudyCanStart(const StudySpec& spec, const StudyOptions& options);

// Runs every run of the study that is not done, in order. Refuses (ConfigError naming the study) a
// study directory that exists unless resuming, a resume whose study file differs from the one the
// study was started with, a resume whose extra settings other than threads and device (--set) differ
// from those it was started with (kept in launch.json), and a study that another process is running
// (a lock on <directory>/lock). Writes the study file to <directory>/study.json before the first run,
// and where it came from to launch.json.
// A run that fails (an exception) stops the study: the exception propagates, naming the run.
StudyOutcome runStudy(const StudySpec& spec, const StudyOptions& options);

}  // namespace samscape

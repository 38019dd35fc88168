#pragma once
// The runs of a window: a queue of training runs, each on its own worker thread, as many side by side
// as `maxConcurrent` allows. Lives on the GUI thread; workers report through queued signals only.

#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <vector>

#include "gui/GuiRun.h"

class QThread;

namespace samscape::gui {

// The loss along the line from a pair's SGD solution (t = 0) to its SAM solution (t = 1).
struct PairInterpolation {
  std::vector<double> ts;
  std::vector<double> loss;
  std::vector<double> accuracy;
  // The trained quadratic Bezier curve between the same two solutions (mode connectivity), t in [0, 1].
  std::vector<double> bezierTs;
  std::vector<double> bezierLoss;
};

class RunController : public QObject {
  Q_OBJECT
 public:
  // Runs whose --out is not given go to `runsDirectory`/<time>-<name>.
  explicit RunController(QString runsDirectory, QObject* parent = nullptr);
  // Cancels whatever is in flight and waits for the workers (each stops within a step or a product).
  ~RunController() override;

  // A run without a name is named "run N", with the first N whose name is not taken; a new run whose
  // name is taken becomes "NAME (2)", "NAME (3)", ...
  int enqueue(RunSpec spec, int pairId = -1);
  // An SGD run and a SAM run of the same config: same seed, so the same initial weights, data order
  // and augmentation; one --directions file, so their loss slices share axes. Named "pair N SGD" and
  // "pair N SAM" with the first N (from the last one) whose names are not taken. Returns {sgd, sam}.
  std::pair<int, int> launchPair(const RunSpec& base);
  void cancel(int id);
  void cancelAll();
  // Queues the run again, continuing from its latest checkpoint in its own directory.
  bool resume(int id, QString* error = nullptr);
  // Forgets a run that is not in flight (its files stay unless the caller removes them).
  bool remove(int id);
  bool anyInFlight() const;
  // Blocks until every worker thread has ended (after cancelAll, for a clean shutdown).
  void waitForWorkers();

  const GuiRun* run(int id) const;
  GuiRun* mutableRun(int id);
  std::vector<int> runIds() const;
  // The other run of a pair, or -1.
  int partnerOf(int id) const;

  void setMaxConcurrent(int runs);
  int maxConcurrent() const { return maxConcurrent_; }
  QString runsDirectory() const { return runsDirectory_; }

  // Set once both runs of the pair have finished and the interpolation between them has run.
  const PairInterpolation* pairInterpolation(int pairId) const;
  // Whether the pair's interpolation job has ended (with a curve or without one, when it failed: then
  // both runs' messages say why, in their rows, and runChanged is emitted for each).
  bool pairInterpolationDone(int pairId) const { return interpolationsDone_.count(pairId) > 0; }
  // Once both runs of a pair have finished, before the interpolation: the slice of the plane through
  // the initial weights, the SGD solution and the SAM solution, with both runs' paths from their start
  // drawn on it (planePaths). Null until it is read back (or when it failed: pairPlaneProblem says why).
  const RunAnalysis* pairPlane(int pairId) const;
  QString pairPlaneProblem(int pairId) const;
  // A run's own PCA plane (--slice-directions pca --trajectory on its latest checkpoint), computed on
  // request on a helper thread: returns false with `reason` when the run cannot have one yet (fewer
  // than three checkpoints, or still training); true when it is computed, computing or done.
  bool requestPcaPlane(int id, QString* reason = nullptr);
  const RunAnalysis* pcaPlane(int id) const;
  QString pcaPlaneProblem(int id) const;
  bool pcaPlaneComputing(int id) const { return pcaComputing_.count(id) > 0; }
  // Names the workspace holds beyond this window's runs (e.g. asked of its store): the names this
  // controller gives new runs avoid them as well as its own runs' names.
  void setNameInUse(std::function<bool(const QString&)> nameInUse) { nameInUse_ = std::move(nameInUse); }
  // Where new runs are recorded (empty: not recorded).
  void setWorkspaceDirectory(const QString& directory) { workspaceDirectory_ = directory; }

  // Adds a finished run found on disk (a run directory with run.json and metrics.csv), e.g. from the
  // workspace. Returns its id, or -1 with `error` set.
  int addExisting(const QString& runDirectory, QString* error = nullptr);

 Q_SIGNALS:
  void runAdded(int id);
  void runRemoved(int id);
  void runChanged(int id);             // status, progress
  void epochAdded(int id, int epoch);  // a new metrics row
  void analysisChanged(int id, int epoch);
  void runEnded(int id);
  void pairInterpolationReady(int pairId);
  void pairPlaneReady(int pairId);
  void pcaPlaneReady(int id);

 private:
  struct Worker {
    QThread* thread = nullptr;
    std::shared_ptr<std::atomic<bool>> cancel;
  };
  void startQueued();
  void startRun(GuiRun& run);
  // The pair plane, then the interpolation (startPairLine) on the same CPU, one after the other.
  void startPairInterpolation(int pairId);
  void startPairLine(int pairId);
  // A pair's SGD run and its other run (SAM); null where the pair has none.
  std::pair<const GuiRun*, const GuiRun*> pairRuns(int pairId) const;
  // An analysis on a helper thread that cancelAll stops; `done` runs on the GUI thread.
  void startAnalysisHelper(const QString& threadName, const QString& checkpoint, const AnalysisRequest& request,
                           const QString& outDir, std::function<void(const QString& directory, const QString& problem)> done);
  // A pair's failure that is neither run's own (its interpolation): shown in both runs' rows.
  void showPairProblem(int pairId, const QString& problem);
  // A run cancelled before it started, or refused at its start, removes the directory the window
  // claimed for it when that holds nothing (or only the refused run's run.lock).
  void releaseUnstartedDirectory(GuiRun& run);
  bool nameTaken(const QString& name) const;

  QString runsDirectory_;
  int maxConcurrent_ = 2;
  int nextId_ = 1;
  int nextPairId_ = 1;
  int nextRunNumber_ = 1;
  std::function<bool(const QString&)> nameInUse_;
  std::map<int, GuiRun> runs_;
  std::map<int, Worker> workers_;
  std::map<int, PairInterpolation> interpolations_;
  std::set<int> interpolationsDone_;
  std::map<int, RunAnalysis> pairPlanes_;
  std::map<int, QString> pairPlaneProblems_;
  std::map<int, RunAnalysis> pcaPlanes_;  // by run id
  std::map<int, QString> pcaProblems_;
  std::set<int> pcaComputing_;
  std::vector<QThread*> helperThreads_;
  // Set by cancelAll: the helpers (pair interpolations and their Bezier curves) stop within a point or a step.
  std::shared_ptr<std::atomic<bool>> helpersCancel_ = std::make_shared<std::atomic<bool>>(false);
  QString workspaceDirectory_;
};

}  // namespace samscape::gui

#include "gui/RunController.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QCoreApplication>
#include <QFileInfo>
#include <QElapsedTimer>
#include <QRegularExpression>
#include <QThread>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/train/CheckpointFiles.h"
#include "core/train/RunDirectory.h"
#include "gui/TrainingWorker.h"

namespace samscape::gui {
namespace {

constexpr qint64 kProgressRedrawMs = 250;

}  // namespace

QString GuiRun::optimizerLabel() const {
  const auto& o = spec.config.optimizer;
  QString label = QString::fromStdString(o.kind).toUpper();
  if (o.sharpnessAware()) {
    label += QString(" rho=%1").arg(o.effectiveRho());
    if (o.m > 0) label += QString(" m=%1").arg(o.m);
  }
  return label;
}

int GuiRun::epochsDone() const {
  int done = 0;
  for (const EpochMetrics& metrics : epochs) done = std::max(done, metrics.epoch);
  return done;
}

double GuiRun::progress() const {
  if (status == RunStatus::Finished) return 1.0;
  const double steps = totalSteps > 0 ? static_cast<double>(globalStep) / static_cast<double>(totalSteps) : 0.0;
  const double epochs =
      epochsPlanned() > 0 ? static_cast<double>(epochsDone()) / static_cast<double>(epochsPlanned()) : 0.0;
  return std::clamp(std::max(steps, epochs), 0.0, 1.0);
}

double GuiRun::etaSeconds() const {
  if (globalStep <= 0 || totalSteps <= 0 || elapsedSeconds <= 0.0) return -1.0;
  return elapsedSeconds / static_cast<double>(globalStep) * static_cast<double>(totalSteps - globalStep);
}

RunController::RunController(QString runsDirectory, QObject* parent)
    : QObject(parent), runsDirectory_(std::move(runsDirectory)) {
  qRegisterMetaType<samscape::EpochMetrics>();
  qRegisterMetaType<samscape::TrainingBegin>();
  qRegisterMetaType<samscape::StepProgress>();
  qRegisterMetaType<samscape::SliceGrid>();
  qRegisterMetaType<samscape::gui::RunAnalysis>();
  qRegisterMetaType<samscape::AnalysisCost>();
  qRegisterMetaType<samscape::RunStatus>();
}

RunController::~RunController() {
  cancelAll();
  waitForWorkers();
}

bool RunController::nameTaken(const QString& name) const {
  if (std::any_of(runs_.begin(), runs_.end(), [&](const auto& entry) { return entry.second.name() == name; })) {
    return true;
  }
  return nameInUse_ && nameInUse_(name);
}

int RunController::enqueue(RunSpec spec, int pairId) {
  GuiRun run;
  run.id = nextId_++;
  run.pairId = pairId;
  if (spec.name.empty()) {
    QString name;
    do {
      name = QString("run %1").arg(nextRunNumber_++);
    } while (nameTaken(name));
    spec.name = name.toStdString();
  } else if (!spec.resuming() && nameTaken(QString::fromStdString(spec.name))) {
    // A name the workspace already holds gets the first free number: "SGD cnn (2)".
    const QString given = QString::fromStdString(spec.name);
    QString name;
    for (int copy = 2; nameTaken(name = QString("%1 (%2)").arg(given).arg(copy)); ++copy) {
    }
    spec.name = name.toStdString();
  }
  if (spec.config.outDir.empty() && !spec.resuming()) {
    QString slug = QString::fromStdString(spec.name).toLower();
    slug.replace(QRegularExpression("[^a-z0-9]+"), "-");
    const QString stamp = QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
    // Claimed now (an atomic mkdir, the next free suffix when taken): another window or a
    // samscape-cli run into the same workspace in the same second gets a directory of its own.
    spec.config.outDir = claimRunDirectory(runsDirectory_.toStdString(), (stamp + "-" + slug).toStdString());
    run.claimedDirectory = true;
  }
  run.spec = std::move(spec);
  run.totalSteps = 0;
  const int id = run.id;
  runs_.emplace(id, std::move(run));
  Q_EMIT runAdded(id);
  startQueued();
  return id;
}

std::pair<int, int> RunController::launchPair(const RunSpec& base) {
  // Pair numbers go up within a window; one whose names the workspace already holds (runs of an
  // earlier session, or of samscape-cli) is skipped, so that every run's name stays unique.
  const auto pairName = [](int number, const char* optimizer) { return QString("pair %1 %2").arg(number).arg(optimizer); };
  int pairId = nextPairId_++;
  while (nameTaken(pairName(pairId, "SGD")) || nameTaken(pairName(pairId, "SAM"))) pairId = nextPairId_++;
  const QString stamp = QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss");
  const QString prefix = QDir(runsDirectory_).filePath(stamp + QString("-pair%1").arg(pairId));
  RunSpec sgd = base;
  RunSpec sam = base;
  sgd.config.optimizer.kind = "sgd";
  sam.config.optimizer.kind = "sam";
  sgd.config.outDir = claimRunDirectory(runsDirectory_.toStdString(), QFileInfo(prefix + "-sgd").fileName().toStdString());
  sam.config.outDir = claimRunDirectory(runsDirectory_.toStdString(), QFileInfo(prefix + "-sam").fileName().toStdString());
  sgd.name = pairName(pairId, "SGD").toStdString();
  sam.name = pairName(pairId, "SAM").toStdString();
  if (base.analysis.directionsFile.empty()) {
    const std::string directions = (prefix + "-directions.bin").toStdString();
    for (RunSpec* spec : {&sgd, &sam}) {
      spec->analysis.directionsFile = directions;
      // Recorded in run.json too, so that either run resumed later slices along the pair's axes.
      if (spec->analyzeEvery > 0) spec->analysisFlags["directions"] = directions;
    }
  }
  const int first = enqueue(sgd, pairId);
  const int second = enqueue(sam, pairId);
  for (int id : {first, second}) {
    if (GuiRun* r = mutableRun(id)) r->claimedDirectory = true;
  }
  return {first, second};
}

void RunController::setMaxConcurrent(int runs) {
  maxConcurrent_ = std::max(1, runs);
  startQueued();
}

void RunController::startQueued() {
  for (auto& [id, run] : runs_) {
    if (static_cast<int>(workers_.size()) >= maxConcurrent_) return;
    if (run.status == RunStatus::Queued && workers_.count(id) == 0) startRun(run);
  }
}

void RunController::startRun(GuiRun& run) {
  const int id = run.id;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Side-by-side runs share the cores rather than oversubscribe them.
  const int threads = run.spec.config.threads > 0 ? run.spec.config.threads : std::max(1, cores / maxConcurrent_);
  Worker worker;
  worker.cancel = std::make_shared<std::atomic<bool>>(false);
  worker.thread = new QThread(this);
  worker.thread->setObjectName(QString("samscape-run-%1").arg(id));
  RunSpec spec = run.spec;
  spec.config.threads = threads;
  spec.workspace = workspaceDirectory_.toStdString();
  auto* trainer = new TrainingWorker(spec, worker.cancel);
  trainer->moveToThread(worker.thread);
  connect(worker.thread, &QThread::started, trainer, &TrainingWorker::run);
  connect(worker.thread, &QThread::finished, trainer, &QObject::deleteLater);

  // Every connection below is queued: the worker's signals arrive on this (GUI) thread.
  const auto started = std::make_shared<QDateTime>(QDateTime::currentDateTime());
  connect(trainer, &TrainingWorker::begun, this, [this, id](const TrainingBegin& begin) {
    if (GuiRun* r = mutableRun(id)) {
      r->totalSteps = static_cast<std::int64_t>(begin.epochs) * begin.stepsPerEpoch;
      for (const auto& metrics : begin.resumedEpochs) {
        if (std::none_of(r->epochs.begin(), r->epochs.end(), [&](const EpochMetrics& m) { return m.epoch == metrics.epoch; })) {
          r->epochs.push_back(metrics);
          r->epochEndSteps.push_back(static_cast<std::int64_t>(metrics.epoch) * begin.stepsPerEpoch);
          r->epochEndSeconds.push_back(0.0);
        }
      }
      Q_EMIT runChanged(id);
    }
  }, Qt::QueuedConnection);
  // Steps come tens of times a second; the table's progress bar and ETA redraw a few times a second
  // (each redraw of the window is costly under software OpenGL), and at the last step.
  const auto sinceProgressShown = std::make_shared<QElapsedTimer>();
  connect(trainer, &TrainingWorker::stepped, this, [this, id, started, sinceProgressShown](const StepProgress& step) {
    if (GuiRun* r = mutableRun(id)) {
      r->globalStep = step.globalStep;
      r->totalSteps = step.totalSteps;
      r->elapsedSeconds = static_cast<double>(started->msecsTo(QDateTime::currentDateTime())) / 1000.0;
      if (!sinceProgressShown->isValid() || sinceProgressShown->elapsed() >= kProgressRedrawMs ||
          step.globalStep == step.totalSteps) {
        sinceProgressShown->start();
        Q_EMIT runChanged(id);
      }
    }
  }, Qt::QueuedConnection);
  connect(trainer, &TrainingWorker::epochEnded, this, [this, id, started](const EpochMetrics& metrics) {
    if (GuiRun* r = mutableRun(id)) {
      r->epochs.push_back(metrics);
      r->epochEndSteps.push_back(r->globalStep);
      r->epochEndSeconds.push_back(static_cast<double>(started->msecsTo(QDateTime::currentDateTime())) / 1000.0);
      Q_EMIT epochAdded(id, metrics.epoch);
      Q_EMIT runChanged(id);
    }
  }, Qt::QueuedConnection);
  connect(trainer, &TrainingWorker::sliceRefined, this, [this, id](int epoch, const SliceGrid& grid) {
    if (GuiRun* r = mutableRun(id)) {
      RunAnalysis& analysis = r->analyses[epoch];
      analysis.epoch = epoch;
      analysis.slice = grid;
      Q_EMIT analysisChanged(id, epoch);
    }
  }, Qt::QueuedConnection);
  connect(trainer, &TrainingWorker::analysisReady, this, [this, id](const RunAnalysis& analysis) {
    if (GuiRun* r = mutableRun(id)) {
      r->analyses[analysis.epoch] = analysis;
      // An analysis directory that cannot be read back shows in the run's row (its tooltip).
      if (!analysis.problem.isEmpty()) {
        r->message = analysis.problem;
        Q_EMIT runChanged(id);
      }
      Q_EMIT analysisChanged(id, analysis.epoch);
    }
  }, Qt::QueuedConnection);
  connect(trainer, &TrainingWorker::analysisCostReported, this, [this, id](const AnalysisCost& cost) {
    if (GuiRun* r = mutableRun(id)) {
      // A resumed run reports its epochs from where it resumed: those entries are replaced.
      auto& costs = r->analysisCosts;
      while (!costs.empty() && costs.back().epoch >= cost.epoch) costs.pop_back();
      costs.push_back(cost);
      Q_EMIT runChanged(id);
    }
  }, Qt::QueuedConnection);
  connect(trainer, &TrainingWorker::ended, this, [this, id](RunStatus status, const QString& message) {
    if (GuiRun* r = mutableRun(id)) {
      r->status = status;
      r->message = message;
    }
    auto found = workers_.find(id);
    if (found != workers_.end()) {
      found->second.thread->quit();
      found->second.thread->wait();
      found->second.thread->deleteLater();
      workers_.erase(found);
    }
    // A run refused at its start (a size the machine cannot hold, say) wrote nothing: the directory
    // the window claimed for it goes again. (The worker's thread has ended: its run.lock is released.)
    if (GuiRun* r = mutableRun(id); r != nullptr && status != RunStatus::Finished) releaseUnstartedDirectory(*r);
    Q_EMIT runChanged(id);
    Q_EMIT runEnded(id);
    const GuiRun* ended = this->run(id);
    const int partner = partnerOf(id);
    if (ended != nullptr && partner >= 0 && ended->status == RunStatus::Finished && this->run(partner)->status == RunStatus::Finished) {
      startPairInterpolation(ended->pairId);
    }
    startQueued();
  }, Qt::QueuedConnection);

  run.status = RunStatus::Running;
  run.message.clear();
  workers_.emplace(id, worker);
  worker.thread->start();
  Q_EMIT runChanged(id);
}

const PairInterpolation* RunController::pairInterpolation(int pairId) const {
  const auto found = interpolations_.find(pairId);
  return found == interpolations_.end() ? nullptr : &found->second;
}

const RunAnalysis* RunController::pairPlane(int pairId) const {
  const auto found = pairPlanes_.find(pairId);
  return found == pairPlanes_.end() ? nullptr : &found->second;
}

QString RunController::pairPlaneProblem(int pairId) const {
  const auto found = pairPlaneProblems_.find(pairId);
  return found == pairPlaneProblems_.end() ? QString() : found->second;
}

const RunAnalysis* RunController::pcaPlane(int id) const {
  const auto found = pcaPlanes_.find(id);
  return found == pcaPlanes_.end() ? nullptr : &found->second;
}

QString RunController::pcaPlaneProblem(int id) const {
  const auto found = pcaProblems_.find(id);
  return found == pcaProblems_.end() ? QString() : found->second;
}

void RunController::startAnalysisHelper(const QString& threadName, const QString& checkpoint,
                                        const AnalysisRequest& request, const QString& outDir,
                                        std::function<void(const QString&, const QString&)> done) {
  auto* thread = new QThread(this);
  thread->setObjectName(threadName);
  auto* worker = new AnalysisWorker(checkpoint, request, outDir, helpersCancel_);
  worker->moveToThread(thread);
  connect(thread, &QThread::started, worker, &AnalysisWorker::run);
  connect(thread, &QThread::finished, worker, &QObject::deleteLater);
  connect(worker, &AnalysisWorker::finished, this,
          [thread, done = std::move(done)](const QString& directory, const QString& problem) {
            thread->quit();
            done(directory, problem);
          }, Qt::QueuedConnection);
  helperThreads_.push_back(thread);
  thread->start();
}

// The slice that shows both training paths: random directions are nearly orthogonal to a path (the
// default pair's SAM path spans 0.006 of a [-1, 1] slice along them), while the plane through init,
// SGD and SAM holds both solutions and the start they share (same seed), so each path runs from one
// corner of the triangle to another.
std::pair<const GuiRun*, const GuiRun*> RunController::pairRuns(int pairId) const {
  const GuiRun* sgd = nullptr;
  const GuiRun* sam = nullptr;
  for (const auto& [id, candidate] : runs_) {
    if (candidate.pairId != pairId) continue;
    (candidate.spec.config.optimizer.kind == "sgd" ? sgd : sam) = &candidate;
  }
  return {sgd, sam};
}

void RunController::startPairInterpolation(int pairId) {
  const auto [sgd, sam] = pairRuns(pairId);
  if (sgd == nullptr || sam == nullptr) return;
  const QString sgdDir = QString::fromStdString(sgd->spec.config.outDir);
  const QString samDir = QString::fromStdString(sam->spec.config.outDir);
  AnalysisRequest plane;
  plane.subset = sgd->spec.analysis.subset;
  plane.batchSize = sgd->spec.config.evalBatchSize;
  plane.slice = true;
  plane.trajectory = true;
  plane.grid = sgd->spec.analysis.slice ? sgd->spec.analysis.grid : 13;
  // Around the triangle init (-1/3, -1/3), SGD (2/3, -1/3), SAM (-1/3, 2/3) with a margin: [-1, 1]
  // would reach far behind init, where the loss (tens of times init's) takes the whole colour scale.
  plane.rangeMin = -0.6;
  plane.rangeMax = 1.0;
  plane.slicePlane = (sgdDir + "/checkpoints/initial," + sgdDir + "," + samDir).toStdString();
  startAnalysisHelper(QString("samscape-plane-%1").arg(pairId), sgdDir, plane, sgdDir + "/analysis/pair-plane",
                      [this, pairId](const QString& directory, const QString& workerProblem) {
    QString problem = workerProblem;
    if (problem.isEmpty() && !helpersCancel_->load()) {
      RunAnalysis analysis = readRunAnalysis(0, directory);
      if (!analysis.problem.isEmpty()) {
        problem = analysis.problem;
      } else {
        pairPlanes_[pairId] = std::move(analysis);
      }
    }
    if (!problem.isEmpty()) {
      pairPlaneProblems_[pairId] = problem;
      showPairProblem(pairId, "the pair plane (init, SGD, SAM) failed: " + problem);
    }
    Q_EMIT pairPlaneReady(pairId);
    if (!helpersCancel_->load()) startPairLine(pairId);
  });
}

bool RunController::requestPcaPlane(int id, QString* reason) {
  const GuiRun* r = run(id);
  auto refuse = [&](const QString& why) {
    if (reason != nullptr) *reason = why;
    return false;
  };
  if (r == nullptr) return refuse("no such run");
  if (pcaPlanes_.count(id) > 0 || pcaComputing_.count(id) > 0) return true;
  if (r->inFlight()) return refuse(r->name() + " is still training: its PCA plane comes from its finished path");
  const QString directory = QString::fromStdString(r->spec.config.outDir);
  const std::size_t checkpoints = completeCheckpoints((directory + "/checkpoints").toStdString()).size();
  if (checkpoints < 3) {
    return refuse(QString("%1 has %2 checkpoints: a PCA plane needs three").arg(r->name()).arg(checkpoints));
  }
  AnalysisRequest request;
  request.subset = r->spec.analysis.subset;
  request.batchSize = r->spec.config.evalBatchSize;
  request.slice = true;
  request.sliceDirections = "pca";
  request.trajectory = true;
  request.grid = r->spec.analysis.slice ? r->spec.analysis.grid : 13;
  pcaComputing_.insert(id);
  pcaProblems_.erase(id);
  startAnalysisHelper(QString("samscape-pca-%1").arg(id), directory, request, directory + "/analysis/pca-plane",
                      [this, id](const QString& out, const QString& workerProblem) {
    pcaComputing_.erase(id);
    QString problem = workerProblem;
    if (problem.isEmpty() && !helpersCancel_->load()) {
      RunAnalysis analysis = readRunAnalysis(0, out);
      if (analysis.problem.isEmpty() && analysis.slice.xs.empty()) analysis.problem = "the PCA slice was skipped";
      if (!analysis.problem.isEmpty()) {
        problem = analysis.problem;
      } else {
        pcaPlanes_[id] = std::move(analysis);
      }
    }
    if (!problem.isEmpty()) pcaProblems_[id] = problem;
    Q_EMIT pcaPlaneReady(id);
  });
  return true;
}

void RunController::startPairLine(int pairId) {
  const auto [sgd, sam] = pairRuns(pairId);
  if (sgd == nullptr || sam == nullptr) return;
  const QString sgdDir = QString::fromStdString(sgd->spec.config.outDir);
  AnalysisRequest line;
  line.subset = sgd->spec.analysis.subset;
  line.batchSize = sgd->spec.config.evalBatchSize;
  line.interpolate = sam->spec.config.outDir;
  // And the mode-connecting curve beside the straight line (Garipov et al. 2018).
  line.bezier = true;
  startAnalysisHelper(QString("samscape-pair-%1").arg(pairId), sgdDir, line, sgdDir + "/analysis/pair-interpolation",
                      [this, pairId](const QString& directory, const QString& workerProblem) {
    PairInterpolation curve;
    QString problem = workerProblem;
    try {
      const InterpolationResult result = readInterpolationCsv((directory + "/interpolation.csv").toStdString());
      curve.ts = result.ts;
      curve.loss = result.loss;
      curve.accuracy = result.accuracy;
      if (QFile::exists(directory + "/bezier.csv")) {
        const InterpolationResult bezier = readInterpolationCsv((directory + "/bezier.csv").toStdString());
        curve.bezierTs = bezier.ts;
        curve.bezierLoss = bezier.loss;
      }
    } catch (const std::exception& error) {
      // No curve: the chart stays empty. The worker's own failure is the cause when it has one; a
      // cancelled worker (the window closing) wrote nothing, which is no failure.
      if (problem.isEmpty() && !helpersCancel_->load()) problem = QString::fromUtf8(error.what());
    }
    if (!curve.ts.empty()) interpolations_[pairId] = curve;
    interpolationsDone_.insert(pairId);
    if (!problem.isEmpty()) showPairProblem(pairId, "the interpolation between the pair's solutions failed: " + problem);
    Q_EMIT pairInterpolationReady(pairId);
  });
}

void RunController::showPairProblem(int pairId, const QString& problem) {
  for (auto& [id, run] : runs_) {
    if (run.pairId != pairId) continue;
    // Both runs finished; a message they already carry (an analysis that cannot be read back) stays.
    run.message = run.message.isEmpty() ? problem : run.message + "; " + problem;
    Q_EMIT runChanged(id);
  }
}

void RunController::cancel(int id) {
  auto found = workers_.find(id);
  if (found != workers_.end()) {
    found->second.cancel->store(true);
    return;
  }
  GuiRun* r = mutableRun(id);
  if (r != nullptr && r->status == RunStatus::Queued) {
    r->status = RunStatus::Cancelled;
    releaseUnstartedDirectory(*r);
    Q_EMIT runChanged(id);
    Q_EMIT runEnded(id);
  }
}

void RunController::releaseUnstartedDirectory(GuiRun& run) {
  if (!run.claimedDirectory || run.spec.config.outDir.empty()) return;
  // Only a directory that holds nothing, or nothing but the lock of a run refused at its start, goes:
  // nothing a run or a user wrote there is ever deleted (rmdir removes only an empty directory).
  const QDir directory(QString::fromStdString(run.spec.config.outDir));
  if (directory.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System) ==
      QStringList{"run.lock"}) {
    QFile::remove(directory.filePath("run.lock"));
  }
  if (QDir().rmdir(directory.path())) run.claimedDirectory = false;
}

void RunController::cancelAll() {
  for (auto& [id, run] : runs_) {
    if (run.status == RunStatus::Queued) {
      run.status = RunStatus::Cancelled;
      if (workers_.count(id) == 0) releaseUnstartedDirectory(run);
    }
  }
  for (auto& [id, worker] : workers_) worker.cancel->store(true);
  helpersCancel_->store(true);
}

bool RunController::resume(int id, QString* error) {
  GuiRun* r = mutableRun(id);
  if (r == nullptr || r->inFlight()) return false;
  const QString directory = QString::fromStdString(r->spec.config.outDir);
  if (!QFileInfo::exists(directory + "/checkpoints/latest")) {
    if (error != nullptr) *error = directory + ": no checkpoint to resume from";
    return false;
  }
  if (r->status == RunStatus::Finished) {
    if (error != nullptr) *error = r->name() + " has finished: nothing to resume";
    return false;
  }
  r->spec.resumeDirectory = directory.toStdString();
  r->status = RunStatus::Queued;
  r->message.clear();
  // The resumed run reports its finished epochs again in TrainingBegin.
  r->epochs.clear();
  r->epochEndSteps.clear();
  r->epochEndSeconds.clear();
  Q_EMIT runChanged(id);
  startQueued();
  return true;
}

bool RunController::remove(int id) {
  GuiRun* r = mutableRun(id);
  if (r == nullptr || r->inFlight() || workers_.count(id) > 0) return false;
  runs_.erase(id);
  Q_EMIT runRemoved(id);
  return true;
}

bool RunController::anyInFlight() const {
  return !workers_.empty() ||
         std::any_of(runs_.begin(), runs_.end(), [](const auto& entry) { return entry.second.status == RunStatus::Queued; });
}

void RunController::waitForWorkers() {
  for (auto& [id, worker] : workers_) {
    worker.thread->quit();
    worker.thread->wait();
  }
  for (QThread* thread : helperThreads_) {
    thread->quit();
    thread->wait();
  }
  // Deliver the workers' last queued signals (their "ended" reports) before returning.
  QCoreApplication::sendPostedEvents(this);
}

const GuiRun* RunController::run(int id) const {
  const auto found = runs_.find(id);
  return found == runs_.end() ? nullptr : &found->second;
}

GuiRun* RunController::mutableRun(int id) {
  auto found = runs_.find(id);
  return found == runs_.end() ? nullptr : &found->second;
}

std::vector<int> RunController::runIds() const {
  std::vector<int> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  return ids;
}

int RunController::partnerOf(int id) const {
  const GuiRun* r = run(id);
  if (r == nullptr || r->pairId < 0) return -1;
  for (const auto& [other, candidate] : runs_) {
    if (other != id && candidate.pairId == r->pairId) return other;
  }
  return -1;
}

int RunController::addExisting(const QString& runDirectory, QString* error) {
  const std::string base = runDirectory.toStdString();
  GuiRun entry;
  RunJson saved;
  try {
    saved = readRunJson(base);
  } catch (const std::exception& readError) {
    if (error != nullptr) *error = QString::fromUtf8(readError.what());
    return -1;
  }
  // No metrics.csv yet: the run stopped before its start was written. A damaged one leaves the run
  // listed, without curves, and says why in its row.
  if (QFileInfo::exists(runDirectory + "/metrics.csv")) {
    try {
      entry.epochs = readMetricsCsv(base + "/metrics.csv");
    } catch (const std::exception& readError) {
      entry.message = QString::fromUtf8(readError.what());
    }
  }
  entry.id = nextId_++;
  entry.spec.config = saved.config;
  entry.spec.config.outDir = base;
  entry.spec.name = QDir(runDirectory).dirName().toStdString();
  // The analyses it was launched with (run.json's "analysis"), so that resuming it analyses as before,
  // resolved exactly as `samscape-cli train --resume` resolves them. That validates the whole run,
  // which may fail here without failing the run's display (a CUDA run opened on a machine without
  // CUDA): the run is shown, and resumes unanalysed.
  if (!saved.analysisFlags.empty()) {
    RunSources sources;
    sources.resumeDirectory = base;
    sources.workspace = workspaceDirectory_.toStdString();
    try {
      const RunSpec resumed = resolveRunSpec(sources);
      entry.spec.analyzeEvery = resumed.analyzeEvery;
      entry.spec.analysisBudget = resumed.analysisBudget;
      entry.spec.analysis = resumed.analysis;
      entry.spec.analysisFlags = resumed.analysisFlags;
    } catch (const std::exception& analysisError) {
      entry.message = QString("its analyses cannot be resumed here: ") + QString::fromUtf8(analysisError.what());
    }
  }
  entry.status = saved.status;
  if (entry.status == RunStatus::Running) entry.status = RunStatus::Interrupted;
  double seconds = 0.0;
  for (const EpochMetrics& metrics : entry.epochs) {
    seconds += metrics.seconds;
    entry.epochEndSeconds.push_back(seconds);
    entry.epochEndSteps.push_back(static_cast<std::int64_t>(metrics.epoch) * saved.stepsPerEpoch);
  }
  QDir analysisDir(runDirectory + "/analysis");
  for (const QString& name : analysisDir.entryList({"epoch-*"}, QDir::Dirs, QDir::Name)) {
    const int epoch = name.mid(6).toInt();
    entry.analyses[epoch] = readRunAnalysis(epoch, analysisDir.filePath(name));
    const QString& problem = entry.analyses[epoch].problem;
    if (!problem.isEmpty() && entry.message.isEmpty()) entry.message = problem;  // the first problem found
  }
  // What its analyses cost (none recorded before the budget existed); a damaged file costs the run
  // only that column.
  try {
    entry.analysisCosts = readAnalysisBudgetFile((runDirectory + "/analysis/budget.json").toStdString());
  } catch (const std::exception&) {
    entry.analysisCosts.clear();
  }
  const int id = entry.id;
  runs_.emplace(id, std::move(entry));
  Q_EMIT runAdded(id);
  return id;
}

}  // namespace samscape::gui

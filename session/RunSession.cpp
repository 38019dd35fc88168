#include "session/RunSession.h"

#include <filesystem>
#include <vector>

#include "core/Error.h"
#include "core/store/RunStore.h"
#include "core/store/StoreRecorder.h"
#include "core/store/Workspace.h"
#include "core/train/CheckpointFiles.h"
#include "core/train/RunDirectory.h"
#include "core/train/Trainer.h"
#include "session/AnalysisRecords.h"

namespace samscape {

namespace {

// Between the periodic analyses and the caller's observer: records each finished analysis in the store
// (from the results in memory) before the caller sees it, and passes everything else on.
class RecordingAnalysisObserver : public AnalysisObserver {
 public:
  RecordingAnalysisObserver(AnalysisObserver* next, const std::unique_ptr<RunStore>& store,
                            const std::unique_ptr<StoreRecorder>& recorder)
      : next_(next), store_(store), recorder_(recorder) {}
  void onStageBegin(const std::string& stage) override {
    if (next_ != nullptr) next_->onStageBegin(stage);
  }
  void onStageEnd(const std::string& stage, const std::string& summary) override {
    if (next_ != nullptr) next_->onStageEnd(stage, summary);
  }
  void onSliceLevel(const SliceGrid& grid) override {
    if (next_ != nullptr) next_->onSliceLevel(grid);
  }
  void onLongWork(const WorkEstimate& estimate) override {
    if (next_ != nullptr) next_->onLongWork(estimate);
  }
  void onEpochAnalysis(int epoch, const AnalysisResults& results) override {
    if (store_ && recorder_) store_->recordAnalyses(analysisRecords(recorder_->runId(), epoch, results));
    if (next_ != nullptr) next_->onEpochAnalysis(epoch, results);
  }
  void onAnalysisCost(const AnalysisCost& cost) override {
    if (next_ != nullptr) next_->onAnalysisCost(cost);
  }

 private:
  AnalysisObserver* next_;
  const std::unique_ptr<RunStore>& store_;
  const std::unique_ptr<StoreRecorder>& recorder_;
};

}  // namespace

struct RunSession::Impl {
  RunSpec spec;
  RunSessionOptions options;
  std::unique_ptr<RunDirectoryWriter> directory;
  std::unique_ptr<Trainer> trainer;
  std::unique_ptr<RunStore> store;
  std::unique_ptr<StoreRecorder> recorder;
  std::unique_ptr<PeriodicAnalysis> analyses;
  std::vector<TrainingObserver*> observers;
  std::unique_ptr<RecordingAnalysisObserver> analysisObserver;
  std::string claimedDirectory;  // the run directory this session claimed or created; empty: none
  JobShape shape;
  std::vector<WorkEstimate> longWork;

  bool writesFiles() const { return options.distributed.rank == 0; }
};

RunSession::RunSession(const RunSpec& spec, RunSessionOptions options) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_;
  s.spec = spec;
  s.options = options;
  const TrainConfig& config = s.spec.config;
  const DistributedOptions& distributed = s.options.distributed;
  validateDistributedOptions(distributed);
  validateRunLayout(config, distributed);
  if (distributed.distributed() && s.spec.analyzeEvery > 0) {
    throw ConfigError("--analyze-every", std::to_string(s.spec.analyzeEvery),
                      "not yet in a multi-process job; analyze its checkpoints afterwards with samscape-cli analyze");
  }
  if (s.writesFiles() && s.spec.outDirIsDefault && !s.spec.resuming()) {
    // The default directory's name is a second and a model: claimed (or the next free suffix) now.
    const std::filesystem::path wanted(config.outDir);
    s.spec.config.outDir = claimRunDirectory(wanted.parent_path().string(), wanted.filename().string());
    s.claimedDirectory = config.outDir;
  }
  try {
    prepare();
  } catch (...) {
    // Nothing of the run was written: a directory claimed or created for it goes again (with its lock
    // file; remove() takes a directory only when empty, so nothing else is ever deleted).
    s.analyses.reset();
    s.trainer.reset();
    s.directory.reset();
    if (!s.claimedDirectory.empty()) {
      std::error_code ignored;
      std::filesystem::remove(std::filesystem::path(s.claimedDirectory) / "run.lock", ignored);
      std::filesystem::remove(s.claimedDirectory, ignored);  // only when empty
    }
    rethrowOutOfMemoryAs("the start of the run (loading the data and the model, measuring a pass)");
  }
}

void RunSession::prepare() {
  auto& s = *impl_;
  const TrainConfig& config = s.spec.config;
  const DistributedOptions& distributed = s.options.distributed;
  if (s.writesFiles()) {
    if (config.outDir.empty()) throw ConfigError("--out", "", "a run needs a run directory");
    // Refuses an occupied directory before any time goes into loading the data.
    s.directory = std::make_unique<RunDirectoryWriter>(config.outDir, config, s.spec.resuming());
    // An --out this run created is this run's to remove again if it is refused before writing.
    if (s.directory->createdDirectory()) s.claimedDirectory = config.outDir;
    s.directory->setAnalysisFlags(s.spec.analysisFlags.dump());
  }
  s.trainer = std::make_unique<Trainer>(config, distributed);
  if (s.spec.resuming()) s.trainer->resumeFrom(latestCheckpoint(config.outDir + "/checkpoints"));
  // Every size option against the machine before the first step (OptionCost.h): a batch that cannot
  // fit is refused now, and a long run says how long.
  s.shape = s.trainer->measureShape();
  s.longWork = checkOptionCosts(config, trainOptions(), s.shape);
  if (!s.writesFiles()) return;

  if (s.spec.analyzeEvery > 0) {
    // Before the store's record: a refused analysis size leaves no run behind.
    s.analysisObserver = std::make_unique<RecordingAnalysisObserver>(s.options.analysisObserver, s.store, s.recorder);
    s.analyses = std::make_unique<PeriodicAnalysis>(config, s.spec.analyzeEvery, s.spec.analysis, s.options.cancel,
                                                    s.analysisObserver.get(), s.spec.analysisBudget);
    for (WorkEstimate estimate : s.analyses->takeLongWork()) {
      estimate.what += estimate.what.empty() ? "each analysis" : ", each analysis";
      s.longWork.push_back(std::move(estimate));
    }
  }
  if (!s.spec.workspace.empty()) {
    s.store = std::make_unique<RunStore>(Workspace(s.spec.workspace));
    RunRecord record;
    record.name = s.spec.name.empty() ? std::filesystem::path(config.outDir).filename().string() : s.spec.name;
    record.tags = s.spec.tags;
    record.configJson = configToJson(config);
    record.versionsJson = versionsJson();
    record.device = config.devices.empty() ? config.device : config.devices;
    record.outDir = config.outDir;
    s.recorder = std::make_unique<StoreRecorder>(*s.store, record, s.spec.resuming());
  }
}

RunSession::~RunSession() = default;

void RunSession::addObserver(TrainingObserver* observer) { impl_->observers.push_back(observer); }

std::vector<AnalysisCost> RunSession::analysisCosts() const {
  return impl_->analyses ? impl_->analyses->costs() : std::vector<AnalysisCost>{};
}

TrainingResult RunSession::run() {
  auto& s = *impl_;
  std::vector<TrainingObserver*> observers = s.observers;
  if (s.directory) observers.push_back(s.directory.get());
  if (s.recorder) observers.push_back(s.recorder.get());
  if (s.analyses) observers.push_back(s.analyses.get());
  TrainingResult result;
  try {
    result = s.trainer->run(observers, s.options.cancel);
  } catch (const std::exception& error) {
    if (s.recorder) s.recorder->markFailed(error.what());
    if (s.directory) s.directory->markFailed(error.what());
    throw;
  }
  if (s.directory) s.trainer->saveModel(s.directory->modelPath());
  return result;
}

std::int64_t RunSession::runId() const { return impl_->recorder ? impl_->recorder->runId() : 0; }
const RunSpec& RunSession::spec() const { return impl_->spec; }
const std::vector<WorkEstimate>& RunSession::longWork() const { return impl_->longWork; }
const JobShape& RunSession::shape() const { return impl_->shape; }
bool RunSession::writesFiles() const { return impl_->writesFiles(); }

}  // namespace samscape

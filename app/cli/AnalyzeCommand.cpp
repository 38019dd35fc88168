#include "cli/AnalyzeCommand.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "analysis/AnalysisSession.h"
#include "cli/AnalysisLog.h"
#include "session/AnalysisRecords.h"
#include "cli/StoreCommands.h"
#include "cli/Interrupt.h"
#include "cli/ExitCodes.h"
#include "core/train/CheckpointFiles.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/store/Workspace.h"
#include "core/train/DistributedGroup.h"
#include "core/train/DistributedOptions.h"
#include "core/train/RunDirectory.h"
#include "core/train/SavedRun.h"

namespace samscape::cli {
namespace {

// A private directory for a rank's discarded copy of the results, removed with everything in it.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "samscape-rank-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw Error(pattern + ": cannot create a temporary directory");
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

AnalyzeCommand::AnalyzeCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("analyze", "Flatness analyses of a saved run or a TorchScript model");
  auto* app = command_;
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto* checkpoint = app->add_option("--checkpoint", checkpoint_,
                                     "A run directory (latest checkpoint), a checkpoint directory or a weights file");
  auto* modelFile = app->add_option("--model-file", modelFile_, "A TorchScript model (torch.jit.save)");
  checkpoint->excludes(modelFile);
  app->add_option("--dataset", dataset_, "fashion-mnist, mnist, cifar10 or cifar100 (default: the run's)");
  app->add_option("--data-dir", dataDir_, "Directory of the dataset files (default: the run's)");
  app->add_flag("--no-normalize", noNormalize_, "Pixels in [0,1] only (default: as the run trained)");
  app->add_option("--threads", threads_, "CPU threads (0: every core)")->capture_default_str();
  addOptionFlags(*app, analysisOptions(AnalysisCommand::Analyze), settings_);
  app->add_option("--out", outDir_, "Directory for analysis.json")->required();
  addWorkspaceOption(*app, workspaceDir_);
}

// The results go into the workspace's store under the run the weights come from (registered there
// first when the run predates the workspace); a bare --model-file has no run to file them under.
void AnalyzeCommand::recordInWorkspace(const AnalysisModel& model, const AnalysisResults& results) const {
  if (model.runDirectory.empty()) {
    std::cerr << "not recorded in the workspace: a --model-file analysis belongs to no run\n";
    return;
  }
  RunStore store(Workspace::resolve(workspaceDir_));
  std::int64_t runId = 0;
  if (const auto existing = store.findRunByOutDir(model.runDirectory)) {
    runId = existing->id;
  } else {
    RunRecord record;
    record.name = std::filesystem::path(model.runDirectory).filename().string();
    record.outDir = model.runDirectory;
    record.configJson = configToJson(model.run);
    record.device = model.run.device;
    record.status = RunStatus::Running;
    runId = store.createRun(record);
    // Its run.json says how it ended; one that cannot say is registered as interrupted.
    RunStatus status = RunStatus::Interrupted;
    try {
      status = readRunJson(model.runDirectory).status;
    } catch (const Error&) {
    }
    store.finishRun(runId, isFinalRunStatus(status) ? status : RunStatus::Interrupted, "", 0.0);
  }
  // Weights from runs/x/checkpoints/epoch-NNN/ belong to epoch NNN, checkpoints/initial/ to epoch 0; a
  // final model.pt to none.
  std::optional<int> epoch;
  const std::string folder = std::filesystem::path(model.weightsPath).parent_path().filename().string();
  if (folder.rfind("epoch-", 0) == 0) epoch = std::atoi(folder.c_str() + 6);
  if (folder == kInitialWeightsDirectory) epoch = 0;
  store.recordAnalyses(analysisRecords(runId, epoch, results));
  std::cout << "recorded under run " << runId << " in the workspace " << store.workspace().directory().string() << "\n";
}

namespace {

// The learning rate a run stepped with at the end of the epoch a checkpoint directory (epoch-NNN)
// holds, from the run's metrics.csv: the stability_edge stage's edge needs it. Nothing for other
// weights (a run's model.pt, checkpoints/initial) or a run whose metrics.csv does not have the epoch.
std::optional<double> checkpointLearningRate(const SavedModel& saved) {
  if (saved.runDirectory.empty()) return std::nullopt;
  const std::string name = std::filesystem::path(saved.weightsPath).parent_path().filename().string();
  int epoch = 0;
  char rest = 0;
  if (std::sscanf(name.c_str(), "epoch-%d%c", &epoch, &rest) != 1) return std::nullopt;
  const auto metrics = std::filesystem::path(saved.runDirectory) / "metrics.csv";
  if (!std::filesystem::is_regular_file(metrics)) return std::nullopt;
  try {
    for (const EpochMetrics& row : readMetricsCsv(metrics.string())) {
      if (row.epoch == epoch && row.learningRate > 0.0) return row.learningRate;
    }
  } catch (const DataError&) {
    // A damaged metrics.csv: the analysis still runs, without the edge.
  }
  return std::nullopt;
}

}  // namespace

int AnalyzeCommand::run() {
  if (checkpoint_.empty() && modelFile_.empty()) {
    throw ConfigError("--checkpoint", "", "give --checkpoint PATH or --model-file FILE");
  }
  AnalysisRequest request;
  applyOptionSettings(request, analysisOptions(AnalysisCommand::Analyze), settings_);
  request.subsetExplicit = optionGiven(settings_, "subset");
  validateAnalysisRequest(request, AnalysisCommand::Analyze);
  configureThreads(threads_);

  // The run's config supplies the model, the data, the normalization and the device it trained with.
  AnalysisModel model;
  std::optional<double> stepLearningRate;
  if (!checkpoint_.empty()) {
    const SavedModel saved = locateSavedModel(checkpoint_);
    stepLearningRate = checkpointLearningRate(saved);
    model.run = saved.config;
    model.weightsPath = saved.weightsPath;
    model.description = saved.description;
    model.runDirectory = saved.runDirectory;
  } else {
    model.run.model.modelFile = modelFile_;
    model.run.device = "cpu";
    model.description = modelFile_;
  }
  if (!dataset_.empty()) model.run.data.kind = parseDatasetName(dataset_);
  if (!dataDir_.empty()) model.run.data.dataDir = dataDir_;
  if (noNormalize_) model.run.normalize = false;

  AnalysisSession session(model, request);
  if (stepLearningRate) session.setStepLearningRate(*stepLearningRate);

  // One rank of `samscape-cli launch --nproc N -- analyze ...` (torchrun's environment): the ranks
  // share the work and compute the same results; rank 0 alone writes them and records them.
  const DistributedOptions distributed = distributedOptionsFromEnvironment();
  validateDistributedOptions(distributed);
  std::unique_ptr<DistributedGroup> group;
  std::string outDir = outDir_;
  std::optional<TemporaryDirectory> scratch;
  if (distributed.distributed()) {
    std::string device = request.device.empty() ? model.run.device : request.device;
    if (device.empty()) device = "cpu";
    if (device == "cuda") device = "cuda:" + std::to_string(distributed.localRank);
    group = std::make_unique<DistributedGroup>(distributed, torch::Device(device));
    session.setDistributedGroup(group.get());
    if (distributed.rank != 0) {
      scratch.emplace();
      outDir = scratch->path();
    }
  }
  AnalysisLog log;
  AnalysisResults outcome;
  {
    InterruptScope interrupt;
    outcome = session.analyze("", "", outDir, distributed.rank == 0 ? &log : nullptr, interrupt.flag());
  }
  if (distributed.rank != 0) return outcome.cancelled() ? kExitCancelled : kExitOk;
  std::cout << "results in " << outDir_ << "/analysis.json\n";
  recordInWorkspace(model, outcome);
  if (outcome.cancelled()) {
    std::cerr << "analysis cancelled; what had finished is in " << outDir_ << "/analysis.json (status \"cancelled\")\n";
    return kExitCancelled;
  }
  return kExitOk;
}

}  // namespace samscape::cli

#include "cli/AnalyzeCommand.h"

#include <iostream>

#include "analysis/AnalysisJob.h"
#include "cli/AnalysisLog.h"
#include "cli/Interrupt.h"
#include "cli/TrainCommand.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/train/SavedRun.h"

namespace samscape::cli {

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
  addAnalysisFlags(*app, flags_, AnalysisFlagSet::Analyze);
  app->add_option("--out", outDir_, "Directory for analysis.json")->required();
}

int AnalyzeCommand::run() {
  if (checkpoint_.empty() && modelFile_.empty()) {
    throw ConfigError("--checkpoint", "", "give --checkpoint PATH or --model-file FILE");
  }
  finishAnalysisFlags(*command_, flags_);
  configureThreads(threads_);

  // The run's config supplies the model, the data, the normalization and the device it trained with.
  AnalysisModel model;
  if (!checkpoint_.empty()) {
    const SavedModel saved = locateSavedModel(checkpoint_);
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

  AnalysisSession session(model, flags_.request);
  AnalysisLog log;
  AnalysisOutcome outcome;
  {
    InterruptScope interrupt;
    outcome = session.analyze("", "", outDir_, &log, interrupt.flag());
  }
  std::cout << "results in " << outDir_ << "/analysis.json\n";
  if (outcome.cancelled) {
    std::cerr << "analysis cancelled; what had finished is in " << outDir_ << "/analysis.json (status \"cancelled\")\n";
    return kExitCancelled;
  }
  return kExitOk;
}

}  // namespace samscape::cli

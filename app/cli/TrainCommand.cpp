#include "cli/TrainCommand.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <iostream>

#include "analysis/PeriodicAnalysis.h"
#include "cli/AnalysisLog.h"
#include "cli/AnalysisRecords.h"
#include "cli/StoreCommands.h"
#include "cli/Interrupt.h"
#include "cli/TerminalProgress.h"
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/Error.h"
#include "core/train/Checkpoint.h"
#include "core/train/RunDirectory.h"
#include "core/train/Trainer.h"
#include "core/store/StoreRecorder.h"
#include "core/store/Workspace.h"

namespace samscape::cli {
namespace {

// A numeric flag's text as a JSON number that converts back to the same flag: integers stay integers
// ("grid": 3, not 3.0, which an integer flag would refuse).
nlohmann::json typedFlagValue(const std::string& text) {
  std::size_t used = 0;
  try {
    const long long integer = std::stoll(text, &used);
    if (used == text.size()) return integer;
  } catch (const std::exception&) {
  }
  try {
    const double number = std::stod(text, &used);
    if (used == text.size() && std::isfinite(number)) return number;
  } catch (const std::exception&) {
  }
  return text;
}

// A rank other than 0 of a multi-process job: the same training, no files, no progress display (rank
// 0 shows it), only errors on stderr. Its exit code matches rank 0's for the same outcome.
int runWithoutFiles(const TrainConfig& config, const DistributedOptions& distributed, bool resuming) {
  Trainer trainer(config, distributed);
  if (resuming) trainer.resumeFrom(latestCheckpoint(config.outDir + "/checkpoints"));
  TrainingResult result;
  {
    InterruptScope interrupt;
    result = trainer.run({}, interrupt.flag());
  }
  switch (result.status) {
    case RunStatus::Finished: return kExitOk;
    case RunStatus::Diverged: return kExitDiverged;
    case RunStatus::Cancelled: return kExitCancelled;
  }
  return kExitInternalError;
}

// <time>-<model>: the default run directory's name, inside the workspace's runs/.
std::string defaultRunName(const TrainConfig& config) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  const std::string model = config.model.modelFile.empty() ? config.model.name : "model-file";
  return std::string(stamp) + "-" + model;
}

}  // namespace

TrainCommand::TrainCommand(CLI::App& parent) {
  command_ = parent.add_subcommand("train", "Train a model (SGD, Adam, SAM, ASAM) and write its results to --out");
  auto* app = command_;
  // A flag given twice (or after --config) takes its last value, as in most command lines.
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto& c = config_;
  datasetName_ = datasetName(c.data.kind);
  scheduleName_ = scheduleName(c.schedule);

  app->add_option("--config", configFile_, "JSON file of flag values (keys are flag names); flags override it");
  app->add_option("--resume", resumeDir_,
                  "Continue the run in DIR from its latest checkpoint (its run.json gives the config)");
  // Data
  app->add_option("--dataset", datasetName_, "fashion-mnist, mnist, cifar10 or cifar100")->capture_default_str();
  app->add_option("--data-dir", c.data.dataDir,
                  std::string("Directory of the dataset files (default for fashion-mnist: ") +
                      kDefaultFashionMnistDir + ")");
  app->add_option("--train-subset", c.data.trainSubset, "Use the first N training examples in file order (0: all)");
  app->add_option("--test-subset", c.data.testSubset, "Use the first N test examples in file order (0: all)");
  app->add_option("--val-fraction", c.data.valFraction,
                  "Fraction of the training set held out for validation (its last examples)");
  app->add_option("--label-noise", c.data.labelNoise, "Rate of symmetric label noise on the training set");
  app->add_flag_callback("--no-augment", [&c] { c.augment = false; }, "No padding, cropping or flipping");
  app->add_flag_callback("--no-shuffle", [&c] { c.shuffle = false; }, "Visit training examples in file order");
  app->add_flag_callback("--no-normalize", [&c] { c.normalize = false; },
                         "Scale pixels to [0,1] only (no per-channel standardization)");
  // Model
  app->add_option("--model", c.model.name, "mlp, cnn, resnet20, resnet32, resnet56, wrn16-4 or wrn28-10")
      ->capture_default_str();
  app->add_option("--model-file", c.model.modelFile,
                  "TorchScript module (torch.jit.save) mapping float [N,C,H,W] to logits");
  // Optimization
  app->add_option("--optimizer", c.optimizer.name, "sgd, adam, sam or asam")->capture_default_str();
  app->add_option("--lr", c.optimizer.learningRate, "Base learning rate")->capture_default_str();
  app->add_option("--momentum", c.optimizer.momentum, "Momentum")->capture_default_str();
  app->add_flag("--nesterov", c.optimizer.nesterov, "Nesterov momentum");
  app->add_option("--weight-decay", c.optimizer.weightDecay, "L2 weight decay")->capture_default_str();
  app->add_option("--base", c.optimizer.base, "Base optimizer of sam/asam: sgd or adam")->capture_default_str();
  app->add_option("--rho", c.optimizer.rho, "SAM/ASAM neighbourhood radius (default 0.05 for sam, 0.5 for asam)");
  app->add_option("--asam-eta", c.optimizer.asamEta, "ASAM: T = |w| + eta")->capture_default_str();
  app->add_option("--m", c.optimizer.m, "m-sharpness: a perturbation per chunk of M examples (0: whole batch)")
      ->capture_default_str();
  app->add_option("--clip-norm", c.optimizer.clipNorm, "Clip the final gradient to this L2 norm (0: off)")
      ->capture_default_str();
  app->add_option("--adam-beta1", c.optimizer.adamBeta1, "Adam beta1")->capture_default_str();
  app->add_option("--adam-beta2", c.optimizer.adamBeta2, "Adam beta2")->capture_default_str();
  app->add_option("--adam-eps", c.optimizer.adamEpsilon, "Adam epsilon")->capture_default_str();
  app->add_option("--batch-size", c.batchSize, "Mini-batch size (split across --devices)")->capture_default_str();
  app->add_option("--epochs", c.epochs, "Number of epochs")->capture_default_str();
  app->add_option("--schedule", scheduleName_, "constant, cosine or step")->capture_default_str();
  app->add_option("--warmup-epochs", c.warmupEpochs, "Linear warm-up length in epochs")->capture_default_str();
  app->add_option("--step-epochs", c.stepEpochs, "Step schedule: epochs at which the rate is multiplied (default: 50%,75%)")
      ->delimiter(',');
  app->add_option("--step-factor", c.stepFactor, "Step schedule: the multiplier")->capture_default_str();
  // Run
  app->add_option("--seed", c.seed, "Seed of initialization, data order, augmentation and label noise")
      ->capture_default_str();
  app->add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  app->add_option("--devices", c.devices, "Data parallel: one replica per listed device, e.g. cuda:0,cuda:1");
  app->add_option("--threads", c.threads, "CPU threads (0: every core)")->capture_default_str();
  app->add_option("--eval-batch-size", c.evalBatchSize, "Batch size of evaluation")->capture_default_str();
  app->add_option("--out", c.outDir, "Run directory (default: WORKSPACE/runs/<time>-<model>)");
  addWorkspaceOption(*app, workspaceDir_);
  app->add_option("--name", runName_, "The run's name in the workspace (default: its directory's name)");
  app->add_option("--tag", tags_, "A tag for the run in the workspace (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  // Several processes (see `samscape-cli launch`); each flag overrides torchrun's environment variable.
  auto& d = distributedFlags_;
  app->add_option("--rank", d.rank, "This process's rank in a multi-process job (default: $RANK, else 0)");
  app->add_option("--world-size", d.worldSize, "Processes in the job (default: $WORLD_SIZE, else 1)");
  app->add_option("--local-rank", d.localRank, "Rank on this machine; --device cuda means cuda:LOCAL_RANK (default: $LOCAL_RANK)");
  app->add_option("--master-addr", d.masterAddress, "Address of rank 0's rendezvous (default: $MASTER_ADDR, else 127.0.0.1)");
  app->add_option("--master-port", d.masterPort, "Port of rank 0's rendezvous (default: $MASTER_PORT)");
  app->add_option("--dist-timeout", d.timeoutSeconds,
                  "Seconds a rank waits for the others (rendezvous, each collective) before it stops with an error")
      ->capture_default_str();
  // Analysis during training
  app->add_option("--analyze-every", analyzeEvery_,
                  "Run the analyses below on every K-th epoch's checkpoint (and the last) into DIR/analysis/epoch-NNN/ "
                  "(0: off)")
      ->capture_default_str();
  const std::size_t optionsBefore = app->get_options().size();
  addAnalysisFlags(*app, analysisFlags_, AnalysisFlagSet::Train);
  // The analysis flags may come from a --config file too (they are not part of TrainConfig).
  analysisFlagNames_.push_back("analyze-every");
  const auto options = app->get_options();
  for (std::size_t i = optionsBefore; i < options.size(); ++i) analysisFlagNames_.push_back(options[i]->get_name().substr(2));
}

namespace {

// The value of `--name VALUE` or `--name=VALUE` in argv; empty when absent.
std::string flagValue(int argc, const char* const* argv, const std::string& name) {
  std::string value;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == name && i + 1 < argc) value = argv[i + 1];
    if (argument.rfind(name + "=", 0) == 0) value = argument.substr(name.size() + 1);
  }
  return value;
}

}  // namespace

DistributedOptions TrainCommand::distributedOptions() const {
  DistributedOptions options = distributedOptionsFromEnvironment();
  const auto& flags = distributedFlags_;
  if (command_->count("--rank") > 0) options.rank = flags.rank;
  if (command_->count("--world-size") > 0) options.worldSize = flags.worldSize;
  if (command_->count("--local-rank") > 0) options.localRank = flags.localRank;
  if (command_->count("--master-addr") > 0) options.masterAddress = flags.masterAddress;
  if (command_->count("--master-port") > 0) options.masterPort = flags.masterPort;
  options.timeoutSeconds = flags.timeoutSeconds;
  return options;
}

void TrainCommand::applyConfigFileFrom(int argc, const char* const* argv) {
  const std::string resumeDir = flagValue(argc, argv, "--resume");
  if (!resumeDir.empty()) {
    const std::string runJson = resumeDir + "/run.json";
    std::ifstream in(runJson);
    if (!in) throw ConfigError("--resume", resumeDir, "no run.json there: not a run directory");
    try {
      const auto run = nlohmann::json::parse(in);
      applyJsonConfig(config_, run.at("config").dump(), runJson);
      // The analyses it was launched with; a --config file's and the command line's override them.
      if (run.contains("analysis") && run["analysis"].is_object()) {
        for (const auto& [key, value] : run["analysis"].items()) {
          analysisConfig_[key] = value;
          analysisSource_[key] = runJson;
        }
      }
    } catch (const nlohmann::json::exception& error) {
      throw ConfigError("--resume", resumeDir, std::string("run.json is malformed: ") + error.what());
    }
    config_.outDir = resumeDir;
  }
  const std::string configFile = flagValue(argc, argv, "--config");
  if (!configFile.empty()) {
    // Analysis keys are set aside for resolve(); the rest is TrainConfig's.
    std::ifstream in(configFile);
    if (!in) throw ConfigError("--config", configFile, "cannot open the file");
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& error) {
      throw ConfigError("--config", configFile, std::string("not valid JSON: ") + error.what());
    }
    if (object.is_object()) {
      // "analyze-every": 0 turns off the analyses a resumed run was launched with.
      const auto every = object.find("analyze-every");
      if (every != object.end() && every->is_number() && every->get<double>() == 0.0) {
        analysisConfig_ = nlohmann::json::object();
        analysisSource_.clear();
      }
      for (const std::string& name : analysisFlagNames_) {
        if (object.contains(name)) {
          analysisConfig_[name] = object[name];
          analysisSource_[name] = configFile;
          object.erase(name);
        }
      }
    }
    applyJsonConfig(config_, object.dump(), configFile);
  }
  datasetName_ = datasetName(config_.data.kind);
  scheduleName_ = scheduleName(config_.schedule);
}

TrainSetup TrainCommand::resolve(bool assignRunDirectory) {
  config_.data.kind = parseDatasetName(datasetName_);
  config_.schedule = parseScheduleName(scheduleName_);
  // Every run is recorded in a workspace; its directory goes there unless --out says otherwise.
  const Workspace workspace = Workspace::resolve(workspaceDir_);
  if (config_.outDir.empty() && assignRunDirectory) {
    config_.outDir = (workspace.runsDirectory() / defaultRunName(config_)).string();
  }
  validateConfig(config_);
  // Analysis keys of a --config file (or a resumed run.json), where the command line did not give
  // the flag; none when it turned the analyses off with --analyze-every 0.
  const bool analysesTurnedOff = command_->get_option("--analyze-every")->count() > 0 && analyzeEvery_ == 0;
  if (analysesTurnedOff) analysisConfig_ = nlohmann::json::object();
  for (const auto& [key, value] : analysisConfig_.items()) {
    CLI::Option* option = command_->get_option_no_throw("--" + key);
    if (option == nullptr || option->count() > 0) continue;
    const std::string& source = analysisSource_[key];
    if (value.is_boolean()) {
      if (!value.get<bool>()) continue;
      option->add_result("true");
    } else if (value.is_number() || value.is_string()) {
      option->add_result(value.is_string() ? value.get<std::string>() : value.dump());
    } else {
      throw ConfigError("--" + key, value.dump(), "in " + source + ": expected a number, a string or true/false");
    }
    try {
      option->run_callback();
    } catch (const CLI::ParseError& error) {
      throw ConfigError("--" + key, value.dump(), "in " + source + ": " + error.what());
    }
  }
  finishAnalysisFlags(*command_, analysisFlags_);
  const AnalysisRequest& analysis = analysisFlags_.request;
  nlohmann::json given = nlohmann::json::object();
  for (const std::string& name : analysisFlagNames_) {
    const CLI::Option* option = command_->get_option_no_throw("--" + name);
    if (option == nullptr || option->count() == 0) continue;
    if (option->get_expected_max() == 0) {
      if (option->as<bool>()) given[name] = true;
    } else if (name == "interpolate" || name == "directions") {
      // Files: absolute, so that a run resumed from another directory finds the same ones.
      given[name] = std::filesystem::absolute(option->results().back()).lexically_normal().string();
    } else if (option->get_type_name() == "TEXT") {
      given[name] = option->results().back();
    } else {
      given[name] = typedFlagValue(option->results().back());
    }
  }
  if (analyzeEvery_ < 0) throw ConfigError("--analyze-every", std::to_string(analyzeEvery_), "must be 0 (off) or positive");
  if (analyzeEvery_ == 0 && (analysis.hessianTop > 0 || analysis.trace || analysis.esd || analysis.mSharpness ||
                             analysis.slice || !analysis.interpolate.empty() || analysis.trajectory)) {
    throw ConfigError("--analyze-every", "0", "analysis flags (--hessian-top, --slice, ...) need --analyze-every K");
  }
  return TrainSetup{config_, analyzeEvery_, analysis, given, workspace.directory().string()};
}

TrainSetup resolveTrainArguments(const std::vector<std::string>& arguments) {
  CLI::App app;
  TrainCommand train(app);
  std::vector<std::string> argv{"samscape-cli", "train"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::vector<const char*> pointers;
  for (const std::string& argument : argv) pointers.push_back(argument.c_str());
  train.applyConfigFileFrom(static_cast<int>(pointers.size()), pointers.data());
  // CLI11 takes a vector of arguments in reverse order, without the program's name.
  std::vector<std::string> reversed(argv.rbegin(), argv.rend() - 1);
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    throw Error(error.what());
  }
  return train.resolve(false);
}

int TrainCommand::run() {
  const TrainSetup setup = resolve(true);
  const Workspace workspace = Workspace::resolve(workspaceDir_);

  const bool resuming = !resumeDir_.empty();
  if (resuming && config_.outDir != resumeDir_) {
    throw ConfigError("--out", config_.outDir, "a resumed run continues in its own directory (--resume)");
  }
  const AnalysisRequest& analysis = analysisFlags_.request;

  const DistributedOptions distributed = distributedOptions();
  validateDistributedOptions(distributed);
  validateRunLayout(config_, distributed);
  if (distributed.distributed() && analyzeEvery_ > 0) {
    throw ConfigError("--analyze-every", std::to_string(analyzeEvery_),
                      "not yet in a multi-process job; analyze its checkpoints afterwards with samscape-cli analyze");
  }
  // Rank 0 alone writes the run directory; the other ranks train the same model and write nothing.
  if (distributed.rank != 0) return runWithoutFiles(config_, distributed, resuming);

  // Refuse an occupied --out before spending time on loading the data.
  RunDirectoryWriter runDirectory(config_.outDir, config_, resuming);
  runDirectory.setAnalysisFlags(setup.analysisFlags.dump());
  Trainer trainer(config_, distributed);
  if (resuming) trainer.resumeFrom(latestCheckpoint(config_.outDir + "/checkpoints"));
  TerminalProgress progress(stderr, isatty(STDERR_FILENO) == 1);

  RunStore store(workspace);
  RunRecord record;
  record.name = runName_.empty() ? std::filesystem::path(config_.outDir).filename().string() : runName_;
  record.tags = tags_;
  record.configJson = configToJson(config_);
  record.versionsJson = versionsJson();
  record.device = config_.devices.empty() ? config_.device : config_.devices;
  record.outDir = config_.outDir;
  StoreRecorder recorder(store, record, resuming);

  TrainingResult result;
  {
    InterruptScope interrupt;
    std::vector<TrainingObserver*> observers{&progress, &runDirectory, &recorder};
    AnalysisLog analysisLog;
    std::unique_ptr<PeriodicAnalysis> periodicAnalysis;
    if (analyzeEvery_ > 0) {
      periodicAnalysis = std::make_unique<PeriodicAnalysis>(config_, analyzeEvery_, analysis, interrupt.flag(), &analysisLog);
      periodicAnalysis->setOnAnalysis([&](const EpochAnalysis& done) {
        store.recordAnalyses(analysisRecords(recorder.runId(), done.epoch, done.directory, done.outcome.jsonText));
      });
      observers.push_back(periodicAnalysis.get());
    }
    try {
      result = trainer.run(observers, interrupt.flag());
    } catch (const std::exception& error) {
      recorder.markFailed(error.what());
      throw;
    }
  }

  trainer.saveModel(runDirectory.modelPath());
  std::cout << "results in " << config_.outDir << "/ (run.json, metrics.csv, model.pt, checkpoints/)\n";
  std::cout << "recorded as run " << recorder.runId() << " in the workspace " << workspace.directory().string() << "\n";
  switch (result.status) {
    case RunStatus::Finished: return kExitOk;
    case RunStatus::Diverged: return kExitDiverged;
    case RunStatus::Cancelled: return kExitCancelled;
  }
  return kExitInternalError;
}

}  // namespace samscape::cli

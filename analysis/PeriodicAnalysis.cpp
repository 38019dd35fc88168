#include "analysis/PeriodicAnalysis.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/AtomicFile.h"
#include "core/Error.h"

namespace samscape {
namespace fs = std::filesystem;

PeriodicAnalysis::PeriodicAnalysis(const TrainConfig& config, int every, AnalysisRequest request,
                                   const std::atomic<bool>* cancel, AnalysisObserver* observer, double budget)
    : config_(config),
      every_(every),
      lastEpoch_(config.epochs),
      cancel_(cancel),
      observer_(observer),
      budget_(budget) {
  if (every < 1) throw ConfigError("--analyze-every", std::to_string(every), "must be a positive number of epochs");
  if (config.outDir.empty()) throw ConfigError("--analyze-every", std::to_string(every), "needs a run directory (--out)");
  if (request.directionsFile.empty()) request.directionsFile = (fs::path(config.outDir) / "analysis" / "directions.bin").string();
  // The analyses run where the run trains (the first replica's device for a data-parallel run).
  if (request.device.empty()) request.device = replicaDevices(config).front();
  request.batchSize = config.evalBatchSize;
  request.seed = config.seed;

  AnalysisModel model;
  model.run = config;
  model.description = config.outDir;
  const bool needsCheckpoints = request.trajectory || (request.slice && request.sliceDirections == "pca");
  model.runDirectory = needsCheckpoints ? config.outDir : "";
  session_ = std::make_unique<AnalysisSession>(model, request, AnalysisCommand::Train);
  session_->keepDirections(true);
  session_->warmStartLanczos(true);
}

PeriodicAnalysis::~PeriodicAnalysis() = default;

void PeriodicAnalysis::onBegin(const TrainingBegin& begin) {
  fs::create_directories(fs::path(config_.outDir) / "analysis");
  if (begin.resumedEpochs.empty()) return;
  const int epoch = begin.resumedEpochs.back().epoch;
  // A resumed run whose last analysis was stopped half-way (Ctrl-C, a kill) redoes it first: the run
  // stopped at that epoch's checkpoint, so it is the only analysis that can be unfinished.
  bool redo = false;
  if (due(epoch)) {
    const fs::path analysisJson = fs::path(epochDirectory(config_.outDir, epoch)) / "analysis.json";
    // No directory: resumed with analyses the run did not have before. A directory without
    // analysis.json: the analysis was killed before it wrote anything, and is redone.
    if (fs::exists(analysisJson) || fs::exists(analysisJson.parent_path())) {
      std::ifstream in(analysisJson);
      const auto previous = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      redo = !(previous.is_object() && previous.value("status", std::string()) == "complete");
    }
  }
  // The accounting goes on from the training of the epochs done and budget.json's entries up to the
  // epoch resumed from (later ones belong to epochs trained again; the unfinished analysis' entry is
  // replaced by its redone one).
  double trainingSeconds = 0.0;
  for (const EpochMetrics& done : begin.resumedEpochs) trainingSeconds += done.seconds;
  try {
    costs_ = readAnalysisBudgetFile(budgetFile(config_.outDir));
  } catch (const DataError&) {
    costs_.clear();  // a damaged file: the accounting starts again, as for a run that had none
  }
  while (!costs_.empty() && (costs_.back().epoch > epoch || (redo && costs_.back().epoch == epoch))) {
    costs_.pop_back();
  }
  budget_.restore(trainingSeconds, costs_.empty() ? nullptr : &costs_.back());
  if (redo) {
    // The resumed epoch's rate, for the stability edge: its row among the epochs done.
    double learningRate = 0.0;
    for (const EpochMetrics& done : begin.resumedEpochs) {
      if (done.epoch == epoch) learningRate = done.learningRate;
    }
    analyzeEpoch(epoch, learningRate);
  }
}

bool PeriodicAnalysis::due(int epoch) const { return epoch % every_ == 0 || epoch == lastEpoch_; }

std::string PeriodicAnalysis::epochDirectory(const std::string& runDirectory, int epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "epoch-%03d", epoch);
  return (fs::path(runDirectory) / "analysis" / name).string();
}

std::string PeriodicAnalysis::budgetFile(const std::string& runDirectory) {
  return (fs::path(runDirectory) / "analysis" / "budget.json").string();
}

bool PeriodicAnalysis::onEpochEnd(const EpochMetrics& metrics) {
  budget_.addTraining(metrics.seconds);
  if (!due(metrics.epoch)) return false;
  if (!budget_.allows(metrics.epoch == lastEpoch_)) {
    recordCost(budget_.recordSkip(metrics.epoch));
    return false;
  }
  return analyzeEpoch(metrics.epoch, metrics.learningRate);
}

void PeriodicAnalysis::recordCost(const AnalysisCost& cost) {
  // An epoch analysed again (the unfinished analysis a resumed run redoes) replaces its entry.
  while (!costs_.empty() && costs_.back().epoch >= cost.epoch) costs_.pop_back();
  costs_.push_back(cost);
  writeFileAtomically(budgetFile(config_.outDir), analysisBudgetJson(budget_.budget(), costs_));
  if (observer_ != nullptr) observer_->onAnalysisCost(cost);
}

bool PeriodicAnalysis::analyzeEpoch(int epoch, double learningRate) {
  const std::string directory = epochDirectory(config_.outDir, epoch);
  // The trainer writes this epoch's checkpoint (of the same name) before it tells its observers.
  const std::string name = fs::path(directory).filename().string();
  const fs::path checkpoint = fs::path(config_.outDir) / "checkpoints" / name;
  if (learningRate > 0.0) session_->setStepLearningRate(learningRate);
  const auto start = std::chrono::steady_clock::now();
  const AnalysisResults results = session_->analyze((checkpoint / "model.pt").string(),
                                                    config_.outDir + ", checkpoint " + name, directory, observer_, cancel_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (observer_ != nullptr) observer_->onEpochAnalysis(epoch, results);
  recordCost(budget_.recordAnalysis(epoch, seconds));
  return results.cancelled();
}

std::vector<WorkEstimate> PeriodicAnalysis::takeLongWork() { return session_->takeLongWork(); }

}  // namespace samscape

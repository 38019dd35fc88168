#include "analysis/PeriodicAnalysis.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/Error.h"

namespace samscape {
namespace fs = std::filesystem;

PeriodicAnalysis::PeriodicAnalysis(const TrainConfig& config, int every, AnalysisRequest request,
                                   const std::atomic<bool>* cancel, AnalysisObserver* observer)
    : config_(config), every_(every), lastEpoch_(config.epochs), cancel_(cancel), observer_(observer) {
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
  // A resumed run whose last analysis was stopped half-way (Ctrl-C, a kill) redoes it first: the run
  // stopped at that epoch's checkpoint, so it is the only analysis that can be unfinished.
  if (begin.resumedEpochs.empty()) return;
  const int epoch = begin.resumedEpochs.back().epoch;
  if (!due(epoch)) return;
  const fs::path analysisJson = fs::path(epochDirectory(config_.outDir, epoch)) / "analysis.json";
  // No directory: resumed with analyses the run did not have before. A directory without analysis.json:
  // the analysis was killed before it wrote anything, and is redone.
  if (!fs::exists(analysisJson) && !fs::exists(analysisJson.parent_path())) return;
  std::ifstream in(analysisJson);
  const auto previous = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (previous.is_object() && previous.value("status", std::string()) == "complete") return;
  analyzeEpoch(epoch);
}

bool PeriodicAnalysis::due(int epoch) const { return epoch % every_ == 0 || epoch == lastEpoch_; }

std::string PeriodicAnalysis::epochDirectory(const std::string& runDirectory, int epoch) {
  char name[32];
  std::snprintf(name, sizeof name, "epoch-%03d", epoch);
  return (fs::path(runDirectory) / "analysis" / name).string();
}

bool PeriodicAnalysis::onEpochEnd(const EpochMetrics& metrics) {
  if (!due(metrics.epoch)) return false;
  return analyzeEpoch(metrics.epoch);
}

bool PeriodicAnalysis::analyzeEpoch(int epoch) {
  EpochAnalysis analysis;
  analysis.epoch = epoch;
  analysis.directory = epochDirectory(config_.outDir, epoch);
  // The trainer writes this epoch's checkpoint (of the same name) before it tells its observers.
  const std::string name = fs::path(analysis.directory).filename().string();
  const fs::path checkpoint = fs::path(config_.outDir) / "checkpoints" / name;
  analysis.outcome = session_->analyze((checkpoint / "model.pt").string(),
                                       config_.outDir + ", checkpoint " + name, analysis.directory, observer_, cancel_);
  if (onAnalysis_) onAnalysis_(analysis);
  return analysis.outcome.cancelled;
}

std::vector<WorkEstimate> PeriodicAnalysis::takeLongWork() { return session_->takeLongWork(); }

void PeriodicAnalysis::setOnAnalysis(std::function<void(const EpochAnalysis&)> callback) {
  onAnalysis_ = std::move(callback);
}

}  // namespace samscape

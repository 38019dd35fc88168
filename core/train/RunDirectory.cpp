#include "core/train/RunDirectory.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/Error.h"
#include "core/Runtime.h"

namespace samscape {
namespace fs = std::filesystem;

namespace {

std::string utcTimestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::ostringstream out;
  out << std::put_time(&utc, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

}  // namespace

void writeFileAtomically(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(temporary + ": cannot open for writing");
    out << content;
    out.flush();
    if (!out) throw Error(temporary + ": write failed (disk full?)");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    throw Error(path + ": cannot replace the file");
  }
}

std::string metricsCsv(const std::vector<EpochMetrics>& epochs, bool withValidation) {
  std::ostringstream out;
  out << "epoch,train_loss,train_acc,test_loss,test_acc";
  if (withValidation) out << ",val_loss,val_acc";
  out << ",lr,seconds\n";
  // 10 significant digits: enough to compare float32 losses with an independent implementation.
  out << std::setprecision(10);
  for (const auto& m : epochs) {
    out << m.epoch << ',' << m.trainLoss << ',' << m.trainAccuracy << ',' << m.testLoss << ','
        << m.testAccuracy;
    if (withValidation) out << ',' << m.validationLoss.value_or(0.0) << ',' << m.validationAccuracy.value_or(0.0);
    out << ',' << m.learningRate << ',' << std::setprecision(4) << m.seconds << std::setprecision(10) << '\n';
  }
  return out.str();
}

RunDirectoryWriter::RunDirectoryWriter(std::string directory, TrainConfig config, bool resuming)
    : directory_(std::move(directory)), config_(std::move(config)) {
  std::error_code error;
  fs::create_directories(directory_, error);
  if (error || !fs::is_directory(directory_)) {
    throw ConfigError("--out", directory_, "cannot create the directory" +
                                               (error ? ": " + error.message() : std::string()));
  }
  if (!resuming && fs::exists(runJsonPath())) {
    throw ConfigError("--out", directory_,
                      "already holds a run (run.json); choose another directory or remove it");
  }
}

std::string RunDirectoryWriter::runJsonPath() const { return (fs::path(directory_) / "run.json").string(); }
std::string RunDirectoryWriter::metricsCsvPath() const { return (fs::path(directory_) / "metrics.csv").string(); }
std::string RunDirectoryWriter::modelPath() const { return (fs::path(directory_) / "model.pt").string(); }

void RunDirectoryWriter::setAnalysisFlags(std::string jsonObject) {
  if (!jsonObject.empty() && !nlohmann::json::parse(jsonObject).is_object()) {
    throw Error("run.json: the analysis flags must be a JSON object, got " + jsonObject);
  }
  analysisFlags_ = std::move(jsonObject);
}

void RunDirectoryWriter::writeRunJson(const std::string& status, const std::string& message,
                                      double seconds) {
  using nlohmann::json;
  const RuntimeInfo runtime = runtimeInfo();
  json run;
  run["status"] = status;
  if (!message.empty()) run["message"] = message;
  run["started"] = startedAt_;
  run["seconds"] = seconds;
  run["seed"] = config_.seed;
  run["config"] = json::parse(configToJson(config_));
  if (!analysisFlags_.empty()) {
    json analysis = json::parse(analysisFlags_);
    if (!analysis.empty()) run["analysis"] = std::move(analysis);
  }
  run["versions"] = {{"samscape", runtime.samscapeVersion},
                     {"libtorch", runtime.torchVersion},
                     {"compiler", runtime.compiler}};
  run["runtime"] = {{"device", begin_.device},
                    {"threads", begin_.threads},
                    {"cuda_available", runtime.cudaAvailable},
                    {"cuda_devices", runtime.cudaDeviceCount}};
  run["model"] = {{"description", begin_.modelDescription}, {"parameters", begin_.parameterCount}};
  run["optimizer"] = begin_.optimizerDescription;
  run["data"] = {{"dir", begin_.dataDir},
                 {"train_examples", begin_.trainExamples},
                 {"validation_examples", begin_.validationExamples},
                 {"test_examples", begin_.testExamples},
                 {"noisy_labels", begin_.noisyLabels},
                 {"steps_per_epoch", begin_.stepsPerEpoch}};
  run["epochs_completed"] = epochs_.size();
  if (!begin_.resumedEpochs.empty()) run["resumed_after_epoch"] = begin_.resumedEpochs.size();
  writeFileAtomically(runJsonPath(), run.dump(2) + "\n");
}

void RunDirectoryWriter::onBegin(const TrainingBegin& begin) {
  begin_ = begin;
  epochs_ = begin.resumedEpochs;
  startedAt_ = utcTimestamp();
  writeRunJson("running", "", 0.0);
  writeFileAtomically(metricsCsvPath(), metricsCsv(epochs_, config_.data.valFraction > 0.0));
}

bool RunDirectoryWriter::onEpochEnd(const EpochMetrics& metrics) {
  epochs_.push_back(metrics);
  writeFileAtomically(metricsCsvPath(), metricsCsv(epochs_, config_.data.valFraction > 0.0));
  return false;
}

void RunDirectoryWriter::onEnd(const TrainingResult& result) {
  writeRunJson(runStatusName(result.status), result.message, result.seconds);
}

}  // namespace samscape

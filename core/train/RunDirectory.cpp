#include "core/train/RunDirectory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <map>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/NumberCsv.h"
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

std::string metricsCsv(const std::vector<EpochMetrics>& epochs, bool withValidation, bool withMemorization) {
  std::ostringstream out;
  out << "epoch,train_loss,train_acc,test_loss,test_acc";
  if (withValidation) out << ",val_loss,val_acc";
  if (withMemorization) out << ",train_acc_noisy,train_acc_clean,train_acc_noisy_true";
  out << ",lr,seconds\n";
  const double missing = std::nan("");
  // 10 significant digits: enough to compare float32 losses with an independent implementation.
  out << std::setprecision(10);
  for (const auto& m : epochs) {
    out << m.epoch << ',' << m.trainLoss << ',' << m.trainAccuracy << ',' << m.testLoss << ','
        << m.testAccuracy;
    if (withValidation) out << ',' << m.validationLoss.value_or(0.0) << ',' << m.validationAccuracy.value_or(0.0);
    if (withMemorization) {
      out << ',' << m.trainAccuracyNoisy.value_or(missing) << ',' << m.trainAccuracyClean.value_or(missing) << ','
          << m.trainAccuracyNoisyTrue.value_or(missing);
    }
    out << ',' << m.learningRate << ',' << std::setprecision(4) << m.seconds << std::setprecision(10) << '\n';
  }
  return out.str();
}

std::vector<EpochMetrics> readMetricsCsv(const std::string& path) {
  const NumberCsv csv = readNumberCsv(path);
  // The columns metricsCsv writes, by name: each is required but the validation pair and the
  // memorization triple (each written all together or not at all).
  const std::vector<std::string> required{"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"};
  const std::vector<std::string> memorization{"train_acc_noisy", "train_acc_clean", "train_acc_noisy_true"};
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < csv.columns.size(); ++i) {
    const std::string& name = csv.columns[i];
    const bool known = std::find(required.begin(), required.end(), name) != required.end() || name == "val_loss" ||
                       name == "val_acc" ||
                       std::find(memorization.begin(), memorization.end(), name) != memorization.end();
    if (!known) throw DataError(path, "line 1: unknown column \"" + name + "\"");
    if (!position.emplace(name, i).second) throw DataError(path, "line 1: column \"" + name + "\" appears twice");
  }
  for (const std::string& name : required) {
    if (position.count(name) == 0) throw DataError(path, "line 1: no \"" + name + "\" column");
  }
  if (position.count("val_loss") != position.count("val_acc")) {
    throw DataError(path, "line 1: val_loss and val_acc come together");
  }
  const auto memorizationColumns = std::count_if(memorization.begin(), memorization.end(),
                                                 [&](const std::string& name) { return position.count(name) > 0; });
  if (memorizationColumns != 0 && memorizationColumns != 3) {
    throw DataError(path, "line 1: train_acc_noisy, train_acc_clean and train_acc_noisy_true come together");
  }
  std::vector<EpochMetrics> epochs;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    const auto at = [&](const char* name) { return csv.rows[r][position.at(name)]; };
    const double epoch = at("epoch");
    if (!(epoch >= 1.0 && epoch <= 1e9 && epoch == std::floor(epoch))) {
      throw DataError(path, "line " + std::to_string(csv.lineNumbers[r]) + ": epoch " +
                                optionText(nlohmann::json(epoch)) + " is not a positive integer");
    }
    EpochMetrics metrics;
    metrics.epoch = static_cast<int>(epoch);
    metrics.trainLoss = at("train_loss");
    metrics.trainAccuracy = at("train_acc");
    metrics.testLoss = at("test_loss");
    metrics.testAccuracy = at("test_acc");
    if (position.count("val_loss") > 0) {
      metrics.validationLoss = at("val_loss");
      metrics.validationAccuracy = at("val_acc");
    }
    if (memorizationColumns == 3) {
      metrics.trainAccuracyNoisy = at("train_acc_noisy");
      metrics.trainAccuracyClean = at("train_acc_clean");
      metrics.trainAccuracyNoisyTrue = at("train_acc_noisy_true");
    }
    metrics.learningRate = at("lr");
    metrics.seconds = at("seconds");
    epochs.push_back(metrics);
  }
  return epochs;
}

RunJson readRunJson(const std::string& runDirectory) {
  using nlohmann::json;
  const std::string path = (fs::path(runDirectory) / "run.json").string();
  const json document = readJsonObjectFile(path, "run.json: not a run directory");
  const auto field = [&](const char* key, json::value_t type, const char* what) -> const json* {
    const auto found = document.find(key);
    if (found == document.end()) return nullptr;
    const bool number = type == json::value_t::number_float;
    if (number ? !found->is_number() : found->type() != type) {
      throw DataError(path, std::string("\"") + key + "\" must be " + what);
    }
    return &*found;
  };
  RunJson run;
  const json* status = field("status", json::value_t::string, "a string");
  if (status == nullptr) throw DataError(path, "no \"status\"");
  const auto parsed = valueNamed<RunStatus>(status->get<std::string>());
  if (!parsed) throw DataError(path, "unknown status \"" + status->get<std::string>() + "\"");
  run.status = *parsed;
  if (const json* message = field("message", json::value_t::string, "a string")) run.message = message->get<std::string>();
  const json* config = field("config", json::value_t::object, "an object of options");
  if (config == nullptr) throw DataError(path, "no \"config\"");
  applyOptionsJson(run.config, trainOptions(), *config, path);
  // Runs saved before --gsam-decompose existed decomposed GSAM's gradients once, after averaging the
  // replicas': they resume so, stepping as they began.
  if (!config->contains("gsam-decompose")) run.config.optimizer.gsamDecompose = GsamDecomposition::Averaged;
  if (const json* analysis = field("analysis", json::value_t::object, "an object of options")) run.analysisFlags = *analysis;
  if (const json* epochs = field("epochs_completed", json::value_t::number_float, "a number")) {
    const double count = epochs->get<double>();
    if (!(count >= 0.0 && count <= 1e9)) throw DataError(path, "\"epochs_completed\" must be 0 or more");
    run.epochsCompleted = static_cast<int>(count);
  }
  if (const json* data = field("data", json::value_t::object, "an object")) {
    const auto steps = data->find("steps_per_epoch");
    if (steps != data->end() && steps->is_number() && steps->get<double>() >= 0.0 && steps->get<double>() <= 1e15) {
      run.stepsPerEpoch = static_cast<std::int64_t>(steps->get<double>());
    }
  }
  return run;
}

std::string claimRunDirectory(const std::string& parent, const std::string& name) {
  std::error_code error;
  fs::create_directories(parent, error);
  if (error || !fs::is_directory(parent)) {
    throw Error(parent + ": cannot create the directory for runs" + (error ? ": " + error.message() : std::string()));
  }
  for (int suffix = 1; suffix <= 100000; ++suffix) {
    const fs::path candidate = fs::path(parent) / (suffix == 1 ? name : name + "-" + std::to_string(suffix));
    // mkdir(2) fails with EEXIST on a name that is there, whoever made it and however recently.
    if (::mkdir(candidate.c_str(), 0755) == 0) return candidate.string();
    if (errno != EEXIST) {
      throw Error(candidate.string() + ": cannot create the run directory: " + std::strerror(errno));
    }
  }
  throw Error(parent + ": no free name for a run directory " + name + "-N (100000 taken)");
}

RunDirectoryWriter::RunDirectoryWriter(std::string directory, TrainConfig config, bool resuming)
    : directory_(std::move(directory)), config_(std::move(config)) {
  std::error_code error;
  createdDirectory_ = fs::create_directories(directory_, error);
  if (error || !fs::is_directory(directory_)) {
    throw ConfigError("--out", directory_, "cannot create the directory" +
                                               (error ? ": " + error.message() : std::string()));
  }
  // The lock first, then the check for a run.json: two processes given the same --out cannot both
  // pass the check before either has written its run.json.
  const std::string lockPath = (fs::path(directory_) / "run.lock").string();
  lockDescriptor_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockDescriptor_ < 0) {
    throw ConfigError("--out", directory_, "cannot create run.lock there: " + std::string(std::strerror(errno)));
  }
  if (::flock(lockDescriptor_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lockDescriptor_);
    lockDescriptor_ = -1;
    throw ConfigError("--out", directory_, "another samscape process is writing a run there (run.lock is held)");
  }
  if (!resuming && fs::exists(runJsonPath())) {
    ::close(lockDescriptor_);
    lockDescriptor_ = -1;
    throw ConfigError("--out", directory_,
                      "already holds a run (run.json); choose another directory or remove it");
  }
}

RunDirectoryWriter::~RunDirectoryWriter() {
  if (lockDescriptor_ >= 0) ::close(lockDescriptor_);  // releases the flock
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
  writeFileAtomically(metricsCsvPath(), metricsCsv(epochs_, config_.data.valFraction > 0.0, config_.data.labelNoise > 0.0));
}

bool RunDirectoryWriter::onEpochEnd(const EpochMetrics& metrics) {
  epochs_.push_back(metrics);
  writeFileAtomically(metricsCsvPath(), metricsCsv(epochs_, config_.data.valFraction > 0.0, config_.data.labelNoise > 0.0));
  return false;
}

void RunDirectoryWriter::onEnd(const TrainingResult& result) {
  writeRunJson(nameOf(result.status), result.message, result.seconds);
}

void RunDirectoryWriter::markFailed(const std::string& message) noexcept {
  try {
    writeRunJson(nameOf(RunStatus::Failed), message, 0.0);
  } catch (...) {
  }
}

}  // namespace samscape

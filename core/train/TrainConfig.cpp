#include "core/train/TrainConfig.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/Error.h"
#include "core/Runtime.h"

namespace samscape {
namespace {

using nlohmann::json;

std::string toText(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void requireFinite(const std::string& flag, double value) {
  if (!std::isfinite(value)) throw ConfigError(flag, toText(value), "must be a finite number");
}

// One entry per key: how to write it and how to read it. Keeping both directions in one table means
// a key cannot be written without being readable back.
struct KeyBinding {
  std::function<json(const TrainConfig&)> write;
  std::function<void(TrainConfig&, const json&)> read;
};

template <typename T>
T as(const json& value) {
  return value.get<T>();
}

const std::map<std::string, KeyBinding>& keyBindings() {
  static const std::map<std::string, KeyBinding> bindings = {
      {"dataset", {[](const TrainConfig& c) { return json(datasetName(c.data.kind)); },
                   [](TrainConfig& c, const json& v) { c.data.kind = parseDatasetName(as<std::string>(v)); }}},
      {"data-dir", {[](const TrainConfig& c) { return json(c.data.dataDir); },
                    [](TrainConfig& c, const json& v) { c.data.dataDir = as<std::string>(v); }}},
      {"train-subset", {[](const TrainConfig& c) { return json(c.data.trainSubset); },
                        [](TrainConfig& c, const json& v) { c.data.trainSubset = as<std::int64_t>(v); }}},
      {"test-subset", {[](const TrainConfig& c) { return json(c.data.testSubset); },
                       [](TrainConfig& c, const json& v) { c.data.testSubset = as<std::int64_t>(v); }}},
      {"val-fraction", {[](const TrainConfig& c) { return json(c.data.valFraction); },
                        [](TrainConfig& c, const json& v) { c.data.valFraction = as<double>(v); }}},
      {"label-noise", {[](const TrainConfig& c) { return json(c.data.labelNoise); },
                       [](TrainConfig& c, const json& v) { c.data.labelNoise = as<double>(v); }}},
      {"no-augment", {[](const TrainConfig& c) { return json(!c.augment); },
                      [](TrainConfig& c, const json& v) { c.augment = !as<bool>(v); }}},
      {"no-shuffle", {[](const TrainConfig& c) { return json(!c.shuffle); },
                      [](TrainConfig& c, const json& v) { c.shuffle = !as<bool>(v); }}},
      {"no-normalize", {[](const TrainConfig& c) { return json(!c.normalize); },
                        [](TrainConfig& c, const json& v) { c.normalize = !as<bool>(v); }}},
      {"model", {[](const TrainConfig& c) { return json(c.model.name); },
                 [](TrainConfig& c, const json& v) { c.model.name = as<std::string>(v); }}},
      {"model-file", {[](const TrainConfig& c) { return json(c.model.modelFile); },
                      [](TrainConfig& c, const json& v) { c.model.modelFile = as<std::string>(v); }}},
      {"optimizer", {[](const TrainConfig& c) { return json(c.optimizer.name); },
                     [](TrainConfig& c, const json& v) { c.optimizer.name = as<std::string>(v); }}},
      {"lr", {[](const TrainConfig& c) { return json(c.optimizer.learningRate); },
              [](TrainConfig& c, const json& v) { c.optimizer.learningRate = as<double>(v); }}},
      {"momentum", {[](const TrainConfig& c) { return json(c.optimizer.momentum); },
                    [](TrainConfig& c, const json& v) { c.optimizer.momentum = as<double>(v); }}},
      {"nesterov", {[](const TrainConfig& c) { return json(c.optimizer.nesterov); },
                    [](TrainConfig& c, const json& v) { c.optimizer.nesterov = as<bool>(v); }}},
      {"weight-decay", {[](const TrainConfig& c) { return json(c.optimizer.weightDecay); },
                        [](TrainConfig& c, const json& v) { c.optimizer.weightDecay = as<double>(v); }}},
      {"base", {[](const TrainConfig& c) { return json(c.optimizer.base); },
                [](TrainConfig& c, const json& v) { c.optimizer.base = as<std::string>(v); }}},
      {"rho", {[](const TrainConfig& c) { return json(c.optimizer.rho); },
               [](TrainConfig& c, const json& v) { c.optimizer.rho = as<double>(v); }}},
      {"asam-eta", {[](const TrainConfig& c) { return json(c.optimizer.asamEta); },
                    [](TrainConfig& c, const json& v) { c.optimizer.asamEta = as<double>(v); }}},
      {"m", {[](const TrainConfig& c) { return json(c.optimizer.m); },
             [](TrainConfig& c, const json& v) { c.optimizer.m = as<std::int64_t>(v); }}},
      {"clip-norm", {[](const TrainConfig& c) { return json(c.optimizer.clipNorm); },
                     [](TrainConfig& c, const json& v) { c.optimizer.clipNorm = as<double>(v); }}},
      {"adam-beta1", {[](const TrainConfig& c) { return json(c.optimizer.adamBeta1); },
                      [](TrainConfig& c, const json& v) { c.optimizer.adamBeta1 = as<double>(v); }}},
      {"adam-beta2", {[](const TrainConfig& c) { return json(c.optimizer.adamBeta2); },
                      [](TrainConfig& c, const json& v) { c.optimizer.adamBeta2 = as<double>(v); }}},
      {"adam-eps", {[](const TrainConfig& c) { return json(c.optimizer.adamEpsilon); },
                    [](TrainConfig& c, const json& v) { c.optimizer.adamEpsilon = as<double>(v); }}},
      {"devices", {[](const TrainConfig& c) { return json(c.devices); },
                   [](TrainConfig& c, const json& v) { c.devices = as<std::string>(v); }}},
      {"batch-size", {[](const TrainConfig& c) { return json(c.batchSize); },
                      [](TrainConfig& c, const json& v) { c.batchSize = as<std::int64_t>(v); }}},
      {"epochs", {[](const TrainConfig& c) { return json(c.epochs); },
                  [](TrainConfig& c, const json& v) { c.epochs = as<int>(v); }}},
      {"schedule", {[](const TrainConfig& c) { return json(scheduleName(c.schedule)); },
                    [](TrainConfig& c, const json& v) { c.schedule = parseScheduleName(as<std::string>(v)); }}},
      {"warmup-epochs", {[](const TrainConfig& c) { return json(c.warmupEpochs); },
                         [](TrainConfig& c, const json& v) { c.warmupEpochs = as<double>(v); }}},
      {"step-epochs", {[](const TrainConfig& c) { return json(c.stepEpochs); },
                       [](TrainConfig& c, const json& v) { c.stepEpochs = as<std::vector<int>>(v); }}},
      {"step-factor", {[](const TrainConfig& c) { return json(c.stepFactor); },
                       [](TrainConfig& c, const json& v) { c.stepFactor = as<double>(v); }}},
      {"seed", {[](const TrainConfig& c) { return json(c.seed); },
                [](TrainConfig& c, const json& v) { c.seed = as<std::uint64_t>(v); }}},
      {"device", {[](const TrainConfig& c) { return json(c.device); },
                  [](TrainConfig& c, const json& v) { c.device = as<std::string>(v); }}},
      {"threads", {[](const TrainConfig& c) { return json(c.threads); },
                   [](TrainConfig& c, const json& v) { c.threads = as<int>(v); }}},
      {"eval-batch-size", {[](const TrainConfig& c) { return json(c.evalBatchSize); },
                           [](TrainConfig& c, const json& v) { c.evalBatchSize = as<std::int64_t>(v); }}},
      {"out", {[](const TrainConfig& c) { return json(c.outDir); },
               [](TrainConfig& c, const json& v) { c.outDir = as<std::string>(v); }}},
  };
  return bindings;
}

}  // namespace

void validateConfig(const TrainConfig& config) {
  const auto& d = config.data;
  if (d.trainSubset < 0) throw ConfigError("--train-subset", std::to_string(d.trainSubset), "must be 0 (all) or positive");
  if (d.testSubset < 0) throw ConfigError("--test-subset", std::to_string(d.testSubset), "must be 0 (all) or positive");
  requireFinite("--val-fraction", d.valFraction);
  if (d.valFraction < 0.0 || d.valFraction >= 1.0) {
    throw ConfigError("--val-fraction", toText(d.valFraction), "must be in [0, 1)");
  }
  requireFinite("--label-noise", d.labelNoise);
  if (d.labelNoise < 0.0 || d.labelNoise > 1.0) {
    throw ConfigError("--label-noise", toText(d.labelNoise), "must be in [0, 1]");
  }
  const auto& o = config.optimizer;
  requireFinite("--lr", o.learningRate);
  if (o.learningRate <= 0.0) throw ConfigError("--lr", toText(o.learningRate), "must be positive");
  requireFinite("--momentum", o.momentum);
  if (o.momentum < 0.0 || o.momentum >= 1.0) throw ConfigError("--momentum", toText(o.momentum), "must be in [0, 1)");
  if (o.nesterov && o.momentum == 0.0) {
    throw ConfigError("--nesterov", "true", "Nesterov momentum needs --momentum greater than 0");
  }
  requireFinite("--weight-decay", o.weightDecay);
  if (o.weightDecay < 0.0) throw ConfigError("--weight-decay", toText(o.weightDecay), "must be 0 or positive");
  if (o.name != "sgd" && o.name != "adam" && !o.sharpnessAware()) {
    throw ConfigError("--optimizer", o.name, "unknown optimizer; available: sgd, adam, sam, asam");
  }
  if (o.base != "sgd" && o.base != "adam") {
    throw ConfigError("--base", o.base, "unknown base optimizer; available: sgd, adam");
  }
  requireFinite("--rho", o.rho);
  if (o.sharpnessAware() && o.rho < 0.0 && o.rho != -1.0) {
    throw ConfigError("--rho", toText(o.rho), "must be 0 or positive");
  }
  requireFinite("--asam-eta", o.asamEta);
  if (o.asamEta < 0.0) throw ConfigError("--asam-eta", toText(o.asamEta), "must be 0 or positive");
  if (o.m < 0) throw ConfigError("--m", std::to_string(o.m), "must be 0 (the whole batch) or positive");
  if (o.m > 0 && !o.sharpnessAware()) {
    throw ConfigError("--m", std::to_string(o.m), "m-sharpness applies only to --optimizer sam or asam");
  }
  requireFinite("--clip-norm", o.clipNorm);
  if (o.clipNorm < 0.0) throw ConfigError("--clip-norm", toText(o.clipNorm), "must be 0 (off) or positive");
  if (o.adamBeta1 < 0.0 || o.adamBeta1 >= 1.0) throw ConfigError("--adam-beta1", toText(o.adamBeta1), "must be in [0, 1)");
  if (o.adamBeta2 < 0.0 || o.adamBeta2 >= 1.0) throw ConfigError("--adam-beta2", toText(o.adamBeta2), "must be in [0, 1)");
  if (!(o.adamEpsilon > 0.0)) throw ConfigError("--adam-eps", toText(o.adamEpsilon), "must be positive");
  if (config.batchSize <= 0) throw ConfigError("--batch-size", std::to_string(config.batchSize), "must be positive");
  if (config.evalBatchSize <= 0) {
    throw ConfigError("--eval-batch-size", std::to_string(config.evalBatchSize), "must be positive");
  }
  if (config.epochs <= 0) throw ConfigError("--epochs", std::to_string(config.epochs), "must be positive");
  requireFinite("--warmup-epochs", config.warmupEpochs);
  if (config.warmupEpochs < 0.0 || config.warmupEpochs > config.epochs) {
    throw ConfigError("--warmup-epochs", toText(config.warmupEpochs), "must be in [0, --epochs]");
  }
  for (int epoch : config.stepEpochs) {
    if (epoch <= 0 || epoch >= config.epochs) {
      throw ConfigError("--step-epochs", std::to_string(epoch), "each must be in [1, --epochs)");
    }
  }
  requireFinite("--step-factor", config.stepFactor);
  if (config.stepFactor <= 0.0 || config.stepFactor > 1.0) {
    throw ConfigError("--step-factor", toText(config.stepFactor), "must be in (0, 1]");
  }
  if (config.threads < 0) throw ConfigError("--threads", std::to_string(config.threads), "must be 0 (every core) or positive");
  if (config.model.modelFile.empty()) {
    const auto& names = builtInModelNames();
    if (std::find(names.begin(), names.end(), config.model.name) == names.end()) {
      std::string list;
      for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
      throw ConfigError("--model", config.model.name, "unknown model; built-in models are: " + list);
    }
  }
  checkDeviceName(config.device);
  const auto devices = replicaDevices(config);
  for (const auto& device : devices) {
    try {
      checkDeviceName(device);
    } catch (const ConfigError& error) {
      if (config.devices.empty()) throw;
      throw ConfigError("--devices", config.devices, std::string("entry '") + device + "': " + error.what());
    }
  }
  const auto replicas = static_cast<std::int64_t>(devices.size());
  if (config.batchSize < replicas) {
    throw ConfigError("--batch-size", std::to_string(config.batchSize),
                      "smaller than the number of replicas (" + std::to_string(replicas) + ")");
  }
  const std::int64_t perReplicaBatch = (config.batchSize + replicas - 1) / replicas;
  if (o.m > perReplicaBatch) {
    throw ConfigError("--m", std::to_string(o.m),
                      "larger than the per-replica batch of " + std::to_string(perReplicaBatch) +
                          " (each replica perturbs its own shard)");
  }
}

std::vector<std::string> replicaDevices(const TrainConfig& config) {
  if (config.devices.empty()) return {config.device};
  std::vector<std::string> devices;
  std::stringstream list(config.devices);
  for (std::string device; std::getline(list, device, ',');) devices.push_back(device);
  if (devices.empty() || config.devices.back() == ',') devices.push_back("");
  return devices;
}

std::string configToJson(const TrainConfig& config, int indent) {
  json object = json::object();
  for (const auto& [key, binding] : keyBindings()) object[key] = binding.write(config);
  return object.dump(indent);
}

void applyJsonConfig(TrainConfig& config, const std::string& jsonText, const std::string& sourceName) {
  json object;
  try {
    object = json::parse(jsonText);
  } catch (const json::parse_error& error) {
    throw ConfigError("--config", sourceName, std::string("not valid JSON: ") + error.what());
  }
  if (!object.is_object()) throw ConfigError("--config", sourceName, "expected a JSON object of flag names");
  const auto& bindings = keyBindings();
  for (const auto& [key, value] : object.items()) {
    const auto binding = bindings.find(key);
    if (binding == bindings.end()) {
      throw ConfigError("--config", sourceName, "unknown key \"" + key + "\"");
    }
    try {
      binding->second.read(config, value);
    } catch (const json::exception&) {
      throw ConfigError("--config", sourceName,
                        "key \"" + key + "\" has a value of the wrong type: " + value.dump());
    }
  }
}

void applyJsonConfigFile(TrainConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("--config", path, "cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  applyJsonConfig(config, text.str(), path);
}

}  // namespace samscape

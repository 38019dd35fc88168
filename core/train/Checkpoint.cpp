#include "core/train/Checkpoint.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "core/Error.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/train/RunDirectory.h"

namespace samscape {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int cudaDeviceCount() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::string epochDirectoryName(int epoch) {
  std::ostringstream name;
  name << "epoch-" << std::setw(3) << std::setfill('0') << epoch;
  return name.str();
}

json metricsToJson(const EpochMetrics& m) {
  json j = {{"epoch", m.epoch},          {"train_loss", m.trainLoss}, {"train_acc", m.trainAccuracy},
            {"test_loss", m.testLoss},   {"test_acc", m.testAccuracy}, {"lr", m.learningRate},
            {"seconds", m.seconds}};
  if (m.validationLoss) j["val_loss"] = *m.validationLoss;
  if (m.validationAccuracy) j["val_acc"] = *m.validationAccuracy;
  // NaN (no flipped example) has no JSON number: left out, and read back as absent.
  const auto putFinite = [&](const char* key, const std::optional<double>& value) {
    if (value && std::isfinite(*value)) j[key] = *value;
  };
  putFinite("train_acc_noisy", m.trainAccuracyNoisy);
  putFinite("train_acc_clean", m.trainAccuracyClean);
  putFinite("train_acc_noisy_true", m.trainAccuracyNoisyTrue);
  return j;
}

EpochMetrics metricsFromJson(const json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.trainLoss = j.at("train_loss").get<double>();
  m.trainAccuracy = j.at("train_acc").get<double>();
  m.testLoss = j.at("test_loss").get<double>();
  m.testAccuracy = j.at("test_acc").get<double>();
  m.learningRate = j.at("lr").get<double>();
  m.seconds = j.at("seconds").get<double>();
  if (j.contains("val_loss")) m.validationLoss = j.at("val_loss").get<double>();
  if (j.contains("val_acc")) m.validationAccuracy = j.at("val_acc").get<double>();
  if (j.contains("train_acc_noisy")) m.trainAccuracyNoisy = j.at("train_acc_noisy").get<double>();
  if (j.contains("train_acc_clean")) m.trainAccuracyClean = j.at("train_acc_clean").get<double>();
  if (j.contains("train_acc_noisy_true")) m.trainAccuracyNoisyTrue = j.at("train_acc_noisy_true").get<double>();
  return m;
}

// The first non-empty line of a LibTorch message (they can start with a newline and go on with a
// TorchScript source excerpt).
std::string firstLine(const std::string& message) {
  std::istringstream lines(message);
  for (std::string line; std::getline(lines, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  }
  return "unknown error";
}

std::string shapeText(at::IntArrayRef sizes) {
  std::string text = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) text += (i == 0 ? "" : ", ") + std::to_string(sizes[i]);
  return text + "]";
}

// LibTorch's optimizers restore each parameter's state (momentum buffer, Adam moments) by position
// without looking at its shape: an optimizer.pt of another network with as many parameters tensors
// loaded silently, and the resumed run's first step failed with a tensor size mismatch (found by
// tests/fuzz). The archive's layout is LibTorch's (torch/optim/serialize.h): "param_groups/0" lists
// the saved parameters' keys in order, "state/<key>" holds each one's tensors. Anything else is left
// for loadState to report.
void requireOptimizerStateFits(torch::serialize::InputArchive& archive, const std::vector<torch::Tensor>& parameters,
                               const std::string& path) {
  torch::serialize::InputArchive state;
  torch::serialize::InputArchive groups;
  torch::serialize::InputArchive group;
  if (!archive.try_read("state", state) || !archive.try_read("param_groups", groups) ||
      !groups.try_read("param_groups/0", group)) {
    return;
  }
  for (std::size_t index = 0; index < parameters.size(); ++index) {
    c10::IValue key;
    torch::serialize::InputArchive parameterState;
    if (!group.try_read("params/" + std::to_string(index), key) || !key.isString() ||
        !state.try_read(key.toStringRef(), parameterState)) {
      continue;
    }
    for (const char* name : {"momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}) {
      c10::IValue value;
      if (!parameterState.try_read(name, value) || !value.isTensor()) continue;
      const torch::Tensor tensor = value.toTensor();
      if (tensor.defined() && tensor.sizes() != parameters[index].sizes()) {
        throw Error(path + ": cannot restore the optimizer state: its " + name + " for parameter " +
                    std::to_string(index) + " has shape " + shapeText(tensor.sizes()) + ", the parameter " +
                    shapeText(parameters[index].sizes()) + "; was it saved from another network?");
      }
    }
  }
}

// A rule's tensors in optimizer.pt, each under the rule's prefix (its name and '_'), so that no rule's
// name meets the base optimizer's or another rule's.
std::string ruleStatePrefix(const SharpnessRule& rule) { return rule.name() + "_"; }

class ArchiveRuleStateWriter final : public RuleStateWriter {
 public:
  ArchiveRuleStateWriter(torch::serialize::OutputArchive& archive, std::string prefix)
      : archive_(archive), prefix_(std::move(prefix)) {}
  void write(const std::string& name, const torch::Tensor& tensor) override { archive_.write(prefix_ + name, tensor); }

 private:
  torch::serialize::OutputArchive& archive_;
  std::string prefix_;
};

class ArchiveRuleStateReader final : public RuleStateReader {
 public:
  ArchiveRuleStateReader(torch::serialize::InputArchive& archive, std::string prefix, std::string path)
      : archive_(archive), prefix_(std::move(prefix)), path_(std::move(path)) {}
  bool read(const std::string& name, torch::Tensor& tensor) override { return archive_.try_read(prefix_ + name, tensor); }
  const std::string& path() const override { return path_; }

 private:
  torch::serialize::InputArchive& archive_;
  std::string prefix_;
  std::string path_;
};

}  // namespace

std::string writeInitialWeights(const std::string& checkpointsDir, Network& network) {
  const fs::path root(checkpointsDir);
  const fs::path staging = root / (std::string(kInitialWeightsDirectory) + ".tmp");
  const fs::path final = root / kInitialWeightsDirectory;
  std::error_code error;
  fs::remove_all(staging, error);
  fs::create_directories(staging, error);
  if (error) throw Error(staging.string() + ": cannot create the directory of the initial weights: " + error.message());
  network.save((staging / "model.pt").string());
  fs::remove_all(final, error);
  fs::rename(staging, final, error);
  if (error) throw Error(final.string() + ": cannot move the initial weights into place: " + error.message());
  return (final / "model.pt").string();
}

std::string writeCheckpoint(const std::string& checkpointsDir, Network& network, const Optimizer& optimizer,
                            const CheckpointState& state, const SharpnessRule* rule) {
  const fs::path root(checkpointsDir);
  const std::string name = epochDirectoryName(state.epochsCompleted);
  const fs::path staging = root / (name + ".tmp");
  const fs::path final = root / name;
  std::error_code error;
  fs::remove_all(staging, error);
  fs::create_directories(staging, error);
  if (error) throw Error(staging.string() + ": cannot create the checkpoint directory: " + error.message());

  network.save((staging / "model.pt").string());
  torch::serialize::OutputArchive archive;
  optimizer.saveState(archive);
  if (rule != nullptr) {
    ArchiveRuleStateWriter writer(archive, ruleStatePrefix(*rule));
    rule->saveState(writer);
  }
  {
    // Held for the states only, not for the disk writes: other runs' model builds wait on it.
    const auto generatorLock = lockGlobalGenerator();
    archive.write("torch_cpu_generator_state", at::globalContext().defaultGenerator(at::kCPU).get_state());
    for (int device = 0; device < cudaDeviceCount(); ++device) {
      archive.write("torch_cuda_generator_state_" + std::to_string(device),
                    at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device))).get_state());
    }
  }
  archive.save_to((staging / "optimizer.pt").string());

  json epochs = json::array();
  for (const auto& m : state.epochs) epochs.push_back(metricsToJson(m));
  const json stateJson = {{"epochs_completed", state.epochsCompleted},
                          {"global_step", state.globalStep},
                          {"data_order_state", state.dataOrderState},
                          {"seconds", state.seconds},
                          {"epochs", epochs}};
  writeFileAtomically((staging / "state.json").string(), stateJson.dump(1) + "\n");

  fs::remove_all(final, error);
  fs::rename(staging, final, error);
  if (error) throw Error(final.string() + ": cannot move the checkpoint into place: " + error.message());
  writeFileAtomically((root / "latest").string(), name + "\n");
  return final.string();
}

CheckpointState readCheckpoint(const std::string& checkpointDir, Network& network, Optimizer& optimizer,
                               SharpnessRule* rule) {
  const fs::path directory(checkpointDir);
  const std::string statePath = (directory / "state.json").string();
  std::ifstream in(statePath);
  // A directory opens as a stream too, and reading it then throws std::ios_base::failure out of
  // json::parse (found by tests/fuzz).
  std::error_code notAFile;
  if (!in || !fs::is_regular_file(statePath, notAFile)) throw Error(statePath + ": missing from the checkpoint");
  CheckpointState state;
  try {
    const json j = json::parse(in);
    state.epochsCompleted = j.at("epochs_completed").get<int>();
    state.globalStep = j.at("global_step").get<std::int64_t>();
    state.dataOrderState = j.at("data_order_state").get<std::string>();
    state.seconds = j.at("seconds").get<double>();
    for (const auto& m : j.at("epochs")) state.epochs.push_back(metricsFromJson(m));
  } catch (const json::exception& error) {
    throw Error(statePath + ": malformed checkpoint state: " + error.what());
  }
  network.load((directory / "model.pt").string());
  const std::string optimizerPath = (directory / "optimizer.pt").string();
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(optimizerPath);
    requireOptimizerStateFits(archive, network.parameters(), optimizerPath);
    optimizer.loadState(archive);
    if (rule != nullptr) {
      ArchiveRuleStateReader reader(archive, ruleStatePrefix(*rule), optimizerPath);
      rule->loadState(reader, network.parameters());
    }
    torch::Tensor generatorState;
    archive.read("torch_cpu_generator_state", generatorState);
    const auto generatorLock = lockGlobalGenerator();
    at::Generator generator = at::globalContext().defaultGenerator(at::kCPU);
    generator.set_state(generatorState);
    // CUDA generators (dropout and the like on a GPU); a checkpoint moved to a machine with fewer
    // devices restores those it can.
    for (int device = 0; device < cudaDeviceCount(); ++device) {
      torch::Tensor cudaState;
      if (!archive.try_read("torch_cuda_generator_state_" + std::to_string(device), cudaState)) continue;
      at::Generator cudaGenerator =
          at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
      cudaGenerator.set_state(cudaState);
    }
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& error) {
    throw Error(optimizerPath + ": cannot restore the optimizer state: " + error.what_without_backtrace());
  } catch (const std::exception& error) {
    // Not every LibTorch failure is a c10::Error: a damaged archive's TorchScript code gives
    // torch::jit::ErrorReport ("Unexpected token in code import", found by tests/fuzz).
    throw Error(optimizerPath + ": cannot restore the optimizer state: " + firstLine(error.what()));
  }
  return state;
}

}  // namespace samscape

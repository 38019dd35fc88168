#include "core/train/Checkpoint.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/Error.h"
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
  return m;
}

}  // namespace

std::string writeCheckpoint(const std::string& checkpointsDir, Network& network, const Optimizer& optimizer,
                            const CheckpointState& state) {
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

std::string latestCheckpoint(const std::string& checkpointsDir) {
  const fs::path latest = fs::path(checkpointsDir) / "latest";
  std::ifstream in(latest);
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) {
    throw Error(latest.string() + ": no checkpoint to resume from (the run has not completed an epoch)");
  }
  const fs::path directory = fs::path(checkpointsDir) / name;
  if (!fs::is_directory(directory)) throw Error(directory.string() + ": checkpoint named by 'latest' is missing");
  return directory.string();
}

CheckpointState readCheckpoint(const std::string& checkpointDir, Network& network, Optimizer& optimizer) {
  const fs::path directory(checkpointDir);
  const std::string statePath = (directory / "state.json").string();
  std::ifstream in(statePath);
  if (!in) throw Error(statePath + ": missing from the checkpoint");
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
    optimizer.loadState(archive);
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
  } catch (const c10::Error& error) {
    throw Error(optimizerPath + ": cannot restore the optimizer state: " + error.what_without_backtrace());
  }
  return state;
}

}  // namespace samscape

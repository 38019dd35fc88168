#include "session/AnalysisRecords.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/Runtime.h"

namespace samscape {

std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch,
                                            const std::string& directory, const std::string& analysisJson) {
  const auto json = nlohmann::json::parse(analysisJson);
  const std::filesystem::path base(directory);
  auto file = [&](const std::string& role, const std::string& name) { return AnalysisFile{role, (base / name).string()}; };
  std::vector<AnalysisRecord> records;
  auto add = [&](const std::string& kind, nlohmann::json values, std::vector<AnalysisFile> files) {
    AnalysisRecord record;
    record.runId = runId;
    record.epoch = epoch;
    record.kind = kind;
    record.valuesJson = values.dump();
    record.files = std::move(files);
    records.push_back(std::move(record));
  };
  if (json.contains("loss")) {
    add("loss", {{"loss", json["loss"]}, {"accuracy", json.value("accuracy", nlohmann::json())},
                 {"split", json.value("split", "")}, {"examples", json.value("examples", 0)}},
        {file("analysis.json", "analysis.json")});
  }
  if (json.contains("hessian")) add("hessian", json["hessian"], {});
  if (json.contains("trace")) add("trace", json["trace"], {});
  if (json.contains("esd")) add("esd", json["esd"], {file("esd.csv", "esd.csv")});
  if (json.contains("m_sharpness")) {
    nlohmann::json values = json.value("m_sharpness_details", nlohmann::json::object());
    values["value"] = json["m_sharpness"];
    add("m_sharpness", values, {});
  }
  if (json.contains("per_layer")) add("per_layer", json["per_layer"], {file("per_layer.csv", "per_layer.csv")});
  if (json.contains("slice") && json["slice"].contains("skipped")) {
    add("slice", json["slice"], {});  // e.g. pca directions before the run has three checkpoints
  } else if (json.contains("slice")) {
    std::vector<AnalysisFile> files{file("slice.csv", "slice.csv"), file("directions", "directions.bin")};
    if (json["slice"].value("complete", false)) files.push_back(file("slice.vts", "slice.vts"));
    add("slice", json["slice"], files);
  }
  if (json.contains("interpolation")) add("interpolation", json["interpolation"], {file("interpolation.csv", "interpolation.csv")});
  if (json.contains("bezier")) add("bezier", json["bezier"], {file("bezier.csv", "bezier.csv")});
  if (json.contains("trajectory") && json["trajectory"].contains("file")) {
    std::vector<AnalysisFile> files{file("trajectory.csv", "trajectory.csv")};
    if (json["trajectory"].contains("slice_file")) files.push_back(file("trajectory_on_slice.csv", "trajectory_on_slice.csv"));
    add("trajectory", json["trajectory"], files);
  }
  return records;
}

std::string versionsJson() {
  const RuntimeInfo info = runtimeInfo();
  return nlohmann::json{{"samscape", info.samscapeVersion},
                        {"torch", info.torchVersion},
                        {"compiler", info.compiler},
                        {"cuda_available", info.cudaAvailable},
                        {"cuda_devices", info.cudaDeviceCount}}
      .dump();
}

}  // namespace samscape

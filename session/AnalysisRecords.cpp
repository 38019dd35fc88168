#include "session/AnalysisRecords.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "analysis/stages/AnalysisStage.h"
#include "core/Runtime.h"

namespace samscape {

std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch,
                                            const std::string& directory, const std::string& analysisJson) {
  const auto document = nlohmann::json::parse(analysisJson);
  std::vector<StageRecord> stageRecords;
  for (const auto& stage : analysisStages()) stage->addRecords(document, stageRecords);
  // What each stage cost (analysis/StageCost.h), as one record of the analysis.
  if (const auto costs = document.find("costs"); costs != document.end() && costs->is_array()) {
    stageRecords.push_back({"cost", *costs, {}});
  }
  const std::filesystem::path base(directory);
  std::vector<AnalysisRecord> records;
  for (StageRecord& stageRecord : stageRecords) {
    AnalysisRecord record;
    record.runId = runId;
    record.epoch = epoch;
    record.kind = stageRecord.kind;
    record.valuesJson = stageRecord.values.dump();
    for (const auto& [role, name] : stageRecord.files) record.files.push_back(AnalysisFile{role, (base / name).string()});
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch, const AnalysisResults& results) {
  return analysisRecords(runId, epoch, results.directory, results.jsonText);
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

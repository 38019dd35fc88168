#include "analysis/AnalysisDirectory.h"

#include <filesystem>

#include "analysis/stages/AnalysisStage.h"
#include "core/JsonFile.h"

namespace samscape {

namespace {

AnalysisResults readDocument(const nlohmann::json& document, const std::string& directory, std::string jsonText) {
  const AnalysisJsonReader reader(document, directory);
  AnalysisResults results;
  const auto status = document.find("status");
  if (status == document.end() || !status->is_string()) reader.fail("no status");
  results.status = status->get<std::string>();
  results.directory = directory;
  results.jsonText = std::move(jsonText);
  if (const auto files = document.find("files"); files != document.end() && files->is_array()) {
    for (const auto& name : *files) {
      if (name.is_string()) results.files.push_back(name.get<std::string>());
    }
  }
  for (const auto& stage : analysisStages()) stage->read(reader, results);
  if (const auto costs = document.find("costs"); costs != document.end()) {
    if (!costs->is_array()) reader.fail("costs must be a list");
    for (const auto& entry : *costs) results.costs.push_back(StageCost::fromJson(entry, reader.file("analysis.json")));
  }
  return results;
}

}  // namespace

AnalysisResults readAnalysisDirectory(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "analysis.json").string();
  const nlohmann::json document = readJsonObjectFile(path, "analysis.json");
  return readDocument(document, directory, document.dump(2) + "\n");
}

}  // namespace samscape

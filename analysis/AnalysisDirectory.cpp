#include "analysis/AnalysisDirectory.h"

#include <filesystem>

#include "analysis/stages/AnalysisStage.h"
#include "core/Error.h"
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
  return results;
}

}  // namespace

AnalysisResults readAnalysisDirectory(const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "analysis.json").string();
  const nlohmann::json document = readJsonObjectFile(path, "analysis.json");
  return readDocument(document, directory, document.dump(2) + "\n");
}

AnalysisResults readAnalysisDocument(const std::string& jsonText, const std::string& directory) {
  const std::string path = (std::filesystem::path(directory) / "analysis.json").string();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(jsonText);
  } catch (const nlohmann::json::exception& error) {
    throw DataError(path, std::string("not JSON: ") + error.what());
  }
  if (!document.is_object()) throw DataError(path, "must be a JSON object");
  return readDocument(document, directory, jsonText);
}

}  // namespace samscape

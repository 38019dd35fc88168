#pragma once
// Reading a JSON file that must hold an object (run.json, analysis.json, a --config file), with errors
// that name the file. Plain C++ and nlohmann::json.

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "core/Error.h"

namespace samscape {

// Throws DataError naming `path` when it cannot be opened, is not JSON (numbers out of range included)
// or is not an object; `what` names the file's kind for the first ("cannot open run.json").
inline nlohmann::json readJsonObjectFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw DataError(path, "cannot open " + what);
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    throw DataError(path, std::string("not valid JSON: ") + error.what());
  }
  if (!document.is_object()) throw DataError(path, "expected a JSON object");
  return document;
}

}  // namespace samscape

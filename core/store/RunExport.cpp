#include "core/store/RunExport.h"


#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/train/TrainingMetrics.h"
#include "core/AtomicFile.h"
#include "core/Error.h"

namespace samscape {
namespace fs = std::filesystem;
using nlohmann::json;

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string formatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

namespace {

// Written beside, synced, renamed (core/AtomicFile.h); a failure names --out.
void writeAtomically(const fs::path& path, const std::string& content) {
  try {
    writeFileAtomically(path.string(), content);
  } catch (const Error& error) {
    throw ConfigError("--out", path.string(), error.what());
  }
}

std::string row(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csvField(fields[i]);
  return line + "\n";
}

std::string epochText(const std::optional<int>& epoch) { return epoch ? std::to_string(*epoch) : ""; }

// The metrics of an epoch by their keys (core/train/TrainingMetrics.h), in its order; validation only
// when measured.
std::vector<std::pair<std::string, double>> namedMetrics(const EpochMetrics& m) {
  std::vector<std::pair<std::string, double>> named;
  for (const MetricDefinition& metric : trainingMetrics()) {
    if (const auto value = trainingMetricValue(metric.key, m)) named.emplace_back(metric.key, *value);
  }
  return named;
}

// Losses are best low, accuracies high; the learning rate and the time have no "best".
std::optional<bool> lowerIsBetter(const std::string& key) {
  for (const MetricDefinition& metric : trainingMetrics()) {
    if (metric.key != key) continue;
    if (metric.better == MetricDefinition::Better::Neither) return std::nullopt;
    return metric.better == MetricDefinition::Better::Lower;
  }
  return std::nullopt;
}

// A config value as one CSV cell: strings as they are, numbers and booleans as JSON writes them,
// lists and objects as JSON text.
std::string cellOf(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return formatNumber(value.get<double>());
  if (value.is_null()) return "";
  return value.dump();
}

void flattenConfig(const json& value, const std::string& prefix, std::map<std::string, std::string>& cells) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items())
      flattenConfig(child, prefix.empty() ? key : prefix + "." + key, cells);
  } else {
    cells[prefix] = cellOf(value);
  }
}

struct AnalysisCell {
  std::string key;
  std::string index;
  double value;
};

void flattenNumbers(const json& value, const std::string& key, std::vector<AnalysisCell>& cells) {
  if (value.is_object()) {
    for (const auto& [name, child] : value.items())
      flattenNumbers(child, key.empty() ? name : key + "." + name, cells);
  } else if (value.is_array()) {
    const bool flat = std::all_of(value.begin(), value.end(),
                                  [](const json& e) { return e.is_number() || e.is_boolean(); });
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (flat) {
        const json& element = value[i];
        cells.push_back({key, std::to_string(i),
                         element.is_boolean() ? (element.get<bool>() ? 1.0 : 0.0) : element.get<double>()});
      } else {
        flattenNumbers(value[i], key + "." + std::to_string(i), cells);
      }
    }
  } else if (value.is_number()) {
    cells.push_back({key, "", value.get<double>()});
  } else if (value.is_boolean()) {
    cells.push_back({key, "", value.get<bool>() ? 1.0 : 0.0});
  }
}

json parseOrText(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error&) {
    return text;  // kept as text rather than dropped
  }
}

}  // namespace

ExportSummary exportRuns(const RunStore& store, const std::vector<std::int64_t>& runIds,
                         const std::string& directory) {
  const fs::path out = fs::absolute(directory);
  std::error_code error;
  fs::create_directories(out, error);
  if (error || !fs::is_directory(out)) {
    throw ConfigError("--out", directory,
                      "cannot create the directory" + (error ? ": " + error.message() : std::string()));
  }

  std::vector<RunRecord> runs;
  for (const auto id : runIds) runs.push_back(store.run(id));

  ExportSummary summary;
  std::string tidy = row({"run", "epoch", "metric", "value"});
  std::map<std::string, bool> metricsSeen;  // the metrics any run has, for runs.csv's columns
  std::vector<std::map<std::string, std::pair<double, std::optional<double>>>> finalAndBest(runs.size());
  std::vector<std::size_t> epochCounts(runs.size());
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto epochs = store.metrics(runs[r].id);
    epochCounts[r] = epochs.size();
    for (const EpochMetrics& m : epochs) {
      for (const auto& [metric, value] : namedMetrics(m)) {
        tidy += row({std::to_string(runs[r].id), std::to_string(m.epoch), metric, formatNumber(value)});
        ++summary.metricRows;
        metricsSeen[metric] = true;
        auto& [last, best] = finalAndBest[r][metric];
        last = value;
        const auto lower = lowerIsBetter(metric);
        if (lower && !std::isnan(value) && (!best || (*lower ? value < *best : value > *best))) best = value;
      }
    }
  }

  // runs.csv: the config columns are the union of every exported run's keys, in sorted order.
  std::vector<std::map<std::string, std::string>> configs(runs.size());
  std::set<std::string> configKeys;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    flattenConfig(parseOrText(runs[r].configJson), "", configs[r]);
    for (const auto& [key, cell] : configs[r]) configKeys.insert(key);
  }
  std::vector<std::string> header = {"id",      "name",       "status",     "tags",
                                     "notes",   "created_at", "started_at", "finished_at",
                                     "seconds", "device",     "out_dir",    "epochs"};
  for (const auto& key : configKeys) header.push_back("config." + key);
  std::vector<std::string> metricColumns;
  for (const MetricDefinition& definition : trainingMetrics()) {
    const std::string& metric = definition.key;
    if (!metricsSeen.count(metric)) continue;
    header.push_back("final_" + metric);
    metricColumns.push_back("final_" + metric);
    if (lowerIsBetter(metric)) {
      header.push_back("best_" + metric);
      metricColumns.push_back("best_" + metric);
    }
  }
  std::string wide = row(header);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const RunRecord& run = runs[r];
    std::string tags;
    for (const auto& tag : run.tags) tags += (tags.empty() ? "" : ";") + tag;
    std::vector<std::string> fields = {std::to_string(run.id),
                                       run.name,
                                       nameOf(run.status),
                                       tags,
                                       run.notes,
                                       run.createdAt,
                                       run.startedAt,
                                       run.finishedAt,
                                       formatNumber(run.seconds),
                                       run.device,
                                       run.outDir,
                                       std::to_string(epochCounts[r])};
    for (const auto& key : configKeys) {
      const auto cell = configs[r].find(key);
      fields.push_back(cell == configs[r].end() ? "" : cell->second);
    }
    for (const auto& column : metricColumns) {
      const bool isFinal = column.rfind("final_", 0) == 0;
      const std::string metric = column.substr(isFinal ? 6 : 5);
      const auto found = finalAndBest[r].find(metric);
      if (found == finalAndBest[r].end()) {
        fields.emplace_back();
      } else if (isFinal) {
        fields.push_back(formatNumber(found->second.first));
      } else {
        fields.push_back(found->second.second ? formatNumber(*found->second.second) : "");
      }
    }
    wide += row(fields);
  }

  // Analyses.
  std::string analysisCsv = row({"run", "epoch", "kind", "key", "index", "value"});
  std::string filesCsv = row({"run", "epoch", "kind", "role", "path"});
  json whole = json::array();
  std::vector<std::pair<fs::path, fs::path>> copies;
  for (const RunRecord& run : runs) {
    for (const AnalysisRecord& analysis : store.analyses(run.id)) {
      const json values = parseOrText(analysis.valuesJson);
      std::vector<AnalysisCell> cells;
      flattenNumbers(values, "", cells);
      for (const AnalysisCell& cell : cells) {
        analysisCsv += row({std::to_string(run.id), epochText(analysis.epoch), analysis.kind, cell.key,
                            cell.index, formatNumber(cell.value)});
        ++summary.analysisRows;
      }
      json files = json::array();
      for (const AnalysisFile& file : analysis.files) {
        std::string path = file.path;
        const fs::path source(file.path);
        if (source.extension() == ".csv" && fs::is_regular_file(source)) {
          const fs::path copy =
              out / "files" / ("run-" + std::to_string(run.id)) /
              (std::to_string(analysis.id) + "-" + analysis.kind + "-" + source.filename().string());
          copies.emplace_back(source, copy);
          path = copy.string();
        }
        filesCsv += row({std::to_string(run.id), epochText(analysis.epoch), analysis.kind, file.role, path});
        files.push_back({{"role", file.role}, {"path", path}, {"source", file.path}});
      }
      whole.push_back({{"run", run.id},
                       {"epoch", analysis.epoch ? json(*analysis.epoch) : json(nullptr)},
                       {"kind", analysis.kind},
                       {"values", values},
                       {"files", files},
                       {"created_at", analysis.createdAt}});
    }
  }

  const auto write = [&](const std::string& name, const std::string& content) {
    writeAtomically(out / name, content);
    summary.files.push_back((out / name).string());
  };
  for (const auto& [source, copy] : copies) {
    fs::create_directories(copy.parent_path(), error);
    std::ifstream in(source, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in && !in.eof()) throw DataError(source.string(), "cannot read the analysis file to export it");
    writeAtomically(copy, content.str());
    summary.files.push_back(copy.string());
  }
  write("metrics.csv", tidy);
  write("runs.csv", wide);
  write("analysis.csv", analysisCsv);
  write("analysis_files.csv", filesCsv);
  write("analyses.json", whole.dump(2) + "\n");
  return summary;
}

}  // namespace samscape

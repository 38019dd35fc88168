#include "analysis/AnalysisBudget.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/options/OptionTable.h"

namespace samscape {
namespace {

using nlohmann::json;

// A measured share: "39%", "4.2%".
std::string measuredPercent(double fraction) {
  char text[32];
  const double percent = fraction * 100.0;
  std::snprintf(text, sizeof text, percent < 10.0 ? "%.1f%%" : "%.0f%%", percent);
  return text;
}

// "0.42 s", "3.1 s", "31 s", "12.5 min", "2.1 h": seconds up to ten minutes, so that a cost and the
// training it is set against usually read in the same unit.
std::string secondsText(double value) {
  char text[32];
  if (!(value >= 0.0) || !std::isfinite(value)) return "-- s";
  if (value < 1.0) {
    std::snprintf(text, sizeof text, "%.2f s", value);
  } else if (value < 10.0) {
    std::snprintf(text, sizeof text, "%.1f s", value);
  } else if (value < 600.0) {
    std::snprintf(text, sizeof text, "%.0f s", value);
  } else if (value < 36000.0) {
    std::snprintf(text, sizeof text, "%.1f min", value / 60.0);
  } else {
    std::snprintf(text, sizeof text, "%.1f h", value / 3600.0);
  }
  return text;
}

json costJson(const AnalysisCost& cost) {
  return {{"epoch", cost.epoch},
          {"skipped", cost.skipped},
          {"seconds", cost.seconds},
          {"training_seconds", cost.trainingSeconds},
          {"analysis_seconds", cost.analysisSeconds},
          {"fraction", cost.fraction()},
          {"analysed", cost.analysed},
          {"skipped_count", cost.skippedCount}};
}

}  // namespace

std::string analysisBudgetProblem(double budget) {
  if (std::isnan(budget) || budget < 0.0 || budget > kMaxAnalysisBudget) {
    return "must be a fraction of the training time from 0 (no limit) to 100, e.g. 0.25";
  }
  return "";
}

double AnalysisCost::fraction() const {
  return trainingSeconds > 0.0 ? analysisSeconds / trainingSeconds : 0.0;
}

AnalysisBudget::AnalysisBudget(double budget) : budget_(budget) {
  const std::string problem = analysisBudgetProblem(budget);
  if (!problem.empty()) throw ConfigError("--analysis-budget", optionText(json(budget)), problem);
}

double AnalysisBudget::fraction() const {
  return trainingSeconds_ > 0.0 ? analysisSeconds_ / trainingSeconds_ : 0.0;
}

void AnalysisBudget::addTraining(double seconds) {
  if (std::isfinite(seconds) && seconds > 0.0) trainingSeconds_ += seconds;
}

bool AnalysisBudget::allows(bool lastEpoch) const {
  return lastEpoch || !limited() || analysisSeconds_ <= budget_ * trainingSeconds_;
}

AnalysisCost AnalysisBudget::cost(int epoch, bool skipped, double seconds) const {
  AnalysisCost cost;
  cost.epoch = epoch;
  cost.skipped = skipped;
  cost.seconds = seconds;
  cost.trainingSeconds = trainingSeconds_;
  cost.analysisSeconds = analysisSeconds_;
  cost.budget = budget_;
  cost.analysed = analysed_;
  cost.skippedCount = skipped_;
  return cost;
}

AnalysisCost AnalysisBudget::recordAnalysis(int epoch, double seconds) {
  if (!(std::isfinite(seconds) && seconds > 0.0)) seconds = 0.0;
  analysisSeconds_ += seconds;
  ++analysed_;
  return cost(epoch, false, seconds);
}

AnalysisCost AnalysisBudget::recordSkip(int epoch) {
  ++skipped_;
  return cost(epoch, true, 0.0);
}

void AnalysisBudget::restore(double trainingSeconds, const AnalysisCost* last) {
  trainingSeconds_ = 0.0;
  addTraining(trainingSeconds);
  analysisSeconds_ =
      last != nullptr && std::isfinite(last->analysisSeconds) ? std::max(0.0, last->analysisSeconds) : 0.0;
  analysed_ = last != nullptr ? last->analysed : 0;
  skipped_ = last != nullptr ? last->skippedCount : 0;
}

std::string budgetText(double budget) {
  if (!(budget > 0.0)) return "no limit";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g%%", budget * 100.0);
  return text;
}

std::string analysisCostLine(const AnalysisCost& cost) {
  return "analysis of epoch " + std::to_string(cost.epoch) + ": " + secondsText(cost.seconds) + " (" +
         measuredPercent(cost.fraction()) + " of training so far, budget " + budgetText(cost.budget) + ")";
}

std::string analysisSkipLine(const AnalysisCost& cost) {
  return "analysis of epoch " + std::to_string(cost.epoch) + " skipped: analyses took " +
         secondsText(cost.analysisSeconds) + " of " + secondsText(cost.trainingSeconds) + " training (" +
         measuredPercent(cost.fraction()) + " > budget " + budgetText(cost.budget) +
         "); --analysis-budget raises it";
}

std::string analysisTotalLine(const AnalysisCost& last) {
  std::string line = "analyses: " + secondsText(last.analysisSeconds) + " of " +
                     secondsText(last.trainingSeconds) + " training (" + measuredPercent(last.fraction()) +
                     ", budget " + budgetText(last.budget) + "); " + std::to_string(last.analysed) + " ran";
  if (last.skippedCount > 0) line += ", " + std::to_string(last.skippedCount) + " skipped (over budget)";
  return line;
}

std::string analysisBudgetJson(double budget, const std::vector<AnalysisCost>& costs) {
  json entries = json::array();
  for (const AnalysisCost& cost : costs) entries.push_back(costJson(cost));
  json document = {{"budget", budget}, {"epochs", entries}};
  if (!costs.empty()) {
    const AnalysisCost& last = costs.back();
    document["training_seconds"] = last.trainingSeconds;
    document["analysis_seconds"] = last.analysisSeconds;
    document["fraction"] = last.fraction();
    document["analysed"] = last.analysed;
    document["skipped"] = last.skippedCount;
  }
  return document.dump(2) + "\n";
}

std::vector<AnalysisCost> readAnalysisBudgetFile(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  const json document = readJsonObjectFile(path, "the analysis budget file");
  // Checked before converting: a number out of an int's range would be undefined behaviour.
  const auto seconds = [&](const json& object, const char* key) {
    const auto found = object.find(key);
    if (found == object.end() || !found->is_number() || !std::isfinite(found->get<double>()) ||
        found->get<double>() < 0.0) {
      throw DataError(path, std::string("\"") + key + "\" must be a number of seconds, 0 or more");
    }
    return found->get<double>();
  };
  const auto count = [&](const json& object, const char* key) {
    const auto found = object.find(key);
    if (found == object.end() || !found->is_number_integer() || found->get<std::int64_t>() < 0 ||
        found->get<std::int64_t>() > 1000000000) {
      throw DataError(path, std::string("\"") + key + "\" must be a count, 0 or more");
    }
    return static_cast<int>(found->get<std::int64_t>());
  };
  const auto budget = document.find("budget");
  if (budget == document.end() || !budget->is_number() ||
      !analysisBudgetProblem(budget->get<double>()).empty()) {
    throw DataError(path, "\"budget\" must be a fraction from 0 to 100");
  }
  const auto entries = document.find("epochs");
  if (entries == document.end() || !entries->is_array()) throw DataError(path, "\"epochs\" must be a list");
  std::vector<AnalysisCost> costs;
  for (const json& entry : *entries) {
    if (!entry.is_object()) throw DataError(path, "each of \"epochs\" must be an object");
    const auto skipped = entry.find("skipped");
    if (skipped == entry.end() || !skipped->is_boolean())
      throw DataError(path, "\"skipped\" must be true or false");
    AnalysisCost cost;
    cost.epoch = count(entry, "epoch");
    cost.skipped = skipped->get<bool>();
    cost.seconds = seconds(entry, "seconds");
    cost.trainingSeconds = seconds(entry, "training_seconds");
    cost.analysisSeconds = seconds(entry, "analysis_seconds");
    cost.analysed = count(entry, "analysed");
    cost.skippedCount = count(entry, "skipped_count");
    cost.budget = budget->get<double>();
    costs.push_back(cost);
  }
  return costs;
}

}  // namespace samscape

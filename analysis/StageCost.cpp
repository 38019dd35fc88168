#include "analysis/StageCost.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/Error.h"
#include "core/options/OptionCost.h"

namespace samscape {
namespace {

// A "VmXXX:   1234 kB" line of /proc/self/status, in bytes.
std::optional<double> statusBytes(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    double kilobytes = 0.0;
    if (std::sscanf(line.c_str() + prefix.size(), "%lf", &kilobytes) == 1) return kilobytes * 1024.0;
  }
  return std::nullopt;
}

// Resets VmHWM to the current resident set (Linux 4.0 and later); false where that is not possible.
bool resetResidentPeak() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace

std::optional<double> StageCost::peakAddedBytes() const {
  if (!residentBytesBefore || !peakResidentBytes) return std::nullopt;
  return std::max(0.0, *peakResidentBytes - *residentBytesBefore);
}

nlohmann::json StageCost::toJson() const {
  nlohmann::json entry = {{"stage", stage}, {"seconds", seconds}, {"hvp_count", hessianVectorProducts}};
  if (residentBytesBefore) entry["rss_before_bytes"] = *residentBytesBefore;
  if (peakResidentBytes) entry["peak_rss_bytes"] = *peakResidentBytes;
  return entry;
}

StageCost StageCost::fromJson(const nlohmann::json& entry, const std::string& file) {
  const auto fail = [&](const std::string& problem) { throw DataError(file, "costs: " + problem); };
  if (!entry.is_object()) fail("each entry must be an object");
  StageCost cost;
  const auto stage = entry.find("stage");
  if (stage == entry.end() || !stage->is_string()) fail("an entry without its stage");
  cost.stage = stage->get<std::string>();
  const auto number = [&](const char* key) -> std::optional<double> {
    const auto found = entry.find(key);
    if (found == entry.end() || found->is_null()) return std::nullopt;
    if (!found->is_number()) fail(cost.stage + "." + key + " must be a number");
    return found->get<double>();
  };
  cost.seconds = number("seconds").value_or(0.0);
  cost.hessianVectorProducts = static_cast<std::int64_t>(number("hvp_count").value_or(0.0));
  cost.residentBytesBefore = number("rss_before_bytes");
  cost.peakResidentBytes = number("peak_rss_bytes");
  return cost;
}

StageCostMeter::StageCostMeter(std::string stage, std::int64_t productsBefore)
    : stage_(std::move(stage)), productsBefore_(productsBefore) {
  if (resetResidentPeak()) residentBefore_ = statusBytes("VmRSS");
  start_ = std::chrono::steady_clock::now();
}

StageCost StageCostMeter::finish(std::int64_t productsAfter) const {
  StageCost cost;
  cost.stage = stage_;
  cost.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  cost.hessianVectorProducts = productsAfter - productsBefore_;
  if (residentBefore_) {
    cost.residentBytesBefore = residentBefore_;
    cost.peakResidentBytes = statusBytes("VmHWM");
  }
  return cost;
}

std::string stageCostLine(const StageCost& cost) {
  std::ostringstream line;
  line << cost.stage << " " << formatDuration(cost.seconds);
  if (cost.hessianVectorProducts > 0) line << ", " << cost.hessianVectorProducts << " Hessian-vector products";
  if (const auto added = cost.peakAddedBytes()) {
    line << ", peak memory +" << formatBytes(*added);
  }
  return line.str();
}

}  // namespace samscape

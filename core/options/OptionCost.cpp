#include "core/options/OptionCost.h"

#include <cmath>
#include <cstdio>

namespace samscape {
namespace {

std::string resourceProblem(const OptionCost& cost, double machineBytes) {
  std::string problem = "would need about " + formatBytes(cost.bytes) + " of memory";
  if (!cost.what.empty()) problem += " (" + cost.what + ")";
  return problem + "; this machine has " + formatBytes(machineBytes);
}

std::string withDigits(double value, const char* unit) {
  char text[64];
  std::snprintf(text, sizeof text, value < 10.0 ? "%.1f %s" : "%.0f %s", value, unit);
  return text;
}

}  // namespace

ResourceError::ResourceError(const std::string& flag, const std::string& value, const OptionCost& cost,
                             double machineBytes)
    : ConfigError(flag, value, resourceProblem(cost, machineBytes)) {}

OutOfMemoryError::OutOfMemoryError(const std::string& stage, const std::string& detail)
    : Error("out of memory in " + stage + (detail.empty() ? std::string() : " (" + printable(detail) + ")") +
            ": the job asked for more memory than the machine could give; use smaller sizes") {}

std::string formatBytes(double bytes) {
  if (!std::isfinite(bytes)) return "more memory than can be counted";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 6) {
    bytes /= 1024.0;
    ++unit;
  }
  if (unit == 6 && bytes >= 1024.0) return "over 1024 EiB";
  return withDigits(bytes, units[unit]);
}

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds)) return "longer than can be counted";
  if (seconds < 60.0) return withDigits(seconds, "s");
  if (seconds < 3600.0) return withDigits(seconds / 60.0, "min");
  if (seconds < 86400.0) return withDigits(seconds / 3600.0, "h");
  if (seconds < 365.25 * 86400.0) return withDigits(seconds / 86400.0, "days");
  const double years = seconds / (365.25 * 86400.0);
  if (years > 1e6) return "over a million years";
  return withDigits(years, "years");
}

}  // namespace samscape

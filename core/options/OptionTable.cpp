#include "core/options/OptionTable.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

namespace samscape {
namespace {

bool parseInteger(const std::string& text, nlohmann::json& out) {
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (text[0] == '-') {
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(first, last, value);
    if (error != std::errc() || end != last) return false;
    out = value;
  } else {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text[0] == '+' ? first + 1 : first, last, value);
    if (error != std::errc() || end != last) return false;
    out = value;
  }
  return true;
}

bool parseReal(const std::string& text, double& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  try {
    std::size_t used = 0;
    out = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

namespace option_detail {

void wrongType(const OptionInfo& option, const nlohmann::json& value, const std::string& expected) {
  throw ConfigError(option.flag(), value.is_string() ? value.get<std::string>() : optionText(value),
                    "expected " + expected);
}

}  // namespace option_detail

nlohmann::json parseOptionText(const OptionInfo& option, const std::string& text) {
  switch (option.kind) {
    case OptionKind::Switch:
      if (text.empty() || text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      throw ConfigError(option.flag(), text, "expected true or false");
    case OptionKind::Integer: {
      nlohmann::json value;
      if (!parseInteger(text, value)) throw ConfigError(option.flag(), text, "expected an integer");
      return value;
    }
    case OptionKind::Real: {
      double value = 0.0;
      if (!parseReal(text, value)) throw ConfigError(option.flag(), text, "expected a number");
      return value;
    }
    case OptionKind::IntegerList: {
      nlohmann::json list = nlohmann::json::array();
      if (text.empty()) return list;
      std::stringstream items(text);
      for (std::string item; std::getline(items, item, ',');) {
        nlohmann::json value;
        if (!parseInteger(item, value)) {
          throw ConfigError(option.flag(), text, "expected integers separated by commas");
        }
        list.push_back(value);
      }
      if (text.back() == ',') throw ConfigError(option.flag(), text, "expected integers separated by commas");
      return list;
    }
    case OptionKind::Text:
    case OptionKind::Path:
    case OptionKind::Choice:
    case OptionKind::Range:
      return text;
  }
  return text;
}

std::string optionText(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isnan(number)) return "nan";
    if (std::isinf(number)) return number > 0 ? "inf" : "-inf";
    // The shortest text that reads back as the same double, in plain decimals when that stays short
    // ("0.0005" rather than "5e-04"), else in scientific notation ("1e-08", "1e+30").
    char buffer[400];
    const auto shortest = std::to_chars(buffer, buffer + sizeof buffer, number);
    if (shortest.ec != std::errc()) return value.dump();
    const std::string general(buffer, shortest.ptr);
    const auto fixed = std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::fixed);
    if (fixed.ec == std::errc() && fixed.ptr - buffer <= static_cast<std::ptrdiff_t>(general.size()) + 2) {
      return std::string(buffer, fixed.ptr);
    }
    return general;
  }
  if (value.is_array()) {
    std::string text;
    for (const auto& item : value) {
      // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wstringop-overflow) on "," + std::string.
      if (!text.empty()) text += ',';
      text += optionText(item);
    }
    return text;
  }
  return value.dump();
}

std::string optionTypeName(OptionKind kind) {
  switch (kind) {
    case OptionKind::Switch: return "";
    case OptionKind::Integer: return "INT";
    case OptionKind::Real: return "FLOAT";
    case OptionKind::Text: return "TEXT";
    case OptionKind::Path: return "PATH";
    case OptionKind::Choice: return "NAME";
    case OptionKind::IntegerList: return "INT,...";
    case OptionKind::Range: return "A:B";
  }
  return "TEXT";
}

std::pair<double, double> parseRangeText(const std::string& flag, const std::string& text) {
  const auto colon = text.find(':');
  double low = 0.0;
  double high = 0.0;
  if (colon == std::string::npos || !parseReal(text.substr(0, colon), low) ||
      !parseReal(text.substr(colon + 1), high) || !std::isfinite(low) || !std::isfinite(high) || !(low < high)) {
    throw ConfigError(flag, text, "expected a:b with a < b, e.g. -1:1");
  }
  return {low, high};
}

std::string rangeText(double low, double high) {
  return optionText(nlohmann::json(low)) + ":" + optionText(nlohmann::json(high));
}

// The weights are float32: a rate, a radius or a decay multiplies them as a float32 scalar, and LibTorch
// refuses one beyond float32's range ("cannot be converted to type float without overflow") mid-run.
std::string notFinite(double value) {
  if (!std::isfinite(value)) return "must be a finite number";
  return std::abs(value) <= static_cast<double>(std::numeric_limits<float>::max())
             ? ""
             : "must be within float32's range (at most 3.4e38 in size): the weights are float32";
}

std::string unlessPositive(double value) {
  if (const std::string problem = notFinite(value); !problem.empty()) return problem;
  return value > 0.0 ? "" : "must be positive";
}

std::string unlessNonNegative(double value) {
  if (const std::string problem = notFinite(value); !problem.empty()) return problem;
  return value >= 0.0 ? "" : "must be 0 or positive";
}

std::string unlessInHalfOpen(double value, double low, double high) {
  if (!std::isfinite(value)) return notFinite(value);
  return value >= low && value < high ? "" : "must be in [" + optionText(low) + ", " + optionText(high) + ")";
}

std::string unlessInClosed(double value, double low, double high) {
  if (!std::isfinite(value)) return notFinite(value);
  return value >= low && value <= high ? "" : "must be in [" + optionText(low) + ", " + optionText(high) + "]";
}

}  // namespace samscape

#pragma once
// Enumerations whose values have names a person types or reads (--optimizer sam, "status":
// "finished"). Each such enum declares its names once, in an inline function `names(E)` beside it
// (found by argument-dependent lookup); these templates give a value's name, the value of a name and
// the list of names from that one mapping. Plain C++: the store and the GUI use it without LibTorch.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace samscape {

template <typename E>
using EnumNames = std::vector<std::pair<E, std::string>>;

template <typename E>
const std::string& nameOf(E value) {
  for (const auto& [candidate, name] : names(E{})) {
    if (candidate == value) return name;
  }
  static const std::string unknown = "unknown";  // a value outside the enum: a programming error
  return unknown;
}

template <typename E>
std::optional<E> valueNamed(std::string_view name) {
  for (const auto& [value, candidate] : names(E{})) {
    if (candidate == name) return value;
  }
  return std::nullopt;
}

template <typename E>
std::vector<std::string> allNames() {
  std::vector<std::string> list;
  for (const auto& entry : names(E{})) list.push_back(entry.second);
  return list;
}

// "a, b or c": for messages that list the accepted names.
inline std::string joinNames(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

}  // namespace samscape

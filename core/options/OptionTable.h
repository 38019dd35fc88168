#pragma once
// A run's options, each described once: its key (the command line's --key and the key in --config
// files and run.json), a label a person reads ("Learning rate"), its help, its kind, the form group it
// belongs to, its choices, how to read and write it in the value it configures, and what makes a value
// invalid. The command line's flags, the JSON of --config and run.json, the validation messages and the
// app's launch form are all generated from such tables (core/train/TrainConfig.cpp for training,
// analysis/AnalysisOptions.cpp for the analyses, session/RunSpec.cpp for a whole run), so adding an
// option means adding one entry to one table.
// Plain C++ and nlohmann::json: no LibTorch, Qt or CLI11, so every layer can read the tables.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/Error.h"
#include "core/NamedEnum.h"
#include "core/options/OptionCost.h"

namespace samscape {

enum class OptionKind {
  Switch,       // on or off: a flag without a value on the command line, true/false in JSON
  Integer,
  Real,
  Text,
  Path,         // a file or directory
  Choice,       // one of `choices`
  IntegerList,  // comma-separated on the command line ("10,20"), a JSON array of integers in files
  Range,        // "a:b" with finite a < b, on the command line and in files
};

// Where the launch form shows an option, in this order. Recording (where a run goes and under which
// name) and Processes (how the ranks of a multi-process job meet) are not in the form: the window and
// the launcher decide those.
enum class OptionGroup { Data, Model, Optimization, Run, Analysis, Recording, Processes };
inline const EnumNames<OptionGroup>& names(OptionGroup) {
  static const EnumNames<OptionGroup> list{{OptionGroup::Data, "Data"},
                                           {OptionGroup::Model, "Model"},
                                           {OptionGroup::Optimization, "Optimization"},
                                           {OptionGroup::Run, "Run"},
                                           {OptionGroup::Analysis, "Analysis during training"},
                                           {OptionGroup::Recording, "Recording"},
                                           {OptionGroup::Processes, "Processes"}};
  return list;
}

// What the command line, the files and the form need to know of an option, whatever it configures.
struct OptionInfo {
  std::string key;    // "lr": the flag --lr, the JSON key "lr"
  std::string label;  // "Learning rate": what the form shows (the flag is in its tooltip)
  OptionKind kind = OptionKind::Text;
  OptionGroup group = OptionGroup::Run;
  std::string help;
  std::vector<std::string> choices;  // Choice only

  std::string flag() const { return "--" + key; }
};

// One option of a `Target` (TrainConfig, AnalysisRequest, RunSpec, ...).
template <typename Target>
struct Option {
  OptionInfo info;
  // The value as JSON of the kind's type: a bool, a number, a string ("a:b" for a range), an array.
  std::function<nlohmann::json(const Target&)> get;
  // Sets it from such JSON; throws ConfigError naming the flag for a value of the wrong type or an
  // unknown choice.
  std::function<void(Target&, const nlohmann::json&)> set;
  // The problem with the target's value of this option, or empty when it is valid. May look at other
  // options (--nesterov needs --momentum). Empty function: any value of the type is valid.
  std::function<std::string(const Target&)> check;
  // What the value costs (OptionCost.h), for an option that sets a size of memory or work: checked
  // against the machine before the job's work starts. Empty function: nothing to bound.
  std::function<OptionCost(const Target&, const JobShape&)> cost;
};

template <typename Target>
using OptionTable = std::vector<Option<Target>>;

template <typename Target>
using OptionCheck = std::function<std::string(const Target&)>;

template <typename Target>
using OptionCostFunction = std::function<OptionCost(const Target&, const JobShape&)>;

// ----- text and JSON ----------------------------------------------------------------------------------

// Text as the command line and the form give it, converted to the option's JSON type. A switch takes
// true/false/1/0. Throws ConfigError naming the flag and the text.
nlohmann::json parseOptionText(const OptionInfo& option, const std::string& text);
// The value as a person types it: numbers in their shortest exact form, lists comma-separated.
std::string optionText(const nlohmann::json& value);
// The placeholder the form and --help show for a value.
std::string optionTypeName(OptionKind kind);

namespace option_detail {

[[noreturn]] void wrongType(const OptionInfo& option, const nlohmann::json& value, const std::string& expected);

template <typename V>
V fromJson(const OptionInfo& option, const nlohmann::json& value) {
  if constexpr (std::is_same_v<V, bool>) {
    if (!value.is_boolean()) wrongType(option, value, "true or false");
    return value.get<bool>();
  } else if constexpr (std::is_integral_v<V>) {
    // 3 and 3.0 are both the integer 3; 3.5 is not an integer, and -1 is no seed. long double holds
    // every 64-bit integer exactly, so the range check is exact.
    long double number = 0.0L;
    if (value.is_number_unsigned()) {
      number = static_cast<long double>(value.get<std::uint64_t>());
    } else if (value.is_number_integer()) {
      number = static_cast<long double>(value.get<std::int64_t>());
    } else if (value.is_number_float() && std::isfinite(value.get<double>()) &&
               value.get<double>() == std::floor(value.get<double>())) {
      number = static_cast<long double>(value.get<double>());
    } else {
      wrongType(option, value, "an integer");
    }
    if (number < static_cast<long double>(std::numeric_limits<V>::min()) ||
        number > static_cast<long double>(std::numeric_limits<V>::max())) {
      wrongType(option, value, std::is_unsigned_v<V> ? "an integer of 0 or more" : "an integer in range");
    }
    return static_cast<V>(number);
  } else if constexpr (std::is_floating_point_v<V>) {
    if (!value.is_number()) wrongType(option, value, "a number");
    return value.get<double>();
  } else if constexpr (std::is_same_v<V, std::string>) {
    if (!value.is_string()) wrongType(option, value, "a string");
    return value.get<std::string>();
  } else if constexpr (std::is_same_v<V, std::vector<int>>) {
    if (!value.is_array()) wrongType(option, value, "a list of integers");
    std::vector<int> list;
    for (const auto& item : value) list.push_back(fromJson<int>(option, item));
    return list;
  } else {
    static_assert(std::is_same_v<V, bool>, "an option field of a type OptionTable does not know");
  }
}

template <typename V>
constexpr OptionKind kindOf() {
  if constexpr (std::is_same_v<V, bool>) return OptionKind::Switch;
  else if constexpr (std::is_integral_v<V>) return OptionKind::Integer;
  else if constexpr (std::is_floating_point_v<V>) return OptionKind::Real;
  else if constexpr (std::is_same_v<V, std::vector<int>>) return OptionKind::IntegerList;
  else return OptionKind::Text;
}

}  // namespace option_detail

// ----- building tables ----------------------------------------------------------------------------------
// `field` is an accessor that works on both a Target& and a const Target&, written as a generic lambda:
//   [](auto& config) -> auto& { return config.optimizer.learningRate; }
// The kind follows the field's type (bool: Switch, integers: Integer, double: Real, std::string: Text,
// std::vector<int>: IntegerList), unless `info.kind` says Path or Choice for a string.

template <typename Target, typename Field>
Option<Target> fieldOption(OptionInfo info, Field field, OptionCheck<Target> check = {},
                           OptionCostFunction<Target> cost = {}) {
  using V = std::decay_t<decltype(field(std::declval<Target&>()))>;
  constexpr OptionKind natural = option_detail::kindOf<V>();
  if (!(natural == OptionKind::Text && (info.kind == OptionKind::Path || info.kind == OptionKind::Choice))) {
    info.kind = natural;
  }
  Option<Target> option;
  option.info = info;
  option.get = [field](const Target& target) { return nlohmann::json(field(target)); };
  option.set = [field, info](Target& target, const nlohmann::json& value) {
    V converted = option_detail::fromJson<V>(info, value);
    if constexpr (std::is_same_v<V, std::string>) {
      if (info.kind == OptionKind::Choice &&
          std::find(info.choices.begin(), info.choices.end(), converted) == info.choices.end()) {
        throw ConfigError(info.flag(), converted, "expected " + joinNames(info.choices));
      }
    }
    field(target) = std::move(converted);
  };
  option.check = std::move(check);
  option.cost = std::move(cost);
  return option;
}

// An enum with names (NamedEnum.h), shown and typed by name.
template <typename Target, typename Field>
Option<Target> choiceOption(OptionInfo info, Field field, OptionCheck<Target> check = {}) {
  using E = std::decay_t<decltype(field(std::declval<Target&>()))>;
  info.kind = OptionKind::Choice;
  info.choices = allNames<E>();
  Option<Target> option;
  option.info = info;
  option.get = [field](const Target& target) { return nlohmann::json(nameOf(field(target))); };
  option.set = [field, info](Target& target, const nlohmann::json& value) {
    const std::string name = option_detail::fromJson<std::string>(info, value);
    const auto parsed = valueNamed<E>(name);
    if (!parsed) throw ConfigError(info.flag(), name, "expected " + joinNames(info.choices));
    field(target) = *parsed;
  };
  option.check = std::move(check);
  return option;
}

// A switch that is on when the bool `field` is false: "--no-augment" sets augment to false.
template <typename Target, typename Field>
Option<Target> negatedSwitchOption(OptionInfo info, Field field) {
  info.kind = OptionKind::Switch;
  Option<Target> option;
  option.info = info;
  option.get = [field](const Target& target) { return nlohmann::json(!field(target)); };
  option.set = [field, info](Target& target, const nlohmann::json& value) {
    field(target) = !option_detail::fromJson<bool>(info, value);
  };
  return option;
}

// Two doubles shown and typed as "a:b" (finite, a < b).
std::pair<double, double> parseRangeText(const std::string& flag, const std::string& text);
std::string rangeText(double low, double high);

template <typename Target, typename LowField, typename HighField>
Option<Target> rangeOption(OptionInfo info, LowField low, HighField high, OptionCheck<Target> check = {}) {
  info.kind = OptionKind::Range;
  Option<Target> option;
  option.info = info;
  option.get = [low, high](const Target& target) { return nlohmann::json(rangeText(low(target), high(target))); };
  option.set = [low, high, info](Target& target, const nlohmann::json& value) {
    const auto [a, b] = parseRangeText(info.flag(), option_detail::fromJson<std::string>(info, value));
    low(target) = a;
    high(target) = b;
  };
  option.check = std::move(check);
  return option;
}

// The same options over a larger value that holds the target (a TrainConfig inside a whole run's
// spec): keys, labels and checks are kept, `member` finds the part.
template <typename Outer, typename Inner, typename Member>
OptionTable<Outer> liftOptions(const OptionTable<Inner>& table, Member member) {
  OptionTable<Outer> lifted;
  for (const Option<Inner>& inner : table) {
    Option<Outer> option;
    option.info = inner.info;
    option.get = [get = inner.get, member](const Outer& outer) { return get(member(outer)); };
    option.set = [set = inner.set, member](Outer& outer, const nlohmann::json& value) { set(member(outer), value); };
    if (inner.check) {
      option.check = [check = inner.check, member](const Outer& outer) { return check(member(outer)); };
    }
    if (inner.cost) {
      option.cost = [cost = inner.cost, member](const Outer& outer, const JobShape& shape) {
        return cost(member(outer), shape);
      };
    }
    lifted.push_back(std::move(option));
  }
  return lifted;
}

// ----- using tables -----------------------------------------------------------------------------------

template <typename Target>
const Option<Target>* findOption(const OptionTable<Target>& table, const std::string& key) {
  for (const auto& option : table) {
    if (option.info.key == key) return &option;
  }
  return nullptr;
}

// Sets an option from the text a person typed (command line, form). Throws ConfigError naming the flag.
template <typename Target>
void setOptionText(Target& target, const Option<Target>& option, const std::string& text) {
  option.set(target, parseOptionText(option.info, text));
}

// Every option's value, by key.
template <typename Target>
nlohmann::json optionsToJson(const Target& target, const OptionTable<Target>& table) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& option : table) object[option.info.key] = option.get(target);
  return object;
}

// Sets one key from a file (`source`: a --config file, a run.json). A value of the wrong type is a
// ConfigError naming the option's flag, the value and the file.
template <typename Target>
void setOptionFromFile(Target& target, const Option<Target>& option, const nlohmann::json& value,
                       const std::string& source) {
  try {
    option.set(target, value);
  } catch (const ConfigError& error) {
    throw ConfigError(option.info.flag(), optionText(value), "in " + source + ": " + error.problem());
  }
}

// Applies the keys of `object` (a --config file, run.json's "config") over `target`. An unknown key is
// a ConfigError naming --config, `source` and the key; a bad value names its flag and `source`.
template <typename Target>
void applyOptionsJson(Target& target, const OptionTable<Target>& table, const nlohmann::json& object,
                      const std::string& source) {
  if (!object.is_object()) throw ConfigError("--config", source, "expected a JSON object of flag names");
  for (const auto& [key, value] : object.items()) {
    const Option<Target>* option = findOption(table, key);
    if (option == nullptr) throw ConfigError("--config", source, "unknown key \"" + key + "\"");
    setOptionFromFile(target, *option, value, source);
  }
}

// Throws ConfigError naming the flag and the value of the first option whose check finds a problem.
template <typename Target>
void validateOptions(const Target& target, const OptionTable<Target>& table) {
  for (const auto& option : table) {
    if (!option.check) continue;
    const std::string problem = option.check(target);
    if (!problem.empty()) throw ConfigError(option.info.flag(), optionText(option.get(target)), problem);
  }
}

// The memory and work of every option with a cost, against the job's shape. Throws ResourceError for
// the first value whose memory exceeds what the machine has (a refusal, before any work); returns the
// options whose work will take longer than kLongWorkSeconds, to be announced with their estimates.
template <typename Target>
std::vector<WorkEstimate> checkOptionCosts(const Target& target, const OptionTable<Target>& table,
                                           const JobShape& shape) {
  std::vector<WorkEstimate> longWork;
  for (const auto& option : table) {
    if (!option.cost) continue;
    const OptionCost cost = option.cost(target, shape);
    const std::string value = optionText(option.get(target));
    if (shape.machineBytes > 0.0 && cost.bytes > shape.machineBytes) {
      throw ResourceError(option.info.flag(), value, cost, shape.machineBytes);
    }
    if (cost.seconds > kLongWorkSeconds) longWork.push_back({option.info.flag(), value, cost.seconds, cost.what});
  }
  return longWork;
}

// ----- common checks --------------------------------------------------------------------------------------
// Each returns the problem with a number, or empty. `notFinite` (NaN, infinite, or beyond float32's
// range, as the weights are float32) is implied by the others.
std::string notFinite(double value);
std::string unlessPositive(double value);             // > 0
std::string unlessNonNegative(double value);          // >= 0
std::string unlessInHalfOpen(double value, double low, double high);  // [low, high)
std::string unlessInClosed(double value, double low, double high);    // [low, high]

}  // namespace samscape

#pragma once
// Command-line flags generated from an option table (core/options/OptionTable.h): --key for every
// option, with its help, the choices and the default. A flag given does not set anything by itself: its
// (key, text) is kept in `settings` for the resolution that applies it with the other layers (a
// resumed run's run.json, a --config file) and validates the result with the table's own checks.

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/options/OptionTable.h"

namespace samscape::cli {

using OptionSettings = std::vector<std::pair<std::string, std::string>>;

// One flag per option; `defaults` gives each option's default value as text, in the same order.
void addOptionFlags(CLI::App& command, const std::vector<OptionInfo>& options,
                    const std::vector<std::string>& defaults, OptionSettings& settings);

template <typename Target>
void addOptionFlags(CLI::App& command, const OptionTable<Target>& table, OptionSettings& settings) {
  const Target defaults{};
  std::vector<OptionInfo> options;
  std::vector<std::string> defaultTexts;
  for (const auto& option : table) {
    options.push_back(option.info);
    defaultTexts.push_back(optionText(option.get(defaults)));
  }
  addOptionFlags(command, options, defaultTexts, settings);
}

// Applies settings to `target` through the table (each error names its flag).
template <typename Target>
void applyOptionSettings(Target& target, const OptionTable<Target>& table, const OptionSettings& settings) {
  for (const auto& [key, text] : settings) {
    const Option<Target>* option = findOption(table, key);
    if (option == nullptr) throw ConfigError("--" + key, text, "no such option");
    setOptionText(target, *option, text);
  }
}

// Whether the settings give `key`.
bool optionGiven(const OptionSettings& settings, const std::string& key);

}  // namespace samscape::cli

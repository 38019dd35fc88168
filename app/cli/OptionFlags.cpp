#include "cli/OptionFlags.h"

#include <algorithm>

namespace samscape::cli {

void addOptionFlags(CLI::App& command, const std::vector<OptionInfo>& options,
                    const std::vector<std::string>& defaults, OptionSettings& settings) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    const OptionInfo& option = options[i];
    std::string help = option.help;
    if (option.kind == OptionKind::Choice) help += " (" + joinNames(option.choices) + ")";
    const std::string key = option.key;
    if (option.kind == OptionKind::Switch) {
      command.add_flag_callback(option.flag(), [&settings, key] { settings.emplace_back(key, "true"); }, help);
      continue;
    }
    CLI::Option* flag = command.add_option_function<std::string>(
        option.flag(), [&settings, key](const std::string& text) { settings.emplace_back(key, text); }, help);
    flag->type_name(optionTypeName(option.kind));
    if (!defaults[i].empty()) flag->default_str(defaults[i]);
  }
}

bool optionGiven(const OptionSettings& settings, const std::string& key) {
  return std::any_of(settings.begin(), settings.end(), [&](const auto& setting) { return setting.first == key; });
}

}  // namespace samscape::cli

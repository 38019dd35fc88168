#include "core/optim/rules/SharpnessRules.h"

#include <functional>

#include "core/Error.h"
#include "core/NamedEnum.h"
#include "core/optim/rules/AsamRule.h"
#include "core/optim/rules/GsamRule.h"
#include "core/optim/rules/LateSamRule.h"
#include "core/optim/rules/LookSamRule.h"
#include "core/optim/rules/MomentumSamRule.h"
#include "core/optim/rules/PlainGradientRule.h"
#include "core/optim/rules/SamRule.h"

namespace samscape {
namespace {

using RuleFactory = std::function<std::unique_ptr<SharpnessRule>()>;

template <typename Rule>
RuleFactory registered() {
  return [] { return std::make_unique<Rule>(); };
}

// Every rule, one line each, in the order --optimizer lists them.
const std::vector<RuleFactory>& factories() {
  static const std::vector<RuleFactory> list = {
      [] { return std::make_unique<PlainGradientRule>("sgd", BaseOptimizerKind::Sgd); },
      [] { return std::make_unique<PlainGradientRule>("adam", BaseOptimizerKind::Adam); },
      registered<SamRule>(),
      registered<AsamRule>(),
      registered<GsamRule>(),
      registered<LookSamRule>(),
      registered<MomentumSamRule>(),
  };
  return list;
}

// One instance of each, for the questions that need no state.
const std::vector<std::unique_ptr<SharpnessRule>>& prototypes() {
  static const std::vector<std::unique_ptr<SharpnessRule>> list = [] {
    std::vector<std::unique_ptr<SharpnessRule>> rules;
    for (const auto& make : factories()) rules.push_back(make());
    return rules;
  }();
  return list;
}

[[noreturn]] void unknownRule(const std::string& name) {
  throw ConfigError("--optimizer", name, "expected " + joinNames(sharpnessRuleNames()));
}

}  // namespace

const std::vector<std::string>& sharpnessRuleNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const auto& rule : prototypes()) list.push_back(rule->name());
    return list;
  }();
  return names;
}

const SharpnessRule* findSharpnessRule(const std::string& name) {
  for (const auto& rule : prototypes()) {
    if (rule->name() == name) return rule.get();
  }
  return nullptr;
}

const SharpnessRule& sharpnessRule(const std::string& name) {
  const SharpnessRule* rule = findSharpnessRule(name);
  if (rule == nullptr) unknownRule(name);
  return *rule;
}

std::unique_ptr<SharpnessRule> makeSharpnessRule(const std::string& name) {
  const auto& rules = prototypes();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (rules[i]->name() == name) return factories()[i]();
  }
  unknownRule(name);
}

std::unique_ptr<SharpnessRule> makeSharpnessRule(const OptimizerSpec& spec) {
  std::unique_ptr<SharpnessRule> rule = makeSharpnessRule(spec.kind);
  if (spec.samFromEpoch > 0 && rule->sharpnessAware()) return std::make_unique<LateSamRule>(std::move(rule));
  return rule;
}

}  // namespace samscape

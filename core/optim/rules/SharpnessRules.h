#pragma once
// The registry of gradient rules (SharpnessRule.h), looked up by their --optimizer name. Plain C++:
// OptimizerSpec (and through it the GUI) asks it for defaults without seeing LibTorch.

#include <memory>
#include <string>
#include <vector>

namespace samscape {

class SharpnessRule;
struct OptimizerSpec;

// The registered rules' names, in the order messages and --help list them.
const std::vector<std::string>& sharpnessRuleNames();

// The registered rule of that name, for what it says about itself (its defaults, options, checks and
// cost); nullptr when there is none. Its step methods are for the rule a run makes.
const SharpnessRule* findSharpnessRule(const std::string& name);
// The same; an unknown name is a ConfigError naming --optimizer and the known names.
const SharpnessRule& sharpnessRule(const std::string& name);

// A new rule of that name with its own, empty state: one per run. Throws as sharpnessRule does.
std::unique_ptr<SharpnessRule> makeSharpnessRule(const std::string& name);
// A run's rule: the one spec.kind names, wrapped for late-phase SAM (LateSamRule.h) when
// spec.samFromEpoch is positive. Throws as sharpnessRule does.
std::unique_ptr<SharpnessRule> makeSharpnessRule(const OptimizerSpec& spec);

}  // namespace samscape

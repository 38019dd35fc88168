#include "core/train/TrainConfig.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/Error.h"
#include "core/Runtime.h"
#include "core/optim/rules/LateSamRule.h"
#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/SharpnessRules.h"

namespace samscape {
namespace {

using nlohmann::json;

OptionInfo info(const char* key, const char* label, OptionGroup group, std::string help) {
  OptionInfo option;
  option.key = key;
  option.label = label;
  option.group = group;
  option.help = std::move(help);
  return option;
}

OptionInfo path(const char* key, const char* label, OptionGroup group, std::string help) {
  OptionInfo option = info(key, label, group, std::move(help));
  option.kind = OptionKind::Path;
  return option;
}

// A batch of `batch` examples (never more than the set holds) in flight, `perExample` bytes each.
OptionCost batchMemory(double batch, double setSize, double perExample, const JobShape& shape) {
  if (!shape.footprintMeasured) return {};
  batch = std::min(batch, std::max(1.0, setSize));
  char what[96];
  std::snprintf(what, sizeof what, "a batch of %.0f examples in flight, ", batch);
  return {batch * perExample, 0.0, what + formatBytes(perExample) + " each"};
}

// The sharpness-aware rules' names: "sam, asam, gsam and looksam".
std::string sharpnessAwareRuleNames() {
  std::vector<std::string> names;
  for (const std::string& name : sharpnessRuleNames()) {
    if (sharpnessRule(name).sharpnessAware()) names.push_back(name);
  }
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return text;
}

// What --rho -1 means, rule by rule: "0.5 for asam, 0.05 for the others" (the most common default is
// "the others'").
std::string defaultRhoText() {
  std::vector<std::pair<double, std::vector<std::string>>> byDefault;  // in registry order
  for (const std::string& name : sharpnessRuleNames()) {
    const SharpnessRule& rule = sharpnessRule(name);
    if (!rule.sharpnessAware()) continue;
    auto found = std::find_if(byDefault.begin(), byDefault.end(),
                              [&](const auto& entry) { return entry.first == rule.defaultRho(); });
    if (found == byDefault.end()) {
      byDefault.push_back({rule.defaultRho(), {name}});
    } else {
      found->second.push_back(name);
    }
  }
  if (byDefault.empty()) return "";
  const auto common = std::max_element(byDefault.begin(), byDefault.end(), [](const auto& a, const auto& b) {
    return a.second.size() < b.second.size();
  });
  std::string text;
  for (auto entry = byDefault.begin(); entry != byDefault.end(); ++entry) {
    if (entry == common) continue;
    for (const std::string& name : entry->second) text += optionText(entry->first) + " for " + name + ", ";
  }
  return text + optionText(common->first) + " for the others";
}

// Every option of a training run, in the order `train --help` and the launch form show them.
OptionTable<TrainConfig> makeTrainOptions() {
  using G = OptionGroup;
  using C = TrainConfig;
  OptionTable<C> table;
  const auto add = [&](Option<C> option) { table.push_back(std::move(option)); };
  // Data
  add(choiceOption<C>(info("dataset", "Dataset", G::Data, "The dataset"),
                      [](auto& c) -> auto& { return c.data.kind; }));
  add(fieldOption<C>(path("data-dir", "Data directory", G::Data,
                          std::string("Directory of the dataset files (default for fashion-mnist: ") +
                              kDefaultFashionMnistDir + ")"),
                     [](auto& c) -> auto& { return c.data.dataDir; }));
  add(fieldOption<C>(info("train-subset", "Training examples", G::Data,
                          "Use the first N training examples in file order (0: all)"),
                     [](auto& c) -> auto& { return c.data.trainSubset; },
                     [](const C& c) { return c.data.trainSubset < 0 ? "must be 0 (all) or positive" : ""; }));
  add(fieldOption<C>(info("test-subset", "Test examples", G::Data,
                          "Use the first N test examples in file order (0: all)"),
                     [](auto& c) -> auto& { return c.data.testSubset; },
                     [](const C& c) { return c.data.testSubset < 0 ? "must be 0 (all) or positive" : ""; }));
  add(fieldOption<C>(info("val-fraction", "Validation fraction", G::Data,
                          "Fraction of the training set held out for validation (its last examples)"),
                     [](auto& c) -> auto& { return c.data.valFraction; },
                     [](const C& c) { return unlessInHalfOpen(c.data.valFraction, 0.0, 1.0); }));
  add(fieldOption<C>(info("label-noise", "Label noise", G::Data, "Rate of symmetric label noise on the training set"),
                     [](auto& c) -> auto& { return c.data.labelNoise; },
                     [](const C& c) { return unlessInClosed(c.data.labelNoise, 0.0, 1.0); }));
  // The three switches below are on when the feature is off: "--no-augment" is what a user types.
  add(negatedSwitchOption<C>(info("no-augment", "No augmentation", G::Data, "No padding, cropping or flipping"),
                             [](auto& c) -> auto& { return c.augment; }));
  add(negatedSwitchOption<C>(info("no-shuffle", "No shuffling", G::Data, "Visit training examples in file order"),
                             [](auto& c) -> auto& { return c.shuffle; }));
  add(negatedSwitchOption<C>(info("no-normalize", "No normalization", G::Data,
                                  "Scale pixels to [0,1] only (no per-channel standardization)"),
                             [](auto& c) -> auto& { return c.normalize; }));
  // Model
  OptionInfo model = info("model", "Model", G::Model, "A built-in model");
  model.kind = OptionKind::Choice;
  model.choices = builtInModelNames();
  add(fieldOption<C>(model, [](auto& c) -> auto& { return c.model.name; }, [](const C& c) -> std::string {
    const auto& names = builtInModelNames();
    if (!c.model.modelFile.empty() || std::find(names.begin(), names.end(), c.model.name) != names.end()) return "";
    return "unknown model; built-in models are: " + joinNames(names);
  }));
  add(fieldOption<C>(path("model-file", "TorchScript model", G::Model,
                          "TorchScript module (torch.jit.save) mapping float [N,C,H,W] to logits, instead of --model"),
                     [](auto& c) -> auto& { return c.model.modelFile; }));
  // Optimization
  // Its choices are the registered rules (core/optim/rules/SharpnessRules.cpp); a rule checks here
  // what it needs of the other options.
  OptionInfo optimizer = info("optimizer", "Optimizer", G::Optimization,
                              sharpnessAwareRuleNames() + " wrap the --base optimizer");
  optimizer.kind = OptionKind::Choice;
  optimizer.choices = sharpnessRuleNames();
  add(fieldOption<C>(optimizer, [](auto& c) -> auto& { return c.optimizer.kind; }, [](const C& c) -> std::string {
    const SharpnessRule* rule = findSharpnessRule(c.optimizer.kind);
    if (rule == nullptr) return "expected " + joinNames(sharpnessRuleNames());
    return rule->configurationProblem(c.optimizer);
  }));
  add(fieldOption<C>(info("lr", "Learning rate", G::Optimization, "Base learning rate"),
                     [](auto& c) -> auto& { return c.optimizer.learningRate; },
                     [](const C& c) { return unlessPositive(c.optimizer.learningRate); }));
  add(fieldOption<C>(info("momentum", "Momentum", G::Optimization, "Momentum"),
                     [](auto& c) -> auto& { return c.optimizer.momentum; },
                     [](const C& c) { return unlessInHalfOpen(c.optimizer.momentum, 0.0, 1.0); }));
  add(fieldOption<C>(info("nesterov", "Nesterov", G::Optimization, "Nesterov momentum"),
                     [](auto& c) -> auto& { return c.optimizer.nesterov; },
                     [](const C& c) {
                       return c.optimizer.nesterov && c.optimizer.momentum == 0.0
                                  ? "Nesterov momentum needs --momentum greater than 0"
                                  : "";
                     }));
  add(fieldOption<C>(info("weight-decay", "Weight decay", G::Optimization, "L2 weight decay"),
                     [](auto& c) -> auto& { return c.optimizer.weightDecay; },
                     [](const C& c) { return unlessNonNegative(c.optimizer.weightDecay); }));
  add(choiceOption<C>(info("base", "Base optimizer", G::Optimization, "Base optimizer of the sharpness-aware methods"),
                      [](auto& c) -> auto& { return c.optimizer.base; }));
  add(fieldOption<C>(info("rho", "SAM radius (rho)", G::Optimization,
                          "Neighbourhood radius of the sharpness-aware methods (-1: the default, " + defaultRhoText() +
                              ")"),
                     [](auto& c) -> auto& { return c.optimizer.rho; },
                     [](const C& c) -> std::string {
                       const double rho = c.optimizer.rho;
                       if (const std::string problem = notFinite(rho); !problem.empty()) return problem;
                       return c.optimizer.sharpnessAware() && rho < 0.0 && rho != -1.0 ? "must be 0 or positive" : "";
                     }));
  add(choiceOption<C>(info("rho-schedule", "SAM radius schedule", G::Optimization,
                           "constant, or lr: rho times the step's learning rate over --lr, as GSAM schedules it"),
                      [](auto& c) -> auto& { return c.optimizer.rhoSchedule; },
                      [](const C& c) -> std::string {
                        return c.optimizer.rhoSchedule != RhoSchedule::Constant && !c.optimizer.sharpnessAware()
                                   ? "a radius schedule applies only to the sharpness-aware optimizers"
                                   : "";
                      }));
  // Each rule's own options, with the checks its file gives them.
  for (const std::string& name : sharpnessRuleNames()) {
    for (auto& option : liftOptions<C>(sharpnessRule(name).options(), [](auto& c) -> auto& { return c.optimizer; })) {
      add(std::move(option));
    }
  }
  // Late-phase SAM wraps whichever rule is chosen (LateSamRule.h); its entry is the rule file's, with
  // the bound by --epochs that only the whole run's options know.
  for (auto& option : liftOptions<C>(OptionTable<OptimizerSpec>{LateSamRule::fromEpochOption()},
                                     [](auto& c) -> auto& { return c.optimizer; })) {
    option.check = [own = option.check](const C& c) -> std::string {
      if (std::string problem = own(c); !problem.empty()) return problem;
      return LateSamRule::epochProblem(c.optimizer, c.epochs);
    };
    add(std::move(option));
  }
  add(fieldOption<C>(info("m", "m-sharpness chunk (m)", G::Optimization,
                          "m-sharpness: a perturbation per chunk of M examples (0: whole batch)"),
                     [](auto& c) -> auto& { return c.optimizer.m; },
                     [](const C& c) -> std::string {
                       const auto& o = c.optimizer;
                       if (o.m < 0) return "must be 0 (the whole batch) or positive";
                       if (o.m > 0 && !o.sharpnessAware()) return "m-sharpness applies only to the sharpness-aware optimizers";
                       const auto replicas = static_cast<std::int64_t>(replicaDevices(c).size());
                       if (replicas <= 0 || c.batchSize < replicas) return "";  // --batch-size says what is wrong
                       const std::int64_t perReplicaBatch = (c.batchSize + replicas - 1) / replicas;
                       if (o.m > perReplicaBatch) {
                         return "larger than the per-replica batch of " + std::to_string(perReplicaBatch) +
                                " (each replica perturbs its own shard)";
                       }
                       return "";
                     }));
  add(fieldOption<C>(info("accumulate", "Micro-batches", G::Optimization,
                          "Process each (per-replica) batch as K micro-batches with the result of one: SAM perturbs "
                          "with the whole batch's gradient"),
                     [](auto& c) -> auto& { return c.optimizer.accumulate; },
                     [](const C& c) -> std::string {
                       const auto& o = c.optimizer;
                       if (o.accumulate < 1) return "must be positive";
                       if (o.accumulate > 1 && o.m > 0) {
                         return "m-sharpness already processes the batch in chunks of --m examples; use one or the other";
                       }
                       const auto replicas = static_cast<std::int64_t>(replicaDevices(c).size());
                       if (replicas <= 0 || c.batchSize < replicas) return "";  // --batch-size says what is wrong
                       const std::int64_t perReplicaBatch = c.batchSize / replicas;
                       if (o.accumulate > perReplicaBatch) {
                         return "more micro-batches than the " + std::to_string(perReplicaBatch) +
                                " examples of a replica's batch";
                       }
                       return "";
                     }));
  add(choiceOption<C>(info("precision", "Precision", G::Optimization,
                           "fp32, or bf16: forward passes under autocast in bfloat16, fp32 master weights"),
                      [](auto& c) -> auto& { return c.precision; }));
  add(fieldOption<C>(info("clip-norm", "Gradient clipping", G::Optimization,
                          "Clip the final gradient to this L2 norm (0: off)"),
                     [](auto& c) -> auto& { return c.optimizer.clipNorm; },
                     [](const C& c) { return c.optimizer.clipNorm < 0.0 ? std::string("must be 0 (off) or positive")
                                                                         : notFinite(c.optimizer.clipNorm); }));
  add(fieldOption<C>(info("adam-beta1", "Adam beta1", G::Optimization, "Adam beta1"),
                     [](auto& c) -> auto& { return c.optimizer.adamBeta1; },
                     [](const C& c) { return unlessInHalfOpen(c.optimizer.adamBeta1, 0.0, 1.0); }));
  add(fieldOption<C>(info("adam-beta2", "Adam beta2", G::Optimization, "Adam beta2"),
                     [](auto& c) -> auto& { return c.optimizer.adamBeta2; },
                     [](const C& c) { return unlessInHalfOpen(c.optimizer.adamBeta2, 0.0, 1.0); }));
  add(fieldOption<C>(info("adam-eps", "Adam epsilon", G::Optimization, "Adam epsilon"),
                     [](auto& c) -> auto& { return c.optimizer.adamEpsilon; },
                     [](const C& c) { return unlessPositive(c.optimizer.adamEpsilon); }));
  add(fieldOption<C>(info("batch-size", "Batch size", G::Optimization, "Mini-batch size (split across --devices)"),
                     [](auto& c) -> auto& { return c.batchSize; },
                     [](const C& c) -> std::string {
                       if (c.batchSize <= 0) return "must be positive";
                       const auto replicas = static_cast<std::int64_t>(replicaDevices(c).size());
                       if (c.batchSize < replicas) {
                         return "smaller than the number of replicas (" + std::to_string(replicas) + ")";
                       }
                       return "";
                     },
                     [](const C& c, const JobShape& shape) {
                       // A step holds one micro-batch's graph at a time (all replicas of a CPU run
                       // in this process's memory).
                       const double micro = std::ceil(static_cast<double>(c.batchSize) /
                                                      std::max<std::int64_t>(1, c.optimizer.accumulate));
                       return batchMemory(micro, static_cast<double>(shape.trainExamples),
                                          shape.gradientBytesPerExample, shape);
                     }));
  add(fieldOption<C>(info("epochs", "Epochs", G::Optimization, "Number of epochs"),
                     [](auto& c) -> auto& { return c.epochs; },
                     [](const C& c) { return c.epochs <= 0 ? "must be positive" : ""; },
                     [](const C& c, const JobShape& shape) -> OptionCost {
                       if (c.epochs <= 0) return {};
                       // SAM takes two gradients a step; the rule says how many on average. With
                       // --sam-from-epoch E the epochs before E take one.
                       const SharpnessRule& rule = sharpnessRule(c.optimizer.kind);
                       const double gradients = rule.gradientsPerStep(c.optimizer);
                       const double plainEpochs =
                           rule.sharpnessAware() && c.optimizer.samFromEpoch > 1
                               ? static_cast<double>(std::min<std::int64_t>(c.optimizer.samFromEpoch - 1, c.epochs))
                               : 0.0;
                       const auto epochSeconds = [&](double gradientsPerStep) {
                         return static_cast<double>(shape.trainExamples) * gradientsPerStep *
                                    shape.gradientSecondsPerExample +
                                static_cast<double>(shape.evaluationExamples) * shape.evaluationSecondsPerExample;
                       };
                       return {0.0, plainEpochs * epochSeconds(1.0) + (c.epochs - plainEpochs) * epochSeconds(gradients),
                               std::to_string(c.epochs) + " epochs"};
                     }));
  add(choiceOption<C>(info("schedule", "Learning-rate schedule", G::Optimization, "Learning-rate schedule"),
                      [](auto& c) -> auto& { return c.schedule; }));
  add(fieldOption<C>(info("warmup-epochs", "Warm-up epochs", G::Optimization, "Linear warm-up length in epochs"),
                     [](auto& c) -> auto& { return c.warmupEpochs; },
                     [](const C& c) -> std::string {
                       if (const std::string problem = notFinite(c.warmupEpochs); !problem.empty()) return problem;
                       return c.warmupEpochs < 0.0 || c.warmupEpochs > c.epochs ? "must be in [0, --epochs]" : "";
                     }));
  add(fieldOption<C>(info("step-epochs", "Step epochs", G::Optimization,
                          "Step schedule: epochs at which the rate is multiplied (default: 50%,75%)"),
                     [](auto& c) -> auto& { return c.stepEpochs; },
                     [](const C& c) -> std::string {
                       for (int epoch : c.stepEpochs) {
                         if (epoch <= 0 || epoch >= c.epochs) {
                           return "each must be in [1, --epochs): " + std::to_string(epoch) + " is not";
                         }
                       }
                       return "";
                     }));
  add(fieldOption<C>(info("step-factor", "Step factor", G::Optimization, "Step schedule: the multiplier"),
                     [](auto& c) -> auto& { return c.stepFactor; },
                     [](const C& c) -> std::string {
                       if (const std::string problem = notFinite(c.stepFactor); !problem.empty()) return problem;
                       return c.stepFactor <= 0.0 || c.stepFactor > 1.0 ? "must be in (0, 1]" : "";
                     }));
  // Run
  add(fieldOption<C>(info("seed", "Seed", G::Run, "Seed of initialization, data order, augmentation and label noise"),
                     [](auto& c) -> auto& { return c.seed; }));
  add(fieldOption<C>(info("device", "Device", G::Run, "cpu, cuda or cuda:N"),
                     [](auto& c) -> auto& { return c.device; },
                     [](const C& c) { return deviceNameProblem(c.device); }));
  add(fieldOption<C>(info("devices", "Devices (data parallel)", G::Run,
                          "Data parallel: one replica per listed device, e.g. cuda:0,cuda:1"),
                     [](auto& c) -> auto& { return c.devices; },
                     [](const C& c) -> std::string {
                       if (c.devices.empty()) return "";
                       for (const auto& device : replicaDevices(c)) {
                         const std::string problem = deviceNameProblem(device);
                         if (!problem.empty()) return "entry '" + device + "': " + problem;
                       }
                       return "";
                     }));
  add(fieldOption<C>(info("threads", "CPU threads", G::Run, "CPU threads (0: every core)"),
                     [](auto& c) -> auto& { return c.threads; },
                     [](const C& c) -> std::string {
                       if (c.threads < 0) return "must be 0 (every core) or positive";
                       return c.threads > kMaxThreads ? "at most " + std::to_string(kMaxThreads) : "";
                     }));
  add(fieldOption<C>(info("eval-batch-size", "Evaluation batch size", G::Run, "Batch size of evaluation"),
                     [](auto& c) -> auto& { return c.evalBatchSize; },
                     [](const C& c) { return c.evalBatchSize <= 0 ? "must be positive" : ""; },
                     [](const C& c, const JobShape& shape) {
                       return batchMemory(static_cast<double>(c.evalBatchSize),
                                          static_cast<double>(shape.evaluationExamples),
                                          shape.evaluationBytesPerExample, shape);
                     }));
  add(fieldOption<C>(path("out", "Run directory", G::Recording, "Run directory (default: WORKSPACE/runs/<time>-<model>)"),
                     [](auto& c) -> auto& { return c.outDir; }));
  return table;
}

}  // namespace

const OptionTable<TrainConfig>& trainOptions() {
  static const OptionTable<TrainConfig> table = makeTrainOptions();
  return table;
}

void validateConfig(const TrainConfig& config) { validateOptions(config, trainOptions()); }

std::vector<std::string> replicaDevices(const TrainConfig& config) {
  if (config.devices.empty()) return {config.device};
  std::vector<std::string> devices;
  std::stringstream list(config.devices);
  for (std::string device; std::getline(list, device, ',');) devices.push_back(device);
  if (devices.empty() || config.devices.back() == ',') devices.push_back("");
  return devices;
}

std::string configToJson(const TrainConfig& config, int indent) {
  return optionsToJson(config, trainOptions()).dump(indent);
}

void applyJsonConfig(TrainConfig& config, const std::string& jsonText, const std::string& sourceName) {
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(jsonText);
  } catch (const nlohmann::json::exception& error) {  // parse errors, and numbers out of range (1e999)
    throw ConfigError("--config", sourceName, std::string("not valid JSON: ") + error.what());
  }
  applyOptionsJson(config, trainOptions(), object, sourceName);
}

void applyJsonConfigFile(TrainConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("--config", path, "cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  applyJsonConfig(config, text.str(), path);
}

}  // namespace samscape

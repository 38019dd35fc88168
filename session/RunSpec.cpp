#include "session/RunSpec.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/store/Workspace.h"
#include "core/train/RunDirectory.h"

namespace samscape {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kAnalyzeEvery = "analyze-every";
constexpr const char* kAnalysisBudget = "analysis-budget";

OptionTable<RunSpec> makeRunOptions() {
  OptionTable<RunSpec> table =
      liftOptions<RunSpec>(trainOptions(), [](auto& spec) -> auto& { return spec.config; });
  OptionInfo every;
  every.key = kAnalyzeEvery;
  every.label = "Analyse every (epochs)";
  every.group = OptionGroup::Analysis;
  every.help = "Run the analyses below on every K-th epoch's checkpoint (and the last) into DIR/analysis/epoch-NNN/ (0: off)";
  table.push_back(fieldOption<RunSpec>(every, [](auto& spec) -> auto& { return spec.analyzeEvery; },
                                       [](const RunSpec& spec) -> std::string {
                                         if (spec.analyzeEvery < 0) return "must be 0 (off) or positive";
                                         if (spec.analyzeEvery == 0 && requestsAnyAnalysis(spec.analysis)) {
                                           return "analysis flags (--hessian-top, --slice, ...) need --analyze-every K";
                                         }
                                         return "";
                                       }));
  OptionInfo budget;
  budget.key = kAnalysisBudget;
  budget.label = "Analysis budget (share of training)";
  budget.group = OptionGroup::Analysis;
  budget.help = "The analyses may take at most this share of the training time (0.25: a quarter; 0: no limit); "
                "an analysis due while they took more is skipped, and said so; the last epoch's always runs";
  const auto checkBudget = [](const RunSpec& spec) -> std::string {
    const std::string problem = analysisBudgetProblem(spec.analysisBudget);
    if (!problem.empty()) return problem;
    // A budget without analyses to limit is a slip, as an analysis flag without them is.
    if (spec.analyzeEvery == 0 && spec.analysisBudget != kDefaultAnalysisBudget) {
      return "limits the analyses of --analyze-every K, which is off";
    }
    return "";
  };
  table.push_back(fieldOption<RunSpec>(budget, [](auto& spec) -> auto& { return spec.analysisBudget; }, checkBudget));
  for (auto& option : liftOptions<RunSpec>(analysisOptions(AnalysisCommand::Train),
                                           [](auto& spec) -> auto& { return spec.analysis; })) {
    table.push_back(std::move(option));
  }
  return table;
}

bool isAnalysisOption(const OptionInfo& option) { return option.group == OptionGroup::Analysis; }

// <time>-<model>: the default run directory's name, inside the workspace's runs/.
std::string defaultRunName(const TrainConfig& config) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  const std::string model = config.model.modelFile.empty() ? config.model.name : "model-file";
  return std::string(stamp) + "-" + model;
}

// Applying the layers, remembering which layer set each key (for run.json's "analysis" and for
// messages that name the file a bad value came from).
class Resolution {
 public:
  explicit Resolution(RunSpec& spec) : spec_(spec) {}

  void setFromFile(const Option<RunSpec>& option, const json& value, const std::string& source) {
    setOptionFromFile(spec_, option, value, source);
    sources_[option.info.key] = source;
  }
  void setFromText(const Option<RunSpec>& option, const std::string& text) {
    setOptionText(spec_, option, text);
    sources_[option.info.key] = "";
  }
  // --analyze-every 0: the analyses of the layers before are off.
  void dropAnalyses() {
    spec_.analyzeEvery = 0;
    spec_.analysisBudget = kDefaultAnalysisBudget;
    spec_.analysis = AnalysisRequest{};
    for (auto it = sources_.begin(); it != sources_.end();) {
      const Option<RunSpec>* option = findOption(runOptions(), it->first);
      it = option != nullptr && isAnalysisOption(option->info) ? sources_.erase(it) : std::next(it);
    }
  }
  // The analysis options a layer set, with the values they resolved to.
  json analysisFlags() const {
    json flags = json::object();
    for (const auto& option : runOptions()) {
      if (!isAnalysisOption(option.info) || sources_.count(option.info.key) == 0) continue;
      json value = option.get(spec_);
      // Files absolute, so that a run resumed from another directory finds the same ones.
      if (option.info.kind == OptionKind::Path && !value.get<std::string>().empty()) {
        value = fs::absolute(value.get<std::string>()).lexically_normal().string();
      }
      flags[option.info.key] = value;
    }
    return flags;
  }
  bool wasSet(const std::string& key) const { return sources_.count(key) > 0; }
  // Validation, naming the file a bad value came from.
  void validate() const {
    for (const auto& option : runOptions()) {
      if (!option.check) continue;
      const std::string problem = option.check(spec_);
      if (problem.empty()) continue;
      const auto source = sources_.find(option.info.key);
      const bool fromFile = source != sources_.end() && !source->second.empty();
      throw ConfigError(option.info.flag(), optionText(option.get(spec_)),
                        fromFile ? "in " + source->second + ": " + problem : problem);
    }
  }

 private:
  RunSpec& spec_;
  std::map<std::string, std::string> sources_;  // key -> the file that set it; "" for a flag
};

bool turnsAnalysesOff(const json& value) { return value.is_number() && value.get<double>() == 0.0; }

}  // namespace

const OptionTable<RunSpec>& runOptions() {
  static const OptionTable<RunSpec> table = makeRunOptions();
  return table;
}

RunSpec resolveRunSpec(const RunSources& sources) {
  RunSpec spec;
  Resolution resolution(spec);
  const auto& table = runOptions();

  if (!sources.resumeDirectory.empty()) {
    if (!fs::exists(fs::path(sources.resumeDirectory) / "run.json")) {
      throw ConfigError("--resume", sources.resumeDirectory, "no run.json there: not a run directory");
    }
    const std::string runJsonPath = (fs::path(sources.resumeDirectory) / "run.json").string();
    RunJson run;
    try {
      run = readRunJson(sources.resumeDirectory);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& error) {
      throw ConfigError("--resume", sources.resumeDirectory, error.what());
    }
    spec.config = run.config;
    for (const auto& [key, value] : run.analysisFlags.items()) {
      const Option<RunSpec>* option = findOption(table, key);
      if (option == nullptr || !isAnalysisOption(option->info)) {
        throw ConfigError("--resume", sources.resumeDirectory, runJsonPath + ": unknown analysis key \"" + key + "\"");
      }
      resolution.setFromFile(*option, value, runJsonPath);
    }
    spec.config.outDir = sources.resumeDirectory;
    spec.resumeDirectory = sources.resumeDirectory;
  }

  // A layer of --config keys: `flag` and `source` name it in messages.
  auto applyObject = [&](const json& object, const std::string& flag, const std::string& source) {
    const auto every = object.find(kAnalyzeEvery);
    if (every != object.end() && turnsAnalysesOff(*every)) resolution.dropAnalyses();
    for (const auto& [key, value] : object.items()) {
      const Option<RunSpec>* option = findOption(table, key);
      if (option == nullptr) throw ConfigError(flag, source, "unknown key \"" + key + "\"");
      resolution.setFromFile(*option, value, source);
    }
    // A resumed run stays in its own directory, whatever the layer says.
    if (spec.resuming()) spec.config.outDir = spec.resumeDirectory;
  };
  if (!sources.configFile.empty()) {
    json object;
    try {
      object = readJsonObjectFile(sources.configFile, "the file");
    } catch (const DataError& error) {
      throw ConfigError("--config", sources.configFile, error.problem());
    }
    applyObject(object, "--config", sources.configFile);
  }
  if (!sources.configObject.is_null()) {
    if (!sources.configObject.is_object()) {
      throw ConfigError("--config", sources.configObjectSource, "must be a JSON object of option keys");
    }
    applyObject(sources.configObject, "--config", sources.configObjectSource);
  }

  for (const auto& [key, text] : sources.settings) {
    if (key == kAnalyzeEvery && text == "0") resolution.dropAnalyses();
  }
  for (const auto& [key, text] : sources.settings) {
    const Option<RunSpec>* option = findOption(table, key);
    if (option == nullptr) throw ConfigError("--" + key, text, "no such option");
    resolution.setFromText(*option, text);
  }
  if (spec.resuming() && spec.config.outDir != spec.resumeDirectory) {
    throw ConfigError("--out", spec.config.outDir, "a resumed run continues in its own directory (--resume)");
  }

  spec.analysis.subsetExplicit = resolution.wasSet("subset");
  const Workspace workspace = Workspace::resolve(sources.workspace);
  spec.workspace = workspace.directory().string();
  spec.name = sources.name;
  spec.tags = sources.tags;
  if (spec.config.outDir.empty() && sources.assignRunDirectory) {
    spec.config.outDir = (workspace.runsDirectory() / defaultRunName(spec.config)).string();
    spec.outDirIsDefault = true;
  }
  if (sources.validate) resolution.validate();
  spec.analysisFlags = spec.analyzeEvery > 0 ? resolution.analysisFlags() : json::object();
  return spec;
}

std::vector<std::pair<std::string, std::string>> runSettings(const RunSpec& spec) {
  const RunSpec defaults;
  std::vector<std::pair<std::string, std::string>> settings;
  for (const auto& option : runOptions()) {
    const json value = option.get(spec);
    if (value == option.get(defaults)) continue;
    settings.emplace_back(option.info.key, optionText(value));
  }
  return settings;
}

json runConfigJson(const RunSpec& spec) {
  json object = optionsToJson(spec.config, trainOptions());
  object.erase("out");
  object.update(spec.analysisFlags);
  return object;
}

}  // namespace samscape

#include "session/Study.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/store/RunStore.h"
#include "core/store/Workspace.h"
#include "analysis/PeriodicAnalysis.h"
#include "core/train/CheckpointFiles.h"
#include "core/train/RunDirectory.h"
#include "session/RunSession.h"
#include "session/StudySummary.h"

namespace samscape {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> kStudyKeys = {"study", "claim", "paper", "base", "grid", "cells", "seeds", "checks"};
const std::vector<std::string> kCheckKeys = {"metric", "ratio", "difference", "decreasing-along", "increasing-along",
                                             "at-least", "more-than", "separated"};

// Options a study sets itself: where each run goes and its seed.
const std::vector<std::string> kStudyOwnedKeys = {"out", "seed", "resume"};

std::string fieldError(const std::string& field, const std::string& problem) { return field + ": " + problem; }

// A value as a label shows it: strings bare, numbers in their shortest form.
std::string valueLabel(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    std::ostringstream out;
    out << std::setprecision(15) << value.get<double>();
    return out.str();
  }
  return value.dump();
}

// Letters, digits, '.', '-' and '+' stay; anything else becomes '_'.
std::string fileNamePart(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
    out += plain ? c : '_';
  }
  return out;
}

bool validStudyName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::vector<std::size_t> studyCellsMatching(const StudySpec& spec, const json& selector) {
  std::vector<std::size_t> picked;
  for (std::size_t i = 0; i < spec.cells.size(); ++i) {
    bool matches = true;
    for (const auto& [key, value] : selector.items()) {
      const auto it = spec.cells[i].options.find(key);
      if (it == spec.cells[i].options.end()) {
        matches = false;
      } else if (it->is_number() && value.is_number()) {
        matches = matches && it->get<double>() == value.get<double>();
      } else {
        matches = matches && *it == value;
      }
    }
    if (matches) picked.push_back(i);
  }
  return picked;
}

std::vector<double> studyCheckAlongValues(const StudySpec& spec, const StudyCheck& check) {
  std::set<double> values;
  for (const auto& cell : spec.cells) {
    const auto value = cell.options.find(check.along);
    if (value != cell.options.end() && value->is_number()) values.insert(value->get<double>());
  }
  return {values.begin(), values.end()};
}

namespace {

StudyCheck parseCheck(const json& object, const std::string& where, const StudySpec& spec) {
  if (!object.is_object()) throw ConfigError("study", where, "a check must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(kCheckKeys.begin(), kCheckKeys.end(), key) == kCheckKeys.end()) {
      throw ConfigError("study", where, "unknown key \"" + key + "\" (a check has " + [] {
        std::string all;
        for (const auto& k : kCheckKeys) all += (all.empty() ? "" : ", ") + k;
        return all;
      }() + ")");
    }
  }
  StudyCheck check;
  const auto metric = object.find("metric");
  if (metric == object.end() || !metric->is_string()) throw ConfigError("study", where, "needs \"metric\": a metric name");
  check.metric = metric->get<std::string>();
  const auto& metrics = studyMetricNames();
  if (std::find(metrics.begin(), metrics.end(), check.metric) == metrics.end()) {
    std::string all;
    for (const auto& name : metrics) all += (all.empty() ? "" : ", ") + name;
    throw ConfigError("study", where, "unknown metric \"" + check.metric + "\" (one of " + all + ")");
  }
  const int kinds = static_cast<int>(object.count("ratio") + object.count("difference") + object.count("decreasing-along"));
  if (kinds != 1) throw ConfigError("study", where, "needs exactly one of \"ratio\", \"difference\", \"decreasing-along\"");
  const bool increasing = object.contains("increasing-along");
  if (increasing && !object.contains("difference")) {
    throw ConfigError("study", where, "\"increasing-along\" goes with \"difference\": the difference of two cells' means that must grow");
  }
  auto pairOf = [&](const char* key) {
    const json& pair = object.at(key);
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_object() || !pair[1].is_object()) {
      throw ConfigError("study", where, std::string("\"") + key + "\" must be two cell selectors, e.g. [{\"optimizer\": \"sam\"}, {\"optimizer\": \"sgd\"}]");
    }
    check.first = pair[0];
    check.second = pair[1];
    if (increasing) return;  // the selectors pick one cell per value of "increasing-along", checked below
    for (const json* selector : {&check.first, &check.second}) {
      const std::size_t count = studyCellsMatching(spec, *selector).size();
      if (count != 1) {
        throw ConfigError("study", where, std::string("the selector ") + selector->dump() + " must pick one cell, it picks " +
                                              std::to_string(count));
      }
    }
  };
  if (object.contains("ratio")) {
    check.kind = StudyCheck::Kind::Ratio;
    pairOf("ratio");
  } else if (increasing) {
    check.kind = StudyCheck::Kind::DifferenceIncreasing;
    pairOf("difference");
    const json& along = object.at("increasing-along");
    if (!along.is_string() || std::find(spec.gridKeys.begin(), spec.gridKeys.end(), along.get<std::string>()) == spec.gridKeys.end()) {
      throw ConfigError("study", where, "\"increasing-along\" must name an option the grid varies");
    }
    check.along = along.get<std::string>();
    const auto values = studyCheckAlongValues(spec, check);
    if (values.size() < 2) {
      throw ConfigError("study", where, "\"increasing-along\": the cells give \"" + check.along + "\" fewer than two numeric values");
    }
    for (double value : values) {
      for (const json* selector : {&check.first, &check.second}) {
        json at = *selector;
        at[check.along] = value;
        const std::size_t count = studyCellsMatching(spec, at).size();
        if (count != 1) {
          throw ConfigError("study", where, "the selector " + selector->dump() + " must pick one cell at " + check.along + "=" +
                                                json(value).dump() + ", it picks " + std::to_string(count));
        }
      }
    }
  } else if (object.contains("difference")) {
    check.kind = StudyCheck::Kind::Difference;
    pairOf("difference");
  } else {
    check.kind = StudyCheck::Kind::Decreasing;
    const json& along = object.at("decreasing-along");
    if (!along.is_string() || std::find(spec.gridKeys.begin(), spec.gridKeys.end(), along.get<std::string>()) == spec.gridKeys.end()) {
      throw ConfigError("study", where, "\"decreasing-along\" must name an option the grid varies");
    }
    check.along = along.get<std::string>();
    // Only `along` may differ between the cells, and every cell gives it a number.
    for (const auto& cell : spec.cells) {
      const auto value = cell.options.find(check.along);
      if (value == cell.options.end() || !value->is_number()) {
        throw ConfigError("study", where, "\"decreasing-along\": cell " + cell.label + " does not set \"" + check.along + "\" to a number");
      }
      json others = cell.options, firstOthers = spec.cells.front().options;
      others.erase(check.along);
      firstOthers.erase(check.along);
      if (others != firstOthers) {
        throw ConfigError("study", where, "\"decreasing-along\": the cells differ in more than \"" + check.along + "\" (" +
                                              cell.label + " vs " + spec.cells.front().label + ")");
      }
    }
  }
  const bool atLeast = object.contains("at-least"), moreThan = object.contains("more-than");
  if (check.kind == StudyCheck::Kind::DifferenceIncreasing) {
    if (atLeast || moreThan || object.contains("separated")) {
      throw ConfigError("study", where, "an \"increasing-along\" check takes no threshold and no \"separated\"");
    }
  } else if (check.kind != StudyCheck::Kind::Decreasing) {
    if (atLeast == moreThan) throw ConfigError("study", where, "needs one threshold: \"at-least\" or \"more-than\"");
    const json& threshold = object.at(atLeast ? "at-least" : "more-than");
    if (!threshold.is_number() || !std::isfinite(threshold.get<double>())) {
      throw ConfigError("study", where, "the threshold must be a number");
    }
    check.threshold = threshold.get<double>();
    check.strict = moreThan;
  } else if (atLeast || moreThan) {
    throw ConfigError("study", where, "a \"decreasing-along\" check takes no threshold");
  }
  if (object.contains("separated")) {
    if (!object.at("separated").is_boolean()) throw ConfigError("study", where, "\"separated\" must be true or false");
    check.separated = object.at("separated").get<bool>();
  }
  return check;
}

}  // namespace

StudySpec parseStudySpec(const json& document, const std::string& source, const StudyParseOptions& options) {
  if (!document.is_object()) throw ConfigError("study", source, "a study must be a JSON object");
  for (const auto& [key, value] : document.items()) {
    if (std::find(kStudyKeys.begin(), kStudyKeys.end(), key) == kStudyKeys.end()) {
      throw ConfigError("study", source, "unknown key \"" + key + "\" (a study has study, claim, paper, base, grid, cells, seeds, checks)");
    }
  }
  StudySpec spec;
  spec.document = document;
  auto text = [&](const char* key, bool required) -> std::string {
    const auto it = document.find(key);
    if (it == document.end()) {
      if (required) throw ConfigError("study", source, std::string("needs \"") + key + "\"");
      return "";
    }
    if (!it->is_string()) throw ConfigError("study", source, std::string("\"") + key + "\" must be a string");
    return it->get<std::string>();
  };
  spec.name = text("study", true);
  if (!validStudyName(spec.name)) {
    throw ConfigError("study", source, "\"study\": '" + spec.name + "' must be a directory name: letters, digits, '-', '_', '.'");
  }
  spec.claim = text("claim", false);
  spec.paper = text("paper", false);

  if (document.contains("base")) {
    spec.base = document.at("base");
    if (!spec.base.is_object()) throw ConfigError("study", source, "\"base\" must be an object of run options");
  }
  for (const auto& key : kStudyOwnedKeys) {
    if (spec.base.contains(key)) {
      throw ConfigError("study", source, "\"base\": \"" + key + "\" is the study's to set (each run has its own directory and seed; seeds go in \"seeds\")");
    }
  }

  // The grid: a cartesian product of its lists, first key slowest.
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  if (document.contains("grid")) {
    const json& grid = document.at("grid");
    if (!grid.is_object()) throw ConfigError("study", source, "\"grid\" must be an object: option key -> list of values");
    // nlohmann::json keeps an object's keys sorted: the grid varies in alphabetical key order.
    for (const auto& [key, values] : grid.items()) {
      if (!values.is_array() || values.empty()) {
        throw ConfigError("study", source, fieldError("\"grid\"", "\"" + key + "\" must be a non-empty list of values"));
      }
      if (std::find(kStudyOwnedKeys.begin(), kStudyOwnedKeys.end(), key) != kStudyOwnedKeys.end()) {
        throw ConfigError("study", source, "\"grid\": \"" + key + "\" is the study's to set (use \"seeds\" for seeds)");
      }
      axes.emplace_back(key, std::vector<json>(values.begin(), values.end()));
      spec.gridKeys.push_back(key);
    }
  }
  std::vector<json> explicitCells{json::object()};
  if (document.contains("cells")) {
    const json& cells = document.at("cells");
    if (!cells.is_array() || cells.empty()) throw ConfigError("study", source, "\"cells\" must be a non-empty list of objects");
    explicitCells.clear();
    for (const auto& cell : cells) {
      if (!cell.is_object()) throw ConfigError("study", source, "\"cells\": each cell must be an object of run options");
      for (const auto& [key, value] : cell.items()) {
        if (std::find(kStudyOwnedKeys.begin(), kStudyOwnedKeys.end(), key) != kStudyOwnedKeys.end()) {
          throw ConfigError("study", source, "\"cells\": \"" + key + "\" is the study's to set");
        }
        if (std::find(spec.gridKeys.begin(), spec.gridKeys.end(), key) == spec.gridKeys.end()) spec.gridKeys.push_back(key);
      }
      explicitCells.push_back(cell);
    }
  }
  std::vector<json> products{json::object()};
  for (const auto& [key, values] : axes) {
    std::vector<json> next;
    for (const auto& partial : products) {
      for (const auto& value : values) {
        json cell = partial;
        cell[key] = value;
        next.push_back(cell);
      }
    }
    products = std::move(next);
  }
  for (const auto& cellObject : explicitCells) {
    for (const auto& product : products) {
      StudyCell cell;
      cell.settings = cellObject;
      for (const auto& [key, value] : product.items()) {
        if (cellObject.contains(key)) {
          throw ConfigError("study", source, "\"" + key + "\" is both in \"grid\" and in a cell of \"cells\": give it in one");
        }
        cell.settings[key] = value;
      }
      cell.options = spec.base;
      for (const auto& [key, value] : cell.settings.items()) cell.options[key] = value;
      for (const auto& key : spec.gridKeys) {
        if (!cell.settings.contains(key)) continue;
        const std::string value = valueLabel(cell.settings.at(key));
        cell.label += (cell.label.empty() ? "" : " ") + key + "=" + value;
        cell.directoryName += (cell.directoryName.empty() ? "" : "_") + fileNamePart(key) + "-" + fileNamePart(value);
      }
      if (cell.label.empty()) cell.label = cell.directoryName = "base";
      for (const auto& other : spec.cells) {
        if (other.directoryName == cell.directoryName) {
          throw ConfigError("study", source, "two cells have the same name: " + other.label + " and " + cell.label);
        }
      }
      spec.cells.push_back(std::move(cell));
    }
  }

  if (!document.contains("seeds")) throw ConfigError("study", source, "needs \"seeds\": a count or a list of seeds");
  const json& seeds = document.at("seeds");
  if (seeds.is_number_integer()) {
    const auto count = seeds.get<long long>();
    if (count < 1 || count > 1000) throw ConfigError("study", source, "\"seeds\": a count from 1 to 1000");
    for (long long seed = 0; seed < count; ++seed) spec.seeds.push_back(static_cast<int>(seed));
  } else if (seeds.is_array() && !seeds.empty()) {
    for (const auto& seed : seeds) {
      if (!seed.is_number_integer() || seed.get<long long>() < 0 || seed.get<long long>() > 2147483647LL) {
        throw ConfigError("study", source, "\"seeds\": each seed must be a non-negative integer, got " + seed.dump());
      }
      const int value = static_cast<int>(seed.get<long long>());
      if (std::find(spec.seeds.begin(), spec.seeds.end(), value) != spec.seeds.end()) {
        throw ConfigError("study", source, "\"seeds\": seed " + std::to_string(value) + " is listed twice");
      }
      spec.seeds.push_back(value);
    }
  } else {
    throw ConfigError("study", source, "\"seeds\" must be a count or a non-empty list of seeds");
  }

  if (document.contains("checks")) {
    const json& checks = document.at("checks");
    if (!checks.is_array()) throw ConfigError("study", source, "\"checks\" must be a list");
    for (std::size_t i = 0; i < checks.size(); ++i) {
      spec.checks.push_back(parseCheck(checks[i], source + ", checks[" + std::to_string(i) + "]", spec));
    }
  }

  // Every cell must be a valid run: resolving it checks each key and value with the run option table.
  for (const auto& cell : spec.cells) {
    RunSources sources;
    sources.configObject = cell.options;
    sources.configObjectSource = source + ", cell " + cell.label;
    sources.settings = options.extraSettings;
    sources.workspace = "/";  // resolution only; nothing is created
    sources.assignRunDirectory = false;
    sources.validate = options.validateRuns;
    resolveRunSpec(sources);
  }
  return spec;
}

StudySpec readStudySpec(const std::string& path, const StudyParseOptions& options) {
  StudySpec spec = parseStudySpec(readJsonObjectFile(path, "the study file"), path, options);
  spec.file = path;
  return spec;
}

std::string studyDirectory(const std::string& workspace, const std::string& studyName) {
  return (fs::absolute(workspace) / "studies" / studyName).lexically_normal().string();
}

std::vector<StudyRunSlot> studyRunSlots(const StudySpec& spec, const std::string& workspace) {
  const fs::path runs = fs::path(studyDirectory(workspace, spec.name)) / "runs";
  std::vector<StudyRunSlot> slots;
  for (std::size_t c = 0; c < spec.cells.size(); ++c) {
    for (int seed : spec.seeds) {
      StudyRunSlot slot;
      slot.cellIndex = c;
      slot.seed = seed;
      slot.directory = (runs / (spec.cells[c].directoryName + "-seed" + std::to_string(seed))).string();
      slot.name = spec.name + "/" + spec.cells[c].label + " seed " + std::to_string(seed);
      slots.push_back(std::move(slot));
    }
  }
  return slots;
}

std::optional<StudyRunPlace> studyRunPlace(const std::string& runDirectory) {
  fs::path directory = fs::path(runDirectory).lexically_normal();
  if (!directory.has_filename()) directory = directory.parent_path();  // a trailing '/'
  const std::string leaf = directory.filename().string();
  const fs::path runs = directory.parent_path();
  const fs::path study = runs.parent_path();
  if (runs.filename() != "runs" || study.parent_path().filename() != "studies" || study.filename().empty()) {
    return std::nullopt;
  }
  // The last "-seed<digits>": a cell's directory name may itself hold "-seed".
  const std::size_t at = leaf.rfind("-seed");
  if (at == std::string::npos || at == 0) return std::nullopt;
  const std::string digits = leaf.substr(at + 5);
  if (digits.empty() || digits.size() > 10 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const long long seed = std::stoll(digits);
  if (seed > 2147483647LL) return std::nullopt;
  return StudyRunPlace{study.filename().string(), leaf.substr(0, at), static_cast<int>(seed)};
}

StudyRunState studyRunState(const std::string& runDirectory) {
  if (!fs::exists(fs::path(runDirectory) / "run.json")) return StudyRunState::Pending;
  const RunJson run = readRunJson(runDirectory);
  if (run.status == RunStatus::Diverged) return StudyRunState::Done;
  if (run.status == RunStatus::Finished) {
    // A run stopped during its last analysis ends finished with that analysis unfinished (or not even
    // begun): resuming it redoes the analysis.
    const int every = run.analysisFlags.value("analyze-every", 0);
    if (every <= 0) return StudyRunState::Done;
    try {
      const json analysis = readJsonObjectFile(
          PeriodicAnalysis::epochDirectory(runDirectory, run.epochsCompleted) + "/analysis.json", "analysis.json");
      if (analysis.value("status", std::string()) == "complete") return StudyRunState::Done;
    } catch (const Error&) {
      // missing or unreadable: redone
    }
  }
  try {
    latestCheckpoint((fs::path(runDirectory) / "checkpoints").string());
    return StudyRunState::Partial;
  } catch (const Error&) {
    return StudyRunState::Pending;
  }
}

RunSpec studyRunSpec(const StudySpec& spec, const StudyRunSlot& slot, const std::string& workspace,
                     const std::vector<std::pair<std::string, std::string>>& extraSettings) {
  const StudyCell& cell = spec.cells.at(slot.cellIndex);
  RunSources sources;
  sources.configObject = cell.options;
  sources.configObjectSource = (spec.file.empty() ? spec.name : spec.file) + ", cell " + cell.label;
  sources.settings = extraSettings;
  sources.settings.emplace_back("seed", std::to_string(slot.seed));
  sources.workspace = workspace;
  sources.name = slot.name;
  sources.tags = {"study:" + spec.name};
  if (studyRunState(slot.directory) == StudyRunState::Partial) {
    // The resumed run's own run.json is the layer under the study's: the study's options must agree.
    sources.resumeDirectory = slot.directory;
  } else {
    sources.settings.emplace_back("out", slot.directory);
  }
  return resolveRunSpec(sources);
}

namespace {

// A run that stopped before its first checkpoint starts again: its record and files go (nothing of
// it can be resumed), so that the new run can claim the directory.
void clearUnstartedRun(const StudyRunSlot& slot, const std::string& workspace) {
  if (!fs::exists(slot.directory)) return;
  RunStore store{Workspace(workspace)};
  while (const auto record = store.findRunByOutDir(slot.directory)) store.deleteRun(record->id);
  std::error_code ignored;
  fs::remove_all(slot.directory, ignored);
}

}  // namespace

std::string studyLaunchFile(const std::string& directory) {
  try {
    const json launch = readJsonObjectFile((fs::path(directory) / "launch.json").string(), "launch.json");
    const auto file = launch.find("file");
    return file != launch.end() && file->is_string() ? file->get<std::string>() : "";
  } catch (const Error&) {
    return "";
  }
}

namespace {

// The extra settings that change what a run computes (--set): a study keeps one set of them, so that
// its cells stay comparable. The thread count and the device only change how it runs.
json overridesOf(const StudyOptions& options) {
  json overrides = json::object();
  for (const auto& [key, text] : options.extraSettings) {
    if (key != "threads" && key != "device") overrides[key] = text;
  }
  return overrides;
}

}  // namespace

bool checkStudyCanStart(const StudySpec& spec, const StudyOptions& options) {
  const std::string workspace = Workspace::resolve(options.workspace).directory().string();
  const std::string directory = studyDirectory(workspace, spec.name);
  const fs::path studyFile = fs::path(directory) / "study.json";
  const fs::path launchFile = fs::path(directory) / "launch.json";
  const json overrides = overridesOf(options);
  const std::string what = "study '" + spec.name + "'";
  if (!fs::exists(studyFile)) return false;
  if (!options.resume) {
    throw ConfigError("study", spec.name,
                      what + " already exists in " + workspace + ": add --resume to continue it, or give another --workspace");
  }
  const json started = readJsonObjectFile(studyFile.string(), "the study's record");
  if (started != spec.document) {
    throw ConfigError("--resume", spec.file.empty() ? spec.name : spec.file,
                      "differs from the study file it was started with (" + studyFile.string() +
                          "); a changed grid or base is a new study: give it another \"study\" name or --workspace");
  }
  json startedWith = json::object();
  if (fs::exists(launchFile)) {
    startedWith = readJsonObjectFile(launchFile.string(), "the study's launch record").value("overrides", json::object());
  }
  if (startedWith != overrides) {
    auto flags = [](const json& object) {
      std::string text;
      for (const auto& [key, value] : object.items()) {
        text += (text.empty() ? "" : " ") + std::string("--set ") + key + "=" + value.get<std::string>();
      }
      return text.empty() ? std::string("no --set") : text;
    };
    throw ConfigError("--set", flags(overrides),
                      what + " was started with " + flags(startedWith) + " (" + launchFile.string() +
                          "): resume it with the same, so that its runs stay comparable");
  }
  return true;
}

StudyOutcome runStudy(const StudySpec& spec, const StudyOptions& options) {
  StudyOutcome outcome;
  outcome.workspace = Workspace::resolve(options.workspace).directory().string();
  outcome.directory = studyDirectory(outcome.workspace, spec.name);
  const std::string what = "study '" + spec.name + "'";
  const fs::path studyFile = fs::path(outcome.directory) / "study.json";
  const fs::path launchFile = fs::path(outcome.directory) / "launch.json";
  if (!checkStudyCanStart(spec, options)) {
    const json launchOverrides = overridesOf(options);
    fs::create_directories(outcome.directory);
    writeFileAtomically(studyFile.string(), spec.document.dump(2) + "\n");
    json launch = {{"overrides", launchOverrides}};
    if (!spec.file.empty()) launch["file"] = fs::absolute(spec.file).lexically_normal().string();
    writeFileAtomically(launchFile.string(), launch.dump(2) + "\n");
  }

  // One process per study: another would take this one's run in flight (no checkpoint yet) for one to
  // start again, and remove it.
  const std::string lockPath = (fs::path(outcome.directory) / "lock").string();
  const int lock = open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) throw Error(lockPath + ": cannot open the study's lock file");
  struct LockGuard {
    int fd;
    ~LockGuard() { close(fd); }
  } guard{lock};
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    throw ConfigError("study", spec.name, what + " is being run by another process (its lock: " + lockPath + ")");
  }

  const std::vector<StudyRunSlot> slots = studyRunSlots(spec, outcome.workspace);
  outcome.total = slots.size();
  for (std::size_t index = 0; index < slots.size(); ++index) {
    const StudyRunSlot& slot = slots[index];
    if (options.cancel != nullptr && options.cancel->load()) {
      outcome.cancelled = true;
      break;
    }
    StudyRunState state = StudyRunState::Pending;
    try {
      state = studyRunState(slot.directory);
    } catch (const Error& error) {
      throw Error(std::string(error.what()) + " (run " + slot.name + "; move its directory away to run it again)");
    }
    if (state == StudyRunState::Done) {
      ++outcome.skipped;
      continue;
    }
    if (state == StudyRunState::Pending) clearUnstartedRun(slot, outcome.workspace);
    const RunSpec runSpec = studyRunSpec(spec, slot, outcome.workspace, options.extraSettings);
    if (options.observer != nullptr) options.observer->onRunStarting(index, slots.size(), slot, runSpec.resuming());
    const auto started = std::chrono::steady_clock::now();
    RunSessionOptions sessionOptions;
    sessionOptions.cancel = options.cancel;
    RunSession session(runSpec, sessionOptions);
    if (options.observer != nullptr) {
      if (TrainingObserver* observer = options.observer->trainingObserver()) session.addObserver(observer);
    }
    const TrainingResult result = session.run();
    // Each call's wall time for the run (loading, training, evaluation, analyses), one line per call.
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::ofstream(fs::path(outcome.directory) / "timings.csv", std::ios::app)
        << fs::path(slot.directory).filename().string() << "," << seconds << "\n";
    if (options.observer != nullptr) options.observer->onRunEnded(index, slots.size(), slot, result.status);
    if (result.status == RunStatus::Cancelled) {
      outcome.cancelled = true;
      break;
    }
    ++outcome.trained;
  }
  return outcome;
}

}  // namespace samscape

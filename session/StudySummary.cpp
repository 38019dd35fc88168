#include "session/StudySummary.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include "analysis/AnalysisSession.h"
#include "analysis/Metrics.h"
#include "analysis/PeriodicAnalysis.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/store/RunExport.h"
#include "core/train/RunDirectory.h"

namespace samscape {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string number(double value, int precision = 4) {
  if (!std::isfinite(value)) return "n/a";
  std::ostringstream out;
  out << std::setprecision(precision) << value;
  return out.str();
}

std::string csvNumber(double value) {
  if (!std::isfinite(value)) return "";
  std::ostringstream out;
  out << std::setprecision(10) << value;
  return out.str();
}


}  // namespace

std::string studySelectorLabel(const json& selector) {
  std::string label;
  for (const auto& [key, value] : selector.items()) {
    label += (label.empty() ? "" : " ") + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return label;
}

namespace {

std::string thresholdText(const StudyCheck& check) {
  return std::string(check.strict ? "> " : ">= ") + number(check.threshold);
}

std::string intervalText(const SampleSummary& s) {
  if (!s.hasInterval()) return number(s.mean);
  return number(s.mean) + " [" + number(s.ci95Low) + ", " + number(s.ci95High) + "]";
}

}  // namespace

StudyCheckResult judgeStudyCheck(const StudyCheck& check, const StudySummary& summary) {
  StudyCheckResult result;
  const StudySpec& spec = summary.spec;
  const std::size_t seeds = spec.seeds.size();
  auto full = [&](std::size_t cell) { return summary.cells[cell].done == seeds; };
  auto stats = [&](std::size_t cell) -> const SampleSummary& { return summary.cells[cell].metrics.at(check.metric); };
  auto separationNote = [&](bool separated, bool intervals) -> std::string {
    if (!check.separated) return "";
    if (!intervals) return "; no 95% CIs (fewer than 2 seeds done)";
    return separated ? "; 95% CIs separated" : "; 95% CIs overlap";
  };

  if (check.kind == StudyCheck::Kind::Decreasing) {
    std::vector<std::size_t> order(spec.cells.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return spec.cells[a].options.at(check.along).get<double>() < spec.cells[b].options.at(check.along).get<double>();
    });
    result.description = check.metric + " falls as " + check.along + " grows" + (check.separated ? " (CIs separated)" : "");
    bool allFull = true, falls = true, separated = true, intervals = true;
    for (std::size_t i = 0; i < order.size(); ++i) {
      allFull = allFull && full(order[i]);
      intervals = intervals && stats(order[i]).hasInterval();
      result.measured += (i == 0 ? "" : ", ") + check.along + "=" + spec.cells[order[i]].options.at(check.along).dump() +
                         ": " + intervalText(stats(order[i]));
      if (i == 0) continue;
      falls = falls && stats(order[i]).mean < stats(order[i - 1]).mean;
      separated = separated && intervalsSeparated(stats(order[i]), stats(order[i - 1]));
    }
    result.measured += separationNote(separated, intervals);
    if (!allFull) return result;
    result.verdict = falls && (!check.separated || separated) ? CheckVerdict::Holds : CheckVerdict::Fails;
    return result;
  }

  if (check.kind == StudyCheck::Kind::DifferenceIncreasing) {
    // Table 4's shape (Foret et al. 2021): SAM's advantage over SGD grows with the label noise.
    result.description = check.metric + ": " + studySelectorLabel(check.first) + " - " + studySelectorLabel(check.second) +
                         " grows as " + check.along + " grows";
    bool allFull = true, grows = true, found = true;
    double previous = kNaN;
    for (double value : studyCheckAlongValues(spec, check)) {
      json first = check.first, second = check.second;
      first[check.along] = value;
      second[check.along] = value;
      const auto a = studyCellsMatching(spec, first), b = studyCellsMatching(spec, second);
      result.measured += (result.measured.empty() ? "" : ", ") + check.along + "=" + number(value) + ": ";
      if (a.size() != 1 || b.size() != 1) {
        result.measured += "no single pair of cells";
        found = false;
        continue;
      }
      allFull = allFull && full(a.front()) && full(b.front());
      const double difference = stats(a.front()).mean - stats(b.front()).mean;
      result.measured += number(stats(a.front()).mean) + " - " + number(stats(b.front()).mean) + " = " + number(difference);
      grows = grows && std::isfinite(difference) && (std::isnan(previous) || difference > previous);
      previous = difference;
    }
    if (!found) {
      result.verdict = CheckVerdict::Fails;
    } else if (allFull) {
      result.verdict = grows ? CheckVerdict::Holds : CheckVerdict::Fails;
    }
    return result;
  }

  // -1: no cell, -2: several (parseStudySpec refuses both; a hand-made spec may still have them).
  auto find = [&](const json& selector) -> std::ptrdiff_t {
    const auto cells = studyCellsMatching(spec, selector);
    if (cells.size() != 1) return cells.empty() ? -1 : -2;
    return static_cast<std::ptrdiff_t>(cells.front());
  };
  const std::ptrdiff_t a = find(check.first), b = find(check.second);
  const bool ratio = check.kind == StudyCheck::Kind::Ratio;
  result.description = check.metric + ": " + studySelectorLabel(check.first) + (ratio ? " / " : " - ") +
                       studySelectorLabel(check.second) + " " + thresholdText(check) + (check.separated ? ", CIs separated" : "");
  if (a < 0 || b < 0) {
    const std::ptrdiff_t bad = a < 0 ? a : b;
    result.measured = "the selector " + studySelectorLabel(a < 0 ? check.first : check.second) +
                      (bad == -2 ? " matches several cells" : " matches no cell");
    result.verdict = CheckVerdict::Fails;
    return result;
  }
  const SampleSummary& first = stats(static_cast<std::size_t>(a));
  const SampleSummary& second = stats(static_cast<std::size_t>(b));
  const double value = ratio ? first.mean / second.mean : first.mean - second.mean;
  const bool separated = intervalsSeparated(first, second);
  result.measured = intervalText(first) + (ratio ? " / " : " - ") + intervalText(second) + " = " + number(value) +
                    separationNote(separated, first.hasInterval() && second.hasInterval());
  if (!full(static_cast<std::size_t>(a)) || !full(static_cast<std::size_t>(b))) return result;
  const bool meets = check.strict ? value > check.threshold : value >= check.threshold;
  result.verdict = std::isfinite(value) && meets && (!check.separated || separated) ? CheckVerdict::Holds : CheckVerdict::Fails;
  return result;
}

namespace {

// A path as the user would type it from the current directory: relative when inside it.
std::string displayPath(const std::string& path) {
  std::error_code error;
  const fs::path relative = fs::relative(path, fs::current_path(error), error);
  if (error || relative.empty() || relative.string().rfind("..", 0) == 0) return path;
  return relative.string();
}

}  // namespace

std::string studyCommand(const StudySummary& summary) {
  const std::string file = summary.launchedFrom.empty() ? summary.directory + "/study.json" : summary.launchedFrom;
  return "samscape-cli study --config " + displayPath(file) + " --workspace " + displayPath(summary.workspace);
}

const std::vector<std::string>& studyMetricNames() {
  static const std::vector<std::string> names = [] {
    // study.csv's columns since the first studies, in their order (its readers, the README's table
    // among them, keep working), then any other metric summarized in studies, in allMetrics() order.
    std::vector<std::string> keys{"test_acc", "train_acc", "test_loss", "lambda_max", "lambda_ratio", "m_sharpness", "trace"};
    for (const std::string& key : keys) metricDefinition(key);  // each one defined
    for (const MetricDefinition& metric : allMetrics()) {
      if (metric.inStudies && std::find(keys.begin(), keys.end(), metric.key) == keys.end()) keys.push_back(metric.key);
    }
    return keys;
  }();
  return names;
}

const char* verdictName(CheckVerdict verdict) {
  switch (verdict) {
    case CheckVerdict::Holds: return "reproduced";
    case CheckVerdict::Fails: return "not reproduced";
    case CheckVerdict::NotJudged: return "not judged (runs missing)";
  }
  return "";
}

StudyRunResult readStudyRunResult(const StudyRunSlot& slot) {
  StudyRunResult result;
  result.slot = slot;
  for (const auto& name : studyMetricNames()) result.metrics[name] = kNaN;
  try {
    result.state = studyRunState(slot.directory);
    if (!fs::exists(fs::path(slot.directory) / "run.json")) return result;
    const RunJson run = readRunJson(slot.directory);
    result.status = run.status;
    if (result.state != StudyRunState::Done) return result;
    const std::vector<EpochMetrics> epochs = readMetricsCsv((fs::path(slot.directory) / "metrics.csv").string());
    for (const auto& epoch : epochs) result.seconds += epoch.seconds;
    // The last epoch is always analysed (PeriodicAnalysis): its directory has the final numbers.
    const std::string analysis = PeriodicAnalysis::epochDirectory(slot.directory, run.epochsCompleted);
    const AnalysisResults results =
        fs::exists(analysis + "/analysis.json") ? readAnalysisDirectory(analysis) : AnalysisResults{};
    for (const std::string& name : studyMetricNames()) {
      const MetricDefinition& metric = metricDefinition(name);
      std::optional<double> value;
      if (metric.perEpoch) {
        if (!epochs.empty()) value = metricValue(metric, epochs.back());
      } else if (results.complete()) {
        value = metricValue(metric, results);
      }
      if (value) result.metrics[name] = *value;
    }
    if (!epochs.empty()) {
      result.minibatchTrainLoss = epochs.back().trainLoss;
      result.metrics["train_seconds"] = result.seconds;  // trainingMetrics(): a run's, not an epoch's
    }
    if (results.complete()) {
      for (const std::string& key : sharpnessMeasureKeys()) {
        if (const auto value = results.metric(key)) result.sharpness[key] = *value;
      }
      if (const auto loss = results.metric("analysis_loss")) result.analysisLoss = *loss;
      // The split and the size are analysis.json's; the stages' results do not carry them.
      const json document = json::parse(results.jsonText, nullptr, false);
      if (document.is_object()) {
        if (document.contains("split") && document["split"].is_string()) result.analysisSplit = document["split"];
        if (document.contains("examples") && document["examples"].is_number_unsigned()) {
          result.analysisExamples = document["examples"].get<std::size_t>();
        }
      }
    }
  } catch (const std::exception& error) {  // samscape's errors, and the filesystem's
    result.problem = error.what();
  }
  return result;
}

StudySummary summarizeStudy(const StudySpec& spec, const std::string& workspace) {
  StudySummary summary;
  summary.spec = spec;
  summary.workspace = workspace;
  summary.directory = studyDirectory(workspace, spec.name);
  summary.launchedFrom = spec.file;
  summary.cells.resize(spec.cells.size());
  std::vector<std::map<std::string, std::vector<double>>> values(spec.cells.size());
  // timings.csv: "<run directory's name>,<seconds>" per call that ran it.
  std::map<std::string, double> timings;
  {
    std::ifstream in(fs::path(summary.directory) / "timings.csv");
    for (std::string line; std::getline(in, line);) {
      const auto comma = line.rfind(',');
      if (comma == std::string::npos) continue;
      try {
        timings[line.substr(0, comma)] += std::stod(line.substr(comma + 1));
      } catch (const std::exception&) {
        // a torn last line of a killed study: that call's time is lost, not the study
      }
    }
  }
  for (const auto& slot : studyRunSlots(spec, workspace)) {
    StudyRunResult run = readStudyRunResult(slot);
    const auto timing = timings.find(fs::path(slot.directory).filename().string());
    if (timing != timings.end()) run.wallSeconds = timing->second;
    if (run.state == StudyRunState::Done && run.problem.empty()) {
      StudyCellSummary& cell = summary.cells[slot.cellIndex];
      ++cell.done;
      ++summary.done;
      summary.runSeconds += run.seconds;
      summary.wallSeconds += run.wallSeconds;
      // A diverged run's numbers are those of a broken model: counted, not averaged.
      if (run.status == RunStatus::Diverged) {
        ++cell.diverged;
      } else {
        for (const auto& [name, value] : run.metrics) values[slot.cellIndex][name].push_back(value);
      }
    }
    summary.runs.push_back(std::move(run));
  }
  for (std::size_t c = 0; c < spec.cells.size(); ++c) {
    for (const auto& name : studyMetricNames()) summary.cells[c].metrics[name] = summarize(values[c][name]);
  }
  for (const auto& check : spec.checks) summary.checks.push_back(judgeStudyCheck(check, summary));
  summary.correlations = studyCorrelations(summary.runs);
  return summary;
}

StudySummary summarizeRecordedStudy(const std::string& workspace, const std::string& studyName) {
  const fs::path file = fs::path(studyDirectory(workspace, studyName)) / "study.json";
  if (!fs::exists(file)) {
    throw ConfigError("study", studyName, "no such study in " + workspace + " (no " + file.string() + ")");
  }
  // Read back as it was run, wherever that was: not checked against this machine (a CUDA study reads
  // back on a laptop).
  StudyParseOptions options;
  options.validateRuns = false;
  StudySpec spec = parseStudySpec(readJsonObjectFile(file.string(), "the study's record"), file.string(), options);
  spec.file = file.string();
  StudySummary summary = summarizeStudy(spec, workspace);
  summary.launchedFrom = studyLaunchFile(summary.directory);
  return summary;
}

std::vector<std::string> recordedStudies(const std::string& workspace) {
  std::vector<std::string> names;
  std::error_code error;
  const fs::path studies = fs::path(workspace) / "studies";
  if (!fs::is_directory(studies, error)) return names;
  for (const auto& entry : fs::directory_iterator(studies, error)) {
    if (fs::exists(entry.path() / "study.json")) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string studyCsv(const StudySummary& summary) {
  std::ostringstream out;
  out << "cell";
  for (const auto& key : summary.spec.gridKeys) out << "," << csvField(key);
  out << ",runs,done,diverged";
  for (const auto& name : studyMetricNames()) out << "," << name << "_mean," << name << "_std," << name << "_ci95_low," << name << "_ci95_high";
  out << "\n";
  for (std::size_t c = 0; c < summary.spec.cells.size(); ++c) {
    const StudyCell& cell = summary.spec.cells[c];
    const StudyCellSummary& stats = summary.cells[c];
    out << csvField(cell.label);
    for (const auto& key : summary.spec.gridKeys) {
      const auto it = cell.options.find(key);
      out << "," << (it == cell.options.end() ? "" : csvField(it->is_string() ? it->get<std::string>() : it->dump()));
    }
    out << "," << summary.spec.seeds.size() << "," << stats.done << "," << stats.diverged;
    for (const auto& name : studyMetricNames()) {
      const SampleSummary& s = stats.metrics.at(name);
      out << "," << csvNumber(s.mean) << "," << csvNumber(s.stddev) << "," << csvNumber(s.ci95Low) << "," << csvNumber(s.ci95High);
    }
    out << "\n";
  }
  return out.str();
}

std::string studyRunsCsv(const StudySummary& summary) {
  std::ostringstream out;
  out << "cell,seed,status";
  for (const auto& name : studyMetricNames()) out << "," << name;
  out << ",seconds,directory\n";
  for (const auto& run : summary.runs) {
    out << csvField(summary.spec.cells[run.slot.cellIndex].label) << "," << run.slot.seed << ","
        << (run.problem.empty() ? nameOf(run.status) : std::string("unreadable"));
    for (const auto& name : studyMetricNames()) out << "," << csvNumber(run.metrics.at(name));
    out << "," << (run.wallSeconds > 0 ? csvNumber(run.wallSeconds) : std::string()) << "," << csvField(run.slot.directory) << "\n";
  }
  return out.str();
}

std::string studyTableText(const StudySummary& summary) {
  const StudySpec& spec = summary.spec;
  std::ostringstream out;
  out << "study " << spec.name << ": " << summary.done << " of " << summary.runs.size() << " runs done (" << summary.directory << ")\n";
  if (!spec.claim.empty()) out << "claim: " << spec.claim << "\n";
  out << "time of the runs done: " << number(summary.wallSeconds / 60.0, 3)
      << " min wall (as the study timed them: loading, training, evaluation, analyses); "
      << number(summary.runSeconds / 60.0, 3) << " min in their epochs (metrics.csv)\n";
  // Only the metrics some cell measured.
  std::vector<std::string> shown;
  for (const auto& name : studyMetricNames()) {
    for (const auto& cell : summary.cells) {
      if (cell.metrics.at(name).count > 0) {
        shown.push_back(name);
        break;
      }
    }
  }
  std::size_t labelWidth = 4;
  for (const auto& cell : spec.cells) labelWidth = std::max(labelWidth, cell.label.size());
  out << std::left << std::setw(static_cast<int>(labelWidth)) << "cell" << "  runs";
  for (const auto& name : shown) out << "  " << std::setw(30) << (name + " mean [95% CI]");
  out << "\n";
  for (std::size_t c = 0; c < spec.cells.size(); ++c) {
    const StudyCellSummary& cell = summary.cells[c];
    out << std::setw(static_cast<int>(labelWidth)) << spec.cells[c].label << "  "
        << std::setw(4) << (std::to_string(cell.done) + "/" + std::to_string(spec.seeds.size()));
    for (const auto& name : shown) out << "  " << std::setw(30) << intervalText(cell.metrics.at(name));
    out << (cell.diverged > 0 ? "  (" + std::to_string(cell.diverged) + " diverged)" : "") << "\n";
  }
  for (const auto& run : summary.runs) {
    if (!run.problem.empty()) out << "unreadable run " << run.slot.directory << ": " << run.problem << "\n";
  }
  for (const auto& check : summary.checks) {
    out << "check: " << check.description << "\n  measured: " << check.measured << "\n  " << verdictName(check.verdict) << "\n";
  }
  out << studyCorrelationsText(summary.correlations);
  return out.str();
}

std::string reproducesMarkdown(const std::vector<StudySummary>& summaries) {
  std::ostringstream out;
  out << "| Claim | Paper | Check | Measured (mean [95% CI] over seeds) | Result | Command |\n";
  out << "|---|---|---|---|---|---|\n";
  auto cell = [](std::string text) {
    std::string escaped;
    for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c == '\n' ? ' ' : c);
    return escaped;
  };
  for (const auto& summary : summaries) {
    const std::string command = "`" + studyCommand(summary) + "`";
    const std::string runs = " (" + std::to_string(summary.done) + "/" + std::to_string(summary.runs.size()) + " runs, " +
                             std::to_string(summary.spec.seeds.size()) + " seeds, " +
                             number(summary.wallSeconds / 60.0, 3) + " min)";
    if (summary.checks.empty()) {
      out << "| " << cell(summary.spec.claim) << " | " << cell(summary.spec.paper) << " | (no checks) | | |" << command << " |\n";
    }
    for (const auto& check : summary.checks) {
      out << "| " << cell(summary.spec.claim) << " | " << cell(summary.spec.paper) << " | " << cell(check.description)
          << " | " << cell(check.measured) << runs << " | " << verdictName(check.verdict) << " | " << command << " |\n";
    }
  }
  return out.str();
}

void writeStudyCsvFiles(const StudySummary& summary) {
  writeFileAtomically((fs::path(summary.directory) / "study.csv").string(), studyCsv(summary));
  writeFileAtomically((fs::path(summary.directory) / "study-runs.csv").string(), studyRunsCsv(summary));
  writeFileAtomically((fs::path(summary.directory) / "study-correlations.csv").string(),
                      studyCorrelationsCsv(summary.correlations));
}

}  // namespace samscape

// A run's options resolved from their layers (a resumed run's run.json, a --config file, the flags or
// the form's fields), as `samscape-cli train` and the app both resolve them: each layer over the ones
// before, --analyze-every 0 turning off the analyses below it, run.json's "analysis" recording what was
// set, and every error naming the flag the user typed (and the file a value came from).
#include "session/RunSpec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "core/train/RunDirectory.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

class RunSpecTest : public ::testing::Test {
 protected:
  test::TempDir dir;

  RunSources sources(Settings settings = {}) const {
    RunSources s;
    s.settings = std::move(settings);
    s.workspace = dir.file("workspace");
    s.assignRunDirectory = false;
    return s;
  }
  std::string writeJson(const std::string& name, const nlohmann::json& object) const {
    const std::string path = dir.file(name);
    std::ofstream(path) << object.dump(2);
    return path;
  }
  // A run directory as RunDirectoryWriter leaves it: run.json with `config` and `analysis`.
  std::string runDirectory(const TrainConfig& config, const nlohmann::json& analysis) const {
    RunDirectoryWriter writer(config.outDir, config);
    writer.setAnalysisFlags(analysis.dump());
    writer.onBegin(TrainingBegin{});
    return config.outDir;
  }
};

TEST_F(RunSpecTest, FlagsOverrideTheConfigFileWhichOverridesTheResumedRun) {
  TrainConfig resumed;
  resumed.optimizer.learningRate = 0.2;
  resumed.epochs = 4;
  resumed.batchSize = 32;
  resumed.outDir = dir.file("run");
  runDirectory(resumed, {{"analyze-every", 2}, {"hessian-top", 3}, {"grid", 9}});
  RunSources s = sources({{"epochs", "6"}, {"grid", "5"}});
  s.resumeDirectory = resumed.outDir;
  s.configFile = writeJson("config.json", {{"epochs", 5}, {"momentum", 0.5}, {"hessian-top", 4}});
  const RunSpec spec = resolveRunSpec(s);
  EXPECT_DOUBLE_EQ(spec.config.optimizer.learningRate, 0.2);  // run.json
  EXPECT_EQ(spec.config.batchSize, 32);                       // run.json
  EXPECT_DOUBLE_EQ(spec.config.optimizer.momentum, 0.5);      // the config file
  EXPECT_EQ(spec.config.epochs, 6);                           // the flag
  EXPECT_EQ(spec.analyzeEvery, 2);
  EXPECT_EQ(spec.analysis.hessianTop, 4);
  EXPECT_EQ(spec.analysis.grid, 5);
  EXPECT_EQ(spec.config.outDir, resumed.outDir);
  EXPECT_TRUE(spec.resuming());
  // What was set, whichever layer set it: run.json's "analysis" for the next resume.
  EXPECT_EQ(spec.analysisFlags, nlohmann::json({{"analyze-every", 2}, {"hessian-top", 4}, {"grid", 5}}));
}

TEST_F(RunSpecTest, AnalyzeEveryZeroTurnsOffTheAnalysesOfTheLayersBelow) {
  const std::string config = writeJson("config.json", {{"analyze-every", 1}, {"slice", true}, {"grid", 3}});
  RunSources s = sources({{"analyze-every", "0"}});
  s.configFile = config;
  const RunSpec off = resolveRunSpec(s);
  EXPECT_EQ(off.analyzeEvery, 0);
  EXPECT_FALSE(off.analysis.slice);
  EXPECT_EQ(off.analysisFlags, nlohmann::json::object());
  // ... but not an analysis flag given beside it: that is an error, naming --analyze-every.
  s.settings.emplace_back("hessian-top", "2");
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(s); }), {"--analyze-every", "'0'"});
}

TEST_F(RunSpecTest, ErrorsNameTheFlagAsTypedAndTheFileAValueCameFrom) {
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(sources({{"lr", "fast"}})); }),
                       {"--lr", "fast", "a number"});
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(sources({{"lr", "-1"}})); }),
                       {"--lr", "-1", "positive"});
  // train's m-sharpness options are --sharpness-m and --sharpness-rho, and its messages say so.
  test::expectContains(test::messageOf<ConfigError>([&] {
                         resolveRunSpec(sources({{"analyze-every", "1"}, {"m-sharpness", "true"}, {"sharpness-m", "0"}}));
                       }),
                       {"--sharpness-m", "'0'"});
  RunSources fromFile = sources();
  fromFile.configFile = writeJson("bad.json", {{"epochs", "many"}});
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(fromFile); }),
                       {"--epochs", "many", fromFile.configFile});
  // A value of the right type that a check refuses still names the file it came from.
  fromFile.configFile = writeJson("bad2.json", {{"analyze-every", 1}, {"slice", true}, {"grid", 1}});
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(fromFile); }),
                       {"--grid", "'1'", fromFile.configFile});
  fromFile.configFile = writeJson("bad3.json", {{"learning-rate", 0.1}});
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(fromFile); }),
                       {"--config", "learning-rate", fromFile.configFile});
  RunSources resumed = sources();
  resumed.resumeDirectory = dir.file("no-run");
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(resumed); }), {"--resume", "no-run"});
  RunSources elsewhere = sources({{"out", dir.file("elsewhere")}});
  TrainConfig config;
  config.outDir = dir.file("resumable");
  elsewhere.resumeDirectory = runDirectory(config, nlohmann::json::object());
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(elsewhere); }), {"--out", "--resume"});
}

// --analysis-budget: a share of the training time from 0 (no limit) to 100, kept in run.json's
// "analysis" like the analysis flags, and refused with the flag and the value otherwise.
TEST_F(RunSpecTest, AnalysisBudgetIsAShareFromZeroToAHundred) {
  EXPECT_DOUBLE_EQ(resolveRunSpec(sources({{"analyze-every", "2"}})).analysisBudget, 0.25);
  const RunSpec half = resolveRunSpec(sources({{"analyze-every", "2"}, {"analysis-budget", "0.5"}}));
  EXPECT_DOUBLE_EQ(half.analysisBudget, 0.5);
  EXPECT_EQ(half.analysisFlags, nlohmann::json({{"analyze-every", 2}, {"analysis-budget", 0.5}}));
  EXPECT_DOUBLE_EQ(resolveRunSpec(sources({{"analyze-every", "2"}, {"analysis-budget", "0"}})).analysisBudget, 0.0);
  EXPECT_DOUBLE_EQ(resolveRunSpec(sources({{"analyze-every", "2"}, {"analysis-budget", "100"}})).analysisBudget, 100.0);
  for (const std::string bad : {"-0.1", "nan", "100.5", "inf", "1000"}) {
    test::expectContains(test::messageOf<ConfigError>([&] {
                           resolveRunSpec(sources({{"analyze-every", "2"}, {"analysis-budget", bad}}));
                         }),
                         {"--analysis-budget", "'" + bad + "'", "from 0 (no limit) to 100"});
  }
  test::expectContains(test::messageOf<ConfigError>([&] {
                         resolveRunSpec(sources({{"analyze-every", "2"}, {"analysis-budget", "a quarter"}}));
                       }),
                       {"--analysis-budget", "a quarter", "a number"});
  // A budget without analyses to limit is a mistake worth saying, as an analysis flag without them is.
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(sources({{"analysis-budget", "0.5"}})); }),
                       {"--analysis-budget", "--analyze-every"});
  // From a file, the file is named.
  RunSources fromFile = sources();
  fromFile.configFile = writeJson("budget.json", {{"analyze-every", 1}, {"analysis-budget", -2}});
  test::expectContains(test::messageOf<ConfigError>([&] { resolveRunSpec(fromFile); }),
                       {"--analysis-budget", "'-2'", fromFile.configFile});
}

// The settings the form shows for a spec resolve back to the same spec, and a config file written from
// a spec reads back as the same spec: the command line, run.json and the form see one run.
TEST_F(RunSpecTest, SettingsAndConfigFilesRoundTrip) {
  const Settings given{{"dataset", "mnist"},       {"data-dir", dir.file("data")}, {"no-augment", "true"},
                       {"optimizer", "sam"},       {"lr", "0.1"},                  {"rho", "0.1"},
                       {"m", "8"},                 {"batch-size", "32"},           {"schedule", "step"},
                       {"step-epochs", "2,3"},     {"epochs", "4"},                {"seed", "7"},
                       {"analyze-every", "2"},     {"hessian-top", "3"},           {"slice", "true"},
                       {"range", "-0.5:0.5"},      {"subset", "0"},                {"sharpness-rho", "0.1"},
                       {"m-sharpness", "true"}};
  const RunSpec spec = resolveRunSpec(sources(given));
  Settings shown = runSettings(spec);
  const RunSpec again = resolveRunSpec(sources(shown));
  EXPECT_EQ(runConfigJson(again), runConfigJson(spec));
  EXPECT_EQ(runSettings(again), shown);
  EXPECT_EQ(shown.size(), given.size()) << "every given value differs from its default";

  RunSources fromFile = sources();
  fromFile.configFile = writeJson("spec.json", runConfigJson(spec));
  const RunSpec read = resolveRunSpec(fromFile);
  EXPECT_EQ(runConfigJson(read), runConfigJson(spec));
  EXPECT_EQ(read.analysisFlags, spec.analysisFlags);
  EXPECT_EQ(optionsToJson(read, runOptions()), optionsToJson(spec, runOptions()));
}

// Every option's default, typed as text, is its default again: the form's placeholders and the
// command line's --help show values that parse.
TEST_F(RunSpecTest, EveryDefaultShownAsTextReadsBackAsItself) {
  const RunSpec defaults;
  for (const auto& option : runOptions()) {
    RunSpec target;
    const std::string text = optionText(option.get(defaults));
    if (option.info.kind == OptionKind::Path && text.empty()) continue;
    setOptionText(target, option, text);
    EXPECT_EQ(option.get(target), option.get(defaults)) << option.info.key << " shown as '" << text << "'";
    EXPECT_FALSE(option.info.label.empty()) << option.info.key;
    EXPECT_FALSE(option.info.help.empty()) << option.info.key;
  }
}

}  // namespace
}  // namespace samscape

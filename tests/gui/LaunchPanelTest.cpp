// The launch form is built from the run's option table, as `samscape-cli train` is, and resolves as it does:
// every visible flag has a field, the form's arguments are only what differs from the defaults, bad values
// name the flag, configs round-trip through the CLI's --config format, and presets fill the form.
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/Error.h"
#include "gui/LaunchPanel.h"
#include "tests/gui/GuiTestSupport.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

// Where a run goes and how processes join are the window's business, not the form's.
const std::set<std::string> kHiddenFlags{
    "help", "config",     "resume",     "out",         "workspace",   "name",        "tag",
    "rank", "world-size", "local-rank", "master-addr", "master-port", "dist-timeout"};

std::map<QString, QString> flagValues(const QStringList& arguments) {
  std::map<QString, QString> values;
  for (int i = 0; i < arguments.size(); ++i) {
    const QString flag = arguments[i];
    const bool hasValue = i + 1 < arguments.size() && !arguments[i + 1].startsWith("--");
    values[flag] = hasValue ? arguments[++i] : QString("true");
  }
  return values;
}

TEST(LaunchPanel, HasAnEditorForEveryVisibleTrainFlag) {
  gui::LaunchPanel form;
  int visible = 0;
  for (const Option<RunSpec>& option : runOptions()) {
    const std::string& key = option.info.key;
    if (kHiddenFlags.count(key) > 0) continue;
    ++visible;
    QWidget* editor = form.findChild<QWidget*>(QString::fromStdString("flag-" + key));
    ASSERT_NE(editor, nullptr) << "no editor for --" << key;
    EXPECT_EQ(qobject_cast<QCheckBox*>(editor) != nullptr, option.info.kind == OptionKind::Switch) << key;
    // A person reads the label; the flag and its help are in the tooltip.
    EXPECT_TRUE(editor->toolTip().startsWith(QString::fromStdString("--" + key + ": "))) << editor->toolTip().toStdString();
    EXPECT_TRUE(editor->toolTip().contains(QString::fromStdString(option.info.help))) << key;
    auto* layout = qobject_cast<QFormLayout*>(editor->parentWidget()->layout());
    ASSERT_NE(layout, nullptr) << key;
    auto* label = qobject_cast<QLabel*>(layout->labelForField(editor));
    ASSERT_NE(label, nullptr) << key;
    EXPECT_EQ(label->text().toStdString(), option.info.label);
    EXPECT_FALSE(label->text().startsWith("--")) << key;
  }
  EXPECT_GT(visible, 40);  // the train flags plus the analysis flags
  for (const std::string& hidden : kHiddenFlags) {
    EXPECT_EQ(form.findChild<QWidget*>(QString::fromStdString("flag-" + hidden)), nullptr) << hidden;
  }
}

TEST(LaunchPanel, ArgumentsAreOnlyWhatDiffersFromTheDefaults) {
  gui::LaunchPanel form;
  EXPECT_EQ(form.arguments(), QStringList());
  ASSERT_TRUE(form.setArguments({"--lr", "0.1", "--slice"}));
  EXPECT_EQ(form.arguments(), QStringList({"--lr", "0.1", "--slice"}));
  // An analysis flag needs --analyze-every: the CLI's own rule, with the CLI's message.
  test::expectContains(test::messageOf<ConfigError>([&] { form.resolve(); }), {"--analyze-every"});
  ASSERT_TRUE(form.setArguments({"--lr", "0.1", "--slice", "--analyze-every", "2"}));
  EXPECT_EQ(form.arguments(),
            QStringList({"--lr", "0.1", "--analyze-every", "2", "--slice"}));  // the form's order
  const RunSpec setup = form.resolve();
  EXPECT_DOUBLE_EQ(setup.config.optimizer.learningRate, 0.1);
  EXPECT_TRUE(setup.analysis.slice);
  EXPECT_EQ(setup.analyzeEvery, 2);
  // setArguments starts from the defaults again.
  ASSERT_TRUE(form.setArguments({"--epochs", "3"}));
  EXPECT_EQ(form.arguments(), QStringList({"--epochs", "3"}));
  EXPECT_FALSE(form.resolve().analysis.slice);
  EXPECT_EQ(form.resolve().config.epochs, 3);
}

TEST(LaunchPanel, ABadValueThrowsAConfigErrorNamingTheFlag) {
  gui::LaunchPanel form;
  ASSERT_TRUE(form.setArguments({"--lr", "-1"}));
  const std::string message = test::messageOf<ConfigError>([&] { form.resolve(); });
  test::expectContains(message, {"--lr", "-1"});
}

TEST(LaunchPanel, FlagsTheFormDoesNotShowAreRefusedAndChangeNothing) {
  gui::LaunchPanel form;
  ASSERT_TRUE(form.setArguments({"--epochs", "4"}));
  QString error;
  EXPECT_FALSE(form.setArguments({"--lr", "0.2", "--out", "/tmp/x"}, &error));
  EXPECT_TRUE(error.contains("--out")) << error.toStdString();
  EXPECT_FALSE(form.setArguments({"--lr"}, &error));
  EXPECT_TRUE(error.contains("--lr")) << error.toStdString();
  EXPECT_EQ(form.arguments(), QStringList({"--epochs", "4"}));
}

TEST(LaunchPanel, SavedConfigLoadsBackAndTheCliAcceptsIt) {
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  const QString dataDir = QString::fromStdString(dir.file("mnist"));
  QStringList flags = test::tinyTrainFlags(dataDir);
  flags << "--epochs"
        << "1"
        << "--threads"
        << "1"
        << "--analyze-every"
        << "1"
        << "--slice"
        << "--grid"
        << "3"
        << "--subset"
        << "0";
  gui::LaunchPanel form;
  ASSERT_TRUE(form.setArguments(flags));
  const QString path = QString::fromStdString(dir.file("config.json"));
  QString error;
  ASSERT_TRUE(form.saveConfig(path, &error)) << error.toStdString();

  gui::LaunchPanel loaded;
  ASSERT_TRUE(loaded.loadConfig(path, &error)) << error.toStdString();
  EXPECT_EQ(flagValues(loaded.arguments()), flagValues(form.arguments()));
  const RunSpec original = form.resolve();
  const RunSpec again = loaded.resolve();
  EXPECT_EQ(configToJson(again.config), configToJson(original.config));
  EXPECT_EQ(again.analyzeEvery, 1);
  EXPECT_TRUE(again.analysis.slice);
  EXPECT_EQ(again.analysis.grid, 3);

  // The same file is a valid `samscape-cli train --config`, and trains what the form says.
  const QString out = QString::fromStdString(dir.file("run"));
  const test::ProcessResult result =
      test::runProcess(SAMSCAPE_CLI_PATH, {"train", "--config", path, "--out", out},
                       QString::fromStdString(dir.file("workspace")));
  ASSERT_EQ(result.exitCode, 0) << result.err.toStdString();
  const std::string metrics = test::readText((out + "/metrics.csv").toStdString());
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;  // header + 1 epoch
  EXPECT_TRUE(QFile::exists(out + "/analysis/epoch-001/slice.csv"));
}

// One config, three readers: `samscape-cli train --config` keeps it in run.json ("config" and
// "analysis"); the form loads the file, or run.json's parts, and saves it back: every option the same.
TEST(LaunchPanel, AConfigRoundTripsThroughTheCliRunJsonAndTheFormIdentically) {
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};
  const nlohmann::json given = {
      {"dataset", "mnist"}, {"data-dir", dir.file("mnist")}, {"model", "mlp"}, {"batch-size", 16},
      {"epochs", 1},        {"threads", 1},                   {"seed", 3},      {"optimizer", "sam"},
      {"rho", 0.1},         {"m", 8},                         {"lr", 0.02},     {"momentum", 0.8},
      {"schedule", "step"}, {"step-factor", 0.5},             {"label-noise", 0.125},
      {"no-augment", true}, {"weight-decay", 0.001},          {"analyze-every", 1},
      {"hessian-top", 1},   {"slice", true},                  {"grid", 3},      {"range", "-0.5:0.5"},
      {"subset", 0}};
  const QString configPath = QString::fromStdString(dir.file("config.json"));
  { std::ofstream(configPath.toStdString()) << given.dump(2); }

  const QString out = QString::fromStdString(dir.file("run"));
  const test::ProcessResult trained = test::runProcess(SAMSCAPE_CLI_PATH, {"train", "--config", configPath, "--out", out},
                                                       QString::fromStdString(dir.file("workspace")));
  ASSERT_EQ(trained.exitCode, 0) << trained.err.toStdString();
  const auto runJson = nlohmann::json::parse(test::readText((out + "/run.json").toStdString()));
  nlohmann::json fromCli = runJson.at("config");
  fromCli.erase("out");
  fromCli.update(runJson.at("analysis"));
  for (const auto& [key, value] : given.items()) EXPECT_EQ(fromCli.at(key), value) << key;

  const auto savedByTheForm = [&](const QString& loaded, const QString& saved) {
    gui::LaunchPanel form;
    QString error;
    EXPECT_TRUE(form.loadConfig(loaded, &error)) << error.toStdString();
    EXPECT_TRUE(form.saveConfig(saved, &error)) << error.toStdString();
    return nlohmann::json::parse(test::readText(saved.toStdString()));
  };
  EXPECT_EQ(savedByTheForm(configPath, QString::fromStdString(dir.file("form.json"))), fromCli);
  const QString runParts = QString::fromStdString(dir.file("run-parts.json"));
  { std::ofstream(runParts.toStdString()) << fromCli.dump(2); }
  EXPECT_EQ(savedByTheForm(runParts, QString::fromStdString(dir.file("form-from-run.json"))), fromCli);
}

TEST(LaunchPanel, AConfigWithAnUnknownKeyLeavesTheFormUnchanged) {
  test::TempDir dir;
  gui::LaunchPanel form;
  ASSERT_TRUE(form.setArguments({"--epochs", "4", "--slice"}));
  const QStringList before = form.arguments();
  const QString path = QString::fromStdString(dir.file("bad.json"));
  QFile file(path);
  ASSERT_TRUE(file.open(QIODevice::WriteOnly));
  file.write(R"({"lr": 0.2, "learning-rate-typo": 0.3})");
  file.close();
  QString error;
  EXPECT_FALSE(form.loadConfig(path, &error));
  EXPECT_TRUE(error.contains("learning-rate-typo")) << error.toStdString();
  EXPECT_TRUE(error.contains(path)) << error.toStdString();
  EXPECT_EQ(form.arguments(), before);

  ASSERT_TRUE(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
  file.write("{not json");
  file.close();
  EXPECT_FALSE(form.loadConfig(path, &error));
  EXPECT_TRUE(error.contains(path)) << error.toStdString();
  EXPECT_EQ(form.arguments(), before);
}

TEST(LaunchPanel, PresetsFillTheForm) {
  // CIFAR-10 is found through SAMSCAPE_CIFAR10_DIR (a directory with data_batch_1.bin).
  test::TempDir cifar;
  std::filesystem::create_directories(cifar.file("cifar-10-batches-bin"));
  { std::ofstream(cifar.file("cifar-10-batches-bin/data_batch_1.bin")) << "x"; }
  qputenv("SAMSCAPE_CIFAR10_DIR", QByteArray::fromStdString(cifar.file("cifar-10-batches-bin")));
  const std::vector<gui::LaunchPreset> presets = gui::launchPresets();
  ASSERT_EQ(presets.size(), 3u);
  std::vector<RunSpec> setups;
  for (const gui::LaunchPreset& preset : presets) {
    gui::LaunchPanel form;
    ASSERT_TRUE(form.setArguments({"--epochs", "77", "--momentum", "0.5"}));
    QString error;
    ASSERT_TRUE(form.applyPreset(preset.name, &error))
        << preset.name.toStdString() << ": " << error.toStdString();
    // The preset replaces the form: nothing of before stays (values equal to a default drop out).
    const auto shown = flagValues(form.arguments());
    EXPECT_EQ(shown.count("--momentum"), 0u) << preset.name.toStdString();
    for (const auto& [flag, value] : shown) {
      EXPECT_EQ(flagValues(preset.arguments).count(flag), 1u)
          << preset.name.toStdString() << ": " << flag.toStdString();
    }
    setups.push_back(form.resolve());
  }
  qunsetenv("SAMSCAPE_CIFAR10_DIR");
  // The default pair is the accuracy preset's regime (where SAM ends both flatter and more accurate
  // than SGD over 5 seeds): its base and its SAM cell's rho, as resources/studies/accuracy.json has them.
  const auto accuracy = nlohmann::json::parse(
      test::readText(SAMSCAPE_SOURCE_DIR "/resources/studies/accuracy.json"));
  const auto& base = accuracy.at("base");
  EXPECT_EQ(setups[0].config.model.name, base.at("model").get<std::string>());
  EXPECT_EQ(setups[0].config.epochs, base.at("epochs").get<int>());
  EXPECT_EQ(setups[0].config.data.trainSubset, base.at("train-subset").get<std::int64_t>());
  EXPECT_EQ(setups[0].config.augment, !base.at("no-augment").get<bool>());
  EXPECT_EQ(setups[0].config.batchSize, base.at("batch-size").get<std::int64_t>());
  EXPECT_DOUBLE_EQ(setups[0].config.optimizer.learningRate, base.at("lr").get<double>());
  EXPECT_DOUBLE_EQ(setups[0].config.optimizer.rho, accuracy.at("cells").at(1).at("rho").get<double>());
  // Analysed at epochs 30 and 60, to stay near the default analysis budget.
  EXPECT_EQ(setups[0].analyzeEvery, 30);
  EXPECT_DOUBLE_EQ(setups[0].analysisBudget, 0.25);
  EXPECT_TRUE(setups[0].analysis.slice);
  EXPECT_EQ(setups[0].analysis.grid, 13);
  EXPECT_DOUBLE_EQ(setups[0].config.data.labelNoise, 0.0);
  EXPECT_DOUBLE_EQ(setups[1].config.data.labelNoise, 0.4);
  EXPECT_EQ(setups[2].config.data.kind, DatasetKind::Cifar10);
  EXPECT_EQ(setups[2].config.data.dataDir, cifar.file("cifar-10-batches-bin"));
  EXPECT_EQ(setups[2].config.model.name, "resnet20");
  EXPECT_EQ(setups[2].config.epochs, 200);

  gui::LaunchPanel form;
  ASSERT_TRUE(form.setArguments({"--epochs", "4"}));
  QString error;
  EXPECT_FALSE(form.applyPreset("no such preset", &error));
  EXPECT_TRUE(error.contains("no such preset"));
  EXPECT_EQ(form.arguments(), QStringList({"--epochs", "4"}));
}

// A field left empty runs with the default; where that default is a sentinel (-1: the rule's own
// radius, 0: all or off) the field says what it stands for rather than show the number.
TEST(LaunchPanel, ADefaultThatStandsForSomethingSaysWhat) {
  gui::LaunchPanel form;
  const auto placeholder = [&](const char* flag) {
    auto* edit = form.findChild<QLineEdit*>(QString("flag-") + flag);
    EXPECT_NE(edit, nullptr) << flag;
    return edit == nullptr ? QString() : edit->placeholderText();
  };
  auto* optimizer = form.findChild<QComboBox*>("flag-optimizer");
  ASSERT_NE(optimizer, nullptr);
  // The radius follows the optimizer: the papers' defaults, 0.05 for SAM (Foret et al. 2021), 0.5 for
  // ASAM (Kwon et al. 2021), 3 for Momentum-SAM.
  EXPECT_EQ(placeholder("rho"), "unused by sgd");
  optimizer->setCurrentText("sam");
  EXPECT_EQ(placeholder("rho"), "default (0.05)");
  optimizer->setCurrentText("asam");
  EXPECT_EQ(placeholder("rho"), "default (0.5)");
  ASSERT_TRUE(form.setArguments({"--optimizer", "msam"}));
  EXPECT_EQ(placeholder("rho"), "default (3)");
  ASSERT_TRUE(form.setArguments({"--optimizer", "gsam", "--rho", "-1"}));
  EXPECT_EQ(placeholder("rho"), "default (0.05)");
  EXPECT_TRUE(form.findChild<QLineEdit*>("flag-rho")->text().isEmpty()) << "-1 is the default: shown as such";
  EXPECT_EQ(form.arguments(), QStringList({"--optimizer", "gsam"}));
  // 0 for all, off or the whole batch, as each option's help says.
  EXPECT_EQ(placeholder("train-subset"), "all");
  EXPECT_EQ(placeholder("test-subset"), "all");
  EXPECT_EQ(placeholder("clip-norm"), "off");
  EXPECT_EQ(placeholder("m"), "whole batch");
  EXPECT_EQ(placeholder("threads"), "every core");
  EXPECT_EQ(placeholder("analyze-every"), "off");
  EXPECT_EQ(placeholder("hessian-top"), "off");
  // A default that is a quantity reads as itself.
  EXPECT_EQ(placeholder("subset"), "1000");
  EXPECT_EQ(placeholder("epochs"), QString::number(RunSpec().config.epochs));
  EXPECT_EQ(placeholder("analysis-budget"), "0.25");
  // Nothing of this reaches the run: the empty fields resolve to the defaults.
  const RunSpec resolved = form.resolve();
  EXPECT_LT(resolved.config.optimizer.rho, 0.0);
  EXPECT_EQ(resolved.config.data.trainSubset, 0);
}

// Late-phase SAM's epoch and GSAM's place of decomposition come from the rules' option entries: fields
// of the form with the CLI's checks and messages.
TEST(LaunchPanel, LateSamAndTheGsamDecompositionAreFieldsWithTheClisChecks) {
  gui::LaunchPanel form;
  auto* fromEpoch = form.findChild<QLineEdit*>("flag-sam-from-epoch");
  ASSERT_NE(fromEpoch, nullptr);
  EXPECT_EQ(fromEpoch->placeholderText(), "from the start");
  ASSERT_NE(form.findChild<QComboBox*>("flag-gsam-decompose"), nullptr);
  ASSERT_TRUE(form.setArguments(
      {"--optimizer", "gsam", "--epochs", "5", "--sam-from-epoch", "4", "--gsam-decompose", "averaged"}));
  const RunSpec resolved = form.resolve();
  EXPECT_EQ(resolved.config.optimizer.samFromEpoch, 4);
  EXPECT_EQ(resolved.config.optimizer.gsamDecompose, GsamDecomposition::Averaged);
  ASSERT_TRUE(form.setArguments({"--optimizer", "sam", "--epochs", "5", "--sam-from-epoch", "6"}));
  test::expectContains(test::messageOf<ConfigError>([&] { form.resolve(); }), {"--sam-from-epoch", "--epochs 5"});
  ASSERT_TRUE(form.setArguments({"--optimizer", "sgd", "--sam-from-epoch", "2"}));
  test::expectContains(test::messageOf<ConfigError>([&] { form.resolve(); }), {"--sam-from-epoch", "sharpness-aware"});
}

TEST(LaunchPanel, ACifarPresetWithoutTheDataIsDisabledAndSaysWhatItNeeds) {
  test::TempDir empty;
  qputenv("SAMSCAPE_CIFAR10_DIR", QByteArray::fromStdString(empty.file("nothing-here")));
  const QByteArray home = qgetenv("HOME");
  qputenv("HOME", QByteArray::fromStdString(empty.path().string()));
  const std::vector<gui::LaunchPreset> presets = gui::launchPresets();
  gui::LaunchPanel form;
  qunsetenv("SAMSCAPE_CIFAR10_DIR");
  qputenv("HOME", home);
  ASSERT_EQ(presets.size(), 3u);
  EXPECT_FALSE(presets[2].available);
  ASSERT_TRUE(form.setArguments({"--epochs", "4"}));
  QString error;
  EXPECT_FALSE(form.applyPreset(presets[2].name, &error));
  EXPECT_TRUE(error.contains("data_batch_1.bin")) << error.toStdString();
  EXPECT_EQ(form.arguments(), QStringList({"--epochs", "4"}));
  // The preset menu shows it disabled.
  auto* menu = form.findChild<QComboBox*>("presets");
  ASSERT_NE(menu, nullptr);
  const int index = menu->findText(presets[2].name);
  ASSERT_GE(index, 0);
  EXPECT_FALSE(menu->model()->flags(menu->model()->index(index, 0)).testFlag(Qt::ItemIsEnabled));
}

}  // namespace
}  // namespace samscape

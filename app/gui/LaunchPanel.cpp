#include "gui/LaunchPanel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardItemModel>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollArea>
#include <QSaveFile>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/Error.h"

namespace samscape::gui {
namespace {

// Flags the form leaves out: where the run goes and how processes join are the window's business.
const std::set<QString>& hiddenFlags() {
  static const std::set<QString> hidden{"help", "config", "resume", "out", "workspace", "name", "tag",
                                        "rank", "world-size", "local-rank", "master-addr", "master-port",
                                        "dist-timeout"};
  return hidden;
}

// Which group box a flag goes in; the CLI registers them in this order.
QString groupOf(const QString& flag) {
  static const std::set<QString> data{"dataset", "data-dir", "train-subset", "test-subset", "val-fraction",
                                      "label-noise", "no-augment", "no-shuffle", "no-normalize"};
  static const std::set<QString> model{"model", "model-file"};
  static const std::set<QString> run{"seed", "device", "devices", "threads", "eval-batch-size"};
  static const std::set<QString> analysis{"analyze-every", "split", "subset", "hessian-top", "tolerance",
                                          "eigenvectors", "single-precision", "trace", "trace-probes", "esd",
                                          "esd-probes", "esd-steps", "m-sharpness", "sharpness-m",
                                          "sharpness-rho", "ascent-steps", "slice", "grid", "range",
                                          "directions", "interpolate", "interpolate-points",
                                          "interpolate-range", "trajectory"};
  if (data.count(flag) > 0) return "Data";
  if (model.count(flag) > 0) return "Model";
  if (run.count(flag) > 0) return "Run";
  if (analysis.count(flag) > 0) return "Analysis during training";
  return "Optimization";
}

// Choices for the flags that have a fixed set of values.
QStringList choicesOf(const QString& flag) {
  if (flag == "dataset") return {"fashion-mnist", "mnist", "cifar10", "cifar100"};
  if (flag == "model") return {"mlp", "cnn", "resnet20", "resnet32", "resnet56", "wrn16-4", "wrn28-10"};
  if (flag == "optimizer") return {"sgd", "adam", "sam", "asam"};
  if (flag == "base") return {"sgd", "adam"};
  if (flag == "schedule") return {"constant", "cosine", "step"};
  if (flag == "split") return {"test", "train"};
  return {};
}

// Every key of a config file as the defaults resolve it, to tell a saved config's default values (which
// saveConfig writes for completeness) from choices, so a loaded config's form shows only the choices.
const nlohmann::json& defaultConfigJson() {
  static const nlohmann::json defaults = [] {
    CLI::App app;
    cli::TrainCommand train(app);
    app.parse(std::vector<std::string>{"train"});
    return nlohmann::json::parse(configToJson(train.resolve(false).config));
  }();
  return defaults;
}

}  // namespace

// The first of the usual places that holds CIFAR-10's binary files (data_batch_1.bin), or empty.
QString findCifar10() {
  QStringList candidates;
  const QString fromEnvironment = qEnvironmentVariable("SAMSCAPE_CIFAR10_DIR");
  if (!fromEnvironment.isEmpty()) candidates << fromEnvironment;
  const QString home = QDir::homePath();
  candidates << home + "/.local/share/samscape/data/cifar-10-batches-bin" << home + "/data/cifar-10-batches-bin";
  for (const QString& candidate : candidates) {
    if (QFileInfo::exists(candidate + "/data_batch_1.bin")) return candidate;
  }
  return {};
}

std::vector<LaunchPreset> launchPresets() {
  const QStringList quickAnalysis{"--analyze-every", "2", "--hessian-top", "5", "--m-sharpness", "--slice",
                                  "--grid", "21", "--trajectory", "--subset", "500"};
  LaunchPreset cifar{"CIFAR-10 ResNet-20",
                     QStringList{"--dataset", "cifar10", "--model", "resnet20", "--epochs", "200", "--batch-size",
                                 "128", "--lr", "0.1", "--analyze-every", "10", "--hessian-top", "5", "--slice",
                                 "--grid", "31", "--trajectory"},
                     "CIFAR-10's binary files (data_batch_1.bin, ...) in $SAMSCAPE_CIFAR10_DIR, "
                     "~/.local/share/samscape/data/cifar-10-batches-bin or ~/data/cifar-10-batches-bin",
                     false};
  const QString cifarDirectory = findCifar10();
  if (!cifarDirectory.isEmpty()) {
    cifar.arguments << "--data-dir" << cifarDirectory;
    cifar.available = true;
  }
  return {
      {"SAM vs SGD, Fashion-MNIST, quick (CPU)",
       QStringList{"--dataset", "fashion-mnist", "--model", "cnn", "--train-subset", "10000", "--epochs", "10",
                   "--batch-size", "128", "--lr", "0.05"} + quickAnalysis,
       "", true},
      {"label noise 40%",
       QStringList{"--dataset", "fashion-mnist", "--model", "cnn", "--train-subset", "10000", "--epochs", "10",
                   "--batch-size", "128", "--lr", "0.05", "--label-noise", "0.4"} + quickAnalysis,
       "", true},
      cifar,
  };
}

LaunchPanel::LaunchPanel(QWidget* parent) : QWidget(parent) {
  auto* outer = new QVBoxLayout(this);
  auto* presetRow = new QHBoxLayout;
  presets_ = new QComboBox(this);
  presets_->setObjectName("presets");
  presets_->addItem("Preset...");
  for (const LaunchPreset& preset : launchPresets()) {
    presets_->addItem(preset.name);
    if (!preset.available) {
      // Shown, but disabled, with where the data was looked for.
      auto* model = qobject_cast<QStandardItemModel*>(presets_->model());
      QStandardItem* item = model->item(presets_->count() - 1);
      item->setEnabled(false);
      item->setToolTip("needs " + preset.dataDescription);
    }
  }
  presetRow->addWidget(new QLabel("Preset", this));
  presetRow->addWidget(presets_, 1);
  outer->addLayout(presetRow);
  connect(presets_, &QComboBox::activated, this, [this](int index) {
    if (index <= 0) return;
    QString error;
    if (!applyPreset(presets_->itemText(index), &error)) showProblem(error);
    presets_->setCurrentIndex(0);
  });

  auto* scroll = new QScrollArea(this);
  scroll->setWidgetResizable(true);
  auto* form = new QWidget(scroll);
  auto* formLayout = new QVBoxLayout(form);
  std::map<QString, QFormLayout*> groups;
  for (const char* name : {"Data", "Model", "Optimization", "Run", "Analysis during training"}) {
    auto* box = new QGroupBox(name, form);
    groups[name] = new QFormLayout(box);
    formLayout->addWidget(box);
  }
  formLayout->addStretch(1);
  scroll->setWidget(form);
  outer->addWidget(scroll, 1);

  // The CLI's own option table is the form's source of truth.
  CLI::App app;
  cli::TrainCommand train(app);
  for (const CLI::Option* option : train.command().get_options()) {
    const QString flag = QString::fromStdString(option->get_name()).mid(2);
    if (option->get_name().rfind("--", 0) != 0 || hiddenFlags().count(flag) > 0) continue;
    Field f;
    f.flag = flag;
    f.isFlag = option->get_expected_max() == 0;  // a flag takes no value
    f.defaultValue = QString::fromStdString(option->get_default_str());
    QWidget* editor = nullptr;
    const QStringList choices = choicesOf(flag);
    if (f.isFlag) {
      f.check = new QCheckBox(form);
      editor = f.check;
    } else if (!choices.isEmpty()) {
      f.choice = new QComboBox(form);
      f.choice->addItems(choices);
      editor = f.choice;
    } else {
      f.edit = new QLineEdit(form);
      f.edit->setPlaceholderText(f.defaultValue);
      editor = f.edit;
    }
    editor->setToolTip(QString::fromStdString(option->get_description()));
    editor->setObjectName("flag-" + flag);
    groups[groupOf(flag)]->addRow("--" + flag, editor);
    fields_.push_back(f);
  }
  for (Field& f : fields_) setFieldValue(f, f.defaultValue);

  problem_ = new QLabel(this);
  problem_->setWordWrap(true);
  problem_->setStyleSheet("color: #b00020;");
  problem_->hide();
  outer->addWidget(problem_);
  auto* buttons = new QHBoxLayout;
  auto* launch = new QPushButton("Launch", this);
  auto* pair = new QPushButton("Launch pair (SGD + SAM)", this);
  pair->setDefault(true);
  launch->setObjectName("launch");
  pair->setObjectName("launch-pair");
  buttons->addWidget(launch);
  buttons->addWidget(pair);
  outer->addLayout(buttons);
  connect(launch, &QPushButton::clicked, this, &LaunchPanel::launchRequested);
  connect(pair, &QPushButton::clicked, this, &LaunchPanel::launchPairRequested);
}

LaunchPanel::Field* LaunchPanel::field(const QString& flag) {
  for (Field& f : fields_) {
    if (f.flag == flag) return &f;
  }
  return nullptr;
}

void LaunchPanel::setFieldValue(Field& f, const QString& value) {
  if (f.check != nullptr) {
    f.check->setChecked(value == "true" || value == "1");
  } else if (f.choice != nullptr) {
    const int index = f.choice->findText(value);
    if (index >= 0) f.choice->setCurrentIndex(index);
  } else {
    f.edit->setText(value == f.defaultValue ? QString() : value);
  }
}

QString LaunchPanel::fieldValue(const Field& f) const {
  if (f.check != nullptr) return f.check->isChecked() ? "true" : "false";
  if (f.choice != nullptr) return f.choice->currentText();
  return f.edit->text().trimmed().isEmpty() ? f.defaultValue : f.edit->text().trimmed();
}

QStringList LaunchPanel::arguments() const {
  QStringList arguments;
  for (const Field& f : fields_) {
    const QString value = fieldValue(f);
    if (f.isFlag) {
      if (value == "true") arguments << "--" + f.flag;
    } else if (value != f.defaultValue && !value.isEmpty()) {
      arguments << "--" + f.flag << value;
    }
  }
  return arguments;
}

bool LaunchPanel::setArguments(const QStringList& arguments, QString* error) {
  // Checked before anything changes, so a bad list leaves the form as it was.
  std::vector<std::pair<Field*, QString>> values;
  for (int i = 0; i < arguments.size(); ++i) {
    const QString flag = arguments[i].startsWith("--") ? arguments[i].mid(2) : QString();
    Field* f = field(flag);
    if (f == nullptr) {
      if (error != nullptr) *error = QString("%1: not a field of the launch form").arg(arguments[i]);
      return false;
    }
    if (f->isFlag) {
      values.emplace_back(f, "true");
    } else if (i + 1 < arguments.size()) {
      values.emplace_back(f, arguments[++i]);
    } else {
      if (error != nullptr) *error = QString("%1: needs a value").arg(arguments[i]);
      return false;
    }
  }
  for (Field& f : fields_) setFieldValue(f, f.defaultValue);
  for (auto& [f, value] : values) setFieldValue(*f, value);
  problem_->hide();
  return true;
}

RunRequest runRequestFrom(const cli::TrainSetup& setup) {
  RunRequest request;
  request.config = setup.config;
  request.analyzeEvery = setup.analyzeEvery;
  request.analysis = setup.analysis;
  request.analysisFlags = setup.analysisFlags.dump();
  return request;
}

cli::TrainSetup LaunchPanel::resolve() const {
  std::vector<std::string> arguments;
  for (const QString& argument : this->arguments()) arguments.push_back(argument.toStdString());
  if (!workspaceDirectory_.isEmpty()) {
    arguments.push_back("--workspace");
    arguments.push_back(workspaceDirectory_.toStdString());
  }
  return cli::resolveTrainArguments(arguments);
}

bool LaunchPanel::saveConfig(const QString& path, QString* error) const {
  // The resolved config (every key) plus the analysis flags given.
  nlohmann::json object;
  try {
    const cli::TrainSetup setup = resolve();
    object = nlohmann::json::parse(configToJson(setup.config));
    object.erase("out");
    object.update(setup.analysisFlags);
  } catch (const std::exception& resolveError) {
    if (error != nullptr) *error = QString::fromUtf8(resolveError.what());
    return false;
  }
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    if (error != nullptr) *error = path + ": " + file.errorString();
    return false;
  }
  file.write(QByteArray::fromStdString(object.dump(2) + "\n"));
  if (!file.commit()) {
    if (error != nullptr) *error = path + ": " + file.errorString();
    return false;
  }
  return true;
}

bool LaunchPanel::loadConfig(const QString& path, QString* error) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    if (error != nullptr) *error = path + ": " + file.errorString();
    return false;
  }
  nlohmann::json object;
  try {
    object = nlohmann::json::parse(file.readAll().toStdString());
  } catch (const nlohmann::json::exception& parseError) {
    if (error != nullptr) *error = path + ": not valid JSON: " + QString::fromUtf8(parseError.what());
    return false;
  }
  if (!object.is_object()) {
    if (error != nullptr) *error = path + ": expected a JSON object of flag names";
    return false;
  }
  QStringList arguments;
  for (const auto& [key, value] : object.items()) {
    const QString flag = QString::fromStdString(key);
    if (hiddenFlags().count(flag) > 0) continue;
    if (field(flag) == nullptr) {
      if (error != nullptr) *error = QString("%1: unknown key \"%2\"").arg(path, flag);
      return false;
    }
    if (defaultConfigJson().contains(key) && defaultConfigJson().at(key) == value) continue;
    if (value.is_boolean()) {
      if (value.get<bool>()) arguments << "--" + flag;
    } else if (value.is_array()) {
      QStringList items;
      for (const auto& item : value) items << QString::fromStdString(item.dump());
      if (!items.isEmpty()) arguments << "--" + flag << items.join(',');
    } else {
      // Floats in their shortest form ("-1", not "-1.0"), so a value equal to the default shows as one.
      const QString text = value.is_string()       ? QString::fromStdString(value.get<std::string>())
                           : value.is_number_float() ? QString::number(value.get<double>(), 'g', QLocale::FloatingPointShortest)
                                                     : QString::fromStdString(value.dump());
      arguments << "--" + flag << text;
    }
  }
  return setArguments(arguments, error);
}

bool LaunchPanel::applyPreset(const QString& name, QString* error) {
  for (const LaunchPreset& preset : launchPresets()) {
    if (preset.name != name) continue;
    if (!preset.available) {
      if (error != nullptr) *error = QString("preset \"%1\" needs %2").arg(name, preset.dataDescription);
      return false;
    }
    return setArguments(preset.arguments, error);
  }
  if (error != nullptr) *error = QString("no preset named \"%1\"").arg(name);
  return false;
}

void LaunchPanel::showProblem(const QString& message) {
  problem_->setText(message);
  problem_->setVisible(!message.isEmpty());
}

}  // namespace samscape::gui

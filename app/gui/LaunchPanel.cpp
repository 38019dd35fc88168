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
#include <QRegularExpression>
#include <QScrollArea>
#include <QSaveFile>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "core/Error.h"
#include "core/optim/OptimizerSpec.h"
#include "session/RunSpec.h"

namespace samscape::gui {
namespace {

// The form's groups, in order; options of the other groups (where a run goes, how processes join)
// are the window's business.
const std::vector<OptionGroup>& formGroups() {
  static const std::vector<OptionGroup> groups{OptionGroup::Data, OptionGroup::Model, OptionGroup::Optimization,
                                               OptionGroup::Run, OptionGroup::Analysis};
  return groups;
}

bool inForm(const OptionInfo& option) {
  const auto& groups = formGroups();
  return std::find(groups.begin(), groups.end(), option.group) != groups.end();
}

// What `defaultValue` stands for, as the option's help says it: "(0: all)", "(0: off)", "(-1: the
// default, 0.5 for asam, ...)", "(0.25: a quarter; 0: no limit)". Only a default that is not a
// quantity (zero or negative) is given a meaning: 0.25 reads as itself. The help is the one place
// that says what such a value means, for the command line as for the form.
QString defaultMeaningOf(const std::string& help, const QString& defaultValue) {
  bool isNumber = false;
  const double value = defaultValue.toDouble(&isNumber);
  if (!isNumber || value > 0.0) return {};
  static const QRegularExpression sentinel(R"([(;]\s*(-?\d+(?:\.\d+)?): ([^;,)]+))");
  for (auto it = sentinel.globalMatch(QString::fromStdString(help)); it.hasNext();) {
    const QRegularExpressionMatch match = it.next();
    if (match.captured(1).toDouble() == value) return match.captured(2).trimmed();
  }
  return {};
}

// The radius --rho -1 stands for under `optimizer`: "default (0.05)", or "unused by sgd" (short: the
// field is narrow).
QString defaultRhoText(const QString& optimizer) {
  OptimizerSpec spec;
  spec.kind = optimizer.toStdString();
  try {
    if (!spec.sharpnessAware()) return QString("unused by %1").arg(optimizer);
    return QString("default (%1)").arg(spec.effectiveRho());
  } catch (const Error&) {
    return "default";  // not a registered rule: resolving the form says so
  }
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
  // Within the default --analysis-budget (a quarter of the training time), analysed on 128 examples
  // (one m-sharpness chunk) with a 13 x 13 slice; the first and the last due epoch always run.
  const QStringList quickAnalysis{"--hessian-top", "5", "--m-sharpness", "--slice", "--grid", "13", "--trajectory",
                                  "--subset", "128"};
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
      // The default pair: the accuracy preset's regime (resources/studies/accuracy.json), where SAM ends
      // both flatter and more accurate than SGD with their 95% intervals over 5 seeds apart (seed 0, the
      // pair's: test accuracy 0.829 against 0.822). The small MLP on 2,000 images trains its 60 epochs in
      // seconds; analysed at epochs 30 and 60.
      {"SAM vs SGD, Fashion-MNIST, quick (CPU)",
       QStringList{"--dataset", "fashion-mnist", "--model", "mlp", "--train-subset", "2000", "--no-augment",
                   "--epochs", "60", "--batch-size", "128", "--lr", "0.05", "--schedule", "cosine", "--rho", "0.2",
                   "--analyze-every", "30"} + quickAnalysis,
       "", true},
      // The small CNN on 10,000 images for 10 epochs, analysed at its last (an analysis costs about an
      // epoch's training: every 2 epochs took 180% of the training with 3 of 5 skipped).
      {"label noise 40%",
       QStringList{"--dataset", "fashion-mnist", "--model", "cnn", "--train-subset", "10000", "--epochs", "10",
                   "--batch-size", "128", "--lr", "0.05", "--label-noise", "0.4", "--analyze-every", "10"} +
           quickAnalysis,
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
  std::map<OptionGroup, QFormLayout*> groups;
  for (const OptionGroup group : formGroups()) {
    auto* box = new QGroupBox(QString::fromStdString(nameOf(group)), form);
    groups[group] = new QFormLayout(box);
    formLayout->addWidget(box);
  }
  formLayout->addStretch(1);
  scroll->setWidget(form);
  outer->addWidget(scroll, 1);

  // The run's option table (session/RunSpec.h) is the form's source of truth, as it is the command
  // line's: a label a person reads, the flag and its help in the tooltip.
  const RunSpec defaults;
  for (const Option<RunSpec>& option : runOptions()) {
    if (!inForm(option.info)) continue;
    Field f;
    f.flag = QString::fromStdString(option.info.key);
    f.isFlag = option.info.kind == OptionKind::Switch;
    f.defaultValue = QString::fromStdString(optionText(option.get(defaults)));
    if (option.info.kind != OptionKind::Switch && option.info.kind != OptionKind::Choice) {
      f.defaultMeaning = defaultMeaningOf(option.info.help, f.defaultValue);
    }
    QWidget* editor = nullptr;
    if (f.isFlag) {
      f.check = new QCheckBox(form);
      editor = f.check;
    } else if (option.info.kind == OptionKind::Choice) {
      f.choice = new QComboBox(form);
      for (const std::string& choice : option.info.choices) f.choice->addItem(QString::fromStdString(choice));
      editor = f.choice;
    } else {
      f.edit = new QLineEdit(form);
      editor = f.edit;
    }
    editor->setToolTip(QString::fromStdString(option.info.flag() + ": " + option.info.help));
    editor->setObjectName("flag-" + f.flag);
    groups[option.info.group]->addRow(QString::fromStdString(option.info.label), editor);
    fields_.push_back(f);
  }
  for (Field& f : fields_) setFieldValue(f, f.defaultValue);
  showDefaults();
  if (Field* optimizer = field("optimizer"); optimizer != nullptr && optimizer->choice != nullptr) {
    connect(optimizer->choice, &QComboBox::currentTextChanged, this, [this] { showDefaults(); });
  }

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

void LaunchPanel::showDefaults() {
  // An empty field stands for the default: its placeholder says which value that is.
  const Field* optimizer = field("optimizer");
  for (Field& f : fields_) {
    if (f.edit == nullptr) continue;
    QString text = f.defaultMeaning.isEmpty() ? f.defaultValue : f.defaultMeaning;
    // "the default" of the radius is the chosen rule's own (core/optim/rules: defaultRho).
    if (f.flag == "rho" && optimizer != nullptr && optimizer->choice != nullptr) {
      text = defaultRhoText(optimizer->choice->currentText());
    }
    f.edit->setPlaceholderText(text);
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

RunSources LaunchPanel::sources() const {
  RunSources sources;
  for (const Field& f : fields_) {
    const QString value = fieldValue(f);
    if (value != f.defaultValue && !value.isEmpty()) sources.settings.emplace_back(f.flag.toStdString(), value.toStdString());
  }
  sources.workspace = workspaceDirectory_.toStdString();
  sources.assignRunDirectory = false;  // the window names run directories
  return sources;
}

RunSpec LaunchPanel::resolve() const { return resolveRunSpec(sources()); }

bool LaunchPanel::saveConfig(const QString& path, QString* error) const {
  // Every training option plus the analysis options given: a --config file of the command line.
  nlohmann::json object;
  try {
    object = runConfigJson(resolve());
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
  // Read exactly as `samscape-cli train --config` reads it; the form then shows what differs from the
  // defaults. The values are checked at launch, not here, so a config can be loaded and then mended.
  RunSources sources;
  sources.configFile = path.toStdString();
  sources.workspace = workspaceDirectory_.toStdString();
  sources.assignRunDirectory = false;
  sources.validate = false;
  QStringList arguments;
  try {
    for (const auto& [key, text] : runSettings(resolveRunSpec(sources))) {
      const Option<RunSpec>* option = findOption(runOptions(), key);
      if (option == nullptr || !inForm(option->info)) continue;  // e.g. "out": where the run goes is the window's
      arguments << QString::fromStdString("--" + key);
      if (option->info.kind != OptionKind::Switch) arguments << QString::fromStdString(text);
    }
  } catch (const std::exception& readError) {
    if (error != nullptr) *error = QString::fromUtf8(readError.what());
    return false;
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

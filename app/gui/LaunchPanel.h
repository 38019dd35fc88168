#pragma once
// The launch form: one field per option of a run (session/RunSpec.h's table, analyses included), shown
// by its label with the flag and its help in the tooltip, so an option added to the table appears here
// as it appears in `samscape-cli train`. The form resolves as the command line does, presets fill it,
// and configs load and save in the command line's --config JSON.

#include <QStringList>
#include <QWidget>

#include <map>
#include <vector>

#include "gui/GuiRun.h"
#include "session/RunSpec.h"

class QCheckBox;
class QComboBox;
class QLineEdit;
class QLabel;

namespace samscape::gui {

struct LaunchPreset {
  QString name;
  QStringList arguments;  // train flags over the defaults
  // For presets that need data Debian does not ship: where it was looked for, and whether it was
  // found (the preset then carries --data-dir; otherwise the form shows it disabled).
  QString dataDescription;
  bool available = true;
};

// "SAM vs SGD, Fashion-MNIST, quick (CPU)", "label noise 40%", "CIFAR-10 ResNet-20" (available when
// the CIFAR-10 binary files are in $SAMSCAPE_CIFAR10_DIR, ~/.local/share/samscape/data/cifar-10-batches-bin
// or ~/data/cifar-10-batches-bin).
std::vector<LaunchPreset> launchPresets();

class LaunchPanel : public QWidget {
  Q_OBJECT
 public:
  explicit LaunchPanel(QWidget* parent = nullptr);

  // The form as train flags: only fields that differ from the defaults.
  QStringList arguments() const;
  // Resets every field to its default, then applies `arguments` (flags the form does not show are an error).
  bool setArguments(const QStringList& arguments, QString* error = nullptr);
  // Resolves the form as `samscape-cli train` resolves its flags (without a run directory: the window
  // names those). Throws samscape::Error naming the flag at fault.
  RunSpec resolve() const;

  // The CLI's --config format: flag names as keys. Loading leaves the form unchanged on error.
  bool saveConfig(const QString& path, QString* error = nullptr) const;
  bool loadConfig(const QString& path, QString* error = nullptr);
  bool applyPreset(const QString& name, QString* error = nullptr);

  void setWorkspaceDirectory(const QString& directory) { workspaceDirectory_ = directory; }
  void showProblem(const QString& message);

 Q_SIGNALS:
  void launchRequested();
  void launchPairRequested();

 private:
  struct Field {
    QString flag;  // without the leading --
    QString defaultValue;
    // What the default value stands for when the option's help gives it a meaning ("(0: all)",
    // "(0: off)", "(-1: the default, ...)"): "all", "off", "the default"; empty when it is just a number.
    QString defaultMeaning;
    bool isFlag = false;
    QLineEdit* edit = nullptr;
    QComboBox* choice = nullptr;
    QCheckBox* check = nullptr;
  };
  void setFieldValue(Field& field, const QString& value);
  QString fieldValue(const Field& field) const;
  Field* field(const QString& flag);
  RunSources sources() const;
  // Shows each empty field's default as what it is: "all", "off", "default (0.05)" for the chosen
  // optimizer's radius; again whenever the optimizer changes.
  void showDefaults();

  std::vector<Field> fields_;
  QComboBox* presets_ = nullptr;
  QLabel* problem_ = nullptr;
  QString workspaceDirectory_;
};

}  // namespace samscape::gui

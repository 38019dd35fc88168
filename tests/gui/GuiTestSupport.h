#pragma once
// What the GUI tests share: running samscape-cli or samscape as a process, the tiny dataset's train
// flags, a suite fixture with one tiny analysed run, metrics.csv without its timing column, and a
// RunRequest resolved through the launch form.

#include <QString>
#include <QStringList>

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gui/GuiRun.h"
#include "gui/RunController.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape::test {

struct ProcessResult {
  int exitCode = -1;  // -1: crashed or timed out
  QString out;
  QString err;
};

// Runs `program` with `arguments`; `workspace` (when non-empty) becomes SAMSCAPE_WORKSPACE.
ProcessResult runProcess(const QString& program, const QStringList& arguments, const QString& workspace,
                         int timeoutMs = 300000);

// Train flags that make a valid, fast run of mlp on a TinyMnist directory: 2 epochs of 6 steps, seed 5.
QStringList tinyTrainFlags(const QString& dataDir);

// Trains mlp with samscape-cli on the TinyMnist directory `dataDir` (tinyTrainFlags, one thread) into
// `runDir`, analysed every `analyzeEvery` epochs (top `hessianTop` eigenvalues, the whole test split),
// recorded in `workspace`.
ProcessResult trainTinyAnalysedRun(const QString& dataDir, const QString& runDir, const QString& workspace,
                                   int analyzeEvery, int hessianTop);

// A suite sharing one tiny analysed run, trained once per suite by samscape-cli (trainTinyAnalysedRun)
// into runDir(), named kTinyRunName, analysed every `AnalyzeEvery` epochs with the top `HessianTop`
// eigenvalues. Each test gets its own controller.
inline constexpr const char* kTinyRunName = "tiny-run";
template <int AnalyzeEvery, int HessianTop>
class TinyAnalysedRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir;
    TinyMnist data{dir->file("mnist")};
    const ProcessResult result = trainTinyAnalysedRun(QString::fromStdString(dir->file("mnist")), runDir(),
                                                      QString::fromStdString(dir->file("workspace")),
                                                      AnalyzeEvery, HessianTop);
    ASSERT_EQ(result.exitCode, 0) << result.err.toStdString();
  }
  static void TearDownTestSuite() {
    delete dir;
    dir = nullptr;
  }
  static QString runDir() { return QString::fromStdString(dir->file(kTinyRunName)); }

  static inline TempDir* dir = nullptr;
  gui::RunController controller{QString::fromStdString(dir->file("runs"))};
};

// A finished run of five epochs with --label-noise 0.4, written by hand into `runDir` (run.json and
// metrics.csv through RunDirectoryWriter, no training): its test accuracy peaks at epoch
// kLabelNoiseRunBestEpoch, and its memorization metrics are kLabelNoiseRun*. Without `labelNoise`
// the same run without label noise (and without those metrics).
inline constexpr int kLabelNoiseRunBestEpoch = 3;
inline const std::vector<double> kLabelNoiseRunTestAccuracy{0.50, 0.62, 0.66, 0.61, 0.58};
inline const std::vector<double> kLabelNoiseRunFlipped{0.05, 0.08, 0.15, 0.40, 0.70};
inline const std::vector<double> kLabelNoiseRunClean{0.60, 0.75, 0.85, 0.92, 0.97};
inline const std::vector<double> kLabelNoiseRunFlippedTrue{0.50, 0.60, 0.55, 0.40, 0.20};
void writeLabelNoiseRun(const QString& runDir, bool labelNoise = true);

// metrics.csv with the last (seconds) column of every line removed: what must match exactly.
std::string metricsWithoutSeconds(const QString& metricsCsv);

// Resolves train flags exactly as the launch form does (LaunchPanel::setArguments + resolve).
RunSpec specFromFlags(const QStringList& flags);

}  // namespace samscape::test

// GoogleTest prints QStrings as text in failure messages.
inline void PrintTo(const QString& text, std::ostream* out) { *out << '"' << text.toStdString() << '"'; }

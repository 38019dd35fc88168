#pragma once
// What the GUI tests share: running samscape-cli or samscape as a process, the tiny dataset's train
// flags, metrics.csv without its timing column, and a RunRequest resolved through the launch form.

#include <QString>
#include <QStringList>

#include <ostream>
#include <string>

#include "gui/GuiRun.h"

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

// metrics.csv with the last (seconds) column of every line removed: what must match exactly.
std::string metricsWithoutSeconds(const QString& metricsCsv);

// Resolves train flags exactly as the launch form does (LaunchPanel::setArguments + resolve).
gui::RunRequest requestFromFlags(const QStringList& flags);

}  // namespace samscape::test

// GoogleTest prints QStrings as text in failure messages.
inline void PrintTo(const QString& text, std::ostream* out) { *out << '"' << text.toStdString() << '"'; }

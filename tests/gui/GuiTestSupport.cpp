#include "tests/gui/GuiTestSupport.h"

#include <QProcess>
#include <QProcessEnvironment>

#include <sstream>
#include <stdexcept>

#include "core/train/RunDirectory.h"
#include "gui/LaunchPanel.h"
#include "tests/support/FileHelpers.h"

namespace samscape::test {

ProcessResult runProcess(const QString& program, const QStringList& arguments, const QString& workspace,
                         int timeoutMs) {
  QProcess process;
  QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
  if (!workspace.isEmpty()) environment.insert("SAMSCAPE_WORKSPACE", workspace);
  process.setProcessEnvironment(environment);
  process.start(program, arguments);
  ProcessResult result;
  if (!process.waitForStarted(30000)) {
    result.err = program + ": did not start: " + process.errorString();
    return result;
  }
  if (!process.waitForFinished(timeoutMs)) {
    process.kill();
    process.waitForFinished(5000);
    result.err = program + ": timed out\n";
  }
  result.out = QString::fromUtf8(process.readAllStandardOutput());
  result.err += QString::fromUtf8(process.readAllStandardError());
  if (process.exitStatus() == QProcess::NormalExit && result.err.indexOf("timed out") < 0) {
    result.exitCode = process.exitCode();
  }
  return result;
}

QStringList tinyTrainFlags(const QString& dataDir) {
  return {"--dataset", "mnist",    "--data-dir", dataDir,  "--model", "mlp",  "--batch-size",
          "16",        "--epochs", "2",          "--seed", "5",       "--lr", "0.05"};
}

ProcessResult trainTinyAnalysedRun(const QString& dataDir, const QString& runDir, const QString& workspace,
                                   int analyzeEvery, int hessianTop) {
  QStringList arguments{"train"};
  arguments << tinyTrainFlags(dataDir) << "--threads" << "1" << "--analyze-every" << QString::number(analyzeEvery)
            << "--hessian-top" << QString::number(hessianTop) << "--subset" << "0" << "--out" << runDir;
  return runProcess(SAMSCAPE_CLI_PATH, arguments, workspace);
}

void writeLabelNoiseRun(const QString& runDir, bool labelNoise) {
  TrainConfig config;
  config.model.name = "mlp";
  config.data.labelNoise = labelNoise ? 0.4 : 0.0;
  config.epochs = static_cast<int>(kLabelNoiseRunTestAccuracy.size());
  config.outDir = runDir.toStdString();
  RunDirectoryWriter writer(config.outDir, config);
  writer.onBegin(TrainingBegin{});
  TrainingResult result;
  for (std::size_t i = 0; i < kLabelNoiseRunTestAccuracy.size(); ++i) {
    EpochMetrics m;
    m.epoch = static_cast<int>(i + 1);
    m.trainLoss = 1.0 / m.epoch;
    m.trainAccuracy = 0.5;
    m.testLoss = 1.0;
    m.testAccuracy = kLabelNoiseRunTestAccuracy[i];
    if (labelNoise) {
      m.trainAccuracyNoisy = kLabelNoiseRunFlipped[i];
      m.trainAccuracyClean = kLabelNoiseRunClean[i];
      m.trainAccuracyNoisyTrue = kLabelNoiseRunFlippedTrue[i];
    }
    m.learningRate = 0.05;
    m.seconds = 1.0;
    writer.onEpochEnd(m);
    result.epochs.push_back(m);
  }
  result.status = RunStatus::Finished;
  writer.onEnd(result);
}

std::string metricsWithoutSeconds(const QString& metricsCsv) {
  std::string kept;
  std::istringstream lines(readText(metricsCsv.toStdString()));
  for (std::string line; std::getline(lines, line);) kept += line.substr(0, line.rfind(',')) + "\n";
  return kept;
}

RunSpec specFromFlags(const QStringList& flags) {
  gui::LaunchPanel form;
  QString error;
  if (!form.setArguments(flags, &error)) throw std::runtime_error(error.toStdString());
  return form.resolve();
}

}  // namespace samscape::test

// A run directory's files read back by the readers beside their writer: metrics.csv and run.json as
// RunDirectoryWriter writes them, and the files it would never write refused with the file named.
#include "core/train/RunDirectory.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/Error.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

std::vector<EpochMetrics> sampleEpochs(bool withValidation) {
  std::vector<EpochMetrics> epochs;
  for (int epoch = 1; epoch <= 3; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.trainLoss = 2.0 / (epoch + 0.5);
    m.trainAccuracy = 0.1 * epoch + 1.0 / 3.0;
    m.testLoss = 1.0 / 7.0 * epoch;
    m.testAccuracy = 0.25 * epoch;
    if (withValidation) {
      m.validationLoss = 0.9 / epoch;
      m.validationAccuracy = 0.3 + 0.01 * epoch;
    }
    m.learningRate = 0.05 * std::cos(epoch);
    m.seconds = 12.5 * epoch;
    epochs.push_back(m);
  }
  return epochs;
}

void expectNear(double read, double written) { EXPECT_NEAR(read, written, 1e-9 * std::max(1.0, std::fabs(written))); }

TEST(RunDirectoryTest, MetricsReadBackAsWritten) {
  test::TempDir dir;
  for (const bool withValidation : {false, true}) {
    const auto written = sampleEpochs(withValidation);
    const std::string path = dir.file(withValidation ? "with-val.csv" : "plain.csv");
    writeFileAtomically(path, metricsCsv(written, withValidation));
    const auto read = readMetricsCsv(path);
    ASSERT_EQ(read.size(), written.size());
    for (std::size_t i = 0; i < read.size(); ++i) {
      EXPECT_EQ(read[i].epoch, written[i].epoch);
      expectNear(read[i].trainLoss, written[i].trainLoss);
      expectNear(read[i].trainAccuracy, written[i].trainAccuracy);
      expectNear(read[i].testLoss, written[i].testLoss);
      expectNear(read[i].testAccuracy, written[i].testAccuracy);
      expectNear(read[i].learningRate, written[i].learningRate);
      EXPECT_NEAR(read[i].seconds, written[i].seconds, 0.05);  // written with 4 digits
      EXPECT_EQ(read[i].validationLoss.has_value(), withValidation);
      if (withValidation) {
        expectNear(*read[i].validationLoss, *written[i].validationLoss);
        expectNear(*read[i].validationAccuracy, *written[i].validationAccuracy);
      }
    }
  }
}

TEST(RunDirectoryTest, MemorizationColumnsAreWrittenOnlyWhenAskedAndReadBack) {
  test::TempDir dir;
  auto written = sampleEpochs(false);
  written[0].trainAccuracyNoisy = 0.125;
  written[0].trainAccuracyClean = 0.75;
  written[0].trainAccuracyNoisyTrue = 0.5;
  written[1].trainAccuracyNoisy = std::nan("");  // no flipped example: NaN, written as nan
  written[1].trainAccuracyClean = 1.0 / 3.0;
  written[1].trainAccuracyNoisyTrue = std::nan("");
  const std::string plain = metricsCsv(written, false);
  EXPECT_EQ(plain.substr(0, plain.find('\n')), "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds");
  const std::string text = metricsCsv(written, false, true);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "epoch,train_loss,train_acc,test_loss,test_acc,train_acc_noisy,train_acc_clean,train_acc_noisy_true,lr,seconds");
  const std::string path = dir.file("noisy.csv");
  writeFileAtomically(path, text);
  const auto read = readMetricsCsv(path);
  ASSERT_EQ(read.size(), written.size());
  expectNear(*read[0].trainAccuracyNoisy, 0.125);
  expectNear(*read[0].trainAccuracyClean, 0.75);
  expectNear(*read[0].trainAccuracyNoisyTrue, 0.5);
  EXPECT_TRUE(std::isnan(*read[1].trainAccuracyNoisy));
  expectNear(*read[1].trainAccuracyClean, 1.0 / 3.0);
  EXPECT_TRUE(std::isnan(*read[2].trainAccuracyNoisy));  // an epoch without them: nan
  expectNear(read[2].learningRate, written[2].learningRate);  // the columns after them are still in place
}

TEST(RunDirectoryTest, MetricsTheWriterWouldNotWriteAreDataErrorsNamingFileAndLine) {
  test::TempDir dir;
  const auto refused = [&](const std::string& name, const std::string& content, std::vector<std::string> expected) {
    const std::string path = dir.file(name);
    { std::ofstream(path) << content; }
    expected.push_back(path);
    test::expectContains(test::messageOf<DataError>([&] { readMetricsCsv(path); }), expected);
  };
  const std::string header = "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n";
  refused("a.csv", "", {"empty"});
  refused("b.csv", "epoch,train_loss,train_acc,test_loss,lr,seconds\n", {"line 1", "test_acc"});
  refused("c.csv", "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds,mood\n", {"line 1", "mood"});
  refused("d.csv", header + "1,0.5,0.5,0.5,0.5,0.1\n", {"line 2", "6 fields"});
  refused("e.csv", header + "1,0.5,half,0.5,0.5,0.1,3\n", {"line 2", "\"half\""});
  refused("f.csv", header + "0,0.5,0.5,0.5,0.5,0.1,3\n", {"line 2", "epoch 0"});
  refused("g.csv", "epoch,train_loss,train_acc,test_loss,test_acc,val_loss,lr,seconds\n", {"val_acc"});
  refused("h.csv", "epoch,train_loss,train_acc,test_loss,test_acc,train_acc_noisy,train_acc_clean,lr,seconds\n",
          {"line 1", "train_acc_noisy_true"});
  test::expectContains(test::messageOf<DataError>([&] { readMetricsCsv(dir.file("absent.csv")); }),
                       {dir.file("absent.csv")});
}

TEST(RunDirectoryTest, RunJsonReadsBackItsStatusConfigAndAnalyses) {
  test::TempDir dir;
  TrainConfig config;
  config.optimizer.kind = "sam";
  config.optimizer.learningRate = 0.125;
  config.epochs = 3;
  config.stepEpochs = {1, 2};
  config.augment = false;
  config.outDir = dir.file("run");
  {
    RunDirectoryWriter writer(config.outDir, config);
    writer.setAnalysisFlags(R"({"analyze-every": 1, "slice": true, "range": "-0.5:0.5"})");
    TrainingBegin begin;
    begin.stepsPerEpoch = 7;
    writer.onBegin(begin);
    writer.onEpochEnd(sampleEpochs(false)[0]);
    TrainingResult result;
    result.status = RunStatus::Cancelled;
    result.message = "stopped by the user";
    writer.onEnd(result);
  }
  const RunJson run = readRunJson(config.outDir);
  EXPECT_EQ(run.status, RunStatus::Cancelled);
  EXPECT_EQ(run.message, "stopped by the user");
  EXPECT_EQ(configToJson(run.config), configToJson(config));
  EXPECT_EQ(run.analysisFlags, nlohmann::json::parse(R"({"analyze-every": 1, "slice": true, "range": "-0.5:0.5"})"));
  EXPECT_EQ(run.epochsCompleted, 1);
  EXPECT_EQ(run.stepsPerEpoch, 7);
}

// GSAM across replicas decomposes per replica by default; a run.json written before the option existed
// (no "gsam-decompose") resumes with the averaged decomposition it trained with.
TEST(RunDirectoryTest, AGsamRunSavedBeforeTheDecompositionOptionResumesAveraged) {
  test::TempDir dir;
  TrainConfig config;
  config.optimizer.kind = "gsam";
  config.outDir = dir.file("run");
  {
    RunDirectoryWriter writer(config.outDir, config);
    writer.onBegin(TrainingBegin{});
  }
  EXPECT_EQ(readRunJson(config.outDir).config.optimizer.gsamDecompose, GsamDecomposition::PerReplica);
  const std::string path = config.outDir + "/run.json";
  nlohmann::json document = nlohmann::json::parse(test::readText(path));
  document["config"].erase("gsam-decompose");
  std::ofstream(path) << document.dump();
  EXPECT_EQ(readRunJson(config.outDir).config.optimizer.gsamDecompose, GsamDecomposition::Averaged);
}

TEST(RunDirectoryTest, ARunJsonItCannotReadIsNamedWithWhatIsWrong) {
  test::TempDir dir;
  const auto withRunJson = [&](const std::string& name, const std::string& content) {
    const std::string directory = dir.file(name);
    std::filesystem::create_directories(directory);
    std::ofstream(directory + "/run.json") << content;
    return directory;
  };
  const auto expectData = [](const std::string& directory, const std::vector<std::string>& parts) {
    std::vector<std::string> expected = parts;
    expected.push_back(directory + "/run.json");
    test::expectContains(test::messageOf<DataError>([&] { readRunJson(directory); }), expected);
  };
  expectData(dir.file("nothing-here"), {"cannot open"});
  expectData(withRunJson("a", "{not json"), {"not valid JSON"});
  expectData(withRunJson("b", "[1, 2]"), {"JSON object"});
  expectData(withRunJson("c", R"({"config": {}})"), {"status"});
  expectData(withRunJson("d", R"({"status": "finished"})"), {"config"});
  expectData(withRunJson("e", R"({"status": "finished", "config": {}, "analysis": 3})"), {"analysis"});
  // A bad option names the option's flag and the file; an unknown one names the key.
  const std::string badValue = withRunJson("f", R"({"status": "finished", "config": {"lr": "fast"}})");
  test::expectContains(test::messageOf<ConfigError>([&] { readRunJson(badValue); }),
                       {"--lr", "fast", badValue + "/run.json"});
  const std::string unknown = withRunJson("g", R"({"status": "finished", "config": {"learning-rate": 1}})");
  test::expectContains(test::messageOf<ConfigError>([&] { readRunJson(unknown); }),
                       {"learning-rate", unknown + "/run.json"});
}

}  // namespace
}  // namespace samscape

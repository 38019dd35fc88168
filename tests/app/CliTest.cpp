// samscape-cli as a user runs it: a separate process, its exit code, what it prints and the files
// it leaves.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <sstream>

#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

struct CliResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

using test::readText;

// Everything after the seconds column is timing; the rest must match exactly.
std::string withoutSeconds(const std::string& csv) {
  std::string kept;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) kept += line.substr(0, line.rfind(',')) + "\n";
  return kept;
}

class CliTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};

  // Each test's runs record into its own workspace.
  CliTest() { setenv("SAMSCAPE_WORKSPACE", dir.file("workspace").c_str(), 1); }

  // Flags that make a valid, fast run on the tiny dataset.
  std::string tinyRunFlags() const {
    return "train --dataset mnist --data-dir " + dir.file("mnist") +
           " --model mlp --batch-size 16 --epochs 2 --threads 1";
  }

  CliResult run(const std::string& arguments) const {
    const std::string out = dir.file("stdout.txt");
    const std::string err = dir.file("stderr.txt");
    const std::string command =
        std::string(SAMSCAPE_CLI_PATH) + " " + arguments + " >" + out + " 2>" + err + " </dev/null";
    const int status = std::system(command.c_str());
    CliResult result;
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = readText(out);
    result.err = readText(err);
    return result;
  }

  // One line on stderr naming the flag and the value, and exit code 2.
  void expectUsageError(const std::string& arguments, const std::string& flag, const std::string& value) {
    const CliResult result = run(arguments);
    EXPECT_EQ(result.exitCode, 2) << arguments << "\n" << result.err;
    EXPECT_NE(result.err.find(flag), std::string::npos) << "stderr does not name " << flag << ": " << result.err;
    EXPECT_NE(result.err.find(value), std::string::npos) << "stderr does not name " << value << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
};

TEST_F(CliTest, InvalidValuesNameTheFlagAndValueWithExitCode2) {
  expectUsageError(tinyRunFlags() + " --lr -0.1", "--lr", "-0.1");
  expectUsageError(tinyRunFlags() + " --lr abc", "--lr", "abc");
  expectUsageError(tinyRunFlags() + " --batch-size 0", "--batch-size", "0");
  expectUsageError(tinyRunFlags() + " --model resnet21", "--model", "resnet21");
  expectUsageError(tinyRunFlags() + " --dataset imagenet", "--dataset", "imagenet");
  expectUsageError(tinyRunFlags() + " --schedule linear", "--schedule", "linear");
  expectUsageError(tinyRunFlags() + " --device tpu", "--device", "tpu");
  expectUsageError(tinyRunFlags() + " --label-noise 1.5", "--label-noise", "1.5");
  expectUsageError(tinyRunFlags() + " --val-fraction 1", "--val-fraction", "1");
  expectUsageError(tinyRunFlags() + " --train-subset 1000", "--train-subset", "1000");
}

TEST_F(CliTest, MissingFilesAreNamed) {
  expectUsageError("train --dataset cifar10 --data-dir " + dir.file("nowhere"), "nowhere", "missing");
  expectUsageError(tinyRunFlags() + " --model-file " + dir.file("absent.pt"), "absent.pt", "absent.pt");
  expectUsageError(tinyRunFlags() + " --config " + dir.file("absent.json"), "--config", "absent.json");
  expectUsageError("train --dataset cifar10", "--data-dir", "cifar10");
}

TEST_F(CliTest, UnknownFlagsAndMissingCommandAreUsageErrors) {
  EXPECT_EQ(run(tinyRunFlags() + " --learning-rate 0.1").exitCode, 2);
  EXPECT_EQ(run("").exitCode, 2);
  const CliResult help = run("train --help");
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("--label-noise"), std::string::npos);
}

TEST_F(CliTest, ARunWritesItsFilesAndPrintsPlainLinesOffATerminal) {
  const std::string out = dir.file("run");
  const CliResult result = run(tinyRunFlags() + " --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_NE(result.err.find("epoch 1/2"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("epoch 2/2"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find('\r'), std::string::npos) << "no progress bar when not on a terminal";
  EXPECT_TRUE(std::filesystem::exists(out + "/run.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/model.pt"));
  const std::string csv = readText(out + "/metrics.csv");
  EXPECT_EQ(csv.rfind("epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds\n", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);

  // The same --out again would overwrite that run: refused.
  const CliResult again = run(tinyRunFlags() + " --out " + out);
  EXPECT_EQ(again.exitCode, 2);
  EXPECT_NE(again.err.find("--out"), std::string::npos) << again.err;
}

TEST_F(CliTest, FlagsOverrideTheConfigFileAndRunJsonIsAValidConfig) {
  const std::string config = dir.file("config.json");
  std::ofstream(config) << R"({"dataset": "mnist", "data-dir": ")" << dir.file("mnist")
                        << R"(", "model": "mlp", "batch-size": 32, "epochs": 3, "threads": 1, "lr": 0.01})";
  const std::string out = dir.file("from-config");
  const CliResult result = run("train --config " + config + " --epochs 1 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const std::string csv = readText(out + "/metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << "--epochs 1 must override the file's 3";
  const std::string runJson = readText(out + "/run.json");
  EXPECT_NE(runJson.find("\"batch-size\": 32"), std::string::npos) << runJson;
  EXPECT_NE(runJson.find("\"lr\": 0.01"), std::string::npos) << runJson;

  // Re-running from the saved run.json's config reproduces the run exactly.
  const std::string rerunConfig = dir.file("rerun.json");
  const auto start = runJson.find("\"config\": ");
  ASSERT_NE(start, std::string::npos);
  const auto open = runJson.find('{', start);
  const auto close = runJson.find('}', open);
  std::ofstream(rerunConfig) << runJson.substr(open, close - open + 1);
  const std::string rerun = dir.file("rerun");
  ASSERT_EQ(run("train --config " + rerunConfig + " --out " + rerun).exitCode, 0);
  const std::string rerunCsv = readText(rerun + "/metrics.csv");
  // Identical apart from the seconds column.
  EXPECT_EQ(withoutSeconds(rerunCsv), withoutSeconds(csv));
}

TEST_F(CliTest, ADivergingRunExitsWith3AndKeepsItsFiles) {
  const std::string out = dir.file("diverged");
  const CliResult result = run(tinyRunFlags() + " --lr 1e30 --schedule constant --out " + out);
  EXPECT_EQ(result.exitCode, 3) << result.err;
  EXPECT_NE(result.err.find("diverged"), std::string::npos) << result.err;
  EXPECT_NE(readText(out + "/run.json").find("\"status\": \"diverged\""), std::string::npos);
}



// kill -9 after the first checkpoint, then --resume: the metrics must equal an uninterrupted run's.
TEST(CliResume, ARunKilledAfterAnEpochAndResumedEndsAsTheUninterruptedRun) {
  test::TempDir dir;
  // Large enough that an epoch takes a good fraction of a second, so the kill lands mid-run.
  test::writeMnistDirectory(dir.file("mnist"), test::makeSyntheticImageSet(4000, 1, 28, 28, 10, 5),
                            test::makeSyntheticImageSet(200, 1, 28, 28, 10, 6), false);
  const std::string flags = "train --dataset mnist --data-dir " + dir.file("mnist") +
                            " --model cnn --optimizer sam --batch-size 50 --epochs 4 --threads 1 --label-noise 0.1";
  const std::string straight = dir.file("straight");
  ASSERT_EQ(std::system((std::string(SAMSCAPE_CLI_PATH) + " " + flags + " --out " + straight +
                         " >/dev/null 2>&1").c_str()), 0);

  const std::string killed = dir.file("killed");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string command = std::string("exec ") + SAMSCAPE_CLI_PATH + " " + flags + " --out " + killed +
                                " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string latest = killed + "/checkpoints/latest";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(latest) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
  ASSERT_NE(readText(killed + "/run.json").find("\"running\""), std::string::npos);

  const std::string resume = std::string(SAMSCAPE_CLI_PATH) + " train --resume " + killed + " >/dev/null 2>" +
                             dir.file("resume.err");
  ASSERT_EQ(std::system(resume.c_str()), 0) << readText(dir.file("resume.err"));
  EXPECT_EQ(withoutSeconds(readText(killed + "/metrics.csv")), withoutSeconds(readText(straight + "/metrics.csv")));
  EXPECT_NE(readText(killed + "/run.json").find("\"finished\""), std::string::npos);
}

TEST_F(CliTest, SamFlagsAreValidatedAndRecorded) {
  expectUsageError(tinyRunFlags() + " --optimizer sam --base rmsprop", "--base", "rmsprop");
  expectUsageError(tinyRunFlags() + " --optimizer sam --rho -2", "--rho", "-2");
  expectUsageError(tinyRunFlags() + " --m 4", "--m", "4");
  expectUsageError(tinyRunFlags() + " --optimizer sam --m 17", "--m", "17");
  expectUsageError(tinyRunFlags() + " --devices cpu,tpu", "--devices", "tpu");
  expectUsageError("train --resume " + dir.file("no-run"), "--resume", "no-run");
  const std::string out = dir.file("sam");
  const CliResult result = run(tinyRunFlags() + " --optimizer asam --base adam --lr 0.001 --m 8 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_NE(result.err.find("asam (rho 0.5, eta 0.01, m 8) over adam"), std::string::npos) << result.err;
  const std::string runJson = readText(out + "/run.json");
  EXPECT_NE(runJson.find("\"optimizer\": \"asam\""), std::string::npos) << runJson;
  EXPECT_NE(runJson.find("\"m\": 8"), std::string::npos) << runJson;
}


TEST_F(CliTest, AnalyzeReadsARunAndWritesItsFlatnessNumbers) {
  const std::string runDir = dir.file("run");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + runDir).exitCode, 0);
  const std::string out = dir.file("analysis");
  const CliResult result = run("analyze --checkpoint " + runDir + " --subset 0 --hessian-top 3 --trace --trace-probes 4 "
                               "--threads 1 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  // The loss on the whole test split is the run's last test loss: same weights, same definition.
  std::istringstream csv(readText(runDir + "/metrics.csv"));
  std::string line, last;
  while (std::getline(csv, line)) last = line;
  std::istringstream fields(last);
  std::string field;
  for (int column = 0; column < 4; ++column) std::getline(fields, field, ',');
  EXPECT_NEAR(analysis["loss"].get<double>(), std::stod(field), 1e-6 * std::stod(field));
  const auto eigenvalues = analysis["hessian"]["eigenvalues"].get<std::vector<double>>();
  ASSERT_EQ(eigenvalues.size(), 3u);
  EXPECT_GE(eigenvalues[0], eigenvalues[1]);
  EXPECT_GE(eigenvalues[1], eigenvalues[2]);
  EXPECT_TRUE(analysis["hessian"]["converged"].get<bool>());
  EXPECT_GT(analysis["hessian"]["hvp_count"].get<int>(), 0);
  EXPECT_EQ(analysis["trace"]["probes"], 4);
  EXPECT_TRUE(analysis["trace"].contains("stderr"));
}

TEST_F(CliTest, AnalyzeErrorsNameTheFlag) {
  expectUsageError("analyze --out " + dir.file("a"), "--checkpoint", "--model-file");
  expectUsageError("analyze --checkpoint " + dir.file("nothing") + " --out " + dir.file("a"), "--checkpoint",
                   "nothing");
  const std::string runDir = dir.file("run");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + runDir).exitCode, 0);
  expectUsageError("analyze --checkpoint " + runDir + " --split validation --out " + dir.file("a"), "--split",
                   "validation");
  expectUsageError("analyze --checkpoint " + runDir + " --hessian-top -1 --out " + dir.file("a"), "--hessian-top",
                   "-1");
  // Refused before any analysis: nothing is written.
  expectUsageError("analyze --checkpoint " + runDir + " --hessian-top 1 --interpolate " + dir.file("no-such-run") +
                       " --out " + dir.file("a"),
                   "--interpolate", "no-such-run");
  EXPECT_FALSE(std::filesystem::exists(dir.file("a")));
}


// Rows of a CSV file (header dropped), split at commas.
std::vector<std::vector<double>> csvRows(const std::string& path) {
  std::vector<std::vector<double>> rows;
  std::istringstream lines(readText(path));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::vector<double> row;
    std::istringstream fields(line);
    for (std::string field; std::getline(fields, field, ',');) row.push_back(std::stod(field));
    rows.push_back(row);
  }
  return rows;
}

TEST_F(CliTest, AnalyzeLandscapesSharpnessAndDensity) {
  const std::string sgd = dir.file("sgd");
  const std::string sam = dir.file("sam");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + sgd).exitCode, 0);
  ASSERT_EQ(run(tinyRunFlags() + " --optimizer sam --out " + sam).exitCode, 0);
  const std::string directions = dir.file("directions.bin");
  const std::string out = dir.file("analysis");
  const CliResult result =
      run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --slice --grid 5 --range -0.5:0.5 --directions " +
          directions + " --m-sharpness --m 10 --interpolate " + sam +
          " --interpolate-points 5 --interpolate-range -1:2 --esd --esd-probes 2 --esd-steps 8 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  const double loss = analysis["loss"].get<double>();

  const auto slice = csvRows(out + "/slice.csv");
  ASSERT_EQ(slice.size(), 25u);
  int centres = 0;
  for (const auto& row : slice) {
    if (row[0] == 0.0 && row[1] == 0.0) {
      ++centres;
      EXPECT_NEAR(row[2], loss, 1e-6 * loss) << "the slice's centre is the model itself";
    }
  }
  EXPECT_EQ(centres, 1);
  EXPECT_NE(readText(out + "/slice.vts").find("StructuredGrid"), std::string::npos);
  EXPECT_TRUE(std::isfinite(analysis["m_sharpness"].get<double>()));

  const auto curve = csvRows(out + "/interpolation.csv");
  ASSERT_EQ(curve.size(), 5u);  // t = -1, -0.25, 0.5, 1.25, 2
  EXPECT_EQ(curve[0][0], -1.0);
  EXPECT_EQ(curve[4][0], 2.0);
  EXPECT_FALSE(readText(out + "/esd.csv").empty());

  // The saved directions are reused: a second analysis (of the other run) reads the same file.
  const std::string before = readText(directions);
  const std::string out2 = dir.file("analysis2");
  ASSERT_EQ(run("analyze --checkpoint " + sam + " --subset 0 --threads 1 --slice --grid 3 --directions " +
                directions + " --out " + out2).exitCode, 0);
  EXPECT_EQ(readText(directions), before);
  EXPECT_EQ(readText(out2 + "/directions.bin"), before);

  expectUsageError("analyze --checkpoint " + sgd + " --slice --range 1:0 --out " + dir.file("bad"), "--range", "1:0");

  // The run's two checkpoints on the PCA plane: the final one at the origin.
  const std::string out3 = dir.file("analysis3");
  ASSERT_EQ(run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --trajectory --out " + out3).exitCode, 0);
  const auto path = csvRows(out3 + "/trajectory.csv");
  ASSERT_EQ(path.size(), 2u);
  EXPECT_EQ(path[1][0], 2.0);
  EXPECT_NEAR(path[1][1], 0.0, 1e-12);
  EXPECT_NEAR(path[1][2], 0.0, 1e-12);
  EXPECT_GT(std::abs(path[0][1]), 0.0);
}

TEST_F(CliTest, HessianSliceDirectionsComeFromTheHessianStageOrTheirOwnLanczos) {
  // (AnalysisSession.ASliceAlongTheTopHessianEigenvectorsCurvesAsTheirEigenvalues checks the curvature.)
  const std::string sgd = dir.file("sgd");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + sgd).exitCode, 0);
  const std::string out = dir.file("hessian-slice");
  const CliResult result = run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --hessian-top 2 --slice "
                               "--slice-directions hessian --grid 3 --range -0.05:0.05 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(analysis["slice"]["directions"], "hessian");
  EXPECT_EQ(analysis["slice"]["filter_normalized"], false);
  const double lambda1 = analysis["hessian"]["eigenvalues"][0].get<double>();
  EXPECT_EQ(analysis["slice"]["eigenvalues"][0].get<double>(), lambda1);
  EXPECT_FALSE(analysis["slice"].contains("hvp_count")) << "the hessian stage's eigenvectors are reused";
  EXPECT_EQ(csvRows(out + "/slice.csv").size(), 9u);

  // The same slice without --hessian-top runs its own Lanczos for the two directions.
  const std::string alone = dir.file("hessian-slice-alone");
  ASSERT_EQ(run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --slice --slice-directions hessian "
                "--grid 3 --range -0.05:0.05 --out " + alone).exitCode, 0);
  const auto aloneJson = nlohmann::json::parse(readText(alone + "/analysis.json"));
  EXPECT_NEAR(aloneJson["slice"]["eigenvalues"][0].get<double>(), lambda1, 1e-3 * lambda1);
  EXPECT_GT(aloneJson["slice"]["hvp_count"].get<int>(), 0);
  expectUsageError("analyze --checkpoint " + sgd + " --slice --slice-directions pcb --out " + dir.file("bad"),
                   "--slice-directions", "pcb");
}

TEST_F(CliTest, ASlicePlaneThroughThreeModelsPassesThroughEachOfThem) {
  const std::string sgd = dir.file("sgd");
  const std::string sam = dir.file("sam");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + sgd).exitCode, 0);
  ASSERT_EQ(run(tinyRunFlags() + " --optimizer sam --rho 0.5 --out " + sam).exitCode, 0);
  const std::string first = sgd + "/checkpoints/epoch-001";
  const std::string out = dir.file("plane");
  // Grid 7 over [-1, 1]: the models' coordinates -1/3 and 2/3 are grid points.
  const CliResult result = run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --slice --grid 7 --slice-plane " +
                               first + "," + sgd + "," + sam + " --trajectory --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(analysis["slice"]["directions"], "plane");
  ASSERT_EQ(analysis["slice"]["plane"].size(), 3u);
  // The analysed weights are the plane's B: at (2/3, -1/3).
  EXPECT_NEAR(analysis["slice"]["analysed_weights"]["x"].get<double>(), 2.0 / 3, 1e-6);
  EXPECT_NEAR(analysis["slice"]["analysed_weights"]["y"].get<double>(), -1.0 / 3, 1e-6);
  const auto rows = csvRows(out + "/slice.csv");
  ASSERT_EQ(rows.size(), 49u);
  // Each model's own loss (analysed on its own) is the slice's loss at its coordinates.
  const std::vector<std::pair<std::string, std::pair<double, double>>> models{
      {first, {-1.0 / 3, -1.0 / 3}}, {sgd, {2.0 / 3, -1.0 / 3}}, {sam, {-1.0 / 3, 2.0 / 3}}};
  int index = 0;
  for (const auto& [model, at] : models) {
    const std::string own = dir.file("own" + std::to_string(index++));
    ASSERT_EQ(run("analyze --checkpoint " + model + " --subset 0 --threads 1 --out " + own).exitCode, 0);
    const double loss = nlohmann::json::parse(readText(own + "/analysis.json"))["loss"].get<double>();
    bool found = false;
    for (const auto& row : rows) {
      if (std::abs(row[0] - at.first) < 1e-9 && std::abs(row[1] - at.second) < 1e-9) {
        found = true;
        EXPECT_NEAR(row[2], loss, 1e-5 * loss) << model;
      }
    }
    EXPECT_TRUE(found) << model;
  }
  // The run's path in the plane's coordinates: its epochs 1 and 2 are A and B.
  const auto path = csvRows(out + "/trajectory_on_slice.csv");
  ASSERT_EQ(path.size(), 2u);
  EXPECT_NEAR(path[0][1], -1.0 / 3, 1e-6);
  EXPECT_NEAR(path[1][1], 2.0 / 3, 1e-6);
  EXPECT_NEAR(path[1][2], -1.0 / 3, 1e-6);

  expectUsageError("analyze --checkpoint " + sgd + " --slice --slice-plane " + sgd + "," + sam + " --out " +
                       dir.file("bad"), "--slice-plane", sam);
  const CliResult line = run("analyze --checkpoint " + sgd + " --slice --slice-plane " + sgd + "," + sgd + "," + sam +
                             " --out " + dir.file("bad2"));
  EXPECT_EQ(line.exitCode, 2) << line.err;
  EXPECT_NE(line.err.find("span no plane"), std::string::npos) << line.err;
}

// The app's pair plane: through the initial weights, the SGD solution and the SAM solution, with each
// run's path from its start drawn on it.
TEST_F(CliTest, ThePairPlaneThroughInitSgdAndSamCarriesBothPathsFromTheirStart) {
  const std::string sgd = dir.file("sgd");
  const std::string sam = dir.file("sam");
  ASSERT_EQ(run(tinyRunFlags() + " --epochs 3 --out " + sgd).exitCode, 0);
  ASSERT_EQ(run(tinyRunFlags() + " --epochs 3 --optimizer sam --rho 0.5 --out " + sam).exitCode, 0);
  // Same seed: the same initial weights, written before the first step.
  const std::string initial = sgd + "/checkpoints/initial";
  ASSERT_TRUE(std::filesystem::exists(initial + "/model.pt"));
  EXPECT_EQ(readText(initial + "/model.pt"), readText(sam + "/checkpoints/initial/model.pt"));
  EXPECT_NE(readText(initial + "/model.pt"), readText(sgd + "/checkpoints/epoch-001/model.pt"));
  const std::string out = dir.file("pair-plane");
  const CliResult result = run("analyze --checkpoint " + sgd + " --subset 0 --threads 1 --slice --grid 7 --slice-plane " +
                               initial + "," + sgd + "," + sam + " --trajectory --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  const auto& paths = analysis["trajectory"]["plane_paths"];
  ASSERT_EQ(paths.size(), 2u) << analysis["trajectory"].dump();
  EXPECT_EQ(std::filesystem::path(paths[0]["run"].get<std::string>()).filename(), "sgd");
  EXPECT_EQ(std::filesystem::path(paths[1]["run"].get<std::string>()).filename(), "sam");
  // Each path: epoch 0 (init) at A = (-1/3, -1/3), then epochs 1-3, the last at its run's anchor.
  const std::pair<double, double> ends[2] = {{2.0 / 3, -1.0 / 3}, {-1.0 / 3, 2.0 / 3}};
  for (int i = 0; i < 2; ++i) {
    const auto rows = csvRows(out + "/" + paths[i]["file"].get<std::string>());
    ASSERT_EQ(rows.size(), 4u) << i;
    EXPECT_EQ(rows[0][0], 0.0);
    EXPECT_NEAR(rows[0][1], -1.0 / 3, 1e-6);
    EXPECT_NEAR(rows[0][2], -1.0 / 3, 1e-6);
    EXPECT_EQ(rows[3][0], 3.0);
    EXPECT_NEAR(rows[3][1], ends[i].first, 1e-6);
    EXPECT_NEAR(rows[3][2], ends[i].second, 1e-6);
  }
}

TEST_F(CliTest, PcaSliceDirectionsDrawTheRunsPathOnTheSurface) {
  const std::string run4 = dir.file("four-epochs");
  ASSERT_EQ(run(tinyRunFlags() + " --epochs 4 --out " + run4).exitCode, 0);
  const std::string out = dir.file("pca-slice");
  const CliResult result = run("analyze --checkpoint " + run4 + " --subset 0 --threads 1 --slice --slice-directions "
                               "pca --grid 5 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(analysis["slice"]["directions"], "pca");
  EXPECT_GT(analysis["slice"]["scale"].get<double>(), 0.0);
  // The path is drawn on the slice without --trajectory, inside the slice's range [-1, 1], its largest
  // coordinate at 80% of it, the final epoch (the analysed weights) at the centre.
  const auto path = csvRows(out + "/trajectory_on_slice.csv");
  ASSERT_EQ(path.size(), 4u);
  double largest = 0.0;
  for (const auto& row : path) largest = std::max({largest, std::abs(row[1]), std::abs(row[2])});
  EXPECT_NEAR(largest, 0.8, 1e-6);
  EXPECT_NEAR(path[3][1], 0.0, 1e-9);
  EXPECT_NEAR(path[3][2], 0.0, 1e-9);

  // Two checkpoints span no plane: the slice is skipped, saying why, and the rest of the analysis stands.
  const std::string run2 = dir.file("two-epochs");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + run2).exitCode, 0);
  const std::string skipped = dir.file("pca-skipped");
  ASSERT_EQ(run("analyze --checkpoint " + run2 + " --subset 0 --threads 1 --slice --slice-directions pca --grid 3 "
                "--out " + skipped).exitCode, 0);
  const auto skippedJson = nlohmann::json::parse(readText(skipped + "/analysis.json"));
  EXPECT_NE(skippedJson["slice"]["skipped"].get<std::string>().find("three checkpoints"), std::string::npos);
  EXPECT_EQ(skippedJson["status"], "complete");
}

// The test loss of `epoch` in a run's metrics.csv (its fourth column).
double testLossOfEpoch(const std::string& metricsCsv, int epoch) {
  for (const auto& row : csvRows(metricsCsv)) {
    if (static_cast<int>(row[0]) == epoch) return row[3];
  }
  return std::nan("");
}

TEST_F(CliTest, TrainAnalyzeEveryAnalysesCheckpointsWithoutChangingTheRun) {
  const std::string plain = dir.file("plain");
  const std::string analysed = dir.file("analysed");
  ASSERT_EQ(run(tinyRunFlags() + " --epochs 3 --out " + plain).exitCode, 0);
  const CliResult result = run(tinyRunFlags() + " --epochs 3 --out " + analysed +
                               " --analyze-every 2 --subset 0 --hessian-top 1 --slice --grid 3 --m-sharpness "
                               "--sharpness-m 10 --sharpness-rho 0.1 --trajectory");
  ASSERT_EQ(result.exitCode, 0) << result.err;
  // Analyses load the checkpoints into their own model: training is exactly as without them.
  EXPECT_EQ(withoutSeconds(readText(analysed + "/metrics.csv")), withoutSeconds(readText(plain + "/metrics.csv")));

  // Every 2nd epoch, and the last.
  EXPECT_FALSE(std::filesystem::exists(analysed + "/analysis/epoch-001"));
  for (int epoch : {2, 3}) {
    const std::string directory = analysed + "/analysis/epoch-00" + std::to_string(epoch);
    const auto analysis = nlohmann::json::parse(readText(directory + "/analysis.json"));
    EXPECT_EQ(analysis["status"], "complete");
    // The whole test split at the epoch's weights: the run's own test loss of that epoch.
    const double testLoss = testLossOfEpoch(analysed + "/metrics.csv", epoch);
    EXPECT_NEAR(analysis["loss"].get<double>(), testLoss, 1e-5 * testLoss) << "epoch " << epoch;
    EXPECT_EQ(analysis["hessian"]["eigenvalues"].size(), 1u);
    EXPECT_EQ(analysis["m_sharpness_details"]["m"], 10);
    EXPECT_EQ(analysis["m_sharpness_details"]["rho"], 0.1);
    EXPECT_EQ(csvRows(directory + "/slice.csv").size(), 9u);
  }
  // The path so far in the slice's coordinates: the analysed (last) checkpoint is the slice's centre.
  const auto path = csvRows(analysed + "/analysis/epoch-003/trajectory_on_slice.csv");
  ASSERT_EQ(path.size(), 3u);
  EXPECT_EQ(path[2][0], 3.0);
  EXPECT_NEAR(path[2][1], 0.0, 1e-9);
  EXPECT_NEAR(path[2][2], 0.0, 1e-9);
  EXPECT_GT(std::abs(path[0][1]) + std::abs(path[0][2]), 1e-6);

  // The analyses are in the workspace's store too, under the run.
  const CliResult shown = run("runs show analysed");
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  EXPECT_NE(shown.out.find("m_sharpness"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("trajectory"), std::string::npos) << shown.out;

  // One set of slice directions for the whole run.
  const std::string directions = readText(analysed + "/analysis/directions.bin");
  EXPECT_FALSE(directions.empty());
  EXPECT_EQ(readText(analysed + "/analysis/epoch-002/directions.bin"), directions);
  EXPECT_EQ(readText(analysed + "/analysis/epoch-003/directions.bin"), directions);

  expectUsageError(tinyRunFlags() + " --hessian-top 2 --out " + dir.file("x"), "--analyze-every", "0");
  expectUsageError(tinyRunFlags() + " --analyze-every -1 --out " + dir.file("y"), "--analyze-every", "-1");
  expectUsageError(tinyRunFlags() + " --analyze-every 1 --slice --grid 1 --out " + dir.file("z"), "--grid", "1");
}

// --analysis-budget: a run whose analyses take more than their share of the training skips the ones
// due while over it, says so on stderr and in DIR/analysis/budget.json, and still analyses the last
// epoch; each analysis and the run's total cost are printed.
TEST_F(CliTest, AnalysesOverTheBudgetAreSkippedAndReportedButTheLastEpochIsAnalysed) {
  const std::string out = dir.file("run");
  // Training on the tiny set takes milliseconds: any analysis is far over a budget of 0.01%.
  const CliResult result = run(tinyRunFlags() + " --epochs 3 --analyze-every 1 --subset 0 --hessian-top 1 "
                                                "--analysis-budget 0.0001 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  EXPECT_NE(result.err.find("analysis of epoch 1: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("budget 0.01%)"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("analysis of epoch 2 skipped: analyses took "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--analysis-budget raises it"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("analysis of epoch 3: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("analyses: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("2 ran, 1 skipped (over budget)"), std::string::npos) << result.err;
  EXPECT_TRUE(std::filesystem::exists(out + "/analysis/epoch-001/analysis.json"));
  EXPECT_FALSE(std::filesystem::exists(out + "/analysis/epoch-002"));
  EXPECT_EQ(nlohmann::json::parse(readText(out + "/analysis/epoch-003/analysis.json"))["status"], "complete");

  const auto budget = nlohmann::json::parse(readText(out + "/analysis/budget.json"));
  EXPECT_EQ(budget["budget"], 0.0001);
  EXPECT_EQ(budget["analysed"], 2);
  EXPECT_EQ(budget["skipped"], 1);
  ASSERT_EQ(budget["epochs"].size(), 3u) << budget.dump(2);
  EXPECT_EQ(budget["epochs"][1]["epoch"], 2);
  EXPECT_EQ(budget["epochs"][1]["skipped"], true);
  EXPECT_EQ(budget["epochs"][2]["skipped"], false);
  EXPECT_GT(budget["epochs"][2]["seconds"].get<double>(), 0.0);
  const auto rows = csvRows(out + "/metrics.csv");
  double training = 0.0;
  for (const auto& row : rows) training += row.back();
  EXPECT_NEAR(budget["training_seconds"].get<double>(), training, 1e-3 + 1e-3 * training) << "metrics.csv's seconds";
  // The budget is one of the analysis flags run.json keeps for --resume.
  EXPECT_EQ(nlohmann::json::parse(readText(out + "/run.json"))["analysis"]["analysis-budget"], 0.0001);

  // Resumed, the run goes on with its accounting: one more epoch, the last, analysed.
  const CliResult resumed = run("train --resume " + out + " --epochs 4");
  ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("3 ran, 1 skipped (over budget)"), std::string::npos) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(readText(out + "/analysis/budget.json"))["epochs"].size(), 4u);

  expectUsageError(tinyRunFlags() + " --analyze-every 1 --analysis-budget -1 --out " + dir.file("x"),
                   "--analysis-budget", "-1");
  expectUsageError(tinyRunFlags() + " --analyze-every 1 --analysis-budget nan --out " + dir.file("y"),
                   "--analysis-budget", "nan");
  expectUsageError(tinyRunFlags() + " --analyze-every 1 --analysis-budget 101 --out " + dir.file("z"),
                   "--analysis-budget", "101");
}

// run.json keeps the analysis flags a run was launched with, and --resume analyses with them (unless
// told otherwise): an interrupted analysed run does not come back unanalysed.
TEST_F(CliTest, AResumedRunAnalysesAsItWasLaunched) {
  const std::string out = dir.file("analysed");
  ASSERT_EQ(run(tinyRunFlags() + " --epochs 1 --analyze-every 1 --subset 0 --hessian-top 1 --slice --grid 3 "
                                 "--range -0.5:0.5 --out " + out).exitCode, 0);
  const auto launched = nlohmann::json::parse(readText(out + "/run.json"));
  EXPECT_EQ(launched["analysis"],
            nlohmann::json({{"analyze-every", 1}, {"subset", 0}, {"hessian-top", 1}, {"slice", true}, {"grid", 3},
                            {"range", "-0.5:0.5"}}))
      << launched.dump(2);

  // The first epoch's analysis as a Ctrl-C during it leaves it (analysis.json says so). Resumed for a
  // second epoch without any analysis flag, the run redoes that analysis, then analyses as before.
  const std::string firstJson = out + "/analysis/epoch-001/analysis.json";
  auto interrupted = nlohmann::json::parse(readText(firstJson));
  interrupted["status"] = "cancelled";
  interrupted.erase("hessian");
  std::ofstream(firstJson) << interrupted.dump(2);
  const CliResult resumed = run("train --resume " + out + " --epochs 2");
  ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
  const auto redone = nlohmann::json::parse(readText(firstJson));
  EXPECT_EQ(redone["status"], "complete");
  EXPECT_EQ(redone["hessian"]["eigenvalues"].size(), 1u);
  const auto second = nlohmann::json::parse(readText(out + "/analysis/epoch-002/analysis.json"));
  EXPECT_EQ(second["status"], "complete");
  EXPECT_EQ(second["hessian"]["eigenvalues"].size(), 1u);
  EXPECT_EQ(csvRows(out + "/analysis/epoch-002/slice.csv").size(), 9u);
  EXPECT_EQ(readText(out + "/analysis/epoch-002/directions.bin"), readText(out + "/analysis/epoch-001/directions.bin"));
  EXPECT_EQ(nlohmann::json::parse(readText(out + "/run.json"))["analysis"], launched["analysis"]);

  // --analyze-every 0 turns them off for the rest of the run.
  const CliResult unanalysed = run("train --resume " + out + " --epochs 3 --analyze-every 0");
  ASSERT_EQ(unanalysed.exitCode, 0) << unanalysed.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/analysis/epoch-003"));

  // A bad value in run.json's analysis flags is blamed on run.json, not on a --config file.
  auto edited = nlohmann::json::parse(readText(out + "/run.json"));
  edited["analysis"] = {{"analyze-every", 1}, {"slice", true}, {"grid", "many"}};
  std::ofstream(out + "/run.json") << edited.dump(2);
  const CliResult refused = run("train --resume " + out + " --epochs 4");
  EXPECT_EQ(refused.exitCode, 2) << refused.err;
  EXPECT_NE(refused.err.find("--grid"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(out + "/run.json"), std::string::npos) << refused.err;
}

TEST_F(CliTest, CtrlCStopsAnAnalysisAndKeepsWhatFinished) {
  const std::string runDir = dir.file("run");
  ASSERT_EQ(run(tinyRunFlags() + " --out " + runDir).exitCode, 0);
  const std::string out = dir.file("analysis");
  // 201 x 201 points: far longer than the time it takes to interrupt it after its coarse level.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string command = std::string("exec ") + SAMSCAPE_CLI_PATH + " analyze --checkpoint " + runDir +
                                " --split train --subset 0 --threads 1 --slice --grid 201 --out " + out +
                                " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(out + "/slice.csv") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "Ctrl-C must end the analysis cleanly, not kill it";
  EXPECT_EQ(WEXITSTATUS(status), 130);

  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(analysis["status"], "cancelled");
  EXPECT_TRUE(analysis.contains("loss"));
  EXPECT_FALSE(analysis["slice"]["complete"].get<bool>());
  const auto rows = csvRows(out + "/slice.csv");
  EXPECT_GE(rows.size(), 49u) << "the coarse level (7 x 7) was finished before the interrupt";
  EXPECT_LT(rows.size(), 201u * 201u);
  EXPECT_EQ(static_cast<std::int64_t>(rows.size()), analysis["slice"]["points_done"].get<std::int64_t>());
  EXPECT_FALSE(std::filesystem::exists(out + "/slice.vts")) << "ParaView needs a complete grid";
}

TEST_F(CliTest, AdaptiveSharpnessRunsInTrainAndAnalyzeAndIsRecorded) {
  const std::string runDir = dir.file("adaptive-run");
  const CliResult trained = run(tinyRunFlags() + " --epochs 1 --analyze-every 1 --subset 0 --adaptive-sharpness "
                                "--adaptive-steps 3 --adaptive-m 25 --name adaptive --out " + runDir);
  ASSERT_EQ(trained.exitCode, 0) << trained.err;
  const auto during = nlohmann::json::parse(readText(runDir + "/analysis/epoch-001/analysis.json"));
  for (const char* norm : {"l2", "linf"}) {
    EXPECT_GT(during["adaptive_sharpness"][norm]["value"].get<double>(), 0.0) << norm;
    EXPECT_EQ(during["adaptive_sharpness"][norm]["gradients"].get<int>() % 3, 0) << norm;
  }
  EXPECT_EQ(during["adaptive_sharpness"]["m"], 25);
  const CliResult shown = run("runs show adaptive");
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  EXPECT_NE(shown.out.find("adaptive_sharpness"), std::string::npos) << shown.out;

  const std::string out = dir.file("adaptive-analysis");
  const CliResult analysed = run("analyze --checkpoint " + runDir + " --subset 0 --threads 1 --adaptive-sharpness "
                                 "--adaptive-rho-l2 0.5 --adaptive-rho-linf 0 --adaptive-steps 2 --out " + out);
  ASSERT_EQ(analysed.exitCode, 0) << analysed.err;
  const auto after = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(after["adaptive_sharpness"]["l2"]["rho"], 0.5);
  EXPECT_FALSE(after["adaptive_sharpness"].contains("linf"));

  EXPECT_NE(run("train --help").out.find("--adaptive-rho-linf"), std::string::npos);
  expectUsageError("analyze --checkpoint " + runDir + " --adaptive-sharpness --adaptive-rho-l2 -1 --out " +
                       dir.file("bad"),
                   "--adaptive-rho-l2", "-1");
  expectUsageError(tinyRunFlags() + " --analyze-every 1 --adaptive-sharpness --adaptive-steps 0 --out " +
                       dir.file("bad2"),
                   "--adaptive-steps", "0");
}

TEST_F(CliTest, TrainAndAnalyzeRecordIntoTheWorkspace) {
  // No --out: the run directory goes into the workspace (SAMSCAPE_WORKSPACE, set by the fixture).
  const CliResult trained = run(tinyRunFlags() + " --name tiny-sgd --tag smoke --tag cli");
  ASSERT_EQ(trained.exitCode, 0) << trained.err;
  EXPECT_NE(trained.out.find("recorded as run 1"), std::string::npos) << trained.out;
  std::vector<std::string> runDirectories;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("workspace") + "/runs")) {
    runDirectories.push_back(entry.path().string());
  }
  ASSERT_EQ(runDirectories.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(runDirectories[0] + "/run.json"));

  const CliResult analysed = run("analyze --checkpoint " + runDirectories[0] +
                                 " --subset 0 --hessian-top 1 --per-layer --trace-probes 4 --threads 1 --out " +
                                 dir.file("analysis"));
  ASSERT_EQ(analysed.exitCode, 0) << analysed.err;
  EXPECT_NE(analysed.out.find("recorded under run 1"), std::string::npos) << analysed.out;

  const CliResult shown = run("runs show tiny-sgd");
  ASSERT_EQ(shown.exitCode, 0) << shown.err;
  for (const std::string expected : {"finished", "smoke", "cli", "hessian", "loss", "per_layer"}) {
    EXPECT_NE(shown.out.find(expected), std::string::npos) << expected << " missing from:\n" << shown.out;
  }
  // Both epochs' metrics are in the store: the tidy export has train_loss for epochs 1 and 2.
  ASSERT_EQ(run("export 1 --out " + dir.file("export")).exitCode, 0);
  const std::string tidy = readText(dir.file("export") + "/metrics.csv");
  EXPECT_NE(tidy.find("1,1,train_loss,"), std::string::npos) << tidy;
  EXPECT_NE(tidy.find("1,2,train_loss,"), std::string::npos) << tidy;
}

TEST_F(CliTest, AConfigFileMayCarryTheAnalysisFlagsAndFlagsOverrideThem) {
  const std::string config = dir.file("config.json");
  {
    std::ofstream out(config);
    out << R"({"epochs": 1, "analyze-every": 1, "hessian-top": 1, "slice": true, "grid": 3, "subset": 0})";
  }
  const std::string out = dir.file("run");
  const CliResult result = run(tinyRunFlags() + " --config " + config + " --grid 5 --out " + out);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis/epoch-001/analysis.json"));
  EXPECT_EQ(analysis["hessian"]["eigenvalues"].size(), 1u);
  EXPECT_EQ(csvRows(out + "/analysis/epoch-001/slice.csv").size(), 25u) << "--grid 5 overrides the file's 3";

  {
    std::ofstream bad(config);
    bad << R"({"epochs": 1, "hessian-tops": 1})";
  }
  expectUsageError(tinyRunFlags() + " --config " + config + " --out " + dir.file("bad"), "--config", "hessian-tops");
}

// The shipped --config files (run.sh's default pair among them) are accepted by train as they are; the
// flags after them only shrink the run to the tiny dataset.
TEST_F(CliTest, ShippedConfigFilesAreAcceptedByTrain) {
  int configs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SAMSCAPE_SOURCE_DIR) + "/resources/configs")) {
    if (entry.path().extension() != ".json") continue;
    ++configs;
    const std::string out = dir.file("run-" + entry.path().stem().string());
    const bool analyses = readText(entry.path().string()).find("\"analyze-every\"") != std::string::npos;
    const CliResult result = run("train --config " + entry.path().string() + " --dataset mnist --data-dir " +
                                 dir.file("mnist") + " --model mlp --train-subset 0 --epochs 1 --threads 1 --out " + out +
                                 (analyses ? " --subset 0 --grid 3 --hessian-top 1" : ""));
    EXPECT_EQ(result.exitCode, 0) << entry.path() << "\n" << result.err;
    EXPECT_EQ(std::filesystem::exists(out + "/analysis/epoch-001/analysis.json"), analyses) << entry.path();
  }
  EXPECT_GE(configs, 2);
}

}  // namespace
}  // namespace samscape

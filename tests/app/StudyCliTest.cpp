// `samscape-cli study` as a user runs it: killed with SIGKILL in the middle of a run, then resumed:
// the runs done before are kept as they were, the one in flight resumes from its checkpoint, and the
// summary counts every run once. Mistakes in the study file are one line naming the file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::readText;

int runCli(const std::string& arguments, const std::string& out, const std::string& err) {
  const std::string command = std::string(SAMSCAPE_CLI_PATH) + " " + arguments + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(StudyCli, AStudyKilledMidRunResumesWithoutRedoingFinishedRuns) {
  test::TempDir dir;
  // Big enough that a run takes a good part of a second, so the kill lands inside run 2.
  test::writeMnistDirectory(dir.file("mnist"), test::makeSyntheticImageSet(2000, 1, 28, 28, 10, 5),
                            test::makeSyntheticImageSet(200, 1, 28, 28, 10, 6), false);
  const std::string study = dir.file("study.json");
  writeFile(study, R"({"study": "killed", "claim": "resuming", "seeds": 2,
    "grid": {"optimizer": ["sgd", "sam"]},
    "base": {"dataset": "mnist", "data-dir": ")" + dir.file("mnist") + R"(", "model": "mlp",
             "batch-size": 50, "epochs": 3, "threads": 1, "analyze-every": 3, "hessian-top": 1, "subset": 100}})");
  const std::string workspace = dir.file("workspace");
  const std::string runs = workspace + "/studies/killed/runs/";

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string command = std::string("exec ") + SAMSCAPE_CLI_PATH + " study --quiet --config " + study +
                                " --workspace " + workspace + " >" + dir.file("first.out") + " 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it once run 2 (optimizer=sgd seed 1) has its first checkpoint.
  const std::string secondCheckpoint = runs + "optimizer-sgd-seed1/checkpoints/latest";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (!fs::exists(secondCheckpoint) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the study ended before it could be killed:\n" << readText(dir.file("first.out"));
  const std::string firstRunJson = readText(runs + "optimizer-sgd-seed0/run.json");
  ASSERT_NE(firstRunJson.find("\"finished\""), std::string::npos);
  const auto firstMetricsTime = fs::last_write_time(runs + "optimizer-sgd-seed0/metrics.csv");

  // A resume with another --set than the start: refused, naming both.
  EXPECT_EQ(runCli("study --resume --set lr=0.2 --config " + study + " --workspace " + workspace, dir.file("o"), dir.file("e")), 2);
  EXPECT_NE(readText(dir.file("e")).find("was started with no --set"), std::string::npos) << readText(dir.file("e"));

  // Without --resume: refused, saying how to continue.
  EXPECT_EQ(runCli("study --config " + study + " --workspace " + workspace, dir.file("o"), dir.file("e")), 2);
  EXPECT_NE(readText(dir.file("e")).find("add --resume"), std::string::npos) << readText(dir.file("e"));

  ASSERT_EQ(runCli("study --quiet --resume --config " + study + " --workspace " + workspace, dir.file("resumed.out"),
                   dir.file("resumed.err")),
            0)
      << readText(dir.file("resumed.err"));
  const std::string resumed = readText(dir.file("resumed.out"));
  EXPECT_EQ(resumed.find("run 1/4"), std::string::npos) << "the finished run was trained again:\n" << resumed;
  EXPECT_NE(resumed.find("run 2/4: optimizer=sgd seed 1 (resuming from its checkpoint)"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("run 4/4: optimizer=sam seed 1"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("kept 1 runs done earlier"), std::string::npos) << resumed;
  EXPECT_NE(resumed.find("4 of 4 runs done"), std::string::npos) << resumed;
  EXPECT_EQ(readText(runs + "optimizer-sgd-seed0/run.json"), firstRunJson);
  EXPECT_EQ(fs::last_write_time(runs + "optimizer-sgd-seed0/metrics.csv"), firstMetricsTime);
  // The resumed run's epochs are each recorded once.
  const std::string resumedMetrics = readText(runs + "optimizer-sgd-seed1/metrics.csv");
  EXPECT_EQ(std::count(resumedMetrics.begin(), resumedMetrics.end(), '\n'), 4) << resumedMetrics;

  // study.csv: both cells with both seeds; the store: four runs, one per directory.
  const std::string csv = readText(workspace + "/studies/killed/study.csv");
  EXPECT_NE(csv.find("\noptimizer=sgd,sgd,2,2,0,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\noptimizer=sam,sam,2,2,0,"), std::string::npos) << csv;
  ASSERT_EQ(runCli("runs list --workspace " + workspace + " --tag study:killed", dir.file("list.out"), dir.file("list.err")), 0)
      << readText(dir.file("list.err"));
  const std::string list = readText(dir.file("list.out"));
  for (const char* name : {"killed/optimizer=sgd seed 0", "killed/optimizer=sgd seed 1", "killed/optimizer=sam seed 0",
                           "killed/optimizer=sam seed 1"}) {
    const auto first = list.find(name);
    EXPECT_NE(first, std::string::npos) << name << " missing:\n" << list;
    EXPECT_EQ(list.find(name, first + 1), std::string::npos) << name << " listed twice:\n" << list;
  }

  // The summary reads the same workspace back, as text and as the README's Markdown table.
  ASSERT_EQ(runCli("study summary --no-files --markdown --workspace " + workspace, dir.file("md.out"), dir.file("md.err")), 0)
      << readText(dir.file("md.err"));
  const std::string markdown = readText(dir.file("md.out"));
  EXPECT_NE(markdown.find("| resuming |"), std::string::npos) << markdown;
  // Then the rank correlations: lambda_max of the four runs against the gap (train loss from metrics.csv:
  // the analyses ran on the test split) and the test error, and how the interval was made.
  EXPECT_NE(markdown.find("| killed | lambda_max | test loss - train loss | tau-b "), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("], 4 runs | metrics.csv (mini-batches) |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("| killed | lambda_max | test error (1 - test accuracy) | tau-b "), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("2000 resamples of the runs, seed 2023"), std::string::npos) << markdown;
  ASSERT_EQ(runCli("study summary --no-files --workspace " + workspace + " killed", dir.file("text.out"), dir.file("text.err")), 0)
      << readText(dir.file("text.err"));
  EXPECT_NE(readText(dir.file("text.out")).find("train loss: metrics.csv train_loss"), std::string::npos)
      << readText(dir.file("text.out"));
  // The resumed study wrote them as a file too.
  const std::string correlations = readText(workspace + "/studies/killed/study-correlations.csv");
  EXPECT_NE(correlations.find("\nlambda_max,loss_gap,4,"), std::string::npos) << correlations;
  EXPECT_NE(correlations.find(",2023,metrics.csv\n"), std::string::npos) << correlations;
}

TEST(StudyCli, MistakesAreOneLineNamingTheFileOrTheStudy) {
  test::TempDir dir;
  auto expectUsage = [&](const std::string& arguments, const std::string& words) {
    EXPECT_EQ(runCli(arguments, dir.file("out"), dir.file("err")), 2) << arguments << "\n" << readText(dir.file("err"));
    const std::string err = readText(dir.file("err"));
    EXPECT_NE(err.find(words), std::string::npos) << "expected '" << words << "' in: " << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  };
  expectUsage("study --workspace " + dir.file("w"), "study needs --config");
  expectUsage("study --config " + dir.file("missing.json") + " --workspace " + dir.file("w"), "missing.json");
  writeFile(dir.file("bad.json"), R"({"study": "bad", "seeds": 2, "grid": {"lr": [0.1, "fast"]}})");
  expectUsage("study --config " + dir.file("bad.json") + " --workspace " + dir.file("w"), "cell lr=fast");
  writeFile(dir.file("ok.json"), R"({"study": "ok", "seeds": 1, "base": {"model": "mlp", "train-subset": 10, "epochs": 1}})");
  expectUsage("study --config " + dir.file("ok.json") + " --threads -3 --workspace " + dir.file("w"), "--threads");
  expectUsage("study summary nothing --workspace " + dir.file("w"), "nothing");
  writeFile(dir.file("grid.json"), R"({"study": "g", "seeds": 1, "grid": {"optimizer": ["sgd", "sam"]},
                                       "base": {"model": "mlp", "train-subset": 10, "epochs": 1}})");
  expectUsage("study --config " + dir.file("grid.json") + " --set optimizer=sam --workspace " + dir.file("w"),
              "what the study's cells vary");
  expectUsage("study --config " + dir.file("grid.json") + " --set lr --workspace " + dir.file("w"), "KEY=VALUE");
  EXPECT_FALSE(fs::exists(dir.file("w") + "/studies/ok")) << "a refused study left a directory";
}

}  // namespace
}  // namespace samscape

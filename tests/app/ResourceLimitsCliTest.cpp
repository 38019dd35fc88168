// What a user scripting samscape-cli really does: several trains started at once into one workspace,
// and sizes mistyped by orders of magnitude. Every run gets its own directory and record; a size the
// machine cannot hold is refused before any work with one line naming the flag, the value, the memory it
// would take and the machine's; a size that is only slow starts, says how long it will take, and stops
// on Ctrl-C keeping what finished.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using test::readText;

struct Outcome {
  int exitCode = -1;
  std::string err;
};

class ResourceLimitsCliTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string data = dir.file("mnist28");
  std::string workspace = dir.file("workspace");

  // 28 x 28 images, as Fashion-MNIST's: the mlp then has 234,372 parameters, so the sizes below ask
  // for hundreds of GiB or more, far above any machine this runs on.
  ResourceLimitsCliTest() {
    test::writeMnistDirectory(data, test::makeSyntheticImageSet(120, 1, 28, 28, 10, 31),
                              test::makeSyntheticImageSet(60, 1, 28, 28, 10, 32), true);
  }

  std::string cli(const std::string& arguments) const {
    return std::string(SAMSCAPE_CLI_PATH) + " " + arguments + " --workspace " + workspace;
  }
  std::string trainFlags() const {
    return "train --dataset mnist --data-dir " + data + " --model mlp --batch-size 20 --epochs 2 --threads 1";
  }

  Outcome run(const std::string& arguments, const std::string& name = "cli") const {
    const std::string err = dir.file(name + ".err");
    const int status = std::system((cli(arguments) + " >" + dir.file(name + ".out") + " 2>" + err + " </dev/null").c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(err)};
  }

  // Refused before any work: exit 2, one line naming the flag, the value and both memories.
  void expectRefused(const std::string& arguments, const std::string& flag, const std::string& value) {
    const auto start = std::chrono::steady_clock::now();
    const Outcome outcome = run(arguments);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(outcome.exitCode, 2) << arguments << "\n" << outcome.err;
    EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
    EXPECT_NE(outcome.err.find(flag + ": invalid value '" + value + "'"), std::string::npos) << outcome.err;
    EXPECT_NE(outcome.err.find("would need about"), std::string::npos) << outcome.err;
    EXPECT_NE(outcome.err.find("this machine has"), std::string::npos) << outcome.err;
    EXPECT_LT(seconds, 60.0) << "refused only after " << seconds << " s: " << arguments;
  }

  // Starts a command in the background, waits until its stderr holds `text`, interrupts it (Ctrl-C) and
  // returns its exit code and stderr.
  Outcome interruptAfter(const std::string& arguments, const std::string& text, const std::string& name) const {
    const std::string err = dir.file(name + ".err");
    const pid_t child = fork();
    if (child == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + cli(arguments) + " >/dev/null 2>" + err + " </dev/null").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline && readText(err).find(text) == std::string::npos) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) {
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(err)};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(child, SIGINT);
    int status = 0;
    waitpid(child, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(err)};
  }
};

TEST_F(ResourceLimitsCliTest, TrainsStartedTogetherEachGetTheirOwnDirectoryAndRecord) {
  // The sweep: same model, no --out, started in the same second.
  constexpr int kRuns = 4;
  std::vector<std::thread> threads;
  std::vector<Outcome> outcomes(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      outcomes[i] = run(trainFlags() + " --name c" + std::to_string(i) + " --seed " + std::to_string(i) +
                            " --analyze-every 1 --hessian-top 2 --subset 40",
                        "c" + std::to_string(i));
    });
  }
  for (auto& thread : threads) thread.join();
  for (int i = 0; i < kRuns; ++i) ASSERT_EQ(outcomes[i].exitCode, 0) << "run c" << i << ":\n" << outcomes[i].err;

  std::set<std::string> directories;
  for (const auto& entry : fs::directory_iterator(fs::path(workspace) / "runs")) {
    if (entry.is_directory()) directories.insert(entry.path().string());
  }
  ASSERT_EQ(directories.size(), static_cast<std::size_t>(kRuns));
  std::set<std::uint64_t> seeds;
  for (const std::string& directory : directories) {
    const auto run = nlohmann::json::parse(readText(directory + "/run.json"));
    EXPECT_EQ(run["status"], "finished") << directory;
    seeds.insert(run["seed"].get<std::uint64_t>());
    const std::string metrics = readText(directory + "/metrics.csv");
    EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3) << directory << "\n" << metrics;
    for (const char* epoch : {"/analysis/epoch-001/analysis.json", "/analysis/epoch-002/analysis.json"}) {
      EXPECT_TRUE(fs::exists(directory + epoch)) << directory << epoch;
    }
  }
  EXPECT_EQ(seeds.size(), static_cast<std::size_t>(kRuns)) << "a directory holds another run's files";

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((workspace + "/samscape.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::vector<std::string> rows;
  const auto collect = [](void* out, int columns, char** values, char**) {
    std::string row;
    for (int c = 0; c < columns; ++c) row += std::string(c ? "|" : "") + (values[c] ? values[c] : "NULL");
    static_cast<std::vector<std::string>*>(out)->push_back(row);
    return 0;
  };
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA integrity_check", collect, &rows, nullptr), SQLITE_OK);
  ASSERT_EQ(rows, std::vector<std::string>{"ok"});
  rows.clear();
  ASSERT_EQ(sqlite3_exec(db, "SELECT out_dir, status FROM runs ORDER BY id", collect, &rows, nullptr), SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kRuns));
  std::set<std::string> recorded;
  for (const std::string& row : rows) {
    EXPECT_EQ(row.substr(row.find('|') + 1), "finished") << row;
    recorded.insert(row.substr(0, row.find('|')));
  }
  EXPECT_EQ(recorded.size(), static_cast<std::size_t>(kRuns)) << "two records share a directory";
}

TEST_F(ResourceLimitsCliTest, TheSameOutGivenToTwoTrainsAtOnceIsRefusedForOne) {
  const std::string out = dir.file("shared-out");
  std::vector<Outcome> outcomes(2);
  std::thread first([&] { outcomes[0] = run(trainFlags() + " --out " + out, "a"); });
  std::thread second([&] { outcomes[1] = run(trainFlags() + " --out " + out, "b"); });
  first.join();
  second.join();
  const int succeeded = (outcomes[0].exitCode == 0) + (outcomes[1].exitCode == 0);
  ASSERT_EQ(succeeded, 1) << outcomes[0].err << "\n---\n" << outcomes[1].err;
  const Outcome& refused = outcomes[0].exitCode == 0 ? outcomes[1] : outcomes[0];
  EXPECT_EQ(refused.exitCode, 2) << refused.err;
  EXPECT_NE(refused.err.find("--out"), std::string::npos) << refused.err;
  const auto runJson = nlohmann::json::parse(readText(out + "/run.json"));
  EXPECT_EQ(runJson["status"], "finished");
}

TEST_F(ResourceLimitsCliTest, SizesTheMachineCannotHoldAreRefusedBeforeAnyWork) {
  const std::string model = dir.file("model-run");
  ASSERT_EQ(run(trainFlags() + " --epochs 1 --out " + model).exitCode, 0);
  const std::string analyze = "analyze --checkpoint " + model + " --subset 20 --threads 1 --out " + dir.file("a");
  expectRefused(analyze + " --slice --grid 100000", "--grid", "100000");
  expectRefused(analyze + " --interpolate " + model + " --interpolate-points 1000000000", "--interpolate-points",
                "1000000000");
  expectRefused(analyze + " --hessian-top 100000", "--hessian-top", "100000");
  expectRefused(analyze + " --hessian-bottom 100000", "--hessian-bottom", "100000");
  expectRefused(analyze + " --esd --esd-steps 100000000", "--esd-steps", "100000000");
  expectRefused(analyze + " --esd --esd-probes 2000000000", "--esd-probes", "2000000000");
  // Each analysis of a run is checked when the run starts, with the flags as `train` spells them.
  expectRefused(trainFlags() + " --analyze-every 1 --slice --grid 100000", "--grid", "100000");
  EXPECT_FALSE(fs::exists(fs::path(workspace) / "runs") && !fs::is_empty(fs::path(workspace) / "runs"))
      << "a refused run left a directory behind";
  const std::string newOut = dir.file("refused-out");
  expectRefused(trainFlags() + " --out " + newOut + " --analyze-every 1 --slice --grid 100000", "--grid", "100000");
  EXPECT_FALSE(fs::exists(newOut)) << "a refused run left the --out directory it created behind";
  expectRefused("launch --nproc 1000000 -- " + trainFlags(), "--nproc", "1000000");

  const Outcome threads = run(trainFlags() + " --threads 2147483647");
  EXPECT_EQ(threads.exitCode, 2) << threads.err;
  EXPECT_NE(threads.err.find("--threads: invalid value '2147483647': at most 1024"), std::string::npos) << threads.err;
}

TEST_F(ResourceLimitsCliTest, LongWorkSaysItsEstimateAtTheStartAndStopsOnCtrlC) {
  const std::string model = dir.file("model-run");
  ASSERT_EQ(run(trainFlags() + " --epochs 1 --out " + model).exitCode, 0);
  const std::string out = dir.file("trace");
  const Outcome trace = interruptAfter("analyze --checkpoint " + model + " --subset 20 --threads 1 --out " + out +
                                           " --trace --trace-probes 2000000000",
                                       "estimate:", "trace");
  EXPECT_NE(trace.err.find("estimate: --trace-probes 2000000000 will take about"), std::string::npos) << trace.err;
  EXPECT_EQ(trace.exitCode, 130) << trace.err;
  const auto analysis = nlohmann::json::parse(readText(out + "/analysis.json"));
  EXPECT_EQ(analysis["status"], "cancelled");
  EXPECT_TRUE(analysis.contains("loss")) << "the stage that finished is kept";

  const Outcome epochs = interruptAfter(trainFlags() + " --epochs 2147483647 --out " + dir.file("long-run"), "estimate:", "epochs");
  EXPECT_NE(epochs.err.find("estimate: --epochs 2147483647 will take about"), std::string::npos) << epochs.err;
  EXPECT_EQ(epochs.exitCode, 130) << epochs.err;
}

// Memory that runs out anyway (the size checks estimate; a process may also be limited below what the
// machine has) ends the run as failed, exit code 5, naming the stage, in run.json and in the store.
// The address space is limited to 3.5 GiB (`ulimit -v`; LibTorch's libraries alone map about 2.7
// GiB), and one step of the cnn on a batch of 60,000 images needs more than that by itself.
TEST_F(ResourceLimitsCliTest, MemoryRunningOutInAStepFailsTheRunNamingTheStage) {
  const std::string limit = "ulimit -v 3670016; ";
  const std::string tiny = dir.file("tiny-under-limit");
  const int tinyStatus = std::system((limit + cli(trainFlags() + " --epochs 1 --out " + tiny) + " >/dev/null 2>&1").c_str());
  if (!WIFEXITED(tinyStatus) || WEXITSTATUS(tinyStatus) != 0) {
    GTEST_SKIP() << "a tiny run does not start within 3.5 GiB of address space here";
  }
  const std::string big = dir.file("mnist-big");
  test::writeMnistDirectory(big, test::makeSyntheticImageSet(60000, 1, 28, 28, 10, 51),
                            test::makeSyntheticImageSet(100, 1, 28, 28, 10, 52), false);
  const std::string out = dir.file("oom-run");
  const std::string err = dir.file("oom.err");
  const int status = std::system((limit + cli("train --dataset mnist --data-dir " + big +
                                              " --model cnn --batch-size 60000 --epochs 1 --threads 1 --out " + out) +
                                  " >/dev/null 2>" + err)
                                     .c_str());
  const std::string message = readText(err);
  ASSERT_TRUE(WIFEXITED(status)) << message;
  EXPECT_EQ(WEXITSTATUS(status), 5) << message;
  EXPECT_NE(message.find("samscape-cli: error: out of memory in training (epoch 1, step 1)"), std::string::npos) << message;
  EXPECT_EQ(message.find("internal error"), std::string::npos) << message;
  const auto runJson = nlohmann::json::parse(readText(out + "/run.json"));
  EXPECT_EQ(runJson["status"], "failed");
  EXPECT_NE(runJson["message"].get<std::string>().find("out of memory in training"), std::string::npos);
}

}  // namespace
}  // namespace samscape

// Multi-process training as a user runs it: `samscape-cli launch --nproc 2 -- train ...` and ranks
// started by hand with torchrun's environment, on the CPU (Gloo) and loopback only, checked against
// one process holding as many replicas (`train --devices cpu,cpu`), whose equivalence to a single
// replica with m-sharpness other tests pin.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <torch/cuda.h>
#include <nlohmann/json.hpp>

#include "tests/support/FileHelpers.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using test::readText;
using Clock = std::chrono::steady_clock;

struct CliResult {
  int exitCode = -1;
  std::string err;
};

int freeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// metrics.csv as numbers per row, without the timing column.
std::vector<std::vector<double>> metricValues(const std::string& csv) {
  std::vector<std::vector<double>> rows;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::vector<double> row;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    row.pop_back();  // seconds
    rows.push_back(row);
  }
  return rows;
}

void expectSameMetrics(const std::string& actualCsv, const std::string& expectedCsv, double tolerance) {
  const auto actual = metricValues(actualCsv);
  const auto expected = metricValues(expectedCsv);
  ASSERT_EQ(actual.size(), expected.size()) << actualCsv << "\nvs\n" << expectedCsv;
  ASSERT_FALSE(actual.empty());
  for (std::size_t row = 0; row < actual.size(); ++row) {
    ASSERT_EQ(actual[row].size(), expected[row].size());
    for (std::size_t column = 0; column < actual[row].size(); ++column) {
      EXPECT_NEAR(actual[row][column], expected[row][column], tolerance)
          << "row " << row + 1 << ", column " << column + 1 << "\n" << actualCsv << "\nvs\n" << expectedCsv;
    }
  }
}

// The process ids whose parent is `parent` (from /proc/PID/stat's fourth field).
std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    if (fields >> state >> ppid && ppid == parent) children.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

// The local addresses (as /proc/net/tcp{,6} spells them, hex "ADDR:PORT") of the TCP sockets that
// `pid` holds and that are listening.
std::set<std::string> listeningAddresses(pid_t pid) {
  std::set<std::string> inodes;
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    const std::string target = std::filesystem::read_symlink(fd.path(), error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<std::string> addresses;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state == "0A" && inodes.count(inode) > 0) addresses.insert(local);  // 0A: LISTEN
    }
  }
  return addresses;
}

// A wildcard address: 0.0.0.0 or :: (all zeros before the port), on every interface.
bool isWildcard(const std::string& address) {
  const std::string host = address.substr(0, address.find(':'));
  return host.find_first_not_of('0') == std::string::npos;
}

class LaunchTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  test::TinyMnist data{dir.file("mnist")};

  std::string tinyRunFlags() const {
    return "train --dataset mnist --data-dir " + dir.file("mnist") + " --batch-size 15 --threads 1 --seed 3";
  }

  // Runs are recorded into a workspace of the test's own, never the user's.
  std::string workspaceVariable() const { return "SAMSCAPE_WORKSPACE=" + dir.file("workspace"); }

  // Runs samscape-cli with `environment` (e.g. "MASTER_PORT=1 ") in front; torchrun's variables of
  // the test's own environment are removed first.
  CliResult run(const std::string& arguments, const std::string& environment = "") const {
    const std::string err = dir.file("stderr.txt");
    const std::string command = "env -u MASTER_ADDR -u MASTER_PORT -u RANK -u WORLD_SIZE -u LOCAL_RANK " +
                                workspaceVariable() + " " + environment + " " + SAMSCAPE_CLI_PATH + " " + arguments + " >/dev/null 2>" + err +
                                " </dev/null";
    const int status = std::system(command.c_str());
    CliResult result;
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.err = readText(err);
    return result;
  }

  void expectUsageError(const std::string& arguments, const std::string& environment, const std::string& flag) {
    const CliResult result = run(arguments, environment);
    EXPECT_EQ(result.exitCode, 2) << arguments << "\n" << result.err;
    EXPECT_NE(result.err.find(flag), std::string::npos) << "stderr does not name " << flag << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }

  // Two ranks through `launch` against one process with two CPU replicas: the same global batches
  // cut into the same shards, so the same run up to the order of floating-point sums.
  void expectTwoRanksEqualTwoReplicas(const std::string& flags, const std::string& name = "") {
    const std::string ranks = dir.file("ranks" + name);
    const std::string replicas = dir.file("replicas" + name);
    const CliResult launched = run("launch --nproc 2 -- " + tinyRunFlags() + " " + flags + " --out " + ranks);
    ASSERT_EQ(launched.exitCode, 0) << launched.err;
    const CliResult single = run(tinyRunFlags() + " " + flags + " --devices cpu,cpu --out " + replicas);
    ASSERT_EQ(single.exitCode, 0) << single.err;
    expectSameMetrics(readText(ranks + "/metrics.csv"), readText(replicas + "/metrics.csv"), 1e-5);
    EXPECT_NE(readText(ranks + "/run.json").find("\"finished\""), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(ranks + "/model.pt"));
    EXPECT_TRUE(std::filesystem::exists(ranks + "/checkpoints/latest"));
  }
};

// The rendezvous (rank 0's TCPStore) and Gloo's pairs listen on --master-addr, loopback by default,
// never on every interface: sampled from /proc while `launch --nproc 2` trains.
TEST_F(LaunchTest, NoRankListensOnAWildcardAddress) {
  const pid_t launcher = fork();
  if (launcher == 0) {
    const std::string command = "exec env -u MASTER_ADDR -u MASTER_PORT -u RANK -u WORLD_SIZE -u LOCAL_RANK " +
                                workspaceVariable() + " " + SAMSCAPE_CLI_PATH + " launch --nproc 2 -- " +
                                tinyRunFlags() + " --model mlp --epochs 30 --out " + dir.file("listen") +
                                " >/dev/null 2>" + dir.file("listen.err") + " </dev/null";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::set<std::string> seen;
  int status = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (waitpid(launcher, &status, WNOHANG) == 0 && Clock::now() < deadline) {
    for (const pid_t rank : childrenOf(launcher)) {
      for (const std::string& address : listeningAddresses(rank)) seen.insert(address);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (Clock::now() >= deadline) {
    kill(launcher, SIGKILL);
    waitpid(launcher, &status, 0);
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << readText(dir.file("listen.err"));
  ASSERT_FALSE(seen.empty()) << "no listening socket of a rank was seen while the job ran";
  for (const std::string& address : seen) EXPECT_FALSE(isWildcard(address)) << "a rank listens on " << address;
}

TEST_F(LaunchTest, TwoRanksEqualOneProcessWithTwoReplicasForSgd) {
  expectTwoRanksEqualTwoReplicas("--model mlp --optimizer sgd --momentum 0.9 --epochs 3 --val-fraction 0.25");
}

TEST_F(LaunchTest, TwoRanksEqualOneProcessWithTwoReplicasForSam) {
  expectTwoRanksEqualTwoReplicas("--model mlp --optimizer sam --rho 0.1 --epochs 3");
}

// GSAM: with --gsam-decompose per-replica (the default, the authors' way) each rank decomposes its
// replica's gradients before the all-reduce; with averaged the clean gradient is all-reduced beside
// g_sam and decomposed after. Either way two ranks step as one process with two replicas, whose
// decompositions SamVariantsTest checks by hand; and the two places give different runs.
TEST_F(LaunchTest, TwoRanksEqualOneProcessWithTwoReplicasForGsamDecomposedEitherWay) {
  const std::string gsam = "--model mlp --optimizer gsam --rho 0.1 --gsam-alpha 0.5 --epochs 2";
  expectTwoRanksEqualTwoReplicas(gsam);
  expectTwoRanksEqualTwoReplicas(gsam + " --gsam-decompose averaged", "-averaged");
  const auto perReplica = metricValues(readText(dir.file("replicas") + "/metrics.csv"));
  const auto averaged = metricValues(readText(dir.file("replicas-averaged") + "/metrics.csv"));
  ASSERT_EQ(perReplica.size(), averaged.size());
  ASSERT_FALSE(perReplica.empty());
  EXPECT_GT(std::abs(perReplica.back()[1] - averaged.back()[1]), 1e-4) << "the training loss of the last epoch";
}

// Batch norm: each rank's statistics enter the average weighted by its shard, as replicas' do.
TEST_F(LaunchTest, TwoRanksEqualOneProcessWithTwoReplicasForSamWithBatchNorm) {
  expectTwoRanksEqualTwoReplicas("--model resnet20 --optimizer sam --m 4 --epochs 1 --train-subset 60 --no-augment");
}

// NCCL: one GPU per rank (--device cuda means cuda:LOCAL_RANK) against two GPUs in one process.
TEST_F(LaunchTest, TwoCudaRanksOverNcclEqualOneProcessWithTwoCudaReplicas) {
  if (!torch::cuda::is_available() || torch::cuda::device_count() < 2) {
    GTEST_SKIP() << "needs two CUDA devices and a LibTorch with NCCL";
  }
  const std::string flags = "--model cnn --optimizer sam --epochs 2";
  const std::string ranks = dir.file("cuda-ranks");
  const std::string replicas = dir.file("cuda-replicas");
  const CliResult launched = run("launch --nproc 2 -- " + tinyRunFlags() + " " + flags + " --device cuda --out " + ranks);
  ASSERT_EQ(launched.exitCode, 0) << launched.err;
  const CliResult single = run(tinyRunFlags() + " " + flags + " --devices cuda:0,cuda:1 --out " + replicas);
  ASSERT_EQ(single.exitCode, 0) << single.err;
  expectSameMetrics(readText(ranks + "/metrics.csv"), readText(replicas + "/metrics.csv"), 1e-4);
}

TEST_F(LaunchTest, BadRankLayoutsNameTheFlagWithExitCode2) {
  expectUsageError(tinyRunFlags() + " --world-size 0", "", "--world-size");
  expectUsageError(tinyRunFlags() + " --world-size 2 --rank 2 --master-port 29999", "", "--rank");
  expectUsageError(tinyRunFlags() + " --world-size 2 --rank 0", "", "--master-port");
  expectUsageError(tinyRunFlags(), "RANK=1 WORLD_SIZE=2", "--master-port");
  expectUsageError(tinyRunFlags(), "WORLD_SIZE=two", "WORLD_SIZE");
  expectUsageError(tinyRunFlags() + " --world-size 2 --master-port 29999 --batch-size 3 --devices cpu,cpu", "",
                   "--batch-size");
  expectUsageError("launch --nproc 0 -- " + tinyRunFlags(), "", "--nproc");
  expectUsageError("launch --nproc 2 -- runs list", "", "launch");
}

// A rank that fails makes `launch` stop the others and return its exit code.
TEST_F(LaunchTest, LaunchReturnsTheFailingRanksExitCode) {
  const CliResult result = run("launch --nproc 2 -- " + tinyRunFlags() + " --lr -1");
  EXPECT_EQ(result.exitCode, 2) << result.err;
  EXPECT_NE(result.err.find("--lr"), std::string::npos) << result.err;
}

pid_t startRank(const std::string& arguments, int rank, int port, const std::string& errFile,
                const std::string& workspace) {
  const pid_t child = fork();
  if (child == 0) {
    const std::string command = "exec env SAMSCAPE_WORKSPACE=" + workspace + " RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
                                " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " +
                                SAMSCAPE_CLI_PATH + " " + arguments + " >/dev/null 2>" + errFile + " </dev/null";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return child;
}

// Waits for `child` up to `limit`; -1 when it is still running then (and then kills it).
int waitWithin(pid_t child, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(child, &status, WNOHANG) == child) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  return -1;
}

// kill -9 of one rank mid-run: the other stops with a clear error well within --dist-timeout (its
// peer's connection closes), the run directory keeps its last checkpoint, and the job resumed from
// it ends as a job that was never interrupted.
TEST_F(LaunchTest, AKilledRankStopsTheOtherWithAnErrorAndTheRunResumes) {
  const std::string flags = tinyRunFlags() + " --model mlp --optimizer sam --epochs 40 --dist-timeout 20";
  const std::string killed = dir.file("killed");
  const int port = freeLoopbackPort();
  const pid_t rank0 = startRank(flags + " --out " + killed, 0, port, dir.file("rank0.txt"), dir.file("workspace"));
  const pid_t rank1 = startRank(flags + " --out " + killed, 1, port, dir.file("rank1.txt"), dir.file("workspace"));
  const std::string latest = killed + "/checkpoints/latest";
  const auto giveUp = Clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(latest) && Clock::now() < giveUp) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(std::filesystem::exists(latest)) << readText(dir.file("rank0.txt")) << readText(dir.file("rank1.txt"));
  kill(rank1, SIGKILL);
  const auto killedAt = Clock::now();
  int status = 0;
  waitpid(rank1, &status, 0);
  const int rank0Exit = waitWithin(rank0, std::chrono::seconds(40));
  const double seconds = std::chrono::duration<double>(Clock::now() - killedAt).count();
  const std::string rank0Err = readText(dir.file("rank0.txt"));
  ASSERT_NE(rank0Exit, -1) << "rank 0 still ran 40 s after its peer died\n" << rank0Err;
  ASSERT_NE(rank0Exit, 0) << "rank 0 finished although its peer was killed early: make the run longer\n" << rank0Err;
  EXPECT_EQ(rank0Exit, 4) << rank0Err;
  EXPECT_LT(seconds, 25.0) << "the error must come within --dist-timeout";
  EXPECT_NE(rank0Err.find("rank 0 of 2"), std::string::npos) << rank0Err;
  EXPECT_NE(rank0Err.find("another rank died"), std::string::npos) << rank0Err;
  EXPECT_NE(rank0Err.find("samscape-cli: error: rank 0 of 2"), std::string::npos) << rank0Err;

  const CliResult resumed = run("launch --nproc 2 -- train --resume " + killed);
  ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
  const std::string straight = dir.file("straight");
  const CliResult uninterrupted = run(flags + " --devices cpu,cpu --out " + straight);
  ASSERT_EQ(uninterrupted.exitCode, 0) << uninterrupted.err;
  expectSameMetrics(readText(killed + "/metrics.csv"), readText(straight + "/metrics.csv"), 1e-5);
}

// Analysis distributes too: each rank takes its share of the Hessian's passes (their sums are
// all-reduced) and of the slice's points, and the results equal one process's.
TEST_F(LaunchTest, TwoRanksAnalyzeAsOneProcess) {
  const std::string runDir = dir.file("run");
  const CliResult trained = run(tinyRunFlags() + " --model mlp --epochs 1 --out " + runDir);
  ASSERT_EQ(trained.exitCode, 0) << trained.err;
  const std::string flags = " --split train --subset 0 --hessian-top 2 --trace --trace-probes 3 --slice --grid 5 "
                            "--m-sharpness --m 20 --batch-size 16 --threads 1";
  const CliResult single = run("analyze --checkpoint " + runDir + flags + " --out " + dir.file("single"));
  ASSERT_EQ(single.exitCode, 0) << single.err;
  const CliResult launched = run("launch --nproc 2 -- analyze --checkpoint " + runDir + flags + " --out " + dir.file("multi"));
  ASSERT_EQ(launched.exitCode, 0) << launched.err;

  const auto one = nlohmann::json::parse(readText(dir.file("single") + "/analysis.json"));
  const auto two = nlohmann::json::parse(readText(dir.file("multi") + "/analysis.json"));
  const auto expected = one["hessian"]["eigenvalues"].get<std::vector<double>>();
  const auto actual = two["hessian"]["eigenvalues"].get<std::vector<double>>();
  ASSERT_EQ(actual.size(), 2u);
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-9 * std::abs(expected[i]));
  // The trace's products are float32 (--hessian-precision auto): two ranks sum the chunks in another
  // order, which float32 rounds differently (about 1e-8 relative).
  const double trace = one["trace"]["mean"].get<double>();
  EXPECT_NEAR(two["trace"]["mean"].get<double>(), trace, 1e-6 * std::abs(trace) + 1e-12);
  const double sharpness = one["m_sharpness"].get<double>();
  EXPECT_NEAR(two["m_sharpness"].get<double>(), sharpness, 1e-6 * std::abs(sharpness) + 1e-9);
  // The slice's points were split between the ranks, each evaluated by one: the same numbers.
  EXPECT_EQ(readText(dir.file("multi") + "/slice.csv"), readText(dir.file("single") + "/slice.csv"));
  EXPECT_TRUE(two["slice"]["complete"].get<bool>());
}

}  // namespace
}  // namespace samscape

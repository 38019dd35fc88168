// Crash safety: a writer process killed with SIGKILL at random moments (while opening and migrating
// a new workspace, or in the middle of recording epochs) leaves a database that passes
// integrity_check, holds the epochs it reported committed (and at most the one in flight besides),
// with no gap, and shows the run as "interrupted"; the run then resumes to the end.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "core/store/RunStore.h"
#include "tests/core/store/StoreTestSupport.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

struct KilledWriter {
  std::int64_t runId = 0;  // 0: it died before printing its run id
  int lastCommitted = 0;   // the last "committed N" it printed
};

// Starts the child on `workspace`, lets it print `linesBeforeKill` lines plus `extraMicroseconds`,
// kills it, and reads what it managed to print.
KilledWriter runAndKill(const fs::path& workspace, const fs::path& outDir, int linesBeforeKill,
                        int extraMicroseconds) {
  test::ChildProcess child(
      {SAMSCAPE_STORE_WRITER_CHILD, workspace.string(), outDir.string(), "100000", "--payload", "3000"});
  KilledWriter result;
  const auto take = [&](const std::string& line) {
    if (line.rfind("run ", 0) == 0) result.runId = std::stoll(line.substr(4));
    if (line.rfind("committed ", 0) == 0) result.lastCommitted = std::stoi(line.substr(10));
  };
  for (int i = 0; i < linesBeforeKill; ++i) take(child.readLine());
  std::this_thread::sleep_for(std::chrono::microseconds(extraMicroseconds));
  child.kill();
  EXPECT_EQ(child.wait(), 128 + SIGKILL);
  // Lines written before the kill are still in the pipe: they too were committed.
  for (std::string line = child.readLine(); !line.empty(); line = child.readLine()) take(line);
  return result;
}

void expectSoundAfterKill(const fs::path& workspace, const fs::path& outDir, const KilledWriter& killed,
                          const std::string& moment) {
  SCOPED_TRACE(moment);
  RunStore store{Workspace(workspace)};
  EXPECT_EQ(store.integrityCheck(), "ok");
  const auto run = store.findRunByOutDir(outDir.string());
  if (!run) {
    EXPECT_EQ(killed.lastCommitted, 0) << "epochs were reported committed but the run is missing";
    return;
  }
  EXPECT_EQ(run->status, RunStatus::Interrupted);
  const auto epochs = store.metrics(run->id);
  const int kept = static_cast<int>(epochs.size());
  for (int i = 0; i < kept; ++i) EXPECT_EQ(epochs[static_cast<std::size_t>(i)].epoch, i + 1) << "a gap";
  EXPECT_GE(kept, killed.lastCommitted) << "a committed epoch was lost";
  EXPECT_LE(kept, killed.lastCommitted + 1) << "more than the epoch in flight appeared";
  if (kept > 0) {
    EXPECT_EQ(epochs.back().trainLoss, 1.0 / kept);
  }
}

TEST(CrashSafetyTest, AWriterKilledAtRandomMomentsLeavesASoundDatabase) {
  test::TempDir dir;
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);

  // While a fresh workspace is created and migrated (the child is killed within its first moments).
  for (int round = 0; round < 4; ++round) {
    const fs::path workspace = dir.path() / ("fresh-" + std::to_string(round));
    const fs::path outDir = workspace / "runs" / "r";
    const int microseconds = std::uniform_int_distribution<int>(0, 20'000)(random);
    const KilledWriter killed = runAndKill(workspace, outDir, 0, microseconds);
    if (fs::exists(workspace / "samscape.db")) {
      expectSoundAfterKill(workspace, outDir, killed,
                           "fresh workspace, killed after " + std::to_string(microseconds) + " us");
    }
  }

  // In the middle of recording: several runs into one workspace, each killed after a random number
  // of epochs and a random fraction of the next one.
  const fs::path workspace = dir.path() / "shared";
  fs::path lastOutDir;
  KilledWriter lastKilled;
  for (int round = 0; round < 6; ++round) {
    lastOutDir = workspace / "runs" / ("r" + std::to_string(round));
    const int lines = std::uniform_int_distribution<int>(2, 25)(random);  // "run N" then epochs
    const int microseconds = std::uniform_int_distribution<int>(0, 3'000)(random);
    lastKilled = runAndKill(workspace, lastOutDir, lines, microseconds);
    EXPECT_GT(lastKilled.runId, 0);
    expectSoundAfterKill(workspace, lastOutDir, lastKilled,
                         "round " + std::to_string(round) + ": " + std::to_string(lines) + " lines + " +
                             std::to_string(microseconds) + " us");
  }

  // The last killed run resumes from where its rows end and finishes, without duplicates.
  const int target = lastKilled.lastCommitted + 4;
  test::ChildProcess resumed({SAMSCAPE_STORE_WRITER_CHILD, workspace.string(), lastOutDir.string(),
                              std::to_string(target), "--resume"});
  while (!resumed.readLine().empty()) {
  }
  ASSERT_EQ(resumed.wait(), 0);
  RunStore store{Workspace(workspace)};
  const RunRecord run = store.run(lastKilled.runId);
  EXPECT_EQ(run.status, RunStatus::Finished);
  const auto epochs = store.metrics(run.id);
  ASSERT_EQ(static_cast<int>(epochs.size()), target);
  for (int e = 1; e <= target; ++e) EXPECT_EQ(epochs[static_cast<std::size_t>(e - 1)].epoch, e);
  EXPECT_EQ(store.listRuns().size(), 6u);
  EXPECT_EQ(store.integrityCheck(), "ok");
}

}  // namespace
}  // namespace samscape

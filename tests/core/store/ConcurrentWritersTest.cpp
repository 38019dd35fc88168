// Several writers recording into one workspace at once, from the first open (which creates and
// migrates the database) to the end: none fails with "database is locked", no row is lost, and none
// sees the others' live runs as interrupted.
#include <gtest/gtest.h>

#include <thread>

#include "core/store/RunStore.h"
#include "core/store/StoreRecorder.h"
#include "tests/core/store/StoreTestSupport.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

constexpr int kEpochs = 60;

TEST(ConcurrentWritersTest, ThreeProcessesWriteEveryEpochIntoOneWorkspace) {
  test::TempDir dir;
  const fs::path workspace = dir.path() / "workspace";
  std::vector<std::unique_ptr<test::ChildProcess>> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(std::make_unique<test::ChildProcess>(
        std::vector<std::string>{SAMSCAPE_STORE_WRITER_CHILD, workspace.string(),
                                 (workspace / "runs" / ("w" + std::to_string(i))).string(),
                                 std::to_string(kEpochs), "--payload", "500", "--name",
                                 "writer-" + std::to_string(i)},
        dir.file("stderr-" + std::to_string(i))));
  }
  for (int i = 0; i < 3; ++i) {
    while (!children[static_cast<std::size_t>(i)]->readLine().empty()) {
    }
    EXPECT_EQ(children[static_cast<std::size_t>(i)]->wait(), 0)
        << test::readText(dir.file("stderr-" + std::to_string(i)));
    EXPECT_EQ(test::readText(dir.file("stderr-" + std::to_string(i))), "");
  }

  RunStore store{Workspace(workspace)};
  EXPECT_EQ(store.integrityCheck(), "ok");
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 3u);
  for (const RunRecord& run : runs) {
    EXPECT_EQ(run.status, RunStatus::Finished) << run.name << ": " << run.message;
    const auto epochs = store.metrics(run.id);
    ASSERT_EQ(static_cast<int>(epochs.size()), kEpochs) << run.name;
    for (int e = 1; e <= kEpochs; ++e) EXPECT_EQ(epochs[static_cast<std::size_t>(e - 1)].trainLoss, 1.0 / e);
    EXPECT_EQ(static_cast<int>(store.analyses(run.id).size()), kEpochs) << run.name;
  }
}

TEST(ConcurrentWritersTest, FourThreadsWithTheirOwnConnectionsLoseNoRow) {
  test::TempDir dir;
  const Workspace workspace(dir.path() / "workspace");
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        RunStore store(workspace);
        RunRecord run;
        run.name = "thread-" + std::to_string(t);
        run.outDir = (workspace.runsDirectory() / run.name).string();
        StoreRecorder recorder(store, run);
        recorder.onBegin({});
        for (int e = 1; e <= kEpochs; ++e) {
          recorder.onEpochEnd(test::knownMetrics(t, e));
          store.addTags(recorder.runId(), {"tag-" + std::to_string(e % 5)});
        }
        recorder.onEnd({});
      } catch (const std::exception& error) {
        errors[static_cast<std::size_t>(t)] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) EXPECT_EQ(error, "");

  RunStore store(workspace);
  const auto runs = store.listRuns();
  ASSERT_EQ(runs.size(), 4u);
  for (const RunRecord& run : runs) {
    EXPECT_EQ(run.status, RunStatus::Finished);
    EXPECT_EQ(run.tags.size(), 5u);
    const int t = std::stoi(run.name.substr(7));
    const auto epochs = store.metrics(run.id);
    ASSERT_EQ(static_cast<int>(epochs.size()), kEpochs);
    for (int e = 1; e <= kEpochs; ++e) {
      EXPECT_EQ(epochs[static_cast<std::size_t>(e - 1)].testLoss, test::knownMetrics(t, e).testLoss);
    }
  }
}

}  // namespace
}  // namespace samscape

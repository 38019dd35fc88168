// StoreRecorder records a run as the trainer reports it; a run whose process is gone shows as
// "interrupted", one whose process lives does not; a resumed run continues the same row.
#include "core/store/StoreRecorder.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "core/Error.h"
#include "tests/core/store/StoreTestSupport.h"

namespace samscape {
namespace {

using test::knownMetrics;

class StoreRecorderTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  Workspace workspace{dir.path() / "workspace"};

  RunRecord newRun() const {
    RunRecord run;
    run.name = "sam-cnn";
    run.outDir = (workspace.runsDirectory() / "sam-cnn").string();
    run.configJson = R"({"epochs":3})";
    return run;
  }
};

TEST_F(StoreRecorderTest, RecordsARunFromBeginToEnd) {
  RunStore store(workspace);
  StoreRecorder recorder(store, newRun());
  EXPECT_FALSE(recorder.attachedToExistingRun());
  EXPECT_EQ(store.run(recorder.runId()).status, RunStatus::Running);
  TrainingBegin begin;
  begin.device = "cuda:0";
  begin.modelDescription = "cnn";
  begin.parameterCount = 1234;
  recorder.onBegin(begin);
  for (int e = 1; e <= 3; ++e) EXPECT_FALSE(recorder.onEpochEnd(knownMetrics(0, e)));
  TrainingResult result;
  result.status = RunStatus::Diverged;
  result.message = "NaN loss at epoch 3";
  result.seconds = 4.5;
  recorder.onEnd(result);

  const RunRecord run = store.run(recorder.runId());
  EXPECT_EQ(run.status, RunStatus::Diverged);
  EXPECT_EQ(run.message, "NaN loss at epoch 3");
  EXPECT_DOUBLE_EQ(run.seconds, 4.5);
  EXPECT_EQ(run.device, "cuda:0");
  EXPECT_NE(run.detailsJson.find("\"parameters\":1234"), std::string::npos) << run.detailsJson;
  EXPECT_EQ(store.metrics(run.id).size(), 3u);
}

TEST_F(StoreRecorderTest, ARunWithALiveRecorderStaysRunningAndOneWithoutBecomesInterrupted) {
  std::int64_t id = 0;
  {
    RunStore store(workspace);
    auto recorder = std::make_unique<StoreRecorder>(store, newRun());
    id = recorder->runId();
    // Another connection opening the workspace meanwhile (another process would do the same).
    RunStore other(workspace);
    EXPECT_EQ(other.run(id).status, RunStatus::Running);
    EXPECT_EQ(other.markInterruptedRuns(), 0);
    // The recorder goes away without a final status, as when its process is killed (the lock is
    // released either way).
    recorder.reset();
    EXPECT_EQ(other.markInterruptedRuns(), 1);
  }
  RunStore store(workspace);
  const RunRecord run = store.run(id);
  EXPECT_EQ(run.status, RunStatus::Interrupted);
  EXPECT_NE(run.message.find("resume"), std::string::npos) << run.message;
}

TEST_F(StoreRecorderTest, AResumedRunAttachesToItsRowAndGoesBackToRunning) {
  RunStore store(workspace);
  std::int64_t id = 0;
  {
    StoreRecorder first(store, newRun());
    id = first.runId();
    first.onBegin({});
    first.onEpochEnd(knownMetrics(0, 1));
  }
  store.markInterruptedRuns();
  ASSERT_EQ(store.run(id).status, RunStatus::Interrupted);

  RunRecord again = newRun();
  again.configJson = R"({"epochs":5})";  // a flag given with --resume overrides the config
  StoreRecorder resumed(store, again, /*resuming=*/true);
  EXPECT_TRUE(resumed.attachedToExistingRun());
  EXPECT_EQ(resumed.runId(), id);
  EXPECT_EQ(store.run(id).status, RunStatus::Running);
  EXPECT_EQ(store.run(id).configJson, R"({"epochs":5})");
  // The checkpoint held epochs 1 and 2, but the crash lost epoch 2's row: onBegin restores it.
  TrainingBegin begin;
  begin.resumedEpochs = {knownMetrics(0, 1), knownMetrics(0, 2)};
  resumed.onBegin(begin);
  resumed.onEpochEnd(knownMetrics(0, 3));
  resumed.onEnd({});
  const auto epochs = store.metrics(id);
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[1].trainLoss, knownMetrics(0, 2).trainLoss);
  EXPECT_EQ(store.run(id).status, RunStatus::Finished);
  EXPECT_EQ(store.listRuns().size(), 1u);
}

TEST_F(StoreRecorderTest, AttachingToARunAnotherRecorderHoldsIsRefused) {
  RunStore store(workspace);
  StoreRecorder first(store, newRun());
  EXPECT_THROW(StoreRecorder(store, newRun(), true), Error);
  // Not resuming: a new run, even with the same directory name.
  StoreRecorder second(store, newRun(), false);
  EXPECT_NE(second.runId(), first.runId());
}

TEST_F(StoreRecorderTest, ARunEndedByAnErrorIsFailedWithItsMessage) {
  RunStore store(workspace);
  std::int64_t explicitId = 0;
  {
    StoreRecorder recorder(store, newRun());
    explicitId = recorder.runId();
    recorder.markFailed("data: train-images-idx3-ubyte: truncated");
  }
  EXPECT_EQ(store.run(explicitId).status, RunStatus::Failed);
  EXPECT_EQ(store.run(explicitId).message, "data: train-images-idx3-ubyte: truncated");

  std::int64_t unwoundId = 0;
  try {
    StoreRecorder recorder(store, newRun());
    unwoundId = recorder.runId();
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(store.run(unwoundId).status, RunStatus::Failed);
}

}  // namespace
}  // namespace samscape

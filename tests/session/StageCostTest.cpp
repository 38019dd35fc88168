// What each analysis stage cost (analysis/StageCost.h): the memory meter against a known allocation,
// and the costs an analysis writes against the products its stages count themselves, read back and
// recorded in the store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <vector>

#include "analysis/AnalysisSession.h"
#include "analysis/StageCost.h"
#include "session/AnalysisRecords.h"
#include "tests/support/AnalysisFixture.h"
#include "tests/support/FileHelpers.h"

namespace samscape {
namespace {

TEST(StageCost, ThePeakMemoryCountsWhatTheStageTouched) {
  const StageCostMeter meter("probe", 0);
  {
    std::vector<char> block(256u << 20);
    std::memset(block.data(), 1, block.size());  // resident only once written
    ASSERT_EQ(block[block.size() / 2], 1);
  }
  const StageCost cost = meter.finish(7);
  EXPECT_EQ(cost.hessianVectorProducts, 7);
  ASSERT_TRUE(cost.peakAddedBytes().has_value()) << "/proc/self/status is there on Linux";
  EXPECT_GE(*cost.peakAddedBytes(), 250.0 * (1 << 20));
  EXPECT_LT(*cost.peakAddedBytes(), 400.0 * (1 << 20));

  // A later meter starts from the current resident memory, not the earlier peak.
  const StageCost quiet = StageCostMeter("quiet", 0).finish(0);
  ASSERT_TRUE(quiet.peakAddedBytes().has_value());
  EXPECT_LT(*quiet.peakAddedBytes(), 64.0 * (1 << 20));
  // And the JSON form reads back.
  const StageCost back = StageCost::fromJson(cost.toJson(), "analysis.json");
  EXPECT_EQ(back.stage, "probe");
  EXPECT_EQ(back.peakResidentBytes, cost.peakResidentBytes);
  EXPECT_NE(stageCostLine(cost).find("7 Hessian-vector products"), std::string::npos) << stageCostLine(cost);
}

TEST(StageCost, EachStageOfAnAnalysisRecordsItsTimeProductsAndMemory) {
  test::TinyAnalysisFixture fixture;
  AnalysisRequest request;
  request.hessianTop = 2;
  request.trace = true;
  request.traceProbes = 5;
  request.subset = 0;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("costs");
  const AnalysisResults results = session.analyze("", "", out);

  std::vector<std::string> stages;
  for (const StageCost& cost : results.costs) stages.push_back(cost.stage);
  EXPECT_EQ(stages, (std::vector<std::string>{"loss", "hessian", "stability_edge", "trace"}));
  const auto json = nlohmann::json::parse(test::readText(out + "/analysis.json"));
  ASSERT_EQ(json["costs"].size(), 4u);
  // The stages' own counts: Lanczos' products, the float64 check of its eigenpairs included; Hutchinson's.
  const auto productsOf = [&](const std::string& stage) {
    for (const StageCost& cost : results.costs) {
      if (cost.stage == stage) return cost.hessianVectorProducts;
    }
    return std::int64_t{-1};
  };
  EXPECT_EQ(productsOf("loss"), 0);
  EXPECT_EQ(productsOf("stability_edge"), 0);
  EXPECT_EQ(productsOf("hessian"), json["hessian"]["hvp_count"].get<std::int64_t>());
  EXPECT_GT(json["hessian"]["precision"]["float64_products"].get<std::int64_t>(), 0) << "the check's are counted too";
  EXPECT_EQ(productsOf("trace"), json["trace"]["hvp_count"].get<std::int64_t>());
  for (const StageCost& cost : results.costs) {
    EXPECT_GE(cost.seconds, 0.0) << cost.stage;
    ASSERT_TRUE(cost.peakResidentBytes && cost.residentBytesBefore) << cost.stage;
    EXPECT_GE(*cost.peakResidentBytes, *cost.residentBytesBefore) << cost.stage;
  }

  // Read back as written, and one "cost" record in the store.
  const AnalysisResults back = readAnalysisDirectory(out);
  ASSERT_EQ(back.costs.size(), results.costs.size());
  EXPECT_EQ(back.costs[1].hessianVectorProducts, results.costs[1].hessianVectorProducts);
  int costRecords = 0;
  for (const AnalysisRecord& record : analysisRecords(1, 3, results)) costRecords += record.kind == "cost";
  EXPECT_EQ(costRecords, 1);
}

}  // namespace
}  // namespace samscape

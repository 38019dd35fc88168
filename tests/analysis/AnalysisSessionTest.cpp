// The analysis job (analysis/AnalysisSession.h): cancellation inside the Hessian products, what a failed
// stage leaves behind, and a session that keeps its slice directions across analyses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analysis/AnalysisDirectory.h"
#include "analysis/AnalysisSession.h"
#include "core/Error.h"
#include "tests/support/AnalysisFixture.h"

namespace samscape {
namespace {

using test::kMnistClasses;
using test::TinyTanhNet;
using Fixture = test::TinyAnalysisFixture;

// Sets the cancel flag when a stage begins.
class CancelAtStage : public AnalysisObserver {
 public:
  CancelAtStage(std::string stage, std::atomic<bool>& cancel) : stage_(std::move(stage)), cancel_(cancel) {}
  void onStageBegin(const std::string& stage) override {
    if (stage == stage_) cancel_.store(true);
  }

 private:
  std::string stage_;
  std::atomic<bool>& cancel_;
};

TEST(AnalysisSession, CancellingInsideTheHessianKeepsTheFinishedStagesOnly) {
  Fixture fixture;
  AnalysisRequest request;
  request.hessianTop = 2;
  request.trace = true;
  request.slice = true;
  request.grid = 3;
  AnalysisSession session(fixture.model, request);
  std::atomic<bool> cancel{false};
  CancelAtStage observer("hessian", cancel);
  const std::string out = fixture.dir.file("out");
  const AnalysisResults outcome = session.analyze("", "", out, &observer, &cancel);

  EXPECT_TRUE(outcome.cancelled());
  const auto analysis = fixture.analysisJson(out);
  EXPECT_EQ(analysis["status"], "cancelled");
  EXPECT_TRUE(analysis.contains("loss"));
  EXPECT_FALSE(analysis.contains("hessian")) << "Lanczos stopped at its first product";
  EXPECT_FALSE(analysis.contains("trace"));
  EXPECT_FALSE(analysis.contains("slice"));
  EXPECT_FALSE(std::filesystem::exists(out + "/slice.csv"));

  // The network was given back intact: the same session, uncancelled, gives the same loss and
  // a converged spectrum.
  std::atomic<bool> keepGoing{false};
  const AnalysisResults again = session.analyze("", "", fixture.dir.file("again"), nullptr, &keepGoing);
  EXPECT_FALSE(again.cancelled());
  EXPECT_EQ(again.metric("analysis_loss"), outcome.metric("analysis_loss"));
  EXPECT_EQ(again.eigenvalues.size(), 2u);
  EXPECT_EQ(fixture.analysisJson(fixture.dir.file("again"))["status"], "complete");
}

// Fails the run when a stage begins, as a full disk or a lost device would.
class FailAtStage : public AnalysisObserver {
 public:
  explicit FailAtStage(std::string stage) : stage_(std::move(stage)) {}
  void onStageBegin(const std::string& stage) override {
    if (stage == stage_) throw std::runtime_error("no space left on device");
  }

 private:
  std::string stage_;
};

TEST(AnalysisSession, AFailingStageLeavesTheFinishedOnesMarkedFailed) {
  Fixture fixture;
  AnalysisRequest request;
  request.mSharpness = true;
  request.m = 10;
  request.slice = true;
  request.grid = 3;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("out");
  FailAtStage observer("slice");
  EXPECT_THROW(session.analyze("", "", out, &observer), std::runtime_error);
  const auto analysis = fixture.analysisJson(out);
  EXPECT_EQ(analysis["status"], "failed");
  EXPECT_TRUE(analysis.contains("loss"));
  EXPECT_TRUE(analysis.contains("m_sharpness"));
  EXPECT_FALSE(analysis.contains("slice"));
}

// --interpolate's other model is found and loaded with the session: a wrong path or another
// architecture is refused before any analysis runs (and before any file is written).
TEST(AnalysisSession, AnInterpolationTargetIsCheckedBeforeAnyAnalysis) {
  Fixture fixture;
  AnalysisRequest request;
  request.mSharpness = true;
  request.interpolate = fixture.dir.file("no-such-run");
  try {
    AnalysisSession session(fixture.model, request);
    FAIL() << "an --interpolate target that does not exist must be refused";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--interpolate");
    EXPECT_NE(std::string(error.what()).find("no-such-run"), std::string::npos) << error.what();
  }

  request.interpolate = TinyTanhNet::write(fixture.dir.file("four-classes.pt"), 12, TinyTanhNet::kClasses);
  ASSERT_NE(TinyTanhNet::kClasses, kMnistClasses);
  EXPECT_THROW(AnalysisSession(fixture.model, request), ModelError);

  request.interpolate = TinyTanhNet::write(fixture.dir.file("other.pt"), 12, kMnistClasses);
  AnalysisSession session(fixture.model, request);
  session.analyze("", "", fixture.dir.file("out"));
  const auto analysis = fixture.analysisJson(fixture.dir.file("out"));
  EXPECT_EQ(analysis["status"], "complete");
  EXPECT_EQ(analysis["interpolation"]["to"], request.interpolate);
}

// train --analyze-every's warm start: the later analyses start from the previous eigenvectors (the same
// weights again: a start at the answer; other weights: an unrelated start), each agreeing with a cold
// session's eigenvalues to the tolerance, every eigenvalue with its float64 residual in analysis.json,
// in memory and read back alike.
TEST(AnalysisSession, WarmStartedAnalysesAgreeWithColdOnesAndRecordTheirResiduals) {
  Fixture fixture;
  const std::string otherWeights = TinyTanhNet::write(fixture.dir.file("other.pt"), 12, kMnistClasses);
  AnalysisRequest request;
  request.hessianTop = 3;
  AnalysisSession warm(fixture.model, request);
  warm.warmStartLanczos(true);
  AnalysisSession cold(fixture.model, request);
  const std::vector<std::pair<std::string, std::string>> analyses{{"", "a"}, {"", "b"}, {otherWeights, "c"}};
  for (std::size_t i = 0; i < analyses.size(); ++i) {
    const auto& [weights, name] = analyses[i];
    const AnalysisResults warmResults = warm.analyze(weights, weights.empty() ? "" : "other", fixture.dir.file(name));
    const AnalysisResults coldResults =
        cold.analyze(weights, weights.empty() ? "" : "other", fixture.dir.file(name + "-cold"));
    const auto hessian = fixture.analysisJson(fixture.dir.file(name))["hessian"];
    EXPECT_EQ(hessian["warm_start"], i > 0) << name;
    ASSERT_TRUE(hessian["converged"].get<bool>()) << hessian["status"];
    ASSERT_EQ(warmResults.eigenvalues.size(), 3U) << name;
    ASSERT_EQ(coldResults.eigenvalues.size(), 3U) << name;
    ASSERT_EQ(warmResults.eigenvalueResiduals.size(), 3U) << name;
    for (std::size_t j = 0; j < 3; ++j) {
      const double lambda = coldResults.eigenvalues[j];
      EXPECT_NEAR(warmResults.eigenvalues[j], lambda, request.tolerance * std::abs(lambda)) << name << " " << j;
      // The check passed: each residual within the tolerance relative to its eigenvalue.
      EXPECT_LE(warmResults.eigenvalueResiduals[j], request.tolerance * std::abs(warmResults.eigenvalues[j])) << name;
      EXPECT_GT(warmResults.eigenvalueResiduals[j], 0.0) << name;
      EXPECT_EQ(hessian["residuals"][j].get<double>(), warmResults.eigenvalueResiduals[j]) << name;
    }
    EXPECT_EQ(readAnalysisDirectory(fixture.dir.file(name)).eigenvalueResiduals, warmResults.eigenvalueResiduals);
  }
}

TEST(AnalysisSession, ASessionThatKeepsDirectionsReusesThemAcrossWeights) {
  Fixture fixture;
  const std::string otherWeights = TinyTanhNet::write(fixture.dir.file("other.pt"), 12, kMnistClasses);
  AnalysisRequest request;
  request.slice = true;
  request.grid = 3;
  AnalysisSession keeping(fixture.model, request);
  keeping.keepDirections(true);
  keeping.analyze("", "", fixture.dir.file("a"));
  keeping.analyze(otherWeights, "other", fixture.dir.file("b"));
  const std::string first = test::readText(fixture.dir.file("a") + "/directions.bin");
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(test::readText(fixture.dir.file("b") + "/directions.bin"), first);

  // Without keeping, the directions are filter-normalized against each set of weights anew.
  AnalysisSession fresh(fixture.model, request);
  fresh.analyze(otherWeights, "other", fixture.dir.file("c"));
  EXPECT_NE(test::readText(fixture.dir.file("c") + "/directions.bin"), first);
}

TEST(AnalysisSession, BottomEigenvaluesAreWrittenUnderHessianBottomAndReadBack) {
  Fixture fixture;
  AnalysisRequest request;
  request.hessianTop = 1;
  request.hessianBottom = 2;
  request.subset = 0;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("bottom");
  const AnalysisResults outcome = session.analyze("", "", out);
  const nlohmann::json json = fixture.analysisJson(out);
  ASSERT_TRUE(json["hessian"]["bottom"]["eigenvalues"].is_array()) << json.dump(1);
  ASSERT_EQ(json["hessian"]["bottom"]["eigenvalues"].size(), 2U);
  const double first = json["hessian"]["bottom"]["eigenvalues"][0].get<double>();
  const double second = json["hessian"]["bottom"]["eigenvalues"][1].get<double>();
  EXPECT_LE(first, second) << "ascending: the most negative first";
  EXPECT_LT(second, json["hessian"]["eigenvalues"][0].get<double>());
  EXPECT_EQ(outcome.bottomEigenvalues, (std::vector<double>{first, second}));
  const AnalysisResults results = readAnalysisDirectory(out);
  EXPECT_EQ(results.bottomEigenvalues, outcome.bottomEigenvalues);
  EXPECT_EQ(results.eigenvalues.size(), 1U);
}

TEST(AnalysisSession, ASliceAlongTheTopHessianEigenvectorsCurvesAsTheirEigenvalues) {
  // A smooth network (tanh): along a unit eigenvector v the loss is L(0) + lambda t^2 / 2 + O(t^3), so
  // the slice's second difference at the centre is the eigenvalue, up to the cubic term and the slice's
  // float32 evaluation. (A ReLU network's kinks would bend the slice away from its Hessian.)
  Fixture fixture;
  AnalysisRequest request;
  request.hessianTop = 2;
  request.subset = 0;
  request.slice = true;
  request.sliceDirections = "hessian";
  request.grid = 3;
  const double h = 0.02;
  request.rangeMin = -h;
  request.rangeMax = h;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("hessian-slice");
  session.analyze("", "", out);
  const nlohmann::json json = fixture.analysisJson(out);
  ASSERT_EQ(json["slice"]["directions"], "hessian") << json.dump(1);
  const double lambda1 = json["hessian"]["eigenvalues"][0].get<double>();
  const double lambda2 = json["hessian"]["eigenvalues"][1].get<double>();
  const SliceGrid grid = readAnalysisDirectory(out).slice;
  ASSERT_TRUE(grid.complete());
  const auto loss = [&](std::size_t ix, std::size_t iy) { return grid.loss[grid.index(ix, iy)]; };
  const double alongFirst = (loss(2, 1) - 2 * loss(1, 1) + loss(0, 1)) / (h * h);
  const double alongSecond = (loss(1, 2) - 2 * loss(1, 1) + loss(1, 0)) / (h * h);
  EXPECT_NEAR(alongFirst, lambda1, 0.01 * lambda1);
  EXPECT_NEAR(alongSecond, lambda2, 0.01 * lambda1);
  EXPECT_GT(lambda1, lambda2);
}

TEST(AnalysisSession, SliceOptionsNeedASliceAndAPlaneNeedsThreeModels) {
  const auto flagOf = [](const AnalysisRequest& request) -> std::string {
    try {
      validateAnalysisRequest(request);
    } catch (const ConfigError& error) {
      return error.flag();
    }
    return "";
  };
  AnalysisRequest request;
  request.sliceDirections = "pca";
  EXPECT_EQ(flagOf(request), "--slice-directions") << "pca directions without --slice";
  request.slice = true;
  EXPECT_EQ(flagOf(request), "");
  request = {};
  request.slice = true;
  for (const char* malformed : {"a,b", "a,b,", ",b,c", "a,,c", "a,b,c,d", "a, ,c"}) {
    request.slicePlane = malformed;
    EXPECT_EQ(flagOf(request), "--slice-plane") << malformed;
  }
  request.slicePlane = "a, b ,c";
  EXPECT_EQ(flagOf(request), "");
  EXPECT_EQ(slicePlaneModels("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  request.slice = false;
  EXPECT_EQ(flagOf(request), "--slice-plane") << "a plane without --slice";
}

TEST(AnalysisSession, RequestsAreValidatedWithTheFlagNamed) {
  AnalysisRequest request;
  request.split = "validation";
  try {
    validateAnalysisRequest(request);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--split");
  }
  request = {};
  request.trace = true;
  request.traceProbes = 1;
  EXPECT_THROW(validateAnalysisRequest(request), ConfigError);
  EXPECT_THROW(parseRangeText("--range", "1:-1"), ConfigError);
  EXPECT_EQ(parseRangeText("--range", "-2:0.5"), std::make_pair(-2.0, 0.5));
  // In `train`, the m-sharpness options are --sharpness-m and --sharpness-rho, and the messages say so.
  request = {};
  request.mSharpness = true;
  request.m = 0;
  try {
    validateAnalysisRequest(request, AnalysisCommand::Train);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--sharpness-m");
  }
  try {
    validateAnalysisRequest(request, AnalysisCommand::Analyze);
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--m");
  }
}

// What analyze() returns in memory (what the app draws and the store records at once) is what a
// reader of the directory gets back: every stage fills both the same way.
TEST(AnalysisSession, TheResultsInMemoryAreWhatTheDirectoryReadsBack) {
  Fixture fixture;
  AnalysisRequest request;
  request.hessianTop = 2;
  request.hessianBottom = 1;
  request.perLayer = true;
  request.trace = true;
  request.traceProbes = 3;
  request.esd = true;
  request.esdProbes = 2;
  request.esdSteps = 6;
  request.mSharpness = true;
  request.m = 8;
  request.slice = true;
  request.grid = 3;
  request.subset = 0;
  AnalysisSession session(fixture.model, request);
  const std::string out = fixture.dir.file("memory");
  const AnalysisResults inMemory = session.analyze("", "", out);
  const AnalysisResults readBack = readAnalysisDirectory(out);

  EXPECT_EQ(inMemory.status, "complete");
  EXPECT_EQ(readBack.status, inMemory.status);
  EXPECT_EQ(readBack.jsonText, inMemory.jsonText);
  EXPECT_EQ(readBack.files, inMemory.files);
  for (const char* key : {"analysis_loss", "analysis_accuracy", "lambda_max", "lambda_ratio", "trace", "trace_stderr",
                          "m_sharpness"}) {
    EXPECT_TRUE(inMemory.metric(key).has_value()) << key;
  }
  EXPECT_EQ(readBack.metrics, inMemory.metrics);
  EXPECT_EQ(readBack.eigenvalues, inMemory.eigenvalues);
  EXPECT_EQ(readBack.bottomEigenvalues, inMemory.bottomEigenvalues);
  ASSERT_EQ(readBack.perLayer.size(), inMemory.perLayer.size());
  ASSERT_FALSE(inMemory.perLayer.empty());
  for (std::size_t i = 0; i < inMemory.perLayer.size(); ++i) {
    EXPECT_EQ(readBack.perLayer[i].layer, inMemory.perLayer[i].layer);
    EXPECT_EQ(readBack.perLayer[i].parameters, inMemory.perLayer[i].parameters);
    EXPECT_EQ(readBack.perLayer[i].trace, inMemory.perLayer[i].trace);
  }
  EXPECT_EQ(readBack.esd.eigenvalues, inMemory.esd.eigenvalues);
  EXPECT_EQ(readBack.esd.density, inMemory.esd.density);
  ASSERT_EQ(inMemory.slice.loss.size(), 9U);
  EXPECT_EQ(readBack.slice.xs, inMemory.slice.xs);
  EXPECT_EQ(readBack.slice.loss, inMemory.slice.loss);
  EXPECT_EQ(readBack.slice.accuracy, inMemory.slice.accuracy);
}

}  // namespace
}  // namespace samscape

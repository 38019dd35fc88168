// Every numeric option of the option tables given the extreme values a mistyped or generated value
// takes (0, -1, the largest int and int64, 1e308, nan; for ranges, the widest and malformed ones): each
// gives a value the job runs with, or a samscape::Error naming the flag. Never a crash, a std::bad_alloc
// or another exception type, and never one allocation over the harness's bound (kAllocationLimitBytes,
// 256 MiB, far above what these tiny jobs need): a size must be checked against its cost before it is
// allocated. What is accepted really runs (training, its analyses, an analysis session) and is stopped
// after a moment through its cancel flag, as Ctrl-C stops it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "analysis/AnalysisSession.h"
#include "core/Error.h"
#include "session/RunSession.h"
#include "session/RunSpec.h"
#include "tests/fuzz/FuzzHarness.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using Settings = std::vector<std::pair<std::string, std::string>>;

const std::vector<std::string> kNumberExtremes = {"0", "-1", "2147483647", "9223372036854775807", "1e308", "nan"};
const std::vector<std::string> kRangeExtremes = {"-1e308:1e308", "0:1e308", "nan:1", "1:0", "-1:-1"};

bool isNumeric(OptionKind kind) {
  return kind == OptionKind::Integer || kind == OptionKind::Real || kind == OptionKind::IntegerList ||
         kind == OptionKind::Range;
}

// Sets `cancel` after `delay` unless stopped first.
class CancelTimer {
 public:
  CancelTimer(std::atomic<bool>& cancel, std::chrono::milliseconds delay)
      : thread_([this, &cancel, delay] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!stopped_.wait_for(lock, delay, [this] { return done_; })) cancel = true;
        }) {}
  ~CancelTimer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    stopped_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable stopped_;
  bool done_ = false;
  std::thread thread_;
};

class OptionFuzzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new test::TempDir();
    data_ = new test::TinyMnist(directory_->file("mnist"));
    // A trained model of the same architecture: the other end of --interpolate.
    RunSpec spec;
    spec.config = test::tinyTrainConfig(directory_->file("mnist"));
    spec.config.epochs = 1;
    spec.config.outDir = directory_->file("other");
    RunSession(spec).run();
  }
  static void TearDownTestSuite() {
    delete data_;
    delete directory_;
  }

  static std::string file(const std::string& name) { return directory_->file(name); }

  // What an option needs besides itself to be used at all (--grid without --slice is never read).
  static Settings enabling(const std::string& key) {
    static const std::map<std::string, Settings> needs = {
        {"grid", {{"slice", "true"}}},
        {"range", {{"slice", "true"}}},
        {"esd-probes", {{"esd", "true"}}},
        {"esd-steps", {{"esd", "true"}}},
        {"trace-probes", {{"trace", "true"}}},
        {"m", {{"m-sharpness", "true"}}},
        {"rho", {{"m-sharpness", "true"}}},
        {"sharpness-m", {{"m-sharpness", "true"}}},
        {"sharpness-rho", {{"m-sharpness", "true"}}},
        {"ascent-steps", {{"m-sharpness", "true"}}},
        {"tolerance", {{"hessian-top", "1"}}},
        {"subset", {{"hessian-top", "1"}}},
        {"batch-size", {{"hessian-top", "1"}}},
        {"seed", {{"trace", "true"}}},
    };
    Settings settings;
    if (const auto found = needs.find(key); found != needs.end()) settings = found->second;
    if (key == "interpolate-points" || key == "interpolate-range" || key == "bezier-steps") {
      settings.emplace_back("interpolate", file("other"));
      if (key == "bezier-steps") settings.emplace_back("bezier", "true");
    }
    return settings;
  }

  // The training options that only apply with another one set (--gsam-alpha with gsam, ...).
  static Settings enablingTraining(const std::string& key) {
    if (key == "gsam-alpha") return {{"optimizer", "gsam"}};
    if (key == "sam-from-epoch") return {{"optimizer", "sam"}};
    if (key == "looksam-k" || key == "looksam-alpha") return {{"optimizer", "looksam"}};
    if (key == "asam-eta") return {{"optimizer", "asam"}};
    if (key == "rho" || key == "m") return {{"optimizer", "sam"}};
    if (key.rfind("adam-", 0) == 0) return {{"optimizer", "adam"}};
    if (key == "step-epochs" || key == "step-factor") return {{"schedule", "step"}, {"epochs", "3"}};
    return {};
  }

  // The job ended (or was stopped) or refused with a samscape::Error; anything else fails the test.
  static void expectValueOrError(const std::string& what, const std::function<void()>& job) {
    std::string unexpected;
    const std::size_t refused = fuzz::refusedAllocationDuring([&] {
      try {
        job();
      } catch (const Error& error) {
        if (std::string(error.what()).empty()) unexpected = "an Error with an empty message";
      } catch (const std::exception& error) {
        unexpected = std::string("a non-samscape exception: ") + error.what();
      } catch (...) {
        unexpected = "a non-standard exception";
      }
    });
    EXPECT_TRUE(unexpected.empty()) << what << ": " << unexpected;
    EXPECT_EQ(refused, 0u) << what << ": one allocation of " << refused << " bytes";
  }

  static test::TempDir* directory_;
  static test::TinyMnist* data_;
};

test::TempDir* OptionFuzzTest::directory_ = nullptr;
test::TinyMnist* OptionFuzzTest::data_ = nullptr;

TEST_F(OptionFuzzTest, EveryNumericRunOptionTakesExtremeValues) {
  int tried = 0;
  int accepted = 0;
  for (const auto& option : runOptions()) {
    if (!isNumeric(option.info.kind)) continue;
    const bool analysis = option.info.group == OptionGroup::Analysis;
    const auto& values = option.info.kind == OptionKind::Range ? kRangeExtremes : kNumberExtremes;
    for (const std::string& value : values) {
      ++tried;
      RunSources sources;
      sources.workspace = file("workspace");
      sources.settings = {{"dataset", "mnist"}, {"data-dir", file("mnist")}, {"model", "mlp"},
                          {"batch-size", "16"}, {"epochs", "1"},               {"threads", "1"}};
      for (const auto& setting : analysis ? enabling(option.info.key) : enablingTraining(option.info.key)) {
        sources.settings.push_back(setting);
      }
      if (analysis && option.info.key != "analyze-every") sources.settings.emplace_back("analyze-every", "1");
      sources.settings.emplace_back(option.info.key, value);
      const std::string what = option.info.flag() + " " + value;

      RunSpec spec;
      try {
        spec = resolveRunSpec(sources);
      } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find(option.info.flag()), std::string::npos)
            << what << " was refused without naming the flag: " << error.what();
        continue;
      } catch (const std::exception& error) {
        ADD_FAILURE() << what << ": resolving threw " << error.what();
        continue;
      }
      ++accepted;
      expectValueOrError(what, [&] {
        std::atomic<bool> cancel{false};
        RunSessionOptions options;
        options.cancel = &cancel;
        RunSession session(spec, options);
        const CancelTimer timer(cancel, std::chrono::milliseconds(400));
        session.run();
      });
    }
  }
  std::cout << "run options: " << tried << " values tried, " << accepted << " accepted and run\n";
  EXPECT_GT(accepted, 0);
}

TEST_F(OptionFuzzTest, EveryNumericAnalyzeOptionTakesExtremeValues) {
  AnalysisModel model;
  model.run = test::tinyTrainConfig(file("mnist"));
  model.weightsPath = file("other") + "/model.pt";
  model.description = "the fuzzed model";
  int tried = 0;
  int accepted = 0;
  const auto& table = analysisOptions(AnalysisCommand::Analyze);
  for (const auto& option : table) {
    if (!isNumeric(option.info.kind)) continue;
    const auto& values = option.info.kind == OptionKind::Range ? kRangeExtremes : kNumberExtremes;
    for (const std::string& value : values) {
      ++tried;
      const std::string what = option.info.flag() + " " + value;
      AnalysisRequest request;
      try {
        for (const auto& [key, text] : enabling(option.info.key)) setOptionText(request, *findOption(table, key), text);
        setOptionText(request, option, value);
        request.subsetExplicit = option.info.key == "subset";
        validateAnalysisRequest(request, AnalysisCommand::Analyze);
      } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find(option.info.flag()), std::string::npos)
            << what << " was refused without naming the flag: " << error.what();
        continue;
      }
      ++accepted;
      expectValueOrError(what, [&] {
        std::atomic<bool> cancel{false};
        AnalysisSession session(model, request);
        const CancelTimer timer(cancel, std::chrono::milliseconds(400));
        session.analyze("", "", file("analysis-" + std::to_string(tried)), nullptr, &cancel);
      });
    }
  }
  std::cout << "analyze options: " << tried << " values tried, " << accepted << " accepted and run\n";
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace samscape

// samscape-bench as a user runs it: a separate process. What is pinned is that the PyTorch reference
// is measured under the same conditions as samscape (threads, batch, rounds), and that both header lines
// say so; the timings themselves are not tested (they are the benchmark's output, not a property).
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

struct BenchResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

BenchResult runBench(const test::TempDir& dir, const std::string& arguments) {
  const std::string out = dir.file("stdout.txt");
  const std::string err = dir.file("stderr.txt");
  const std::string command = std::string(SAMSCAPE_BENCH_PATH) + " " + arguments + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::readText(out), test::readText(err)};
}

// The interpreter that runs the reference: the Python the build took LibTorch from (SAMSCAPE_PYTHON),
// so that both sides run the same torch.
std::string pythonWithTorch() {
  const std::string probe = std::string(SAMSCAPE_TORCH_PYTHON) + " -c 'import torch' >/dev/null 2>&1";
  return std::system(probe.c_str()) == 0 ? SAMSCAPE_TORCH_PYTHON : "";
}

int threadsStated(const std::string& text, const std::string& headerStart) {
  const std::regex header(headerStart + R"([^\n]*?, (\d+) threads,)");
  std::smatch match;
  return std::regex_search(text, match, header) ? std::stoi(match[1]) : -1;
}

TEST(BenchTest, ThePyTorchReferenceRunsWithSamscapesThreadCountAndSaysSo) {
  const std::string python = pythonWithTorch();
  ASSERT_FALSE(python.empty()) << SAMSCAPE_TORCH_PYTHON << " has no torch (scripts/setup.sh installs it)";
  const test::TempDir dir;
  // Two threads whatever the machine: a distribution's torch starting with one would show as 1.
  for (const int threads : {1, 2}) {
    const BenchResult result = runBench(
        dir, "--models cnn --batch-size 8 --rounds 1 --steps 1 --skip-analysis --threads " + std::to_string(threads) +
                 " --alternations 1 --pytorch-reference " + SAMSCAPE_SOURCE_DIR "/app/bench/pytorch_reference.py --python " +
                 python);
    ASSERT_EQ(result.exitCode, 0) << result.out << result.err;
    EXPECT_EQ(threadsStated(result.out, "samscape-bench: "), threads) << result.out;
    EXPECT_EQ(threadsStated(result.out, R"(pytorch \(python\): )"), threads) << result.out;
    // Both sides time the same model: the reference defines samscape's cnn rather than skipping it.
    EXPECT_NE(result.out.find("\ncnn "), result.out.rfind("\ncnn ")) << "the reference timed no cnn:\n" << result.out;
    EXPECT_EQ(result.out.find("no Python definition"), std::string::npos) << result.out;
    // The two sides' SAM throughput compared, for the model both timed.
    const auto comparison = result.out.find("samscape SAM img/s / PyTorch eager SAM img/s");
    ASSERT_NE(comparison, std::string::npos) << result.out;
    EXPECT_NE(result.out.find("  cnn ", comparison), std::string::npos) << result.out;
  }
}

// The analysis scaling table: a row per model with every column, the method the analyses use being
// one of the two, and the slice's throughput a positive ratio; PyTorch's analysis lines under it.
TEST(BenchTest, TheAnalysisTableHasARowPerModelBesidePyTorchs) {
  test::TempDir dir;
  const std::string python = pythonWithTorch();
  std::string arguments = "--analysis-only --analysis-models mlp,cnn --analysis-examples 16 --slice-examples 32 "
                          "--slice-timed-grid 2 --analysis-rounds 1 --threads 1";
  if (!python.empty()) {
    arguments += " --pytorch-reference " SAMSCAPE_SOURCE_DIR "/app/bench/pytorch_reference.py --python " + python;
  }
  const BenchResult result = runBench(dir, arguments);
  ASSERT_EQ(result.exitCode, 0) << result.err;
  for (const std::string model : {"mlp", "cnn"}) {
    const std::regex row("\\n" + model +
                         R"( +(\d+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +([0-9.]+) +(double backward|forward over reverse)[^\n]*? ([0-9.]+)\*? +([0-9.]+) +([0-9]+)\n)");
    std::smatch match;
    ASSERT_TRUE(std::regex_search(result.out, match, row)) << model << ":\n" << result.out;
    EXPECT_GT(std::stoll(match[1]), 0) << model;
    EXPECT_GT(std::stod(match[9]), 0.0) << model;  // slice/fwd
  }
  EXPECT_EQ(result.out.find("sgd img/s"), std::string::npos) << "--analysis-only times no training step";
  // What each stage cost, one row each, the Hessian stages' products counted (with the dataset).
  if (std::filesystem::is_directory("/usr/share/datasets/fashion-mnist")) {
    for (const std::string stage : {"loss", "hessian", "stability_edge", "trace", "esd", "perturbation_alignment",
                                    "m_sharpness", "slice"}) {
      const std::regex row("\\n  " + stage + R"( +([0-9.]+) +([0-9]+) +([0-9]+|n/a) +([0-9]+|n/a)\n)");
      std::smatch match;
      ASSERT_TRUE(std::regex_search(result.out, match, row)) << stage << ":\n" << result.out;
      EXPECT_EQ(std::stoll(match[2]) > 0, stage == "hessian" || stage == "trace" || stage == "esd") << stage;
    }
  }
  if (!python.empty()) {
    EXPECT_NE(result.out.find("pytorch (python) analysis:"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("samscape product s / PyTorch product s"), std::string::npos) << result.out;
  }
  const BenchResult both = runBench(dir, "--analysis-only --skip-analysis");
  EXPECT_EQ(both.exitCode, 2);
  EXPECT_NE(both.err.find("--analysis-only"), std::string::npos) << both.err;
}

// The step table: Momentum-SAM's and late-phase SAM's (before its switch) step times over SGD's are
// columns of it, with a positive ratio in each model's row.
TEST(BenchTest, TheStepTableHasMomentumSamAndLateSamColumns) {
  const test::TempDir dir;
  const BenchResult result = runBench(dir, "--models mlp --batch-size 8 --rounds 1 --steps 1 --skip-analysis --threads 1");
  ASSERT_EQ(result.exitCode, 0) << result.out << result.err;
  const std::regex header(R"(\nmodel +input +sgd img/s[^\n]* looksam k=5/sgd +msam/sgd +late pre/sgd\n)");
  EXPECT_TRUE(std::regex_search(result.out, header)) << result.out;
  // model, input, then ten numbers: the last two are msam/sgd and late pre/sgd.
  const std::regex row(R"(\nmlp +1x28x28((?: +[0-9.]+){8}) +([0-9.]+) +([0-9.]+)\n)");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(result.out, match, row)) << result.out;
  EXPECT_GT(std::stod(match[2]), 0.0);
  EXPECT_GT(std::stod(match[3]), 0.0);
}

TEST(BenchTest, AMissingReferenceScriptIsNamedBeforeAnyTiming) {
  const test::TempDir dir;
  const BenchResult result = runBench(dir, "--models cnn --pytorch-reference " + dir.file("missing.py"));
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_NE(result.err.find("--pytorch-reference"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(dir.file("missing.py")), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("sgd img/s"), std::string::npos) << "timed before checking its arguments:\n" << result.out;
}

}  // namespace
}  // namespace samscape

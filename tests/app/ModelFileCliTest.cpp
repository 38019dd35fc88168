// Models exported by today's PyTorch (the Python samscape was built with, at test time), trained and
// analysed by samscape-cli as a user would: a small vision transformer (scripted; nn.MultiheadAttention's
// scaled_dot_product_attention, differentiated twice for the Hessian), a ResNet-18-style network with
// batch norm (traced, its batch norm scripted first) and a small net with GELU and dropout (scripted).
// Each trains with SGD and with SAM and is analysed (top-2 Hessian eigenvalues, a loss slice); one run
// is resumed; on the smallest, the top eigenvalues equal those of the dense Hessian PyTorch's autograd
// forms in Python. A module traced without scripting its batch norm keeps one mode and is refused.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/FileHelpers.h"
#include "tests/support/SyntheticData.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::readText;

struct Outcome {
  int exitCode = -1;
  std::string out;
  std::string err;
};

class ModelFileCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new test::TempDir();
    test::writeMnistDirectory(data(), test::makeSyntheticImageSet(160, 1, 28, 28, 10, 41),
                              test::makeSyntheticImageSet(60, 1, 28, 28, 10, 42), true);
  }
  static void TearDownTestSuite() { delete directory_; }

  static std::string file(const std::string& name) { return directory_->file(name); }
  static std::string data() { return file("mnist28"); }

  static Outcome shell(const std::string& command, const std::string& name) {
    const std::string out = file(name + ".out");
    const std::string err = file(name + ".err");
    const int status = std::system((command + " >" + out + " 2>" + err + " </dev/null").c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(out), readText(err)};
  }
  static Outcome cli(const std::string& arguments, const std::string& name) {
    return shell(std::string(SAMSCAPE_CLI_PATH) + " " + arguments + " --workspace " + file("workspace"), name);
  }

  // resources/models/export_model.py run by the build's own Python: today's torch.
  static std::string exportModel(const std::string& model, const std::string& flags = "") {
    const std::string path = file(model + (flags.empty() ? "" : "-traced") + ".pt");
    if (fs::exists(path)) return path;
    const Outcome outcome = shell(std::string(SAMSCAPE_TORCH_PYTHON) + " " + SAMSCAPE_SOURCE_DIR +
                                      "/resources/models/export_model.py " + path + " --model " + model + " " + flags,
                                  "export-" + model);
    EXPECT_EQ(outcome.exitCode, 0) << outcome.out << outcome.err;
    return path;
  }

  static std::string trainFlags(const std::string& modelFile) {
    return "train --dataset mnist --data-dir " + data() + " --model-file " + modelFile +
           " --batch-size 32 --epochs 1 --threads 2 --lr 0.05 --train-subset 96";
  }

  // Trains with SGD and with SAM, then analyses the SAM run: both eigenvalues and a complete slice.
  static void trainsAndIsAnalysed(const std::string& name, const std::string& modelFile) {
    for (const std::string optimizer : {"sgd", "sam"}) {
      const std::string out = file(name + "-" + optimizer);
      const Outcome trained = cli(trainFlags(modelFile) + " --optimizer " + optimizer + " --out " + out, name + optimizer);
      ASSERT_EQ(trained.exitCode, 0) << name << " " << optimizer << ":\n" << trained.err;
      const json run = json::parse(readText(out + "/run.json"));
      EXPECT_EQ(run["status"], "finished");
      const std::string metrics = readText(out + "/metrics.csv");
      EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << metrics;
    }
    const std::string analysis = file(name + "-analysis");
    const Outcome analysed = cli("analyze --checkpoint " + file(name + "-sam") +
                                     " --subset 24 --hessian-top 2 --slice --grid 5 --threads 2 --out " + analysis,
                                 name + "-analyze");
    ASSERT_EQ(analysed.exitCode, 0) << name << ":\n" << analysed.err;
    const json result = json::parse(readText(analysis + "/analysis.json"));
    EXPECT_EQ(result["status"], "complete");
    ASSERT_EQ(result["hessian"]["eigenvalues"].size(), 2u) << result.dump(2);
    EXPECT_TRUE(result["hessian"]["converged"].get<bool>());
    for (const auto& value : result["hessian"]["eigenvalues"]) EXPECT_TRUE(std::isfinite(value.get<double>()));
    // The precision policy's record: float32 products, each pair's residual measured in float64.
    const json& precision = result["hessian"]["precision"];
    EXPECT_EQ(precision["products"], "float32") << precision.dump();
    ASSERT_EQ(precision["residuals_float64"].size(), 2u) << precision.dump();
    for (const auto& residual : precision["residuals_float64"]) EXPECT_LE(residual.get<double>(), 1e-4);
    EXPECT_GE(precision["float64_products"].get<int>(), 2);
    EXPECT_EQ(result["slice"]["points_done"], 25);
  }

  static test::TempDir* directory_;
};

test::TempDir* ModelFileCliTest::directory_ = nullptr;

TEST_F(ModelFileCliTest, AVisionTransformerTrainsAndIsAnalysed) {
  trainsAndIsAnalysed("vit", exportModel("vit"));
}

TEST_F(ModelFileCliTest, ATracedResNetWithBatchNormTrainsAndIsAnalysed) {
  // ResNet-18's layout at an eighth of its width (176,000 parameters), for the test's time.
  trainsAndIsAnalysed("resnet18", exportModel("resnet18", "--trace --width 8"));
  // LibTorch's own batch norm has no forward derivative of its backward: the products fall back to
  // double backward, and the analysis says why.
  const json method = json::parse(readText(file("resnet18-analysis") + "/analysis.json"))["hessian"]["product_method"];
  EXPECT_EQ(method["method"], "double backward") << method.dump();
  EXPECT_NE(method.value("forward_over_reverse_unsupported", std::string()).find("batch_norm"), std::string::npos)
      << method.dump();
}

TEST_F(ModelFileCliTest, AGeluDropoutNetTrainsIsAnalysedAndResumesExactly) {
  const std::string model = exportModel("gelu-dropout");
  trainsAndIsAnalysed("gelu", model);
  // Two epochs straight, and one epoch then a resume to two: the same metrics (dropout's randomness
  // included), to the seconds column. A constant rate, so that the first run's one epoch follows the
  // same schedule as the straight run's.
  const std::string straight = file("gelu-straight");
  const std::string resumed = file("gelu-resumed");
  const std::string flags = trainFlags(model) + " --optimizer sam --schedule constant --threads 1";
  ASSERT_EQ(cli(flags + " --epochs 2 --out " + straight, "straight").exitCode, 0);
  ASSERT_EQ(cli(flags + " --epochs 1 --out " + resumed, "first").exitCode, 0);
  const Outcome resume = cli("train --resume " + resumed + " --epochs 2", "resume");
  ASSERT_EQ(resume.exitCode, 0) << resume.err;
  const auto withoutSeconds = [](const std::string& csv) {
    std::string kept;
    std::istringstream lines(csv);
    for (std::string line; std::getline(lines, line);) kept += line.substr(0, line.rfind(',')) + "\n";
    return kept;
  };
  EXPECT_EQ(withoutSeconds(readText(resumed + "/metrics.csv")), withoutSeconds(readText(straight + "/metrics.csv")));
}

TEST_F(ModelFileCliTest, TheSmallestModelsTopEigenvaluesEqualItsDenseHessiansInPyTorch) {
  const std::string model = exportModel("gelu-dropout");
  const std::string run = file("dense-run");
  ASSERT_EQ(cli(trainFlags(model) + " --out " + run, "dense-train").exitCode, 0);
  const std::string analysis = file("dense-analysis");
  const Outcome analysed = cli("analyze --checkpoint " + run + " --subset 40 --no-normalize --hessian-top 3 " +
                                   "--tolerance 1e-8 --threads 2 --out " + analysis,
                               "dense-analyze");
  ASSERT_EQ(analysed.exitCode, 0) << analysed.err;
  const json lanczos = json::parse(readText(analysis + "/analysis.json"))["hessian"]["eigenvalues"];
  const Outcome dense = shell(std::string(SAMSCAPE_TORCH_PYTHON) + " " + SAMSCAPE_SOURCE_DIR +
                                  "/tests/app/dense_hessian.py " + run + "/model.pt " + data() + " 40 3",
                              "dense-python");
  ASSERT_EQ(dense.exitCode, 0) << dense.err;
  std::istringstream lines(dense.out);
  std::vector<double> expected;
  for (double value = 0.0; lines >> value;) expected.push_back(value);
  ASSERT_EQ(expected.size(), 3u) << dense.out;
  ASSERT_EQ(lanczos.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(lanczos[i].get<double>(), expected[i], 1e-6 * std::max(1.0, std::abs(expected[i])))
        << "eigenvalue " << i + 1;
  }
}

// torch.jit.trace of a whole module freezes `self.training`: each way it shows is refused, naming the
// file and the way out, before anything trains.
TEST_F(ModelFileCliTest, AModuleTracedWithItsModeFrozenIsRefusedNamingTheFile) {
  struct Case {
    std::string name, model, mode, expected;
  };
  const std::vector<Case> cases = {
      {"bn-train", "ResNet18(1, 28, 10, 8)", "train", ": in evaluation mode, an image's logits depend on the other images"},
      {"bn-eval", "ResNet18(1, 28, 10, 8)", "eval", ": in training mode, a pass leaves batch norm's running statistics unchanged"},
      {"dropout-train", "GeluDropoutNet(1, 28, 10)", "train", ": in evaluation mode, two passes over the same images give different logits"},
  };
  for (const Case& c : cases) {
    const std::string frozen = file(c.name + ".pt");
    const Outcome exported = shell(
        std::string(SAMSCAPE_TORCH_PYTHON) + " -W ignore -c \"import sys, torch; sys.path.insert(0, '" +
            SAMSCAPE_SOURCE_DIR + "/resources/models'); import export_model as e; torch.manual_seed(0); " +
            "m = e." + c.model + "." + c.mode + "(); torch.jit.trace(m, torch.randn(2, 1, 28, 28)).save('" + frozen + "')\"",
        c.name + "-export");
    ASSERT_EQ(exported.exitCode, 0) << exported.err;
    const Outcome refused = cli(trainFlags(frozen) + " --out " + file(c.name + "-run"), c.name + "-train");
    EXPECT_EQ(refused.exitCode, 2) << c.name << ": " << refused.err;
    EXPECT_NE(refused.err.find(frozen + c.expected), std::string::npos) << c.name << ": " << refused.err;
    EXPECT_NE(refused.err.find("export_model.py --trace"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(file(c.name + "-run") + "/run.json"));
  }
}

}  // namespace
}  // namespace samscape

// The built-in models: output shapes for MNIST- and CIFAR-shaped inputs, parameter counts checked
// against hand-computed formulas, seeded initialisation, errors, and save/load round trips.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/Error.h"
#include "core/models/BuiltInModels.h"
#include "core/models/ModelSpec.h"
#include "core/models/Network.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

ModelSpec makeSpec(const std::string& name, int channels, int size, int classes) {
  ModelSpec spec;
  spec.name = name;
  spec.inputChannels = channels;
  spec.imageHeight = size;
  spec.imageWidth = size;
  spec.numClasses = classes;
  return spec;
}

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> out;
  for (const auto& tensor : tensors) out.push_back(tensor.detach().clone());
  return out;
}

bool allEqual(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].sizes() != b[i].sizes() || !torch::equal(a[i], b[i])) return false;
  }
  return true;
}

// Parameter counts by hand: a k x k conv without bias has in*out*k*k weights, a batch norm 2*c
// (scale and shift), a linear layer in*out + out.
std::int64_t conv(std::int64_t in, std::int64_t out, std::int64_t k) { return in * out * k * k; }
std::int64_t bn(std::int64_t c) { return 2 * c; }
std::int64_t linear(std::int64_t in, std::int64_t out) { return in * out + out; }

// CIFAR ResNet (He et al. 2016) with option-B (1x1 conv + BN) projection shortcuts.
std::int64_t cifarResNetCount(int depth, std::int64_t channels, std::int64_t classes) {
  const int n = (depth - 2) / 6;
  auto stage = [n](std::int64_t in, std::int64_t out) {
    std::int64_t count = conv(in, out, 3) + bn(out) + conv(out, out, 3) + bn(out);  // first block
    if (in != out) count += conv(in, out, 1) + bn(out);                             // projection
    return count + (n - 1) * (2 * conv(out, out, 3) + 2 * bn(out));
  };
  return conv(channels, 16, 3) + bn(16) + stage(16, 16) + stage(16, 32) + stage(32, 64) + linear(64, classes);
}

// WRN-depth-k (Zagoruyko & Komodakis 2016): pre-activation blocks, 1x1 conv shortcut (no BN).
std::int64_t wideResNetCount(int depth, int k, std::int64_t channels, std::int64_t classes) {
  const int n = (depth - 4) / 6;
  auto stage = [n](std::int64_t in, std::int64_t out) {
    std::int64_t count = bn(in) + conv(in, out, 3) + bn(out) + conv(out, out, 3);  // first block
    if (in != out) count += conv(in, out, 1);
    return count + (n - 1) * (2 * bn(out) + 2 * conv(out, out, 3));
  };
  return conv(channels, 16, 3) + stage(16, 16 * k) + stage(16 * k, 32 * k) + stage(32 * k, 64 * k) +
         bn(64 * k) + linear(64 * k, classes);
}

// ---------------------------------------------------------------------------------------------

// (model, channels, image size, classes). Each model is checked on MNIST-shaped and CIFAR-shaped
// inputs, with two different class counts between them.
using ShapeCase = std::tuple<std::string, int, int, int>;

class ModelShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ModelShapes, GivesOneLogitPerClassForEveryImage) {
  const auto& [name, channels, size, classes] = GetParam();
  torch::manual_seed(0);
  auto network = makeNetwork(makeSpec(name, channels, size, classes));
  const std::int64_t batch = 3;
  const auto logits = network->forward(torch::randn({batch, channels, size, size}));
  EXPECT_EQ(logits.sizes(), (std::vector<std::int64_t>{batch, classes}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  EXPECT_GT(parameterCount(*network), 0);
}

std::vector<ShapeCase> shapeCases() {
  std::vector<ShapeCase> cases;
  for (const auto& name : builtInModelNames()) {
    if (name == "wrn28-10") continue;  // 36M parameters: its own, lighter test below
    cases.emplace_back(name, 1, 28, 10);
    cases.emplace_back(name, 3, 32, 100);
  }
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<ShapeCase>& info) {
  std::string name = std::get<0>(info.param);
  for (auto& c : name) {
    if (c == '-') c = '_';
  }
  return name + "_" + std::to_string(std::get<1>(info.param)) + "x" +
         std::to_string(std::get<2>(info.param)) + "_" + std::to_string(std::get<3>(info.param)) + "classes";
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, ModelShapes, ::testing::ValuesIn(shapeCases()), caseName);

TEST(ModelShapesTest, Wrn28_10GivesLogitsForOneCifarImage) {
  torch::manual_seed(0);
  auto network = makeNetwork(makeSpec("wrn28-10", 3, 32, 10));
  torch::NoGradGuard noGrad;
  EXPECT_EQ(network->forward(torch::randn({1, 3, 32, 32})).sizes(), (std::vector<std::int64_t>{1, 10}));
  EXPECT_EQ(parameterCount(*network), wideResNetCount(28, 10, 3, 10));
}

TEST(ModelShapesTest, Wrn28_10GivesLogitsForOneMnistImage) {
  torch::manual_seed(0);
  auto network = makeNetwork(makeSpec("wrn28-10", 1, 28, 7));
  torch::NoGradGuard noGrad;
  EXPECT_EQ(network->forward(torch::randn({1, 1, 28, 28})).sizes(), (std::vector<std::int64_t>{1, 7}));
}

TEST(ModelShapesTest, CnnTakesNonSquareImages) {
  auto spec = makeSpec("cnn", 3, 32, 10);
  spec.imageWidth = 20;
  auto network = makeNetwork(spec);
  EXPECT_EQ(network->forward(torch::zeros({2, 3, 32, 20})).sizes(), (std::vector<std::int64_t>{2, 10}));
}

TEST(ModelShapesTest, CnnRejectsImagesTooSmallForItsPooling) {
  EXPECT_THROW(makeNetwork(makeSpec("cnn", 1, 8, 10)), ModelError);
}

// ---------------------------------------------------------------------------------------------

TEST(ModelShapesTest, Resnet20HasTheWellKnownParameterCount) {
  // He et al. 2016, Table 6: ResNet-20 has 0.27M parameters. With option-B projection shortcuts
  // (1x1 conv + BN at the two stage transitions: 16*32 + 64 + 32*64 + 128 = 2,752 parameters) the
  // exact count is 272,474; option A (zero-padding identity) would give 269,722.
  const std::int64_t expected = cifarResNetCount(20, 3, 10);
  EXPECT_EQ(expected, 272474);
  auto network = makeNetwork(makeSpec("resnet20", 3, 32, 10));
  EXPECT_EQ(parameterCount(*network), expected);
  EXPECT_EQ(network->describe(), "resnet20 (272,474 parameters)");
}

TEST(ModelShapesTest, ParameterCountsMatchHandFormulas) {
  // mlp on MNIST: 784*256+256 + 256*128+128 + 128*10+10.
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("mlp", 1, 28, 10))), 235146);
  // LeNet-5 on MNIST: the classic 61,706 (flatten size 16*5*5 = 400).
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("cnn", 1, 28, 10))),
            (1 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + linear(400, 120) + linear(120, 84) + linear(84, 10));
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("cnn", 1, 28, 10))), 61706);
  // On CIFAR the flatten size is 16*6*6 = 576.
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("cnn", 3, 32, 10))),
            (3 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + linear(576, 120) + linear(120, 84) + linear(84, 10));
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("resnet32", 3, 32, 10))), cifarResNetCount(32, 3, 10));
  EXPECT_EQ(parameterCount(*makeNetwork(makeSpec("resnet56", 1, 28, 100))), cifarResNetCount(56, 1, 100));
  // Zagoruyko & Komodakis 2016, Table 1: WRN-16-4 has 2.7M parameters.
  const std::int64_t wrn16 = parameterCount(*makeNetwork(makeSpec("wrn16-4", 3, 32, 10)));
  EXPECT_EQ(wrn16, wideResNetCount(16, 4, 3, 10));
  EXPECT_NEAR(static_cast<double>(wrn16), 2.75e6, 0.05e6);
}

TEST(ModelShapesTest, SameSeedGivesSameInitialParametersAndDifferentSeedDifferent) {
  for (const std::string name : {"mlp", "cnn", "resnet20", "wrn16-4"}) {
    SCOPED_TRACE(name);
    const auto spec = makeSpec(name, 3, 32, 10);
    torch::manual_seed(42);
    const auto first = snapshot(makeNetwork(spec)->parameters());
    torch::manual_seed(42);
    const auto again = snapshot(makeNetwork(spec)->parameters());
    torch::manual_seed(43);
    const auto other = snapshot(makeNetwork(spec)->parameters());
    EXPECT_TRUE(allEqual(first, again));
    EXPECT_FALSE(allEqual(first, other));
  }
}

TEST(ModelShapesTest, ResidualNetworksUseHeInitialisationAndUnitBatchNorm) {
  torch::manual_seed(0);
  auto network = makeNetwork(makeSpec("resnet56", 3, 32, 10));
  std::int64_t convs = 0;
  std::int64_t norms = 0;
  for (const auto& p : network->parameters()) {
    if (p.dim() == 4 && p.size(2) == 3 && p.size(0) == 64 && p.size(1) == 64) {
      // kaiming normal, fan_out = 64*3*3: std sqrt(2/576) ~ 0.059 (LibTorch's default would be ~0.024).
      EXPECT_NEAR(p.std().item<double>(), std::sqrt(2.0 / 576.0), 0.005);
      ++convs;
    } else if (p.dim() == 1 && p.size(0) == 64 && torch::all(p == 1).item<bool>()) {
      ++norms;
    }
  }
  EXPECT_GT(convs, 0);
  EXPECT_GT(norms, 0);
}

TEST(ModelShapesTest, ParametersComeInAFixedOrderOfTheSameTensors) {
  auto network = makeNetwork(makeSpec("resnet20", 3, 32, 10));
  const auto first = network->parameters();
  const auto second = network->parameters();
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(first[i].is_same(second[i]));
    EXPECT_TRUE(first[i].requires_grad());
  }
  // The stem convolution comes first and the classifier's bias last.
  EXPECT_EQ(first.front().sizes(), (std::vector<std::int64_t>{16, 3, 3, 3}));
  EXPECT_EQ(first.back().sizes(), (std::vector<std::int64_t>{10}));
}

TEST(ModelShapesTest, UnknownNameIsAConfigErrorNamingIt) {
  try {
    makeNetwork(makeSpec("resnet-9000", 3, 32, 10));
    FAIL() << "no exception";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.flag(), "--model");
    const std::string message = error.what();
    EXPECT_NE(message.find("resnet-9000"), std::string::npos) << message;
    EXPECT_NE(message.find("wrn28-10"), std::string::npos) << message;  // lists the valid names
  }
}

// The built-in batch norm's evaluation mode is LibTorch's batch_norm written as its affine map: the
// same outputs (to float32 rounding) on running statistics away from 0 and 1; training mode is
// LibTorch's own, bit for bit, running statistics included.
TEST(ModelShapesTest, AffineEvaluationBatchNormEqualsLibTorchs) {
  torch::manual_seed(3);
  models::AffineEvalBatchNorm2d ours(6);
  torch::nn::BatchNorm2d theirs(6);
  {
    torch::NoGradGuard noGrad;
    for (auto* bn : {static_cast<torch::nn::BatchNorm2dImpl*>(ours.get()), theirs.get()}) {
      bn->weight.copy_(torch::linspace(0.5, 2.0, 6));
      bn->bias.copy_(torch::linspace(-1.0, 1.0, 6));
      bn->running_mean.copy_(torch::linspace(-0.3, 0.7, 6));
      bn->running_var.copy_(torch::linspace(0.2, 3.0, 6));
    }
  }
  const torch::Tensor input = torch::randn({4, 6, 5, 5}) * 2.0 + 0.5;
  ours->eval();
  theirs->eval();
  const torch::Tensor expected = theirs->forward(input);
  EXPECT_TRUE(torch::allclose(ours->forward(input), expected, 1e-6, 1e-6));
  ours->train();
  theirs->train();
  EXPECT_TRUE(torch::equal(ours->forward(input), theirs->forward(input)));
  EXPECT_TRUE(torch::equal(ours->running_mean, theirs->running_mean));
  EXPECT_TRUE(torch::equal(ours->running_var, theirs->running_var));
}

TEST(ModelShapesTest, BatchNormModelsHaveFloatingPointBuffersAndMlpNone) {
  auto resnet = makeNetwork(makeSpec("resnet20", 3, 32, 10));
  const auto buffers = resnet->buffers();
  // 19 BN layers (stem, 2 per block in 9 blocks) + 2 in the projection shortcuts, each with
  // running_mean and running_var (num_batches_tracked is integer and left out).
  EXPECT_EQ(buffers.size(), 2u * 21u);
  for (const auto& buffer : buffers) EXPECT_TRUE(buffer.is_floating_point());
  EXPECT_TRUE(makeNetwork(makeSpec("mlp", 1, 28, 10))->buffers().empty());
  EXPECT_TRUE(makeNetwork(makeSpec("cnn", 1, 28, 10))->buffers().empty());
}

TEST(ModelShapesTest, MakeNetworkLeavesTrainingModeOnAndSetTrainingSwitchesIt) {
  auto network = makeNetwork(makeSpec("resnet20", 3, 32, 10));
  // The shape check ran in eval mode: running statistics are still at their initial values.
  // Each batch norm contributes running_mean (initially 0) then running_var (initially 1).
  const auto initial = network->buffers();
  for (std::size_t i = 0; i < initial.size(); ++i) {
    EXPECT_TRUE(torch::all(initial[i] == (i % 2 == 0 ? 0.0 : 1.0)).item<bool>()) << i;
  }
  const auto input = torch::randn({4, 3, 32, 32});
  const auto before = snapshot(network->buffers());
  network->setTraining(false);
  network->forward(input);
  EXPECT_TRUE(allEqual(before, network->buffers()));  // eval: statistics unchanged
  network->setTraining(true);
  network->forward(input);
  EXPECT_FALSE(allEqual(before, network->buffers()));  // training: statistics updated
}

TEST(ModelShapesTest, SaveThenLoadRoundTripsWeightsAndStatistics) {
  test::TempDir dir;
  const auto spec = makeSpec("resnet20", 3, 32, 10);
  torch::manual_seed(1);
  auto original = makeNetwork(spec);
  original->forward(torch::randn({4, 3, 32, 32}));  // moves the BN statistics off their defaults
  original->save(dir.file("weights.pt"));

  torch::manual_seed(2);
  auto restored = makeNetwork(spec);
  ASSERT_FALSE(allEqual(original->parameters(), restored->parameters()));
  const auto tensorsBefore = restored->parameters();
  restored->load(dir.file("weights.pt"));
  EXPECT_TRUE(allEqual(original->parameters(), restored->parameters()));
  EXPECT_TRUE(allEqual(original->buffers(), restored->buffers()));
  // Loading writes into the existing tensors (an optimizer holding them keeps working).
  const auto tensorsAfter = restored->parameters();
  for (std::size_t i = 0; i < tensorsAfter.size(); ++i) {
    EXPECT_TRUE(tensorsAfter[i].is_same(tensorsBefore[i]));
    EXPECT_TRUE(tensorsAfter[i].requires_grad());
  }

  original->setTraining(false);
  restored->setTraining(false);
  const auto input = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal(original->forward(input), restored->forward(input)));
}

TEST(ModelShapesTest, LoadingWeightsOfAnotherSpecIsAModelErrorAndChangesNothing) {
  test::TempDir dir;
  makeNetwork(makeSpec("resnet20", 3, 32, 100))->save(dir.file("cifar100.pt"));
  makeNetwork(makeSpec("mlp", 3, 32, 10))->save(dir.file("mlp.pt"));
  auto network = makeNetwork(makeSpec("resnet20", 3, 32, 10));
  const auto before = snapshot(network->parameters());
  for (const std::string file : {"cifar100.pt", "mlp.pt", "missing.pt"}) {
    SCOPED_TRACE(file);
    try {
      network->load(dir.file(file));
      FAIL() << "no exception";
    } catch (const ModelError& error) {
      EXPECT_NE(std::string(error.what()).find(dir.file(file)), std::string::npos) << error.what();
    }
    EXPECT_TRUE(allEqual(before, network->parameters()));
  }
}

TEST(ModelShapesTest, DescribeNamesTheModelAndItsSize) {
  EXPECT_EQ(makeNetwork(makeSpec("mlp", 1, 28, 10))->describe(), "mlp (235,146 parameters)");
}

}  // namespace
}  // namespace samscape

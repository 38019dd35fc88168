// TorchScript models: built here in C++ (no Python needed), saved, and loaded through makeNetwork
// as a user's --model-file would be.

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/Error.h"
#include "core/models/ModelSpec.h"
#include "core/models/Network.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

const char* const kLinearForward = R"(
def forward(self, x):
    return torch.matmul(x.flatten(1), self.weight.t()) + self.bias
)";

// A linear classifier on flattened images, with inputFeatures = C*H*W.
torch::jit::Module tinyNet(std::int64_t inputFeatures, std::int64_t classes,
                           const std::string& forward = kLinearForward) {
  torch::jit::Module module("TinyNet");
  module.register_parameter("weight", torch::randn({classes, inputFeatures}), /*is_buffer=*/false);
  module.register_parameter("bias", torch::zeros({classes}), /*is_buffer=*/false);
  module.define(forward);
  return module;
}

ModelSpec scriptedSpec(const std::string& file, int channels = 1, int size = 28, int classes = 10) {
  ModelSpec spec;
  spec.modelFile = file;
  spec.inputChannels = channels;
  spec.imageHeight = size;
  spec.imageWidth = size;
  spec.numClasses = classes;
  return spec;
}

std::string messageOf(const ModelSpec& spec) {
  try {
    makeNetwork(spec);
  } catch (const ModelError& error) {
    return error.what();
  }
  return "(no ModelError)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ScriptedModelTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
};

TEST_F(ScriptedModelTest, GivesLogitsOfTheRightShape) {
  const auto file = dir_.file("tiny.pt");
  tinyNet(784, 10).save(file);
  auto network = makeNetwork(scriptedSpec(file));
  EXPECT_EQ(network->forward(torch::randn({5, 1, 28, 28})).sizes(), (std::vector<std::int64_t>{5, 10}));
  EXPECT_EQ(parameterCount(*network), 7850);
  EXPECT_EQ(network->describe(), "TorchScript model " + file + " (7,850 parameters)");
}

TEST_F(ScriptedModelTest, ParametersAreTheRegisteredOnesAndRequireGrad) {
  const auto file = dir_.file("tiny.pt");
  auto module = tinyNet(784, 10);
  // Saved frozen, as a module exported for inference might be.
  for (const auto& parameter : module.parameters()) {
    auto p = parameter;
    p.requires_grad_(false);
  }
  module.save(file);
  auto network = makeNetwork(scriptedSpec(file));
  const auto parameters = network->parameters();
  ASSERT_EQ(parameters.size(), 2u);
  EXPECT_TRUE(torch::equal(parameters[0], module.attr("weight").toTensor()));
  EXPECT_TRUE(torch::equal(parameters[1], module.attr("bias").toTensor()));
  for (const auto& parameter : parameters) EXPECT_TRUE(parameter.requires_grad());
  EXPECT_TRUE(network->buffers().empty());
  // The same tensors every time.
  EXPECT_TRUE(network->parameters()[0].is_same(parameters[0]));
}

TEST_F(ScriptedModelTest, GradientsFlowToEveryParameter) {
  const auto file = dir_.file("tiny.pt");
  tinyNet(784, 10).save(file);
  auto network = makeNetwork(scriptedSpec(file));
  const auto logits = network->forward(torch::randn({4, 1, 28, 28}));
  torch::nn::functional::cross_entropy(logits, torch::tensor({0, 3, 5, 9}, torch::kLong)).backward();
  for (const auto& parameter : network->parameters()) {
    ASSERT_TRUE(parameter.grad().defined());
    EXPECT_GT(parameter.grad().abs().sum().item<double>(), 0.0);
  }
}

TEST_F(ScriptedModelTest, FloatingPointBuffersAreReported) {
  const auto file = dir_.file("scaled.pt");
  torch::jit::Module module("Scaled");
  module.register_parameter("weight", torch::randn({10, 784}), false);
  module.register_buffer("scale", torch::full({1}, 0.5));
  module.register_buffer("steps", torch::zeros({1}, torch::kLong));
  module.define(R"(
def forward(self, x):
    return torch.matmul(x.flatten(1), self.weight.t()) * self.scale
)");
  module.save(file);
  auto network = makeNetwork(scriptedSpec(file));
  const auto buffers = network->buffers();
  ASSERT_EQ(buffers.size(), 1u);
  EXPECT_EQ(buffers[0].item<float>(), 0.5f);
}

TEST_F(ScriptedModelTest, SaveThenLoadRoundTripsWeights) {
  const auto file = dir_.file("tiny.pt");
  tinyNet(784, 10).save(file);
  auto trained = makeNetwork(scriptedSpec(file));
  {
    torch::NoGradGuard noGrad;
    for (auto& parameter : trained->parameters()) parameter.add_(1.0);
  }
  const auto savedFile = dir_.file("trained.pt");
  trained->save(savedFile);
  // Still a TorchScript module, loadable by torch.jit.load.
  EXPECT_NO_THROW(torch::jit::load(savedFile));

  auto fresh = makeNetwork(scriptedSpec(file));
  const auto freshTensors = fresh->parameters();
  fresh->load(savedFile);
  const auto loaded = fresh->parameters();
  const auto expected = trained->parameters();
  ASSERT_EQ(loaded.size(), expected.size());
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    EXPECT_TRUE(torch::equal(loaded[i], expected[i]));
    EXPECT_TRUE(loaded[i].is_same(freshTensors[i]));  // loaded in place
    EXPECT_TRUE(loaded[i].requires_grad());
  }
}

TEST_F(ScriptedModelTest, LoadingAnotherModelsWeightsIsAModelError) {
  const auto file = dir_.file("tiny.pt");
  tinyNet(784, 10).save(file);
  const auto otherFile = dir_.file("other.pt");
  tinyNet(784, 7).save(otherFile);
  auto network = makeNetwork(scriptedSpec(file));
  try {
    network->load(otherFile);
    FAIL() << "no exception";
  } catch (const ModelError& error) {
    EXPECT_TRUE(contains(error.what(), otherFile)) << error.what();
    EXPECT_TRUE(contains(error.what(), "[7, 784]")) << error.what();
  }
}

TEST_F(ScriptedModelTest, MissingFileIsAModelErrorNamingIt) {
  const auto file = dir_.file("does-not-exist.pt");
  const auto message = messageOf(scriptedSpec(file));
  EXPECT_EQ(message, file + ": cannot load TorchScript module: no such file");
}

TEST_F(ScriptedModelTest, FileThatIsNotAModuleIsAModelErrorNamingIt) {
  const auto file = dir_.file("notes.txt");
  {
    std::ofstream out(file);
    out << "not a TorchScript archive\n";
  }
  const auto message = messageOf(scriptedSpec(file));
  EXPECT_TRUE(contains(message, file + ": cannot load TorchScript module: ")) << message;
  EXPECT_FALSE(contains(message, "\n")) << message;
}

TEST_F(ScriptedModelTest, WrongNumberOfClassesIsAModelErrorGivingTheShapes) {
  const auto file = dir_.file("seven.pt");
  tinyNet(784, 7).save(file);
  const auto message = messageOf(scriptedSpec(file, 1, 28, 10));
  EXPECT_TRUE(contains(message, file)) << message;
  EXPECT_TRUE(contains(message, "[2, 7]")) << message;
  EXPECT_TRUE(contains(message, "[2, 10]")) << message;
}

TEST_F(ScriptedModelTest, ModelForAnotherInputShapeIsAModelError) {
  const auto file = dir_.file("cifar.pt");
  tinyNet(3 * 32 * 32, 10).save(file);
  const auto message = messageOf(scriptedSpec(file, 1, 28, 10));
  EXPECT_TRUE(contains(message, file)) << message;
  EXPECT_TRUE(contains(message, "[2, 1, 28, 28]")) << message;
  EXPECT_FALSE(contains(message, "\n")) << message;
  // The interpreter's own error (its last line), not its generic first line.
  EXPECT_FALSE(contains(message, "The following operation failed")) << message;
}

TEST_F(ScriptedModelTest, ModelReturningATupleIsAModelError) {
  const auto file = dir_.file("tuple.pt");
  tinyNet(784, 10, R"(
def forward(self, x):
    logits = torch.matmul(x.flatten(1), self.weight.t()) + self.bias
    return (logits, logits)
)")
      .save(file);
  const auto message = messageOf(scriptedSpec(file));
  EXPECT_TRUE(contains(message, file)) << message;
  EXPECT_TRUE(contains(message, "tensor")) << message;
}

TEST_F(ScriptedModelTest, TrainingModeIsKeptAndSwitchable) {
  const auto file = dir_.file("mode.pt");
  // Logits 1 in training mode and 0 in eval mode, so the mode is visible in the output. Modules
  // scripted in Python always have the `training` attribute; one built in C++ needs it registered
  // before a method can use it.
  torch::jit::Module module("ModeNet");
  module.register_parameter("weight", torch::randn({10, 784}), false);
  module.register_parameter("bias", torch::zeros({10}), false);
  module.register_attribute("training", c10::BoolType::get(), true);
  module.define(R"(
def forward(self, x):
    logits = torch.matmul(x.flatten(1), self.weight.t()) * 0.0 + self.bias
    if self.training:
        return logits + 1.0
    return logits
)");
  module.save(file);
  auto network = makeNetwork(scriptedSpec(file));  // its check runs in eval mode
  const auto input = torch::zeros({1, 1, 28, 28});
  EXPECT_EQ(network->forward(input).sum().item<float>(), 10.0f);
  network->setTraining(false);
  EXPECT_EQ(network->forward(input).sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace samscape

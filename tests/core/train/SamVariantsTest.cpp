// GSAM, LookSAM, gradient accumulation and bf16 autocast inside real training steps and runs: each
// against the computation it must equal (one batch, one replica with m-chunks, an uninterrupted run).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/optim/rules/LookSamRule.h"
#include "core/optim/rules/SharpnessRules.h"
#include "core/train/Checkpoint.h"
#include "core/train/DataParallelStep.h"
#include "core/train/Trainer.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

ModelSpec modelNamed(const std::string& name) {
  ModelSpec spec;
  spec.name = name;
  spec.inputChannels = 1;
  spec.imageHeight = 12;
  spec.imageWidth = 12;
  spec.numClasses = 10;
  return spec;
}

Batch randomBatch(std::int64_t size, std::uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({size, 1, 12, 12}), torch::randint(0, 10, {size}, torch::kInt64)};
}

std::vector<Replica> replicasOn(const std::string& model, const std::vector<std::string>& devices) {
  torch::manual_seed(3);
  auto replicas = makeReplicas(modelNamed(model), devices);
  for (auto& replica : replicas) replica.network->setTraining(true);
  return replicas;
}

OptimizerSpec specOf(const std::string& kind) {
  OptimizerSpec spec;
  spec.kind = kind;
  spec.rho = 0.1;
  spec.learningRate = 0.05;
  return spec;
}

double largestDifference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double largest = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) largest = std::max(largest, (a[i] - b[i]).abs().max().item<double>());
  return largest;
}

// `steps` steps of `left` and `right` (each with its own spec and replicas) on the same batches.
void trainSideBySide(std::vector<Replica>& left, const OptimizerSpec& leftSpec, std::vector<Replica>& right,
                     const OptimizerSpec& rightSpec, int steps) {
  auto leftOptimizer = makeOptimizer(left.front().parameters, leftSpec);
  auto rightOptimizer = makeOptimizer(right.front().parameters, rightSpec);
  auto leftRule = makeSharpnessRule(leftSpec.kind);
  auto rightRule = makeSharpnessRule(rightSpec.kind);
  for (int step = 0; step < steps; ++step) {
    const Batch batch = randomBatch(16, 100 + static_cast<std::uint64_t>(step));
    StepContext leftContext, rightContext;
    leftContext.globalStep = rightContext.globalStep = step;
    leftContext.rule = leftRule.get();
    rightContext.rule = rightRule.get();
    const StepOutcome a = trainingStep(left, *leftOptimizer, leftSpec, batch, nullptr, leftContext);
    const StepOutcome b = trainingStep(right, *rightOptimizer, rightSpec, batch, nullptr, rightContext);
    EXPECT_NEAR(a.lossSum, b.lossSum, 1e-5 * std::abs(b.lossSum)) << "step " << step;
  }
}

TEST(SamVariants, AccumulatedMicroBatchesTrainAsTheWholeBatch) {
  // The mlp has no batch norm, whose batch statistics would differ between a micro-batch and the batch.
  for (const std::string kind : {"sgd", "sam", "gsam"}) {
    auto whole = replicasOn("mlp", {"cpu"});
    auto micro = replicasOn("mlp", {"cpu"});
    OptimizerSpec accumulated = specOf(kind);
    accumulated.accumulate = 4;
    trainSideBySide(whole, specOf(kind), micro, accumulated, 3);
    EXPECT_LT(largestDifference(whole.front().parameters, micro.front().parameters), 1e-5) << kind;
  }
}

TEST(SamVariants, GsamAveragedAndLookSamAcrossTwoReplicasEqualOneReplicaWithMHalfTheBatch) {
  // Each replica perturbs its own half, as m = 8 does on one replica; GSAM's decomposition (with
  // --gsam-decompose averaged) and LookSAM's g_v are taken on the averaged gradients (clean ones
  // included), as on one replica's chunk-averaged ones.
  for (const std::string kind : {"gsam", "looksam"}) {
    auto two = replicasOn("mlp", {"cpu", "cpu"});
    auto one = replicasOn("mlp", {"cpu"});
    OptimizerSpec spec = specOf(kind);
    spec.gsamAlpha = 0.5;
    spec.gsamDecompose = GsamDecomposition::Averaged;
    spec.lookSamK = 2;
    OptimizerSpec chunked = spec;
    chunked.m = 8;
    trainSideBySide(two, spec, one, chunked, 5);
    EXPECT_LT(largestDifference(two.front().parameters, one.front().parameters), 1e-5) << kind;
  }
}

// The step's gradients of a shard by autograd on a network of the same weights: the clean g, and g_sam
// at w + rho g / |g| (flattened, float64).
struct ShardGradients {
  torch::Tensor clean;
  torch::Tensor perturbed;
};

ShardGradients handGradients(Network& network, const torch::Tensor& images, const torch::Tensor& labels, double rho) {
  const std::vector<torch::Tensor> parameters = network.parameters();
  const auto gradient = [&] {
    const torch::Tensor loss = torch::nn::functional::cross_entropy(network.forward(images), labels);
    std::vector<torch::Tensor> flat;
    for (const auto& g : torch::autograd::grad({loss}, parameters)) flat.push_back(g.reshape(-1).to(torch::kFloat64));
    return torch::cat(flat);
  };
  ShardGradients result;
  result.clean = gradient();
  const torch::Tensor e = result.clean * (rho / result.clean.norm().item<double>());
  std::int64_t offset = 0;
  {
    torch::NoGradGuard noGrad;
    for (const auto& parameter : parameters) {
      parameter.add_(e.slice(0, offset, offset + parameter.numel()).view(parameter.sizes()).to(parameter.scalar_type()));
      offset += parameter.numel();
    }
  }
  result.perturbed = gradient();
  offset = 0;
  {
    torch::NoGradGuard noGrad;
    for (const auto& parameter : parameters) {
      parameter.sub_(e.slice(0, offset, offset + parameter.numel()).view(parameter.sizes()).to(parameter.scalar_type()));
      offset += parameter.numel();
    }
  }
  return result;
}

// GSAM's formula (Zhuang et al. 2022): g_sam - alpha (g - (g.g_sam / |g_sam|^2) g_sam).
torch::Tensor gsamDecomposition(const ShardGradients& g, double alpha) {
  const double projection = (g.clean * g.perturbed).sum().item<double>() / (g.perturbed * g.perturbed).sum().item<double>();
  return g.perturbed - alpha * (g.clean - projection * g.perturbed);
}

// The authors' GSAM decomposes on each worker before the all-reduce (github.com/juntang-zhuang/GSAM,
// gsam/gsam.py, step()): across two replicas the step's gradient is the mean over the replicas of
// their decompositions, which --gsam-decompose per-replica (the default) must give and averaged must
// not; averaged is the decomposition of the means.
TEST(SamVariants, GsamAcrossTwoReplicasDecomposesPerReplicaAsTheAuthorsOrTheAveragesByHand) {
  const double rho = 0.1;
  const double alpha = 0.5;
  const Batch batch = randomBatch(16, 400);
  auto reference = replicasOn("mlp", {"cpu"});
  const ShardGradients first =
      handGradients(*reference.front().network, batch.images.slice(0, 0, 8), batch.labels.slice(0, 0, 8), rho);
  const ShardGradients second =
      handGradients(*reference.front().network, batch.images.slice(0, 8, 16), batch.labels.slice(0, 8, 16), rho);
  const torch::Tensor perReplica = 0.5 * (gsamDecomposition(first, alpha) + gsamDecomposition(second, alpha));
  const torch::Tensor averaged = gsamDecomposition(
      {0.5 * (first.clean + second.clean), 0.5 * (first.perturbed + second.perturbed)}, alpha);
  const double scale = perReplica.abs().max().item<double>();
  const double tolerance = 1e-5 * scale;
  ASSERT_GT((perReplica - averaged).abs().max().item<double>(), 100 * tolerance)
      << "the two decompositions must differ for the test to tell them apart";

  for (const GsamDecomposition mode : {GsamDecomposition::PerReplica, GsamDecomposition::Averaged}) {
    auto two = replicasOn("mlp", {"cpu", "cpu"});
    OptimizerSpec spec = specOf("gsam");
    spec.rho = rho;
    spec.gsamAlpha = alpha;
    spec.gsamDecompose = mode;
    auto optimizer = makeOptimizer(two.front().parameters, spec);
    trainingStep(two, *optimizer, spec, batch);
    // The first replica's .grad() holds the gradient the base optimizer stepped with.
    std::vector<torch::Tensor> flat;
    for (const auto& parameter : two.front().parameters) flat.push_back(parameter.grad().reshape(-1).to(torch::kFloat64));
    const torch::Tensor stepped = torch::cat(flat);
    const torch::Tensor& expected = mode == GsamDecomposition::PerReplica ? perReplica : averaged;
    EXPECT_LT((stepped - expected).abs().max().item<double>(), tolerance) << nameOf(mode);
  }
}

TEST(SamVariants, LookSamBetweenAscentsTakesOneForwardPassAndDiffersFromSgd) {
  auto lookSam = replicasOn("mlp", {"cpu"});
  auto sgd = replicasOn("mlp", {"cpu"});
  OptimizerSpec spec = specOf("looksam");
  spec.lookSamK = 3;
  auto lookSamOptimizer = makeOptimizer(lookSam.front().parameters, spec);
  auto sgdOptimizer = makeOptimizer(sgd.front().parameters, specOf("sgd"));
  LookSamRule rule;
  for (int step = 0; step < 3; ++step) {
    const Batch batch = randomBatch(16, 200 + static_cast<std::uint64_t>(step));
    StepContext context;
    context.globalStep = step;
    context.rule = &rule;
    EXPECT_EQ(rule.takesAscent(RuleContext{spec, step}), step == 0) << "step " << step;
    trainingStep(lookSam, *lookSamOptimizer, spec, batch, nullptr, context);
    trainingStep(sgd, *sgdOptimizer, specOf("sgd"), batch);
    EXPECT_FALSE(rule.orthogonal().empty());
  }
  EXPECT_GT(largestDifference(lookSam.front().parameters, sgd.front().parameters), 1e-4)
      << "the reused g_v must change the steps between ascents";
}

TEST(SamVariants, Bf16AutocastStepsCloseToFp32WithFp32MasterWeights) {
  auto fp32 = replicasOn("cnn", {"cpu"});
  auto bf16 = replicasOn("cnn", {"cpu"});
  const OptimizerSpec spec = specOf("sam");
  auto fp32Optimizer = makeOptimizer(fp32.front().parameters, spec);
  auto bf16Optimizer = makeOptimizer(bf16.front().parameters, spec);
  StepContext halfContext;
  halfContext.precision = Precision::Bf16;
  for (int step = 0; step < 2; ++step) {
    const Batch batch = randomBatch(16, 300 + static_cast<std::uint64_t>(step));
    const StepOutcome a = trainingStep(fp32, *fp32Optimizer, spec, batch);
    const StepOutcome b = trainingStep(bf16, *bf16Optimizer, spec, batch, nullptr, halfContext);
    // bf16 keeps 8 significant bits: the loss moves by about 2^-8 relative, never by nothing.
    EXPECT_NEAR(b.lossSum, a.lossSum, 0.03 * std::abs(a.lossSum)) << "step " << step;
    if (step == 0) {
      EXPECT_NE(b.lossSum, a.lossSum) << "the forward pass did not run in bf16";
    }
  }
  for (const auto& parameter : bf16.front().parameters) {
    EXPECT_EQ(parameter.scalar_type(), torch::kFloat32);
    ASSERT_TRUE(parameter.grad().defined());
    EXPECT_EQ(parameter.grad().scalar_type(), torch::kFloat32);
  }
  const double drift = largestDifference(fp32.front().parameters, bf16.front().parameters);
  EXPECT_GT(drift, 0.0);
  EXPECT_LT(drift, 5e-3);
  // Autocast is off again once the step is over.
  EXPECT_EQ(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat32);
}

TEST(SamVariants, ALookSamRunResumedBetweenAscentsEndsAsTheUninterruptedOne) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));  // 6 steps an epoch
  config.optimizer.kind = "looksam";
  config.optimizer.lookSamK = 4;  // ascents at steps 0, 4 and 8: epoch 2 starts between ascents
  config.epochs = 2;
  const test::StraightAndResumed runs = test::trainStraightAndResumed(config, dir);
  ASSERT_EQ(runs.straight.status, RunStatus::Finished);
  ASSERT_EQ(runs.interrupted.status, RunStatus::Cancelled);
  ASSERT_EQ(runs.resumed.status, RunStatus::Finished);
  ASSERT_EQ(runs.resumed.epochs.size(), 2u);
  EXPECT_EQ(runs.resumed.epochs[1].trainLoss, runs.straight.epochs[1].trainLoss);
  EXPECT_EQ(runs.resumed.epochs[1].testLoss, runs.straight.epochs[1].testLoss);
}

TEST(SamVariants, TheNewOptionsNameTheirProblems) {
  TrainConfig config;
  config.optimizer.kind = "sam";
  config.optimizer.gsamAlpha = 0.3;
  EXPECT_THROW(validateConfig(config), ConfigError);
  config.optimizer.kind = "gsam";
  EXPECT_NO_THROW(validateConfig(config));
  config.optimizer.accumulate = 0;
  try {
    validateConfig(config);
    FAIL() << "accumulate 0 accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("--accumulate"), std::string::npos) << error.what();
  }
  config.optimizer.accumulate = 4;
  config.optimizer.m = 16;
  EXPECT_THROW(validateConfig(config), ConfigError);
  config.optimizer.m = 0;
  config.batchSize = 3;
  EXPECT_THROW(validateConfig(config), ConfigError);
  config.batchSize = 128;
  config.optimizer.kind = "looksam";
  config.optimizer.lookSamK = 0;
  EXPECT_THROW(validateConfig(config), ConfigError);
}

}  // namespace
}  // namespace samscape

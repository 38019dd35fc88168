// With --batch-size equal to the training set, --no-shuffle, --no-augment and --no-normalize, an
// epoch is one full-batch SGD step, so the test loss after each epoch is a deterministic function of
// the model file and the data. Here an independent implementation (a hand-written two-layer network
// with its gradient derived by hand, in Eigen, in double precision) must get the same numbers as the
// trainer (LibTorch, float32) running a TorchScript copy of the same network, for SGD and for SAM.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <torch/script.h>
#include <torch/torch.h>

#include <random>

#include "core/train/Trainer.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

constexpr int kHidden = 16;

struct TwoLayerNetwork {
  Matrix w1, w2;  // [H, D], [K, H]
  Vector b1, b2;
};

Matrix pixelsAsRows(const ImageSet& set) {
  const auto inputs = static_cast<Eigen::Index>(set.imageBytes());
  Matrix x(static_cast<Eigen::Index>(set.size()), inputs);
  for (Eigen::Index n = 0; n < x.rows(); ++n) {
    for (Eigen::Index d = 0; d < inputs; ++d) {
      // The trainer scales bytes to [0, 1] in float32; do the same rounding, then work in double.
      x(n, d) = static_cast<double>(static_cast<float>(set.pixels[static_cast<std::size_t>(n * inputs + d)]) / 255.0f);
    }
  }
  return x;
}

struct ForwardPass {
  Matrix hiddenPre, hidden, probabilities;
  double meanLoss = 0.0;
};

ForwardPass forward(const TwoLayerNetwork& net, const Matrix& x, const std::vector<std::int64_t>& labels) {
  ForwardPass pass;
  pass.hiddenPre = (x * net.w1.transpose()).rowwise() + net.b1.transpose();
  pass.hidden = pass.hiddenPre.cwiseMax(0.0);
  Matrix logits = (pass.hidden * net.w2.transpose()).rowwise() + net.b2.transpose();
  pass.probabilities.resize(logits.rows(), logits.cols());
  double lossSum = 0.0;
  for (Eigen::Index n = 0; n < logits.rows(); ++n) {
    const double top = logits.row(n).maxCoeff();
    const Vector shifted = (logits.row(n).array() - top).exp().transpose();
    const double normalizer = shifted.sum();
    pass.probabilities.row(n) = shifted.transpose() / normalizer;
    lossSum += -(logits(n, labels[static_cast<std::size_t>(n)]) - top - std::log(normalizer));
  }
  pass.meanLoss = lossSum / static_cast<double>(logits.rows());
  return pass;
}

// Gradient of the mean cross-entropy by the chain rule, written out.
TwoLayerNetwork gradient(const TwoLayerNetwork& net, const Matrix& x,
                         const std::vector<std::int64_t>& labels, const ForwardPass& pass) {
  Matrix outputGrad = pass.probabilities;
  for (Eigen::Index n = 0; n < outputGrad.rows(); ++n) outputGrad(n, labels[static_cast<std::size_t>(n)]) -= 1.0;
  outputGrad /= static_cast<double>(x.rows());
  TwoLayerNetwork grad;
  grad.w2 = outputGrad.transpose() * pass.hidden;
  grad.b2 = outputGrad.colwise().sum().transpose();
  const Matrix hiddenGrad =
      (outputGrad * net.w2).array() * (pass.hiddenPre.array() > 0.0).cast<double>();
  grad.w1 = hiddenGrad.transpose() * x;
  grad.b1 = hiddenGrad.colwise().sum().transpose();
  return grad;
}

torch::Tensor toTensor(const Matrix& m) {
  torch::Tensor t = torch::empty({m.rows(), m.cols()}, torch::kFloat32);
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) t[r][c] = static_cast<float>(m(r, c));
  return t;
}

torch::Tensor toTensor(const Vector& v) {
  torch::Tensor t = torch::empty({v.size()}, torch::kFloat32);
  for (Eigen::Index i = 0; i < v.size(); ++i) t[i] = static_cast<float>(v(i));
  return t;
}

// Initial weights drawn here, rounded to float32 so that both implementations start identical.
TwoLayerNetwork randomNetwork(int inputs, int classes, std::uint32_t seed) {
  std::mt19937 engine(seed);
  auto draw = [&engine](double scale) {
    return static_cast<double>(static_cast<float>(scale * (static_cast<double>(engine()) / 4294967295.0 - 0.5)));
  };
  TwoLayerNetwork net{Matrix(kHidden, inputs), Matrix(classes, kHidden), Vector(kHidden), Vector(classes)};
  for (Eigen::Index i = 0; i < net.w1.size(); ++i) net.w1.data()[i] = draw(0.3);
  for (Eigen::Index i = 0; i < net.w2.size(); ++i) net.w2.data()[i] = draw(1.0);
  for (Eigen::Index i = 0; i < net.b1.size(); ++i) net.b1(i) = draw(0.2);
  for (Eigen::Index i = 0; i < net.b2.size(); ++i) net.b2(i) = draw(0.2);
  return net;
}

void saveAsTorchScript(const TwoLayerNetwork& net, const std::string& path) {
  torch::jit::Module module("TwoLayerNetwork");
  module.register_parameter("w1", toTensor(net.w1), false);
  module.register_parameter("b1", toTensor(net.b1), false);
  module.register_parameter("w2", toTensor(net.w2), false);
  module.register_parameter("b2", toTensor(net.b2), false);
  module.define(R"(
def forward(self, x):
    h = torch.relu(torch.matmul(x.flatten(1), self.w1.t()) + self.b1)
    return torch.matmul(h, self.w2.t()) + self.b2
)");
  module.save(path);
}

struct ReferenceRun {
  double learningRate = 0.5;
  double momentum = 0.9;
  double weightDecay = 1e-3;
  double rho = -1.0;  // >= 0: SAM with this radius
  // A step schedule: the rate is multiplied by 0.1 from epoch 4 on (written out per epoch below, not
  // taken from the trainer's schedule), and SAM's radius follows it (--rho-schedule lr).
  bool stepAndRhoFollowsLearningRate = false;
};

TwoLayerNetwork weightedSum(const TwoLayerNetwork& a, double alpha, const TwoLayerNetwork& b) {
  return {a.w1 + alpha * b.w1, a.w2 + alpha * b.w2, a.b1 + alpha * b.b1, a.b2 + alpha * b.b2};
}

double norm(const TwoLayerNetwork& n) {
  return std::sqrt(n.w1.squaredNorm() + n.w2.squaredNorm() + n.b1.squaredNorm() + n.b2.squaredNorm());
}

// Runs the trainer (through a TorchScript copy of the network) and the hand-written reference side
// by side, comparing the training loss and the test loss of every epoch.
void expectTrainerMatchesReference(const ReferenceRun& run) {
  test::TempDir dir;
  const test::TinyMnist data(dir.file("mnist"));
  const int inputs = test::TinyMnist::kSide * test::TinyMnist::kSide;
  // MNIST-format data always has 10 classes, whatever subset of them the labels use.
  TwoLayerNetwork net = randomNetwork(inputs, 10, 1234);
  const std::string modelFile = dir.file("two-layer.pt");
  saveAsTorchScript(net, modelFile);

  constexpr int kEpochs = 6;
  TrainConfig config = test::tinyTrainConfig(dir.file("mnist"));
  config.model.modelFile = modelFile;
  config.batchSize = static_cast<std::int64_t>(data.train.size());
  config.shuffle = false;
  config.augment = false;
  config.normalize = false;
  config.epochs = kEpochs;
  config.schedule = run.stepAndRhoFollowsLearningRate ? ScheduleKind::Step : ScheduleKind::Constant;
  if (run.stepAndRhoFollowsLearningRate) {
    config.stepEpochs = {3};
    config.stepFactor = 0.1;
    config.optimizer.rhoSchedule = RhoSchedule::LearningRate;
  }
  config.optimizer.learningRate = run.learningRate;
  config.optimizer.momentum = run.momentum;
  config.optimizer.weightDecay = run.weightDecay;
  if (run.rho >= 0) {
    config.optimizer.kind = "sam";
    config.optimizer.rho = run.rho;
  }
  const TrainingResult result = Trainer(config).run({});
  ASSERT_EQ(result.status, RunStatus::Finished) << result.message;
  ASSERT_EQ(result.epochs.size(), static_cast<std::size_t>(kEpochs));

  // The reference: full-batch SGD with momentum and L2 decay, torch.optim.SGD's recursion, on the
  // plain gradient or on SAM's gradient at w + rho g / ||g||.
  const Matrix trainX = pixelsAsRows(data.train);
  const Matrix testX = pixelsAsRows(data.test);
  TwoLayerNetwork buffer;
  for (int epoch = 1; epoch <= kEpochs; ++epoch) {
    const double learningRate = run.stepAndRhoFollowsLearningRate && epoch >= 4 ? 0.1 * run.learningRate : run.learningRate;
    const double rho = run.stepAndRhoFollowsLearningRate ? run.rho * learningRate / run.learningRate : run.rho;
    const ForwardPass pass = forward(net, trainX, data.train.labels);
    TwoLayerNetwork grad = gradient(net, trainX, data.train.labels, pass);
    if (run.rho >= 0) {
      const TwoLayerNetwork ascent = weightedSum(net, rho / norm(grad), grad);
      grad = gradient(ascent, trainX, data.train.labels, forward(ascent, trainX, data.train.labels));
    }
    grad = weightedSum(grad, run.weightDecay, net);
    buffer = epoch == 1 ? grad : weightedSum(grad, run.momentum, buffer);
    net = weightedSum(net, -learningRate, buffer);
    const double testLoss = forward(net, testX, data.test.labels).meanLoss;

    const EpochMetrics& trained = result.epochs[static_cast<std::size_t>(epoch - 1)];
    // The epoch's training loss is the loss at the weights before its single step.
    EXPECT_NEAR(trained.trainLoss, pass.meanLoss, 2e-5 * pass.meanLoss) << "epoch " << epoch;
    EXPECT_NEAR(trained.testLoss, testLoss, 2e-5 * testLoss) << "epoch " << epoch;
  }
  // The run must have moved: a test that passes on an untrained model proves nothing.
  EXPECT_LT(result.epochs.back().trainLoss, 0.8 * result.epochs.front().trainLoss);
}

TEST(FullBatchReference, SgdMatchesAnIndependentImplementationEpochByEpoch) {
  expectTrainerMatchesReference(ReferenceRun{});
}

TEST(FullBatchReference, SamMatchesAnIndependentImplementationEpochByEpoch) {
  ReferenceRun run;
  run.momentum = 0.0;
  run.weightDecay = 0.0;
  run.rho = 0.5;
  expectTrainerMatchesReference(run);
}

// --rho-schedule lr: from epoch 4 the rate is a tenth, and so is SAM's radius.
TEST(FullBatchReference, SamWithItsRadiusFollowingTheLearningRateMatchesTheReference) {
  ReferenceRun run;
  run.momentum = 0.0;
  run.weightDecay = 0.0;
  run.rho = 0.5;
  run.stepAndRhoFollowsLearningRate = true;
  expectTrainerMatchesReference(run);
}

}  // namespace
}  // namespace samscape

#pragma once
// One epoch's numbers as a training run reports them: a plain value type, without LibTorch, for the
// trainer's observers, the checkpoints, the run store and the GUI.

#include <optional>

namespace samscape {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  // Mean over the epoch's mini-batches of the loss and accuracy at the weights before each step
  // (training mode, augmented data, labels as trained on, i.e. with label noise).
  double trainLoss = 0.0;
  double trainAccuracy = 0.0;
  // Evaluation mode, clean test labels, after the epoch's last step.
  double testLoss = 0.0;
  double testAccuracy = 0.0;
  std::optional<double> validationLoss;
  std::optional<double> validationAccuracy;
  // With --label-noise (nullopt without): evaluation mode over the whole training set after the
  // epoch's last step, the same point as the test metrics. Accuracy on the examples whose label was
  // flipped, against the noisy labels (how much of the noise is memorized) and against their true
  // labels, and on the others against their labels. NaN over no examples (core/train/Memorization.h).
  std::optional<double> trainAccuracyNoisy;
  std::optional<double> trainAccuracyClean;
  std::optional<double> trainAccuracyNoisyTrue;
  double learningRate = 0.0;  // the rate of the epoch's last step
  double seconds = 0.0;       // wall time of the epoch, evaluation included
};

}  // namespace samscape

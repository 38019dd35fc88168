#include "core/train/TrainingMetrics.h"

namespace samscape {

const std::vector<MetricDefinition>& trainingMetrics() {
  using B = MetricDefinition::Better;
  static const std::vector<MetricDefinition> metrics{
      {"train_loss", "train loss", "", "metrics.csv train_loss: the epoch's mini-batches, before each step", B::Lower, true},
      {"train_acc", "train accuracy", "", "metrics.csv train_accuracy: the epoch's mini-batches, before each step", B::Higher, true, false, true},
      {"test_loss", "test loss", "", "metrics.csv test_loss: after the epoch's last step", B::Lower, true, false, true},
      {"test_acc", "test accuracy", "", "metrics.csv test_accuracy: after the epoch's last step", B::Higher, true, false, true},
      {"val_loss", "validation loss", "", "metrics.csv val_loss (with --val-fraction)", B::Lower, true},
      {"val_acc", "validation accuracy", "", "metrics.csv val_accuracy (with --val-fraction)", B::Higher, true},
      {"train_acc_noisy", "train accuracy on flipped labels", "", "metrics.csv train_acc_noisy (with --label-noise): evaluation mode after the epoch's last step, the training examples whose label the noise changed, against their noisy labels: the noise memorized", B::Neither, true, false, true},
      {"train_acc_clean", "train accuracy on clean labels", "", "metrics.csv train_acc_clean (with --label-noise): evaluation mode after the epoch's last step, the training examples the noise left alone", B::Higher, true, false, true},
      {"train_acc_noisy_true", "flipped examples' true-label accuracy", "", "metrics.csv train_acc_noisy_true (with --label-noise): evaluation mode after the epoch's last step, the examples whose label the noise changed, against their labels before the noise", B::Higher, true},
      {"lr", "learning rate", "", "metrics.csv lr: the epoch's last step's", B::Neither, true},
      {"seconds", "epoch time", "s", "metrics.csv seconds: the epoch's wall time, evaluation included", B::Neither, true},
      // A whole run's: no value per epoch (trainingMetricValue), summed by the study summary
      // (session/StudySummary.cpp) so that a study compares what its cells cost with intervals.
      {"train_seconds", "training time", "s",
       "metrics.csv seconds summed over the run's epochs: training and evaluation, not the analyses (studies only)",
       B::Lower, true, false, true},
  };
  return metrics;
}

std::optional<double> trainingMetricValue(const std::string& key, const EpochMetrics& epoch) {
  if (key == "train_loss") return epoch.trainLoss;
  if (key == "train_acc") return epoch.trainAccuracy;
  if (key == "test_loss") return epoch.testLoss;
  if (key == "test_acc") return epoch.testAccuracy;
  if (key == "val_loss") return epoch.validationLoss;
  if (key == "val_acc") return epoch.validationAccuracy;
  if (key == "train_acc_noisy") return epoch.trainAccuracyNoisy;
  if (key == "train_acc_clean") return epoch.trainAccuracyClean;
  if (key == "train_acc_noisy_true") return epoch.trainAccuracyNoisyTrue;
  if (key == "lr") return epoch.learningRate;
  if (key == "seconds") return epoch.seconds;
  return std::nullopt;
}

}  // namespace samscape

#pragma once
// The metrics of a training epoch (metrics.csv), as MetricDefinitions: their keys are the run
// export's column names and the study files' metric names. Plain C++.

#include <optional>
#include <string>
#include <vector>

#include "core/MetricDefinition.h"
#include "core/train/EpochMetrics.h"

namespace samscape {

// In metrics.csv's order: train_loss, train_acc, test_loss, test_acc, val_loss, val_acc,
// train_acc_noisy, train_acc_clean, train_acc_noisy_true, lr, seconds.
const std::vector<MetricDefinition>& trainingMetrics();

// The epoch's value of a training metric; nullopt for another key or a value the epoch lacks (the
// validation metrics without --val-fraction, the memorization ones without --label-noise).
std::optional<double> trainingMetricValue(const std::string& key, const EpochMetrics& epoch);

}  // namespace samscape

#include "core/train/Memorization.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace samscape {

MemorizationCounts& MemorizationCounts::operator+=(const MemorizationCounts& other) {
  flipped += other.flipped;
  flippedPredictedNoisy += other.flippedPredictedNoisy;
  flippedPredictedTrue += other.flippedPredictedTrue;
  clean += other.clean;
  cleanPredictedCorrectly += other.cleanPredictedCorrectly;
  return *this;
}

MemorizationCounts countMemorization(const std::vector<std::int64_t>& predictions, std::size_t first,
                                     const std::vector<std::int64_t>& trainedLabels,
                                     const std::vector<std::int64_t>& cleanLabels,
                                     const std::vector<std::uint8_t>& flipped) {
  if (cleanLabels.size() != trainedLabels.size() || flipped.size() != trainedLabels.size()) {
    throw std::invalid_argument("memorization counts: " + std::to_string(trainedLabels.size()) + " labels, " +
                                std::to_string(cleanLabels.size()) + " clean labels and " +
                                std::to_string(flipped.size()) + " noise flags must agree");
  }
  if (first > trainedLabels.size() || predictions.size() > trainedLabels.size() - first) {
    throw std::invalid_argument("memorization counts: predictions for examples " + std::to_string(first) +
                                " to " + std::to_string(first + predictions.size()) + " of " +
                                std::to_string(trainedLabels.size()));
  }
  MemorizationCounts counts;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const std::size_t example = first + i;
    const std::int64_t predicted = predictions[i];
    if (flipped[example] != 0) {
      ++counts.flipped;
      if (predicted == trainedLabels[example]) ++counts.flippedPredictedNoisy;
      if (predicted == cleanLabels[example]) ++counts.flippedPredictedTrue;
    } else {
      ++counts.clean;
      if (predicted == trainedLabels[example]) ++counts.cleanPredictedCorrectly;
    }
  }
  return counts;
}

void setMemorizationMetrics(const MemorizationCounts& counts, EpochMetrics& epoch) {
  const auto ratio = [](std::int64_t part, std::int64_t whole) {
    return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : std::nan("");
  };
  epoch.trainAccuracyNoisy = ratio(counts.flippedPredictedNoisy, counts.flipped);
  epoch.trainAccuracyNoisyTrue = ratio(counts.flippedPredictedTrue, counts.flipped);
  epoch.trainAccuracyClean = ratio(counts.cleanPredictedCorrectly, counts.clean);
}

}  // namespace samscape

#pragma once
// How much of the label noise a network has memorized: its accuracy, in evaluation mode over the whole
// training set, on the examples whose label was flipped (against the noisy labels it is trained on, and
// against their true labels) and on the untouched ones. Zhang et al. 2017 ("Understanding deep learning
// requires rethinking generalization") show networks fitting random labels; Foret et al. 2021 (SAM,
// Section 3.3 and Table 4) report SAM's robustness to label noise, which these curves let one watch
// epoch by epoch: SGD's accuracy on the flipped labels rising is the memorization that costs test
// accuracy. Plain C++: the counting is separate from the network's predictions so it can be checked by
// hand.

#include <cstdint>
#include <vector>

#include "core/train/EpochMetrics.h"

namespace samscape {

struct MemorizationCounts {
  std::int64_t flipped = 0;                 // training examples whose label the noise changed
  std::int64_t flippedPredictedNoisy = 0;   // of those, predicted as their noisy (trained-on) label
  std::int64_t flippedPredictedTrue = 0;    // of those, predicted as their label before the noise
  std::int64_t clean = 0;                   // training examples the noise left alone
  std::int64_t cleanPredictedCorrectly = 0;  // of those, predicted as their label

  MemorizationCounts& operator+=(const MemorizationCounts& other);
};

// Counts over the training examples [first, first + predictions.size()): predictions[i] is the class
// predicted for example first + i; trainedLabels are the labels after the noise, cleanLabels before it,
// flipped the noise's mask (DatasetSplits::noisyLabelMask). Throws std::invalid_argument when the
// sizes disagree or the range runs past the set.
MemorizationCounts countMemorization(const std::vector<std::int64_t>& predictions, std::size_t first,
                                     const std::vector<std::int64_t>& trainedLabels,
                                     const std::vector<std::int64_t>& cleanLabels,
                                     const std::vector<std::uint8_t>& flipped);

// Sets epoch.trainAccuracyNoisy (flippedPredictedNoisy / flipped), trainAccuracyNoisyTrue
// (flippedPredictedTrue / flipped) and trainAccuracyClean (cleanPredictedCorrectly / clean); a ratio
// over no examples is NaN (no flipped label at a rate that rounds to 0, no clean one at rate 1).
void setMemorizationMetrics(const MemorizationCounts& counts, EpochMetrics& epoch);

}  // namespace samscape

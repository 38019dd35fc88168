#pragma once
// How an analysis evaluates a network on a set of images, pass by pass: the settings every objective,
// Hessian operator, m-sharpness and landscape evaluation share (one struct, not four copies). Plain C++.

#include <cstdint>
#include <string>

#include "core/data/DatasetLoader.h"

namespace samscape {

class DistributedGroup;

struct EvaluationSettings {
  // Standardize each channel with `statistics` (as the run trained: its training split's statistics);
  // otherwise pixels are only scaled to [0, 1].
  bool normalize = true;
  ChannelStatistics statistics;
  // Examples per pass: the memory bound. Results do not depend on it (up to rounding).
  std::int64_t batchSize = 256;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  // A multi-process job (samscape-cli launch -- analyze): each rank takes every world-size-th chunk of
  // the set (a slice: its points), and the sums are all-reduced, so every rank gets the whole set's value.
  DistributedGroup* group = nullptr;
};

}  // namespace samscape

#pragma once
// Measures a job's shape (core/options/OptionCost.h) before its work starts: what one example costs in
// memory and time for a forward pass, a gradient and a Hessian-vector product of this model, on a few
// examples of its data. The size options' costs scale from it, so that a mistyped size is refused
// before it allocates and a long job says how long. LibTorch header: never included by the GUI.

#include <string>

#include "core/data/DatasetLoader.h"
#include "core/data/ImageSet.h"
#include "core/models/Network.h"
#include "core/options/OptionCost.h"

namespace samscape {

struct ProbeOptions {
  bool normalize = true;
  ChannelStatistics statistics;
  std::string device = "cpu";
  bool doublePrecision = false;  // the passes in float64, as the analyses run them by default
  bool hessianProduct = false;   // also measure a Hessian-vector product (double backward)
};

// Fills `shape`'s per-example bytes and seconds (and parameters, imageBytes and layers) from passes
// over the first few examples of `images` (at most 24). Memory is read from the C heap's bytes in use
// (mallinfo2) with the autograd graphs alive, at two batch sizes, so the per-example slope excludes the
// parameter-sized buffers; on a CUDA device the bytes live on the device and are not measured
// (footprintMeasured stays false). The network is left in evaluation mode with its weights, dtype and
// device unchanged, and no gradient is accumulated into its parameters.
void probeFootprint(Network& network, const ImageSet& images, const ProbeOptions& options, JobShape& shape);

// Bytes the C heap holds for this process now (mallinfo2: arenas in use plus mmapped blocks).
double heapBytesInUse();

}  // namespace samscape

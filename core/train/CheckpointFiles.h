#pragma once
// Where a run's checkpoints are (the layout is described in Checkpoint.h), without reading them: plain
// C++, for session/ and the GUI, which resolve a run to resume without LibTorch.

#include <string>

namespace samscape {

// checkpoints/initial/: the weights before the first step (model.pt only; see writeInitialWeights).
inline constexpr const char* kInitialWeightsDirectory = "initial";

// The newest complete checkpoint's directory in `checkpointsDir`; throws Error when there is none.
std::string latestCheckpoint(const std::string& checkpointsDir);

}  // namespace samscape

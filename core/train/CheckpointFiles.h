#pragma once
// Where a run's checkpoints are (the layout is described in Checkpoint.h), without reading them: plain
// C++, for session/ and the GUI, which resolve a run to resume without LibTorch.

#include <string>
#include <vector>

namespace samscape {

// checkpoints/initial/: the weights before the first step (model.pt only; see writeInitialWeights).
inline constexpr const char* kInitialWeightsDirectory = "initial";

// The complete checkpoint directories in `checkpointsDir` (epoch-NNN, not a staging epoch-NNN.tmp),
// oldest first; empty when there is none (or no such directory).
std::vector<std::string> completeCheckpoints(const std::string& checkpointsDir);

// The newest complete checkpoint's directory in `checkpointsDir`; throws Error when there is none.
std::string latestCheckpoint(const std::string& checkpointsDir);

}  // namespace samscape

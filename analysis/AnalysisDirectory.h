#pragma once
// An analysis directory read back: analysis.json and the files it names, as AnalysisResults. Plain C++.

#include <string>

#include "analysis/AnalysisResults.h"

namespace samscape {

// Reads DIR/analysis.json and the files it names, each registered stage reading its own part
// (analysis/stages/). Throws DataError naming the file for a missing or malformed analysis.json, a
// field of the wrong type, or a companion file it names that is missing or malformed. (A slice killed
// before it finished has no "slice" entry: its partial slice.csv is not read.)
AnalysisResults readAnalysisDirectory(const std::string& directory);

}  // namespace samscape

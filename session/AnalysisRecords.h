#pragma once
// An analysis job's results as run-store records: each registered stage's records
// (analysis/stages/: loss, hessian, per_layer, trace, esd, m_sharpness, slice, ...), each with its part
// of analysis.json and its files. Shared by `analyze` and `train --analyze-every`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/AnalysisResults.h"
#include "core/store/RunStore.h"

namespace samscape {

// From analysis.json's content (`directory` is where its files are).
std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch,
                                            const std::string& directory, const std::string& analysisJson);
// From an analysis' results in memory (their jsonText and directory).
std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch, const AnalysisResults& results);

// The library versions and build of this process, as run-store JSON.
std::string versionsJson();

}  // namespace samscape

#pragma once
// An analysis job's results as run-store records: one AnalysisRecord per kind found in analysis.json
// (loss, hessian, trace, esd, m_sharpness, slice, interpolation, trajectory), each with its part of the
// JSON and its files. Shared by `analyze` and `train --analyze-every`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/RunStore.h"

namespace samscape {

std::vector<AnalysisRecord> analysisRecords(std::int64_t runId, std::optional<int> epoch,
                                            const std::string& directory, const std::string& analysisJson);

// The library versions and build of this process, as run-store JSON.
std::string versionsJson();

}  // namespace samscape

#pragma once
// What one analysis stage cost: its wall time, its Hessian-vector products and the process' peak
// resident memory while it ran, written to analysis.json ("costs", one entry per stage in the order
// they ran), read back into AnalysisResults::costs, recorded in the run store and shown in the app's
// runs table. Plain C++: the GUI holds these.
//
// Memory is the resident set (Linux /proc/self/status VmHWM, its peak reset when the stage starts by
// writing 5 to /proc/self/clear_refs): everything the process holds counts, so in the app, where
// training and other analyses may run beside it, the peak is the process', not the stage's alone. On a
// CUDA device the tensors live in device memory, which this does not see. Where /proc is not there the
// memory fields are absent.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace samscape {

struct StageCost {
  std::string stage;  // the stage's name(): "hessian", "trace", ...
  double seconds = 0.0;
  std::int64_t hessianVectorProducts = 0;
  std::optional<double> residentBytesBefore;  // the process' resident memory when the stage began
  std::optional<double> peakResidentBytes;    // its peak while the stage ran

  // The peak above the resident memory at the start: what the stage itself added (at most).
  std::optional<double> peakAddedBytes() const;
  nlohmann::json toJson() const;
  // Throws DataError naming `file` for a malformed entry.
  static StageCost fromJson(const nlohmann::json& entry, const std::string& file);
};

// Measures one stage: construct when it starts, finish() when it ends.
class StageCostMeter {
 public:
  StageCostMeter(std::string stage, std::int64_t productsBefore);
  StageCost finish(std::int64_t productsAfter) const;

 private:
  std::string stage_;
  std::int64_t productsBefore_;
  std::optional<double> residentBefore_;
  std::chrono::steady_clock::time_point start_;
};

// "hessian 1.2 s, 31 products, peak +48 MB": a stage's cost in one line, for tooltips and logs.
std::string stageCostLine(const StageCost& cost);

}  // namespace samscape

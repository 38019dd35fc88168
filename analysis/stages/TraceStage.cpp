// --trace: tr(H) by Hutchinson's estimator with Rademacher probes (analysis/HessianTrace.h), and its
// standard error: the curvature summed over every direction, not only the sharpest.
#include <sstream>

#include "analysis/HessianTrace.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class TraceStage : public AnalysisStage {
 public:
  std::string name() const override { return "trace"; }
  bool requested(const AnalysisRequest& request) const override { return request.trace; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    TraceOptions options;
    options.probes = context.request.traceProbes;
    options.seed = context.request.seed;
    const TraceResult trace = hutchinsonTrace(context.hessian().native(), options);
    context.document["trace"] = {{"mean", jsonNumber(trace.mean)},
                                 {"stderr", jsonNumber(trace.standardError)},
                                 {"probes", trace.probes},
                                 {"hvp_count", trace.hessianVectorProducts}};
    context.results.metrics["trace"] = trace.mean;
    context.results.metrics["trace_stderr"] = trace.standardError;
    std::ostringstream summary;
    summary << "trace: " << trace.mean << " +- " << trace.standardError << " (" << trace.probes << " probes)";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* trace = reader.section("trace");
    if (trace == nullptr) return;
    if (const auto mean = reader.optionalNumber(*trace, "mean", "trace.")) results.metrics["trace"] = *mean;
    if (const auto error = reader.optionalNumber(*trace, "stderr", "trace.")) results.metrics["trace_stderr"] = *error;
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains("trace")) records.push_back({"trace", document["trace"], {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    using B = MetricDefinition::Better;
    return {{"trace", "Hessian trace", "", "analysis.json trace.mean: Hutchinson's estimate of tr(H)", B::Neither,
             false, false, true},
            {"trace_stderr", "Hessian trace standard error", "", "analysis.json trace.stderr: over the probes",
             B::Neither}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeTraceStage() { return std::make_unique<TraceStage>(); }

}  // namespace samscape

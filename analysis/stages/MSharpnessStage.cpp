// --m-sharpness: the mean over disjoint chunks of m examples of max over ||e|| <= rho of
// L_chunk(w + e) - L_chunk(w), by normalized-gradient ascent (Foret et al. 2021, section 4.1 and
// Figure 3: smaller m correlates better with generalization).
#include <sstream>

#include "analysis/MSharpnessTorch.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class MSharpnessStage : public AnalysisStage {
 public:
  std::string name() const override { return "m_sharpness"; }
  bool requested(const AnalysisRequest& request) const override { return request.mSharpness; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    MSharpnessOptions options;
    options.m = r.m;
    options.rho = r.rho;
    options.ascentSteps = r.ascentSteps;
    options.evaluation = context.session.evaluation();
    const MSharpnessResult sharpness = computeMSharpness(context.network, context.images, options, {}, context.cancel);
    if (sharpness.cancelled) return;
    context.document["m_sharpness"] = jsonNumber(sharpness.value);
    context.document["m_sharpness_details"] = {{"m", r.m},
                                               {"rho", r.rho},
                                               {"ascent_steps", r.ascentSteps},
                                               {"chunks", sharpness.chunks},
                                               {"mode", "eval (batch norm on running statistics)"}};
    context.results.metrics["m_sharpness"] = sharpness.value;
    std::ostringstream summary;
    summary << "m-sharpness (m " << r.m << ", rho " << r.rho << "): " << sharpness.value;
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    if (const auto value = reader.optionalNumber(reader.document(), "m_sharpness", "")) {
      results.metrics["m_sharpness"] = *value;
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (!document.contains("m_sharpness")) return;
    nlohmann::json values = document.value("m_sharpness_details", nlohmann::json::object());
    values["value"] = document["m_sharpness"];
    records.push_back({"m_sharpness", values, {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    return {{"m_sharpness", "m-sharpness", "",
             "analysis.json m_sharpness: mean over m-example chunks of the loss increase in the rho-ball",
             MetricDefinition::Better::Neither, false, false, true}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeMSharpnessStage() { return std::make_unique<MSharpnessStage>(); }

}  // namespace samscape

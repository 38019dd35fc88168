// With --hessian-top: the norm of the analysed set's gradient at the analysed weights, and, when the
// session knows the learning rate the run stepped with there (train --analyze-every), the run's edge
// of stability at it (core/optim/StabilityEdge.h): 2(1+beta)/lr for SGD, and for SAM the SAM-edge of
// Long & Bartlett (JMLR 2024), which depends on this norm. The authors measure the gradient on the batch
// where they measure lambda_max (google-deepmind/sam_edge, sam_edge.py); here both are on the analysed
// set, in evaluation mode, so the edge and lambda_max are comparable. One gradient pass.
#include <cmath>
#include <sstream>

#include "analysis/stages/StageContext.h"
#include "core/optim/StabilityEdge.h"
#include "core/train/DatasetObjective.h"

namespace samscape {
namespace {

class StabilityEdgeStage : public AnalysisStage {
 public:
  std::string name() const override { return "stability_edge"; }
  bool requested(const AnalysisRequest& request) const override { return request.hessianTop > 0; }

  void run(StageContext& context) override {
    DatasetObjective objective(context.network, context.images, context.session.evaluation());
    const double gradientNorm = objective.gradient().to(torch::kFloat64).norm().item<double>();
    nlohmann::json section = {{"gradient_norm", jsonNumber(gradientNorm)}};
    context.results.metrics["gradient_norm"] = gradientNorm;
    std::ostringstream summary;
    summary << "stability edge: ||g|| " << gradientNorm;
    const OptimizerSpec& optimizer = context.session.model.run.optimizer;
    if (context.session.stepLearningRate) {
      const double learningRate = *context.session.stepLearningRate;
      section["learning_rate"] = jsonNumber(learningRate);
      if (const auto edge = stabilityEdge(optimizer, learningRate, gradientNorm)) {
        section["value"] = jsonNumber(edge->value);
        section["kind"] = edge->label;
        if (edge->sam) section["rho"] = jsonNumber(optimizer.rhoAt(learningRate));
        context.results.metrics["stability_edge"] = edge->value;
        summary << ", " << edge->label << " " << edge->value << " at lr " << learningRate;
      } else {
        section["value"] = nullptr;
        section["why_none"] = "no edge derived for --optimizer " + optimizer.kind +
                              (optimizer.m > 0 ? " with --m" : "") +
                              (optimizer.baseKind() == BaseOptimizerKind::Adam ? " on an Adam base" : "");
        summary << " (no edge derived for " << optimizer.kind << ")";
      }
    }
    context.document[name()] = section;
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* section = reader.section("stability_edge");
    if (section == nullptr) return;
    if (const auto norm = reader.optionalNumber(*section, "gradient_norm", "stability_edge.")) {
      results.metrics["gradient_norm"] = *norm;
    }
    if (const auto edge = reader.optionalNumber(*section, "value", "stability_edge.")) {
      results.metrics["stability_edge"] = *edge;
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains(name())) records.push_back({name(), document[name()], {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    using B = MetricDefinition::Better;
    return {{"gradient_norm", "gradient norm ||g||", "",
             "analysis.json stability_edge.gradient_norm: the analysed set's gradient, evaluation mode", B::Neither},
            {"stability_edge", "edge of stability", "",
             "analysis.json stability_edge.value: 2(1+β)/lr for SGD, the SAM-edge (Long & Bartlett 2024) for SAM",
             B::Neither}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeStabilityEdgeStage() { return std::make_unique<StabilityEdgeStage>(); }

}  // namespace samscape

// The analysed set's mean loss and accuracy at the analysed weights (evaluation mode): the number every
// other stage's is read beside.
#include <sstream>

#include "analysis/stages/StageContext.h"
#include "core/train/Evaluation.h"

namespace samscape {
namespace {

class LossStage : public AnalysisStage {
 public:
  std::string name() const override { return "loss"; }
  bool requested(const AnalysisRequest&) const override { return true; }

  void run(StageContext& context) override {
    const StageSession& session = context.session;
    const Evaluation evaluation =
        evaluateClassifier(context.network, context.images, session.model.run.normalize, session.data.trainStatistics,
                           context.request.batchSize, torch::Device(session.device));
    context.document["loss"] = jsonNumber(evaluation.meanLoss);
    context.document["accuracy"] = jsonNumber(evaluation.accuracy);
    context.results.metrics["analysis_loss"] = evaluation.meanLoss;
    context.results.metrics["analysis_accuracy"] = evaluation.accuracy;
    std::ostringstream summary;
    summary << "loss " << evaluation.meanLoss << ", accuracy " << evaluation.accuracy << " on "
            << context.images.size() << " " << context.request.split << " examples";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    if (const auto loss = reader.optionalNumber(reader.document(), "loss", "")) results.metrics["analysis_loss"] = *loss;
    if (const auto accuracy = reader.optionalNumber(reader.document(), "accuracy", "")) {
      results.metrics["analysis_accuracy"] = *accuracy;
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (!document.contains("loss")) return;
    records.push_back({"loss",
                       {{"loss", document["loss"]},
                        {"accuracy", document.value("accuracy", nlohmann::json())},
                        {"split", document.value("split", "")},
                        {"examples", document.value("examples", 0)}},
                       {{"analysis.json", "analysis.json"}}});
  }

  std::vector<MetricDefinition> metrics() const override {
    using B = MetricDefinition::Better;
    return {{"analysis_loss", "analysis loss", "", "analysis.json loss: the analysed set, evaluation mode", B::Lower,
             false, /*onlyWhenComplete=*/true},
            {"analysis_accuracy", "analysis accuracy", "", "analysis.json accuracy: the analysed set, evaluation mode",
             B::Higher, false, /*onlyWhenComplete=*/true}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeLossStage() { return std::make_unique<LossStage>(); }

}  // namespace samscape

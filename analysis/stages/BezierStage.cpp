// --bezier: mode connectivity (Garipov et al. 2018): a quadratic Bezier curve from the analysed weights
// to --interpolate's, its control point trained on the training split so that the loss along the curve
// is low; the loss along it, bezier.csv.
#include <algorithm>
#include <limits>
#include <sstream>

#include "analysis/LossSurfaceTorch.h"
#include "analysis/ModeConnectivity.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class BezierStage : public AnalysisStage {
 public:
  std::string name() const override { return "bezier"; }
  bool requested(const AnalysisRequest& request) const override { return request.bezier; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    BezierOptions options;
    options.steps = r.bezierSteps;
    options.seed = r.seed;
    options.points = r.interpolatePoints;
    options.evaluation = context.session.evaluation();
    BezierResult bezier = trainBezierCurve(context.network, context.session.data.train, context.images,
                                           flatWeights(context.network), flatWeights(*context.session.otherModel),
                                           options, context.cancel);
    if (bezier.status == LandscapeStatus::Cancelled) return;
    writeInterpolationCsv(context.file("bezier.csv"), bezier.curve);
    context.addFile("bezier.csv");
    double largest = -std::numeric_limits<double>::infinity();
    for (double loss : bezier.curve.loss) largest = std::max(largest, loss);
    nlohmann::json description = {{"to", context.session.otherModelDescription},
                                  {"file", "bezier.csv"},
                                  {"points", r.interpolatePoints},
                                  {"steps", r.bezierSteps},
                                  {"batch_size", options.batchSize},
                                  {"learning_rate", options.learningRate},
                                  {"momentum", options.momentum},
                                  {"max_loss", jsonNumber(largest)}};
    if (!bezier.stepLosses.empty()) {
      description["first_step_loss"] = jsonNumber(bezier.stepLosses.front());
      description["last_step_loss"] = jsonNumber(bezier.stepLosses.back());
    }
    context.document["bezier"] = description;
    context.results.bezier = std::move(bezier.curve);
    std::ostringstream summary;
    summary << "bezier: " << r.bezierSteps << " steps, highest loss along the curve " << largest << " -> bezier.csv";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    if (reader.section("bezier") != nullptr) results.bezier = readInterpolationCsv(reader.file("bezier.csv"));
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains("bezier")) records.push_back({"bezier", document["bezier"], {{"bezier.csv", "bezier.csv"}}});
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeBezierStage() { return std::make_unique<BezierStage>(); }

}  // namespace samscape

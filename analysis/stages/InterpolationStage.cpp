// --interpolate: the loss along the straight line from the analysed weights to another model's,
// t in [a, b] (Goodfellow et al. 2015): a barrier between two solutions, or none. interpolation.csv.
#include <sstream>

#include "analysis/LossSurfaceTorch.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class InterpolationStage : public AnalysisStage {
 public:
  std::string name() const override { return "interpolation"; }
  bool requested(const AnalysisRequest& request) const override { return !request.interpolate.empty(); }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    InterpolationOptions options;
    options.points = r.interpolatePoints;
    options.tMin = r.interpolateMin;
    options.tMax = r.interpolateMax;
    options.evaluation = context.session.evaluation();
    InterpolationResult curve = computeInterpolation(context.network, context.images, flatWeights(context.network),
                                                     flatWeights(*context.session.otherModel), options, {}, context.cancel);
    writeInterpolationCsv(context.file("interpolation.csv"), curve);
    context.addFile("interpolation.csv");
    context.document["interpolation"] = {{"to", context.session.otherModelDescription},
                                         {"points", r.interpolatePoints},
                                         {"points_done", curve.pointsDone},
                                         {"range", {r.interpolateMin, r.interpolateMax}},
                                         {"file", "interpolation.csv"}};
    std::ostringstream summary;
    summary << "interpolation: " << curve.pointsDone << " points -> interpolation.csv";
    context.results.interpolation = std::move(curve);
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    if (reader.section("interpolation") != nullptr) {
      results.interpolation = readInterpolationCsv(reader.file("interpolation.csv"));
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains("interpolation")) {
      records.push_back({"interpolation", document["interpolation"], {{"interpolation.csv", "interpolation.csv"}}});
    }
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeInterpolationStage() { return std::make_unique<InterpolationStage>(); }

}  // namespace samscape

// --per-layer: each layer's diagonal Hessian block, its top eigenvalue and trace (analysis/LayerCurvature.h):
// where in the network the curvature sits.
#include <limits>
#include <sstream>

#include "analysis/LayerCurvature.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class LayerCurvatureStage : public AnalysisStage {
 public:
  std::string name() const override { return "per_layer"; }
  bool requested(const AnalysisRequest& request) const override { return request.perLayer; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    std::vector<std::int64_t> sizes;
    for (const auto& parameter : context.network.parameters()) sizes.push_back(parameter.numel());
    LayerCurvatureOptions options;
    options.tolerance = r.tolerance;
    options.traceProbes = r.traceProbes;
    options.seed = r.seed;
    const LayerCurvatureResult layers = layerCurvature(
        context.hessian().native(), groupParametersByModule(context.network.parameterNames(), sizes), options);
    std::vector<LayerCurvatureRow> csvRows;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& layer : layers.layers) {
      csvRows.push_back({layer.group.name, layer.group.size(), layer.topEigenvalue, layer.trace, layer.traceStandardError});
      rows.push_back({{"layer", layer.group.name},
                      {"parameters", layer.group.size()},
                      {"lambda_max", jsonNumber(layer.topEigenvalue)},
                      {"converged", layer.converged},
                      {"trace", jsonNumber(layer.trace)},
                      {"trace_stderr", jsonNumber(layer.traceStandardError)}});
    }
    writeLayerCurvatureCsv(context.file("per_layer.csv"), csvRows);
    context.addFile("per_layer.csv");
    context.document["per_layer"] = {{"file", "per_layer.csv"},
                                     {"layers", rows},
                                     {"trace_probes", r.traceProbes},
                                     {"hvp_count", layers.hessianVectorProducts}};
    context.results.perLayer = std::move(csvRows);
    std::ostringstream summary;
    summary << "per-layer: " << layers.layers.size() << " layers, " << layers.hessianVectorProducts
            << " Hessian-vector products -> per_layer.csv";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* perLayer = reader.section("per_layer");
    if (perLayer == nullptr) return;
    const auto layers = perLayer->find("layers");
    if (layers == perLayer->end() || !layers->is_array()) reader.fail("per_layer.layers must be a list");
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    for (const auto& layer : *layers) {
      if (!layer.is_object() || !layer.contains("layer") || !layer["layer"].is_string() ||
          !layer.contains("parameters") || !layer["parameters"].is_number_integer()) {
        reader.fail("each per_layer.layers entry needs a layer name and a parameter count");
      }
      LayerCurvatureRow row;
      row.layer = layer["layer"].get<std::string>();
      row.parameters = layer["parameters"].get<std::int64_t>();
      const std::string where = "per_layer.layers[" + row.layer + "].";
      row.lambdaMax = reader.optionalNumber(layer, "lambda_max", where).value_or(kNaN);
      row.trace = reader.optionalNumber(layer, "trace", where).value_or(kNaN);
      row.traceStandardError = reader.optionalNumber(layer, "trace_stderr", where).value_or(kNaN);
      results.perLayer.push_back(row);
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains("per_layer")) records.push_back({"per_layer", document["per_layer"], {{"per_layer.csv", "per_layer.csv"}}});
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeLayerCurvatureStage() { return std::make_unique<LayerCurvatureStage>(); }

}  // namespace samscape

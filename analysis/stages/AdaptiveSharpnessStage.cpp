// --adaptive-sharpness: the worst-case loss increase in a ball scaled elementwise by |w|,
// max_{||T^{-1} d||_p <= rho} L(w + d) - L(w) with T = diag(|w|), for p = 2 and p = infinity (Kwon et al.,
// ICML 2021, "ASAM"; Andriushchenko et al., ICML 2023, "A Modern Look at the Relationship between
// Sharpness and Generalization", whose adaptive l-infinity sharpness on batches of 128 correlated best
// with generalization among the sharpness definitions they compared, though weakly). Unlike lambda_max
// and m-sharpness it does not change under the rescalings that leave a ReLU network's function as it is.
// The ascent and its settings: analysis/AdaptiveSharpness.h.
#include <chrono>
#include <sstream>

#include "analysis/AdaptiveSharpnessTorch.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

constexpr const char* kL2Key = "adaptive_sharpness_l2";
constexpr const char* kLinfKey = "adaptive_sharpness_linf";

class AdaptiveSharpnessStage : public AnalysisStage {
 public:
  std::string name() const override { return "adaptive_sharpness"; }
  bool requested(const AnalysisRequest& request) const override { return request.adaptiveSharpness; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    nlohmann::json part = {{"steps", r.adaptiveSteps},
                           {"m", r.adaptiveM},
                           {"random_init", r.adaptiveRandomInit},
                           {"examples", context.images.size()},
                           {"scale", "|w|"},
                           {"mode", "eval (batch norm on running statistics)"}};
    if (r.adaptiveRandomInit) part["seed"] = r.seed;
    std::ostringstream summary;
    summary << "adaptive sharpness (m " << r.adaptiveM << ", " << r.adaptiveSteps << " steps):";
    for (const AdaptiveNorm norm : {AdaptiveNorm::L2, AdaptiveNorm::Linf}) {
      const double rho = norm == AdaptiveNorm::L2 ? r.adaptiveRhoL2 : r.adaptiveRhoLinf;
      if (rho == 0.0) continue;  // this norm not asked for
      AdaptiveSharpnessOptions options;
      options.ascent.norm = norm;
      options.ascent.rho = rho;
      options.ascent.steps = r.adaptiveSteps;
      options.ascent.randomInit = r.adaptiveRandomInit;
      options.ascent.seed = r.seed;
      options.m = r.adaptiveM;
      options.evaluation = context.session.evaluation();
      const auto start = std::chrono::steady_clock::now();
      const AdaptiveSharpnessResult sharpness = computeAdaptiveSharpness(context.network, context.images, options,
                                                                         context.cancel);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      // A cancelled norm is not written; one that finished before it is.
      if (sharpness.cancelled) break;
      const char* normName = adaptiveNormName(norm);
      part[normName] = {{"value", jsonNumber(sharpness.value)},
                        {"rho", rho},
                        {"loss_before", jsonNumber(sharpness.lossBefore)},
                        {"loss_after", jsonNumber(sharpness.lossAfter)},
                        {"perturbation_norm", jsonNumber(sharpness.maxPerturbationNorm)},
                        {"batches", sharpness.batches},
                        {"gradients", sharpness.gradients},
                        {"step_halvings", sharpness.stepHalvings},
                        {"seconds", seconds}};
      if (std::isfinite(sharpness.value)) {
        context.results.metrics[norm == AdaptiveNorm::L2 ? kL2Key : kLinfKey] = sharpness.value;
      }
      summary << " " << normName << " (rho " << rho << ") " << sharpness.value << " in " << seconds << " s;";
    }
    if (!part.contains("l2") && !part.contains("linf")) return;  // cancelled before either finished
    context.document[name()] = part;
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* section = reader.section("adaptive_sharpness");
    if (section == nullptr) return;
    for (const AdaptiveNorm norm : {AdaptiveNorm::L2, AdaptiveNorm::Linf}) {
      const char* normName = adaptiveNormName(norm);
      const auto found = section->find(normName);
      if (found == section->end()) continue;
      if (!found->is_object()) reader.fail(std::string("adaptive_sharpness.") + normName + " must be an object");
      if (const auto value = reader.optionalNumber(*found, "value", std::string("adaptive_sharpness.") + normName + ".")) {
        results.metrics[norm == AdaptiveNorm::L2 ? kL2Key : kLinfKey] = *value;
      }
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains(name())) records.push_back({name(), document[name()], {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    return {{kL2Key, "adaptive sharpness (l2)", "",
             "analysis.json adaptive_sharpness.l2.value: max over ||d / |w| ||_2 <= rho of L(w + d) - L(w), mean over "
             "batches of m examples",
             MetricDefinition::Better::Neither, false, false, /*inStudies=*/true},
            {kLinfKey, "adaptive sharpness (l-inf)", "",
             "analysis.json adaptive_sharpness.linf.value: max over ||d / |w| ||_inf <= rho of L(w + d) - L(w), mean "
             "over batches of m examples",
             MetricDefinition::Better::Neither, false, false, /*inStudies=*/true}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeAdaptiveSharpnessStage() { return std::make_unique<AdaptiveSharpnessStage>(); }

}  // namespace samscape

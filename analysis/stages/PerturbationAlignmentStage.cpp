// --perturbation-alignment: |cos| between SAM's perturbation e = rho g / ||g|| (g the analysed set's
// gradient at the analysed weights, Foret et al. 2021, eq. 2) and the top Hessian eigenvector v1.
// Near a minimum SAM's ascent step points mostly along v1, so SAM acts as a penalty on lambda_max
// (Bartlett, Long & Bousquet 2023, "The Dynamics of Sharpness-Aware Minimization: Bouncing Across
// Ravines and Drifting Towards Wide Minima", JMLR 24); this measures how far that holds on a run.
// The eigenvector's sign is arbitrary: the absolute cosine is reported.
#include <cmath>
#include <limits>
#include <sstream>

#include "analysis/stages/StageContext.h"
#include "core/train/DatasetObjective.h"

namespace samscape {
namespace {

class PerturbationAlignmentStage : public AnalysisStage {
 public:
  std::string name() const override { return "perturbation_alignment"; }
  bool requested(const AnalysisRequest& request) const override { return request.perturbationAlignment; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    // The hessian stage's top eigenvector when it ran; else Lanczos for it here.
    std::int64_t products = 0;
    if (context.topEigenvectors.empty()) {
      SpectrumOptions options;
      options.topK = 1;
      options.tolerance = context.request.tolerance;
      options.eigenvectors = true;
      const CheckedSpectrum checked = context.hessian().lanczos(options);
      products = checked.spectrum.hessianVectorProducts + checked.checkProducts;
      if (checked.spectrum.eigenvectors.empty()) {
        context.document[name()] = {{"skipped", "the top eigenvector did not converge: " + checked.spectrum.status}};
        context.end(name(), "perturbation alignment: skipped, the top eigenvector did not converge");
        return;
      }
      context.topEigenvectors.assign(1, checked.spectrum.eigenvectors.front());
      context.topEigenvectorValues.assign(1, checked.spectrum.eigenvalues.front());
    }
    const std::vector<double>& top = context.topEigenvectors.front();
    DatasetObjective objective(context.network, context.images, context.session.evaluation());
    const torch::Tensor gradient = objective.gradient().to(torch::kCPU, torch::kFloat64).contiguous();
    const double* g = gradient.data_ptr<double>();
    double dot = 0.0;
    double gradientSquared = 0.0;
    double topSquared = 0.0;
    for (std::size_t i = 0; i < top.size(); ++i) {
      dot += g[i] * top[i];
      gradientSquared += g[i] * g[i];
      topSquared += top[i] * top[i];
    }
    const double gradientNorm = std::sqrt(gradientSquared);
    // Undefined at a stationary point (no perturbation direction): NaN, written as null.
    const double cosine = gradientNorm > 0.0 ? std::abs(dot) / (gradientNorm * std::sqrt(topSquared))
                                             : std::numeric_limits<double>::quiet_NaN();
    context.document[name()] = {{"cosine", jsonNumber(cosine)},
                                {"gradient_norm", jsonNumber(gradientNorm)},
                                {"eigenvalue", jsonNumber(context.topEigenvectorValues.front())},
                                {"hvp_count", products}};
    if (std::isfinite(cosine)) context.results.metrics["perturbation_alignment"] = cosine;
    std::ostringstream summary;
    summary << "perturbation alignment: |cos(g, v1)| " << cosine << " (||g|| " << gradientNorm << ", lambda_1 "
            << context.topEigenvectorValues.front() << ")";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* section = reader.section("perturbation_alignment");
    if (section == nullptr) return;
    if (const auto cosine = reader.optionalNumber(*section, "cosine", "perturbation_alignment.")) {
      results.metrics["perturbation_alignment"] = *cosine;
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains(name())) records.push_back({name(), document[name()], {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    return {{"perturbation_alignment", "|cos(SAM perturbation, top eigenvector)|", "",
             "analysis.json perturbation_alignment.cosine: |g . v1| / ||g||", MetricDefinition::Better::Neither,
             false, false, /*inStudies=*/true}};
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makePerturbationAlignmentStage() { return std::make_unique<PerturbationAlignmentStage>(); }

}  // namespace samscape

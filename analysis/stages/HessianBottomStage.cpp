// --hessian-bottom K: the K smallest (most negative) Hessian eigenvalues: how much negative curvature
// the analysed weights sit on.
#include <cmath>

#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class HessianBottomStage : public AnalysisStage {
 public:
  std::string name() const override { return "hessian_bottom"; }
  bool requested(const AnalysisRequest& request) const override { return request.hessianBottom > 0; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    SharedHessian& hessian = context.hessian();
    // The spectrum's scale, |lambda_max|, shifts the operator (see SpectrumOptions::shift): the bottom
    // eigenvalues then converge to the same absolute accuracy as the top ones instead of a residual
    // relative to their own small magnitudes.
    const std::vector<double>& top = context.results.eigenvalues;
    std::int64_t scaleProducts = 0;
    double scale = top.empty() ? 0.0 : std::abs(top.front());
    if (top.empty()) {
      SpectrumOptions topOptions;
      topOptions.topK = 1;
      topOptions.tolerance = r.tolerance;
      const SpectrumResult largest = topEigenvalues(hessian.productsIn(topOptions.tolerance), topOptions);
      scaleProducts = largest.hessianVectorProducts;
      if (!largest.eigenvalues.empty()) scale = std::abs(largest.eigenvalues.front());
    }
    SpectrumOptions options;
    options.topK = r.hessianBottom;
    options.smallest = true;
    // A hundredth of the tolerance, relative to the shifted values (about |lambda_max|): residuals a
    // hundred times below the top's, fine enough to tell apart the bottom's closely spaced eigenvalues,
    // and still far looser in absolute terms than the unshifted test relative to their own magnitudes.
    options.tolerance = r.tolerance / 100.0;
    options.shift = scale;
    CheckedSpectrum checked = hessian.lanczos(options);
    SpectrumResult& spectrum = checked.spectrum;
    spectrum.hessianVectorProducts += scaleProducts;
    nlohmann::json eigenvalues = nlohmann::json::array();
    for (double value : spectrum.eigenvalues) eigenvalues.push_back(jsonNumber(value));
    context.results.bottomEigenvalues = spectrum.eigenvalues;
    nlohmann::json& section = context.document["hessian"];
    if (!section.is_object()) {
      section = {{"product_method", hessian.productMethodJson()}, {"mode", "eval (batch norm on running statistics)"}};
    }
    section["bottom"] = {{"eigenvalues", eigenvalues},
                         {"shift", jsonNumber(scale)},
                         {"hvp_count", spectrum.hessianVectorProducts},
                         {"converged", spectrum.converged},
                         {"status", spectrum.status},
                         {"precision", hessian.checkJson(checked, options)}};
    context.end(name(), hessian.summary("hessian: bottom " + std::to_string(r.hessianBottom) + " eigenvalues",
                                        spectrum, checked, options));
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* hessian = reader.section("hessian");
    if (hessian == nullptr) return;
    const auto bottom = hessian->find("bottom");
    if (bottom == hessian->end()) return;
    const auto values = bottom->is_object() ? bottom->find("eigenvalues") : bottom->end();
    if (!bottom->is_object() || values == bottom->end()) reader.fail("hessian.bottom.eigenvalues must be a list of numbers");
    results.bottomEigenvalues = reader.numbers(*values, "hessian.bottom.eigenvalues");
  }

  // Recorded with the hessian stage's section.
  void addRecords(const nlohmann::json&, std::vector<StageRecord>&) const override {}
};

}  // namespace

std::unique_ptr<AnalysisStage> makeHessianBottomStage() { return std::make_unique<HessianBottomStage>(); }

}  // namespace samscape

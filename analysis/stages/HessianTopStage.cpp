// --hessian-top K: the K largest eigenvalues of the loss Hessian by Lanczos (Spectra), on float32
// products where the tolerance allows, every eigenpair checked with float64 products
// (analysis/EigenpairCheck.h). lambda_max is the sharpness SAM is claimed to reduce (Foret et al. 2021,
// section 4; Figure 1's spectra).
#include <algorithm>
#include <limits>

#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

const char* const kMode = "eval (batch norm on running statistics)";

class HessianTopStage : public AnalysisStage {
 public:
  std::string name() const override { return "hessian"; }
  bool requested(const AnalysisRequest& request) const override { return request.hessianTop > 0; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    SharedHessian& hessian = context.hessian();
    const bool slicesAlongIt = r.slice && r.sliceDirections == "hessian";
    SpectrumOptions options;
    options.topK = r.hessianTop;
    // The float64 check computes the eigenvectors anyway: they are kept for the warm start and passed on
    // to later stages (the slice along them, the perturbation's alignment with the top one).
    options.eigenvectors = true;
    options.tolerance = r.tolerance;
    // Start from the sum of the previous analysis' top eigenvectors (train --analyze-every): between
    // epochs the top eigenspace moves little, and the eigenvalues converge in fewer products. LOBPCG from
    // all of them (SpectrumOptions::startBlock, analysis/Lobpcg.h) took more products on the cnn one
    // epoch on (samscape-bench --warm-start-only: cold 32, warm Lanczos 21, warm LOBPCG 33), so it is
    // not the stage's method.
    const bool warm = context.session.warmStart && static_cast<std::int64_t>(lanczosStart_.size()) == hessian.native().size();
    if (warm) options.start = lanczosStart_;
    const CheckedSpectrum checked = hessian.lanczos(options);
    const SpectrumResult& spectrum = checked.spectrum;
    if (context.session.warmStart && !spectrum.eigenvectors.empty()) {
      lanczosStart_.assign(spectrum.eigenvectors.front().size(), 0.0);
      for (const auto& vector : spectrum.eigenvectors) {
        for (std::size_t i = 0; i < vector.size(); ++i) lanczosStart_[i] += vector[i];
      }
    }
    // Passed on: the top eigenvector (one more copy of the weights' size), and the second one for a
    // slice along them.
    const std::size_t keep = std::min<std::size_t>(spectrum.eigenvectors.size(), slicesAlongIt ? 2 : 1);
    context.topEigenvectors.assign(spectrum.eigenvectors.begin(), spectrum.eigenvectors.begin() + keep);
    context.topEigenvectorValues.assign(spectrum.eigenvalues.begin(), spectrum.eigenvalues.begin() + keep);
    nlohmann::json eigenvalues = nlohmann::json::array();
    for (double value : spectrum.eigenvalues) eigenvalues.push_back(jsonNumber(value));
    // Each pair's ||H v - lambda v||, as the float64 check measured it (its products are counted in
    // precision.float64_products already: the residuals cost none more); null where unmeasured.
    std::vector<double> residualValues(spectrum.eigenvalues.size(), std::numeric_limits<double>::quiet_NaN());
    if (checked.check.residuals.size() == residualValues.size()) residualValues = checked.check.residuals;
    nlohmann::json residuals = nlohmann::json::array();
    for (double value : residualValues) residuals.push_back(jsonNumber(value));
    context.document["hessian"] = {{"eigenvalues", eigenvalues},
                                   {"residuals", residuals},
                                   {"hvp_count", spectrum.hessianVectorProducts},
                                   {"converged", spectrum.converged},
                                   {"status", spectrum.status},
                                   {"lambda_max_over_lambda_k", jsonNumber(spectrum.ratioTopOverKth)},
                                   {"warm_start", warm},
                                   {"precision", hessian.checkJson(checked, options)},
                                   {"product_method", hessian.productMethodJson()},
                                   {"mode", kMode}};
    fill(spectrum.eigenvalues, spectrum.converged, context.results);
    context.results.eigenvalueResiduals = residualValues;
    context.end(name(), hessian.summary("hessian: top " + std::to_string(r.hessianTop) + " eigenvalues", spectrum,
                                        checked, options));
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* hessian = reader.section("hessian");
    if (hessian == nullptr) return;
    const auto eigenvalues = hessian->find("eigenvalues");
    if (eigenvalues == hessian->end()) return;  // only the bottom stage ran
    const auto converged = hessian->find("converged");
    fill(reader.numbers(*eigenvalues, "hessian.eigenvalues"),
         converged != hessian->end() && converged->is_boolean() && converged->get<bool>(), results);
    // Absent in directories written before the residuals were recorded.
    const auto residuals = hessian->find("residuals");
    if (residuals != hessian->end()) {
      // null: not measured (NaN).
      if (!residuals->is_array()) reader.fail("hessian.residuals must be a list of numbers or nulls");
      results.eigenvalueResiduals.clear();
      for (const auto& value : *residuals) {
        if (!value.is_number() && !value.is_null()) reader.fail("hessian.residuals must be a list of numbers or nulls");
        results.eigenvalueResiduals.push_back(value.is_null() ? std::numeric_limits<double>::quiet_NaN()
                                                              : value.get<double>());
      }
      if (results.eigenvalueResiduals.size() != results.eigenvalues.size()) {
        reader.fail("hessian.residuals has " + std::to_string(results.eigenvalueResiduals.size()) +
                    " entries for " + std::to_string(results.eigenvalues.size()) + " eigenvalues");
      }
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    // One record for the whole section, the bottom eigenvalues included.
    if (document.contains("hessian")) records.push_back({"hessian", document["hessian"], {}});
  }

  std::vector<MetricDefinition> metrics() const override {
    using B = MetricDefinition::Better;
    return {{"lambda_max", "lambda_max", "", "analysis.json hessian.eigenvalues[0]: the top Hessian eigenvalue",
             B::Neither, false, false, true},
            {"lambda_ratio", "lambda_max / lambda_k", "",
             "analysis.json hessian.eigenvalues: the first over the last, when all k >= 2 converged", B::Neither,
             false, false, true}};
  }

 private:
  static void fill(const std::vector<double>& eigenvalues, bool converged, AnalysisResults& results) {
    results.eigenvalues = eigenvalues;
    if (!eigenvalues.empty()) results.metrics["lambda_max"] = eigenvalues.front();
    // With fewer than all k converged, the last one found is not lambda_k.
    if (converged && eigenvalues.size() >= 2) results.metrics["lambda_ratio"] = eigenvalues.front() / eigenvalues.back();
  }

  std::vector<double> lanczosStart_;  // the previous analysis' top eigenvectors summed (warm start)
};

}  // namespace

std::unique_ptr<AnalysisStage> makeHessianTopStage() { return std::make_unique<HessianTopStage>(); }

}  // namespace samscape

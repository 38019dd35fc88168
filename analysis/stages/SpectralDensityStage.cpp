// --esd: the Hessian's eigenvalue spectral density by stochastic Lanczos quadrature
// (analysis/SpectralDensity.h; Ghorbani et al. 2019): the whole spectrum's shape, esd.csv.
#include <sstream>

#include "analysis/SpectralDensity.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class SpectralDensityStage : public AnalysisStage {
 public:
  std::string name() const override { return "esd"; }
  bool requested(const AnalysisRequest& request) const override { return request.esd; }
  bool usesHessian() const override { return true; }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    SpectralDensityOptions options;
    options.probes = r.esdProbes;
    options.lanczosSteps = r.esdSteps;
    options.seed = r.seed;
    const SpectralDensity density = spectralDensity(context.hessian().native(), options, {}, context.cancel);
    if (density.cancelled) return;
    DensityCurve curve{density.grid, density.density};
    writeDensityCsv(context.file("esd.csv"), curve);
    context.addFile("esd.csv");
    context.document["esd"] = {{"file", "esd.csv"},
                               {"probes", density.probes},
                               {"lanczos_steps", r.esdSteps},
                               {"sigma", density.sigma},
                               {"hvp_count", density.hessianVectorProducts}};
    context.results.esd = std::move(curve);
    std::ostringstream summary;
    summary << "esd: " << density.probes << " probes, " << density.hessianVectorProducts
            << " Hessian-vector products -> esd.csv";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    if (reader.section("esd") != nullptr) results.esd = readDensityCsv(reader.file("esd.csv"));
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (document.contains("esd")) records.push_back({"esd", document["esd"], {{"esd.csv", "esd.csv"}}});
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeSpectralDensityStage() { return std::make_unique<SpectralDensityStage>(); }

}  // namespace samscape

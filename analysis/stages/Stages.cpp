// The registered analysis stages, in the order the job runs them (and the reader reads them, and the
// store records them). A new stage: its file in this folder and one line below.
#include "analysis/stages/AnalysisStage.h"

#include <filesystem>

#include "core/Error.h"

namespace samscape {

// Each stage's file defines its maker.
#define SAMSCAPE_STAGES(STAGE)                                                                              \
  STAGE(makeLossStage)            /* loss and accuracy of the analysed set */                             \
  STAGE(makeHessianTopStage)      /* --hessian-top: the top eigenvalues by Lanczos */                     \
  STAGE(makeStabilityEdgeStage)   /* with --hessian-top: the gradient norm and the edge of stability */   \
  STAGE(makeHessianBottomStage)   /* --hessian-bottom: the most negative eigenvalues */                    \
  STAGE(makeLayerCurvatureStage)  /* --per-layer: each layer's block */                                   \
  STAGE(makeTraceStage)           /* --trace: Hutchinson */                                               \
  STAGE(makeSpectralDensityStage) /* --esd: stochastic Lanczos quadrature */                              \
  STAGE(makePerturbationAlignmentStage) /* --perturbation-alignment: SAM's e against v1 */                \
  STAGE(makeMSharpnessStage)      /* --m-sharpness */                                                     \
  STAGE(makeAdaptiveSharpnessStage) /* --adaptive-sharpness: the |w|-scaled l2 and l-inf balls */        \
  STAGE(makeSliceStage)           /* --slice: the 2D loss surface */                                      \
  STAGE(makeInterpolationStage)   /* --interpolate: the straight line to another model */                 \
  STAGE(makeBezierStage)          /* --bezier: the trained curve to it */                                 \
  STAGE(makeTrajectoryStage)      /* --trajectory: the checkpoints' path */

#define SAMSCAPE_DECLARE_STAGE(maker) std::unique_ptr<AnalysisStage> maker();
SAMSCAPE_STAGES(SAMSCAPE_DECLARE_STAGE)
#undef SAMSCAPE_DECLARE_STAGE

std::vector<std::unique_ptr<AnalysisStage>> makeAnalysisStages() {
  std::vector<std::unique_ptr<AnalysisStage>> stages;
#define SAMSCAPE_MAKE_STAGE(maker) stages.push_back(maker());
  SAMSCAPE_STAGES(SAMSCAPE_MAKE_STAGE)
#undef SAMSCAPE_MAKE_STAGE
  return stages;
}

const std::vector<std::unique_ptr<AnalysisStage>>& analysisStages() {
  static const std::vector<std::unique_ptr<AnalysisStage>> stages = makeAnalysisStages();
  return stages;
}

// ----- reading analysis.json ------------------------------------------------------------------------------

AnalysisJsonReader::AnalysisJsonReader(const nlohmann::json& document, std::string directory)
    : document_(document),
      directory_(std::move(directory)),
      path_((std::filesystem::path(directory_) / "analysis.json").string()) {}

std::string AnalysisJsonReader::file(const std::string& name) const {
  return (std::filesystem::path(directory_) / name).string();
}

const nlohmann::json* AnalysisJsonReader::section(const char* key) const {
  const auto found = document_.find(key);
  if (found == document_.end()) return nullptr;
  if (!found->is_object()) fail(std::string(key) + " must be an object");
  return &*found;
}

std::optional<double> AnalysisJsonReader::optionalNumber(const nlohmann::json& object, const char* key,
                                                         const std::string& where) const {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return std::nullopt;
  if (!found->is_number()) fail(where + key + " must be a number");
  return found->get<double>();
}

std::vector<double> AnalysisJsonReader::numbers(const nlohmann::json& list, const std::string& where) const {
  if (!list.is_array()) fail(where + " must be a list of numbers");
  std::vector<double> values;
  for (const auto& value : list) {
    if (!value.is_number()) fail(where + " must be a list of numbers");
    values.push_back(value.get<double>());
  }
  return values;
}

void AnalysisJsonReader::fail(const std::string& problem) const { throw DataError(path_, problem); }

}  // namespace samscape

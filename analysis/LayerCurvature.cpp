#include "analysis/LayerCurvature.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "analysis/HessianTrace.h"
#include "core/Error.h"

namespace samscape {
namespace {

// H_BB as an operator on R^|B|: embeds x_B in a zero vector, applies H, keeps block B of the image.
class DiagonalBlock final : public SymmetricOperator {
 public:
  DiagonalBlock(SymmetricOperator& whole, const ParameterGroup& group)
      : whole_(whole), group_(group), in_(static_cast<std::size_t>(whole.size()), 0.0),
        out_(static_cast<std::size_t>(whole.size()), 0.0) {}
  std::int64_t size() const override { return group_.size(); }
  void apply(const double* in, double* out) override {
    std::copy(in, in + group_.size(), in_.begin() + group_.begin);
    whole_.apply(in_.data(), out_.data());
    std::copy(out_.begin() + group_.begin, out_.begin() + group_.end, out);
    ++applications;
  }
  std::int64_t applications = 0;

 private:
  SymmetricOperator& whole_;
  ParameterGroup group_;
  std::vector<double> in_;  // zero outside the block, always
  std::vector<double> out_;
};

std::string modulePrefix(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

}  // namespace

std::vector<ParameterGroup> groupParametersByModule(const std::vector<std::string>& names,
                                                    const std::vector<std::int64_t>& sizes) {
  if (names.size() != sizes.size()) {
    throw Error("parameter names and sizes differ in number: " + std::to_string(names.size()) + " names, " +
                std::to_string(sizes.size()) + " sizes");
  }
  std::vector<ParameterGroup> groups;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string prefix = modulePrefix(names[i]);
    if (groups.empty() || groups.back().name != prefix) groups.push_back({prefix, offset, offset});
    offset += sizes[i];
    groups.back().end = offset;
  }
  return groups;
}

LayerCurvatureResult layerCurvature(SymmetricOperator& op, const std::vector<ParameterGroup>& groups,
                                    const LayerCurvatureOptions& options) {
  LayerCurvatureResult result;
  TraceOptions traceOptions;
  traceOptions.probes = options.traceProbes;
  traceOptions.seed = options.seed;
  for (const auto& group : groups) traceOptions.blocks.emplace_back(group.begin, group.end);
  const TraceResult traces = hutchinsonTrace(op, traceOptions);  // validates the blocks too
  result.hessianVectorProducts += traces.hessianVectorProducts;
  for (std::size_t b = 0; b < groups.size(); ++b) {
    LayerCurvature layer;
    layer.group = groups[b];
    layer.trace = traces.blockMeans[b];
    layer.traceStandardError = traces.blockStandardErrors[b];
    DiagonalBlock block(op, groups[b]);
    SpectrumOptions spectrumOptions;
    spectrumOptions.topK = 1;
    spectrumOptions.tolerance = options.tolerance;
    const SpectrumResult spectrum = topEigenvalues(block, spectrumOptions);
    result.hessianVectorProducts += block.applications;
    layer.converged = spectrum.converged;
    layer.status = spectrum.status;
    layer.topEigenvalue = spectrum.eigenvalues.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                       : spectrum.eigenvalues.front();
    result.layers.push_back(std::move(layer));
  }
  return result;
}

}  // namespace samscape

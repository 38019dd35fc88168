#pragma once
// Curvature per layer: the top eigenvalue and the trace of each parameter group's diagonal block of
// the Hessian, H_BB (the curvature of the loss when only that layer's weights move). A group is one
// module's parameters (its weight and bias: the names before the last dot agree), contiguous in
// Network::parameters() order. Plain C++ types only.

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/HessianSpectrum.h"

namespace samscape {

struct ParameterGroup {
  std::string name;  // the module's name ("conv1"), or the parameter's when it has no dot
  std::int64_t begin = 0;  // the group's entries of the flat parameter vector: [begin, end)
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

// Groups consecutive parameters whose names share the module prefix. `names` and `sizes` (element
// counts) in Network::parameters() order. Throws Error when their lengths differ.
std::vector<ParameterGroup> groupParametersByModule(const std::vector<std::string>& names,
                                                    const std::vector<std::int64_t>& sizes);

struct LayerCurvatureOptions {
  double tolerance = 1e-4;  // of each block's Lanczos
  int traceProbes = 100;    // Hutchinson probes of the whole operator, shared by every block
  std::uint64_t seed = 0;
};

struct LayerCurvature {
  ParameterGroup group;
  double topEigenvalue = 0.0;  // NaN when its Lanczos did not converge
  bool converged = false;
  std::string status;
  double trace = 0.0;
  double traceStandardError = 0.0;
};

struct LayerCurvatureResult {
  std::vector<LayerCurvature> layers;
  std::int64_t hessianVectorProducts = 0;  // all of them: each block's Lanczos plus the trace probes
};

// Each block's top eigenvalue by Lanczos on the block operator (x_B -> (H [0; x_B; 0])_B: one full
// product each), and every block's trace from one Hutchinson run over the whole operator.
LayerCurvatureResult layerCurvature(SymmetricOperator& op, const std::vector<ParameterGroup>& groups,
                                    const LayerCurvatureOptions& options);

}  // namespace samscape

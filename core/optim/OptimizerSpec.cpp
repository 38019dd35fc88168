#include "core/optim/OptimizerSpec.h"

#include "core/optim/rules/SharpnessRule.h"
#include "core/optim/rules/SharpnessRules.h"

namespace samscape {

bool OptimizerSpec::sharpnessAware() const { return sharpnessRule(kind).sharpnessAware(); }

BaseOptimizerKind OptimizerSpec::baseKind() const { return sharpnessRule(kind).baseKind(*this); }

double OptimizerSpec::effectiveRho() const { return rho >= 0.0 ? rho : sharpnessRule(kind).defaultRho(); }

}  // namespace samscape

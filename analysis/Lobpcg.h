#pragma once
// The top (or bottom) eigenpairs of a symmetric operator by LOBPCG, the locally optimal block
// preconditioned conjugate gradient method (Knyazev, SIAM J. Sci. Comput. 23(2), 2001), without a
// preconditioner, started from a block of vectors: a warm start from all of a previous analysis' top
// eigenvectors, where Spectra's Lanczos takes a single vector (their sum). topEigenvalues runs it when
// SpectrumOptions::startBlock is given. The hessian stage does not: on the bench's cnn one epoch on it
// took more products than the warm Lanczos (samscape-bench --warm-start-only). Plain C++ types only.

#include <cstdint>
#include <vector>

#include "analysis/HessianSpectrum.h"

namespace samscape {

// The options.topK largest (options.smallest: smallest) eigenpairs of `op`, started from the vectors of
// `start` (any norms, possibly dependent; fewer than topK are completed with fixed pseudo-random
// vectors, more are cut to topK). Converged means what Spectra's Lanczos means by it for the same
// tolerance: every wanted pair has ||A v - theta v|| <= options.tolerance * max(|theta + options.shift|,
// eps^(2/3)), measured on the products, not estimated. The products (one per vector) stop at the budget
// Lanczos would have with options.maxIterations restarts: ncv + maxIterations * (ncv - topK).
// Reported like topEigenvalues (eigenvalues descending, ascending for the smallest; eigenvectors when
// asked); hessianVectorProducts counts every vector applied. Requires topK < op.size(); throws Error
// for a start vector of the wrong size or a non-finite one.
SpectrumResult lobpcgEigenvalues(SymmetricOperator& op, const SpectrumOptions& options,
                                 const std::vector<std::vector<double>>& start);

// The memory lobpcgEigenvalues holds for topK eigenpairs of an n-dimensional operator, in bytes: the
// blocks X, W, P and their products, the next X and P with theirs, the start and the result's vectors.
double lobpcgBytes(std::int64_t topK, std::int64_t n);

}  // namespace samscape

#pragma once
// The top (or bottom) eigenpairs of a symmetric operator by LOBPCG, the locally optimal block
// preconditioned conjugate gradient method (Knyazev, SIAM J. Sci. Comput. 23(2), 2001), without a
// preconditioner, started from a block of vectors. Its use here is the warm start: between two analyses
// of a training run the top eigenvectors move little, and a block method can start from all of the
// previous ones, where Spectra's Lanczos takes a single vector (their sum). Cold starts stay with
// Lanczos (analysis/HessianSpectrum.h), which needs no guess. Plain C++ types only.

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

#pragma once
// m-sharpness (Foret et al., ICLR 2021, section 4.1): how much the loss can rise within a ball of
// radius rho around the weights, measured per disjoint chunk of m examples and averaged:
//
//   S_m(w) = mean over chunks C of [ max_{||e|| <= rho} L_C(w + e) - L_C(w) ],
//
// with L_C the mean cross-entropy over the chunk and ||.|| the Euclidean norm over all trainable
// parameters together. The inner max is approximated by k normalized-gradient ascent steps (k = 1:
// e = rho g / ||g||, SAM's own perturbation). Plain C++ types only: computeMSharpness, which takes a
// network, is in analysis/MSharpnessTorch.h.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/DatasetLoader.h"
#include "core/data/EvaluationSettings.h"
#include "core/data/ImageSet.h"

namespace samscape {

struct MSharpnessOptions {
  // Examples per chunk; the chunks are taken in file order. When m does not divide the set's size the
  // last, shorter chunk counts too, weighted by its size (so the result is the mean over examples of
  // their chunk's sharpness). m >= the set's size: one chunk, i.e. full-set (n-)sharpness.
  std::int64_t m = 128;
  double rho = 0.05;    // radius of the ball, >= 0
  int ascentSteps = 1;  // k >= 1; k > 1: steps of rho / k along g(w + e) / ||g(w + e)||, e projected onto the ball
  // The passes: standardization as the run trained, examples per forward/backward pass inside a chunk
  // (bounds memory; the result does not depend on it), device, and a multi-process job's group (each
  // chunk's passes split across the ranks, their sums all-reduced).
  EvaluationSettings evaluation;
  // Evaluate in float64 (the network is converted for the computation and back afterwards). Off: the
  // network's own precision, as in training.
  bool doublePrecision = false;
  // Keep each chunk's value in MSharpnessResult::chunkValues.
  bool keepChunkValues = false;
};

struct MSharpnessResult {
  // The weighted mean over chunks (weights: chunk size / set size); NaN when cancelled.
  double value = 0.0;
  // L_C(w + e_C) - L_C(w) per chunk in order, when MSharpnessOptions::keepChunkValues (when cancelled:
  // those of the chunks finished).
  std::vector<double> chunkValues;
  std::int64_t chunks = 0;          // ceil(set size / m)
  std::int64_t chunksDone = 0;      // == chunks unless cancelled
  std::int64_t examples = 0;
  bool cancelled = false;
  double meanLoss = 0.0;  // L(w) over the whole set (the chunk-size-weighted mean of the L_C(w)); NaN when cancelled
};

// Called after each chunk with (chunks done, chunks in all), from the computing thread.
using MSharpnessProgress = std::function<void(std::int64_t done, std::int64_t total)>;

}  // namespace samscape

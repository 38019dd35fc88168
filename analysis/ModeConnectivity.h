#pragma once
// Mode connectivity (Garipov et al., "Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs",
// NeurIPS 2018): a quadratic Bezier curve phi(t) = (1-t)^2 w1 + 2t(1-t) c + t^2 w2 between two
// solutions, whose control point c is trained so that the loss stays low along the whole curve:
// each step draws t ~ U(0, 1) and a training batch, and moves c against the gradient of the batch's
// loss at phi(t), dL/dc = 2t(1-t) dL/dw (momentum SGD). c starts at (w1 + w2)/2, where the curve is
// the straight line. The curve is then evaluated, like the straight-line interpolation, at evenly
// spaced t in [0, 1]. The loss is taken in evaluation mode throughout (batch norm on the network's
// running statistics, as the interpolation does), so it is a function of the weights alone.
// Plain types here; the network function takes core's Network by reference.

#include <atomic>
#include <cstdint>
#include <vector>

#include "analysis/LossSurface.h"

namespace samscape {

class Network;

// (1-t)^2 w1 + 2t(1-t) c + t^2 w2, entry by entry. Throws Error when the lengths differ.
std::vector<double> bezierPoint(const std::vector<double>& w1, const std::vector<double>& control,
                                const std::vector<double>& w2, double t);

struct BezierOptions {
  int steps = 200;                // SGD steps on the control point (0: the straight line)
  std::int64_t batchSize = 128;   // training examples per step
  double learningRate = 0.05;
  double momentum = 0.9;
  std::uint64_t seed = 0;         // the t draws and the batch order
  int points = 41;                // evaluation points, t_i = i / (points - 1)
  LandscapeEvaluationOptions evaluation;  // for the training batches too (normalization, device)
};

struct BezierResult {
  std::vector<double> control;     // c after training
  std::vector<double> stepTs;      // the t of each step, in order
  std::vector<double> stepLosses;  // each step's batch loss at phi(t)
  InterpolationResult curve;       // loss and accuracy along phi at the evaluation points
  LandscapeStatus status = LandscapeStatus::Finished;
};

// Trains c on `train` and evaluates the curve on `evaluation`. The network is used as scratch (its
// weights are restored on return); w1 and w2 are flat, in Network::parameters() order. Throws Error
// for endpoints of the wrong length, fewer than 2 points, negative steps or an empty training set.
BezierResult trainBezierCurve(Network& network, const ImageSet& train, const ImageSet& evaluation,
                              const std::vector<double>& w1, const std::vector<double>& w2,
                              const BezierOptions& options, const std::atomic<bool>* cancel = nullptr);

}  // namespace samscape

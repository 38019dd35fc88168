#pragma once
// What one analysis computed, as plain values: what AnalysisSession::analyze returns in memory and what
// readAnalysisDirectory reads back from a directory, the same either way. Each stage
// (analysis/stages/) fills its part: its scalar metrics under their keys (analysis/Metrics.h), and its
// curves and grids in the fields below. Optional values are absent when the analysis did not compute
// them (or has not yet). Plain C++: the GUI holds these.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analysis/AnalysisFiles.h"
#include "analysis/LossSurface.h"
#include "analysis/StageCost.h"

namespace samscape {

// A run's path drawn on a --slice-plane slice: its initial weights and checkpoints, each in the
// plane's coordinates.
struct PlanePath {
  std::string run;  // the run directory
  TrajectoryRows rows;
  // Its farthest checkpoint's distance from the plane, and from the plane's centre: how much of the
  // path the plane shows (absent in analyses written before these were recorded).
  std::optional<double> maxOffPlane;
  std::optional<double> maxFromCentre;
};

// --trajectory: how much of the run's path the planes it is drawn on show (analysis.json trajectory).
struct PathFit {
  std::optional<double> explainedByPcaPlane;  // the share of the path's variance in its PCA plane
  std::optional<double> maxOffPcaPlane;       // the farthest checkpoint's distance from that plane
  std::optional<double> maxFromFinal;         // and from the final weights
  std::optional<double> maxOffSlice;          // with a slice: from the slice's plane
  std::optional<double> maxFromSliceCentre;   // and from the sliced weights
};

struct AnalysisResults {
  std::string status;  // running, complete, cancelled or failed
  std::string directory;  // where analysis.json is
  std::vector<std::string> files;  // the files written, relative to the directory
  std::string jsonText;  // analysis.json's content (the store's records are made from it)

  // Every scalar metric the stages measured, by its key: analysis_loss, analysis_accuracy,
  // lambda_max, lambda_ratio, trace, trace_stderr, m_sharpness, ... (analysis/Metrics.h).
  std::map<std::string, double> metrics;

  std::vector<double> eigenvalues;  // descending; empty without --hessian-top
  // Beside each eigenvalue, its pair's residual ||H v - lambda v|| (v unit), measured with float64
  // products by the eigenpair check (analysis/EigenpairCheck.h); NaN where not measured (a run that did
  // not converge), empty in directories written before it was recorded.
  std::vector<double> eigenvalueResiduals;
  std::vector<double> bottomEigenvalues;  // ascending (most negative first); empty without --hessian-bottom
  std::vector<LayerCurvatureRow> perLayer;  // empty without --per-layer
  SliceGrid slice;                   // slice.csv on analysis.json's grid; empty xs without a slice
  TrajectoryRows trajectoryOnSlice;  // the checkpoints in the slice's coordinates
  std::vector<PlanePath> planePaths;  // --slice-plane with --trajectory: each plane run's path on it
  PathFit pathFit;                   // --trajectory
  DensityCurve esd;                  // esd.csv
  InterpolationResult interpolation;  // interpolation.csv
  InterpolationResult bezier;         // bezier.csv: the trained Bezier curve, t in [0, 1]
  std::vector<StageCost> costs;       // each stage that ran, in order: time, products, memory

  bool complete() const { return status == "complete"; }
  bool cancelled() const { return status == "cancelled"; }
  std::optional<double> metric(const std::string& key) const {
    const auto found = metrics.find(key);
    return found == metrics.end() ? std::nullopt : std::optional<double>(found->second);
  }
};

}  // namespace samscape

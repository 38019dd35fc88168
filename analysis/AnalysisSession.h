#pragma once
// One analysis job: the flatness analyses a user asks for (the flags of `samscape-cli analyze`, and of
// `train --analyze-every`), run on one set of weights, written to a directory as analysis.json and its
// companion files. The CLI's analyze command, the trainer's periodic analysis and the GUI's workers all
// run analyses through this, so analysis.json means the same thing wherever it comes from.
//
// Plain C++ types only (the network and the tensors live in AnalysisSession.cpp): the GUI can hold a
// session on a worker thread.
//
// Files in the output directory:
//   analysis.json      rewritten (atomically) after every finished stage, so an analysis that is
//                      cancelled or killed keeps what it had finished; "status" says how far it got
//   esd.csv            --esd: eigenvalue,density
//   directions.bin     --slice: the two directions, reusable through --directions
//   slice.csv          --slice: x,y,loss,accuracy (rewritten after each coarse-to-fine level)
//   slice.vts          --slice: the complete grid as a VTK structured grid (ParaView)
//   interpolation.csv  --interpolate: t,loss,accuracy
//   trajectory.csv     --trajectory: epoch,x,y

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/AnalysisBudget.h"
#include "analysis/AnalysisDirectory.h"
#include "analysis/AnalysisFiles.h"
#include "analysis/AnalysisOptions.h"
#include "analysis/AnalysisResults.h"
#include "analysis/LossSurface.h"
#include "core/train/TrainConfig.h"

namespace samscape {

class DistributedGroup;

// The weights an analysis starts from.
struct AnalysisModel {
  TrainConfig run;              // model spec, data options and normalization, as the run trained
  std::string weightsPath;      // a file Network::load reads; empty for a TorchScript --model-file
  std::string description;      // for analysis.json's "source"
  std::string runDirectory;     // for --trajectory; empty when the weights do not come from a run
};

// Receives an analysis's progress and results, in memory, on the thread that runs it. Every hook is
// optional.
class AnalysisObserver {
 public:
  virtual ~AnalysisObserver() = default;
  virtual void onStageBegin(const std::string& /*stage*/) {}      // a stage's name(): "loss", "hessian", ...
  virtual void onStageEnd(const std::string& /*stage*/, const std::string& /*summary*/) {}  // one line
  virtual void onSliceLevel(const SliceGrid& /*gridSoFar*/) {}    // after each coarse-to-fine level
  // Before the first analysis of a session, once for each option whose work is estimated to take
  // longer than kLongWorkSeconds (OptionCost.h): the flag, its value and the estimate.
  virtual void onLongWork(const WorkEstimate& /*estimate*/) {}
  // `train --analyze-every` (PeriodicAnalysis): an epoch's finished analysis, as analyze() returned it
  // (also written to its directory), and what each due epoch's analysis cost or why it was skipped.
  virtual void onEpochAnalysis(int /*epoch*/, const AnalysisResults& /*results*/) {}
  virtual void onAnalysisCost(const AnalysisCost& /*cost*/) {}
};

// Loads the data split once and builds the network once, then analyzes as many sets of weights as it
// is given (the checkpoints of a run, one after another): each analysis runs the registered stages
// (analysis/stages/) the request asks for, in order. Not thread-safe: one thread at a time.
class AnalysisSession {
 public:
  // Validates the request (its messages name the options as `command` spells them), loads the split
  // (normalization statistics from the run's training split, as in training) and builds the model.
  // Then measures what a pass costs on a few examples (core/train/ResourceProbe.h) and checks every
  // size option's memory against the machine's: a size that would not fit is a ResourceError naming
  // the flag, the value and both memories, before any analysis runs.
  // Throws ConfigError (ResourceError), DataError or ModelError.
  AnalysisSession(const AnalysisModel& model, const AnalysisRequest& request,
                  AnalysisCommand command = AnalysisCommand::Analyze);
  ~AnalysisSession();
  AnalysisSession(const AnalysisSession&) = delete;
  AnalysisSession& operator=(const AnalysisSession&) = delete;

  // Draw the slice directions at the first analysis and reuse them for every later one (as
  // `train --analyze-every` does, so a run's surfaces share their axes).
  // Start each analysis' Lanczos for --hessian-top from the sum of the previous analysis' top
  // eigenvectors (as `train --analyze-every` does: between epochs the top eigenspace moves little, and
  // the eigenvalues converge in fewer products). analysis.json's hessian.warm_start says which start ran.
  void warmStartLanczos(bool warm);
  void keepDirections(bool keep);

  // One rank of a multi-process job (samscape-cli launch -- analyze): Hessian-vector products, traces,
  // densities and m-sharpness sum their passes over the ranks' shares of the set; a slice's points are
  // split across the ranks. Every rank computes the same results; the caller lets one write them.
  void setDistributedGroup(DistributedGroup* group);

  // The learning rate the run stepped with at the analysed weights (the epoch's last step), so that the
  // stability_edge stage can write the run's edge of stability (core/optim/StabilityEdge.h) beside the
  // gradient norm; `train --analyze-every` sets it before each epoch's analysis. Without it the stage
  // writes the gradient norm only (the app computes the edge from the run's metrics).
  void setStepLearningRate(double learningRate);

  // Analyzes the weights in `weightsPath` (empty: the model's own weights) into `outDir` (created) and
  // returns what it computed (the same values readAnalysisDirectory(outDir) reads back).
  // `cancel` (may be null) is checked between points, products and chunks: when it becomes true the job
  // stops within one of those, writes what it finished, and returns with status "cancelled". Throws
  // Error (with a message naming the file or flag) for bad input; files finished before a throw stay.
  AnalysisResults analyze(const std::string& weightsPath, const std::string& description, const std::string& outDir,
                          AnalysisObserver* observer = nullptr, const std::atomic<bool>* cancel = nullptr);

  std::int64_t exampleCount() const;
  // What the session measured: the shape its size options were checked against.
  const JobShape& shape() const;
  // The options whose work is estimated to take longer than kLongWorkSeconds, each analysis. Taking
  // them makes the caller the one who announces them; otherwise the first analyze() call's observer is
  // told (onLongWork).
  std::vector<WorkEstimate> takeLongWork();

 private:
  void prepare(const AnalysisModel& model, const AnalysisRequest& request, AnalysisCommand command);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace samscape

#pragma once
// What a stage runs on: the session's model and data (StageSession, for every analysis of a session)
// and one analysis' document, results and cancellation flag (StageContext). LibTorch header: for
// analysis/stages/*.cpp and the job only.

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/AnalysisSession.h"
#include "analysis/EigenpairCheck.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/ModelHessianTorch.h"
#include "analysis/stages/AnalysisStage.h"
#include "core/data/DatasetLoader.h"
#include "core/models/Network.h"

namespace samscape {

class DistributedGroup;

// Thrown from inside a Hessian product when the job is cancelled, so that Spectra's Lanczos and the
// trace estimator stop within one product without knowing about cancellation.
struct AnalysisCancelled {};

class CancellableOperator : public SymmetricOperator {
 public:
  CancellableOperator(SymmetricOperator& inner, const std::atomic<bool>* cancel) : inner_(inner), cancel_(cancel) {}
  std::int64_t size() const override { return inner_.size(); }
  void apply(const double* in, double* out) override;
  void applyMany(std::int64_t count, const double* in, double* out) override;
  // The products asked of it so far (a block of `count` counts `count`): a stage's cost.
  std::int64_t products() const { return products_; }

 private:
  SymmetricOperator& inner_;
  const std::atomic<bool>* cancel_;
  std::int64_t products_ = 0;
};

// Every epoch's weights in a run's checkpoints so far, oldest first (empty when cancelled).
struct CheckpointPath {
  std::vector<std::vector<double>> weights;
  std::vector<int> epochs;
};

// The session's side: the same for every analysis of one AnalysisSession.
struct StageSession {
  AnalysisModel model;      // model.run.model has the data's shape
  AnalysisRequest request;
  std::string device;
  DatasetSplits data;       // the whole data (the Bezier curve trains on data.train)
  ImageSet images;          // the analysed examples
  std::unique_ptr<Network> network;
  // --interpolate's model (the other end of the line and of the Bezier curve), loaded with the session.
  std::unique_ptr<Network> otherModel;
  std::string otherModelDescription;
  DistributedGroup* group = nullptr;
  bool keepDirections = false;  // AnalysisSession::keepDirections
  bool warmStart = false;       // AnalysisSession::warmStartLanczos
  std::optional<double> stepLearningRate;  // AnalysisSession::setStepLearningRate

  // The per-pass settings every evaluation of the analysed examples shares.
  EvaluationSettings evaluation() const;
  // The Hessian operator's options: built in float32 unless every product is to be float64; stages
  // that need float64 products use the operator's float64 view (ModelHessian::inDoublePrecision).
  ModelHessianOptions hessianOptions() const;
  // Another network of the model's architecture, built without moving LibTorch's global generator (an
  // analysis beside a training run must not change the run's random draws).
  std::unique_ptr<Network> makeNetwork() const;
  // The run's checkpoints (model.runDirectory) so far, loaded one by one.
  CheckpointPath readCheckpointPath(const std::atomic<bool>* cancel) const;
  // The same for another run of this architecture; with `withInitial`, its initial weights
  // (checkpoints/initial, when it has them) come first, as epoch 0.
  CheckpointPath readCheckpointPath(const std::string& runDirectory, bool withInitial, const std::atomic<bool>* cancel) const;
};

// The Hessian operator that consecutive Hessian stages share (with its float64 view), and the
// precision policy of their products (AnalysisOptions.h: productPrecision).
class SharedHessian {
 public:
  SharedHessian(const StageSession& session, const std::atomic<bool>* cancel);

  ModelHessian& model() { return *hessian_; }
  // Products in the operator's own precision, or in float64; both stop with AnalysisCancelled.
  SymmetricOperator& native() { return native_; }
  SymmetricOperator& float64() { return float64_; }
  // The operator a stage with `tolerance` runs its products on: float32 where the policy allows it.
  SymmetricOperator& productsIn(double tolerance);
  const char* precisionName(double tolerance);
  // A Lanczos stage's products in the precision its tolerance allows, every eigenpair checked in float64.
  CheckedSpectrum lanczos(const SpectrumOptions& options);
  // The products both views have computed since the operator was built.
  std::int64_t products() const { return native_.products() + float64_.products(); }
  // analysis.json's hessian.product_method, and what a check measured (hessian.precision).
  nlohmann::json productMethodJson() const;
  nlohmann::json checkJson(const CheckedSpectrum& checked, const SpectrumOptions& options);
  // A Lanczos stage's one line: "<heading> v1 v2 ... (N Hessian-vector products, <status>; <precision,
  // method and check>)".
  std::string summary(const std::string& heading, const SpectrumResult& spectrum, const CheckedSpectrum& checked,
                      const SpectrumOptions& options);

 private:
  const AnalysisRequest& request_;
  std::unique_ptr<ModelHessian> hessian_;
  CancellableOperator native_;
  CancellableOperator float64_;
};

// One analysis: the document being written, the results being filled, and what stages pass on to
// later ones within it.
struct StageContext {
  StageContext(StageSession& session, std::filesystem::path out, AnalysisObserver* observer,
               const std::atomic<bool>* cancel);

  StageSession& session;
  const AnalysisRequest& request;
  Network& network;
  const ImageSet& images;
  std::filesystem::path out;
  AnalysisObserver* observer;
  const std::atomic<bool>* cancel;
  nlohmann::json document;  // analysis.json
  AnalysisResults results;
  std::string stage = "start";  // the stage running, for a message when memory runs out

  // Passed on within one analysis: the top Hessian eigenvectors when the hessian stage computed at
  // least two (--slice-directions hessian slices along them); the slice's directions and centre (the
  // trajectory is drawn in its coordinates).
  std::vector<std::vector<double>> topEigenvectors;
  std::vector<double> topEigenvectorValues;
  const SliceDirections* sliceDirections = nullptr;
  std::vector<double> sliceCentre;  // empty: the analysed weights
  // --slice-plane: the run directories among the plane's three models, each once, in order (the
  // trajectory stage draws each one's path from its initial weights on the plane).
  std::vector<std::string> slicePlaneRuns;

  bool cancelled() const { return cancel != nullptr && cancel->load(); }
  // The Hessian operator at the analysed weights, built at the first call; the job releases it after
  // the last consecutive stage that uses it (giving the network back in its own precision).
  SharedHessian& hessian();
  void releaseHessian() { hessian_.reset(); }
  // The products the shared operator has computed since it was built (0 when there is none).
  std::int64_t hessianProductsSoFar() const { return hessian_ ? hessian_->products() : 0; }

  void begin(const std::string& name);
  // Saves analysis.json ("running") and tells the observer the stage's one-line summary.
  void end(const std::string& name, const std::string& summary);
  void addFile(const std::string& name);
  void save(const std::string& status);
  std::string file(const std::string& name) const { return (out / name).string(); }

 private:
  std::unique_ptr<SharedHessian> hessian_;
};

}  // namespace samscape

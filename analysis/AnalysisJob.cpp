#include "analysis/AnalysisJob.h"

#include <ATen/core/Generator.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>

#include "analysis/EigenpairCheck.h"
#include "analysis/HessianSpectrum.h"
#include "analysis/HessianTrace.h"
#include "analysis/LayerCurvature.h"
#include "analysis/AnalysisFiles.h"
#include "analysis/LossSurfaceTorch.h"
#include "analysis/MSharpnessTorch.h"
#include "analysis/ModeConnectivity.h"
#include "analysis/ModelHessianTorch.h"
#include "analysis/SpectralDensity.h"
#include "core/Error.h"
#include "core/JsonFile.h"
#include "core/Runtime.h"
#include "core/models/Network.h"
#include "core/models/ParameterVector.h"
#include "core/train/Evaluation.h"
#include "core/train/ResourceProbe.h"
#include "core/train/RunDirectory.h"
#include "core/train/SavedRun.h"

namespace samscape {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// NaN and infinities are not JSON: they become null.
json number(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

// Thrown from inside a Hessian product when the job is cancelled, so that Spectra's Lanczos and the
// trace estimator stop within one product without knowing about cancellation.
struct AnalysisCancelled {};

class CancellableOperator : public SymmetricOperator {
 public:
  CancellableOperator(SymmetricOperator& inner, const std::atomic<bool>* cancel) : inner_(inner), cancel_(cancel) {}
  std::int64_t size() const override { return inner_.size(); }
  void apply(const double* in, double* out) override {
    if (cancel_ != nullptr && cancel_->load()) throw AnalysisCancelled{};
    inner_.apply(in, out);
  }
  void applyMany(std::int64_t count, const double* in, double* out) override {
    if (cancel_ != nullptr && cancel_->load()) throw AnalysisCancelled{};
    inner_.applyMany(count, in, out);
  }

 private:
  SymmetricOperator& inner_;
  const std::atomic<bool>* cancel_;
};

// An exclusive advisory lock (flock) on a file beside the one it guards, released when destroyed or
// when the process dies.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    descriptor_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (descriptor_ < 0) throw Error(path + ": cannot create the lock file: " + std::strerror(errno));
    while (::flock(descriptor_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        ::close(descriptor_);
        throw Error(path + ": cannot lock: " + std::strerror(errno));
      }
    }
  }
  ~FileLock() { ::close(descriptor_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int descriptor_ = -1;
};

bool cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// Building a built-in model draws its initial weights from LibTorch's global generator. An analysis
// that runs beside a training run must not move that generator, or the run's results would depend on
// whether it is analysed; the weights are overwritten by the loaded ones anyway.
std::unique_ptr<Network> makeNetworkKeepingGlobalRng(const ModelSpec& spec) {
  const auto generatorLock = lockGlobalGenerator();
  at::Generator generator = at::globalContext().defaultGenerator(at::kCPU);
  const at::Tensor state = generator.get_state();
  std::unique_ptr<Network> network;
  try {
    network = makeNetwork(spec);
  } catch (...) {
    generator.set_state(state);
    throw;
  }
  generator.set_state(state);
  return network;
}

}  // namespace

struct AnalysisSession::Impl {
  AnalysisModel model;
  AnalysisRequest request;
  std::string device;
  DatasetSplits data;
  ImageSet images;
  std::unique_ptr<Network> network;
  // --interpolate's other end, loaded when the session is made.
  std::unique_ptr<Network> interpolationTarget;
  std::string interpolationTargetDescription;
  bool keepDirections = false;
  std::optional<SliceDirections> directions;
  // The top Hessian eigenvectors of this analysis' weights, when its hessian stage computed at least
  // two (--slice-directions hessian then slices along them instead of running Lanczos again).
  std::vector<std::vector<double>> topEigenvectors;
  std::vector<double> topEigenvectorValues;
  // --slice-plane: the plane's centre (the three models' centroid), its axes and its models.
  struct SlicePlane {
    std::vector<double> centre;
    std::vector<double> first;   // B - A
    std::vector<double> second;  // C - A
    std::vector<std::string> models;
  };
  std::optional<SlicePlane> plane;
  bool warmStart = false;
  JobShape shape;
  std::vector<WorkEstimate> longWork;
  bool longWorkAnnounced = false;
  std::vector<double> lanczosStart;  // the previous analysis' top eigenvectors summed (warm start)
  DistributedGroup* group = nullptr;

  // Everything one analyze() call writes, so that each finished stage can be saved at once.
  struct Job {
    fs::path out;
    json result;
    std::vector<std::string> files;
    AnalysisObserver* observer = nullptr;
    const std::atomic<bool>* cancel = nullptr;
    std::string stage = "start";  // the stage running, for a message when memory runs out

    void save(const std::string& status) {
      result["status"] = status;
      writeFileAtomically((out / "analysis.json").string(), result.dump(2) + "\n");
    }
    void addFile(const std::string& name) {
      if (std::find(files.begin(), files.end(), name) == files.end()) files.push_back(name);
    }
    void begin(const std::string& name) {
      stage = name;
      if (observer != nullptr) observer->onStageBegin(name);
    }
    void end(const std::string& stage, const std::string& summary) {
      save("running");
      if (observer != nullptr) observer->onStageEnd(stage, summary);
    }
  };

  LandscapeEvaluationOptions evaluationOptions() const {
    LandscapeEvaluationOptions options;
    options.normalize = model.run.normalize;
    options.statistics = data.trainStatistics;
    options.batchSize = request.batchSize;
    options.device = device;
    options.group = group;
    return options;
  }

  ModelHessianOptions hessianOptions() const {
    ModelHessianOptions options;
    options.normalize = model.run.normalize;
    options.statistics = data.trainStatistics;
    options.batchSize = request.batchSize;
    options.device = device;
    // Built in float32 unless every product is to be float64; stages that need float64 products use
    // the operator's float64 view (ModelHessian::inDoublePrecision).
    options.doublePrecision = request.precision == "float64" && !request.singlePrecision;
    options.group = group;
    return options;
  }
  bool slicesAlong(const char* kind) const { return request.slice && request.sliceDirections == kind; }

  // Every epoch's weights in the run's checkpoints so far, oldest first (empty when cancelled).
  struct CheckpointPath {
    std::vector<std::vector<double>> weights;
    std::vector<int> epochs;
  };
  CheckpointPath readCheckpointPath(const std::atomic<bool>* cancel) const;
  // The slice's directions for this analysis by --slice-directions; nullopt (with `skipped` saying
  // why) when they cannot be had for these weights.
  std::optional<SliceDirections> sliceDirectionsFor(Job& job, std::string& skipped, json& description);

  void runHessian(Job& job, AnalysisOutcome& outcome);
  void runMSharpness(Job& job);
  void runSlice(Job& job);
  void runInterpolation(Job& job);
  void runBezier(Job& job);
  void runTrajectory(Job& job);
};

AnalysisSession::AnalysisSession(const AnalysisModel& model, const AnalysisRequest& request, AnalysisCommand command)
    : impl_(std::make_unique<Impl>()) {
  try {
    prepare(model, request, command);
  } catch (...) {
    rethrowOutOfMemoryAs("the start of the analysis (loading the data and the model, measuring a pass)");
  }
}

void AnalysisSession::prepare(const AnalysisModel& model, const AnalysisRequest& request, AnalysisCommand command) {
  validateAnalysisRequest(request, command);
  auto& s = *impl_;
  s.model = model;
  s.request = request;
  s.device = request.device.empty() ? model.run.device : request.device;
  if (s.device.empty()) s.device = "cpu";
  checkDeviceName(s.device);
  if (request.slice && request.sliceDirections == "pca") {
    if (model.runDirectory.empty()) {
      throw ConfigError("--slice-directions", "pca", "needs the checkpoints of a run: give --checkpoint RUN_DIRECTORY");
    }
    // The point of PCA directions is the path drawn on the surface they span.
    s.request.trajectory = true;
  }
  if (request.trajectory && model.runDirectory.empty()) {
    throw ConfigError("--trajectory", "true", "needs the checkpoints of a run: give --checkpoint RUN_DIRECTORY");
  }

  // Normalization statistics come from the run's training split, as in training.
  DatasetOptions dataOptions = model.run.data;
  dataOptions.seed = model.run.seed;
  dataOptions.testSubset = 0;
  s.data = loadDataset(dataOptions);
  s.images = request.split == "test" ? s.data.test : s.data.train;
  // The first N examples in file order. The default N shrinks to what a small split holds; an N the
  // user asked for does not.
  std::int64_t subset = request.subset;
  const auto available = static_cast<std::int64_t>(s.images.size());
  if (subset > available) {
    if (request.subsetExplicit) {
      throw ConfigError("--subset", std::to_string(subset),
                        "the " + request.split + " split holds only " + std::to_string(available) + " examples");
    }
    subset = available;
  }
  if (subset > 0) {
    s.images.labels.resize(static_cast<std::size_t>(subset));
    s.images.pixels.resize(static_cast<std::size_t>(subset) * s.images.imageBytes());
  }

  ModelSpec spec = model.run.model;
  spec.inputChannels = s.images.channels;
  spec.imageHeight = s.images.height;
  spec.imageWidth = s.images.width;
  spec.numClasses = s.images.numClasses;
  s.model.run.model = spec;
  s.network = makeNetworkKeepingGlobalRng(spec);
  if (!model.weightsPath.empty()) s.network->load(model.weightsPath);

  // The three models of --slice-plane, found and loaded now for the same reason as --interpolate's.
  if (request.slice && !request.slicePlane.empty()) {
    std::vector<std::vector<double>> anchors;
    Impl::SlicePlane plane;
    auto anchorNetwork = makeNetworkKeepingGlobalRng(spec);
    for (const std::string& entry : slicePlaneModels(request.slicePlane)) {
      std::string weights = entry;
      std::string description = entry;
      if (!fs::is_regular_file(entry)) {
        const SavedModel saved = locateSavedModel(entry, "--slice-plane");
        weights = saved.weightsPath;
        description = saved.description;
      }
      anchorNetwork->load(weights);
      anchors.push_back(flatWeights(*anchorNetwork));
      plane.models.push_back(description);
    }
    if (anchors.size() != 3) {
      throw ConfigError("--slice-plane", request.slicePlane, "expected three models separated by commas, A,B,C");
    }
    const std::size_t n = anchors.front().size();
    plane.centre.assign(n, 0.0);
    plane.first.assign(n, 0.0);
    plane.second.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      plane.centre[i] = (anchors[0][i] + anchors[1][i] + anchors[2][i]) / 3.0;
      plane.first[i] = anchors[1][i] - anchors[0][i];
      plane.second[i] = anchors[2][i] - anchors[0][i];
    }
    // The three models must span a plane: the same test projectOntoDirections applies to the axes.
    try {
      projectOntoDirections({plane.centre}, plane.centre, plane.first, plane.second);
    } catch (const Error&) {
      throw ConfigError("--slice-plane", request.slicePlane, "the three models lie on one line (or coincide): they span no plane");
    }
    s.plane = std::move(plane);
  }

  // The other end of --interpolate is found and loaded now, so that a wrong path or another
  // architecture is reported before any analysis runs rather than after the others have. It may be a
  // run, a checkpoint, or a bare weights file (e.g. another TorchScript model) of the same architecture.
  if (!request.interpolate.empty()) {
    std::string weights = request.interpolate;
    s.interpolationTargetDescription = request.interpolate;
    if (!fs::is_regular_file(request.interpolate)) {
      const SavedModel other = locateSavedModel(request.interpolate, "--interpolate");
      weights = other.weightsPath;
      s.interpolationTargetDescription = other.description;
    }
    s.interpolationTarget = makeNetworkKeepingGlobalRng(spec);
    s.interpolationTarget->load(weights);
  }

  // Every size option against the machine, before any work: what a pass costs per example, measured
  // on a few of them, scaled by each option's value (its cost, beside its definition).
  s.shape.evaluationExamples = static_cast<std::int64_t>(s.images.size());
  s.shape.machineBytes = machineMemoryBytes();
  ProbeOptions probe;
  probe.normalize = model.run.normalize;
  probe.statistics = s.data.trainStatistics;
  probe.device = s.device;
  probe.hessianProduct = requestsHessianStage(s.request);
  // Memory: the float64 check of the eigenpairs (or float64 products) is the Hessian stage's peak.
  probe.doublePrecision = probe.hessianProduct;
  probeFootprint(*s.network, s.images, probe, s.shape);
  s.longWork = checkOptionCosts(s.request, analysisOptions(command), s.shape);
  if (command == AnalysisCommand::Train) {
    // `train` has no analysis --batch-size: its analyses take the run's evaluation batch size.
    const OptionCost batch = analysisBatchCost(s.request, s.shape);
    if (s.shape.machineBytes > 0.0 && batch.bytes > s.shape.machineBytes) {
      throw ResourceError("--eval-batch-size", std::to_string(s.request.batchSize), batch, s.shape.machineBytes);
    }
  }
}

AnalysisSession::~AnalysisSession() = default;

void AnalysisSession::keepDirections(bool keep) { impl_->keepDirections = keep; }

void AnalysisSession::warmStartLanczos(bool warm) { impl_->warmStart = warm; }

void AnalysisSession::setDistributedGroup(DistributedGroup* group) { impl_->group = group; }

std::int64_t AnalysisSession::exampleCount() const { return static_cast<std::int64_t>(impl_->images.size()); }
const JobShape& AnalysisSession::shape() const { return impl_->shape; }
std::vector<WorkEstimate> AnalysisSession::takeLongWork() {
  impl_->longWorkAnnounced = true;
  return impl_->longWork;
}

AnalysisOutcome AnalysisSession::analyze(const std::string& weightsPath, const std::string& description,
                                         const std::string& outDir, AnalysisObserver* observer,
                                         const std::atomic<bool>* cancel) {
  auto& s = *impl_;
  const auto& r = s.request;
  if (!weightsPath.empty()) s.network->load(weightsPath);
  s.network->to(torch::Device(s.device));

  std::error_code error;
  fs::create_directories(outDir, error);
  if (error || !fs::is_directory(outDir)) {
    throw ConfigError("--out", outDir, "cannot create the directory: " + error.message());
  }
  Impl::Job job;
  job.out = outDir;
  job.observer = observer;
  job.cancel = cancel;
  job.addFile("analysis.json");
  AnalysisOutcome outcome;

  if (observer != nullptr && !s.longWorkAnnounced) {
    for (const WorkEstimate& estimate : s.longWork) observer->onLongWork(estimate);
    s.longWorkAnnounced = true;
  }
  json& result = job.result;
  result["source"] = description.empty() ? s.model.description : description;
  result["model"] = s.network->describe();
  result["split"] = r.split;
  result["examples"] = s.images.size();
  result["device"] = s.device;
  result["threads"] = runtimeInfo().threads;
  result["normalized"] = s.model.run.normalize;

  try {
    job.begin("loss");
    const Evaluation evaluation = evaluateClassifier(*s.network, s.images, s.model.run.normalize,
                                                     s.data.trainStatistics, r.batchSize, torch::Device(s.device));
    result["loss"] = number(evaluation.meanLoss);
    result["accuracy"] = number(evaluation.accuracy);
    outcome.loss = evaluation.meanLoss;
    outcome.accuracy = evaluation.accuracy;
    std::ostringstream summary;
    summary << "loss " << evaluation.meanLoss << ", accuracy " << evaluation.accuracy << " on " << s.images.size()
            << " " << r.split << " examples";
    job.end("loss", summary.str());

    if (r.hessianTop > 0 || r.hessianBottom > 0 || r.perLayer || r.trace || r.esd) s.runHessian(job, outcome);
    if (r.mSharpness && !cancelled(cancel)) s.runMSharpness(job);
    if (r.slice && !cancelled(cancel)) s.runSlice(job);
    if (!r.interpolate.empty() && !cancelled(cancel)) s.runInterpolation(job);
    if (r.bezier && !cancelled(cancel)) s.runBezier(job);
    if (r.trajectory && !cancelled(cancel)) s.runTrajectory(job);
  } catch (const AnalysisCancelled&) {
    // Stages record their own partial results; an interrupted Hessian stage records nothing.
  } catch (...) {
    if (!s.keepDirections || r.sliceDirections != "random" || s.plane) s.directions.reset();
    s.topEigenvectors.clear();
    // Keep what finished, marked as failed, then let the caller report the error (memory running
    // out as such, naming the stage).
    result["files"] = job.files;
    job.save("failed");
    rethrowOutOfMemoryAs("the analysis' " + job.stage + " stage");
  }
  // A session that does not keep its directions draws them against each set of weights anew; PCA and
  // Hessian directions belong to the weights they were computed at (and a plane's are rebuilt each time
  // to place the weights analysed in it).
  if (!s.keepDirections || r.sliceDirections != "random" || s.plane) s.directions.reset();
  s.topEigenvectors.clear();
  outcome.cancelled = cancelled(cancel);
  result["files"] = job.files;
  job.save(outcome.cancelled ? "cancelled" : "complete");
  outcome.jsonText = result.dump(2) + "\n";
  outcome.files = job.files;
  return outcome;
}

void AnalysisSession::Impl::runHessian(Job& job, AnalysisOutcome& outcome) {
  const auto& r = request;
  // The spectrum, the trace and the density share one operator (and its float64 copy of the network);
  // destroying it gives the network back in its own precision.
  const std::unique_ptr<ModelHessian> hessian = makeModelHessian(*network, images, hessianOptions());
  CancellableOperator op(*hessian, job.cancel);
  CancellableOperator float64(hessian->inDoublePrecision(), job.cancel);
  // The operator a stage with `tolerance` runs its products on: float32 where the policy allows it.
  const auto productsIn = [&](double tolerance) -> SymmetricOperator& {
    if (productPrecision(r, tolerance) == "float32" && !hessian->doublePrecision()) return op;
    return float64;
  };
  const auto precisionName = [&](double tolerance) { return &productsIn(tolerance) == &op ? "float32" : "float64"; };
  // A Lanczos stage's products in the precision its tolerance allows, every eigenpair checked in float64.
  const auto lanczos = [&](const SpectrumOptions& options) {
    return checkedTopEigenvalues(productsIn(options.tolerance), float64, options,
                                 float32LanczosTolerance(options.tolerance));
  };
  const ProductMethodChoice& method = hessian->productMethod();
  json methodJson = {{"method", productMethodName(method.method)},
                     {"probe_examples", method.examples},
                     {"double_backward_seconds", number(method.doubleBackwardSeconds)},
                     {"forward_over_reverse_seconds", number(method.forwardOverReverseSeconds)}};
  if (!method.forwardOverReverseError.empty()) methodJson["forward_over_reverse_unsupported"] = method.forwardOverReverseError;
  // What the check measured, for analysis.json and the summary line.
  const auto checkJson = [&](const CheckedSpectrum& checked, const SpectrumOptions& options) {
    json residuals = json::array();
    for (double value : checked.check.relativeResiduals) residuals.push_back(number(value));
    return json{{"products", precisionName(options.tolerance)},
                {"residuals_float64", residuals},
                {"tolerance", options.tolerance},
                {"check", checked.outcome},
                {"float64_products", checked.checkProducts}};
  };
  const auto checkSummary = [&](const CheckedSpectrum& checked, const SpectrumOptions& options) {
    std::ostringstream out;
    const double worst = checked.check.relativeResiduals.empty()
                             ? std::numeric_limits<double>::quiet_NaN()
                             : *std::max_element(checked.check.relativeResiduals.begin(), checked.check.relativeResiduals.end());
    out << precisionName(options.tolerance) << " products (" << productMethodName(method.method) << "), check in float64 "
        << checked.outcome << ": largest relative residual " << worst;
    return out.str();
  };

  if (r.hessianTop > 0) {
    job.begin("hessian");
    SpectrumOptions spectrumOptions;
    spectrumOptions.topK = r.hessianTop;
    spectrumOptions.eigenvectors = r.eigenvectors || warmStart || (slicesAlong("hessian") && r.hessianTop >= 2);
    spectrumOptions.tolerance = r.tolerance;
    const bool warm = warmStart && static_cast<std::int64_t>(lanczosStart.size()) == op.size();
    if (warm) spectrumOptions.start = lanczosStart;
    const CheckedSpectrum checked = lanczos(spectrumOptions);
    const SpectrumResult& spectrum = checked.spectrum;
    if (warmStart && !spectrum.eigenvectors.empty()) {
      lanczosStart.assign(spectrum.eigenvectors.front().size(), 0.0);
      for (const auto& vector : spectrum.eigenvectors) {
        for (std::size_t i = 0; i < vector.size(); ++i) lanczosStart[i] += vector[i];
      }
    }
    if (slicesAlong("hessian") && spectrum.eigenvectors.size() >= 2) {
      topEigenvectors.assign(spectrum.eigenvectors.begin(), spectrum.eigenvectors.begin() + 2);
      topEigenvectorValues.assign(spectrum.eigenvalues.begin(), spectrum.eigenvalues.begin() + 2);
    }
    json eigenvalues = json::array();
    for (double value : spectrum.eigenvalues) eigenvalues.push_back(number(value));
    outcome.eigenvalues = spectrum.eigenvalues;
    job.result["hessian"] = {{"eigenvalues", eigenvalues},
                             {"hvp_count", spectrum.hessianVectorProducts},
                             {"converged", spectrum.converged},
                             {"status", spectrum.status},
                             {"lambda_max_over_lambda_k", number(spectrum.ratioTopOverKth)},
                             {"warm_start", warm},
                             {"precision", checkJson(checked, spectrumOptions)},
                             {"product_method", methodJson},
                             {"mode", "eval (batch norm on running statistics)"}};
    std::ostringstream summary;
    summary << "hessian: top " << r.hessianTop << " eigenvalues";
    for (double value : spectrum.eigenvalues) summary << " " << value;
    summary << " (" << spectrum.hessianVectorProducts << " Hessian-vector products, " << spectrum.status << "; "
            << checkSummary(checked, spectrumOptions) << ")";
    job.end("hessian", summary.str());
  }
  if (r.hessianBottom > 0) {
    job.begin("hessian_bottom");
    // The spectrum's scale, |lambda_max|, shifts the operator (see SpectrumOptions::shift): the bottom
    // eigenvalues then converge to the same absolute accuracy as the top ones instead of a residual
    // relative to their own small magnitudes.
    std::int64_t scaleProducts = 0;
    double scale = outcome.eigenvalues.empty() ? 0.0 : std::abs(outcome.eigenvalues.front());
    if (outcome.eigenvalues.empty()) {
      SpectrumOptions topOptions;
      topOptions.topK = 1;
      topOptions.tolerance = r.tolerance;
      const SpectrumResult top = topEigenvalues(productsIn(topOptions.tolerance), topOptions);
      scaleProducts = top.hessianVectorProducts;
      if (!top.eigenvalues.empty()) scale = std::abs(top.eigenvalues.front());
    }
    SpectrumOptions spectrumOptions;
    spectrumOptions.topK = r.hessianBottom;
    spectrumOptions.smallest = true;
    // A hundredth of the tolerance, relative to the shifted values (about |lambda_max|): residuals a
    // hundred times below the top's, fine enough to tell apart the bottom's closely spaced eigenvalues,
    // and still far looser in absolute terms than the unshifted test relative to their own magnitudes.
    spectrumOptions.tolerance = r.tolerance / 100.0;
    spectrumOptions.shift = scale;
    CheckedSpectrum checked = lanczos(spectrumOptions);
    SpectrumResult& spectrum = checked.spectrum;
    spectrum.hessianVectorProducts += scaleProducts;
    json eigenvalues = json::array();
    for (double value : spectrum.eigenvalues) eigenvalues.push_back(number(value));
    outcome.bottomEigenvalues = spectrum.eigenvalues;
    json& hessianSection = job.result["hessian"];
    if (!hessianSection.is_object()) {
      hessianSection = {{"product_method", methodJson}, {"mode", "eval (batch norm on running statistics)"}};
    }
    hessianSection["bottom"] = {{"eigenvalues", eigenvalues},
                                {"shift", number(scale)},
                                {"hvp_count", spectrum.hessianVectorProducts},
                                {"converged", spectrum.converged},
                                {"status", spectrum.status},
                                {"precision", checkJson(checked, spectrumOptions)}};
    std::ostringstream summary;
    summary << "hessian: bottom " << r.hessianBottom << " eigenvalues";
    for (double value : spectrum.eigenvalues) summary << " " << value;
    summary << " (" << spectrum.hessianVectorProducts << " Hessian-vector products, " << spectrum.status << "; "
            << checkSummary(checked, spectrumOptions) << ")";
    job.end("hessian_bottom", summary.str());
  }
  if (r.perLayer) {
    job.begin("per_layer");
    std::vector<std::int64_t> sizes;
    for (const auto& parameter : network->parameters()) sizes.push_back(parameter.numel());
    LayerCurvatureOptions layerOptions;
    layerOptions.tolerance = r.tolerance;
    layerOptions.traceProbes = r.traceProbes;
    layerOptions.seed = r.seed;
    const LayerCurvatureResult layers =
        layerCurvature(op, groupParametersByModule(network->parameterNames(), sizes), layerOptions);
    std::vector<LayerCurvatureRow> csvRows;
    json rows = json::array();
    for (const auto& layer : layers.layers) {
      csvRows.push_back({layer.group.name, layer.group.size(), layer.topEigenvalue, layer.trace, layer.traceStandardError});
      rows.push_back({{"layer", layer.group.name},
                      {"parameters", layer.group.size()},
                      {"lambda_max", number(layer.topEigenvalue)},
                      {"converged", layer.converged},
                      {"trace", number(layer.trace)},
                      {"trace_stderr", number(layer.traceStandardError)}});
    }
    writeLayerCurvatureCsv((job.out / "per_layer.csv").string(), csvRows);
    job.addFile("per_layer.csv");
    job.result["per_layer"] = {{"file", "per_layer.csv"},
                               {"layers", rows},
                               {"trace_probes", r.traceProbes},
                               {"hvp_count", layers.hessianVectorProducts}};
    std::ostringstream summary;
    summary << "per-layer: " << layers.layers.size() << " layers, " << layers.hessianVectorProducts
            << " Hessian-vector products -> per_layer.csv";
    job.end("per_layer", summary.str());
  }
  if (r.trace) {
    job.begin("trace");
    TraceOptions traceOptions;
    traceOptions.probes = r.traceProbes;
    traceOptions.seed = r.seed;
    const TraceResult trace = hutchinsonTrace(op, traceOptions);
    job.result["trace"] = {{"mean", number(trace.mean)},
                           {"stderr", number(trace.standardError)},
                           {"probes", trace.probes},
                           {"hvp_count", trace.hessianVectorProducts}};
    std::ostringstream summary;
    summary << "trace: " << trace.mean << " +- " << trace.standardError << " (" << trace.probes << " probes)";
    job.end("trace", summary.str());
  }
  if (r.esd) {
    job.begin("esd");
    SpectralDensityOptions densityOptions;
    densityOptions.probes = r.esdProbes;
    densityOptions.lanczosSteps = r.esdSteps;
    densityOptions.seed = r.seed;
    const SpectralDensity density = spectralDensity(op, densityOptions, {}, job.cancel);
    if (density.cancelled) return;
    writeDensityCsv((job.out / "esd.csv").string(), DensityCurve{density.grid, density.density});
    job.addFile("esd.csv");
    job.result["esd"] = {{"file", "esd.csv"},
                         {"probes", density.probes},
                         {"lanczos_steps", r.esdSteps},
                         {"sigma", density.sigma},
                         {"hvp_count", density.hessianVectorProducts}};
    std::ostringstream summary;
    summary << "esd: " << density.probes << " probes, " << density.hessianVectorProducts
            << " Hessian-vector products -> esd.csv";
    job.end("esd", summary.str());
  }
}

void AnalysisSession::Impl::runMSharpness(Job& job) {
  const auto& r = request;
  job.begin("m_sharpness");
  MSharpnessOptions options;
  options.m = r.m;
  options.rho = r.rho;
  options.ascentSteps = r.ascentSteps;
  options.normalize = model.run.normalize;
  options.statistics = data.trainStatistics;
  options.batchSize = r.batchSize;
  options.device = device;
  options.group = group;
  const MSharpnessResult sharpness = computeMSharpness(*network, images, options, {}, job.cancel);
  if (sharpness.cancelled) return;
  job.result["m_sharpness"] = number(sharpness.value);
  job.result["m_sharpness_details"] = {{"m", r.m},
                                       {"rho", r.rho},
                                       {"ascent_steps", r.ascentSteps},
                                       {"chunks", sharpness.chunks},
                                       {"mode", "eval (batch norm on running statistics)"}};
  std::ostringstream summary;
  summary << "m-sharpness (m " << r.m << ", rho " << r.rho << "): " << sharpness.value;
  job.end("m_sharpness", summary.str());
}

AnalysisSession::Impl::CheckpointPath AnalysisSession::Impl::readCheckpointPath(const std::atomic<bool>* cancel) const {
  // Memory: one flat float64 copy per checkpoint (fine for the small models this is drawn for; see
  // DEVELOPERS.md).
  std::vector<fs::path> checkpoints;
  const fs::path directory = fs::path(model.runDirectory) / "checkpoints";
  if (fs::is_directory(directory)) {
    for (const auto& entry : fs::directory_iterator(directory)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name.rfind("epoch-", 0) == 0 && name.find(".tmp") == std::string::npos) {
        checkpoints.push_back(entry.path());
      }
    }
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  CheckpointPath path;
  if (checkpoints.empty()) return path;
  auto walker = makeNetworkKeepingGlobalRng(model.run.model);
  for (const auto& checkpoint : checkpoints) {
    if (cancelled(cancel)) return {};
    walker->load((checkpoint / "model.pt").string());
    path.weights.push_back(flatWeights(*walker));
    path.epochs.push_back(std::stoi(checkpoint.filename().string().substr(6)));
  }
  return path;
}

std::optional<SliceDirections> AnalysisSession::Impl::sliceDirectionsFor(Job& job, std::string& skipped,
                                                                          json& description) {
  const auto& r = request;
  SliceDirections result;
  result.seed = r.seed;
  description["filter_normalized"] = false;
  if (plane) {
    description["directions"] = "plane";
    const double coordinates[3][2] = {{-1.0 / 3, -1.0 / 3}, {2.0 / 3, -1.0 / 3}, {-1.0 / 3, 2.0 / 3}};
    json models = json::array();
    for (std::size_t i = 0; i < 3; ++i) {
      models.push_back({{"model", plane->models[i]}, {"x", coordinates[i][0]}, {"y", coordinates[i][1]}});
    }
    description["plane"] = models;
    // Where the analysed weights fall: their least-squares coordinates in the plane.
    const TrajectoryProjection here =
        projectOntoDirections({flatWeights(*network)}, plane->centre, plane->first, plane->second);
    description["analysed_weights"] = {{"x", number(here.xs.front())}, {"y", number(here.ys.front())}};
    result.first = plane->first;
    result.second = plane->second;
    return result;
  }
  if (r.sliceDirections == "hessian") {
    description["directions"] = "hessian";
    if (topEigenvectors.size() < 2) {
      // The hessian stage did not compute them (it was off, or asked for one eigenvalue): Lanczos for
      // the top two here.
      const std::unique_ptr<ModelHessian> hessian = makeModelHessian(*network, images, hessianOptions());
      CancellableOperator op(*hessian, job.cancel);
      SpectrumOptions options;
      options.topK = 2;
      options.tolerance = r.tolerance;
      options.eigenvectors = true;
      const SpectrumResult spectrum = topEigenvalues(op, options);
      if (spectrum.eigenvectors.size() < 2) {
        skipped = "the top two Hessian eigenvectors did not converge: " + spectrum.status;
        return std::nullopt;
      }
      topEigenvectors.assign(spectrum.eigenvectors.begin(), spectrum.eigenvectors.begin() + 2);
      topEigenvectorValues.assign(spectrum.eigenvalues.begin(), spectrum.eigenvalues.begin() + 2);
      description["hvp_count"] = spectrum.hessianVectorProducts;
    }
    result.first = topEigenvectors[0];
    result.second = topEigenvectors[1];
    description["eigenvalues"] = {number(topEigenvectorValues[0]), number(topEigenvectorValues[1])};
    description["scale"] = 1.0;
    return result;
  }
  if (r.sliceDirections == "pca") {
    description["directions"] = "pca";
    const CheckpointPath path = readCheckpointPath(job.cancel);
    if (path.weights.size() < 3) {
      skipped = "pca directions need three checkpoints (the run has " + std::to_string(path.weights.size()) + ")";
      return std::nullopt;
    }
    const TrajectoryProjection projection = projectTrajectory(path.weights, flatWeights(*network));
    if (projection.explainedVarianceRatios.size() < 2 || projection.explainedVarianceRatios[1] <= 0.0) {
      skipped = "the checkpoints lie on a line: their second principal direction is undefined";
      return std::nullopt;
    }
    // Unit principal directions times one scale for both, so that the path (its coordinates along
    // them) fills about 80% of the slice's range without distorting the plane.
    double extent = 0.0;
    for (std::size_t i = 0; i < projection.xs.size(); ++i) {
      extent = std::max({extent, std::abs(projection.xs[i]), std::abs(projection.ys[i])});
    }
    const double halfRange = std::max(std::abs(r.rangeMin), std::abs(r.rangeMax));
    const double scale = extent > 0.0 ? extent / (0.8 * halfRange) : 1.0;
    result.first = projection.first;
    result.second = projection.second;
    for (auto& value : result.first) value *= scale;
    for (auto& value : result.second) value *= scale;
    description["scale"] = scale;
    description["explained_by_plane"] = number(projection.explainedByPlane());
    return result;
  }
  // random: from --directions FILE when it exists, else drawn.
  // Two runs of a pair may reach their first slice at the same moment with one --directions file:
  // an exclusive lock makes one draw and save them and the other read them.
  std::optional<FileLock> lock;
  if (!r.directionsFile.empty()) lock.emplace(r.directionsFile + ".lock");
  if (!r.directionsFile.empty() && fs::exists(r.directionsFile)) {
    result = loadDirections(r.directionsFile, parameterCount(*network));
  } else {
    DirectionOptions directionOptions;
    directionOptions.seed = r.seed;
    result = makeFilterNormalizedDirections(*network, directionOptions);
    if (!r.directionsFile.empty()) saveDirections(r.directionsFile, result);
  }
  description["directions"] = result.seed;
  description["filter_normalized"] = true;
  return result;
}

void AnalysisSession::Impl::runSlice(Job& job) {
  const auto& r = request;
  job.begin("slice");
  json description = {{"grid", r.grid}, {"range", {r.rangeMin, r.rangeMax}}};
  if (!directions) {
    std::string skipped;
    directions = sliceDirectionsFor(job, skipped, description);
    if (!directions) {
      if (cancelled(job.cancel)) return;
      description["skipped"] = skipped;
      job.result["slice"] = description;
      job.end("slice", "slice: skipped, " + skipped);
      return;
    }
  } else {
    description["directions"] = directions->seed;
    description["filter_normalized"] = true;
  }
  saveDirections((job.out / "directions.bin").string(), *directions);
  job.addFile("directions.bin");
  description["directions_file"] = "directions.bin";

  SliceOptions options;
  options.gridSize = r.grid;
  options.rangeMin = r.rangeMin;
  options.rangeMax = r.rangeMax;
  options.evaluation = evaluationOptions();
  // A --slice-plane slice is centred on the plane's centroid: the network holds it for the slice.
  std::vector<double> analysedWeights;
  if (plane) {
    analysedWeights = flatWeights(*network);
    assignParameters(*network, torch::tensor(plane->centre, torch::kFloat64));
  }
  struct RestoreWeights {
    Network& network;
    const std::vector<double>& weights;
    ~RestoreWeights() {
      if (!weights.empty()) assignParameters(network, torch::tensor(weights, torch::kFloat64));
    }
  } restore{*network, analysedWeights};
  const std::string csvPath = (job.out / "slice.csv").string();
  const SliceResult slice = computeLossSlice(
      *network, images, *directions, options,
      [&](const SliceGrid& grid) {
        // Each level's whole surface reaches the disk and the observer as soon as it exists.
        writeSliceCsv(csvPath, grid);
        job.addFile("slice.csv");
        if (job.observer != nullptr) job.observer->onSliceLevel(grid);
      },
      job.cancel);
  writeSliceCsv(csvPath, slice.grid);
  job.addFile("slice.csv");
  description["centre_loss"] = number(slice.centreLoss);
  description["points_done"] = slice.grid.pointsDone;
  description["points_total"] = slice.grid.pointsTotal;
  description["levels_done"] = slice.grid.level + 1;
  if (slice.grid.complete()) {
    writeSliceVts((job.out / "slice.vts").string(), slice.grid);
    job.addFile("slice.vts");
    description["files"] = {"slice.csv", "slice.vts"};
  } else {
    description["files"] = {"slice.csv"};
  }
  description["complete"] = slice.grid.complete();
  job.result["slice"] = description;
  std::ostringstream summary;
  summary << "slice: " << slice.grid.pointsDone << "/" << slice.grid.pointsTotal << " points, centre loss "
          << slice.centreLoss;
  job.end("slice", summary.str());
}

void AnalysisSession::Impl::runInterpolation(Job& job) {
  const auto& r = request;
  job.begin("interpolation");
  InterpolationOptions options;
  options.points = r.interpolatePoints;
  options.tMin = r.interpolateMin;
  options.tMax = r.interpolateMax;
  options.evaluation = evaluationOptions();
  const InterpolationResult curve = computeInterpolation(*network, images, flatWeights(*network),
                                                         flatWeights(*interpolationTarget), options, {}, job.cancel);
  writeInterpolationCsv((job.out / "interpolation.csv").string(), curve);
  job.addFile("interpolation.csv");
  job.result["interpolation"] = {{"to", interpolationTargetDescription},
                                 {"points", r.interpolatePoints},
                                 {"points_done", curve.pointsDone},
                                 {"range", {r.interpolateMin, r.interpolateMax}},
                                 {"file", "interpolation.csv"}};
  std::ostringstream summary;
  summary << "interpolation: " << curve.pointsDone << " points -> interpolation.csv";
  job.end("interpolation", summary.str());
}

void AnalysisSession::Impl::runBezier(Job& job) {
  const auto& r = request;
  job.begin("bezier");
  BezierOptions options;
  options.steps = r.bezierSteps;
  options.seed = r.seed;
  options.points = r.interpolatePoints;
  options.evaluation = evaluationOptions();
  const BezierResult bezier = trainBezierCurve(*network, data.train, images, flatWeights(*network),
                                               flatWeights(*interpolationTarget), options, job.cancel);
  if (bezier.status == LandscapeStatus::Cancelled) return;
  writeInterpolationCsv((job.out / "bezier.csv").string(), bezier.curve);
  job.addFile("bezier.csv");
  double largest = -std::numeric_limits<double>::infinity();
  for (double loss : bezier.curve.loss) largest = std::max(largest, loss);
  json description = {{"to", interpolationTargetDescription},
                      {"file", "bezier.csv"},
                      {"points", r.interpolatePoints},
                      {"steps", r.bezierSteps},
                      {"batch_size", options.batchSize},
                      {"learning_rate", options.learningRate},
                      {"momentum", options.momentum},
                      {"max_loss", number(largest)}};
  if (!bezier.stepLosses.empty()) {
    description["first_step_loss"] = number(bezier.stepLosses.front());
    description["last_step_loss"] = number(bezier.stepLosses.back());
  }
  job.result["bezier"] = description;
  std::ostringstream summary;
  summary << "bezier: " << r.bezierSteps << " steps, highest loss along the curve " << largest << " -> bezier.csv";
  job.end("bezier", summary.str());
}

void AnalysisSession::Impl::runTrajectory(Job& job) {
  job.begin("trajectory");
  const CheckpointPath path = readCheckpointPath(job.cancel);
  if (cancelled(job.cancel)) return;
  if (path.weights.size() < 2) {
    job.result["trajectory"] = {{"checkpoints", path.weights.size()}, {"skipped", "needs at least two checkpoints"}};
    job.end("trajectory", "trajectory: skipped, the run has fewer than two checkpoints");
    return;
  }
  const auto& weights = path.weights;
  const auto& epochs = path.epochs;
  const TrajectoryProjection projection = projectTrajectory(weights, weights.back());
  writeTrajectoryCsv((job.out / "trajectory.csv").string(), epochs, projection);
  job.addFile("trajectory.csv");
  job.result["trajectory"] = {{"checkpoints", epochs.size()},
                              {"explained_by_plane", number(projection.explainedByPlane())},
                              {"file", "trajectory.csv"}};
  if (directions) {
    // The same path in the slice's own coordinates, so it can be drawn on the slice's surface.
    const TrajectoryProjection onSlice = projectOntoDirections(
        weights, plane ? plane->centre : flatWeights(*network), directions->first, directions->second);
    writeTrajectoryCsv((job.out / "trajectory_on_slice.csv").string(), epochs, onSlice);
    job.addFile("trajectory_on_slice.csv");
    job.result["trajectory"]["slice_file"] = "trajectory_on_slice.csv";
  }
  std::ostringstream summary;
  summary << "trajectory: " << epochs.size() << " checkpoints, the plane explains " << projection.explainedByPlane()
          << " of the variance";
  job.end("trajectory", summary.str());
}

// ----- reading an analysis directory back --------------------------------------------------------------

AnalysisResults readAnalysisDirectory(const std::string& directory) {
  const fs::path base(directory);
  const std::string path = (base / "analysis.json").string();
  const json document = readJsonObjectFile(path, "analysis.json");
  // The writer turns NaN and infinities into null: absent and null both mean "no value".
  const auto optionalNumber = [&](const json& object, const char* key, const std::string& where) -> std::optional<double> {
    const auto found = object.find(key);
    if (found == object.end() || found->is_null()) return std::nullopt;
    if (!found->is_number()) throw DataError(path, where + key + " must be a number");
    return found->get<double>();
  };
  const auto section = [&](const char* key) -> const json* {
    const auto found = document.find(key);
    if (found == document.end()) return nullptr;
    if (!found->is_object()) throw DataError(path, std::string(key) + " must be an object");
    return &*found;
  };
  AnalysisResults results;
  const auto status = document.find("status");
  if (status == document.end() || !status->is_string()) throw DataError(path, "no status");
  results.status = status->get<std::string>();
  results.loss = optionalNumber(document, "loss", "");
  results.accuracy = optionalNumber(document, "accuracy", "");
  results.mSharpness = optionalNumber(document, "m_sharpness", "");
  if (section("bezier") != nullptr) results.bezier = readInterpolationCsv((base / "bezier.csv").string());
  if (const json* perLayer = section("per_layer")) {
    const auto layers = perLayer->find("layers");
    if (layers == perLayer->end() || !layers->is_array()) throw DataError(path, "per_layer.layers must be a list");
    for (const auto& layer : *layers) {
      if (!layer.is_object() || !layer.contains("layer") || !layer["layer"].is_string() ||
          !layer.contains("parameters") || !layer["parameters"].is_number_integer()) {
        throw DataError(path, "each per_layer.layers entry needs a layer name and a parameter count");
      }
      LayerCurvatureRow row;
      row.layer = layer["layer"].get<std::string>();
      row.parameters = layer["parameters"].get<std::int64_t>();
      const std::string where = "per_layer.layers[" + row.layer + "].";
      row.lambdaMax = optionalNumber(layer, "lambda_max", where).value_or(std::numeric_limits<double>::quiet_NaN());
      row.trace = optionalNumber(layer, "trace", where).value_or(std::numeric_limits<double>::quiet_NaN());
      row.traceStandardError =
          optionalNumber(layer, "trace_stderr", where).value_or(std::numeric_limits<double>::quiet_NaN());
      results.perLayer.push_back(row);
    }
  }
  if (const json* hessian = section("hessian")) {
    const auto bottom = hessian->find("bottom");
    if (bottom != hessian->end()) {
      const auto values = bottom->is_object() ? bottom->find("eigenvalues") : bottom->end();
      if (!bottom->is_object() || values == bottom->end() || !values->is_array()) {
        throw DataError(path, "hessian.bottom.eigenvalues must be a list of numbers");
      }
      for (const auto& value : *values) {
        if (!value.is_number()) throw DataError(path, "hessian.bottom.eigenvalues must be a list of numbers");
        results.bottomEigenvalues.push_back(value.get<double>());
      }
    }
    const auto eigenvalues = hessian->find("eigenvalues");
    if (eigenvalues != hessian->end()) {
      if (!eigenvalues->is_array()) throw DataError(path, "hessian.eigenvalues must be a list of numbers");
      for (const auto& value : *eigenvalues) {
        if (!value.is_number()) throw DataError(path, "hessian.eigenvalues must be a list of numbers");
        results.eigenvalues.push_back(value.get<double>());
      }
    }
  }
  if (const json* trace = section("trace")) {
    results.trace = optionalNumber(*trace, "mean", "trace.");
    results.traceStandardError = optionalNumber(*trace, "stderr", "trace.");
  }
  if (section("esd") != nullptr) results.esd = readDensityCsv((base / "esd.csv").string());
  if (const json* slice = section("slice"); slice != nullptr && !slice->contains("skipped")) {
    const auto grid = slice->find("grid");
    const auto range = slice->find("range");
    if (grid == slice->end() || !grid->is_number_integer() || range == slice->end() || !range->is_array() ||
        range->size() != 2 || !(*range)[0].is_number() || !(*range)[1].is_number()) {
      throw DataError(path, "slice needs grid (an integer) and range (two numbers)");
    }
    const std::int64_t points = grid->get<std::int64_t>();
    if (points < 2 || points > 100000) throw DataError(path, "slice.grid " + std::to_string(points) + " is not a grid size");
    results.slice = readSliceCsv((base / "slice.csv").string(), static_cast<int>(points), (*range)[0].get<double>(),
                                 (*range)[1].get<double>());
  }
  if (const json* trajectory = section("trajectory")) {
    if (trajectory->contains("slice_file")) {
      results.trajectoryOnSlice = readTrajectoryCsv((base / "trajectory_on_slice.csv").string());
    }
  }
  if (section("interpolation") != nullptr) {
    results.interpolation = readInterpolationCsv((base / "interpolation.csv").string());
  }
  return results;
}

}  // namespace samscape

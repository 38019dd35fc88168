#include "analysis/AnalysisSession.h"

#include <filesystem>
#include <optional>

#include "analysis/stages/StageContext.h"
#include "core/Error.h"
#include "core/Runtime.h"
#include "core/models/Network.h"
#include "core/train/ResourceProbe.h"
#include "core/train/RunDirectory.h"
#include "core/train/SavedRun.h"

namespace samscape {
namespace fs = std::filesystem;
using nlohmann::json;

struct AnalysisSession::Impl : StageSession {
  std::vector<std::unique_ptr<AnalysisStage>> stages;  // this session's instances, in order
  JobShape shape;
  std::vector<WorkEstimate> longWork;
  bool longWorkAnnounced = false;
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
  s.network = s.makeNetwork();
  if (!model.weightsPath.empty()) s.network->load(model.weightsPath);

  for (auto& stage : makeAnalysisStages()) {
    if (stage->requested(s.request)) s.stages.push_back(std::move(stage));
  }
  for (auto& stage : s.stages) stage->prepare(s);

  // The other end of --interpolate is found and loaded now, so that a wrong path or another
  // architecture is reported before any analysis runs rather than after the others have. It may be a
  // run, a checkpoint, or a bare weights file (e.g. another TorchScript model) of the same architecture.
  if (!request.interpolate.empty()) {
    std::string weights = request.interpolate;
    s.otherModelDescription = request.interpolate;
    if (!fs::is_regular_file(request.interpolate)) {
      const SavedModel other = locateSavedModel(request.interpolate, "--interpolate");
      weights = other.weightsPath;
      s.otherModelDescription = other.description;
    }
    s.otherModel = s.makeNetwork();
    s.otherModel->load(weights);
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

void AnalysisSession::setStepLearningRate(double learningRate) { impl_->stepLearningRate = learningRate; }

std::int64_t AnalysisSession::exampleCount() const { return static_cast<std::int64_t>(impl_->images.size()); }
const JobShape& AnalysisSession::shape() const { return impl_->shape; }
std::vector<WorkEstimate> AnalysisSession::takeLongWork() {
  impl_->longWorkAnnounced = true;
  return impl_->longWork;
}

AnalysisResults AnalysisSession::analyze(const std::string& weightsPath, const std::string& description,
                                         const std::string& outDir, AnalysisObserver* observer,
                                         const std::atomic<bool>* cancel) {
  auto& s = *impl_;
  if (!weightsPath.empty()) s.network->load(weightsPath);
  s.network->to(torch::Device(s.device));

  std::error_code error;
  fs::create_directories(outDir, error);
  if (error || !fs::is_directory(outDir)) {
    throw ConfigError("--out", outDir, "cannot create the directory: " + error.message());
  }
  if (observer != nullptr && !s.longWorkAnnounced) {
    for (const WorkEstimate& estimate : s.longWork) observer->onLongWork(estimate);
    s.longWorkAnnounced = true;
  }
  StageContext context(s, outDir, observer, cancel);
  context.addFile("analysis.json");
  json& document = context.document;
  document["source"] = description.empty() ? s.model.description : description;
  document["model"] = s.network->describe();
  document["split"] = s.request.split;
  document["examples"] = s.images.size();
  document["device"] = s.device;
  document["threads"] = runtimeInfo().threads;
  document["normalized"] = s.model.run.normalize;

  try {
    for (std::size_t i = 0; i < s.stages.size(); ++i) {
      AnalysisStage& stage = *s.stages[i];
      // The first stage (the loss) always runs: an analysis cancelled at once still says where it was.
      if (i > 0 && context.cancelled()) break;
      context.begin(stage.name());
      const StageCostMeter meter(stage.name(), context.hessianProductsSoFar());
      stage.run(context);
      context.results.costs.push_back(meter.finish(context.hessianProductsSoFar()));
      document["costs"].push_back(context.results.costs.back().toJson());
      // The Hessian operator (and its float64 copy of the network) lives while consecutive stages use it;
      // releasing it gives the network back in its own precision.
      if (i + 1 == s.stages.size() || !s.stages[i + 1]->usesHessian()) context.releaseHessian();
    }
  } catch (const AnalysisCancelled&) {
    // Stages record their own partial results; an interrupted Hessian stage records nothing.
    context.releaseHessian();
  } catch (...) {
    context.releaseHessian();
    // Keep what finished, marked as failed, then let the caller report the error (memory running
    // out as such, naming the stage).
    document["files"] = context.results.files;
    context.save("failed");
    rethrowOutOfMemoryAs("the analysis' " + context.stage + " stage");
  }
  document["files"] = context.results.files;
  context.save(context.cancelled() ? "cancelled" : "complete");
  context.results.jsonText = document.dump(2) + "\n";
  return std::move(context.results);
}

}  // namespace samscape

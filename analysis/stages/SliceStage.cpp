// --slice: the loss on a 2D plane through the analysed weights (Li et al. 2018, "Visualizing the Loss
// Landscape of Neural Nets"), along filter-normalized random directions, the run's principal
// directions, the top two Hessian eigenvectors, or the plane through three models (--slice-plane),
// refined coarse to fine: slice.csv after every level, slice.vts when complete.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>

#include "analysis/LossSurfaceTorch.h"
#include "analysis/stages/StageContext.h"
#include "core/Error.h"
#include "core/models/ParameterVector.h"
#include "core/train/SavedRun.h"

namespace samscape {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

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

class SliceStage : public AnalysisStage {
 public:
  std::string name() const override { return "slice"; }
  bool requested(const AnalysisRequest& request) const override { return request.slice; }

  // The three models of --slice-plane, found and loaded now, so that a wrong path or another
  // architecture is reported before any analysis runs.
  void prepare(const StageSession& session) override {
    const AnalysisRequest& request = session.request;
    if (request.slicePlane.empty()) return;
    std::vector<std::vector<double>> anchors;
    Plane plane;
    auto anchorNetwork = session.makeNetwork();
    for (const std::string& entry : slicePlaneModels(request.slicePlane)) {
      std::string weights = entry;
      std::string description = entry;
      if (!fs::is_regular_file(entry)) {
        const SavedModel saved = locateSavedModel(entry, "--slice-plane");
        weights = saved.weightsPath;
        description = saved.description;
        if (std::find(plane.runs.begin(), plane.runs.end(), saved.runDirectory) == plane.runs.end()) {
          plane.runs.push_back(saved.runDirectory);
        }
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
    plane_ = std::move(plane);
  }

  void run(StageContext& context) override {
    const AnalysisRequest& r = context.request;
    // Random directions are kept across a session that keeps them (train --analyze-every: a run's
    // surfaces share their axes); PCA and Hessian directions belong to the weights they were computed
    // at, and a plane's are rebuilt to place the weights analysed in it.
    if (!context.session.keepDirections || r.sliceDirections != "random" || plane_) directions_.reset();
    json description = {{"grid", r.grid}, {"range", {r.rangeMin, r.rangeMax}}};
    if (!directions_) {
      std::string skipped;
      directions_ = directionsFor(context, skipped, description);
      if (!directions_) {
        if (context.cancelled()) return;
        description["skipped"] = skipped;
        context.document["slice"] = description;
        context.end(name(), "slice: skipped, " + skipped);
        return;
      }
    } else {
      description["directions"] = directions_->seed;
      description["filter_normalized"] = true;
    }
    saveDirections(context.file("directions.bin"), *directions_);
    context.addFile("directions.bin");
    description["directions_file"] = "directions.bin";
    context.sliceDirections = &*directions_;
    if (plane_) {
      context.sliceCentre = plane_->centre;
      context.slicePlaneRuns = plane_->runs;
    }

    SliceOptions options;
    options.gridSize = r.grid;
    options.rangeMin = r.rangeMin;
    options.rangeMax = r.rangeMax;
    options.evaluation = context.session.evaluation();
    // A --slice-plane slice is centred on the plane's centroid: the network holds it for the slice.
    Network& network = context.network;
    std::vector<double> analysedWeights;
    if (plane_) {
      analysedWeights = flatWeights(network);
      assignParameters(network, torch::tensor(plane_->centre, torch::kFloat64));
    }
    struct RestoreWeights {
      Network& network;
      const std::vector<double>& weights;
      ~RestoreWeights() {
        if (!weights.empty()) assignParameters(network, torch::tensor(weights, torch::kFloat64));
      }
    } restore{network, analysedWeights};
    const std::string csvPath = context.file("slice.csv");
    const SliceResult slice = computeLossSlice(
        network, context.images, *directions_, options,
        [&](const SliceGrid& grid) {
          // Each level's whole surface reaches the disk and the observer as soon as it exists.
          writeSliceCsv(csvPath, grid);
          context.addFile("slice.csv");
          if (context.observer != nullptr) context.observer->onSliceLevel(grid);
        },
        context.cancel);
    writeSliceCsv(csvPath, slice.grid);
    context.addFile("slice.csv");
    description["centre_loss"] = jsonNumber(slice.centreLoss);
    description["points_done"] = slice.grid.pointsDone;
    description["points_total"] = slice.grid.pointsTotal;
    description["levels_done"] = slice.grid.level + 1;
    if (slice.grid.complete()) {
      writeSliceVts(context.file("slice.vts"), slice.grid);
      context.addFile("slice.vts");
      description["files"] = {"slice.csv", "slice.vts"};
    } else {
      description["files"] = {"slice.csv"};
    }
    description["complete"] = slice.grid.complete();
    context.document["slice"] = description;
    context.results.slice = slice.grid;
    std::ostringstream summary;
    summary << "slice: " << slice.grid.pointsDone << "/" << slice.grid.pointsTotal << " points, centre loss "
            << slice.centreLoss;
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const json* slice = reader.section("slice");
    if (slice == nullptr || slice->contains("skipped")) return;
    const auto grid = slice->find("grid");
    const auto range = slice->find("range");
    if (grid == slice->end() || !grid->is_number_integer() || range == slice->end() || !range->is_array() ||
        range->size() != 2 || !(*range)[0].is_number() || !(*range)[1].is_number()) {
      reader.fail("slice needs grid (an integer) and range (two numbers)");
    }
    const std::int64_t points = grid->get<std::int64_t>();
    if (points < 2 || points > 100000) reader.fail("slice.grid " + std::to_string(points) + " is not a grid size");
    results.slice = readSliceCsv(reader.file("slice.csv"), static_cast<int>(points), (*range)[0].get<double>(),
                                 (*range)[1].get<double>());
  }

  void addRecords(const json& document, std::vector<StageRecord>& records) const override {
    if (!document.contains("slice")) return;
    const json& slice = document["slice"];
    if (slice.contains("skipped")) {
      records.push_back({"slice", slice, {}});  // e.g. pca directions before the run has three checkpoints
      return;
    }
    StageRecord record{"slice", slice, {{"slice.csv", "slice.csv"}, {"directions", "directions.bin"}}};
    if (slice.value("complete", false)) record.files.emplace_back("slice.vts", "slice.vts");
    records.push_back(std::move(record));
  }

 private:
  // --slice-plane: the plane's centre (the three models' centroid), its axes and its models.
  struct Plane {
    std::vector<double> centre;
    std::vector<double> first;   // B - A
    std::vector<double> second;  // C - A
    std::vector<std::string> models;
    std::vector<std::string> runs;  // the run directories among the models, each once
  };

  // The slice's directions for this analysis by --slice-directions; nullopt (with `skipped` saying
  // why) when they cannot be had for these weights.
  std::optional<SliceDirections> directionsFor(StageContext& context, std::string& skipped, json& description);

  std::optional<Plane> plane_;
  std::optional<SliceDirections> directions_;
};

std::optional<SliceDirections> SliceStage::directionsFor(StageContext& context, std::string& skipped, json& description) {
  const AnalysisRequest& r = context.request;
  Network& network = context.network;
  SliceDirections result;
  result.seed = r.seed;
  description["filter_normalized"] = false;
  if (plane_) {
    description["directions"] = "plane";
    const double coordinates[3][2] = {{-1.0 / 3, -1.0 / 3}, {2.0 / 3, -1.0 / 3}, {-1.0 / 3, 2.0 / 3}};
    json models = json::array();
    for (std::size_t i = 0; i < 3; ++i) {
      models.push_back({{"model", plane_->models[i]}, {"x", coordinates[i][0]}, {"y", coordinates[i][1]}});
    }
    description["plane"] = models;
    // Where the analysed weights fall: their least-squares coordinates in the plane.
    const TrajectoryProjection here =
        projectOntoDirections({flatWeights(network)}, plane_->centre, plane_->first, plane_->second);
    description["analysed_weights"] = {{"x", jsonNumber(here.xs.front())}, {"y", jsonNumber(here.ys.front())}};
    result.first = plane_->first;
    result.second = plane_->second;
    return result;
  }
  if (r.sliceDirections == "hessian") {
    description["directions"] = "hessian";
    if (context.topEigenvectors.size() < 2) {
      // The hessian stage did not compute them (it was off, or asked for one eigenvalue): Lanczos for
      // the top two here, on an operator given back before the slice evaluates.
      SpectrumOptions options;
      options.topK = 2;
      options.tolerance = r.tolerance;
      options.eigenvectors = true;
      const SpectrumResult spectrum = topEigenvalues(context.hessian().native(), options);
      context.releaseHessian();
      if (spectrum.eigenvectors.size() < 2) {
        skipped = "the top two Hessian eigenvectors did not converge: " + spectrum.status;
        return std::nullopt;
      }
      context.topEigenvectors.assign(spectrum.eigenvectors.begin(), spectrum.eigenvectors.begin() + 2);
      context.topEigenvectorValues.assign(spectrum.eigenvalues.begin(), spectrum.eigenvalues.begin() + 2);
      description["hvp_count"] = spectrum.hessianVectorProducts;
    }
    result.first = context.topEigenvectors[0];
    result.second = context.topEigenvectors[1];
    description["eigenvalues"] = {jsonNumber(context.topEigenvectorValues[0]), jsonNumber(context.topEigenvectorValues[1])};
    description["scale"] = 1.0;
    return result;
  }
  if (r.sliceDirections == "pca") {
    description["directions"] = "pca";
    const CheckpointPath path = context.session.readCheckpointPath(context.cancel);
    if (path.weights.size() < 3) {
      skipped = "pca directions need three checkpoints (the run has " + std::to_string(path.weights.size()) + ")";
      return std::nullopt;
    }
    const TrajectoryProjection projection = projectTrajectory(path.weights, flatWeights(network));
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
    description["explained_by_plane"] = jsonNumber(projection.explainedByPlane());
    return result;
  }
  // random: from --directions FILE when it exists, else drawn.
  // Two runs of a pair may reach their first slice at the same moment with one --directions file:
  // an exclusive lock makes one draw and save them and the other read them.
  std::optional<FileLock> lock;
  if (!r.directionsFile.empty()) lock.emplace(r.directionsFile + ".lock");
  if (!r.directionsFile.empty() && fs::exists(r.directionsFile)) {
    result = loadDirections(r.directionsFile, parameterCount(network));
  } else {
    DirectionOptions directionOptions;
    directionOptions.seed = r.seed;
    result = makeFilterNormalizedDirections(network, directionOptions);
    if (!r.directionsFile.empty()) saveDirections(r.directionsFile, result);
  }
  description["directions"] = result.seed;
  description["filter_normalized"] = true;
  return result;
}

}  // namespace

std::unique_ptr<AnalysisStage> makeSliceStage() { return std::make_unique<SliceStage>(); }

}  // namespace samscape

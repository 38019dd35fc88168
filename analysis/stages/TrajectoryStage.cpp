// --trajectory: the run's checkpoints so far projected on the plane of their top two principal
// directions (Li et al. 2018, section 7), and, with a slice, in the slice's own coordinates so the path
// is drawn on its surface. With --slice-plane, also the path of every run among the plane's models,
// from its initial weights: the pair plane through init, SGD and SAM shows both training paths
// (random directions are nearly orthogonal to a path, which they show as a dot).
#include <sstream>

#include "analysis/LossSurfaceTorch.h"
#include "analysis/Trajectory.h"
#include "analysis/stages/StageContext.h"

namespace samscape {
namespace {

class TrajectoryStage : public AnalysisStage {
 public:
  std::string name() const override { return "trajectory"; }
  bool requested(const AnalysisRequest& request) const override { return request.trajectory; }

  void run(StageContext& context) override {
    const CheckpointPath path = context.session.readCheckpointPath(context.cancel);
    if (context.cancelled()) return;
    if (path.weights.size() < 2) {
      context.document["trajectory"] = {{"checkpoints", path.weights.size()}, {"skipped", "needs at least two checkpoints"}};
      context.end(name(), "trajectory: skipped, the run has fewer than two checkpoints");
      return;
    }
    const auto& weights = path.weights;
    const auto& epochs = path.epochs;
    const TrajectoryProjection projection = projectTrajectory(weights, weights.back());
    writeTrajectoryCsv(context.file("trajectory.csv"), epochs, projection);
    context.addFile("trajectory.csv");
    // How much of the path its PCA plane shows: the share of the variance, and the farthest checkpoint's
    // distance from the plane beside its distance from the final weights (the plane's origin).
    context.document["trajectory"] = {{"checkpoints", epochs.size()},
                                      {"explained_by_plane", jsonNumber(projection.explainedByPlane())},
                                      {"max_off_plane", jsonNumber(projection.maxDistanceFromPlane())},
                                      {"max_from_final", jsonNumber(projection.maxDistanceFromOrigin())},
                                      {"file", "trajectory.csv"}};
    context.results.pathFit.explainedByPcaPlane = projection.explainedByPlane();
    context.results.pathFit.maxOffPcaPlane = projection.maxDistanceFromPlane();
    context.results.pathFit.maxFromFinal = projection.maxDistanceFromOrigin();
    if (const SliceDirections* directions = context.sliceDirections) {
      // The same path in the slice's own coordinates, so it can be drawn on the slice's surface.
      const TrajectoryProjection onSlice = projectOntoDirections(
          weights, context.sliceCentre.empty() ? flatWeights(context.network) : context.sliceCentre, directions->first,
          directions->second);
      writeTrajectoryCsv(context.file("trajectory_on_slice.csv"), epochs, onSlice);
      context.addFile("trajectory_on_slice.csv");
      context.document["trajectory"]["slice_file"] = "trajectory_on_slice.csv";
      context.document["trajectory"]["slice_max_off_plane"] = jsonNumber(onSlice.maxDistanceFromPlane());
      context.document["trajectory"]["slice_max_from_centre"] = jsonNumber(onSlice.maxDistanceFromOrigin());
      context.results.pathFit.maxOffSlice = onSlice.maxDistanceFromPlane();
      context.results.pathFit.maxFromSliceCentre = onSlice.maxDistanceFromOrigin();
      context.results.trajectoryOnSlice = {epochs, onSlice.xs, onSlice.ys};
      addPlanePaths(context, *directions);
    }
    std::ostringstream summary;
    summary << "trajectory: " << epochs.size() << " checkpoints, the plane explains " << projection.explainedByPlane()
            << " of the variance; the farthest checkpoint is " << projection.maxDistanceFromPlane()
            << " off it (" << projection.maxDistanceFromOrigin() << " from the final weights)";
    context.end(name(), summary.str());
  }

  void read(const AnalysisJsonReader& reader, AnalysisResults& results) const override {
    const nlohmann::json* trajectory = reader.section("trajectory");
    if (trajectory != nullptr) {
      PathFit& fit = results.pathFit;
      fit.explainedByPcaPlane = reader.optionalNumber(*trajectory, "explained_by_plane", "trajectory.");
      fit.maxOffPcaPlane = reader.optionalNumber(*trajectory, "max_off_plane", "trajectory.");
      fit.maxFromFinal = reader.optionalNumber(*trajectory, "max_from_final", "trajectory.");
      fit.maxOffSlice = reader.optionalNumber(*trajectory, "slice_max_off_plane", "trajectory.");
      fit.maxFromSliceCentre = reader.optionalNumber(*trajectory, "slice_max_from_centre", "trajectory.");
    }
    if (trajectory != nullptr && trajectory->contains("slice_file")) {
      results.trajectoryOnSlice = readTrajectoryCsv(reader.file("trajectory_on_slice.csv"));
    }
    if (trajectory != nullptr && trajectory->contains("plane_paths")) {
      const nlohmann::json& paths = (*trajectory)["plane_paths"];
      if (!paths.is_array()) reader.fail("trajectory.plane_paths must be a list");
      for (const auto& entry : paths) {
        if (!entry.is_object() || !entry.contains("run") || !entry["run"].is_string() || !entry.contains("file") ||
            !entry["file"].is_string()) {
          reader.fail("each trajectory.plane_paths entry needs run and file (strings)");
        }
        PlanePath path{entry["run"].get<std::string>(), readTrajectoryCsv(reader.file(entry["file"].get<std::string>())),
                       reader.optionalNumber(entry, "max_off_plane", "trajectory.plane_paths."),
                       reader.optionalNumber(entry, "max_from_centre", "trajectory.plane_paths.")};
        results.planePaths.push_back(std::move(path));
      }
    }
  }

  void addRecords(const nlohmann::json& document, std::vector<StageRecord>& records) const override {
    if (!document.contains("trajectory") || !document["trajectory"].contains("file")) return;
    StageRecord record{"trajectory", document["trajectory"], {{"trajectory.csv", "trajectory.csv"}}};
    if (document["trajectory"].contains("slice_file")) {
      record.files.emplace_back("trajectory_on_slice.csv", "trajectory_on_slice.csv");
    }
    for (const auto& entry : document["trajectory"].value("plane_paths", nlohmann::json::array())) {
      const std::string file = entry.value("file", "");
      if (!file.empty()) record.files.emplace_back(file, file);
    }
    records.push_back(std::move(record));
  }

 private:
  // Each --slice-plane run's path (initial weights first) in the plane's coordinates, one file each.
  static void addPlanePaths(StageContext& context, const SliceDirections& directions) {
    if (context.slicePlaneRuns.empty() || context.sliceCentre.empty()) return;
    nlohmann::json entries = nlohmann::json::array();
    for (std::size_t i = 0; i < context.slicePlaneRuns.size(); ++i) {
      const std::string& run = context.slicePlaneRuns[i];
      const CheckpointPath path = context.session.readCheckpointPath(run, true, context.cancel);
      if (context.cancelled()) return;
      if (path.weights.empty()) continue;
      const TrajectoryProjection onPlane =
          projectOntoDirections(path.weights, context.sliceCentre, directions.first, directions.second);
      const std::string file = "path_on_plane_" + std::to_string(i + 1) + ".csv";
      writeTrajectoryCsv(context.file(file), path.epochs, onPlane);
      context.addFile(file);
      entries.push_back({{"run", run},
                         {"file", file},
                         {"checkpoints", path.epochs.size()},
                         {"max_off_plane", jsonNumber(onPlane.maxDistanceFromPlane())},
                         {"max_from_centre", jsonNumber(onPlane.maxDistanceFromOrigin())}});
      context.results.planePaths.push_back({run, {path.epochs, onPlane.xs, onPlane.ys}, onPlane.maxDistanceFromPlane(),
                                            onPlane.maxDistanceFromOrigin()});
    }
    context.document["trajectory"]["plane_paths"] = entries;
  }
};

}  // namespace

std::unique_ptr<AnalysisStage> makeTrajectoryStage() { return std::make_unique<TrajectoryStage>(); }

}  // namespace samscape

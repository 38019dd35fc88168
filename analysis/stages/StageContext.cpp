#include "analysis/stages/StageContext.h"

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "analysis/LossSurfaceTorch.h"
#include "core/AtomicFile.h"
#include "core/Runtime.h"
#include "core/models/ParameterVector.h"
#include "core/train/CheckpointFiles.h"

namespace samscape {
namespace fs = std::filesystem;
using nlohmann::json;

void CancellableOperator::apply(const double* in, double* out) {
  if (cancel_ != nullptr && cancel_->load()) throw AnalysisCancelled{};
  ++products_;
  inner_.apply(in, out);
}

void CancellableOperator::applyMany(std::int64_t count, const double* in, double* out) {
  if (cancel_ != nullptr && cancel_->load()) throw AnalysisCancelled{};
  products_ += count;
  inner_.applyMany(count, in, out);
}

// ----- the session's side ---------------------------------------------------------------------------------

EvaluationSettings StageSession::evaluation() const {
  EvaluationSettings settings;
  settings.normalize = model.run.normalize;
  settings.statistics = data.trainStatistics;
  settings.batchSize = request.batchSize;
  settings.device = device;
  settings.group = group;
  return settings;
}

ModelHessianOptions StageSession::hessianOptions() const {
  ModelHessianOptions options;
  options.evaluation = evaluation();
  options.doublePrecision = request.precision == "float64" && !request.singlePrecision;
  return options;
}

std::unique_ptr<Network> StageSession::makeNetwork() const {
  // Building a built-in model draws its initial weights from LibTorch's global generator. An analysis
  // that runs beside a training run must not move that generator, or the run's results would depend on
  // whether it is analysed; the weights are overwritten by the loaded ones anyway.
  const auto generatorLock = lockGlobalGenerator();
  at::Generator generator = at::globalContext().defaultGenerator(at::kCPU);
  const at::Tensor state = generator.get_state();
  std::unique_ptr<Network> made;
  try {
    made = samscape::makeNetwork(model.run.model);
  } catch (...) {
    generator.set_state(state);
    throw;
  }
  generator.set_state(state);
  return made;
}

CheckpointPath StageSession::readCheckpointPath(const std::atomic<bool>* cancel) const {
  return readCheckpointPath(model.runDirectory, false, cancel);
}

CheckpointPath StageSession::readCheckpointPath(const std::string& runDirectory, bool withInitial,
                                                const std::atomic<bool>* cancel) const {
  // Memory: one flat float64 copy per checkpoint (fine for the small models this is drawn for; see
  // DEVELOPERS.md).
  const fs::path directory = fs::path(runDirectory) / "checkpoints";
  const std::vector<std::string> checkpoints = completeCheckpoints(directory.string());
  const fs::path initial = directory / kInitialWeightsDirectory / "model.pt";
  const bool addInitial = withInitial && fs::is_regular_file(initial);
  CheckpointPath path;
  if (checkpoints.empty() && !addInitial) return path;
  auto walker = makeNetwork();
  if (addInitial) {
    walker->load(initial.string());
    path.weights.push_back(flatWeights(*walker));
    path.epochs.push_back(0);
  }
  for (const std::string& checkpoint : checkpoints) {
    if (cancel != nullptr && cancel->load()) return {};
    walker->load((fs::path(checkpoint) / "model.pt").string());
    path.weights.push_back(flatWeights(*walker));
    path.epochs.push_back(std::stoi(fs::path(checkpoint).filename().string().substr(6)));
  }
  return path;
}

// ----- the shared Hessian operator ----------------------------------------------------------------------

SharedHessian::SharedHessian(const StageSession& session, const std::atomic<bool>* cancel)
    : request_(session.request),
      hessian_(makeModelHessian(*session.network, session.images, session.hessianOptions())),
      native_(*hessian_, cancel),
      float64_(hessian_->inDoublePrecision(), cancel) {}

SymmetricOperator& SharedHessian::productsIn(double tolerance) {
  if (productPrecision(request_, tolerance) == "float32" && !hessian_->doublePrecision()) return native_;
  return float64_;
}

const char* SharedHessian::precisionName(double tolerance) {
  return &productsIn(tolerance) == &native_ ? "float32" : "float64";
}

CheckedSpectrum SharedHessian::lanczos(const SpectrumOptions& options) {
  return checkedTopEigenvalues(productsIn(options.tolerance), float64_, options,
                               float32LanczosTolerance(options.tolerance));
}

json SharedHessian::productMethodJson() const {
  const ProductMethodChoice& method = hessian_->productMethod();
  json description = {{"method", productMethodName(method.method)},
                      {"probe_examples", method.examples},
                      {"double_backward_seconds", jsonNumber(method.doubleBackwardSeconds)},
                      {"forward_over_reverse_seconds", jsonNumber(method.forwardOverReverseSeconds)}};
  if (!method.forwardOverReverseError.empty()) {
    description["forward_over_reverse_unsupported"] = method.forwardOverReverseError;
  }
  return description;
}

json SharedHessian::checkJson(const CheckedSpectrum& checked, const SpectrumOptions& options) {
  json residuals = json::array();
  for (double value : checked.check.relativeResiduals) residuals.push_back(jsonNumber(value));
  return json{{"products", precisionName(options.tolerance)},
              {"residuals_float64", residuals},
              {"tolerance", options.tolerance},
              {"check", checked.outcome},
              {"float64_products", checked.checkProducts}};
}

std::string SharedHessian::summary(const std::string& heading, const SpectrumResult& spectrum,
                                   const CheckedSpectrum& checked, const SpectrumOptions& options) {
  std::ostringstream out;
  out << heading;
  for (double value : spectrum.eigenvalues) out << " " << value;
  out << " (" << spectrum.hessianVectorProducts << " Hessian-vector products, " << spectrum.status << "; ";
  const auto& residuals = checked.check.relativeResiduals;
  const double worst = residuals.empty() ? std::numeric_limits<double>::quiet_NaN()
                                         : *std::max_element(residuals.begin(), residuals.end());
  out << precisionName(options.tolerance) << " products (" << productMethodName(hessian_->productMethod().method)
      << "), check in float64 " << checked.outcome << ": largest relative residual " << worst << ")";
  return out.str();
}

// ----- one analysis ---------------------------------------------------------------------------------------

StageContext::StageContext(StageSession& session, fs::path out, AnalysisObserver* observer,
                           const std::atomic<bool>* cancel)
    : session(session),
      request(session.request),
      network(*session.network),
      images(session.images),
      out(std::move(out)),
      observer(observer),
      cancel(cancel),
      document(json::object()) {
  results.directory = this->out.string();
}

SharedHessian& StageContext::hessian() {
  if (!hessian_) hessian_ = std::make_unique<SharedHessian>(session, cancel);
  return *hessian_;
}

void StageContext::begin(const std::string& name) {
  stage = name;
  if (observer != nullptr) observer->onStageBegin(name);
}

void StageContext::end(const std::string& name, const std::string& summary) {
  save("running");
  if (observer != nullptr) observer->onStageEnd(name, summary);
}

void StageContext::addFile(const std::string& name) {
  if (std::find(results.files.begin(), results.files.end(), name) == results.files.end()) results.files.push_back(name);
}

void StageContext::save(const std::string& status) {
  document["status"] = status;
  results.status = status;
  writeFileAtomically((out / "analysis.json").string(), document.dump(2) + "\n");
}

}  // namespace samscape

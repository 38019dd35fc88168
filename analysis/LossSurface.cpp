#include "analysis/LossSurface.h"

#include <torch/nn/functional/loss.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>
#include <utility>

#include "analysis/LossSurfaceTorch.h"
#include "core/Error.h"
#include "core/train/DistributedGroup.h"
#include "core/Runtime.h"
#include "core/data/BatchLoader.h"
#include "core/models/ParameterVector.h"
#include "core/models/NetworkPlacement.h"
#include "core/train/RunDirectory.h"

namespace samscape {

namespace {

constexpr char kDirectionsMagic[8] = {'S', 'S', 'L', 'S', 'D', 'I', 'R', '1'};
constexpr std::size_t kDirectionsHeaderBytes = 8 + 3 * 8;

void appendU64(std::string& out, std::uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) out.push_back(static_cast<char>((value >> (8 * byte)) & 0xffu));
}

std::uint64_t readU64(const std::string& in, std::size_t offset) {
  std::uint64_t value = 0;
  for (int byte = 7; byte >= 0; --byte) {
    value = (value << 8) | static_cast<unsigned char>(in[offset + static_cast<std::size_t>(byte)]);
  }
  return value;
}

void appendDoubles(std::string& out, const std::vector<double>& values) {
  for (double value : values) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    appendU64(out, bits);
  }
}

std::vector<double> readDoubles(const std::string& in, std::size_t offset, std::size_t count) {
  std::vector<double> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t bits = readU64(in, offset + 8 * i);
    std::memcpy(&values[i], &bits, sizeof bits);
  }
  return values;
}

// A standard normal from 53-bit uniforms by Box-Muller (one value per call, the cosine branch), so
// the sequence depends only on std::mt19937_64, which the standard fixes exactly.
double standardNormal(std::mt19937_64& engine) {
  const auto uniform = [&engine] { return static_cast<double>(engine() >> 11) * 0x1.0p-53; };
  double u1 = 0.0;
  do {
    u1 = uniform();
  } while (u1 <= 0.0);
  const double u2 = uniform();
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

// Rescales `direction` (one parameter's slice, float64, CPU) filter by filter against `weights`.
void filterNormalize(torch::Tensor direction, const torch::Tensor& weights, bool keepOneDimensional) {
  if (weights.dim() <= 1) {
    if (!keepOneDimensional) {
      direction.zero_();
      return;
    }
    const double directionNorm = direction.norm().item<double>();
    const double weightNorm = weights.norm().item<double>();
    if (directionNorm > 0.0) {
      direction.mul_(weightNorm / directionNorm);
    } else {
      direction.zero_();
    }
    return;
  }
  const torch::Tensor directionRows = direction.view({weights.size(0), -1});
  const torch::Tensor weightRows = weights.reshape({weights.size(0), -1});
  for (std::int64_t row = 0; row < weights.size(0); ++row) {
    torch::Tensor filter = directionRows[row];
    const double directionNorm = filter.norm().item<double>();
    const double weightNorm = weightRows[row].norm().item<double>();
    if (directionNorm > 0.0) {
      filter.mul_(weightNorm / directionNorm);
    } else {
      filter.zero_();
    }
  }
}

torch::Tensor toTensor(const std::vector<double>& values) {
  return torch::from_blob(const_cast<double*>(values.data()), {static_cast<std::int64_t>(values.size())},
                          torch::kFloat64)
      .clone();
}

// The image set preprocessed once (as evaluateClassifier's BatchLoader does per batch), when it fits
// in `kCacheBytes`; otherwise each batch is preprocessed again for each point.
class PreparedBatches {
 public:
  PreparedBatches(const ImageSet& images, const LandscapeEvaluationOptions& options, torch::Device device,
                  torch::Dtype dtype)
      : images_(images), options_(options), device_(device), dtype_(dtype) {
    const auto count = static_cast<std::int64_t>(images.size());
    pixels_ = torch::from_blob(const_cast<std::uint8_t*>(images.pixels.data()),
                               {count, images.channels, images.height, images.width}, torch::kUInt8);
    labels_ = torch::from_blob(const_cast<std::int64_t*>(images.labels.data()), {count}, torch::kInt64);
    batchCount_ = count / options.batchSize + (count % options.batchSize != 0 ? 1 : 0);  // no overflow
    const std::int64_t elementBytes = dtype == torch::kFloat64 ? 8 : 4;
    if (count * static_cast<std::int64_t>(images.imageBytes()) * elementBytes <= kCacheBytes) {
      for (std::int64_t index = 0; index < batchCount_; ++index) cached_.push_back(make(index));
    }
  }

  std::int64_t size() const { return batchCount_; }

  std::pair<torch::Tensor, torch::Tensor> batch(std::int64_t index) const {
    return cached_.empty() ? make(index) : cached_[static_cast<std::size_t>(index)];
  }

 private:
  static constexpr std::int64_t kCacheBytes = std::int64_t{512} << 20;

  std::pair<torch::Tensor, torch::Tensor> make(std::int64_t index) const {
    const auto count = static_cast<std::int64_t>(images_.size());
    const std::int64_t begin = index * options_.batchSize;
    const std::int64_t size = std::min(options_.batchSize, count - begin);
    torch::Tensor images = preprocessImages(pixels_.narrow(0, begin, size), options_.normalize, options_.statistics)
                               .to(device_, dtype_);
    torch::Tensor labels = labels_.narrow(0, begin, size).to(device_);
    return {images, labels};
  }

  const ImageSet& images_;
  const LandscapeEvaluationOptions& options_;
  torch::Device device_;
  torch::Dtype dtype_;
  torch::Tensor pixels_;
  torch::Tensor labels_;
  std::int64_t batchCount_ = 0;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> cached_;
};

void checkEvaluationOptions(const ImageSet& images, const LandscapeEvaluationOptions& options) {
  checkDeviceName(options.device);
  if (images.size() == 0) throw Error("the loss landscape needs at least one example; the image set is empty");
  if (options.batchSize < 1) {
    throw Error("the loss landscape's batch size must be at least 1, not " + std::to_string(options.batchSize));
  }
  if (options.normalize && (options.statistics.mean.size() != static_cast<std::size_t>(images.channels) ||
                            options.statistics.stddev.size() != static_cast<std::size_t>(images.channels))) {
    throw Error("the normalization statistics have " + std::to_string(options.statistics.mean.size()) +
                " channels but the images have " + std::to_string(images.channels));
  }
}

// Holds the network on the evaluation device with its weights free to change; gives back the exact
// original weights and the original device however the evaluation ends.
class InPlaceEvaluator {
 public:
  InPlaceEvaluator(Network& network, const ImageSet& images, const LandscapeEvaluationOptions& options)
      : network_(network),
        placement_((checkEvaluationOptions(images, options), network), torch::Device(options.device),
                   /*doublePrecision=*/false, /*saveWeights=*/true),
        original_(placement_.savedWeights()),
        originalDouble_(original_.to(torch::kFloat64)) {
    batches_.emplace(images, options, torch::Device(options.device), original_.scalar_type());
    examples_ = static_cast<std::int64_t>(images.size());
    // Evaluations leave the network in evaluation mode, as evaluateClassifier does.
    network_.setTraining(false);
  }

  InPlaceEvaluator(const InPlaceEvaluator&) = delete;
  InPlaceEvaluator& operator=(const InPlaceEvaluator&) = delete;

  std::int64_t parameterCount() const { return original_.numel(); }
  std::int64_t examples() const { return examples_; }
  // w as float64 on the device.
  const torch::Tensor& weights() const { return originalDouble_; }

  // Loss and accuracy at `flat` (float64, any device), written into the network's parameters.
  std::pair<double, double> evaluateAt(const torch::Tensor& flat) {
    assignParameters(network_, flat.to(original_.device(), original_.scalar_type()));
    return evaluateCurrent();
  }

  // Loss and accuracy at w + x d1 + y d2 (d1, d2 float64 on the device), formed in one reused float64
  // buffer: a slice's points each cost a pass over the examples and as little else as possible (a
  // small model's pass is a few milliseconds, which fresh temporaries of the parameter count would
  // visibly slow).
  std::pair<double, double> evaluateAtPoint(double x, const torch::Tensor& first, double y, const torch::Tensor& second) {
    torch::NoGradGuard noGrad;
    if (!point_.defined()) point_ = torch::empty_like(originalDouble_);
    point_.copy_(originalDouble_).add_(first, x).add_(second, y);
    assignParameters(network_, point_);
    return evaluateCurrent();
  }

  // As evaluateClassifier: summed cross-entropy in double over batches, divided by N.
  std::pair<double, double> evaluateCurrent() {
    torch::NoGradGuard noGrad;
    network_.setTraining(false);
    namespace F = torch::nn::functional;
    double lossSum = 0.0;
    std::int64_t correct = 0;
    for (std::int64_t index = 0; index < batches_->size(); ++index) {
      const auto [images, labels] = batches_->batch(index);
      const torch::Tensor logits = network_.forward(images);
      lossSum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
      correct += logits.argmax(1).eq(labels).sum().item<std::int64_t>();
    }
    return {lossSum / static_cast<double>(examples_), static_cast<double>(correct) / static_cast<double>(examples_)};
  }

  void restore() { placement_.restore(); }

 private:
  Network& network_;
  ScopedAnalysisPlacement placement_;  // gives the exact original weights and device back however evaluation ends
  torch::Tensor original_;
  torch::Tensor originalDouble_;
  torch::Tensor point_;  // evaluateAtPoint's buffer
  std::optional<PreparedBatches> batches_;
  std::int64_t examples_ = 0;
};

std::vector<double> linearGrid(double low, double high, int points) {
  std::vector<double> values(static_cast<std::size_t>(points));
  for (int i = 0; i < points; ++i) values[static_cast<std::size_t>(i)] = low + (high - low) * i / (points - 1);
  return values;
}

bool cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

}  // namespace

// ----- directions ------------------------------------------------------------------------------------

void saveDirections(const std::string& path, const SliceDirections& directions) {
  if (directions.first.size() != directions.second.size()) {
    throw Error(path + ": cannot save slice directions of different lengths (" +
                std::to_string(directions.first.size()) + " and " + std::to_string(directions.second.size()) + ")");
  }
  std::string content(kDirectionsMagic, sizeof kDirectionsMagic);
  appendU64(content, directions.first.size());
  appendU64(content, directions.seed);
  appendU64(content, directions.keepOneDimensional ? 1u : 0u);
  appendDoubles(content, directions.first);
  appendDoubles(content, directions.second);
  writeFileAtomically(path, content);
}

SliceDirections loadDirections(const std::string& path, std::int64_t expectedParameterCount) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw DataError(path, "cannot open the slice directions file");
  const std::string content((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  if (content.size() < kDirectionsHeaderBytes ||
      std::memcmp(content.data(), kDirectionsMagic, sizeof kDirectionsMagic) != 0) {
    throw DataError(path, "not a samscape slice directions file (no SSLSDIR1 header)");
  }
  const std::uint64_t count = readU64(content, 8);
  const std::uint64_t expectedBytes = kDirectionsHeaderBytes + 2 * 8 * count;
  if (count > content.size() || content.size() != expectedBytes) {
    throw DataError(path, "truncated or corrupt slice directions file: " + std::to_string(content.size()) +
                              " bytes for " + std::to_string(count) + " parameters");
  }
  if (expectedParameterCount >= 0 && count != static_cast<std::uint64_t>(expectedParameterCount)) {
    throw DataError(path, "the slice directions are for a model with " + std::to_string(count) +
                              " parameters, but this model has " + std::to_string(expectedParameterCount));
  }
  SliceDirections directions;
  directions.seed = readU64(content, 16);
  directions.keepOneDimensional = (readU64(content, 24) & 1u) != 0;
  directions.first = readDoubles(content, kDirectionsHeaderBytes, count);
  directions.second = readDoubles(content, kDirectionsHeaderBytes + 8 * count, count);
  for (const std::vector<double>* direction : {&directions.first, &directions.second}) {
    for (double value : *direction) {
      if (!std::isfinite(value)) throw DataError(path, "the slice directions hold a non-finite value");
    }
  }
  return directions;
}

std::vector<double> flatWeights(Network& network) {
  const torch::Tensor flat = flattenParameters(network).to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = flat.data_ptr<double>();
  return std::vector<double>(data, data + flat.numel());
}

SliceDirections makeFilterNormalizedDirections(Network& network, const DirectionOptions& options) {
  const std::vector<torch::Tensor> parameters = network.parameters();
  if (parameters.empty()) throw Error("the network has no trainable parameters to draw directions for");
  std::vector<torch::Tensor> weights;
  std::int64_t count = 0;
  for (const torch::Tensor& parameter : parameters) {
    weights.push_back(parameter.detach().to(torch::kCPU, torch::kFloat64));
    count += parameter.numel();
  }
  std::mt19937_64 engine(options.seed);
  SliceDirections directions;
  directions.seed = options.seed;
  directions.keepOneDimensional = options.keepOneDimensional;
  for (std::vector<double>* direction : {&directions.first, &directions.second}) {
    direction->resize(static_cast<std::size_t>(count));
    for (double& value : *direction) value = standardNormal(engine);
    // A view on the vector's storage: filter normalization writes straight into it.
    const torch::Tensor flat = torch::from_blob(direction->data(), {count}, torch::kFloat64);
    const std::vector<torch::Tensor> pieces = unflattenLike(flat, weights);
    for (std::size_t i = 0; i < weights.size(); ++i) filterNormalize(pieces[i], weights[i], options.keepOneDimensional);
  }
  return directions;
}

// ----- 2D slice --------------------------------------------------------------------------------------

std::vector<std::vector<std::pair<int, int>>> sliceLevels(int gridSize, int coarseStride) {
  if (gridSize < 2) throw ConfigError("--grid", std::to_string(gridSize), "a slice needs at least 2 points per axis");
  if (coarseStride < 0) {
    throw ConfigError("--coarse-stride", std::to_string(coarseStride), "the stride must be 0 (automatic) or positive");
  }
  int stride = coarseStride;
  if (stride == 0) {
    stride = 1;
    while (stride * 2 <= (gridSize - 1) / 4) stride *= 2;
  }
  std::vector<char> done(static_cast<std::size_t>(gridSize) * static_cast<std::size_t>(gridSize), 0);
  std::vector<std::vector<std::pair<int, int>>> levels;
  for (;;) {
    const auto onLevel = [gridSize, stride](int i) { return i % stride == 0 || i == gridSize - 1; };
    std::vector<std::pair<int, int>> level;
    for (int iy = 0; iy < gridSize; ++iy) {
      if (!onLevel(iy)) continue;
      for (int ix = 0; ix < gridSize; ++ix) {
        const std::size_t index = static_cast<std::size_t>(iy) * static_cast<std::size_t>(gridSize) +
                                  static_cast<std::size_t>(ix);
        if (!onLevel(ix) || done[index]) continue;
        done[index] = 1;
        level.emplace_back(ix, iy);
      }
    }
    levels.push_back(std::move(level));
    if (stride == 1) break;
    stride /= 2;
  }
  return levels;
}

SliceResult computeLossSlice(Network& network, const ImageSet& images, const SliceDirections& directions,
                             const SliceOptions& options, const SliceProgress& progress,
                             const std::atomic<bool>* cancel) {
  if (!(options.rangeMin < options.rangeMax) || !std::isfinite(options.rangeMin) || !std::isfinite(options.rangeMax)) {
    std::ostringstream range;
    range << options.rangeMin << ":" << options.rangeMax;
    throw ConfigError("--range", range.str(), "the range a:b needs finite a < b");
  }
  const std::vector<std::vector<std::pair<int, int>>> levels = sliceLevels(options.gridSize, options.coarseStride);
  const std::int64_t parameters = parameterCount(network);
  if (directions.parameterCount() != parameters ||
      directions.second.size() != directions.first.size()) {
    throw Error("the slice directions have " + std::to_string(directions.first.size()) + " and " +
                std::to_string(directions.second.size()) + " entries but the model has " +
                std::to_string(parameters) + " parameters");
  }

  InPlaceEvaluator evaluator(network, images, options.evaluation);
  const torch::Device device(options.evaluation.device);
  const torch::Tensor first = toTensor(directions.first).to(device);
  const torch::Tensor second = toTensor(directions.second).to(device);

  SliceResult result;
  result.examples = evaluator.examples();
  SliceGrid& grid = result.grid;
  const auto n = static_cast<std::size_t>(options.gridSize);
  grid.xs = linearGrid(options.rangeMin, options.rangeMax, options.gridSize);
  grid.ys = grid.xs;
  grid.loss.assign(n * n, std::numeric_limits<double>::quiet_NaN());
  grid.accuracy = grid.loss;
  grid.pointsTotal = static_cast<std::int64_t>(n * n);

  if (cancelled(cancel)) {
    result.status = LandscapeStatus::Cancelled;
    return result;
  }
  std::tie(result.centreLoss, result.centreAccuracy) = evaluator.evaluateCurrent();

  int stride = levels.size() > 1 ? 1 << (levels.size() - 1) : 1;
  if (options.coarseStride > 0) stride = options.coarseStride;
  DistributedGroup* group = options.evaluation.group;
  const std::size_t rank = group == nullptr ? 0 : static_cast<std::size_t>(group->rank());
  const std::size_t ranks = group == nullptr ? 1 : static_cast<std::size_t>(group->worldSize());
  for (std::size_t level = 0; level < levels.size(); ++level) {
    const auto& points = levels[level];
    // In a multi-process job every rank must reach the same collectives: the ranks agree on
    // cancelling once per level, and each evaluates every ranks-th point of the level.
    if (group != nullptr ? group->anyRank(cancelled(cancel), "cancelling the slice") : false) {
      result.status = LandscapeStatus::Cancelled;
      return result;
    }
    std::vector<double> levelValues(2 * points.size(), 0.0);
    for (std::size_t position = rank; position < points.size(); position += ranks) {
      if (group == nullptr && cancelled(cancel)) {
        result.status = LandscapeStatus::Cancelled;
        return result;
      }
      const auto [ix, iy] = points[position];
      const double x = grid.xs[static_cast<std::size_t>(ix)];
      const double y = grid.ys[static_cast<std::size_t>(iy)];
      const auto [loss, accuracy] =
          (x == 0.0 && y == 0.0) ? std::make_pair(result.centreLoss, result.centreAccuracy)
                                 : evaluator.evaluateAtPoint(x, first, y, second);
      levelValues[2 * position] = loss;
      levelValues[2 * position + 1] = accuracy;
      if (group == nullptr) {
        const std::size_t index = grid.index(static_cast<std::size_t>(ix), static_cast<std::size_t>(iy));
        grid.loss[index] = loss;
        grid.accuracy[index] = accuracy;
        ++grid.pointsDone;
      }
    }
    if (group != nullptr) {
      // Each point was evaluated by exactly one rank and is zero elsewhere: the sum is the grid.
      torch::Tensor gathered = torch::from_blob(levelValues.data(), {static_cast<std::int64_t>(levelValues.size())},
                                                torch::kFloat64)
                                   .clone()
                                   .to(device);
      group->allReduceSum(gathered, "slice level " + std::to_string(level));
      gathered = gathered.to(torch::kCPU).contiguous();
      const double* values = gathered.data_ptr<double>();
      for (std::size_t position = 0; position < points.size(); ++position) {
        const auto [ix, iy] = points[position];
        const std::size_t index = grid.index(static_cast<std::size_t>(ix), static_cast<std::size_t>(iy));
        grid.loss[index] = values[2 * position];
        grid.accuracy[index] = values[2 * position + 1];
        ++grid.pointsDone;
      }
    }
    grid.level = static_cast<int>(level);
    grid.stride = stride;
    stride = std::max(1, stride / 2);
    if (progress) progress(grid);
  }
  return result;
}

// ----- 1D interpolation ------------------------------------------------------------------------------

InterpolationResult computeInterpolation(Network& network, const ImageSet& images, const std::vector<double>& w1,
                                         const std::vector<double>& w2, const InterpolationOptions& options,
                                         const InterpolationProgress& progress, const std::atomic<bool>* cancel) {
  if (options.points < 2) {
    throw ConfigError("--interpolate-points", std::to_string(options.points), "an interpolation needs at least 2 points");
  }
  if (!(options.tMin < options.tMax) || !std::isfinite(options.tMin) || !std::isfinite(options.tMax)) {
    std::ostringstream range;
    range << options.tMin << ":" << options.tMax;
    throw ConfigError("--interpolate-range", range.str(), "the range a:b needs finite a < b");
  }
  const std::int64_t parameters = parameterCount(network);
  if (static_cast<std::int64_t>(w1.size()) != parameters || static_cast<std::int64_t>(w2.size()) != parameters) {
    throw Error("the interpolation's weight vectors have " + std::to_string(w1.size()) + " and " +
                std::to_string(w2.size()) + " entries but the model has " + std::to_string(parameters) +
                " parameters");
  }
  InPlaceEvaluator evaluator(network, images, options.evaluation);
  const torch::Device device(options.evaluation.device);
  const torch::Tensor start = toTensor(w1).to(device);
  const torch::Tensor end = toTensor(w2).to(device);

  InterpolationResult result;
  result.examples = evaluator.examples();
  result.ts = linearGrid(options.tMin, options.tMax, options.points);
  result.loss.assign(result.ts.size(), std::numeric_limits<double>::quiet_NaN());
  result.accuracy = result.loss;
  for (std::size_t i = 0; i < result.ts.size(); ++i) {
    if (cancelled(cancel)) {
      result.status = LandscapeStatus::Cancelled;
      return result;
    }
    const double t = result.ts[i];
    std::tie(result.loss[i], result.accuracy[i]) = evaluator.evaluateAt((1.0 - t) * start + t * end);
    ++result.pointsDone;
    if (progress) progress(result);
  }
  return result;
}

}  // namespace samscape

#include "gui/Pages.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QShowEvent>
#include <QSlider>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "analysis/Metrics.h"
#include "core/optim/StabilityEdge.h"
#include "gui/PageSubtitle.h"
#include "gui/SeedBands.h"
#include "viz/FigureExport.h"
#include "viz/LandscapeView.h"
#include "viz/LineChart.h"
#include "viz/RunColors.h"

namespace samscape::gui {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Exports a chart as PNG, SVG and PDF plus its CSV; appends the files to `written`.
bool exportChart(viz::LineChart& chart, const QString& base, QStringList* written, QString* error) {
  for (const QString extension : {"png", "svg", "pdf"}) {
    if (!chart.exportFigure(base + "." + extension, error)) return false;
    written->append(base + "." + extension);
  }
  if (!chart.exportCsv(base + ".csv", error)) return false;
  written->append(base + ".csv");
  return true;
}

// The run's edge of stability beside lambda_max (core/optim/StabilityEdge.h). SGD: gradient descent's
// bound at each epoch's learning rate (Cohen et al., ICLR 2021), 2(1 + beta)/lr with heavy-ball momentum
// beta (2/lr without; Nesterov's: 2(1 + beta)/((1 + 2 beta) lr)). SAM: the SAM-edge of Long & Bartlett
// (JMLR 2024) at each analysed epoch, from the gradient norm the analysis measured (the stability_edge
// stage) and the epoch's rate; it falls as the gradient shrinks, well below 2/lr. Runs with an Adam base
// or a rule the derivation does not cover have none.
std::optional<viz::ChartSeries> stabilityBound(const GuiRun& run, const QString& runLabel, const QColor& color,
                                               const std::function<double(int)>& xOf) {
  const OptimizerSpec& o = run.spec.config.optimizer;
  const auto rateOf = [&](int epoch) {
    const auto index = static_cast<std::size_t>(epoch - 1);
    return epoch >= 1 && index < run.epochs.size() ? run.epochs[index].learningRate : 0.0;
  };
  std::map<int, StabilityEdge> edges;  // by epoch, so a late-SAM run's two phases draw in order
  const auto add = [&](int epoch, const std::optional<StabilityEdge>& edge) {
    if (edge) edges[epoch] = *edge;
  };
  if (o.sharpnessAware()) {
    for (const auto& [epoch, analysis] : run.analyses) {
      const auto norm = analysis.metrics.find("gradient_norm");
      if (norm != analysis.metrics.end()) add(epoch, stabilityEdge(o, rateOf(epoch), norm->second, epoch));
    }
    // A late-SAM run's SGD epochs (--sam-from-epoch): gradient descent's edge, at every epoch.
    for (const EpochMetrics& m : run.epochs) {
      if (o.samFromEpoch > 1 && m.epoch < o.samFromEpoch) add(m.epoch, stabilityEdge(o, m.learningRate, std::nullopt, m.epoch));
    }
  } else {
    for (const EpochMetrics& m : run.epochs) add(m.epoch, stabilityEdge(o, m.learningRate, std::nullopt));
  }
  viz::ChartSeries bound;
  bound.reference = true;
  bound.color = color;
  for (const auto& [epoch, edge] : edges) {
    const double x = xOf(epoch);
    if (std::isnan(x)) continue;
    // Named by its last kind: "SAM edge" for a late-SAM run once it has switched.
    bound.name = runLabel + " " + QString::fromStdString(edge.label);
    bound.xs.push_back(x);
    bound.ys.push_back(edge.value);
  }
  if (bound.xs.empty()) return std::nullopt;
  return bound;
}

// Where `run`'s epoch `epoch` ends on the curves page's x axis ("epochs", "steps", "wall time (s)");
// NaN when the run does not tell.
double epochX(const GuiRun& run, const QString& axis, int epoch) {
  const auto index = static_cast<std::size_t>(epoch - 1);
  if (axis == "steps") {
    return index < run.epochEndSteps.size() && run.epochEndSteps[index] > 0
               ? static_cast<double>(run.epochEndSteps[index])
               : kNaN;
  }
  if (axis == "wall time (s)") return index < run.epochEndSeconds.size() ? run.epochEndSeconds[index] : kNaN;
  return epoch;
}

// The epoch of `epochs`' highest test accuracy (the first of a tie); 0 when none has a finite one.
int bestTestAccuracyEpoch(const std::vector<EpochMetrics>& epochs) {
  int best = 0;
  double bestAccuracy = 0.0;
  for (const EpochMetrics& m : epochs) {
    if (!std::isfinite(m.testAccuracy)) continue;
    if (best == 0 || m.testAccuracy > bestAccuracy) {
      best = m.epoch;
      bestAccuracy = m.testAccuracy;
    }
  }
  return best;
}

// The lowest and highest finite value of the data series (not the reference lines) already on a chart:
// the span a marker line is drawn over, so that it never stretches the axis.
std::pair<double, double> dataSpan(const std::vector<viz::ChartSeries>& series) {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  for (const viz::ChartSeries& s : series) {
    if (s.reference) continue;
    const std::size_t count = std::min(s.xs.size(), s.ys.size());
    for (std::size_t i = 0; i < count; ++i) {
      if (!std::isfinite(s.xs[i]) || !std::isfinite(s.ys[i])) continue;
      low = std::min(low, s.ys[i]);
      high = std::max(high, s.ys[i]);
    }
  }
  return {low, high};
}

// A vertical dashed line at the epoch of `run`'s best test accuracy, over [low, high]: where early
// stopping would have stopped, to read the memorization curves against (label noise costs test
// accuracy from the epoch the flipped labels start being fitted; Zhang et al. 2017, Arpit et al. 2017).
std::optional<viz::ChartSeries> bestTestAccuracyMarker(const GuiRun& run, const QColor& color, const QString& axis,
                                                       double low, double high) {
  const int epoch = bestTestAccuracyEpoch(run.epochs);
  if (epoch == 0 || !std::isfinite(low) || !std::isfinite(high)) return std::nullopt;
  const double x = epochX(run, axis, epoch);
  if (std::isnan(x)) return std::nullopt;
  viz::ChartSeries marker;
  marker.reference = true;
  marker.color = color;
  marker.name = run.name() + QStringLiteral(": best test acc, epoch %1").arg(epoch);
  marker.xs = {x, x};
  marker.ys = {low, high};
  return marker;
}

// `run`'s values of `metric`, at its epochs (training metrics) or its analysed epochs.
SeedCurve metricCurve(const GuiRun& run, const MetricDefinition& metric, const QString& axis) {
  SeedCurve curve;
  const auto add = [&](int epoch, std::optional<double> value) {
    const double x = epochX(run, axis, epoch);
    if (std::isnan(x)) return;
    curve.keys.push_back(epoch);
    curve.xs.push_back(x);
    curve.ys.push_back(value.value_or(kNaN));
  };
  if (metric.perEpoch) {
    for (const EpochMetrics& m : run.epochs) add(m.epoch, metricValue(metric, m));
  } else {
    for (const auto& [epoch, analysis] : run.analyses) add(epoch, metricValue(metric, analysis));
  }
  return curve;
}

// The seeds of a cell beside their mean: thin enough to read the band through, dark enough to see an
// outlier seed.
constexpr int kSeedAlpha = 80;

QString fileSafe(const QString& text) {
  QString safe = text.toLower();
  safe.replace(QRegularExpression("[^a-z0-9]+"), "-");
  return safe;
}

}  // namespace


RunPage::RunPage(RunController& controller, QWidget* parent) : QWidget(parent), controller_(controller) {
  liveRefresh_ = new QTimer(this);
  liveRefresh_->setSingleShot(true);
  liveRefresh_->setInterval(kLiveRefreshMs);
  connect(liveRefresh_, &QTimer::timeout, this, [this] {
    if (isVisible()) {
      refresh();
    } else {
      stale_ = true;
    }
  });
}

void RunPage::setRuns(const std::vector<int>& ids) {
  runs_ = ids;
  liveRefresh_->stop();
  stale_ = false;
  refresh();
}

void RunPage::requestRefresh() {
  if (!isVisible()) {
    stale_ = true;
  } else if (!liveRefresh_->isActive()) {
    liveRefresh_->start();
  }
}

void RunPage::flushRefresh() {
  if (liveRefresh_->isActive() || stale_) {
    liveRefresh_->stop();
    stale_ = false;
    refresh();
  }
}

void RunPage::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (stale_) {
    stale_ = false;
    refresh();
  }
}

// ----- curves --------------------------------------------------------------------------------------------

CurvesPage::CurvesPage(RunController& controller, QWidget* parent) : RunPage(controller, parent) {
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(makePageSubtitle(
      "Metrics per epoch of the selected runs; pick one above each chart. Dashed: edge of stability, "
      "2(1+β)/lr for SGD, the SAM-edge for SAM, or the epoch of best test accuracy. Shaded: 95% interval over "
      "a study cell's seeds. Runs with label noise get a memorization chart: accuracy on the flipped vs the "
      "clean training labels.",
      this));
  auto* controls = new QHBoxLayout;
  xAxis_ = new QComboBox(this);
  xAxis_->addItems({"epochs", "steps", "wall time (s)"});
  logScale_ = new QCheckBox("log scale", this);
  // Seeds grouped by their study cell: what TensorBoard cannot do (tensorflow/tensorboard#376), and
  // what a claim over seeds needs, since one seed's curve says little about the next one's.
  seedBands_ = new QCheckBox("seeds as mean ± 95% band", this);
  seedBands_->setObjectName("seed-bands");
  seedBands_->setToolTip(
      "Runs of one study cell (the same settings over seeds): their mean at each point with "
      "the 95% interval of that mean (Student's t over the seeds), each seed drawn faint");
  seedBands_->setEnabled(false);
  smoothing_ = new QSlider(Qt::Horizontal, this);
  smoothing_->setRange(0, 95);
  smoothing_->setValue(0);
  smoothing_->setToolTip("EMA smoothing weight (the raw curve stays, faint)");
  controls->addWidget(new QLabel("x axis", this));
  controls->addWidget(xAxis_);
  controls->addWidget(logScale_);
  controls->addWidget(seedBands_);
  controls->addWidget(new QLabel("smoothing", this));
  controls->addWidget(smoothing_, 1);
  layout->addLayout(controls);

  auto* grid = new QGridLayout;
  // Every metric defined (analysis/Metrics.h): the items show labels and carry keys.
  const char* defaults[] = {"test_loss", "test_acc", "lambda_max", "m_sharpness"};
  for (int i = 0; i < 4; ++i) {
    auto* cell = new QVBoxLayout;
    auto* metric = new QComboBox(this);
    for (const MetricDefinition& m : allMetrics()) {
      if (m.key == "train_seconds") continue;  // a run's total (studies), no curve over epochs
      metric->addItem(QString::fromStdString(m.label), QString::fromStdString(m.key));
      metric->setItemData(metric->count() - 1, QString::fromStdString(m.source), Qt::ToolTipRole);
    }
    metric->setCurrentIndex(metric->findData(QString(defaults[i])));
    auto* chart = new viz::LineChart(this);
    chart->setMinimumSize(280, 200);
    cell->addWidget(metric);
    cell->addWidget(chart, 1);
    grid->addLayout(cell, i / 2, i % 2);
    metrics_.push_back(metric);
    charts_.push_back(chart);
    connect(metric, &QComboBox::currentTextChanged, this, [this] { refresh(); });
  }
  // Beside the four, as tall as both rows: hidden (and its column given no room) until a run has
  // memorization metrics.
  memorization_ = new viz::LineChart(this);
  memorization_->setObjectName("memorization-chart");
  memorization_->setMinimumSize(280, 200);
  memorization_->setVisible(false);
  grid->addWidget(memorization_, 0, 2, 2, 1);
  grid->setColumnStretch(0, 1);
  grid->setColumnStretch(1, 1);
  grid->setColumnStretch(2, 0);
  grid_ = grid;
  layout->addLayout(grid, 1);
  connect(xAxis_, &QComboBox::currentTextChanged, this, [this] { refresh(); });
  connect(logScale_, &QCheckBox::toggled, this, [this] { refresh(); });
  // clicked, not toggled: only the user's choice is remembered, not the box following the selection.
  connect(seedBands_, &QCheckBox::clicked, this, [this](bool checked) {
    seedBandsWanted_ = checked;
    refresh();
  });
  connect(smoothing_, &QSlider::valueChanged, this, [this] { refresh(); });
}

void CurvesPage::refresh() {
  const QString axis = xAxis_->currentText();
  const std::vector<SeedGroup> groups = seedGroups(controller_, runs_);
  seedBands_->setEnabled(!groups.empty());
  seedBands_->setChecked(!groups.empty() && seedBandsWanted_);
  std::map<int, const SeedGroup*> groupOf;
  if (seedBands_->isChecked()) {
    for (const SeedGroup& group : groups) {
      for (int id : group.runs) groupOf[id] = &group;
    }
  }
  // Cells of several studies may share a label ("optimizer=sam"): the study then names them.
  const bool severalStudies = std::any_of(groups.begin(), groups.end(), [&](const SeedGroup& group) {
    return group.study != groups.front().study;
  });
  for (std::size_t c = 0; c < charts_.size(); ++c) {
    const MetricDefinition* definition = findMetric(metrics_[c]->currentData().toString().toStdString());
    if (definition == nullptr) continue;
    const MetricDefinition& metric = *definition;
    const QString label = QString::fromStdString(metricLabelWithUnit(metric));
    const bool withBound = metric.key == "lambda_max";
    std::vector<viz::ChartSeries> series;
    std::map<const SeedGroup*, std::vector<SeedCurve>> seedsOf;
    for (int id : runs_) {
      const GuiRun* run = controller_.run(id);
      if (run == nullptr) continue;
      const auto xOf = [&](int epoch) { return epochX(*run, axis, epoch); };
      SeedCurve curve = metricCurve(*run, metric, axis);
      viz::ChartSeries s;
      s.name = run->name();
      s.xs = curve.xs;
      s.ys = curve.ys;
      const auto grouped = groupOf.find(id);
      if (grouped == groupOf.end()) {
        s.color = viz::runColor(id);
        std::optional<viz::ChartSeries> bound;
        if (withBound && !s.xs.empty()) bound = stabilityBound(*run, run->name(), s.color, xOf);
        series.push_back(std::move(s));
        if (bound) series.push_back(std::move(*bound));
        continue;
      }
      // A seed of a cell: faint, in its cell's colour, out of the legend; the cell's mean and band
      // follow its last seed, drawn over them.
      const SeedGroup& group = *grouped->second;
      const QColor color = viz::runColor(group.runs.front());
      s.color = color;
      s.color.setAlpha(kSeedAlpha);
      s.inLegend = false;
      series.push_back(std::move(s));
      std::vector<SeedCurve>& seeds = seedsOf[&group];
      seeds.push_back(std::move(curve));
      if (id != group.runs.back()) continue;
      const SeedBand band = seedBand(seeds);
      const QString cell = severalStudies ? group.study + "/" + group.cell : group.cell;
      viz::ChartSeries mean;
      mean.name = seedBandName(cell, group.runs.size());
      mean.color = color;
      mean.xs = band.xs;
      mean.ys = band.means;
      mean.lows = band.lows;
      mean.highs = band.highs;
      const bool drawn =
          std::any_of(mean.ys.begin(), mean.ys.end(), [](double y) { return std::isfinite(y); });
      series.push_back(std::move(mean));
      // One edge of stability for the cell: its seeds share the learning-rate schedule.
      const GuiRun* first = controller_.run(group.runs.front());
      if (withBound && drawn && first != nullptr) {
        if (auto bound =
                stabilityBound(*first, cell, color, [&](int epoch) { return epochX(*first, axis, epoch); })) {
          series.push_back(std::move(*bound));
        }
      }
    }
    if (metric.key == "test_acc") {
      // Each run drawn on its own gets its best epoch marked; a cell's mean has no single run's epoch.
      const auto [low, high] = dataSpan(series);
      for (int id : runs_) {
        const GuiRun* run = controller_.run(id);
        if (run == nullptr || groupOf.count(id) > 0) continue;
        if (auto marker = bestTestAccuracyMarker(*run, viz::runColor(id), axis, low, high)) {
          series.push_back(std::move(*marker));
        }
      }
    }
    charts_[c]->setTitle(label);
    charts_[c]->setAxisTitles(axis, label);
    charts_[c]->setLogScale(logScale_->isChecked());
    charts_[c]->setSmoothing(smoothing_->value() / 100.0);
    charts_[c]->setSeries(series);
  }
  refreshMemorization(axis);
}

void CurvesPage::refreshMemorization(const QString& axis) {
  std::vector<viz::ChartSeries> series;
  std::vector<const GuiRun*> shown;
  std::vector<int> shownIds;
  for (int id : runs_) {
    const GuiRun* run = controller_.run(id);
    if (run == nullptr) continue;
    const bool measured = std::any_of(run->epochs.begin(), run->epochs.end(),
                                      [](const EpochMetrics& m) { return m.trainAccuracyNoisy.has_value(); });
    if (!measured) continue;
    shown.push_back(run);
    shownIds.push_back(id);
    const QColor color = viz::runColor(id);
    // One colour per run, one line style per set of examples: solid for the flipped labels (rising:
    // memorized), dotted for the clean ones, dash-dot for the flipped examples' true labels.
    const std::pair<const char*, Qt::PenStyle> curves[] = {
        {"train_acc_noisy", Qt::SolidLine}, {"train_acc_clean", Qt::DotLine}, {"train_acc_noisy_true", Qt::DashDotLine}};
    for (const auto& [key, style] : curves) {
      const MetricDefinition& metric = metricDefinition(key);
      const SeedCurve curve = metricCurve(*run, metric, axis);
      viz::ChartSeries s;
      s.name = run->name() + ": " + QString::fromStdString(metric.label);
      s.color = color;
      s.penStyle = style;
      s.xs = curve.xs;
      s.ys = curve.ys;
      series.push_back(std::move(s));
    }
  }
  const auto [low, high] = dataSpan(series);
  for (std::size_t r = 0; r < shown.size(); ++r) {
    if (auto marker = bestTestAccuracyMarker(*shown[r], viz::runColor(shownIds[r]), axis, low, high)) {
      series.push_back(std::move(*marker));
    }
  }
  memorizationShown_ = !shown.empty();
  memorization_->setVisible(memorizationShown_);
  grid_->setColumnStretch(2, memorizationShown_ ? 1 : 0);
  memorization_->setTitle(QStringLiteral("memorization (label noise)"));
  memorization_->setAxisTitles(axis, QStringLiteral("train accuracy"));
  memorization_->setLogScale(false);
  memorization_->setSmoothing(smoothing_->value() / 100.0);
  memorization_->setSeries(series);
}

bool CurvesPage::exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) {
  flushRefresh();
  for (std::size_t c = 0; c < charts_.size(); ++c) {
    const QString base = QDir(directory).filePath(prefix + "-curve-" + fileSafe(metrics_[c]->currentText()));
    if (!exportChart(*charts_[c], base, written, error)) return false;
  }
  if (memorizationShown_ &&
      !exportChart(*memorization_, QDir(directory).filePath(prefix + "-curve-memorization"), written, error)) {
    return false;
  }
  return true;
}

// ----- landscape -----------------------------------------------------------------------------------------

LandscapePage::LandscapePage(RunController& controller, QWidget* parent) : RunPage(controller, parent) {
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(makePageSubtitle(
      "Loss surfaces of the selected runs on one colour scale, their training paths drawn on them (a dot "
      "per epoch). Live, both runs of a pair are sliced along the same random directions; once both "
      "finish, the plane through the initial weights and both solutions shows both paths. Drag to rotate.",
      this));
  auto* controls = new QHBoxLayout;
  plane_ = new QComboBox(this);
  plane_->addItems({"shared random directions (live)", "pair plane: init, SGD, SAM", "each run's PCA plane"});
  plane_->setItemData(0, "Both runs sliced along one pair of filter-normalized random directions (Li et al. 2018) "
                         "at each analysis: comparable surfaces, but nearly orthogonal to the paths",
                      Qt::ToolTipRole);
  plane_->setItemData(1, "The plane through the initial weights (shared: same seed), the SGD solution and the SAM "
                         "solution, computed when both runs have finished; both paths lie near it",
                      Qt::ToolTipRole);
  plane_->setItemData(2, "Each run's own plane of the top two principal directions of its path (Li et al. 2018, "
                         "section 7), computed when chosen",
                      Qt::ToolTipRole);
  mode_ = new QComboBox(this);
  mode_->addItems({"surface", "contour map"});
  epochSlider_ = new QSlider(Qt::Horizontal, this);
  epochSlider_->setRange(0, 0);
  epochSlider_->setToolTip("Replay the analysed epochs (shared random directions)");
  epochLabel_ = new QLabel("latest epoch", this);
  controls->addWidget(new QLabel("plane", this));
  controls->addWidget(plane_);
  controls->addWidget(new QLabel("view", this));
  controls->addWidget(mode_);
  controls->addWidget(new QLabel("epoch", this));
  controls->addWidget(epochSlider_, 1);
  controls->addWidget(epochLabel_);
  layout->addLayout(controls);
  note_ = new QLabel(this);
  note_->setObjectName("landscape-note");
  note_->setWordWrap(true);
  layout->addWidget(note_);

  auto* splitter = new QSplitter(Qt::Vertical, this);
  auto* views = new QWidget(splitter);
  auto* viewsLayout = new QHBoxLayout(views);
  viewsLayout->setContentsMargins(0, 0, 0, 0);
  left_ = new viz::LandscapeView(views);
  right_ = new viz::LandscapeView(views);
  left_->setObjectName("landscape-left");
  right_->setObjectName("landscape-right");
  // Small enough minimums that at 1366 x 768 the splitter never has to cut a view (VTK draws the path
  // legend at a view's bottom).
  left_->setMinimumSize(320, 200);
  right_->setMinimumSize(320, 200);
  viewsLayout->addWidget(left_);
  viewsLayout->addWidget(right_);
  left_->linkCamera(right_);
  interpolation_ = new viz::LineChart(splitter);
  interpolation_->setTitle("1D interpolation between the pair's solutions");
  interpolation_->setAxisTitles("t (0: SGD, 1: SAM)", "loss");
  interpolation_->setMinimumHeight(150);
  splitter->addWidget(views);
  splitter->addWidget(interpolation_);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 1);
  layout->addWidget(splitter, 1);

  connect(plane_, &QComboBox::activated, this, [this] { planeChosen_ = true; });
  connect(plane_, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
  connect(mode_, &QComboBox::currentIndexChanged, this, [this](int index) {
    const auto mode = index == 0 ? viz::LandscapeView::Mode::Surface : viz::LandscapeView::Mode::Contour;
    left_->setMode(mode);
    right_->setMode(mode);
  });
  connect(epochSlider_, &QSlider::valueChanged, this, [this](int value) {
    const auto epochs = analysedEpochs();
    epoch_ = value >= 0 && value < static_cast<int>(epochs.size()) && value + 1 < static_cast<int>(epochs.size())
                 ? epochs[static_cast<std::size_t>(value)]
                 : 0;  // the slider's right end follows the latest epoch
    refresh();
  });
  connect(&controller_, &RunController::pairPlaneReady, this, [this](int pairId) {
    // The first plane that shows both paths: switch to it, unless a plane was chosen by hand.
    if (!planeChosen_ && controller_.pairPlane(pairId) != nullptr && !runs_.empty()) {
      const GuiRun* first = controller_.run(runs_.front());
      if (first != nullptr && first->pairId == pairId) {
        const QSignalBlocker block(plane_);
        plane_->setCurrentIndex(static_cast<int>(Plane::Pair));
      }
    }
    requestRefresh();
  });
  connect(&controller_, &RunController::pcaPlaneReady, this, [this] { requestRefresh(); });
}

void LandscapePage::setPlane(Plane plane) {
  planeChosen_ = true;
  plane_->setCurrentIndex(static_cast<int>(plane));
  refresh();
}

LandscapePage::Plane LandscapePage::plane() const { return static_cast<Plane>(plane_->currentIndex()); }

QString LandscapePage::note() const { return note_->text(); }

std::vector<int> LandscapePage::analysedEpochs() const {
  std::set<int> epochs;
  for (int id : runs_) {
    if (const GuiRun* run = controller_.run(id)) {
      for (const auto& [epoch, analysis] : run->analyses) {
        if (!analysis.slice.xs.empty()) epochs.insert(epoch);
      }
    }
  }
  return {epochs.begin(), epochs.end()};
}

void LandscapePage::setEpoch(int epoch) {
  epoch_ = epoch;
  refresh();
}

namespace {

// "at most 0.12 off the plane, 0.9 from its centre": how much of a path a plane shows, from the
// trajectory stage's distances (analysis.json trajectory); empty when the analysis did not record them.
QString offPlaneText(std::optional<double> offPlane, std::optional<double> fromCentre) {
  if (!offPlane) return {};
  QString text = QString("at most %1 off the plane").arg(*offPlane, 0, 'g', 2);
  if (fromCentre) text += QString(", %1 from its centre").arg(*fromCentre, 0, 'g', 2);
  return text;
}

// The largest extent of a path along either slice axis, as a fraction of the slice's width.
double pathShareOfSlice(const std::vector<double>& xs, const std::vector<double>& ys, const SliceGrid& grid) {
  if (xs.empty() || grid.xs.size() < 2) return 0.0;
  const double width = grid.xs.back() - grid.xs.front();
  const auto [xLow, xHigh] = std::minmax_element(xs.begin(), xs.end());
  const auto [yLow, yHigh] = std::minmax_element(ys.begin(), ys.end());
  return width > 0.0 ? std::max(*xHigh - *xLow, *yHigh - *yLow) / width : 0.0;
}

}  // namespace

void LandscapePage::refresh() {
  // The two runs shown: the first two selected (a pair's SGD and SAM, when a pair is selected).
  std::vector<const GuiRun*> shown;
  for (int id : runs_) {
    if (const GuiRun* run = controller_.run(id)) shown.push_back(run);
    if (shown.size() == 2) break;
  }
  const Plane current = plane();
  epochSlider_->setEnabled(current == Plane::SharedRandom);
  // The pair plane is one slice: drawn as a surface on the left and as a map on the right, each with
  // its own camera; the other planes show two runs' slices in one mode, their cameras linked.
  const bool pair = current == Plane::Pair;
  mode_->setEnabled(!pair);
  if (pair) {
    left_->unlinkCamera(right_);
    left_->setMode(viz::LandscapeView::Mode::Surface);
    right_->setMode(viz::LandscapeView::Mode::Contour);
  } else {
    const auto mode = mode_->currentIndex() == 0 ? viz::LandscapeView::Mode::Surface : viz::LandscapeView::Mode::Contour;
    left_->setMode(mode);
    right_->setMode(mode);
    left_->linkCamera(right_);
  }
  if (current == Plane::Pair) {
    showPairPlane(shown);
  } else if (current == Plane::OwnPca) {
    showOwnPcaPlanes(shown);
  } else {
    showSharedRandom(shown);
  }

  // The interpolation between the pair's two solutions, once both have finished.
  std::vector<viz::ChartSeries> series;
  if (!shown.empty()) {
    if (const PairInterpolation* curve = controller_.pairInterpolation(shown.front()->pairId)) {
      series.push_back({"straight line", QColor(31, 119, 180), curve->ts, curve->loss});
      if (!curve->bezierTs.empty()) {
        series.push_back({"Bezier curve (trained)", QColor(214, 39, 40), curve->bezierTs, curve->bezierLoss});
      }
    }
  }
  interpolation_->setSeries(series);
}

void LandscapePage::showSharedRandom(const std::vector<const GuiRun*>& shown) {
  const auto epochs = analysedEpochs();
  {
    const QSignalBlocker block(epochSlider_);
    epochSlider_->setRange(0, std::max(0, static_cast<int>(epochs.size()) - 1));
    if (epoch_ == 0) epochSlider_->setValue(epochSlider_->maximum());
  }
  // One colour (and height) scale for both views: the range of every finite loss shown.
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  std::vector<const RunAnalysis*> analyses;
  for (const GuiRun* run : shown) {
    const RunAnalysis* chosen = nullptr;
    for (const auto& [epoch, analysis] : run->analyses) {
      if (analysis.slice.xs.empty()) continue;
      if (epoch_ == 0 || epoch <= epoch_) chosen = &analysis;
    }
    analyses.push_back(chosen);
    if (chosen == nullptr) continue;
    for (double value : chosen->slice.loss) {
      if (std::isfinite(value)) {
        low = std::min(low, value);
        high = std::max(high, value);
      }
    }
  }
  viz::LandscapeView* views[2] = {left_, right_};
  double smallestShare = 1.0;
  QStringList offPlane;  // how far each drawn path leaves the slice's plane
  for (int side = 0; side < 2; ++side) {
    const RunAnalysis* analysis = side < static_cast<int>(analyses.size()) ? analyses[static_cast<std::size_t>(side)] : nullptr;
    if (analysis == nullptr) {
      views[side]->clearSurface();
      views[side]->setPaths({});
      views[side]->setTitle(side < static_cast<int>(shown.size()) ? shown[static_cast<std::size_t>(side)]->name() + ": no slice yet"
                                                                  : QString("select a run (or a pair)"));
      continue;
    }
    const GuiRun& run = *shown[static_cast<std::size_t>(side)];
    if (low < high) views[side]->setColorRange(low, high);
    views[side]->setSurface(analysis->slice);
    views[side]->setPaths({{analysis->trajectoryOnSlice.xs, analysis->trajectoryOnSlice.ys, viz::runColor(run.id), QString()}});
    if (analysis->trajectoryOnSlice.xs.size() >= 2) {
      smallestShare = std::min(smallestShare, pathShareOfSlice(analysis->trajectoryOnSlice.xs, analysis->trajectoryOnSlice.ys,
                                                               analysis->slice));
      if (const QString off = offPlaneText(analysis->pathFit.maxOffSlice, analysis->pathFit.maxFromSliceCentre); !off.isEmpty()) {
        offPlane << run.name() + " " + off;
      }
    }
    const auto& grid = analysis->slice;
    views[side]->setTitle(QString("%1, epoch %2%3")
                              .arg(run.name())
                              .arg(analysis->epoch)
                              .arg(grid.complete() ? QString()
                                                   : QString(" (%1/%2 points)").arg(grid.pointsDone).arg(grid.pointsTotal)));
  }
  epochLabel_->setText(epoch_ == 0 ? QString("latest") : QString("epoch %1").arg(epoch_));
  QString text = "Shared random directions: both surfaces on the same axes and colour scale.";
  if (smallestShare < 0.05) {
    text += QString(" Random directions are nearly orthogonal to a training path: here a path spans %1% of the "
                    "slice. The pair plane shows both paths once both runs finish.")
                .arg(100.0 * smallestShare, 0, 'g', 2);
  }
  if (!offPlane.isEmpty()) text += " Farthest checkpoint off the slice's plane: " + offPlane.join("; ") + ".";
  note_->setText(text);
}

void LandscapePage::showPairPlane(const std::vector<const GuiRun*>& shown) {
  const GuiRun* first = shown.empty() ? nullptr : shown.front();
  const int partner = first == nullptr ? -1 : controller_.partnerOf(first->id);
  const RunAnalysis* plane = first == nullptr ? nullptr : controller_.pairPlane(first->pairId);
  if (plane == nullptr || plane->slice.xs.empty()) {
    for (viz::LandscapeView* view : {left_, right_}) {
      view->clearSurface();
      view->setPaths({});
    }
    right_->setTitle("");
    QString why;
    if (first == nullptr || partner < 0) {
      why = "Select a pair (an SGD and a SAM run launched together) to see the plane through init, SGD and SAM.";
    } else if (!controller_.pairPlaneProblem(first->pairId).isEmpty()) {
      why = "The pair plane failed: " + controller_.pairPlaneProblem(first->pairId);
    } else if (first->inFlight() || controller_.run(partner)->inFlight()) {
      const GuiRun* other = controller_.run(partner);
      why = QString("The pair plane is computed when both runs finish (%1: %2/%3 epochs, %4: %5/%6).")
                .arg(first->name()).arg(first->epochsDone()).arg(first->epochsPlanned())
                .arg(other->name()).arg(other->epochsDone()).arg(other->epochsPlanned());
    } else {
      why = "Computing the pair plane through init, SGD and SAM...";
    }
    left_->setTitle("pair plane: not yet");
    note_->setText(why);
    return;
  }
  std::vector<viz::LandscapePath> paths;
  QStringList spans;
  for (const PlanePath& path : plane->planePaths) {
    // The path's run among the window's: its colour and name.
    const GuiRun* owner = nullptr;
    for (int id : controller_.runIds()) {
      const GuiRun* candidate = controller_.run(id);
      if (candidate != nullptr && candidate->spec.config.outDir == path.run) owner = candidate;
    }
    const QString name = owner != nullptr ? owner->name() : QString::fromStdString(std::filesystem::path(path.run).filename().string());
    const int lastEpoch = path.rows.epochs.empty() ? 0 : path.rows.epochs.back();
    paths.push_back({path.rows.xs, path.rows.ys, owner != nullptr ? viz::runColor(owner->id) : QColor(Qt::black),
                     QString("%1, epochs 0-%2").arg(name).arg(lastEpoch)});
    QString span = QString("%1 %2%").arg(name).arg(100.0 * pathShareOfSlice(path.rows.xs, path.rows.ys, plane->slice), 0, 'f', 0);
    if (const QString off = offPlaneText(path.maxOffPlane, path.maxFromCentre); !off.isEmpty()) span += " (" + off + ")";
    spans << span;
  }
  for (viz::LandscapeView* view : {left_, right_}) {
    view->clearColorRange();
    view->setSurface(plane->slice);
    view->setPaths(paths);
  }
  left_->setTitle("Pair plane: init (-1/3, -1/3), SGD (2/3, -1/3), SAM (-1/3, 2/3)");
  right_->setTitle("The same plane seen from above");
  note_->setText("The plane through the shared initial weights and both solutions: each path runs from init to its "
                 "solution, a dot per epoch. Share of the slice each path spans, and its farthest checkpoint off the "
                 "plane: " + spans.join(", ") + ".");
}

void LandscapePage::showOwnPcaPlanes(const std::vector<const GuiRun*>& shown) {
  viz::LandscapeView* views[2] = {left_, right_};
  QStringList notes;
  QStringList fits;  // what each plane holds of its path
  for (int side = 0; side < 2; ++side) {
    const GuiRun* run = side < static_cast<int>(shown.size()) ? shown[static_cast<std::size_t>(side)] : nullptr;
    views[side]->clearColorRange();
    if (run == nullptr) {
      views[side]->clearSurface();
      views[side]->setPaths({});
      views[side]->setTitle("select a run (or a pair)");
      continue;
    }
    QString reason;
    const bool asked = controller_.requestPcaPlane(run->id, &reason);
    const RunAnalysis* plane = controller_.pcaPlane(run->id);
    if (plane == nullptr) {
      views[side]->clearSurface();
      views[side]->setPaths({});
      views[side]->setTitle(run->name() + ": no PCA plane yet");
      if (!asked) {
        notes << reason;
      } else if (!controller_.pcaPlaneProblem(run->id).isEmpty()) {
        notes << run->name() + ": " + controller_.pcaPlaneProblem(run->id);
      } else {
        notes << run->name() + ": computing its PCA plane...";
      }
      continue;
    }
    views[side]->setSurface(plane->slice);
    views[side]->setPaths({{plane->trajectoryOnSlice.xs, plane->trajectoryOnSlice.ys, viz::runColor(run->id),
                            run->name() + " path"}});
    views[side]->setTitle(run->name() + ": its own PCA plane");
    const PathFit& fit = plane->pathFit;
    if (fit.explainedByPcaPlane) {
      QString fitText = QString("%1: the plane holds %2% of its path's variance")
                            .arg(run->name())
                            .arg(100.0 * *fit.explainedByPcaPlane, 0, 'f', 0);
      if (const QString off = offPlaneText(fit.maxOffPcaPlane, fit.maxFromFinal); !off.isEmpty()) fitText += "; " + off;
      fits << fitText + ".";
    }
  }
  note_->setText(notes.isEmpty() ? QString("Each run's own plane of the top two principal directions of its path, "
                                           "scaled so the path fills 80% of the range; the surfaces are not on one "
                                           "scale. ") + fits.join(" ")
                                 : notes.join(" "));
}

bool LandscapePage::exportViewPng(int side, const QString& path, int width, int height, QString* error) {
  flushRefresh();
  viz::LandscapeView* view = side == 0 ? left_ : right_;
  const QImage image = view->renderImage(width, height);
  if (image.isNull() || !image.save(path, "PNG")) {
    if (error != nullptr) *error = path + ": cannot write the PNG";
    return false;
  }
  return true;
}

bool LandscapePage::exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) {
  flushRefresh();
  viz::LandscapeView* views[2] = {left_, right_};
  for (int side = 0; side < 2; ++side) {
    if (!views[side]->hasSurface()) continue;
    const QString base = QDir(directory).filePath(prefix + (side == 0 ? "-landscape-left" : "-landscape-right"));
    if (!exportViewPng(side, base + ".png", 1600, 1200, error)) return false;
    written->append(base + ".png");
    if (views[side]->grid().complete()) {
      if (!views[side]->exportVts(base + ".vts", error)) return false;
      written->append(base + ".vts");
    }
  }
  for (const QString extension : {"svg", "pdf"}) {
    const QString path = QDir(directory).filePath(prefix + "-landscape." + extension);
    if (!viz::exportWidget(this, path, error)) return false;
    written->append(path);
  }
  if (!interpolation_->series().empty()) {
    if (!exportChart(*interpolation_, QDir(directory).filePath(prefix + "-interpolation"), written, error)) return false;
  }
  return true;
}

// ----- spectrum ------------------------------------------------------------------------------------------

namespace {

// What hovering an eigenvalue's point adds: its pair's residual ||H v - lambda v||, as analysis.json's
// hessian.residuals recorded it (how far the pair is from exact). Empty where none was recorded.
QString eigenvalueResidualNote(const std::vector<double>& residuals, std::size_t index) {
  if (index >= residuals.size() || !std::isfinite(residuals[index])) return {};
  return QStringLiteral("residual ||Hv − λv|| = %1").arg(QString::number(residuals[index], 'g', 3));
}

}  // namespace

SpectrumPage::SpectrumPage(RunController& controller, QWidget* parent) : RunPage(controller, parent) {
  auto* page = new QVBoxLayout(this);
  page->addWidget(makePageSubtitle(
      "The top Hessian eigenvalues at each analysed epoch (λ1 in the run's colour, smaller ones lighter), with "
      "each run's edge of stability dashed: 2(1+β)/lr for SGD, whose λ1 rises to it (Cohen et al. 2021); the "
      "SAM-edge for SAM, below 2/lr and falling with the gradient norm (Long & Bartlett 2024). Beside it: the "
      "latest analysis' eigenvalues by index, and the density with --esd.",
      this));
  auto* layout = new QHBoxLayout;
  page->addLayout(layout, 1);
  eigenvalues_ = new viz::LineChart(this);
  eigenvalues_->setTitle("Hessian eigenvalues and the edge of stability (dashed)");
  eigenvalues_->setAxisTitles("epoch", "eigenvalue");
  latest_ = new viz::LineChart(this);
  latest_->setTitle("Top eigenvalues at each run's latest analysis, by index");
  latest_->setAxisTitles("index i (λi, largest first)", "eigenvalue");
  density_ = new viz::LineChart(this);
  density_->setTitle("Spectral density (latest epoch with --esd)");
  density_->setAxisTitles("eigenvalue", "density");
  layers_ = new viz::LineChart(this);
  layers_->setTitle("lambda_max of each layer's Hessian block (latest epoch with --per-layer)");
  layers_->setAxisTitles("layer, in parameter order", "lambda_max");
  layers_->hide();
  layout->addWidget(eigenvalues_, 1);
  layout->addWidget(latest_, 1);
  layout->addWidget(density_, 1);
  layout->addWidget(layers_, 1);
}

void SpectrumPage::refresh() {
  std::vector<viz::ChartSeries> eigenvalues;
  std::vector<viz::ChartSeries> latest;
  std::vector<viz::ChartSeries> densities;
  std::vector<viz::ChartSeries> layers;
  for (int id : runs_) {
    const GuiRun* run = controller_.run(id);
    if (run == nullptr) continue;
    // A pair's runs are told apart by their optimizer: short legend entries fit ten series.
    QString name = run->name();
    const QRegularExpressionMatch pair = QRegularExpression("^pair \\d+ (.+)$").match(name);
    if (pair.hasMatch()) name = pair.captured(1);
    // One series per eigenvalue index over the analysed epochs: label i+1, colour by index.
    // The legend names the family once, by its first series ("SGD λ1-λ5"); hovering names each one.
    const auto addIndexedSeries = [&](const QString& label, auto valuesOf, auto colorOf, auto residualsOf) {
      std::size_t count = 0;
      for (const auto& [epoch, analysis] : run->analyses) count = std::max(count, valuesOf(analysis).size());
      for (std::size_t i = 0; i < count; ++i) {
        viz::ChartSeries s;
        s.name = QString("%1 %2%3").arg(name, label).arg(i + 1);
        if (i == 0 && count > 1) s.legendName = s.name + QString("-%1%2 (lighter: smaller)").arg(label).arg(count);
        s.inLegend = i == 0;
        s.color = colorOf(static_cast<int>(i));
        for (const auto& [epoch, analysis] : run->analyses) {
          const std::vector<double>& values = valuesOf(analysis);
          if (values.empty()) continue;
          s.xs.push_back(epoch);
          s.ys.push_back(i < values.size() ? values[i] : kNaN);
          s.pointNotes.push_back(eigenvalueResidualNote(residualsOf(analysis), i));
        }
        eigenvalues.push_back(std::move(s));
      }
      return count;
    };
    // λ1 in the run's colour, the rest lighter and lighter (but still visible on white); the most
    // negative ones (--hessian-bottom) darker.
    const std::size_t k = addIndexedSeries(
        "λ", [](const RunAnalysis& a) -> const std::vector<double>& { return a.eigenvalues; },
        [&](int i) { return viz::runColor(id).lighter(100 + i * 15); },
        [](const RunAnalysis& a) -> const std::vector<double>& { return a.eigenvalueResiduals; });
    const std::vector<double> noResiduals;  // not recorded for the bottom eigenvalues
    addIndexedSeries(
        "λmin", [](const RunAnalysis& a) -> const std::vector<double>& { return a.bottomEigenvalues; },
        [&](int i) { return viz::runColor(id).darker(130 + i * 15); },
        [&](const RunAnalysis&) -> const std::vector<double>& { return noResiduals; });
    for (auto it = run->analyses.rbegin(); it != run->analyses.rend(); ++it) {
      if (it->second.eigenvalues.empty()) continue;
      viz::ChartSeries s;
      s.name = QString("%1, epoch %2").arg(name).arg(it->first);
      s.color = viz::runColor(id);
      for (std::size_t i = 0; i < it->second.eigenvalues.size(); ++i) {
        s.xs.push_back(static_cast<double>(i + 1));
        s.ys.push_back(it->second.eigenvalues[i]);
        s.pointNotes.push_back(eigenvalueResidualNote(it->second.eigenvalueResiduals, i));
      }
      latest.push_back(std::move(s));
      break;
    }
    for (auto it = run->analyses.rbegin(); it != run->analyses.rend(); ++it) {
      if (it->second.perLayer.empty()) continue;
      viz::ChartSeries s;
      s.name = QString("%1, epoch %2").arg(run->name()).arg(it->first);
      s.color = viz::runColor(id);
      for (std::size_t layer = 0; layer < it->second.perLayer.size(); ++layer) {
        s.xs.push_back(static_cast<double>(layer + 1));
        s.ys.push_back(it->second.perLayer[layer].lambdaMax);
      }
      layers.push_back(std::move(s));
      break;
    }
    if (k > 0) {
      if (auto bound = stabilityBound(*run, name, viz::runColor(id), [](int epoch) { return static_cast<double>(epoch); })) {
        eigenvalues.push_back(std::move(*bound));
      }
    }
    for (auto it = run->analyses.rbegin(); it != run->analyses.rend(); ++it) {
      if (it->second.esd.density.empty()) continue;
      viz::ChartSeries s;
      s.name = QString("%1, epoch %2").arg(run->name()).arg(it->first);
      s.color = viz::runColor(id);
      s.xs = it->second.esd.eigenvalues;
      s.ys = it->second.esd.density;
      densities.push_back(std::move(s));
      break;
    }
  }
  eigenvalues_->setSeries(eigenvalues);
  latest_->setSeries(latest);
  latest_->setVisible(!latest.empty());
  // No density computed: its chart gives its half of the page to the eigenvalues (the subtitle's
  // tooltip says how to get one).
  density_->setTitle(QString("Spectral density (latest epoch with --esd)"));
  density_->setSeries(densities);
  density_->setVisible(!densities.empty());
  eigenvalues_->setToolTip(densities.empty() ? QString("No spectral density computed: launch with --esd (stochastic "
                                                       "Lanczos quadrature) to see it beside the eigenvalues")
                                             : QString());
  layers_->setSeries(layers);
  layers_->setVisible(!layers.empty());
}

bool SpectrumPage::exportAll(const QString& directory, const QString& prefix, QStringList* written, QString* error) {
  flushRefresh();
  if (!exportChart(*eigenvalues_, QDir(directory).filePath(prefix + "-eigenvalues"), written, error)) return false;
  if (!latest_->series().empty()) {
    if (!exportChart(*latest_, QDir(directory).filePath(prefix + "-eigenvalues-latest"), written, error)) return false;
  }
  if (!density_->series().empty()) {
    if (!exportChart(*density_, QDir(directory).filePath(prefix + "-spectral-density"), written, error)) return false;
  }
  if (!layers_->series().empty()) {
    if (!exportChart(*layers_, QDir(directory).filePath(prefix + "-per-layer"), written, error)) return false;
  }
  return true;
}

}  // namespace samscape::gui

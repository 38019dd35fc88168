#include "gui/StudyPage.h"

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <filesystem>

#include "analysis/Metrics.h"
#include "StudyFigure.h"
#include "core/Error.h"
#include "gui/PageSubtitle.h"
#include "viz/FigureExport.h"
#include "viz/LineChart.h"

namespace samscape::gui {
namespace {

// Reports a study's progress as queued signals of the worker.
class WorkerObserver : public StudyObserver, public TrainingObserver {
 public:
  explicit WorkerObserver(StudyWorker& worker) : worker_(worker) {}
  void onRunStarting(std::size_t index, std::size_t total, const StudyRunSlot& slot, bool resuming) override {
    epochs_ = 0;
    Q_EMIT worker_.runStarting(static_cast<int>(index), static_cast<int>(total), QString::fromStdString(slot.name), resuming);
  }
  void onRunEnded(std::size_t index, std::size_t, const StudyRunSlot&, RunStatus status) override {
    Q_EMIT worker_.runEnded(static_cast<int>(index), QString::fromStdString(nameOf(status)));
  }
  TrainingObserver* trainingObserver() override { return this; }
  void onBegin(const TrainingBegin& begin) override { epochs_ = begin.epochs; }
  bool onEpochEnd(const EpochMetrics& metrics) override {
    Q_EMIT worker_.epochEnded(metrics.epoch, epochs_);
    return false;
  }

 private:
  StudyWorker& worker_;
  int epochs_ = 0;
};

QString intervalText(const SampleSummary& s) {
  if (s.count == 0) return QString();
  if (!s.hasInterval()) return QString::number(s.mean, 'g', 4);
  return QString("%1  [%2, %3]").arg(s.mean, 0, 'g', 4).arg(s.ci95Low, 0, 'g', 4).arg(s.ci95High, 0, 'g', 4);
}

}  // namespace

std::vector<std::pair<QString, QString>> studyPresets() {
  std::vector<std::pair<QString, QString>> presets;
  const QDir directory(":/studies");
  for (const QString& name : directory.entryList({"*.json"}, QDir::Files, QDir::Name)) {
    presets.emplace_back("preset: " + name.chopped(5), directory.filePath(name));
  }
  return presets;
}

StudyWorker::StudyWorker(StudySpec spec, StudyOptions options, std::shared_ptr<std::atomic<bool>> cancel)
    : spec_(std::move(spec)), options_(std::move(options)), cancel_(std::move(cancel)) {}

void StudyWorker::run() {
  WorkerObserver observer(*this);
  options_.observer = &observer;
  options_.cancel = cancel_.get();
  try {
    const StudyOutcome outcome = runStudy(spec_, options_);
    Q_EMIT finished(outcome.cancelled, QString());
  } catch (const std::exception& error) {
    Q_EMIT finished(false, QString::fromUtf8(error.what()));
  }
}

StudyChartWidget::StudyChartWidget(QWidget* parent) : QWidget(parent) { setMinimumHeight(260); }

void StudyChartWidget::setData(viz::StudyChartData data) {
  data_ = std::move(data);
  update();
}

void StudyChartWidget::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  viz::paintStudyChart(painter, QRectF(rect()), data_);
}

StudyPage::StudyPage(const QString& workspace, QWidget* parent) : QWidget(parent), workspace_(workspace) {
  auto* outer = new QVBoxLayout(this);
  outer->addWidget(makePageSubtitle(
      "A study runs a grid of settings over seeds. Each bar is a cell's mean with its 95% interval, the dots "
      "are its seeds; the checks say whether the paper's claim holds here.",
      this));
  auto* bar = new QHBoxLayout;
  studies_ = new QComboBox(this);
  studies_->setObjectName("study-choice");
  for (const auto& [title, path] : studyPresets()) studies_->addItem(title, path);
  auto* open = new QPushButton("Open...", this);
  start_ = new QPushButton("Start", this);
  start_->setObjectName("study-start");
  stop_ = new QPushButton("Stop", this);
  export_ = new QPushButton("Export...", this);
  bar->addWidget(new QLabel("Study", this));
  bar->addWidget(studies_, 1);
  bar->addWidget(open);
  bar->addWidget(start_);
  bar->addWidget(stop_);
  bar->addWidget(export_);
  outer->addLayout(bar);
  claim_ = new QLabel(this);
  claim_->setWordWrap(true);
  status_ = new QLabel(this);
  status_->setObjectName("study-status");
  outer->addWidget(claim_);
  outer->addWidget(status_);

  auto* splitter = new QSplitter(Qt::Vertical, this);
  auto* upper = new QWidget(splitter);
  auto* upperLayout = new QVBoxLayout(upper);
  upperLayout->setContentsMargins(0, 0, 0, 0);
  table_ = new QTableWidget(upper);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setStretchLastSection(true);
  checks_ = new QLabel(upper);
  checks_->setWordWrap(true);
  checks_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  upperLayout->addWidget(table_, 1);
  upperLayout->addWidget(checks_);
  views_ = new QTabWidget(splitter);
  chart_ = new StudyChartWidget(views_);
  views_->addTab(chart_, "Cells");
  // Does flatness predict generalization here? Every run a point, the cells pooled (Andriushchenko et
  // al. 2023): one scatter per sharpness measure, at most three to a row so that each title's tau fits.
  auto* correlations = new QWidget(views_);
  auto* correlationLayout = new QVBoxLayout(correlations);
  auto* targetRow = new QHBoxLayout;
  correlationTarget_ = new QComboBox(correlations);
  correlationTarget_->setObjectName("correlation-target");
  for (GeneralizationTarget target : {GeneralizationTarget::LossGap, GeneralizationTarget::TestError}) {
    correlationTarget_->addItem(generalizationTargetLabel(target));
  }
  targetRow->addWidget(new QLabel("Against", correlations));
  targetRow->addWidget(correlationTarget_);
  targetRow->addStretch(1);
  correlationLayout->addLayout(targetRow);
  correlationNote_ = new QLabel(correlations);
  correlationNote_->setObjectName("correlation-note");
  correlationNote_->setWordWrap(true);
  correlationNote_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  correlationLayout->addWidget(correlationNote_);
  auto* grid = new QGridLayout;
  for (std::size_t k = 0; k < sharpnessMeasureKeys().size(); ++k) {
    auto* scatter = new viz::LineChart(correlations);
    scatter->setObjectName(QString::fromStdString("scatter-" + sharpnessMeasureKeys()[k]));
    scatter->hide();
    grid->addWidget(scatter, static_cast<int>(k / 3), static_cast<int>(k % 3));
    scatterCharts_.push_back(scatter);
  }
  correlationLayout->addLayout(grid, 1);
  correlationLegend_ = new QLabel(correlations);
  correlationLegend_->setObjectName("correlation-legend");
  correlationLegend_->setWordWrap(true);
  correlationLayout->addWidget(correlationLegend_);
  views_->addTab(correlations, "Sharpness vs generalization");
  splitter->addWidget(upper);
  splitter->addWidget(views_);
  splitter->setStretchFactor(0, 2);
  splitter->setStretchFactor(1, 3);
  outer->addWidget(splitter, 1);

  connect(studies_, &QComboBox::currentIndexChanged, this, [this] {
    QString error;
    if (!loadStudy(studies_->currentData().toString(), &error)) status_->setText(error);
  });
  connect(correlationTarget_, &QComboBox::currentIndexChanged, this, [this] { drawCorrelations(); });
  connect(open, &QPushButton::clicked, this, [this] { chooseFile(); });
  connect(start_, &QPushButton::clicked, this, [this] {
    QString error;
    if (!startStudy(&error)) QMessageBox::warning(this, "Study", error);
  });
  connect(stop_, &QPushButton::clicked, this, [this] { stopStudy(); });
  connect(export_, &QPushButton::clicked, this, [this] { exportDialog(); });
  if (studies_->count() > 0) {
    QString error;
    if (!loadStudy(studies_->currentData().toString(), &error)) status_->setText(error);
  }
  updateButtons();
}

StudyPage::~StudyPage() {
  // The worker stops after the step in flight; its run keeps its checkpoint for a resume.
  if (thread_ != nullptr) {
    cancel_->store(true);
    thread_->quit();
    thread_->wait();
  }
}

bool StudyPage::loadStudy(const QString& path, QString* error) {
  if (running()) {
    *error = "a study is running: stop it first";
    return false;
  }
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) {
    *error = path + ": cannot open the study file";
    return false;
  }
  try {
    nlohmann::json document;
    try {
      document = nlohmann::json::parse(file.readAll().toStdString());
    } catch (const nlohmann::json::exception& parseError) {
      throw DataError(path.toStdString(), std::string("not valid JSON: ") + parseError.what());
    }
    // A preset is named as the repository names it, so that its command reads as in the README.
    const std::string source = path.startsWith(":/") ? "resources" + path.mid(1).toStdString() : path.toStdString();
    StudySpec spec = parseStudySpec(document, source);
    spec.file = source;
    spec_ = std::move(spec);
  } catch (const Error& failure) {
    *error = QString::fromUtf8(failure.what());
    return false;
  }
  studies_->blockSignals(true);
  if (studies_->findData(path) < 0) studies_->addItem(QFileInfo(path).fileName(), path);
  studies_->setCurrentIndex(studies_->findData(path));
  studies_->blockSignals(false);
  claim_->setText(QString("<b>%1</b>: %2<br><i>%3</i>")
                      .arg(QString::fromStdString(spec_->name).toHtmlEscaped(),
                           QString::fromStdString(spec_->claim).toHtmlEscaped(),
                           QString::fromStdString(spec_->paper).toHtmlEscaped()));
  runText_.clear();
  refresh();
  return true;
}

bool StudyPage::startStudy(QString* error) {
  if (!spec_) {
    *error = "no study selected";
    return false;
  }
  if (running()) {
    *error = "study " + QString::fromStdString(spec_->name) + " is already running";
    return false;
  }
  StudyOptions options;
  options.workspace = workspace_.toStdString();
  // A study the workspace already holds is continued: its runs done are kept.
  options.resume = true;
  try {
    checkStudyCanStart(*spec_, options);
  } catch (const Error& failure) {
    *error = QString::fromUtf8(failure.what());
    return false;
  }
  cancel_ = std::make_shared<std::atomic<bool>>(false);
  auto* worker = new StudyWorker(*spec_, options, cancel_);
  thread_ = new QThread(this);
  worker->moveToThread(thread_);
  connect(thread_, &QThread::started, worker, &StudyWorker::run);
  connect(thread_, &QThread::finished, worker, &QObject::deleteLater);
  connect(worker, &StudyWorker::runStarting, this, [this](int index, int total, const QString& label, bool resuming) {
    runText_ = QString("run %1/%2: %3%4").arg(index + 1).arg(total).arg(label, resuming ? " (resumed)" : "");
    status_->setText(statusText());
  });
  connect(worker, &StudyWorker::epochEnded, this, [this](int epoch, int epochs) {
    status_->setText(statusText() + QString(", epoch %1/%2").arg(epoch).arg(epochs));
  });
  connect(worker, &StudyWorker::runEnded, this, [this](int, const QString&) { refresh(); });
  connect(worker, &StudyWorker::finished, this, [this](bool cancelled, const QString& failure) {
    thread_->quit();
    thread_->wait();
    thread_->deleteLater();
    thread_ = nullptr;
    runText_ = !failure.isEmpty() ? "stopped by an error: " + failure
               : cancelled        ? "stopped; Start resumes it, keeping the runs done"
                                  : "done";
    refresh();
    updateButtons();
    Q_EMIT studyFinished(cancelled, failure);
  });
  runText_ = "starting";
  thread_->start();
  updateButtons();
  status_->setText(statusText());
  return true;
}

void StudyPage::stopStudy() {
  if (cancel_) cancel_->store(true);
}

QString StudyPage::statusText() const {
  if (!summary_) return runText_;
  QString text = QString("%1 of %2 runs done").arg(summary_->done).arg(summary_->runs.size());
  if (!runText_.isEmpty()) text += "; " + runText_;
  return text;
}

void StudyPage::refresh() {
  if (!spec_) return;
  try {
    summary_ = summarizeStudy(*spec_, workspace_.toStdString());
  } catch (const std::exception& error) {
    runText_ = "cannot read the study back: " + QString::fromUtf8(error.what());
    status_->setText(runText_);
    return;
  }
  const StudySummary& summary = *summary_;
  // Test accuracy, and the other metrics the study's analyses measure.
  std::vector<std::string> metrics{"test_acc"};
  for (const std::string& name : studyMetricNames()) {
    if (metricDefinition(name).perEpoch) continue;
    for (const auto& cell : summary.cells) {
      if (cell.metrics.at(name).count > 0) {
        metrics.push_back(name);
        break;
      }
    }
  }
  QStringList headers{"cell", "runs done"};
  for (const auto& metric : metrics) {
    headers << QString::fromStdString(metricLabelWithUnit(metricDefinition(metric))) + " mean [95% CI]";
  }
  table_->clear();
  table_->setColumnCount(headers.size());
  table_->setHorizontalHeaderLabels(headers);
  table_->setRowCount(static_cast<int>(summary.cells.size()));
  // Every cell's text in its tooltip too: a column narrowed by the window (or the last one, stretched
  // to what is left) cuts long labels and intervals.
  const auto setText = [this](int row, int column, const QString& text) {
    auto* item = new QTableWidgetItem(text);
    item->setToolTip(text);
    table_->setItem(row, column, item);
  };
  for (std::size_t c = 0; c < summary.cells.size(); ++c) {
    const int row = static_cast<int>(c);
    setText(row, 0, QString::fromStdString(summary.spec.cells[c].label));
    setText(row, 1,
            QString("%1/%2%3")
                .arg(summary.cells[c].done)
                .arg(summary.spec.seeds.size())
                .arg(summary.cells[c].diverged > 0 ? QString(" (%1 diverged)").arg(summary.cells[c].diverged)
                                                   : QString()));
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      setText(row, static_cast<int>(m) + 2, intervalText(summary.cells[c].metrics.at(metrics[m])));
    }
  }
  table_->resizeColumnsToContents();
  QString checks;
  for (const auto& check : summary.checks) {
    const QString color = check.verdict == CheckVerdict::Holds ? "#1a7f37" : check.verdict == CheckVerdict::Fails ? "#c62828" : "#777";
    checks += QString("<span style='color:%1'><b>%2</b></span>: %3 &mdash; %4<br>")
                  .arg(color, QString(verdictName(check.verdict)), QString::fromStdString(check.description).toHtmlEscaped(),
                       QString::fromStdString(check.measured).toHtmlEscaped());
  }
  for (const auto& run : summary.runs) {
    if (!run.problem.empty()) checks += "unreadable run: " + QString::fromStdString(run.problem).toHtmlEscaped() + "<br>";
  }
  checks_->setText(checks);
  chart_->setData(studyChartData(summary));
  drawCorrelations();
  status_->setText(statusText());
  updateButtons();
}

bool StudyPage::exportTo(const QString& directory, QStringList* written, QString* error) {
  if (!summary_) {
    *error = "no study selected";
    return false;
  }
  refresh();
  if (!QDir().mkpath(directory)) {
    *error = directory + ": cannot create the directory";
    return false;
  }
  const QDir target(directory);
  if (!viz::writeTextFile(target.filePath("study.csv"), QString::fromStdString(studyCsv(*summary_)), error) ||
      !viz::writeTextFile(target.filePath("study-runs.csv"), QString::fromStdString(studyRunsCsv(*summary_)), error) ||
      !viz::writeTextFile(target.filePath("study-correlations.csv"),
                          QString::fromStdString(studyCorrelationsCsv(summary_->correlations)), error)) {
    return false;
  }
  *written << target.filePath("study.csv") << target.filePath("study-runs.csv") << target.filePath("study-correlations.csv");
  for (const char* name : {"study.png", "study.svg"}) {
    // The figure as the command line writes it: the bars, and the runs' sharpness against their gap.
    const QString problem = viz::writeStudyChart(studyChartData(*summary_, true), target.filePath(name));
    if (!problem.isEmpty()) {
      *error = problem;
      return false;
    }
    *written << target.filePath(name);
  }
  return true;
}

void StudyPage::drawCorrelations() {
  if (!summary_) return;
  const StudySummary& summary = *summary_;
  const StudyCorrelations& correlations = summary.correlations;
  const auto target = correlationTarget_->currentIndex() == 1 ? GeneralizationTarget::TestError : GeneralizationTarget::LossGap;
  if (correlations.entries.empty()) {
    correlationNote_->setText(
        "No run of this study has a sharpness measure (lambda_max, trace, m-sharpness, adaptive sharpness) at its "
        "last analysis yet: the study's analyses compute them (analyze-every with hessian-top, trace, m-sharpness).");
  } else {
    correlationNote_->setText(QString::fromStdString(
        correlationMethodText() + ", " + std::to_string(correlations.runs) + " runs done (diverged ones left out)." +
        (target == GeneralizationTarget::LossGap ? " Gap: test loss (metrics.csv) - " + trainLossSourceText(correlations) + "."
                                                 : std::string(" Test error: 1 - test accuracy (metrics.csv, the last epoch)."))));
  }
  const QString yTitle = generalizationTargetLabel(target);
  for (std::size_t k = 0; k < sharpnessMeasureKeys().size(); ++k) {
    viz::LineChart* scatter = scatterCharts_[k];
    const StudyCorrelation* found = nullptr;
    for (const auto& entry : correlations.entries) {
      if (entry.measure == sharpnessMeasureKeys()[k] && entry.target == target) found = &entry;
    }
    if (found == nullptr) {
      scatter->hide();
      continue;
    }
    const QString label = QString::fromStdString(sharpnessMeasureLabel(found->measure));
    std::vector<viz::ChartSeries> series;
    for (std::size_t c = 0; c < summary.spec.cells.size(); ++c) {
      viz::ChartSeries cell;
      cell.name = QString::fromStdString(summary.spec.cells[c].label);
      cell.color = viz::studyCellColor(c);
      cell.markers = true;
      cell.inLegend = false;  // one legend for all the scatters: correlationLegend_
      for (const auto& point : found->points) {
        if (point.cellIndex != c) continue;
        cell.xs.push_back(point.measure);
        cell.ys.push_back(point.target);
      }
      series.push_back(std::move(cell));
    }
    scatter->setSeries(series);
    const std::size_t n = found->points.size();
    // Short, so that three side by side keep their titles whole at 1366 x 768.
    QString title;
    if (!found->enoughRuns()) {
      title = QString("%1: too few runs (%2 of %3 needed)").arg(label).arg(n).arg(StudyCorrelation::kMinimumRuns);
    } else if (!std::isfinite(found->tau.tau)) {
      title = QString("%1: tau-b undefined (ties), n=%2").arg(label).arg(n);
    } else {
      title = QString("%1: tau-b %2 [%3, %4], n=%5")
                  .arg(label)
                  .arg(found->tau.tau, 0, 'f', 2)
                  .arg(found->tau.ci95Low, 0, 'f', 2)
                  .arg(found->tau.ci95High, 0, 'f', 2)
                  .arg(n);
    }
    scatter->setTitle(title);
    scatter->setAxisTitles(label, yTitle);
    scatter->show();
  }
  QStringList entries;
  for (std::size_t c = 0; c < summary.spec.cells.size(); ++c) {
    // Spaces inside a cell's name do not break: the legend wraps between cells only.
    entries << QString("<span style=\"color:%1\">&#9679;</span>&nbsp;%2")
                   .arg(viz::studyCellColor(c).name(),
                        QString::fromStdString(summary.spec.cells[c].label).toHtmlEscaped().replace(" ", "&nbsp;"));
  }
  correlationLegend_->setText(correlations.entries.empty() ? QString() : entries.join(" &nbsp; "));
}

void StudyPage::chooseFile() {
  const QString path = QFileDialog::getOpenFileName(this, "Open a study file", QString(), "Study (*.json)");
  if (path.isEmpty()) return;
  QString error;
  if (!loadStudy(path, &error)) QMessageBox::warning(this, "Study", error);
}

void StudyPage::exportDialog() {
  const QString directory = QFileDialog::getExistingDirectory(this, "Export the study's table and figure into");
  if (directory.isEmpty()) return;
  QStringList written;
  QString error;
  if (!exportTo(directory, &written, &error)) QMessageBox::warning(this, "Export", error);
}

void StudyPage::updateButtons() {
  const bool busy = running();
  start_->setEnabled(!busy && spec_.has_value());
  start_->setText(summary_ && summary_->done > 0 && !summary_->complete() ? "Resume" : "Start");
  stop_->setEnabled(busy);
  studies_->setEnabled(!busy);
  export_->setEnabled(summary_.has_value());
}

}  // namespace samscape::gui

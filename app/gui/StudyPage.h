#pragma once
// The Study page: pick a study (the presets in resources/studies, or a file), start or resume it in
// the window's workspace, watch its cells fill in (a table of mean and 95% interval per cell, the
// checks' verdicts, and the bar chart with error bars that the command line writes as study.png; beside
// it, whether flatness predicts generalization: a scatter per sharpness measure of every run against its
// generalization gap or test error, coloured by cell, Kendall's tau-b with its bootstrap interval in the
// title, session/StudyCorrelation.h), and export study.csv, study-runs.csv, study-correlations.csv,
// study.png and study.svg. The study runs on a worker thread
// (StudyWorker) that reports through queued signals; the page reads the summary back from the run
// directories after every run.

#include <QThread>
#include <QWidget>

#include <atomic>
#include <memory>
#include <optional>

#include "session/Study.h"
#include "session/StudySummary.h"
#include "viz/StudyChart.h"

class QComboBox;
class QLabel;
class QPushButton;
class QTableWidget;
class QTabWidget;

namespace samscape::viz {
class LineChart;
}

namespace samscape::gui {

// The study presets shipped in resources/studies (compiled in as Qt resources): (title, resource path).
std::vector<std::pair<QString, QString>> studyPresets();

class StudyWorker : public QObject {
  Q_OBJECT
 public:
  StudyWorker(StudySpec spec, StudyOptions options, std::shared_ptr<std::atomic<bool>> cancel);
 public Q_SLOTS:
  void run();
 Q_SIGNALS:
  void runStarting(int index, int total, const QString& label, bool resuming);
  void epochEnded(int epoch, int epochs);
  void runEnded(int index, const QString& status);
  // The study stopped: done, cancelled, or failed with `error`.
  void finished(bool cancelled, const QString& error);

 private:
  StudySpec spec_;
  StudyOptions options_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

// Paints a StudyChartData (viz/StudyChart.h) at the widget's size.
class StudyChartWidget : public QWidget {
 public:
  explicit StudyChartWidget(QWidget* parent = nullptr);
  void setData(viz::StudyChartData data);
  const viz::StudyChartData& data() const { return data_; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  viz::StudyChartData data_;
};

class StudyPage : public QWidget {
  Q_OBJECT
 public:
  StudyPage(const QString& workspace, QWidget* parent = nullptr);
  ~StudyPage() override;

  // Selects a study: a preset's resource path (":/studies/...") or a file. Returns false and sets
  // `error` (naming the file and the field) when it does not parse.
  bool loadStudy(const QString& path, QString* error);
  // Starts (or, when the workspace holds it, resumes) the selected study. False with `error` when
  // it cannot start (a changed study file, another study running).
  bool startStudy(QString* error);
  void stopStudy();
  bool running() const { return thread_ != nullptr; }
  // Writes study.csv, study-runs.csv, study.png and study.svg into `directory`.
  bool exportTo(const QString& directory, QStringList* written, QString* error);
  // Reads the study's runs back and redraws the table and the chart.
  void refresh();

  const std::optional<StudySummary>& summary() const { return summary_; }
  QTableWidget* table() const { return table_; }
  StudyChartWidget* chart() const { return chart_; }
  // The tabs under the table: the cells' bar chart, then sharpness against generalization.
  QTabWidget* views() const { return views_; }
  // One scatter per sharpnessMeasureKeys() entry, in that order; hidden for a measure no run has.
  const std::vector<viz::LineChart*>& scatterCharts() const { return scatterCharts_; }
  // The y of the scatters: GeneralizationTarget's order (the loss gap, then the test error).
  QComboBox* correlationTarget() const { return correlationTarget_; }
  // How the correlations were computed and where the train loss came from, or why there are none.
  QLabel* correlationNote() const { return correlationNote_; }
  // The cells' colours in the scatters.
  QLabel* correlationLegend() const { return correlationLegend_; }
  QString statusText() const;

 Q_SIGNALS:
  void studyFinished(bool cancelled, const QString& error);

 private:
  void chooseFile();
  void exportDialog();
  void updateButtons();
  void drawCorrelations();

  QString workspace_;
  std::optional<StudySpec> spec_;
  std::optional<StudySummary> summary_;
  QComboBox* studies_ = nullptr;
  QLabel* claim_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* checks_ = nullptr;
  QPushButton* start_ = nullptr;
  QPushButton* stop_ = nullptr;
  QPushButton* export_ = nullptr;
  QTableWidget* table_ = nullptr;
  StudyChartWidget* chart_ = nullptr;
  QTabWidget* views_ = nullptr;
  QComboBox* correlationTarget_ = nullptr;
  QLabel* correlationNote_ = nullptr;
  QLabel* correlationLegend_ = nullptr;
  std::vector<viz::LineChart*> scatterCharts_;
  QThread* thread_ = nullptr;
  std::shared_ptr<std::atomic<bool>> cancel_;
  QString runText_;
};

}  // namespace samscape::gui

// The Study page: the shipped presets load, a study started from the page runs on its worker to the
// end (stopped once and resumed in between), its table and chart fill in from the run directories,
// its scatters of sharpness against generalization show every run with the rank correlation in the
// title, and export writes the CSVs and the figure. A broken study file is refused naming the file.
#include <QAbstractAxis>
#include <QChart>
#include <QComboBox>
#include <QFontMetricsF>
#include <QImage>
#include <QLabel>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTest>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "gui/StudyPage.h"
#include "viz/LineChart.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

TEST(StudyPage, ThePresetsLoad) {
  test::TempDir dir;
  const auto presets = gui::studyPresets();
  QStringList names;
  for (const auto& [title, path] : presets) names << title;
  for (const char* name : {"preset: flatness", "preset: label-noise", "preset: m-sharpness"}) {
    EXPECT_TRUE(names.contains(name)) << name << " missing from " << names.join(", ").toStdString();
  }
  gui::StudyPage page(QString::fromStdString(dir.file("workspace")));
  for (const auto& [title, path] : presets) {
    QString error;
    EXPECT_TRUE(page.loadStudy(path, &error)) << title.toStdString() << ": " << error.toStdString();
    ASSERT_TRUE(page.summary().has_value());
    EXPECT_EQ(page.summary()->done, 0u);
    EXPECT_EQ(page.table()->rowCount(), static_cast<int>(page.summary()->spec.cells.size()));
    // A label its column cuts shows whole on hover.
    for (int row = 0; row < page.table()->rowCount(); ++row) {
      const QTableWidgetItem* cell = page.table()->item(row, 0);
      ASSERT_NE(cell, nullptr);
      EXPECT_EQ(cell->toolTip().toStdString(),
                page.summary()->spec.cells[static_cast<std::size_t>(row)].label);
    }
    // No run yet: no scatter, and the page says why.
    for (const viz::LineChart* scatter : page.scatterCharts()) EXPECT_TRUE(scatter->isHidden()) << title.toStdString();
    EXPECT_TRUE(page.correlationNote()->text().startsWith("No run of this study has a sharpness measure"));
  }
}

TEST(StudyPage, RunsAStudyStoppedAndResumedThenExportsIt) {
  test::TempDir dir;
  test::TinyMnist data(dir.file("mnist"));
  const std::string file = dir.file("tiny.json");
  std::ofstream(file) << R"({"study": "tiny-gui", "claim": "a page test", "seeds": 2,
      "grid": {"optimizer": ["sgd", "sam"]},
      "base": {"dataset": "mnist", "data-dir": ")" + dir.file("mnist") + R"(", "model": "mlp", "batch-size": 16,
               "epochs": 2, "threads": 1, "analyze-every": 2, "hessian-top": 2, "subset": 40},
      "checks": [{"metric": "lambda_max", "ratio": [{"optimizer": "sgd"}, {"optimizer": "sam"}], "more-than": 0}]})";
  gui::StudyPage page(QString::fromStdString(dir.file("workspace")));
  QString error;
  ASSERT_TRUE(page.loadStudy(QString::fromStdString(file), &error)) << error.toStdString();
  QSignalSpy finished(&page, &gui::StudyPage::studyFinished);

  // Stopped at once: the study ends cancelled, then Start continues it.
  ASSERT_TRUE(page.startStudy(&error)) << error.toStdString();
  EXPECT_FALSE(page.startStudy(&error)) << "a second start while running";
  page.stopStudy();
  ASSERT_TRUE(finished.wait(120000));
  EXPECT_TRUE(finished.at(0).at(0).toBool()) << "not reported as stopped";
  EXPECT_FALSE(page.running());

  ASSERT_TRUE(page.startStudy(&error)) << error.toStdString();
  ASSERT_TRUE(finished.wait(240000));
  EXPECT_FALSE(finished.at(1).at(0).toBool());
  EXPECT_TRUE(finished.at(1).at(1).toString().isEmpty()) << finished.at(1).at(1).toString().toStdString();

  ASSERT_TRUE(page.summary().has_value());
  const StudySummary& summary = *page.summary();
  EXPECT_TRUE(summary.complete());
  ASSERT_EQ(page.table()->rowCount(), 2);
  EXPECT_EQ(page.table()->item(0, 0)->text(), "optimizer=sgd");
  EXPECT_EQ(page.table()->item(1, 1)->text(), "2/2");
  for (int column = 0; column < page.table()->columnCount(); ++column) {
    EXPECT_EQ(page.table()->item(1, column)->toolTip(), page.table()->item(1, column)->text()) << column;
  }
  EXPECT_TRUE(page.statusText().startsWith("4 of 4 runs done")) << page.statusText().toStdString();
  ASSERT_EQ(summary.checks.size(), 1u);
  EXPECT_EQ(summary.checks[0].verdict, CheckVerdict::Holds) << summary.checks[0].measured;
  // The chart: test accuracy and lambda_max (the check's metric), a bar per cell at the cell's mean.
  const auto& chart = page.chart()->data();
  ASSERT_EQ(chart.panels.size(), 2u);
  EXPECT_EQ(chart.panels[1].title.left(10), "lambda_max");
  ASSERT_EQ(chart.panels[1].bars.size(), 2u);
  EXPECT_DOUBLE_EQ(chart.panels[1].bars[1].mean, summary.cells[1].metrics.at("lambda_max").mean);
  EXPECT_EQ(chart.panels[1].bars[1].values.size(), 2u);
  EXPECT_TRUE(std::isfinite(chart.panels[1].bars[1].low));

  // Sharpness against generalization: lambda_max (the only measure the runs have) against the gap, a
  // colour per cell, each run a point where the summary puts it, tau-b and its interval in the title.
  ASSERT_EQ(page.scatterCharts().size(), sharpnessMeasureKeys().size());
  const viz::LineChart* scatter = page.scatterCharts()[0];
  EXPECT_FALSE(scatter->isHidden());
  for (std::size_t k = 1; k < page.scatterCharts().size(); ++k) EXPECT_TRUE(page.scatterCharts()[k]->isHidden()) << k;
  const auto expectScatter = [&](GeneralizationTarget target) {
    const StudyCorrelation* entry = nullptr;
    for (const auto& e : summary.correlations.entries) {
      if (e.measure == "lambda_max" && e.target == target) entry = &e;
    }
    ASSERT_NE(entry, nullptr);
    ASSERT_EQ(entry->points.size(), 4u);
    ASSERT_EQ(scatter->series().size(), 2u);
    for (std::size_t c = 0; c < 2; ++c) {
      const viz::ChartSeries& cell = scatter->series()[c];
      EXPECT_TRUE(cell.markers);
      EXPECT_EQ(cell.color, viz::studyCellColor(c));
      EXPECT_EQ(cell.name.toStdString(), summary.spec.cells[c].label);
      ASSERT_EQ(cell.xs.size(), 2u);  // its two seeds
    }
    for (const auto& point : entry->points) {
      const StudyRunResult& run = summary.runs.at(point.run);
      const viz::ChartSeries& cell = scatter->series()[run.slot.cellIndex];
      const double y = target == GeneralizationTarget::LossGap ? run.metrics.at("test_loss") - run.minibatchTrainLoss
                                                                : 1.0 - run.metrics.at("test_acc");
      bool drawn = false;
      for (std::size_t i = 0; i < cell.xs.size(); ++i) drawn = drawn || (cell.xs[i] == run.metrics.at("lambda_max") && cell.ys[i] == y);
      EXPECT_TRUE(drawn) << run.slot.directory;
    }
    EXPECT_EQ(scatter->chart()->title(), QString("lambda_max: tau-b %1 [%2, %3], n=4")
                                             .arg(entry->tau.tau, 0, 'f', 2)
                                             .arg(entry->tau.ci95Low, 0, 'f', 2)
                                             .arg(entry->tau.ci95High, 0, 'f', 2));
  };
  expectScatter(GeneralizationTarget::LossGap);
  EXPECT_TRUE(page.correlationNote()->text().contains("2000 resamples of the runs, seed 2023"))
      << page.correlationNote()->text().toStdString();
  EXPECT_TRUE(page.correlationNote()->text().contains("metrics.csv train_loss")) << page.correlationNote()->text().toStdString();
  EXPECT_TRUE(page.correlationLegend()->text().contains("optimizer=sam")) << page.correlationLegend()->text().toStdString();
  page.correlationTarget()->setCurrentIndex(1);
  expectScatter(GeneralizationTarget::TestError);
  // At 1366 x 768 the title is whole (Qt Charts would elide it) and the axes' labels too.
  page.resize(1366, 700);
  page.show();
  page.views()->setCurrentIndex(1);
  QTest::qWait(200);
  EXPECT_TRUE(scatter->isVisible());
  EXPECT_LE(QFontMetricsF(scatter->chart()->titleFont()).horizontalAdvance(scatter->chart()->title()),
            scatter->chart()->size().width() - 12)
      << scatter->chart()->title().toStdString();
  for (QAbstractAxis* axis : scatter->chart()->axes()) EXPECT_FALSE(axis->labelsTruncated());
  page.hide();

  QStringList written;
  const QString exportDir = QString::fromStdString(dir.file("export"));
  ASSERT_TRUE(page.exportTo(exportDir, &written, &error)) << error.toStdString();
  EXPECT_EQ(written.size(), 5);
  EXPECT_NE(test::readText((exportDir + "/study-correlations.csv").toStdString()).find("\nlambda_max,test_error,4,"),
            std::string::npos);
  const QImage png(exportDir + "/study.png");
  EXPECT_FALSE(png.isNull());
  EXPECT_GT(png.width(), 400);
  std::ifstream csv((exportDir + "/study.csv").toStdString());
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("cell,optimizer,runs,done,diverged,test_acc_mean", 0), 0u) << header;

  // Two runs' last analyses gone (they are not done then): too few runs for a number.
  for (const char* run : {"optimizer-sgd-seed0", "optimizer-sam-seed1"}) {
    std::filesystem::remove(dir.file("workspace") + "/studies/tiny-gui/runs/" + run + "/analysis/epoch-002/analysis.json");
  }
  page.refresh();
  EXPECT_EQ(scatter->chart()->title(), "lambda_max: too few runs (2 of 3 needed)");

  // The same study name with another grid is refused before any worker starts, naming the record.
  const std::string changed = dir.file("changed.json");
  std::ofstream(changed) << R"({"study": "tiny-gui", "seeds": 1, "base": {"model": "mlp", "epochs": 1}})";
  ASSERT_TRUE(page.loadStudy(QString::fromStdString(changed), &error)) << error.toStdString();
  EXPECT_FALSE(page.startStudy(&error));
  EXPECT_TRUE(error.contains("differs from the study file it was started with")) << error.toStdString();
  EXPECT_FALSE(page.running());
}

TEST(StudyPage, ABrokenStudyFileIsRefusedNamingIt) {
  test::TempDir dir;
  const std::string file = dir.file("broken.json");
  std::ofstream(file) << R"({"study": "b", "seeds": 2, "grid": {"rho": [0.1, -5]}, "base": {"optimizer": "sam"}})";
  gui::StudyPage page(QString::fromStdString(dir.file("workspace")));
  QString error;
  EXPECT_FALSE(page.loadStudy(QString::fromStdString(file), &error));
  EXPECT_TRUE(error.contains("broken.json")) << error.toStdString();
  EXPECT_TRUE(error.contains("rho=-5")) << error.toStdString();
  EXPECT_FALSE(page.loadStudy(QString::fromStdString(dir.file("missing.json")), &error));
  EXPECT_TRUE(error.contains("missing.json")) << error.toStdString();
}

}  // namespace
}  // namespace samscape

// The curves and spectrum pages export what they show for a real run: PNG, SVG and PDF figures and the
// CSV behind each, whose values are the run's own (read back from its files independently of the app).
#include <QDir>
#include <QFile>
#include <QTest>
#include <QXmlStreamReader>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <sstream>

#include "gui/Pages.h"
#include "viz/LineChart.h"
#include "tests/gui/GuiTestSupport.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"
#include "tests/support/TrainingFixtures.h"

namespace samscape {
namespace {

QByteArray readAll(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// series,x,y rows of an exported CSV: (series, x) -> y.
std::map<std::pair<QString, double>, double> csvPoints(const QString& path, QString* header) {
  std::map<std::pair<QString, double>, double> points;
  const QStringList lines = QString::fromUtf8(readAll(path)).split('\n', Qt::SkipEmptyParts);
  if (lines.isEmpty()) return points;
  *header = lines.front();
  for (int i = 1; i < lines.size(); ++i) {
    const QStringList fields = lines[i].split(',');
    if (fields.size() != 3) continue;
    points[{fields[0], fields[1].toDouble()}] = fields[2].toDouble();
  }
  return points;
}

void expectFigures(const QString& base, const QString& runName) {
  const QByteArray png = readAll(base + ".png");
  EXPECT_EQ(png.left(8), QByteArray("\x89PNG\r\n\x1a\n", 8)) << base.toStdString();
  const QByteArray svg = readAll(base + ".svg");
  QXmlStreamReader xml(svg);
  while (!xml.atEnd()) xml.readNext();
  EXPECT_FALSE(xml.hasError()) << base.toStdString() << ".svg: " << xml.errorString().toStdString();
  EXPECT_TRUE(svg.contains("<svg")) << base.toStdString();
  EXPECT_TRUE(svg.contains(runName.toUtf8())) << base.toStdString() << ".svg does not name the run";
  const QByteArray pdf = readAll(base + ".pdf");
  EXPECT_TRUE(pdf.startsWith("%PDF-")) << base.toStdString();
  EXPECT_GT(pdf.size(), 1000);
}

class PageExportTest : public test::TinyAnalysedRunTest</*AnalyzeEvery=*/1, /*HessianTop=*/2> {
 protected:
  // Shows the tiny run on `page` (at `size`) and exports it into outDir as report-*: the files written.
  QStringList exportTinyRun(gui::RunPage& page, QSize size) {
    const int id = controller.addExisting(runDir());
    EXPECT_GE(id, 0);
    page.resize(size);
    page.setRuns({id});
    QStringList written;
    QString error;
    EXPECT_TRUE(page.exportAll(outDir, "report", &written, &error)) << error.toStdString();
    return written;
  }

  test::TempDir out;
  QString outDir = QString::fromStdString(out.path().string());
};

TEST_F(PageExportTest, CurvesPageWritesFiguresAndTheRunsValues) {
  gui::CurvesPage page(controller);
  const QStringList written = exportTinyRun(page, {1000, 700});
  EXPECT_EQ(written.size(), 4 * 4);  // four charts, PNG + SVG + PDF + CSV each
  for (const QString& file : written) EXPECT_TRUE(QFile::exists(file)) << file.toStdString();

  const QString base = QDir(outDir).filePath("report-curve-test-loss");
  expectFigures(base, test::kTinyRunName);
  QString header;
  const auto points = csvPoints(base + ".csv", &header);
  EXPECT_EQ(header, "series,x,y");
  ASSERT_EQ(points.size(), 2u);  // two epochs
  // metrics.csv: epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds
  std::istringstream metrics(test::readText((runDir() + "/metrics.csv").toStdString()));
  std::string line;
  std::getline(metrics, line);
  int rows = 0;
  while (std::getline(metrics, line)) {
    double epoch = 0, trainLoss = 0, trainAcc = 0, testLoss = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf", &epoch, &trainLoss, &trainAcc, &testLoss), 4)
        << line;
    const auto found = points.find({test::kTinyRunName, epoch});
    ASSERT_NE(found, points.end()) << "epoch " << epoch;
    EXPECT_NEAR(found->second, testLoss, 1e-6 * std::abs(testLoss));
    ++rows;
  }
  EXPECT_EQ(rows, 2);
}

TEST_F(PageExportTest, SpectrumPageWritesTheEigenvaluesOfEveryAnalysis) {
  gui::SpectrumPage page(controller);
  const QStringList written = exportTinyRun(page, {900, 600});
  const QString base = QDir(outDir).filePath("report-eigenvalues");
  EXPECT_TRUE(written.contains(base + ".csv"));
  expectFigures(base, test::kTinyRunName);
  QString header;
  const auto points = csvPoints(base + ".csv", &header);
  EXPECT_EQ(header, "series,x,y");
  for (int epoch : {1, 2}) {
    const std::string json = test::readText(
        (runDir() + QString("/analysis/epoch-%1/analysis.json").arg(epoch, 3, 10, QChar('0'))).toStdString());
    const auto eigenvalues = nlohmann::json::parse(json).at("hessian").at("eigenvalues");
    ASSERT_EQ(eigenvalues.size(), 2u);
    for (int k = 0; k < 2; ++k) {
      const auto found = points.find({QString("%1 λ%2").arg(test::kTinyRunName).arg(k + 1), static_cast<double>(epoch)});
      ASSERT_NE(found, points.end()) << "epoch " << epoch << " lambda " << k + 1;
      const double expected = eigenvalues[static_cast<std::size_t>(k)].get<double>();
      EXPECT_NEAR(found->second, expected, 1e-6 * std::abs(expected));
    }
  }
  // Hovering an eigenvalue's point shows its residual, as analysis.json recorded it.
  const std::string json = test::readText((runDir() + "/analysis/epoch-002/analysis.json").toStdString());
  const auto hessian = nlohmann::json::parse(json).at("hessian");
  const double residual = hessian.at("residuals").at(0).get<double>();
  viz::LineChart* chart = nullptr;
  for (auto* candidate : page.findChildren<viz::LineChart*>()) {
    if (!candidate->series().empty() && candidate->series().front().name == QString("%1 λ1").arg(test::kTinyRunName)) {
      chart = candidate;
    }
  }
  ASSERT_NE(chart, nullptr);
  EXPECT_TRUE(chart->valueTextAt(0, 2.0).endsWith(
      QString("residual ||Hv − λv|| = %1").arg(QString::number(residual, 'g', 3))))
      << chart->valueTextAt(0, 2.0).toStdString();
  // No --esd: no density figure.
  EXPECT_FALSE(QFile::exists(QDir(outDir).filePath("report-spectral-density.csv")));
}

TEST_F(PageExportTest, LambdaMaxIsDrawnBesideItsEdgeOfStabilityAtEachEpochsLearningRate) {
  gui::CurvesPage page(controller);
  exportTinyRun(page, {1000, 700});
  QString header;
  const auto points = csvPoints(QDir(outDir).filePath("report-curve-lambda-max.csv"), &header);
  // The tiny run: SGD with the default momentum 0.9, so the bound is 2(1 + 0.9)/lr.
  std::istringstream metrics(test::readText((runDir() + "/metrics.csv").toStdString()));
  std::string line;
  std::getline(metrics, line);
  const std::size_t lrColumn = 5;  // epoch,train_loss,train_acc,test_loss,test_acc,lr,...
  int rows = 0;
  while (std::getline(metrics, line)) {
    std::vector<double> fields;
    std::istringstream row(line);
    for (std::string field; std::getline(row, field, ',');) fields.push_back(std::stod(field));
    ASSERT_GT(fields.size(), lrColumn);
    const auto found = points.find({QString("%1 2(1+β)/lr").arg(test::kTinyRunName), fields[0]});
    ASSERT_NE(found, points.end()) << "epoch " << fields[0];
    EXPECT_NEAR(found->second, 2.0 * 1.9 / fields[lrColumn], 1e-6 * found->second);
    EXPECT_NE(points.find({test::kTinyRunName, fields[0]}), points.end()) << "lambda_max itself";
    ++rows;
  }
  EXPECT_EQ(rows, 2);
}

// Live updates (RunController's signals) redraw a visible page within RunPage::kLiveRefreshMs, not
// per signal, and a hidden page only when it is shown.
TEST_F(PageExportTest, LiveUpdatesRedrawAVisiblePageSoonAndAHiddenOneWhenShown) {
  gui::CurvesPage page(controller);
  page.resize(800, 600);
  const int expectedId = 1;  // the controller numbers its runs from 1
  page.setRuns({expectedId});
  viz::LineChart& chart = *page.charts().front();
  EXPECT_TRUE(chart.series().empty());
  ASSERT_EQ(controller.addExisting(runDir()), expectedId);

  page.requestRefresh();  // hidden: nothing drawn yet
  QTest::qWait(2 * gui::RunPage::kLiveRefreshMs);
  EXPECT_TRUE(chart.series().empty());
  page.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&page));
  ASSERT_EQ(chart.series().size(), 1u);
  EXPECT_EQ(chart.series().front().xs.size(), 2u);

  ASSERT_TRUE(controller.remove(expectedId));
  page.requestRefresh();
  page.requestRefresh();
  EXPECT_EQ(chart.series().size(), 1u);  // not redrawn per request
  EXPECT_TRUE(QTest::qWaitFor([&] { return chart.series().empty(); }, 10 * gui::RunPage::kLiveRefreshMs));
}

TEST_F(PageExportTest, ExportIntoAMissingDirectoryFailsWithThePath) {
  const int id = controller.addExisting(runDir());
  gui::CurvesPage page(controller);
  page.resize(800, 600);
  page.setRuns({id});
  QStringList written;
  QString error;
  const QString missing = QDir(outDir).filePath("no/such/dir");
  EXPECT_FALSE(page.exportAll(missing, "report", &written, &error));
  EXPECT_TRUE(error.contains(missing)) << error.toStdString();
}

}  // namespace
}  // namespace samscape

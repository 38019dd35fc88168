// The curves page's memorization chart (a run trained with --label-noise: accuracy on the flipped and
// the clean training labels) and its marker of the epoch of best test accuracy, on a run written by
// hand whose test accuracy peaks at a known epoch.
#include <QDir>

#include <gtest/gtest.h>

#include <algorithm>

#include "gui/Pages.h"
#include "viz/LineChart.h"
#include "tests/gui/GuiTestSupport.h"
#include "tests/support/FileHelpers.h"
#include "tests/support/TempDir.h"

namespace samscape {
namespace {

const viz::ChartSeries* seriesNamed(const viz::LineChart& chart, const QString& name) {
  for (const viz::ChartSeries& s : chart.series()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

class MemorizationCurvesTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  QString runDir = QString::fromStdString(dir.file("noisy"));
  gui::RunController controller{QString::fromStdString(dir.file("runs"))};
};

TEST_F(MemorizationCurvesTest, FlippedAndCleanCurvesWithTheBestTestAccuracyEpochMarked) {
  test::writeLabelNoiseRun(runDir);
  QString error;
  const int id = controller.addExisting(runDir, &error);
  ASSERT_GE(id, 0) << error.toStdString();
  gui::CurvesPage page(controller);
  page.resize(1200, 700);
  page.setRuns({id});
  ASSERT_TRUE(page.showsMemorization());
  const viz::LineChart& chart = *page.memorizationChart();

  // Each curve is the run's metrics.csv column, at its epochs.
  const std::vector<double> epochs{1, 2, 3, 4, 5};
  const std::pair<const char*, const std::vector<double>*> curves[] = {
      {"noisy: train accuracy on flipped labels", &test::kLabelNoiseRunFlipped},
      {"noisy: train accuracy on clean labels", &test::kLabelNoiseRunClean},
      {"noisy: flipped examples' true-label accuracy", &test::kLabelNoiseRunFlippedTrue}};
  for (const auto& [name, values] : curves) {
    const viz::ChartSeries* s = seriesNamed(chart, name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->xs, epochs) << name;
    ASSERT_EQ(s->ys.size(), values->size()) << name;
    for (std::size_t i = 0; i < values->size(); ++i) EXPECT_NEAR(s->ys[i], (*values)[i], 1e-9) << name << " " << i;
  }
  // The marker: a vertical line at epoch 3 (test accuracy 0.66 there, 0.62 and 0.61 beside it), over
  // the curves' span (0.05 to 0.97), not stretching the axis.
  const QString markerName = QString("noisy: best test acc, epoch %1").arg(test::kLabelNoiseRunBestEpoch);
  const viz::ChartSeries* marker = seriesNamed(chart, markerName);
  ASSERT_NE(marker, nullptr);
  EXPECT_TRUE(marker->reference);
  EXPECT_EQ(marker->xs, (std::vector<double>{3.0, 3.0}));
  EXPECT_EQ(marker->ys, (std::vector<double>{0.05, 0.97}));
  EXPECT_TRUE(chart.legendNames().contains(markerName));

  // The test accuracy chart (second by default) marks the same epoch, over its own curve's span.
  const viz::LineChart& testAccuracy = *page.charts()[1];
  const viz::ChartSeries* testMarker = seriesNamed(testAccuracy, markerName);
  ASSERT_NE(testMarker, nullptr);
  EXPECT_EQ(testMarker->xs, (std::vector<double>{3.0, 3.0}));
  EXPECT_EQ(testMarker->ys, (std::vector<double>{0.50, 0.66}));

  // The export writes the memorization chart beside the four.
  test::TempDir out;
  QStringList written;
  ASSERT_TRUE(page.exportAll(QString::fromStdString(out.path().string()), "report", &written, &error))
      << error.toStdString();
  EXPECT_EQ(written.size(), 5 * 4);
  EXPECT_TRUE(written.contains(QDir(QString::fromStdString(out.path().string())).filePath("report-curve-memorization.csv")));
}

TEST_F(MemorizationCurvesTest, ARunWithoutLabelNoiseHasNoMemorizationChartButItsBestEpochMarked) {
  const QString plainDir = QString::fromStdString(dir.file("plain"));
  test::writeLabelNoiseRun(plainDir, /*labelNoise=*/false);
  const std::string header = test::readText((plainDir + "/metrics.csv").toStdString());
  EXPECT_EQ(header.substr(0, header.find('\n')), "epoch,train_loss,train_acc,test_loss,test_acc,lr,seconds");
  const int plain = controller.addExisting(plainDir);
  ASSERT_GE(plain, 0);
  test::writeLabelNoiseRun(runDir);
  const int noisy = controller.addExisting(runDir);
  ASSERT_GE(noisy, 0);
  gui::CurvesPage page(controller);
  page.resize(1200, 700);
  page.setRuns({plain});
  EXPECT_FALSE(page.showsMemorization());
  EXPECT_FALSE(page.memorizationChart()->isVisibleTo(&page));
  EXPECT_TRUE(page.memorizationChart()->series().empty());
  EXPECT_NE(seriesNamed(*page.charts()[1], "plain: best test acc, epoch 3"), nullptr);
  // Beside the noisy run, only the noisy run has memorization curves.
  page.setRuns({plain, noisy});
  ASSERT_TRUE(page.showsMemorization());
  for (const viz::ChartSeries& s : page.memorizationChart()->series()) {
    EXPECT_TRUE(s.name.startsWith("noisy: ")) << s.name.toStdString();
  }
  page.setRuns({});
  EXPECT_FALSE(page.showsMemorization());
}

}  // namespace
}  // namespace samscape

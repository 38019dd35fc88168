// A study's seeds of one cell on the curves page: their mean with its 95% interval (Student's t over
// the seeds, computed here by hand), each seed faint and out of the legend, one band per cell, none for
// a single run; the band in the CSV; the "seeds as mean ± 95% band" box following the selection and
// the user's choice.
#include <QCheckBox>
#include <QLabel>
#include <QLayout>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "gui/PageSubtitle.h"
#include "gui/Pages.h"
#include "gui/SeedBands.h"
#include "gui/StudyPage.h"
#include "tests/gui/GuiTestSupport.h"
#include "viz/LineChart.h"

namespace samscape {
namespace {

namespace fs = std::filesystem;

// t(0.975) with 2 and 1 degrees of freedom, from a printed table.
constexpr double kT975With2 = 4.302653;
constexpr double kT975With1 = 12.706205;

class SeedBandsTest : public test::TinyAnalysedRunTest</*AnalyzeEvery=*/2, /*HessianTop=*/1> {
 protected:
  // The tiny run copied to where a study puts the seed `seed` of cell `cellDirectory`, listed under the
  // name the study records it by, with the test loss `losses[e]` at epoch e + 1.
  int addStudyRun(const std::string& study, const std::string& cellDirectory, const QString& label, int seed,
                  const std::vector<double>& losses) {
    const fs::path directory = fs::path(dir->file("workspace")) / "studies" / study / "runs" /
                               (cellDirectory + "-seed" + std::to_string(seed));
    fs::create_directories(directory.parent_path());
    fs::copy(runDir().toStdString(), directory,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    QString error;
    const int id = controller.addExisting(QString::fromStdString(directory.string()), &error);
    EXPECT_GE(id, 0) << error.toStdString();
    gui::GuiRun& run = *controller.mutableRun(id);
    run.spec.name =
        (QString::fromStdString(study) + "/" + label + QString(" seed %1").arg(seed)).toStdString();
    run.epochs.resize(losses.size());
    for (std::size_t e = 0; e < losses.size(); ++e) {
      run.epochs[e].epoch = static_cast<int>(e) + 1;
      run.epochs[e].testLoss = losses[e];
    }
    return id;
  }

  // The test-loss chart (the page's first) for `ids`.
  const std::vector<viz::ChartSeries>& testLossSeries(gui::CurvesPage& page, const std::vector<int>& ids) {
    page.resize(1000, 700);
    page.setRuns(ids);
    return page.charts().front()->series();
  }
};

const viz::ChartSeries* seriesNamed(const std::vector<viz::ChartSeries>& series, const QString& name) {
  for (const viz::ChartSeries& s : series) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST_F(SeedBandsTest, ThreeSeedsOfACellShowAsTheirMeanWithATIntervalAndEachSeedFaint) {
  gui::CurvesPage page(controller);
  const int a = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 0, {1.0, 0.5});
  const int b = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 1, {2.0, 0.7});
  const int c = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 2, {4.0, 0.6});
  const auto& series = testLossSeries(page, {a, b, c});
  EXPECT_TRUE(page.seedBandsCheck()->isEnabled());
  EXPECT_TRUE(page.seedBandsCheck()->isChecked()) << "on by default for two or more seeds of a cell";

  ASSERT_EQ(series.size(), 4u);  // three seeds, then their mean
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(series[static_cast<std::size_t>(i)].inLegend);
    EXPECT_LT(series[static_cast<std::size_t>(i)].color.alpha(), 255) << "a seed is drawn faint";
    EXPECT_TRUE(series[static_cast<std::size_t>(i)].lows.empty());
  }
  EXPECT_EQ(series[0].name, "flat/optimizer=sam seed 0");
  const viz::ChartSeries& mean = series[3];
  EXPECT_EQ(mean.name, QString::fromUtf8("optimizer=sam mean ± 95% CI (3 seeds)"));
  EXPECT_TRUE(mean.inLegend);
  EXPECT_EQ(mean.color.alpha(), 255);
  ASSERT_EQ(mean.xs, (std::vector<double>{1.0, 2.0}));
  ASSERT_EQ(mean.ys.size(), 2u);
  ASSERT_EQ(mean.lows.size(), 2u);
  ASSERT_EQ(mean.highs.size(), 2u);
  // Epoch 1: 1, 2, 4: mean 7/3, sample variance ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3.
  const double mean1 = 7.0 / 3.0;
  const double half1 = kT975With2 * std::sqrt(7.0 / 3.0) / std::sqrt(3.0);
  EXPECT_NEAR(mean.ys[0], mean1, 1e-12);
  EXPECT_NEAR(mean.lows[0], mean1 - half1, 1e-5);
  EXPECT_NEAR(mean.highs[0], mean1 + half1, 1e-5);
  // Epoch 2: 0.5, 0.7, 0.6: mean 0.6, standard deviation 0.1.
  const double half2 = kT975With2 * 0.1 / std::sqrt(3.0);
  EXPECT_NEAR(mean.ys[1], 0.6, 1e-12);
  EXPECT_NEAR(mean.lows[1], 0.6 - half2, 1e-6);
  EXPECT_NEAR(mean.highs[1], 0.6 + half2, 1e-6);

  // The CSV export carries the band.
  const QString csv = page.charts().front()->csv();
  EXPECT_TRUE(csv.contains(QString::fromUtf8("optimizer=sam mean ± 95% CI (3 seeds) (95% low),1,")))
      << csv.toStdString();
  EXPECT_TRUE(csv.contains(QString::fromUtf8("optimizer=sam mean ± 95% CI (3 seeds) (95% high),2,")))
      << csv.toStdString();

  // Turned off: every run is its own curve again, and stays so for the next selection.
  page.seedBandsCheck()->click();
  ASSERT_EQ(page.charts().front()->series().size(), 3u);
  for (const viz::ChartSeries& s : page.charts().front()->series()) {
    EXPECT_TRUE(s.inLegend);
    EXPECT_TRUE(s.lows.empty());
  }
  page.setRuns({a, b});
  EXPECT_FALSE(page.seedBandsCheck()->isChecked());
  EXPECT_EQ(page.charts().front()->series().size(), 2u);
  page.seedBandsCheck()->click();
  EXPECT_EQ(page.charts().front()->series().size(), 3u);  // two seeds and their mean
}

TEST_F(SeedBandsTest, RunsOfTwoCellsGiveTwoBands) {
  gui::CurvesPage page(controller);
  const int sam0 = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 0, {1.0, 0.5});
  const int sgd0 = addStudyRun("flat", "optimizer-sgd", "optimizer=sgd", 0, {3.0, 2.0});
  const int sam1 = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 1, {2.0, 0.9});
  const int sgd1 = addStudyRun("flat", "optimizer-sgd", "optimizer=sgd", 1, {5.0, 2.0});
  const auto& series = testLossSeries(page, {sam0, sgd0, sam1, sgd1});
  std::vector<const viz::ChartSeries*> bands;
  for (const viz::ChartSeries& s : series) {
    if (!s.lows.empty()) bands.push_back(&s);
  }
  ASSERT_EQ(bands.size(), 2u);
  EXPECT_EQ(bands[0]->name, QString::fromUtf8("optimizer=sam mean ± 95% CI (2 seeds)"));
  EXPECT_EQ(bands[1]->name, QString::fromUtf8("optimizer=sgd mean ± 95% CI (2 seeds)"));
  // sgd at epoch 1: 3 and 5, mean 4, standard deviation sqrt(2).
  EXPECT_NEAR(bands[1]->ys[0], 4.0, 1e-12);
  EXPECT_NEAR(bands[1]->highs[0], 4.0 + kT975With1 * std::sqrt(2.0) / std::sqrt(2.0), 1e-5);
  // sgd at epoch 2: both 2, no spread: a band of no width.
  EXPECT_NEAR(bands[1]->lows[1], 2.0, 1e-12);
  EXPECT_NEAR(bands[1]->highs[1], 2.0, 1e-12);
  EXPECT_NE(bands[0]->color, bands[1]->color);
  // Each cell's seeds in their cell's colour.
  const viz::ChartSeries* seed = seriesNamed(series, "flat/optimizer=sgd seed 1");
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->color.rgb(), bands[1]->color.rgb());
}

TEST_F(SeedBandsTest, ASingleRunOfACellGivesNoBand) {
  gui::CurvesPage page(controller);
  const int lone = addStudyRun("flat", "optimizer-sam", "optimizer=sam", 0, {1.0, 0.5});
  const int other = addStudyRun("flat", "optimizer-sgd", "optimizer=sgd", 0, {3.0, 2.0});
  const int plain = controller.addExisting(runDir());
  ASSERT_GE(plain, 0);
  for (const std::vector<int>& ids : {std::vector<int>{lone}, std::vector<int>{lone, other, plain}}) {
    const auto& series = testLossSeries(page, ids);
    EXPECT_FALSE(page.seedBandsCheck()->isEnabled());
    EXPECT_FALSE(page.seedBandsCheck()->isChecked());
    ASSERT_EQ(series.size(), ids.size());
    for (const viz::ChartSeries& s : series) {
      EXPECT_TRUE(s.lows.empty()) << s.name.toStdString();
      EXPECT_TRUE(s.inLegend);
    }
  }
}

// Cells of two studies may share a label: the study then names each band.
TEST_F(SeedBandsTest, CellsOfTwoStudiesAreNamedWithTheirStudy) {
  gui::CurvesPage page(controller);
  const auto& series =
      testLossSeries(page, {addStudyRun("one", "optimizer-sam", "optimizer=sam", 0, {1.0, 0.5}),
                            addStudyRun("one", "optimizer-sam", "optimizer=sam", 1, {2.0, 0.5}),
                            addStudyRun("two", "optimizer-sam", "optimizer=sam", 0, {1.0, 0.5}),
                            addStudyRun("two", "optimizer-sam", "optimizer=sam", 1, {2.0, 0.5})});
  EXPECT_NE(seriesNamed(series, QString::fromUtf8("one/optimizer=sam mean ± 95% CI (2 seeds)")), nullptr);
  EXPECT_NE(seriesNamed(series, QString::fromUtf8("two/optimizer=sam mean ± 95% CI (2 seeds)")), nullptr);
}

TEST(SeedBand, SummarizesTheSeedsThatHaveAValueAtEachPoint) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  // Wall-time xs differ from seed to seed; the third seed has not reached epoch 3, nor a value at 2.
  const gui::SeedBand band = gui::seedBand({{{1, 2, 3}, {10, 20, 30}, {1.0, 2.0, 3.0}},
                                            {{1, 2, 3}, {12, 22, 32}, {3.0, 4.0, 5.0}},
                                            {{1, 2}, {14, 24}, {5.0, kNaN}}});
  ASSERT_EQ(band.keys, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(band.counts, (std::vector<std::size_t>{3, 2, 2}));
  EXPECT_DOUBLE_EQ(band.xs[0], 12.0);
  EXPECT_DOUBLE_EQ(band.xs[2], 31.0);
  EXPECT_DOUBLE_EQ(band.means[0], 3.0);
  // 1, 3, 5: standard deviation 2.
  EXPECT_NEAR(band.highs[0], 3.0 + kT975With2 * 2.0 / std::sqrt(3.0), 1e-5);
  EXPECT_DOUBLE_EQ(band.means[1], 3.0);
  EXPECT_NEAR(band.lows[1], 3.0 - kT975With1 * std::sqrt(2.0) / std::sqrt(2.0), 1e-5);
  // One seed alone: its value, without an interval.
  const gui::SeedBand lone = gui::seedBand({{{1}, {1}, {2.5}}});
  EXPECT_DOUBLE_EQ(lone.means[0], 2.5);
  EXPECT_TRUE(std::isnan(lone.lows[0]));
  EXPECT_TRUE(std::isnan(lone.highs[0]));
}

// The pages say what they show in a grey line at their top, found by one object name.
TEST(PageSubtitle, TheCurvesAndStudyPagesSayWhatTheyShow) {
  test::TempDir dir;
  gui::RunController controller(QString::fromStdString(dir.file("runs")));
  gui::CurvesPage curves(controller);
  gui::StudyPage study(QString::fromStdString(dir.file("workspace")));
  for (QWidget* page : {static_cast<QWidget*>(&curves), static_cast<QWidget*>(&study)}) {
    const auto* subtitle = page->findChild<QLabel*>(gui::kPageSubtitleName);
    ASSERT_NE(subtitle, nullptr) << page->metaObject()->className();
    EXPECT_GT(subtitle->text().size(), 40) << page->metaObject()->className();
    EXPECT_TRUE(subtitle->wordWrap());
    EXPECT_EQ(page->layout()->itemAt(0)->widget(), subtitle)
        << "at the top of " << page->metaObject()->className();
  }
  EXPECT_TRUE(curves.findChild<QLabel*>(gui::kPageSubtitleName)->text().contains("2(1+β)/lr"));
  EXPECT_TRUE(study.findChild<QLabel*>(gui::kPageSubtitleName)->text().contains("95%"));
}

}  // namespace
}  // namespace samscape
